# Configuration loader (agent/config.c): shipped files, defaults, and one
# fixture per kind of invalid input (tests/unit/conf/).
add_executable(test_config ${CMAKE_CURRENT_LIST_DIR}/test_config.c)
target_link_libraries(test_config PRIVATE agentcfg PkgConfig::CMOCKA)
target_compile_definitions(test_config PRIVATE
  CONF_FIXTURES_DIR="${CMAKE_CURRENT_LIST_DIR}/conf"
  CONF_SHIPPED_DIR="${PROJECT_SOURCE_DIR}/conf")
add_test(NAME unit_config COMMAND test_config)
set_tests_properties(unit_config PROPERTIES LABELS unit)

# docs/config.md and agentd.conf(5) against the loader's own table of keys.
add_executable(test_config_docs ${CMAKE_CURRENT_LIST_DIR}/test_config_docs.c)
target_link_libraries(test_config_docs PRIVATE agentcfg PkgConfig::CMOCKA)
target_compile_definitions(test_config_docs PRIVATE DOCS_DIR="${PROJECT_SOURCE_DIR}/docs")
add_test(NAME unit_config_docs COMMAND test_config_docs)
set_tests_properties(unit_config_docs PROPERTIES LABELS unit)
