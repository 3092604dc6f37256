#!/bin/bash
# FIB scale benchmark on the netns lab (prefix "agtfibs"; build first with
# `make`):
#
#   bench/fib_scale.sh [V4_ROUTES [V6_ROUTES [CHANGES]]]
#       (root; defaults 1000000 200000 100)
#
# 1. V4_ROUTES IPv4 routes with an Internet-like prefix-length mix and
#    V6_ROUTES IPv6 routes are added to the host's kernel with `ip -batch`;
#    prints how long ip took, and how long after it the dataplane's FIB held
#    all of them; the dataplane's FIB memory and RSS; the CPU seconds agentd
#    and the dataplane used meanwhile; `agentctl status` latency during the
#    burst. Then the same for the delete.
# 2. Route change -> forwarding on the new route, measured by traffic: a
#    10 kpps UDP stream from vm1 to 11.99.0.1, whose /24 is switched between
#    two next hops with different MACs (the wire's eth0 and a macvlan on it);
#    the time from `ip route replace` to the first packet captured on the new
#    next hop, CHANGES times, in mode dpdk and then in mode kernel.
# Prints numbers; asserts nothing (these machines are noisy). Every thread:
# the dataplane's forwarding lcore and main lcore per the lab config
# (dataplane.lcores), agentd, ip and the generator unpinned.
set -euo pipefail
N4=${1:-1000000}
N6=${2:-200000}
CHANGES=${3:-100}
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC_DIR/tests/scenario/lib.sh"
bench_init agtfibs
# the lab config sizes IPv6 for 64k routes (failover time): room for N6
sed -i -e "s/lpm6_rules = [0-9]*;/lpm6_rules = $(((N6 + 65535) / 65536 * 65536 + 65536));/" "$CONF"
start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"

dp_pid() { pgrep -f -- "--file-prefix $P " | head -1; }
cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
DP=$(dp_pid)
echo "FIB scale, lab $P: dataplane pid $DP ($(grep -o 'lcores = "[^"]*"' "$CONF")), agentd pid $AGENTD_PID"
echo "  empty: dataplane RSS $(rss_mb "$DP") MiB, FIB tables $(($(st .fib.mem_bytes) / 1048576)) MiB (preallocated for $(grep -o 'lpm_rules = [0-9]*' "$CONF"), $(grep -o 'lpm6_rules = [0-9]*' "$CONF"))"

R4_0=$(st .fib.routes4)
R6_0=$(st .fib.routes6)
add=$WORK/add.batch
del=$WORK/del.batch
# IPv4: ~60 % /24, 10 % /23, 12 % /22, 15 % /16-/21, 2 % /9-/15, 1 % /25-/32;
# IPv6: ~50 % /48, 20 % /32, 20 % /36-/47, 10 % others; unique prefixes.
awk -v n4="$N4" -v n6="$N6" 'BEGIN {
	srand(7)
	while (c4 < n4) {
		r = rand() * 100
		len = r < 60 ? 24 : r < 70 ? 23 : r < 82 ? 22 : r < 97 ? 16 + int(rand() * 6) : r < 99 ? 9 + int(rand() * 7) : 25 + int(rand() * 8)
		ip = 16777216 + int(rand() * 3741319168)	# 1.0.0.0 - 223.255.255.255
		if (ip >= 167772160 && ip < 184549376) continue	# not 10/8 (the lab)
		if (ip >= 3232235520 && ip < 3232301056) continue	# nor 192.168/16
		m = 2 ^ (32 - len); ip = int(ip / m) * m
		k = ip "/" len
		if (k in seen) continue
		seen[k] = 1; c4++
		printf "route add %d.%d.%d.%d/%d via 192.168.100.2 proto bgp\n", int(ip / 16777216), int(ip / 65536) % 256, int(ip / 256) % 256, ip % 256, len
	}
	while (c6 < n6) {
		r = rand() * 100
		len = r < 50 ? 48 : r < 70 ? 32 : r < 90 ? 36 + int(rand() * 12) : 29 + int(rand() * 3)
		# 30000 holders (a /32 each) under 4 RIR blocks; their more
		# specifics in two /40 "sites" each, as allocations cluster
		h = int(rand() * 30000)
		w1 = sprintf("2%x00", (h % 4) * 4); w2 = int(h / 4) * 8
		w3 = int(rand() * 2) * 256 + int(rand() * 256)
		if (len < 32) { w2 = int(w2 / 2 ^ (32 - len)) * 2 ^ (32 - len); w3 = 0 }
		else if (len == 32) w3 = 0
		else if (len < 48) w3 = int(w3 / 2 ^ (48 - len)) * 2 ^ (48 - len)
		k = w1 ":" w2 ":" w3 "/" len
		if (k in seen) continue
		seen[k] = 1; c6++
		printf "route add %s:%x:%x::/%d via fd00:100::2 proto bgp\n", w1, w2, w3, len
	}
}' >"$add"
sed -e 's/^route add/route del/' "$add" >"$del"

