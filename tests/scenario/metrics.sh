#!/bin/bash
# Scenario: agentd's metrics listener (metrics.listen, libmicrohttpd in the
# event loop). Without the key agentd listens on no TCP port. With it, GET
# /metrics answers the exposition of `agentctl stats --prometheus`, read by
# the reference parser (python3-prometheus-client), as Prometheus's text
# format or OpenMetrics (Accept), the same names as `agentctl stats --json`
# and values between two of its readings, moving with the traffic; other
# paths 404, other methods 405. Clients that send nothing, a huge header,
# or hold every connection slot stop neither other scrapes (once a slot is
# free) nor `agentctl status`, and leave no fd behind. With the dataplane
# hung (SIGSTOP) or killed (kill -9), a scrape still answers at once:
# agentd's own families, the dataplane's absent, agentd_dataplane_up 0.
. "$(dirname "$0")/lib.sh"
scenario_init metrics

PY=/usr/bin/python3 # Debian's, where python3-prometheus-client is
URL=http://127.0.0.1:9464/metrics

# curl in the lab's host namespace: "CODE|CONTENT_TYPE|SECONDS", body to $1
scrape() { # OUT [curl args...]
	local out=$1
	shift
	in_ns host curl -sS -m 5 -o "$out" -w '%{http_code}|%{content_type}|%{time_total}\n' "$@" "$URL"
}

# ---- no key: no listener ---------------------------------------------------
start_fast
[ "$(st .metrics.listen)" = "" ] || fail "metrics.listen is set without the key: $(st .metrics.listen)"
if in_ns host ss -ltnpH | grep -q "pid=$AGENTD_PID,"; then
	fail "agentd listens on TCP without metrics.listen: $(in_ns host ss -ltnpH)"
fi
rc=0; in_ns host curl -sS -m 2 -o /dev/null "$URL" 2>/dev/null || rc=$?
[ "$rc" -eq 7 ] || fail "GET $URL without the key: curl exit $rc, want 7 (connection refused)"
pass "no metrics.listen: agentd listens on no TCP port"
stop_agentd || fail "agentd exited with status $? at stop"

# ---- the key: a listener on the host namespace's loopback ------------------
sed -i -e 's|^control: {|metrics: {\n\tlisten = "127.0.0.1:9464";\n};\n\ncontrol: {|' "$CONF"
grep -q 'listen = "127.0.0.1:9464";' "$CONF" || fail "config template changed: metrics.listen not rendered"
in_ns host "$BIN_DIR/agentd" --check-config -c "$CONF" >/dev/null || fail "--check-config refuses metrics.listen"
start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
[ "$(st .metrics.listen)" = 127.0.0.1:9464 ] || fail "status .metrics.listen: $(st .metrics.listen)"
in_ns host ss -ltnpH | grep "pid=$AGENTD_PID," | grep -q '127.0.0.1:9464 ' ||
	fail "agentd does not listen on 127.0.0.1:9464: $(in_ns host ss -ltnpH)"
# the dataplane inherits no socket of the listener (close-on-exec)
dp=$(st .dataplane.pid)
if in_ns host ss -ltnpH | grep -q "pid=$dp,"; then fail "the dataplane holds the metrics listener"; fi

# ---- a scrape, parsed; the same names as stats --json, values between ------
agentctl stats --json >"$WORK/before.json"
IFS="|" read -r code ctype t <<<"$(scrape "$WORK/m1.txt")"
agentctl stats --json >"$WORK/after.json"
[ "$code" = 200 ] || fail "GET /metrics: HTTP $code"
[ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ] || fail "GET /metrics: Content-Type '$ctype'"
IFS="|" read -r code ctype2 _ <<<"$(scrape "$WORK/m-om.txt" -H 'Accept: application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5')"
[ "$code" = 200 ] && [[ $ctype2 == application/openmetrics-text* ]] ||
	fail "GET /metrics, Accept OpenMetrics: HTTP $code, Content-Type '$ctype2'"
