#!/bin/bash
# Scenario: a bad config is rejected with file:line and exit code 2, and
# nothing on the host changes — neither on a fresh host nor under a running
# agentd, whose configuration stays untouched.
. "$(dirname "$0")/lib.sh"
scenario_init badcfg

# bad-config cases: "sed expression | expected message fragment"
cases=(
	's|kernel_netdev = "nic0";|kernel_netdev = "nic0"; colour = "blue";|#unknown key'
	's|mtu = 1500;|mtu = "1500";|#must be an integer'
	's|"10.10.1.1/24"|"10.10.1.300/24"|#10.10.1.300'
	's|dst = "10.10.2.0/24"|dst = "10.10.2.0/33"|#10.10.2.0/33'
	's|type = "[a-z_-]*";|type = "vhost";|#vhost'
	's|routes = (|routes = ( oops|#'
)

check_rejected() { # label
	local c expr want line out rc
	for c in "${cases[@]}"; do
		expr=${c%%#*}
		want=${c#*#}
		sed -e "$expr" "$CONF" >"$WORK/bad.conf"
		cmp -s "$CONF" "$WORK/bad.conf" && fail "case '$expr' did not change the config"
		line=$({ diff "$CONF" "$WORK/bad.conf" || true; } | sed -n 's/^\([0-9]*\)c.*/\1/p' | head -1)
		rc=0
		out=$(in_ns host "$BIN_DIR/agentd" -c "$WORK/bad.conf" 2>&1) || rc=$?
		[ $rc -eq 2 ] || fail "$1: '$expr': exit code $rc, want 2 ($out)"
		echo "$out" | grep "bad.conf:$line" >/dev/null || fail "$1: '$expr': no file:line ($line) in: $out"
		[ -z "$want" ] || echo "$out" | grep -F -- "$want" >/dev/null || fail "$1: '$expr': '$want' not in: $out"
		rc=0
		in_ns host "$BIN_DIR/agentd" --check-config -c "$WORK/bad.conf" >/dev/null 2>&1 || rc=$?
		[ $rc -eq 2 ] || fail "$1: --check-config '$expr': exit code $rc, want 2"
		log "  rejected: $out"
	done
}

in_ns host "$BIN_DIR/agentd" --check-config -c "$CONF" >/dev/null || fail "--check-config rejects the lab config"

before=$(host_state)
check_rejected "fresh host"
[ "$before" = "$(host_state)" ] || fail "a rejected config changed the host"
ls /var/run/dpdk/"$P" >/dev/null 2>&1 && fail "a rejected config started a dataplane"
pass "bad configs rejected on a fresh host, host unchanged"

start_agentd
wait_mode dpdk 60
before=$(host_state)
dp_pid=$(st .dataplane.pid)
check_rejected "running agentd"
[ "$before" = "$(host_state)" ] || fail "a rejected config changed the running host"
[ "$(st .dataplane.pid)" = "$dp_pid" ] || fail "the running dataplane was disturbed"
[ "$(st .mode)" = dpdk ] || fail "the running agentd left mode dpdk"
ping_ok vm1 10.10.2.2 || fail "traffic broken after rejected configs"
pass "bad configs rejected beside a running agentd, which is untouched"
