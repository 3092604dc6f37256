#!/bin/bash
# Scenario: hostile control clients cannot wedge agentd. Malformed,
# oversized, unknown, half-sent-then-silent and never-reading clients get an
# error reply or a closed connection within their deadline; hundreds of idle
# connections do not exhaust agentd's fds (the least recently active one
# makes room); and with 50 silent half-requests and 400 idle connections held
# open, `agentctl status` still answers at once and a kill -9 of the
# dataplane fails over as fast as without them (a partial request used to
# hold the single event loop for 1 s).
. "$(dirname "$0")/lib.sh"
scenario_init ctlhost

CLIENTS="python3 $SRC_DIR/tests/scenario/ctl_clients.py $SOCK"
# agentd's own bounds (agent/control.c): a request must be complete 1 s after
# its first byte; the status reply waits at most 50 ms on the dataplane.
STATUS_MAX_MS=100

start_fast
fds0=$(fd_count "$AGENTD_PID")

$CLIENTS probe >"$WORK/probe.log" 2>&1 || {
	cat "$WORK/probe.log" >&2
	fail "malformed requests"
}
log "$(grep -c '^ok' "$WORK/probe.log") malformed-request checks passed"
[ "$(st .control.protocol_errors)" -ge 2 ] || fail "protocol errors not counted"
[ "$(st .control.timed_out)" -ge 3 ] || fail "request/write deadlines not counted"
pass "malformed, oversized, unknown, half-sent and never-reading clients handled"

# Netlink "events" forged by a local process (CAP_NET_ADMIN can send to
# agentd's event socket): ignored, counted, never remembered or replayed as
# a runtime route of the underlay.
routes0=$(st .underlay_routes_total)
n=$(in_ns host python3 "$SRC_DIR/tests/scenario/nl_forge.py" "$AGENTD_PID" 198.18.77.0/24 \
	192.168.100.2 "$(in_ns host cat /sys/class/net/dp0/ifindex)") || fail "no event socket of agentd found"
for _ in $(seq 20); do [ "$(st .steering.event_foreign)" -ge "$n" ] && break; sleep 0.1; done
[ "$(st .steering.event_foreign)" -ge "$n" ] || fail "forged netlink message not counted as foreign"
[ "$(st .underlay_routes_total)" = "$routes0" ] || fail "a forged route was remembered"
in_ns host ip route show 198.18.77.0/24 | grep -q . && fail "a forged route reached the kernel"
r4=$(st .fib.routes4)
n=$(in_ns host python3 "$SRC_DIR/tests/scenario/nl_forge.py" "$(st .dataplane.pid)" 198.18.78.0/24 \
	192.168.100.2 "$(in_ns host cat /sys/class/net/dp0/ifindex)") || fail "no event socket of the dataplane found"
for _ in $(seq 20); do [ "$(st .fib.netlink_foreign)" -ge "$n" ] && break; sleep 0.1; done
[ "$(st .fib.netlink_foreign)" -ge "$n" ] || fail "forged netlink message not counted by the dataplane"
[ "$(st .fib.routes4)" = "$r4" ] || fail "a forged route entered the dataplane's FIB"
pass "forged netlink messages to agentd's and the dataplane's event sockets: ignored and counted"

# status latency: max over N requests, in ms
status_max_ms() { # label n gap_ms
	$CLIENTS latency "$2" "$3" >"$WORK/lat-$1.txt" || fail "latency client ($1)"
	grep -q error "$WORK/lat-$1.txt" && fail "status failed ($1): $(grep -c error "$WORK/lat-$1.txt") errors"
	sort -n "$WORK/lat-$1.txt" | tail -n 1 | awk '{printf "%d", $1 + 0.5}'
}

# A failover baseline without hostile clients: kill -9, the underlay back on
# nic0 (watched in the kernel), then failback after the hold-down.
kill_dp_measure() {
	local pid t0
	pid=$(st .dataplane.pid)
	t0=$(now)
	kill -KILL "$pid"
	wait_underlay_on nic0 10
	FO_MS=$(ms_between "$t0" "$ADDR_SEEN")
}
lat0=$(status_max_ms quiet 20 10)
kill_dp_measure
fo_quiet=$FO_MS
wait_mode_t dpdk 30
log "without hostile clients: status max ${lat0} ms, failover $fo_quiet ms"

# The hostile crowd: 50 clients that send 1 byte and go silent (they come
# back as soon as agentd closes them) and 400 idle connections.
HOLD_OUT=$WORK/hold.out
$CLIENTS hold 50 400 >"$HOLD_OUT" 2>&1 &
HOLD_PID=$!
extra_cleanup() { kill -TERM "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; }
for _ in $(seq 100); do grep -q ready "$HOLD_OUT" && break; sleep 0.1; done
grep -q ready "$HOLD_OUT" || fail "hostile clients not connected: $(cat "$HOLD_OUT")"
[ "$(st .control.evicted)" -gt 0 ] || fail "450 connections and nothing evicted: $(status_json | jq -c .control)"
clients=$(st .control.clients)
[ "$clients" -le "$(st .control.max_clients)" ] || fail "$clients clients over the cap"
fds=$(fd_count "$AGENTD_PID")
pass "450 hostile connections: $clients held, $(st .control.evicted) evicted, agentd has $fds fds"

lat1=$(status_max_ms hostile 20 10)
[ "$lat1" -le "$STATUS_MAX_MS" ] || fail "status took $lat1 ms with hostile clients connected"
pass "status answers in at most $lat1 ms with hostile clients (quiet: $lat0 ms)"

# Failover and failback with them, status polled throughout.
$CLIENTS latency 250 20 >"$WORK/lat-failover.txt" &
LAT_PID=$!
kill_dp_measure
fo_hostile=$FO_MS
wait_mode_t dpdk 30
wait "$LAT_PID" || fail "status poller failed"
grep -q error "$WORK/lat-failover.txt" && fail "status failed during failover/failback"
lat2=$(sort -n "$WORK/lat-failover.txt" | tail -n 1 | awk '{printf "%d", $1 + 0.5}')
log "failover: quiet $fo_quiet ms, with hostile clients $fo_hostile ms; status max $lat2 ms over $(wc -l <"$WORK/lat-failover.txt") requests"
# the kill -9 path does not wait on clients: the heartbeat/pidfd decide
[ "$fo_hostile" -le $((fo_quiet + 300)) ] ||
	fail "failover took $fo_hostile ms with hostile clients vs $fo_quiet ms without"
[ "$lat2" -le "$STATUS_MAX_MS" ] || fail "status took $lat2 ms during failover/failback"
pass "failover $fo_hostile ms with hostile clients (quiet: $fo_quiet ms); status within $lat2 ms throughout"

extra_cleanup
grep -q reconnects "$HOLD_OUT" || fail "hostile client report missing"
log "hostile clients: $(tail -n 1 "$HOLD_OUT")"
# the closed connections are gone from agentd (no fd leak)
for _ in $(seq 30); do [ "$(fd_count "$AGENTD_PID")" -le $((fds0 + 2)) ] && break; sleep 0.1; done
[ "$(fd_count "$AGENTD_PID")" -le $((fds0 + 2)) ] ||
	fail "agentd holds $(fd_count "$AGENTD_PID") fds after the clients left (started with $fds0)"
agentctl status >/dev/null || fail "agentctl after the hostile clients left"
pass "fds back to $(fd_count "$AGENTD_PID") (started with $fds0)"

finish
