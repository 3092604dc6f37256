#!/bin/bash
# Scenario: agentd stops (SIGTERM) while its dataplane cannot: the dataplane
# is stopped (SIGSTOP) just before, so it never reacts to agentd's SIGTERM.
# agentd waits its stop timeout (5 s), SIGKILLs it, still gives the
# underlay back to the kernel and cleans up, and exits 3 ("the dataplane
# did not exit cleanly", agentd(8)) — a stop never hangs on the dataplane.
. "$(dirname "$0")/lib.sh"
scenario_init stoptmo

# (and the log level given on the command line wins over the config's)
grep -q 'log_level = "info";' "$CONF" || fail "config template changed: log_level"
AGENTD_ARGS="--log-level debug"
start_agentd
wait_mode dpdk 60
dp=$(st .dataplane.pid)
grep -q "debug: control: request [0-9]* status" "$AGENTD_LOG" ||
	fail "--log-level debug: no debug line in the log (config says info)"
pass "--log-level debug overrides log_level = \"info\""

t0=$(now)
kill -STOP "$dp"
kill -TERM "$AGENTD_PID"
rc=0
wait "$AGENTD_PID" || rc=$?
t1=$(now)
AGENTD_PID=
took=$(ms_between "$t0" "$t1")
log "agentd exited $rc after $took ms"
[ "$rc" -eq 3 ] || fail "agentd exited $rc, want 3 (dataplane SIGKILLed at stop)"
[ "$took" -ge 4500 ] && [ "$took" -le 9000 ] || fail "stop took $took ms, want the 5 s stop timeout"
grep -qE "dataplane pid $dp (stopped by signal 9|killed by SIGKILL)" "$AGENTD_LOG" ||
	fail "the log does not say the dataplane needed SIGKILL: $(grep "pid $dp" "$AGENTD_LOG" | tail -n 2)"
[ -d "/proc/$dp" ] && fail "dataplane $dp survived agentd's stop"
pass "dataplane frozen at stop: SIGKILL after $took ms, agentd exit 3"

# everything else as after a clean stop
FINISHED=1
assert_clean_state
check_sanitizer_reports || fail "sanitizer report"
pass "nothing left after the stop"
