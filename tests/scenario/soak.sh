#!/bin/bash
# Scenario (and, with SOAK_CYCLES=100, the soak benchmark bench/soak.sh):
# faults again and again under traffic. Each cycle hits the dataplane (kill
# -9, SIGSTOP, SIGTERM, in turn) and waits for the failback, then agentd
# (kill -9: the new agentd adopts the running dataplane; SIGTERM: an orderly
# stop, then a fresh start). After every fault the host must be as the
# config says and as it was at the start — same addresses, routes and links,
# one dataplane, one exception netdev, one XDP program, one steering filter
# per VM port, the same BPF pins, DPDK runtime files and agentd fds: nothing
# leaked, nothing doubled.
. "$(dirname "$0")/lib.sh"
scenario_init soak

CYCLES=${SOAK_CYCLES:-4}
# Faults come faster than a real host sees them: no crash-loop verdict, and
# a short hold-down so that a cycle takes seconds.
sed -i -e 's/crashloop_count = [0-9]*;/crashloop_count = 1000;/' \
	-e 's/holddown_ms = [0-9]*;/holddown_ms = 300;/' "$CONF"
grep -q 'crashloop_count = 1000;' "$CONF" && grep -q 'holddown_ms = 300;' "$CONF" ||
	fail "config template changed: fallback section"
PINS=/run/agentd/bpffs/$P

# What must be identical after every fault. (dp0's index and the DPDK
# files' contents change with each dataplane; their names must not.)
snapshot() {
	host_state
	echo "pins: $(ls "$PINS" | tr '\n' ' ')"
	echo "runtime: $(ls "/var/run/dpdk/$P" | tr '\n' ' ')"
	echo "dataplanes: $(pgrep -f -- "--file-prefix $P " | wc -l)"
	echo "xdp on nic0: $(in_ns host ip -d link show dev nic0 | grep -c 'prog/xdp')"
	for f in vm1p vm2p; do
		echo "tc $f: $(in_ns host tc filter show dev "$f" ingress | grep -c 'steer_')"
	done
}

# Back on the fast path: mode dpdk, steering fast, the stream forwarded.
wait_fast() {
	wait_mode dpdk 60
	for _ in $(seq 100); do
		[ "$(st .steering.mode)" = fast ] && break
		sleep 0.05
	done
	[ "$(st .steering.mode)" = fast ] || fail "cycle $c: steering not fast"
	assert_fwd_grows fast_vm_to_wire
}

check_cycle() { # what
	local now_state n
	now_state=$(snapshot)
	if [ "$now_state" != "$BASE" ]; then
		diff <(echo "$BASE") <(echo "$now_state") >&2 || true
		fail "cycle $c, after $1: the host differs from the start"
	fi
	n=$(fd_count "$AGENTD_PID")
	for _ in $(seq 20); do
		[ "$n" -le "$FDS" ] && break
		sleep 0.1
		n=$(fd_count "$AGENTD_PID")
	done
	[ "$n" -le "$FDS" ] || {
		ls -l "/proc/$AGENTD_PID/fd" >&2
		fail "cycle $c, after $1: agentd holds $n fds, $FDS at the start"
	}
}

start_fast
BASE=$(snapshot)
FDS=$(fd_count "$AGENTD_PID")
log "soak: $CYCLES cycles; at the start agentd holds $FDS fds, $(ls "$PINS" | wc -l) pins"

# a stream through the whole soak (1 000 datagrams/s), to drive the fast
# path and to see that traffic survives it all
DURATION=$((CYCLES * 12 + 30))
udpseq_recv rvm 7020 $((DURATION + 5)) "$WORK/rx.json"
udpseq_send vm1 10.10.2.2 7020 1000 "$DURATION" "$WORK/tx.json"
SEND_PID=${UDPSEQ_PIDS[-1]}
extra_cleanup() { kill "${UDPSEQ_PIDS[@]}" 2>/dev/null; }

t_start=$(now)
dp_faults=(KILL KILL STOP TERM)
ad_faults=(KILL KILL TERM)
for c in $(seq "$CYCLES"); do
	# the dataplane
	sig=${dp_faults[$(((c - 1) % ${#dp_faults[@]}))]}
	dp=$(st .dataplane.pid)
	kill -"$sig" "$dp"
	wait_underlay_on nic0 10
	for _ in $(seq 100); do [ -d "/proc/$dp" ] || break; sleep 0.05; done
	[ -d "/proc/$dp" ] && fail "cycle $c: dataplane $dp (SIG$sig) still there"
	wait_fast
	check_cycle "dataplane SIG$sig"

	# agentd
	sig=${ad_faults[$(((c - 1) % ${#ad_faults[@]}))]}
	dp=$(st .dataplane.pid)
	kill -"$sig" "$AGENTD_PID"
	rc=0
	wait "$AGENTD_PID" 2>/dev/null || rc=$?
	[ "$sig" = TERM ] && [ "$rc" -ne 0 ] && fail "cycle $c: agentd exited $rc at SIGTERM"
	AGENTD_PID=
	start_agentd
	wait_fast
	if [ "$sig" = KILL ]; then
		[ "$(st .dataplane.pid)" = "$dp" ] || fail "cycle $c: dataplane $dp not adopted"
	fi
	check_cycle "agentd SIG$sig"
	log "cycle $c/$CYCLES: dataplane SIG${dp_faults[$(((c - 1) % ${#dp_faults[@]}))]}, agentd SIG$sig: as at the start"
done
t_end=$(now)
pass "$CYCLES cycles ($((CYCLES)) dataplane and $CYCLES agentd faults) in $(ms_between "$t_start" "$t_end") ms: nothing leaked, nothing doubled"

# the stream went on through it all and reached its end
kill -INT "$SEND_PID" 2>/dev/null || true
udpseq_wait
rx=$(jq .received "$WORK/rx.json")
[ "$rx" -gt 0 ] || fail "the stream was not received"
awk -v l="$(jq .last_rx_epoch "$WORK/rx.json")" -v t="$t_end" 'BEGIN { exit !(l > t) }' ||
	fail "no datagram received after the last cycle"
log "stream: $(jq .sent "$WORK/tx.json") sent, $rx received, $(jq .lost "$WORK/rx.json") lost during $((CYCLES * 2)) faults"

finish
