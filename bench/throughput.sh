#!/bin/bash
# Throughput of the split topology vs plain kernel routing, side by side in
# one run on the same netns lab (prefix "agtthru"; build first with `make`).
#
#   bench/throughput.sh [SECONDS]     (root; SECONDS per measurement, default 5)
#
# Measures, with the fast path (mode dpdk) and then with agentd forced to the
# kernel path (`agentctl mode kernel`: the same lab, offloads and addresses,
# only the forwarding differs): iperf3 TCP vm1 -> remote and remote -> vm1,
# and UDP 64-byte datagrams vm1 -> remote (packets/s received). Also prints
# how many packets the kernel forwarded in each mode (IpForwDatagrams).
# Prints numbers and ratios; asserts nothing (these machines are noisy).
set -euo pipefail
T=${1:-5}
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC_DIR/tests/scenario/lib.sh"
bench_init agtthru
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
measure() { # mode
	local k0 k1
	k0=$(kernel_fwd)
	up=$(tcp)
	down=$(tcp -R)
	pps=$(udp_pps)
	k1=$(kernel_fwd)
	printf '%-8s  TCP vm->wire %6.2f Gb/s  wire->vm %6.2f Gb/s  UDP 64B %9.0f pps  kernel forwarded %d packets\n' \
		"$1" "$up" "$down" "$pps" $((k1 - k0))
	eval "${1}_up=$up ${1}_down=$down ${1}_pps=$pps"
}

echo "throughput, $T s per measurement, lab $P (NIC af_xdp, exception TAP)"
measure dpdk
agentctl mode kernel >/dev/null
wait_mode kernel 10
sleep 1
measure kernel
awk -v a="$dpdk_up" -v b="$kernel_up" -v c="$dpdk_down" -v d="$kernel_down" \
	-v e="$dpdk_pps" -v f="$kernel_pps" 'BEGIN {
	printf "ratio dpdk/kernel: TCP vm->wire %.2f, wire->vm %.2f, UDP pps %.2f\n",
		a / b, c / d, e / f }'
