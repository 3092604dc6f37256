# The systemd unit (systemd/agentd.service) against a package install
# (prefix /usr into a DESTDIR): paths, systemd-analyze verify, the sandbox's
# exposure. Configures a scratch tree (~10 s); compiles nothing.
add_test(NAME unit_service COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/service_unit.sh)
set_tests_properties(unit_service PROPERTIES LABELS "unit;service" TIMEOUT 120
  ENVIRONMENT "SRC_DIR=${PROJECT_SOURCE_DIR};BIN_DIR=${CMAKE_BINARY_DIR}/bin")
