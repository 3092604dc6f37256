#!/bin/bash
# Scenario: nothing configured by the operator is lost across failover and
# failback — including routes a routing daemon added at runtime through the
# underlay (they vanish with dp0 when the dataplane dies, so agentd must
# remember and move them), with their protocol.
. "$(dirname "$0")/lib.sh"
scenario_init daemonrt
sed -i 's/holddown_ms = [0-9]*;/holddown_ms = 1000;/' "$CONF"
grep 'holddown_ms = 1000;' "$CONF" >/dev/null || fail "config template changed: holddown_ms"

start_fast
fd_baseline
in_ns wire ip addr add 10.10.3.1/32 dev lo
in_ns wire ip addr add fd00:30::1/128 dev lo
in_ns host ip route add 10.10.3.0/24 via 192.168.100.2 proto bird
in_ns host ip -6 route add fd00:30::/64 via fd00:100::2 proto bird
ping_ok vm1 10.10.3.1 || fail "baseline: vm1 cannot reach 10.10.3.1"

kill -KILL "$(st .dataplane.pid)"
for i in $(seq 50); do [ "$(st .mode)" = kernel ] && break; sleep 0.05; done
[ "$(st .mode)" = kernel ] || fail "no failover after kill -9"
in_ns host ip route show 10.10.3.0/24 | grep "dev nic0 proto bird" >/dev/null ||
	fail "runtime route lost on failover: '$(in_ns host ip route show 10.10.3.0/24)'"
in_ns host ip -6 route show fd00:30::/64 | grep "dev nic0 proto bird" >/dev/null ||
	fail "runtime v6 route lost on failover"
ping_ok vm1 10.10.3.1 || fail "vm1 cannot reach 10.10.3.1 through the kernel"
ping_ok vm1 fd00:30::1 || fail "vm1 cannot reach fd00:30::1 through the kernel"
pass "runtime routes moved to nic0 with the underlay"

wait_mode dpdk 30
in_ns host ip route show 10.10.3.0/24 | grep "dev dp0 proto bird" >/dev/null ||
	fail "runtime route not moved back on failback: '$(in_ns host ip route show 10.10.3.0/24)'"
[ "$(in_ns host ip route show 10.10.3.0/24 | wc -l)" -eq 1 ] || fail "runtime route duplicated"
[ -z "$(in_ns host ip route show dev nic0)" ] || fail "routes left on nic0: $(in_ns host ip route show dev nic0)"
ping_ok vm1 10.10.3.1 || fail "vm1 cannot reach 10.10.3.1 after failback"
pass "runtime routes back on dp0 after failback, nothing duplicated or left on nic0"

finish
