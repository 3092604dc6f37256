#!/bin/bash
# Scenario: kill -9 of agentd under traffic. The dataplane keeps forwarding
# (it mirrors the kernel's FIB itself, steering lives in pinned maps and tc
# filters), so a stream from vm1 to the remote VM does not notice. A
# restarted agentd adopts the running dataplane (same pid), the bridge,
# addresses, routes and pinned programs, and duplicates nothing.
. "$(dirname "$0")/lib.sh"
scenario_init agentd_restart

start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
ping_ok rvm 10.10.1.11 || fail "the remote VM cannot reach vm1"
dp_pid=$(st .dataplane.pid)
before=$(host_state)
pins_before=$(ls "/run/agentd/bpffs/$P")

RATE=5000
udpseq_recv rvm 7002 15 "$WORK/rx.json"
udpseq_recv vm1 7001 15 "$WORK/rx-vm1.json"
udpseq_send vm1 10.10.2.2 7002 $RATE 8 "$WORK/tx.json"
udpseq_send rvm 10.10.1.11 7001 $RATE 8 "$WORK/tx-rvm.json"
sleep 2

t_kill=$(now)
kill -KILL "$AGENTD_PID"
wait "$AGENTD_PID" 2>/dev/null || true
AGENTD_PID=
v0=$(in_ns host ip -s link show dev dp0 | awk '/RX:/ {getline; print $2}')
sleep 1
kill -0 "$dp_pid" 2>/dev/null || fail "the dataplane died with agentd"
v1=$(in_ns host ip -s link show dev dp0 | awk '/RX:/ {getline; print $2}')
[ "$v1" -gt "$v0" ] || fail "no packets through dp0 without agentd"
pass "agentd killed; the dataplane $dp_pid runs on, dp0 moved $((v1 - v0)) packets in 1 s"

start_agentd
wait_mode dpdk 30
[ "$(st .dataplane.pid)" = "$dp_pid" ] ||
	fail "the restarted agentd runs dataplane $(st .dataplane.pid), not the running $dp_pid"
[ "$(st .steering.mode)" = fast ] || fail "steering not fast after the restart"
[ "$(fb failovers)" -eq 0 ] || fail "a failover happened: $(status_json | jq -c .fallback)"
udpseq_wait

for dir in rx rx-vm1; do
	f=$WORK/$dir.json
	log "$dir gaps:"
	gap_list "$f" "$t_kill" >&2
	longest=$(jq .longest_gap_ms "$f")
	awk -v g="$longest" 'BEGIN { exit !(g < 200) }' ||
		fail "$dir: traffic interrupted for $longest ms across the agentd restart"
	pass "$dir: longest gap $longest ms, lost $(jq .lost "$f") of $(jq .expected "$f") across kill -9 and restart of agentd"
done

# Adopted, not duplicated.
after=$(host_state)
[ "$before" = "$after" ] || {
	diff <(echo "$before") <(echo "$after") >&2
	fail "host state changed across the agentd restart"
}
assert_steering_single
[ "$(ls "/run/agentd/bpffs/$P")" = "$pins_before" ] || fail "pinned objects changed: $(ls "/run/agentd/bpffs/$P" | tr '\n' ' ')"
count() { in_ns host ip -o "$@" | wc -l; }
[ "$(count link show type bridge)" -eq 1 ] || fail "more than one bridge"
[ "$(count addr show dev br-vm to 10.10.1.1/32)" -eq 1 ] || fail "bridge address duplicated"
[ "$(count -6 addr show dev br-vm to fd00:10::1/128)" -eq 1 ] || fail "bridge v6 address duplicated"
[ "$(count addr show to 192.168.100.1/32)" -eq 1 ] || fail "underlay address duplicated"
[ "$(count addr show dev dp0 to 192.168.100.1/32)" -eq 1 ] || fail "underlay address not on dp0"
[ "$(in_ns host ip route show 10.10.2.0/24 | wc -l)" -eq 1 ] || fail "route duplicated"
[ "$(in_ns host ip -6 route show fd00:20::/64 | wc -l)" -eq 1 ] || fail "v6 route duplicated"
ping_ok vm1 10.10.2.2 || fail "traffic broken after the restart"
pass "bridge, addresses, routes, pinned programs adopted; nothing duplicated"

# agentd stops the dataplane it adopted, as one it started.
finish
kill -0 "$dp_pid" 2>/dev/null && fail "the adopted dataplane survived agentd's stop"
pass "the adopted dataplane stopped too"
