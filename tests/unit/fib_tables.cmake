add_executable(test_fib_tables ${CMAKE_CURRENT_LIST_DIR}/test_fib_tables.c)
target_link_libraries(test_fib_tables PRIVATE dpcore PkgConfig::CMOCKA)
add_test(NAME unit_fib_tables COMMAND test_fib_tables)
set_tests_properties(unit_fib_tables PROPERTIES LABELS unit)
