#!/bin/bash
# Scenario: CPU contention is not a hang. A real-time busy loop on the
# forwarding lcore's CPU keeps the (healthy) forwarding thread from running
# for most of a second — the heartbeat stops moving, as it would for a hung
# dataplane — but the thread is runnable, not stopped: agentd does not fail
# over (it used to: two dataplanes on the same lcores, or any busy process
# there, looked hung). A SIGSTOPped dataplane is still a hang (scenario
# sigstop).
. "$(dirname "$0")/lib.sh"
scenario_init cpucont

start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
dp=$(st .dataplane.pid)
hb_ms=$(sed -n 's/^\s*heartbeat_ms = \([0-9]*\);/\1/p' "$CONF")
misses=$(sed -n 's/^\s*heartbeat_misses = \([0-9]*\);/\1/p' "$CONF")
window=$((hb_ms * misses))

# The forwarding thread: the one whose CPU list is the last lcore.
fwd_cpu=$(awk -F'"' '/^[ \t]*lcores = / {print $2}' "$CONF" | sed 's/.*[-,]//')
fwd_tid=
for t in /proc/"$dp"/task/*; do
	if [ "$(taskset -pc "${t##*/}" 2>/dev/null | sed 's/.*: //')" = "$fwd_cpu" ]; then
		fwd_tid=${t##*/}
	fi
done
[ -n "$fwd_tid" ] || fail "no dataplane thread pinned to CPU $fwd_cpu"
log "forwarding thread $fwd_tid on CPU $fwd_cpu; hang window $window ms"

# SCHED_FIFO busy loop on that CPU for 4 hang windows. Killed from this
# shell (not pinned there): a `timeout` inside the real-time group would
# itself never run again.
HOG_MS=$((window * 4))
taskset -c "$fwd_cpu" chrt -f 10 bash -c 'while :; do :; done' &
HOG=$!
extra_cleanup() { kill -KILL "$HOG" 2>/dev/null; }
turns0=$(awk 'NR == 1 {print $1}' "/proc/$dp/task/$fwd_tid/schedstat")
sleep "$(fcalc "$HOG_MS / 1000")"
kill -KILL "$HOG"
wait "$HOG" 2>/dev/null || true
[ -e "/proc/$dp/task/$fwd_tid/schedstat" ] ||
	fail "the dataplane is gone after the contention: $(st .last_failure)"
run_ms=$((($(awk '{print $1}' "/proc/$dp/task/$fwd_tid/schedstat") - turns0) / 1000000))
log "forwarding thread ran $run_ms ms of $HOG_MS ms under the real-time hog"
# the hog must really have starved it, or this proves nothing
[ "$run_ms" -lt $((HOG_MS / 2)) ] || fail "the hog did not starve the forwarding thread ($run_ms ms run)"

sleep "$(fcalc "$window * 2 / 1000")"
[ "$(st .mode)" = dpdk ] || fail "mode $(st .mode) after CPU contention: $(st .last_failure)"
[ "$(fb failovers)" -eq 0 ] || fail "failed over on CPU contention: $(st .last_failure)"
[ "$(st .dataplane.pid)" = "$dp" ] || fail "dataplane replaced"
starved=$(fb heartbeat_starved)
[ "$starved" -gt 0 ] || fail "no heartbeat check saw the contention"
grep -q "runnable but not running" "$AGENTD_LOG" || fail "contention not logged"
f0=$(fwd fast_vm_to_wire)
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM after the contention"
[ "$(fwd fast_vm_to_wire)" -gt "$f0" ] || fail "the ping after the contention did not take the fast path"
pass "no failover: $starved heartbeat checks saw a runnable forwarding thread without a CPU"

finish