# ($1 = the scrape, $2/$3 = stats --json before and after it)
$PY - "$WORK/m1.txt" "$WORK/before.json" "$WORK/after.json" <<'PY' || fail "the scrape does not match agentctl stats"
import json, re, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse
text = open(sys.argv[1]).read()
fams = {f.name: f for f in om_parse(text)}
# Prometheus's own text format too (the Content-Type says 0.0.4)
text_names = {f.name for f in text_parse(text)}
assert "agentd_forwarding_fast_vm_to_wire" in text_names, "text parser: no fast_vm_to_wire"
before, after = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
def one(name, labels=None):
    for s in fams[name].samples:
        if labels is None or s.labels == labels:
            return s.value
    raise KeyError(name)
assert one("agentd_mode", {"mode": "dpdk"}) == 1
assert one("agentd_dataplane_up") == 1, "dataplane_up is not 1"
assert 0 <= one("agentd_fallback_heartbeat_age_ms") < 1000, "heartbeat age %s ms" % one("agentd_fallback_heartbeat_age_ms")
for name, typ in [("agentd_forwarding_fast_vm_to_wire", "counter"), ("agentd_fallback_failovers", "counter"),
                  ("agentd_fib_resyncs", "counter"), ("agentd_nic_rx_packets", "counter"),
                  ("agentd_fib_routes4", "gauge"), ("agentd_fib_neighbours", "gauge"),
                  ("agentd_kernel_IpForwDatagrams", "counter"), ("agentd_control_accepted", "counter"),
                  ("agentd_metrics_scrapes", "counter"), ("agentd_fallback_heartbeat_misses", "gauge"),
                  ("agentd_fallback_heartbeat_age_ms", "gauge")]:
    assert name in fams, "no family " + name
    assert fams[name].type == typ, "%s is a %s, want %s" % (name, fams[name].type, typ)
# every value of stats --json is a family of the scrape, and the reverse
def fam_name(k):
    return "agentd_" + re.sub(r"[^A-Za-z0-9]", "_", k)
want = {fam_name(k) for k in after if k != "rates_per_s"}
got = set(fams) - {"agentd_mode", "agentd_dataplane_up"}
assert want == got, "stats --json and the scrape differ: %s / %s" % (sorted(want - got)[:8], sorted(got - want)[:8])
# counters of the dataplane and the kernel between the two readings
n = 0
for k in after:
    if not k.startswith(("forwarding.", "nic.", "exception.", "fib.netlink")):
        continue
    f = fams[fam_name(k)]
    if f.type != "counter":
        continue
    v = one(f.name)
    assert before[k] <= v <= after[k], "%s: %s not within [%s, %s]" % (k, v, before[k], after[k])
    n += 1
assert n >= 20, "only %d counters compared" % n
print(len(fams), "families,", n, "counters within stats --json's readings")
PY
pass "GET /metrics: HTTP 200 in ${t}s ($ctype; OpenMetrics on request), parsed, the same names as stats --json and values between its readings"

fd_baseline # (after a first scrape: MHD's own fds are open)

# ---- the values move with the traffic --------------------------------------
fam() { awk -v n="$2" '$1 == n { print $2 + 0 }' "$1"; }
a=$(fam "$WORK/m1.txt" agentd_forwarding_fast_vm_to_wire_total)
in_ns vm1 ping -q -c 300 -i 0.005 10.10.2.2 >/dev/null 2>&1 || fail "ping vm1 -> remote VM"
scrape "$WORK/m2.txt" >/dev/null
b=$(fam "$WORK/m2.txt" agentd_forwarding_fast_vm_to_wire_total)
[ -n "$a" ] && [ -n "$b" ] && [ "$((b - a))" -ge 300 ] ||
	fail "fast_vm_to_wire moved from $a to $b for 300 pings"
pass "fast_vm_to_wire_total grew by $((b - a)) for 300 pings"

