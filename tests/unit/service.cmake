# The systemd unit (systemd/agentd.service) against a package install
# (prefix /usr into a DESTDIR): paths, systemd-analyze verify, the sandbox's
# exposure. Configures a scratch tree (~10 s); compiles nothing.
add_test(NAME unit_service COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/service_unit.sh)
set_tests_properties(unit_service PROPERTIES LABELS "unit;service" TIMEOUT 120
  ENVIRONMENT "SRC_DIR=${PROJECT_SOURCE_DIR};BIN_DIR=${CMAKE_BINARY_DIR}/bin")

# The Debian package: built by CPack from this build's programs, inspected
# (files, conffile, Depends) and unpacked (the unit's binary and config).
add_test(NAME unit_deb COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/deb_package.sh)
set_tests_properties(unit_deb PROPERTIES LABELS "unit;package" TIMEOUT 180
  ENVIRONMENT "SRC_DIR=${PROJECT_SOURCE_DIR};BIN_DIR=${CMAKE_BINARY_DIR}/bin")
