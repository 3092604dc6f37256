# Configuration loader (agent/config.c): shipped files, defaults, and one
# fixture per kind of invalid input (tests/unit/conf/).
add_executable(test_config ${CMAKE_CURRENT_LIST_DIR}/test_config.c)
target_link_libraries(test_config PRIVATE agentcfg PkgConfig::CMOCKA)
target_compile_definitions(test_config PRIVATE
  CONF_FIXTURES_DIR="${CMAKE_CURRENT_LIST_DIR}/conf"
  CONF_SHIPPED_DIR="${PROJECT_SOURCE_DIR}/conf")
add_test(NAME unit_config COMMAND test_config)
set_tests_properties(unit_config PROPERTIES LABELS unit)
