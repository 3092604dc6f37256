# The flattening of status and its Prometheus/OpenMetrics exposition
# (agent/metrics_text.c, shared by agentctl stats and agentd's listener).
add_executable(test_metrics_text ${CMAKE_CURRENT_LIST_DIR}/test_metrics_text.c
  ${PROJECT_SOURCE_DIR}/agent/metrics_text.c)
target_include_directories(test_metrics_text PRIVATE ${PROJECT_SOURCE_DIR}/agent)
target_link_libraries(test_metrics_text PRIVATE PkgConfig::CMOCKA PkgConfig::JANSSON)
add_test(NAME unit_metrics_text COMMAND test_metrics_text)
set_tests_properties(unit_metrics_text PROPERTIES LABELS unit)
