#!/bin/bash
# Scenario: a burst of 100k IPv4 + 10k IPv6 routes added, then deleted, with
# the dataplane's netlink buffer shrunk so that events are lost (overruns).
# After each burst the dataplane FIB must equal the kernel's main table,
# prefix for prefix: nothing missing, nothing stale — and a deleted prefix
# is never forwarded by DPDK.
. "$(dirname "$0")/lib.sh"
scenario_init fibburst

N4=${FIB_BURST_V4:-100000}
N6=${FIB_BURST_V6:-10000}
# (seconds the dataplane may take to hold a whole burst: 1M routes need more)
WAIT_S=$((180 + N4 / 2000))
# 4 KiB (8 in the kernel): a handful of events. With a CPU-bound loop
# sharing the dataplane's main lcore CPU during the bursts (it then runs in
# slices of a few ms), every burst overruns it; a dataplane that happened to
# keep up would leave the recovery untested.
sed -i -e 's/^fib: {/fib: {\n\tnetlink_rcvbuf = 4096;/' "$CONF"
grep -q 'netlink_rcvbuf = 4096;' "$CONF" || fail "config template changed: fib section"
HOG=
hog_start() { # on the main lcore's CPU (the first of dataplane.lcores)
	taskset -c 0 timeout 120 bash -c 'while :; do :; done' &
	HOG=$!
}
hog_stop() {
	[ -n "$HOG" ] || return 0
	kill "$HOG" 2>/dev/null || true
	wait "$HOG" 2>/dev/null || true
	HOG=
}
extra_cleanup() { hog_stop; }
# This test is about the FIB, not hang detection: on a 2-CPU machine that
# runs anything else busy-polling, the forwarding lcore can be starved for
# a few hundred ms during the burst (docs/performance.md), which the
# default 300 ms would take for a hang and fail over.
sed -i -e 's/heartbeat_misses = [0-9]*;/heartbeat_misses = 50;/' "$CONF"
grep -q 'heartbeat_misses = 50;' "$CONF" || fail "config template changed: heartbeat_misses"
start_fast

# A remote address inside the burst's first prefix, so a burst route carries
# real traffic.
in_ns wire ip addr add 11.0.0.1/32 dev lo

# The kernel's main table, one normalised prefix per line.
kernel_prefixes() {
	{
		in_ns host ip -4 -j route show table main | jq -r '.[].dst'
		in_ns host ip -6 -j route show table main | jq -r '.[] | select(.type != "multicast") | .dst'
	} | awk '$0 == "default" { print "default"; next }
		!/\// { print $0 (index($0, ":") ? "/128" : "/32"); next } { print }' |
		sed -e 's|^0\.0\.0\.0/0$|default|' -e 's|^::/0$|default6|' | sort -u
}
# The dataplane's FIB, the same way (agentctl routes pages through all of it).
dataplane_prefixes() {
	agentctl routes --json | jq -r '.[] | select(.table == 254 or .table == null) | .dst' |
		sed -e 's|^0\.0\.0\.0/0$|default|' -e 's|^::/0$|default6|' | sort -u
}
compare_fib() { # what
	local k=$WORK/kernel.txt d=$WORK/dataplane.txt
	kernel_prefixes >"$k"
	dataplane_prefixes >"$d"
	if ! cmp -s "$k" "$d"; then
		log "kernel: $(wc -l <"$k") prefixes, dataplane: $(wc -l <"$d")"
		log "only in the kernel: $(comm -23 "$k" "$d" | head -5 | tr '\n' ' ')"
		log "only in the dataplane (stale): $(comm -13 "$k" "$d" | head -5 | tr '\n' ' ')"
		fail "$1: the dataplane FIB differs from the kernel's"
	fi
	log "$1: dataplane FIB = kernel main table ($(wc -l <"$k") prefixes)"
}
# Wait until the dataplane holds R4 IPv4 and R6 IPv6 routes and trusts its
# FIB (not behind, not full); prints the seconds it took.
wait_routes() { # r4 r6 timeout_s
	local t0 t r4 r6 behind
	t0=$(now)
	while :; do
		read -r r4 r6 behind < <(st '"\(.fib.routes4) \(.fib.routes6) \(.fib.behind + .fib.full)"')
		[ "$r4" = "$1" ] && [ "$r6" = "$2" ] && [ "$behind" = 0 ] && break
		t=$(now)
		[ "$(ms_between "$t0" "$t")" -lt $(($3 * 1000)) ] ||
			fail "the dataplane holds $r4 + $r6 routes (behind/full $behind), want $1 + $2 after $3 s"
		sleep 0.2
	done
	ms_between "$t0" "$(now)"
}

