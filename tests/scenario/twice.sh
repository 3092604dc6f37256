#!/bin/bash
# Scenario: agentd started twice on the same config duplicates nothing —
# a second instance beside a running one refuses to start and changes
# nothing; a restart against an already configured host adds nothing.
. "$(dirname "$0")/lib.sh"
scenario_init twice

start_agentd
wait_mode dpdk 60
first=$(host_state)
dp_pid=$(st .dataplane.pid)

rc=0
out=$(in_ns host "$BIN_DIR/agentd" -c "$CONF" 2>&1) || rc=$?
[ $rc -eq 1 ] || fail "second agentd exit code $rc, want 1 ($out)"
echo "$out" | grep "already running" >/dev/null || fail "second agentd did not say why: $out"
[ "$first" = "$(host_state)" ] || fail "second agentd changed the host"
[ "$(st .dataplane.pid)" = "$dp_pid" ] || fail "second agentd disturbed the dataplane"
pass "second agentd refused, host unchanged"

# Restart: the bridge, its addresses and ports exist already.
stop_agentd || fail "agentd did not stop cleanly"
start_agentd
wait_mode dpdk 60
second=$(host_state)
# ifindexes of dp0 and the dataplane pid change; the set of objects must not.
[ "$first" = "$second" ] || { diff <(echo "$first") <(echo "$second") >&2; fail "restart changed the host state"; }
count() { in_ns host ip -o "$@" | wc -l; }
[ "$(count link show type bridge)" -eq 1 ] || fail "more than one bridge"
[ "$(count addr show dev br-vm to 10.10.1.1/32)" -eq 1 ] || fail "bridge address duplicated"
[ "$(count -6 addr show dev br-vm to fd00:10::1/128)" -eq 1 ] || fail "bridge v6 address duplicated"
[ "$(count addr show to 192.168.100.1/32)" -eq 1 ] || fail "underlay address duplicated"
[ "$(in_ns host ip route show 10.10.2.0/24 | wc -l)" -eq 1 ] || fail "route duplicated"
[ "$(in_ns host ip -6 route show fd00:20::/64 | wc -l)" -eq 1 ] || fail "v6 route duplicated"
ping_ok vm1 10.10.2.2 || fail "traffic broken after restart"
pass "restart on a configured host duplicates nothing"

finish
