# agentctl's command line and its bash completion, without agentd.
add_test(NAME unit_agentctl_cli COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/agentctl_cli.sh)
set_tests_properties(unit_agentctl_cli PROPERTIES LABELS unit TIMEOUT 30
  ENVIRONMENT "SRC_DIR=${PROJECT_SOURCE_DIR};BIN_DIR=${CMAKE_BINARY_DIR}/bin")
