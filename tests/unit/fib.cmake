add_executable(test_fib ${CMAKE_CURRENT_LIST_DIR}/test_fib.c)
target_link_libraries(test_fib PRIVATE dpcore PkgConfig::CMOCKA)
add_test(NAME unit_fib COMMAND test_fib)
set_tests_properties(unit_fib PROPERTIES LABELS unit)
