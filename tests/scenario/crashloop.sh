#!/bin/bash
# Scenario: a dataplane that dies at start, every time. agentd restarts it with
# back-off, declares a crash loop after crashloop_count failures, stops
# trying, and leaves the host on the kernel path serving traffic, with the
# reason in its status. `agentctl mode kernel|dpdk` answer; mode dpdk retries
# (and ends in a crash loop again with this binary).
. "$(dirname "$0")/lib.sh"
scenario_init crashloop

# A "dataplane" that records each start and exits 1 at once.
cat >"$WORK/crash-dataplane" <<'SH'
#!/bin/sh
echo "$*" >>"$(dirname "$0")/invocations"
echo "crash-dataplane: simulated crash at start" >&2
exit 1
SH
chmod +x "$WORK/crash-dataplane"
sed -i -e "s|binary = \"[^\"]*\";|binary = \"$WORK/crash-dataplane\";|" \
	-e 's/backoff_min_ms = [0-9]*;/backoff_min_ms = 50;/' \
	-e 's/backoff_max_ms = [0-9]*;/backoff_max_ms = 200;/' \
	-e 's/crashloop_count = [0-9]*;/crashloop_count = 3;/' \
	-e 's/holddown_ms = [0-9]*;/holddown_ms = 100;/' "$CONF"
for want in "$WORK/crash-dataplane" "backoff_min_ms = 50;" "backoff_max_ms = 200;" "crashloop_count = 3;" \
	"holddown_ms = 100;"; do
	grep -qF "$want" "$CONF" || fail "config template changed: '$want' not rendered"
done
starts() { wc -l <"$WORK/invocations" 2>/dev/null || echo 0; }

# Wait until .fallback.crash_loop is true (agentd may not answer at once).
wait_crash_loop() {
	for _ in $(seq 100); do
		[ "$(st .fallback.crash_loop 2>/dev/null)" = true ] && return 0
		kill -0 "$AGENTD_PID" 2>/dev/null || fail "agentd exited"
		sleep 0.1
	done
	agentctl status >&2 || true
	fail "no crash loop declared in 10 s ($(starts) starts)"
}

start_agentd
wait_crash_loop
fd_baseline
[ "$(st .mode)" = kernel ] || fail "mode $(st .mode) in a crash loop, want kernel"
restarts=$(fb restarts)
n=$(starts)
[ "$n" -ge 3 ] && [ "$n" -le 4 ] || fail "$n dataplane starts before the crash loop, want 3 (crashloop_count)"
why=$(st .last_failure)
[ -n "$why" ] && [ "$why" != null ] || fail "no last_failure in a crash loop"
[ "$(st .dataplane.pid)" -eq 0 ] || fail "dataplane pid $(st .dataplane.pid) in a crash loop"
pass "crash loop after $n starts ($restarts restarts): $why"

# The back-off schedule: from backoff_min_ms, doubling, capped at
# backoff_max_ms (agentd logs each delay it chose). A vfio-pci NIC (the
# guest bed) is held down first: no restart sooner than holddown_ms.
sched=$(grep -o 'restarting the dataplane in [0-9]* ms' "$AGENTD_LOG" | awk '{print $5}' | tr '\n' ' ')
if [ "$AGT_BED" = guest ]; then want="100 100 "; else want="50 100 "; fi
[ "$sched" = "$want" ] || [ "$sched" = "${want}200 " ] ||
	fail "back-off schedule '$sched', want ${want}(200) ms (min 50, doubling, max 200; vfio-pci: at least the 100 ms hold-down)"
pass "back-off schedule: $sched ms"

# No more restarts: the host stays on the kernel path.
sleep 1
[ "$(starts)" -eq "$n" ] || fail "restarted after the crash loop ($n -> $(starts) starts)"
[ "$(fb restarts)" -eq "$restarts" ] || fail "restart counter moved after the crash loop"
[ "$(fb phase)" = idle ] || fail "fallback phase $(fb phase) in a crash loop, want idle"
agentctl status | grep -qi "crash loop" || fail "agentctl status does not show the crash loop"

# The kernel serves the underlay and routes the VMs' traffic.
in_ns host ip link show dp0 >/dev/null 2>&1 && fail "dp0 exists without a dataplane"
[ "$(in_ns host ip -o addr show dev nic0 to 192.168.100.1/32 | wc -l)" -eq 1 ] ||
	fail "192.168.100.1 is not on nic0"
[ "$(in_ns host ip -o -6 addr show dev nic0 to fd00:100::1/128 | wc -l)" -eq 1 ] ||
	fail "fd00:100::1 is not on nic0"
in_ns host ip route show 10.10.2.0/24 | grep -q "dev nic0" || fail "route to 10.10.2.0/24 not via nic0"
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM in a crash loop"
in_ns vm1 ping -6 -c 3 -i 0.2 -W 2 fd00:20::2 >/dev/null 2>&1 || fail "vm1 cannot reach fd00:20::2"
ping_ok rvm 10.10.1.11 || fail "the remote VM cannot reach vm1"
pass "kernel path serves traffic (IPv4 and IPv6), underlay on nic0, no dp0"

# Operator commands: both answer; mode dpdk clears the crash loop and
# retries, which ends in a crash loop again with this binary.
agentctl mode kernel >/dev/null || fail "agentctl mode kernel failed"
[ "$(fb forced)" = true ] || fail "mode kernel did not set fallback.forced"
[ "$(st .mode)" = kernel ] || fail "mode $(st .mode) after agentctl mode kernel"
agentctl mode dpdk >/dev/null || fail "agentctl mode dpdk failed"
[ "$(fb forced)" = false ] || fail "mode dpdk did not clear fallback.forced"
for _ in $(seq 30); do [ "$(starts)" -gt "$n" ] && break; sleep 0.1; done
[ "$(starts)" -gt "$n" ] || fail "agentctl mode dpdk did not restart the dataplane"
wait_crash_loop
[ "$(st .mode)" = kernel ] || fail "mode $(st .mode) after the second crash loop"
ping_ok vm1 10.10.2.2 || fail "traffic broken after the second crash loop"
pass "agentctl mode kernel/dpdk answer; the retry ends in a crash loop again ($(starts) starts in all)"
agentctl mode bogus >/dev/null 2>&1 && fail "agentctl mode bogus accepted"

finish
