# Every configuration the project ships passes agentd --check-config (the
# examples of docs/topologies.md are files of conf/examples/).
add_test(NAME unit_conf_examples COMMAND bash -c
  "set -e; for f in ${PROJECT_SOURCE_DIR}/conf/*.conf ${PROJECT_SOURCE_DIR}/conf/*.example ${PROJECT_SOURCE_DIR}/conf/examples/*.conf; do ${CMAKE_BINARY_DIR}/bin/agentd --check-config -c $f; done")
set_tests_properties(unit_conf_examples PROPERTIES LABELS unit TIMEOUT 30)
