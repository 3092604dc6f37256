# ctest NAME: fuzz for SECONDS from the seed CORPUS, writing new inputs
# and crash artifacts only into WORK (a fresh scratch dir), never the repo.
#   cmake -DFUZZER=bin -DCORPUS=dir -DWORK=dir -DSECONDS=n -DOPTS=... -P run_fuzzer.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
# libFuzzer reads every corpus dir given and writes only to the first.
execute_process(COMMAND ${FUZZER} ${OPTS} -max_total_time=${SECONDS} -print_final_stats=1
    -artifact_prefix=${WORK}/ ${WORK}/corpus ${CORPUS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/crash-* ${WORK}/leak-* ${WORK}/timeout-* ${WORK}/oom-*)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproducer(s): ${found}\n"
    "Replay: ${FUZZER} FILE; fix, then add FILE to ${CORPUS}/")
endif()
