#!/bin/bash
# Scenario: adaptive polling. An idle dataplane gives its core back (the
# forwarding lcore sleeps when every queue is empty: fwd.c), the first
# packets after a quiet spell are forwarded on the fast path, and traffic
# keeps it awake; with dataplane.idle_sleep_max_us = 0 it never sleeps (busy
# polling). Prints the CPU share of agentd and the dataplane while idle
# (docs/performance.md, "Idle cost"); asserts only what sleeping must
# change: well under half a core where busy polling takes a whole one.
. "$(dirname "$0")/lib.sh"
scenario_init idle_polling

dp_pid() { pgrep -f -- "--file-prefix $P " | head -1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# CPU share (%) of pid $1 over $2 seconds
cpu_pct() {
	local t0 t1 hz
	hz=$(getconf CLK_TCK)
	t0=$(ticks "$1")
	sleep "$2"
	t1=$(ticks "$1")
	awk -v a="$t0" -v b="$t1" -v s="$2" -v hz="$hz" 'BEGIN { printf "%d", (b - a) * 100 / hz / s + 0.5 }'
}

start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
DP=$(dp_pid)
[ -n "$DP" ] || fail "no dataplane process"

# Idle: nothing but ARP/ND refreshes and the mirror's own traffic.
sleep 1
s0=$(st .forwarding.idle_sleeps)
dp_cpu=$(cpu_pct "$DP" 3)
ag_cpu=$(cpu_pct "$AGENTD_PID" 3)
s1=$(st .forwarding.idle_sleeps)
log "idle: dataplane ${dp_cpu} % of a core, agentd ${ag_cpu} %, $((s1 - s0)) lcore sleeps in 6 s"
[ $((s1 - s0)) -gt 1000 ] || fail "the forwarding lcore slept $((s1 - s0)) times in 6 s while idle"
[ "$dp_cpu" -lt 50 ] || fail "an idle dataplane took ${dp_cpu} % of a core with adaptive polling"
agentctl status | grep -q 'forwarding lcore: adaptive polling, slept' ||
	fail "agentctl status does not show the lcore's sleeps"
pass "idle: the dataplane took ${dp_cpu} % of a core (agentd ${ag_cpu} %)"

# Woken by traffic: the first packets after a quiet spell are forwarded by
# DPDK, none lost; a steady stream keeps the lcore from sleeping.
f0=$(fwd fast_vm_to_wire)
in_ns vm1 ping -c 50 -i 0.01 -q 10.10.2.2 >"$WORK/ping.txt" || fail "pings after idle lost: $(tail -2 "$WORK/ping.txt")"
f1=$(fwd fast_vm_to_wire)
[ $((f1 - f0)) -ge 50 ] || fail "only $((f1 - f0)) of 50 pings forwarded by DPDK after idle"
log "ping after idle: $(tail -1 "$WORK/ping.txt")"
in_ns rvm iperf3 -s -D -1 -p 5211 --logfile "$WORK/iperf-s.log"
sleep 0.5
s0=$(st .forwarding.idle_sleeps)
in_ns vm1 iperf3 -c 10.10.2.2 -p 5211 -t 2 -J >"$WORK/iperf.json" || fail "iperf3 failed"
s1=$(st .forwarding.idle_sleeps)
bps=$(jq '.end.sum_received.bits_per_second' "$WORK/iperf.json")
log "under TCP load: $((s1 - s0)) sleeps around a 2 s iperf3 run at $(awk -v b="$bps" 'BEGIN{printf "%.2f", b/1e9}') Gb/s"
pass "traffic after idle forwarded on the fast path"

# Busy polling when configured: never sleeps.
stop_agentd || fail "agentd did not stop cleanly"
sed -i -e 's/^\(\s*\)burst = \([0-9]*\);/\1burst = \2;\n\1idle_sleep_max_us = 0;/' "$CONF"
grep -q 'idle_sleep_max_us = 0;' "$CONF" || fail "could not set idle_sleep_max_us in $CONF"
start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM with busy polling"
DP=$(dp_pid)
sleep 1
busy_cpu=$(cpu_pct "$DP" 2)
[ "$(st .forwarding.idle_sleeps)" = 0 ] || fail "the lcore slept with idle_sleep_max_us = 0"
log "busy polling: an idle dataplane takes ${busy_cpu} % of a core"
pass "idle_sleep_max_us = 0: busy polling, no sleeps"

finish
