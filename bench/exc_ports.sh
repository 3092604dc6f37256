#!/bin/bash
# Exception port types side by side: iperf3 TCP through the fast path (VM ->
# wire and wire -> VM) with agentd running each exception port type in
# turn, on the same bed in one run, and the ratios. On the netns lab the
# types are af_xdp and tap; in the TCG guest (where /dev/vhost-net exists)
# virtio-user and tap:
#
#   bench/exc_ports.sh [TYPE...]                                    (netns lab, root)
#   tests/guest/run-guest.sh IMAGE bench/exc_ports.sh               (the guest bed)
#   env: SECONDS_PER_RUN (iperf3 -t, default 8), RUNS (per type and
#        direction, default 3: the median is reported)
#
# The VM's TCP reaches DPDK through the exception port (eBPF steers it to
# dp0), so this is where the port type matters: virtio-user over vhost-net
# carries the kernel's checksum and TSO offloads (64 KiB super-packets, one
# routing decision each), the TAP PMD and af_xdp carry 1500-byte frames the
# kernel segmented and checksummed first. Where threads run: the
# dataplane's forwarding lcore on CPU 1 (lab config, lcores 0-1), agentd,
# iperf3 client and server and the kernel's softirqs unpinned on both CPUs
# (a guest has 2 vCPUs; under TCG its numbers are for ratios only). The
# offload counters of each run are printed with it. Numbers are printed,
# never asserted.
set -euo pipefail
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
export SRC_DIR
T=${SECONDS_PER_RUN:-8}
RUNS=${RUNS:-3}
if [ $# -gt 0 ]; then
	TYPES=("$@")
elif [ "${AGT_BED:-netns}" = guest ]; then
	TYPES=(virtio-user tap)
else
	TYPES=(af_xdp tap)
fi
OUT=$(mktemp /tmp/exc_ports.XXXXXX)
trap 'rm -f "$OUT"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for xtype in "${TYPES[@]}"; do
	# one lab per type, in a subshell: lib.sh's trap tears it down
	(
		export AGT_EXC_TYPE=$xtype
		# shellcheck source=../tests/scenario/lib.sh
		. "$SRC_DIR/tests/scenario/lib.sh"
		scenario_init excport
		start_fast
		[ "$(st .exception.type)" = "$xtype" ] || fail "exception type $(st .exception.type), want $xtype"
		ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
		ping_ok rvm 10.10.1.11 || fail "the remote VM cannot reach vm1"
		log "$xtype: rx offloads $(st .exception.dpdk.rx_offloads), tx offloads $(st .exception.dpdk.tx_offloads)"
		for dir in up down; do
			for r in $(seq "$RUNS"); do
				port=$((5200 + RANDOM % 500))
				in_ns rvm iperf3 -s -D -1 -p $port --logfile "$WORK/s.log"
				sleep 0.3
				args=(-c 10.10.2.2 -p $port -t "$T" -J)
				[ $dir = down ] && args+=(-R)
				in_ns vm1 iperf3 "${args[@]}" >"$WORK/c.json" || fail "iperf3 $xtype $dir failed"
				bps=$(jq '.end.sum_received.bits_per_second' "$WORK/c.json")
				echo "$xtype $dir $bps $(jq '.end.sum_sent.retransmits // 0' "$WORK/c.json")" >>"$OUT"
				log "$xtype $dir run $r: $(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }') Gb/s"
			done
		done
		log "$xtype offload counters: tso to the NIC $(fwd offload_tso_hw), cut here $(fwd offload_tso_sw) into $(fwd offload_tso_sw_segs) frames, checksums here $(fwd offload_csum_sw), by the NIC $(fwd offload_csum_hw), dropped $(fwd drop_offload)"
		finish
	)
done

echo
echo "exception port types, iperf3 TCP through the fast path (median of $RUNS x ${T}s, bed ${AGT_BED:-netns}):"
printf '%-12s %12s %12s %10s\n' type "VM->wire" "wire->VM" "retrans"
for xtype in "${TYPES[@]}"; do
	up=$(awk -v t="$xtype" '$1 == t && $2 == "up" { print $3 }' "$OUT" | median)
	down=$(awk -v t="$xtype" '$1 == t && $2 == "down" { print $3 }' "$OUT" | median)
	rt=$(awk -v t="$xtype" '$1 == t { n += $4 } END { print n + 0 }' "$OUT")
	printf '%-12s %10.3f Gb/s %8.3f Gb/s %8d\n' "$xtype" "$(awk -v b="$up" 'BEGIN { print b / 1e9 }')" \
		"$(awk -v b="$down" 'BEGIN { print b / 1e9 }')" "$rt"
	echo "$xtype $up $down" >>"$OUT.sum"
done
if [ "${#TYPES[@]}" -ge 2 ]; then
	read -r a aup adown < <(sed -n 1p "$OUT.sum")
	read -r b bup bdown < <(sed -n 2p "$OUT.sum")
	echo "ratio $a/$b: VM->wire $(awk -v x="$aup" -v y="$bup" 'BEGIN { printf "%.2f", x / y }')x, wire->VM $(awk -v x="$adown" -v y="$bdown" 'BEGIN { printf "%.2f", x / y }')x"
fi
rm -f "$OUT.sum"
