# kernel-side netlink library against the real kernel, one private netns per
# test (needs root; exits 77 = skipped otherwise).
add_executable(test_kernel_side ${CMAKE_CURRENT_LIST_DIR}/test_kernel_side.c)
target_link_libraries(test_kernel_side PRIVATE kernelside PkgConfig::NL3 PkgConfig::CMOCKA)
add_test(NAME unit_kernel_side COMMAND test_kernel_side)
set_tests_properties(unit_kernel_side PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