# Wait for the dataplane to hold R4 + R6 routes and trust its FIB; meanwhile
# time `agentctl status` (worst seen).
STATUS_MAX=0
wait_fib() { # r4 r6
	local r4 r6 bad t0 t1 ms
	for _ in $(seq 6000); do
		t0=$(now)
		read -r r4 r6 bad < <(st '"\(.fib.routes4) \(.fib.routes6) \(.fib.behind + .fib.full)"')
		t1=$(now)
		ms=$(ms_between "$t0" "$t1")
		[ "$ms" -gt "$STATUS_MAX" ] && STATUS_MAX=$ms
		[ "$r4" = "$1" ] && [ "$r6" = "$2" ] && [ "$bad" = 0 ] && return 0
		sleep 0.05
	done
	fail "the dataplane holds $r4 + $r6 routes (behind/full $bad), want $1 + $2"
}
burst() { # what batch r4 r6
	local c_dp c_ag t0 t1 t2 o0 rf0
	c_dp=$(cpu_s "$DP")
	c_ag=$(cpu_s "$AGENTD_PID")
	o0=$(st .fib.netlink_overruns)
	rf0=$(st .fib.resyncs)
	STATUS_MAX=0
	t0=$(now)
	in_ns host ip -batch "$2" || fail "ip -batch"
	t1=$(now)
	wait_fib "$3" "$4"
	t2=$(now)
	printf '  %s %d IPv4 + %d IPv6 routes: ip -batch %.2f s; dataplane complete %.2f s after ip returned (%.2f s from the start)\n' \
		"$1" "$N4" "$N6" "$(fcalc "$t1 - $t0")" "$(fcalc "$t2 - $t1")" "$(fcalc "$t2 - $t0")"
	printf '      CPU: dataplane %.2f s, agentd %.2f s; netlink overruns %d, resyncs %d; agentctl status worst %d ms\n' \
		"$(fcalc "$(cpu_s "$DP") - $c_dp")" "$(fcalc "$(cpu_s "$AGENTD_PID") - $c_ag")" \
		$(($(st .fib.netlink_overruns) - o0)) $(($(st .fib.resyncs) - rf0)) "$STATUS_MAX"
	printf '      dataplane RSS %d MiB, FIB memory %d MiB, agentd RSS %d MiB\n' \
		"$(rss_mb "$DP")" $(($(st .fib.mem_bytes) / 1048576)) "$(rss_mb "$AGENTD_PID")"
}
burst add "$add" $((R4_0 + N4)) $((R6_0 + N6))
burst delete "$del" "$R4_0" "$R6_0"

# ---- route change -> first packet on the new next hop ----
in_ns wire ip link add mv0 link eth0 type macvlan mode bridge
in_ns wire ip addr add 192.168.100.3/24 dev mv0
in_ns wire ip link set mv0 up
in_ns wire sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
in_ns wire ip addr add 11.99.0.1/32 dev lo
in_ns host ping -c 1 -W 2 192.168.100.3 >/dev/null || fail "no second next hop"
in_ns host ping -c 1 -W 2 192.168.100.2 >/dev/null || fail "no first next hop"
in_ns host ip route add 11.99.0.0/24 via 192.168.100.2 proto bgp

# Route changes go through one long-lived `ip -batch` reading a FIFO, so
# that the time measured starts when the change is asked for, not when an
# ip process has started.
mkfifo "$WORK/ipfifo"
in_ns host ip -force -batch "$WORK/ipfifo" >/dev/null 2>&1 &
IP_BATCH=$!
exec 7>"$WORK/ipfifo"
extra_cleanup() { exec 7>&- 2>/dev/null; kill "$IP_BATCH" 2>/dev/null || true; }

change_latency() { # mode: prints p50 p99 max in ms
	local out=$WORK/lat.$1 gw dev t0 first i
	: >"$out"
	udpseq_send vm1 11.99.0.1 9999 10000 $((CHANGES / 2 + 30)) "$WORK/send.json"
	sleep 1
	for i in $(seq "$CHANGES"); do
		if [ $((i % 2)) = 1 ]; then gw=192.168.100.3 dev=mv0; else gw=192.168.100.2 dev=eth0; fi
		# first frame for 11.99.0.1 carrying the new next hop's MAC
		rm -f "$WORK/cap"
		in_ns wire timeout 5 tcpdump -i "$dev" -c 1 -n -tt --time-stamp-precision=nano \
			"udp and dst host 11.99.0.1 and ether dst $(in_ns wire cat /sys/class/net/$dev/address)" \
			>"$WORK/cap" 2>/dev/null &
		local cap=$!
		sleep 0.15 # tcpdump attached
		t0=$(now)
		echo "route replace 11.99.0.0/24 via $gw proto bgp" >&7
		wait $cap || true
		first=$(awk 'NR == 1 { print $1 }' "$WORK/cap")
		[ -n "$first" ] && echo "$(ms_between "$t0" "$first")" >>"$out"
		[ -n "${DEBUG:-}" ] && { echo "t0 $t0 cap: $(cat "$WORK/cap")" >&2; }
		sleep 0.1
	done
	udpseq_wait
	sort -n "$out" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "no samples"; exit }
		printf "p50 %d ms, p99 %d ms, max %d ms (%d changes)", v[int(NR * 0.5) + (NR * 0.5 > int(NR * 0.5))], v[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))], v[NR], NR }'
}
UDPSEQ_PIDS=()
printf '  route change -> first packet on the new next hop, mode dpdk:   %s\n' "$(change_latency dpdk)"
agentctl mode kernel >/dev/null
wait_mode kernel 10
sleep 1
printf '  route change -> first packet on the new next hop, mode kernel: %s\n' "$(change_latency kernel)"
