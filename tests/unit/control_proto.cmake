# The control protocol's decoding (agent/control_proto.c): framing, request
# payloads, telemetry page conversion — no socket, no daemon.
add_executable(test_control_proto ${CMAKE_CURRENT_LIST_DIR}/test_control_proto.c
  ${PROJECT_SOURCE_DIR}/agent/control_proto.c)
target_include_directories(test_control_proto PRIVATE ${PROJECT_SOURCE_DIR}/agent)
target_link_libraries(test_control_proto PRIVATE PkgConfig::CMOCKA PkgConfig::JANSSON)
add_test(NAME unit_control_proto COMMAND test_control_proto)
set_tests_properties(unit_control_proto PROPERTIES LABELS unit)
