#!/bin/bash
# Scenario: the operator's maintenance switch is a handover, not a failover.
# `agentctl mode kernel` under traffic moves the host to kernel routing
# while the dataplane still forwards (steering off, neighbours copied, the
# underlay moved make-before-break, the NIC's frames given back to the
# kernel, then the dataplane stopped), and `agentctl mode dpdk` brings the
# fast path back through the standby dataplane and the hold-down: no
# datagram lost in either direction, and no failover counted.
. "$(dirname "$0")/lib.sh"
scenario_init planned

start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
ping_ok rvm 10.10.1.11 || fail "the remote VM cannot reach vm1"
dp_old=$(st .dataplane.pid)

RATE=5000
DURATION=14
udpseq_recv rvm 7010 $((DURATION + 4)) "$WORK/rx-v2w.json"
udpseq_recv vm1 7011 $((DURATION + 4)) "$WORK/rx-w2v.json"
udpseq_send vm1 10.10.2.2 7010 $RATE $DURATION "$WORK/tx-v2w.json"
udpseq_send rvm 10.10.1.11 7011 $RATE $DURATION "$WORK/tx-w2v.json"
sleep 1.5
assert_fwd_grows fast_vm_to_wire
assert_fwd_grows fast_wire_to_vm

t0=$(now)
agentctl mode kernel >/dev/null || fail "agentctl mode kernel"
wait_mode_t kernel 5
for _ in $(seq 100); do [ -d "/proc/$dp_old" ] || break; sleep 0.05; done
[ -d "/proc/$dp_old" ] && fail "the dataplane did not stop after the handover"
[ "$(st .dataplane.pid)" = 0 ] || fail "dataplane pid $(st .dataplane.pid) in forced kernel mode"
[ "$(fb failovers)" -eq 0 ] || fail "the handover counted as a failover"
log "kernel routing $(ms_between "$t0" "$MODE_SEEN") ms after agentctl mode kernel; dataplane $dp_old gone"
k0=$(kernel_fwd)
sleep 1
[ "$(kernel_fwd)" -gt "$k0" ] || fail "the kernel does not forward in forced kernel mode"
pass "handover to the kernel: no failover, the kernel forwards"

t1=$(now)
agentctl mode dpdk >/dev/null || fail "agentctl mode dpdk"
wait_mode_t dpdk 30
for _ in $(seq 100); do [ "$(st .steering.mode)" = fast ] && break; sleep 0.05; done
[ "$(st .steering.mode)" = fast ] || fail "steering not fast after mode dpdk"
log "fast path again $(ms_between "$t1" "$MODE_SEEN") ms after agentctl mode dpdk (hold-down included)"
assert_fwd_grows fast_vm_to_wire
assert_fwd_grows fast_wire_to_vm
udpseq_wait

for dir in v2w w2v; do
	lost=$(jq .lost "$WORK/rx-$dir.json")
	sent=$(jq .sent "$WORK/tx-$dir.json")
	log "$dir: $sent sent, $lost lost, $(jq .reordered "$WORK/rx-$dir.json") out of order"
	gap_list "$WORK/rx-$dir.json" "$t0" >&2
	[ "$lost" -eq 0 ] || fail "$dir: $lost datagrams lost across the planned switch and back"
done
[ "$(fb failovers)" -eq 0 ] || fail "failovers $(fb failovers) after the planned switch and back"
[ "$(fb forced_switches)" -eq 1 ] || fail "forced switches: $(fb forced_switches), want 1"
# the operator's way back is not a restart after a failure, nor a failback
[ "$(fb restarts)" -eq 0 ] && [ "$(fb failbacks)" -eq 0 ] ||
	fail "agentctl mode dpdk counted as a restart/failback: $(status_json | jq -c .fallback)"
pass "planned switch to the kernel and back under 2 x $RATE datagrams/s: nothing lost"

# `mode dpdk` while the handover is still under way is not lost: the
# dataplane comes back once the old one is gone
agentctl mode kernel >/dev/null || fail "agentctl mode kernel"
agentctl mode dpdk >/dev/null || fail "agentctl mode dpdk"
wait_mode_t kernel 5
wait_mode_t dpdk 30
[ "$(fb failovers)" -eq 0 ] && [ "$(fb forced_switches)" -eq 2 ] && [ "$(fb failbacks)" -eq 0 ] ||
	fail "counters after kernel+dpdk in a row: $(status_json | jq -c .fallback)"
pass "mode dpdk during the handover: back on DPDK"

finish
