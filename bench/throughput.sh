#!/bin/bash
# Throughput of the split topology vs plain kernel routing, side by side in
# one run on the same netns lab (prefix "agtthru"; build first with `make`).
#
#   bench/throughput.sh [SECONDS]     (root; SECONDS per measurement, default 5)
#
# Measures, with the fast path over each exception port type that works here
# (af_xdp on a veth pair, then the TAP PMD: agentd restarted between them)
# and then with agentd forced to the kernel path (`agentctl mode kernel`: the
# same lab, offloads and addresses, only the forwarding differs): iperf3 TCP
# vm1 -> remote and remote -> vm1, 1 and 4 streams, and UDP 64-byte
# datagrams vm1 -> remote (packets/s received). Also prints how many packets
# the kernel forwarded in each mode (IpForwDatagrams). Threads: the
# dataplane's forwarding lcore on CPU 1 and its main lcore on CPU 0 (lab
# config lcores "0-1"); iperf3, the kernel's softirqs and agentd unpinned.
# Prints numbers and ratios; asserts nothing (these machines are noisy).
set -euo pipefail
T=${1:-5}
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC_DIR/tests/scenario/lib.sh"
bench_init agtthru
EXC_TYPES=${EXC_TYPES:-af_xdp tap}
set_exc() { sed -i -e "s|^\(\s*\)type = \"[a-z_-]*\";|\1type = \"$1\";|" "$CONF"; }
set_exc "${EXC_TYPES%% *}"
start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
ping_ok rvm 10.10.1.11 || fail "the remote VM cannot reach vm1"