R4_0=$(st .fib.routes4)
R6_0=$(st .fib.routes6)
O0=$(st .fib.netlink_overruns)
compare_fib "before the burst"

batch_add=$WORK/add.batch
batch_del=$WORK/del.batch
awk -v n4="$N4" -v n6="$N6" 'BEGIN {
	for (i = 0; i < n4; i++) {
		if (i % 20 == 19) {	# 5 % host routes, a few /24s holding them
			j = int(i / 20)
			printf "route add 12.%d.%d.%d/32 via 192.168.100.2 proto bgp\n", 250 + int(j / 62500), int(j / 250) % 250, j % 250 + 1
		} else
			printf "route add %d.%d.%d.0/24 via 192.168.100.2 proto bgp\n", 11 + int(i / 65536), int(i / 256) % 256, i % 256
	}
	for (i = 0; i < n6; i++)
		printf "route add 2001:db8:%x:%x::/64 via fd00:100::2 proto bgp\n", int(i / 65536), i % 65536
}' >"$batch_add"
sed -e 's/^route add/route del/' "$batch_add" >"$batch_del"

hog_start
t0=$(now)
in_ns host ip -batch "$batch_add" || fail "ip -batch add"
t_kernel=$(ms_between "$t0" "$(now)")
hog_stop
want4=$(in_ns host ip -4 route show table main | wc -l)
want6=$(in_ns host ip -6 route show table main | grep -vc '^multicast' || true)
ms=$(wait_routes "$((R4_0 + N4))" "$((R6_0 + N6))" "$WAIT_S")
log "add: ip -batch took ${t_kernel} ms; the dataplane had all routes ${ms} ms after it returned"
O1=$(st .fib.netlink_overruns)
[ "$O1" -gt "$O0" ] || fail "no netlink overrun during the burst: the test did not exercise the recovery"
log "overruns during the add burst: $((O1 - O0)), resync failures: $(st .fib.netlink_resync_failures)"
compare_fib "after the add burst"

# A burst route carries traffic on the fast path.
ping_ok vm1 11.0.0.1 1 || true # the first packet may find the neighbour unresolved
v0=$(fwd fast_vm_to_wire)
in_ns vm1 ping -c 10 -i 0.05 -q 11.0.0.1 >/dev/null || fail "vm1 cannot reach 11.0.0.1 through a burst route"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge 10 ] || fail "traffic to a burst route was not forwarded by DPDK"
pass "$N4 + $N6-route burst mirrored exactly, through overruns, and used by the fast path"

hog_start
t0=$(now)
in_ns host ip -batch "$batch_del" || fail "ip -batch del"
t_kernel=$(ms_between "$t0" "$(now)")
hog_stop
ms=$(wait_routes "$R4_0" "$R6_0" "$WAIT_S")
log "delete: ip -batch took ${t_kernel} ms; the dataplane was back to the baseline ${ms} ms after it"
O2=$(st .fib.netlink_overruns)
[ "$O2" -gt "$O1" ] || fail "no netlink overrun during the delete burst"
compare_fib "after the delete burst"

# The deleted prefix is not forwarded by DPDK: the kernel has no route.
v0=$(fwd fast_vm_to_wire)
in_ns vm1 ping -c 3 -i 0.1 -W 1 -q 11.0.0.1 >/dev/null 2>&1 && fail "11.0.0.1 still reachable after its route was deleted"
[ "$(fwd fast_vm_to_wire)" -eq "$v0" ] || fail "DPDK forwarded traffic for a deleted prefix"
pass "$N4 + $N6-route delete burst: no stale route, nothing forwarded to a deleted prefix"

finish