# ---- other paths, other methods --------------------------------------------
for path in / /metricsx /metrics/ /favicon.ico; do
	code=$(in_ns host curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:9464$path")
	[ "$code" = 404 ] || fail "GET $path: HTTP $code, want 404"
done
for method in POST PUT DELETE; do
	in_ns host curl -sS -m 5 -o /dev/null -D "$WORK/h.txt" -X "$method" --data x "$URL" >/dev/null
	grep -q '^HTTP/1.1 405' "$WORK/h.txt" && grep -qi '^Allow: GET, HEAD' "$WORK/h.txt" ||
		fail "$method /metrics: $(head -n 1 "$WORK/h.txt")"
done
code=$(in_ns host curl -sS -m 5 -I -o /dev/null -w '%{http_code}' "$URL")
[ "$code" = 200 ] || fail "HEAD /metrics: HTTP $code"
pass "other paths 404, POST/PUT/DELETE 405 with Allow, HEAD 200"

# ---- hostile clients -------------------------------------------------------
# hostile.py MODE: silent N (connect, send nothing, hold), huge (a 1 MiB
# header: what agentd answers), slots (hold every slot while this runs)
cat >"$WORK/hostile.py" <<'PY'
import socket, sys, time
mode = sys.argv[1]
def conn():
    s = socket.create_connection(("127.0.0.1", 9464), timeout=10)
    return s
if mode == "silent":
    socks = [conn() for _ in range(int(sys.argv[2]))]
    print("open", flush=True)
    time.sleep(float(sys.argv[3]))
elif mode == "huge":
    s = conn()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ")
    sent = 0
    try:
        while sent < (1 << 20):
            s.sendall(b"a" * 4096)
            sent += 4096
    except OSError as e:
        pass
    s.settimeout(5)
    try:
        answer = s.recv(200).split(b"\r\n")[0].decode()
    except OSError as e:
        answer = "closed: " + str(e)
    print("sent %d bytes of header, answer: %s" % (sent, answer or "closed"))
PY
# a silent client, then a huge header while it is there
in_ns host $PY "$WORK/hostile.py" silent 1 8 >"$WORK/silent.out" 2>&1 &
SILENT=$!
extra_cleanup() { kill "$SILENT" 2>/dev/null || true; kill "${SLOTS:-}" 2>/dev/null || true; }
for _ in $(seq 50); do grep -q open "$WORK/silent.out" && break; sleep 0.1; done
huge=$(in_ns host $PY "$WORK/hostile.py" huge) || fail "huge header client: $huge"
[[ $huge == *"431"* || $huge == *"413"* || $huge == *closed* ]] || fail "huge header: $huge"
IFS="|" read -r code _ t <<<"$(scrape "$WORK/m3.txt")"
[ "$code" = 200 ] || fail "scrape beside a silent client: HTTP $code"
t0=$(now); agentctl status -q >/dev/null || true; t1=$(now)
pass "a silent client and a huge header ($huge): scrape in ${t}s, status in $(ms_between "$t0" "$t1") ms"
# every slot held: agentd itself goes on; scrapes again once they time out
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AGENTD_PID/stat"; }
in_ns host $PY "$WORK/hostile.py" silent 40 3 >"$WORK/slots.out" 2>&1 &
SLOTS=$!
for _ in $(seq 50); do grep -q open "$WORK/slots.out" && break; sleep 0.1; done
c0=$(cpu_ticks)
t0=$(now); agentctl status --json >/dev/null || fail "status while the metrics slots are held"; t1=$(now)
st_ms=$(ms_between "$t0" "$t1")
[ "$st_ms" -lt 500 ] || fail "status took $st_ms ms while the metrics slots were held"
wait "$SLOTS" 2>/dev/null || true
cpu=$(($(cpu_ticks) - c0))
# (the listener must not spin on connections it cannot take: ~2.5 s here)
[ "$cpu" -le $((50 * $(getconf CLK_TCK) / 100)) ] || fail "agentd used $cpu ticks of CPU while the slots were held"
kill "$SILENT" 2>/dev/null || true
wait "$SILENT" 2>/dev/null || true
ok=
for _ in $(seq 30); do
	IFS="|" read -r code _ t <<<"$(scrape "$WORK/m4.txt" 2>/dev/null || true)"
	[ "$code" = 200 ] && { ok=1; break; }
	sleep 0.2
done
[ -n "$ok" ] || fail "no scrape answered after the slot holders left"
pass "40 connections held: status in $st_ms ms, agentd's CPU $cpu ticks meanwhile; scrapes answer again once they are gone"
assert_fds_stable "the hostile metrics clients"

# ---- scrape latency ----------------------------------------------------------
for i in $(seq 20); do scrape /dev/null | cut -d '|' -f 3; done | sort -n >"$WORK/lat.txt"
pass "20 scrapes: median $(sed -n 10p "$WORK/lat.txt") s, max $(tail -n 1 "$WORK/lat.txt") s (curl's time_total)"

# ---- the dataplane hung (SIGSTOP), then killed (kill -9) -------------------
dp=$(st .dataplane.pid)
kill -STOP "$dp"
IFS="|" read -r code _ t <<<"$(scrape "$WORK/m-stop.txt")"
[ "$code" = 200 ] || fail "scrape with the dataplane stopped: HTTP $code"
grep -q '^agentd_dataplane_up 0$' "$WORK/m-stop.txt" || fail "dataplane stopped: agentd_dataplane_up is not 0"
! grep -q '^agentd_forwarding_' "$WORK/m-stop.txt" || fail "dataplane stopped: its counters are there"
grep -q '^agentd_fallback_failovers_total ' "$WORK/m-stop.txt" || fail "dataplane stopped: agentd's own counters are missing"
pass "dataplane SIGSTOPped: scrape in ${t}s, agentd_dataplane_up 0, agentd's families only"
wait_mode_t kernel 10 # the heartbeat declares it hung, kills it
wait_mode dpdk 60
dp=$(st .dataplane.pid)
kill -KILL "$dp"
down=
for i in $(seq 40); do
	IFS="|" read -r code _ t <<<"$(scrape "$WORK/m-kill.txt")"
	[ "$code" = 200 ] || fail "scrape $i after kill -9 of the dataplane: HTTP $code"
	if grep -q '^agentd_dataplane_up 0$' "$WORK/m-kill.txt"; then down=$t; break; fi
	sleep 0.05
done
[ -n "$down" ] || fail "no scrape saw agentd_dataplane_up 0 after kill -9"
$PY - "$WORK/m-kill.txt" <<'PY' || fail "the scrape after kill -9 does not parse"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name for f in text_string_to_metric_families(open(sys.argv[1]).read())}
assert "agentd_mode" in fams and "agentd_fallback_failovers" in fams
PY
pass "dataplane killed: scrapes answer (${down}s), agentd_dataplane_up 0"
wait_mode dpdk 60
[ "$(st .metrics.scrapes)" -ge 25 ] || fail "status .metrics.scrapes: $(st .metrics.scrapes)"

# ---- reload: the listener moves, then closes ---------------------------------
sed -i 's|listen = "127.0.0.1:9464";|listen = "127.0.0.1:9465";|' "$CONF"
agentctl reload --json >"$WORK/reload.json" || fail "reload: $(cat "$WORK/reload.json")"
jq -e '.applied == ["metrics.listen"]' "$WORK/reload.json" >/dev/null || fail "reload reply: $(cat "$WORK/reload.json")"
code=$(in_ns host curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:9465/metrics || true)
[ "$code" = 200 ] || fail "no listener on the reloaded address (HTTP $code)"
in_ns host ss -ltnH | grep -q "127.0.0.1:9464 " && fail "the old listener is still open after the reload"
sed -i 's|listen = "127.0.0.1:9465";|listen = "";|' "$CONF"
agentctl reload >/dev/null || fail "reload to no listener"
in_ns host ss -ltnH | grep -q "127.0.0.1:946" && fail "a listener is open after metrics.listen = \"\""
pass "reload: metrics.listen moved to :9465, then closed"
assert_fds_stable "the listener moved and closed by reloads"

finish