tcp() { # args...: Gb/s received
	local port=$((5300 + RANDOM % 500))
	in_ns rvm iperf3 -s -D -1 -p $port
	sleep 0.3
	in_ns vm1 iperf3 -c 10.10.2.2 -p $port -t "$T" -J "$@" |
		jq '.end.sum_received.bits_per_second / 1e9'
}
udp_pps() {
	local port=$((5300 + RANDOM % 500))
	in_ns rvm iperf3 -s -D -1 -p $port
	sleep 0.3
	in_ns vm1 iperf3 -c 10.10.2.2 -p $port -u -b 0 -l 64 -t "$T" -J |
		jq '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds'
}
# 64-byte frames from trafgen (netsniff-ng; `make bench-deps`): one worker
# pinned to CPU 0, away from the forwarding lcore on CPU 1, so that the
# generator is not what limits the rate (iperf3's UDP sender is: kernel
# routing moved ~120 kpps with it). Received at the remote VM's eth0.
TRAFGEN=$(command -v trafgen || true)
trafgen_conf() { # dst MAC -> $WORK/tg.cfg: UDP vm1 -> remote VM, source ports cycling
	cat >"$WORK/tg.cfg" <<EOC
{
  eth(da=$1, sa=$(in_ns vm1 cat /sys/class/net/eth0/address), type=0x0800),
  ipv4(saddr=10.10.1.11, daddr=10.10.2.2, ttl=64, proto=17),
  udp(sport=dinc(1024, 65000, 1), dport=9),
  fill(0x00, 18)
}
EOC
}
rx_count() { in_ns "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }
# packets/s received at NS/IF while trafgen sends from vm1's IF for T s
trafgen_pps() { # sender-if ns if
	local r0 r1
	r0=$(rx_count "$2" "$3")
	in_ns vm1 timeout "$T" taskset -c 0 "$TRAFGEN" --cpus 1 --dev "$1" --conf "$WORK/tg.cfg" \
		--num 0 >/dev/null 2>&1 || true
	sleep 0.5
	r1=$(rx_count "$2" "$3")
	awk -v a="$r0" -v b="$r1" -v t="$T" 'BEGIN { printf "%.0f", (b - a) / t }'
}
if [ -n "$TRAFGEN" ]; then
	# the generator alone, into a sink: a veth pair in vm1 whose far end
	# drops what it gets (another host's MAC), the same CPU
	in_ns vm1 ip link add tgsink0 type veth peer name tgsink1
	in_ns vm1 ip link set tgsink0 up
	in_ns vm1 ip link set tgsink1 up
	trafgen_conf 02:00:00:00:00:99
	sed -i "s/sa=[0-9a-f:]*/sa=$(in_ns vm1 cat /sys/class/net/tgsink0/address)/" "$WORK/tg.cfg"
	gen_alone=$(trafgen_pps tgsink0 vm1 tgsink1)
	in_ns vm1 ip link del tgsink0
	trafgen_conf "$(in_ns host cat /sys/class/net/br-vm/address)"
fi
measure() { # label
	local k0 k1
	k0=$(kernel_fwd)
	up=$(tcp)
	up4=$(tcp -P 4)
	down=$(tcp -R)
	down4=$(tcp -R -P 4)
	pps=$(udp_pps)
	tg=0
	[ -n "$TRAFGEN" ] && tg=$(trafgen_pps eth0 rvm eth0)
	k1=$(kernel_fwd)
	printf '%-14s TCP vm->wire %6.2f Gb/s (4 streams %6.2f)  wire->vm %6.2f Gb/s (4 streams %6.2f)  UDP 64B iperf3 %8.0f pps, trafgen %8.0f pps  kernel forwarded %d packets\n' \
		"$1" "$up" "$up4" "$down" "$down4" "$pps" "$tg" $((k1 - k0))
	eval "${1}_up=$up ${1}_up4=$up4 ${1}_down=$down ${1}_down4=$down4 ${1}_pps=$pps ${1}_tg=$tg"
}

echo "throughput, $T s per measurement, lab $P (NIC af_xdp on a veth; exception port as labelled)"
echo "threads: forwarding lcore CPU 1, dataplane main lcore CPU 0, trafgen 1 worker on CPU 0, iperf3/softirqs/agentd unpinned"
if [ -n "$TRAFGEN" ]; then
	echo "trafgen alone into a veth sink: $gen_alone pps"
else
	echo "(no trafgen: \`make bench-deps\` for the 64 B column that is not generator-bound)"
fi
first=1
for t in $EXC_TYPES; do
	if [ $first = 0 ]; then
		stop_agentd >/dev/null || fail "agentd did not stop"
		set_exc "$t"
		start_fast
		ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM ($t)"
	fi
	first=0
	[ "$(st .exception.type)" = "$t" ] || fail "exception type $(st .exception.type), want $t"
	measure "dpdk_$t"
done
agentctl mode kernel >/dev/null
wait_mode kernel 10
sleep 1
measure kernel
for t in $EXC_TYPES; do
	u=dpdk_${t}_up u4=dpdk_${t}_up4 d=dpdk_${t}_down d4=dpdk_${t}_down4 p=dpdk_${t}_pps
	awk -v t="$t" -v a="${!u}" -v a4="${!u4}" -v c="${!d}" -v c4="${!d4}" -v e="${!p}" \
		-v b="$kernel_up" -v b4="$kernel_up4" -v d="$kernel_down" -v d4="$kernel_down4" -v f="$kernel_pps" 'BEGIN {
		printf "ratio dpdk(%s)/kernel: TCP vm->wire %.2f (4 streams %.2f), wire->vm %.2f (4 streams %.2f), UDP 64B pps %.2f (iperf3)",
			t, a / b, a4 / b4, c / d, c4 / d4, e / f }'
	g=dpdk_${t}_tg
	awk -v g="${!g}" -v k="$kernel_tg" 'BEGIN { if (k > 0) printf ", %.2f (trafgen)", g / k; print "" }'
done
[ -n "$TRAFGEN" ] && awk -v a="$gen_alone" -v k="$kernel_tg" -v t="$(eval echo "\$dpdk_${EXC_TYPES%% *}_tg")" 'BEGIN {
	printf "generator headroom: trafgen alone %.1fx the kernel-routed rate, %.1fx the fast path (%s)\n", a / k, a / t, "'"${EXC_TYPES%% *}"'" }'
true
