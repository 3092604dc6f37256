add_executable(test_nl_mirror ${CMAKE_CURRENT_LIST_DIR}/test_nl_mirror.c)
target_link_libraries(test_nl_mirror PRIVATE nlmirror PkgConfig::CMOCKA)
add_test(NAME unit_nl_mirror COMMAND test_nl_mirror)
set_tests_properties(unit_nl_mirror PROPERTIES LABELS unit)
