#!/bin/bash
# Scenario: the operator's read commands for monitoring. `agentctl stats`
# lists every counter of status; `--prometheus` is parsed by the reference
# Python client (python3-prometheus-client) and carries the fast-path
# counters, the mode as a state set and the kernel's forwarding counter;
# `--watch` refreshes with rates per second that match the traffic offered;
# `status -q` exits 0 on the fast path and 3 on the kernel fallback, 1 when
# agentd is gone; `version` names both sides.
. "$(dirname "$0")/lib.sh"
scenario_init stats

start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"

# status -q: for a monitoring check
rc=0; out=$(agentctl status -q) || rc=$?
[ "$rc" -eq 0 ] && [ -z "$out" ] || fail "status -q on the fast path: exit $rc, output '$out'"
pass "status -q: exit 0 and silent on the fast path"

# version: agentctl's and the running agentd's
ver=$(agentctl version) || fail "agentctl version failed"
grep -q "^agentctl [0-9]" <<<"$ver" || fail "version: $ver"
v=$(agentctl version --json | jq -r .agentd)
[ "$v" = "$(st .version)" ] && [ "$v" != null ] || fail "version --json: agentd '$v'"
pass "version: agentctl and agentd $v"

# ports: the NIC and the exception port, both sides of each
agentctl ports >"$WORK/ports.txt" || fail "agentctl ports failed"
grep -q '^nic  *net_af_xdp0,iface=nic0: port 0, driver net_af_xdp' "$WORK/ports.txt" ||
	fail "agentctl ports lacks the NIC: $(head -n 3 "$WORK/ports.txt")"
grep -q '^exception  *af_xdp: port 1, driver net_af_xdp' "$WORK/ports.txt" ||
	fail "agentctl ports lacks the exception port: $(cat "$WORK/ports.txt")"
grep -q 'kernel netdev dp0: mac ' "$WORK/ports.txt" || fail "agentctl ports lacks dp0's kernel side"
agentctl ports --json >"$WORK/ports.json" || fail "agentctl ports --json failed"
jq -e 'length == 2 and .[0].role == "nic" and .[1].role == "exception"
	and (.[0].dpdk.rx_packets | type) == "number" and .[0].dpdk.mac == .[1].kernel.mac
	and .[1].kernel.exists and .[1].type == "af_xdp" and (.[0].dpdk.tx_offloads | type) == "string"' \
	"$WORK/ports.json" >/dev/null || fail "agentctl ports --json: $(jq -c . "$WORK/ports.json" | cut -c 1-400)"
pass "ports: the NIC and the exception port, DPDK's side and the kernel's, text and JSON"

# The dataplane's telemetry, read with DPDK's own client (docs/operations.md)
printf '/agent/health\n/agent/stats\n' | /usr/bin/python3 /usr/bin/dpdk-telemetry.py -f "$P" \
	>"$WORK/telemetry.txt" 2>&1 || fail "dpdk-telemetry.py failed: $(head -c 300 "$WORK/telemetry.txt")"
jq -es '.[0]."/agent/health".state == "running" and (.[1]."/agent/stats".fwd.fast_vm_to_wire | type) == "number"
	and .[1]."/agent/stats".nic.driver == "net_af_xdp"' "$WORK/telemetry.txt" >/dev/null ||
	fail "dpdk-telemetry.py: $(head -c 400 "$WORK/telemetry.txt")"
pass "dpdk-telemetry.py -f $P reads /agent/health and /agent/stats"

# stats: the counters of status, one per line, the same values
agentctl stats >"$WORK/stats.txt" || fail "agentctl stats failed"
for name in forwarding.fast_vm_to_wire forwarding.fast_wire_to_vm kernel.IpForwDatagrams \
	fallback.failovers fib.routes4; do
	grep -q "^$name " "$WORK/stats.txt" || fail "stats has no $name"
done
n=$(wc -l <"$WORK/stats.txt")
[ "$n" -ge 40 ] || fail "stats lists only $n values"
agentctl stats --json | jq -e '."forwarding.fast_vm_to_wire" >= 1' >/dev/null ||
	fail "stats --json: no forwarding.fast_vm_to_wire"
pass "stats: $n values, fast-path counters among them"

# Prometheus / OpenMetrics text, read by the reference parser
agentctl stats --prometheus >"$WORK/metrics.txt" || fail "stats --prometheus failed"
# (Debian's python3, where python3-prometheus-client is installed: a python3
# earlier in PATH, pyenv's say, does not have it)
/usr/bin/python3 - "$WORK/metrics.txt" <<'PY' || fail "the Prometheus client could not read agentctl's exposition"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def sample(name, labels=None):
    for s in fams[name].samples:
        if labels is None or s.labels == labels:
            return s.value
    raise KeyError(name)
assert fams["agentd_forwarding_fast_vm_to_wire"].type == "counter"
assert sample("agentd_forwarding_fast_vm_to_wire") >= 1, "no fast-path packets"
assert sample("agentd_mode", {"mode": "dpdk"}) == 1
assert sample("agentd_mode", {"mode": "kernel"}) == 0
assert fams["agentd_fib_routes4"].type == "gauge"
assert "agentd_kernel_IpForwDatagrams" in fams
print(len(fams), "metric families")
PY
pass "stats --prometheus: parsed by prometheus_client's OpenMetrics parser"

# --watch: rates per second that match the traffic offered (a 200/s ping)
in_ns vm1 ping -q -c 4000 -i 0.005 10.10.2.2 >/dev/null 2>&1 &
PING=$!
extra_cleanup() { kill "$PING" 2>/dev/null || true; }
sleep 0.5
agentctl stats --watch 1 --times 3 >"$WORK/watch.txt" || fail "stats --watch failed"
kill "$PING" 2>/dev/null || true
wait "$PING" 2>/dev/null || true
rate=$(awk '$1 == "forwarding.fast_vm_to_wire" && NF == 3 { r = $3 } END { sub("/s", "", r); print r + 0 }' "$WORK/watch.txt")
[ "$(grep -c '^agentd stats' "$WORK/watch.txt")" -eq 3 ] || fail "--times 3 did not refresh 3 times"
awk -v r="$rate" 'BEGIN { exit !(r >= 100 && r <= 400) }' ||
	fail "--watch: fast_vm_to_wire at $rate/s while ~200 pings/s were offered"
pass "stats --watch: fast_vm_to_wire $rate/s for ~200 pings/s offered"

# status -q on the kernel path: degraded
agentctl mode kernel >/dev/null
wait_mode_t kernel 10
rc=0; agentctl status -q || rc=$?
[ "$rc" -eq 3 ] || fail "status -q on the kernel path: exit $rc, want 3"
# (to a file: grep -q ending early would SIGPIPE a writer still writing)
agentctl stats --prometheus >"$WORK/metrics-kernel.txt" || fail "stats --prometheus on the kernel path"
grep -q '^agentd_mode{mode="kernel"} 1$' "$WORK/metrics-kernel.txt" || fail "metrics do not show mode kernel"
pass "status -q: exit 3 on the kernel path; the metrics say kernel"
agentctl mode dpdk >/dev/null
wait_mode_t dpdk 30

finish
# agentd gone: unreachable
rc=0; "$BIN_DIR/agentctl" -s "$SOCK" status -q 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "status -q without agentd: exit $rc, want 1"
