#!/bin/bash
# Scenario: more routes and neighbours than the dataplane was sized for.
# What does not fit is counted and logged once per period (not once per
# entry), nothing crashes, and the kernel path serves what DPDK cannot: a
# full FIB punts every packet (a missing more-specific route must not send
# traffic to a less specific one), a neighbour left out punts the packets to
# it. Once the routes are gone again the fast path comes back by itself.
. "$(dirname "$0")/lib.sh"
scenario_init exhaust

N_ROUTES=64
sed -i -e 's/lpm_rules = 1048576;/lpm_rules = 32;/' -e 's/neighbours = 4096;/neighbours = 16;/' "$CONF"
grep -q 'lpm_rules = 32;' "$CONF" && grep -q 'neighbours = 16;' "$CONF" ||
	fail "config template changed: fib section"

start_fast
dp=$(st .dataplane.pid)
[ "$(st .fib.full)" = 0 ] || fail "FIB full before the test"
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"

# routes: twice what the FIB holds, through the underlay gateway
for i in $(seq "$N_ROUTES"); do
	echo "route add 172.$((16 + i / 256)).$((i % 256)).0/24 via 192.168.100.2"
done >"$WORK/routes.batch"
in_ns host ip -batch "$WORK/routes.batch"
for _ in $(seq 50); do [ "$(st .fib.full)" = 1 ] && break; sleep 0.1; done
[ "$(st .fib.full)" = 1 ] || fail "$N_ROUTES routes in a FIB of 32 and not full: $(status_json | jq -c .fib)"
errs=$(st .fib.route_errors)
[ "$errs" -gt 0 ] || fail "route errors not counted"
lines=$(grep -c "the FIB is full" "$AGENTD_LOG" || true)
[ "$lines" -ge 1 ] && [ "$lines" -le 2 ] || fail "$lines 'FIB is full' log lines for $errs refused routes"
pass "FIB full: $errs routes refused, logged $lines time(s)"

# the kernel serves: every packet punted, none sent to a wrong next hop
b0=$(fwd punt_behind)
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM with a full FIB"
ping_ok rvm 10.10.1.11 || fail "the remote VM cannot reach vm1 with a full FIB"
[ "$(fwd punt_behind)" -gt "$b0" ] || fail "a full FIB did not punt to the kernel"
[ "$(st .dataplane.pid)" = "$dp" ] || fail "the dataplane was replaced"
pass "full FIB: traffic punted to the kernel and delivered"

# neighbours: more than the table holds (permanent entries on the underlay)
for i in $(seq 10 41); do
	in_ns host ip neigh replace "192.168.100.$i" lladdr "02:00:00:00:01:$(printf %02x "$i")" dev dp0 nud permanent
done
for _ in $(seq 50); do [ "$(st .fib.neigh_errors)" -gt 0 ] && break; sleep 0.1; done
nerr=$(st .fib.neigh_errors)
[ "$nerr" -gt 0 ] || fail "32 neighbours more in a table of 16 and no error: $(status_json | jq -c .fib)"
nlines=$(grep -c "neighbour table full" "$AGENTD_LOG" || true)
[ "$nlines" -ge 1 ] && [ "$nlines" -le 2 ] || fail "$nlines 'neighbour table full' lines for $nerr refused"
[ "$(st .fib.neighbours)" -le 16 ] || fail "$(st .fib.neighbours) neighbours in a table of 16"
pass "neighbour table full: $nerr refused, logged $nlines time(s)"

# back: routes and neighbours removed, the FIB resyncs and the fast path
# carries the traffic again (a full FIB asks for a resync every 5 s)
sed 's/^route add/route del/' "$WORK/routes.batch" >"$WORK/routes-del.batch"
in_ns host ip -batch "$WORK/routes-del.batch"
for i in $(seq 10 41); do in_ns host ip neigh del "192.168.100.$i" dev dp0; done
for _ in $(seq 200); do [ "$(st .fib.full)" = 0 ] && break; sleep 0.1; done
[ "$(st .fib.full)" = 0 ] || fail "FIB still full 20 s after the routes left: $(status_json | jq -c .fib)"
f0=$(fwd fast_vm_to_wire)
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM after the FIB emptied"
[ "$(fwd fast_vm_to_wire)" -gt "$f0" ] || fail "the fast path did not come back"
[ "$(st .dataplane.pid)" = "$dp" ] && [ "$(fb failovers)" -eq 0 ] || fail "exhaustion caused a failover"
pass "routes gone: FIB not full, fast path back, no failover"

finish
