# eBPF steering (kernel-side/bpf): verdicts via BPF_PROG_TEST_RUN, and the
# loader (pinning, map adoption, idempotent tc attach in a private netns).
# Both need root; without it they report their tests as skipped.
foreach(t test_steer_progs test_steer_loader)
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES LABELS "unit;bpf" TIMEOUT 60 SKIP_RETURN_CODE 77)
endforeach()
