# agentd's record of underlay routes (agent/route_record.c): the hash table
# and the route message parser (libnl-3), no kernel needed.
add_executable(test_route_record ${CMAKE_CURRENT_LIST_DIR}/test_route_record.c
  ${PROJECT_SOURCE_DIR}/agent/route_record.c)
target_include_directories(test_route_record PRIVATE ${PROJECT_SOURCE_DIR}/agent)
target_link_libraries(test_route_record PRIVATE PkgConfig::CMOCKA PkgConfig::NL3)
add_test(NAME unit_route_record COMMAND test_route_record)
set_tests_properties(unit_route_record PROPERTIES LABELS unit)
