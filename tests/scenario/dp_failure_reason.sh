#!/bin/bash
# Scenario: why the dataplane failed reaches the operator. A NIC that does
# not exist (an af_xdp device on a netdev the host lacks) makes every start
# fail; agentd ends in a crash loop on the kernel path, and `agentctl
# status` says why — the dataplane's own words (port not found) and the
# EAL's probe error behind them — not just "exited with status 2".
. "$(dirname "$0")/lib.sh"
scenario_init dpfail

sed -i -e "s|device = \"net_af_xdp0,iface=nic0\";|device = \"net_af_xdp0,iface=${P:0:8}nx0\";|" \
	-e 's/backoff_min_ms = [0-9]*;/backoff_min_ms = 50;/' \
	-e 's/backoff_max_ms = [0-9]*;/backoff_max_ms = 200;/' \
	-e 's/crashloop_count = [0-9]*;/crashloop_count = 2;/' "$CONF"
grep -q "iface=${P:0:8}nx0" "$CONF" || fail "config template changed: nic.device not rendered"

start_agentd
for _ in $(seq 150); do
	[ "$(st .fallback.crash_loop 2>/dev/null)" = true ] && break
	kill -0 "$AGENTD_PID" 2>/dev/null || fail "agentd exited"
	sleep 0.1
done
[ "$(st .fallback.crash_loop)" = true ] || fail "no crash loop with a NIC that does not exist"
[ "$(st .mode)" = kernel ] || fail "mode $(st .mode), want kernel"
why=$(st .last_failure)
log "last_failure: $why"
echo "$why" | grep -q "nic port 'net_af_xdp0' not found" || fail "last_failure does not say the NIC port was not found: $why"
echo "$why" | grep -q "${P:0:8}nx0" || fail "last_failure does not name the missing netdev: $why"
echo "$why" | grep -q "crash loop" || fail "last_failure does not say crash loop: $why"
agentctl status | grep -q "^last failure: .*not found" || fail "agentctl status does not show the reason"
[ -e "/run/agentd/dataplane-$P.error" ] && fail "agentd left the dataplane's error file behind"
ping_ok vm1 10.10.2.2 || fail "the kernel path does not serve traffic in the crash loop"
pass "crash loop with the reason in status: $why"

finish
