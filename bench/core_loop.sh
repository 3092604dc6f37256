#!/bin/bash
# Core loop benchmark: the dataplane's forwarding lcore alone (build/bin/
# fwd_loop: fwd.c + process.h + the FIB, the code agent-dataplane runs)
# beside DPDK's own l3fwd in LPM mode, built from Debian's dpdk-doc examples,
# on the same synthetic ports in the same run: a net_pcap port replaying
# 4096 64-byte UDP frames from memory (to random addresses in 1000 random
# /24 routes) and a net_null sink. Both forward on lcore 1 (l3fwd: its only
# lcore; fwd_loop: lcore 0 sets up and times). No kernel, no netns.
#
#   bench/core_loop.sh [SECONDS]    (root: DPDK's runtime dir; default 5)
#
# Prints packets/s and cycles/packet (TSC Hz / rate: the lcore only
# forwards) for: l3fwd-lpm; the forwarding loop with the same 1000 routes;
# with 1000 + a full table of 1M routes; and, for where the cycles go, the
# same ports read by a loop that only receives, and one that receives and
# classifies/looks up/rewrites but does not send. Asserts nothing.
set -euo pipefail
T=${1:-5}
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN_DIR:-$SRC_DIR/build/bin}
L3SRC=/usr/share/dpdk/examples/l3fwd
[ -x "$BIN/fwd_loop" ] || { echo "build first: make" >&2; exit 2; }
[ -d "$L3SRC" ] || { echo "DPDK's l3fwd source is missing: apt-get install dpdk-doc" >&2; exit 2; }
WORK=$(mktemp -d /tmp/agtcore.XXXXXX)
PREFIX=agtl3fwd$$
L3PID=
cleanup() {
	[ -n "$L3PID" ] && kill -KILL "$L3PID" 2>/dev/null
	rm -rf "$WORK" "/var/run/dpdk/$PREFIX"
}
trap cleanup EXIT

cp -r "$L3SRC" "$WORK/l3fwd"
cp -r "$L3SRC/../common" "$WORK/common" # (l3fwd includes ../common/sse/*.h)
# l3fwd asks for rx checksum offload whatever the port can do; net_pcap can
# do none (and l3fwd's LPM path does not read the flags): ask for none.
sed -i 's|^\(\t*\)\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,|\1.offloads = 0,|' "$WORK/l3fwd/main.c"
grep -q 'RTE_ETH_RX_OFFLOAD_CHECKSUM' "$WORK/l3fwd/main.c" && { echo "l3fwd source changed: cannot drop its rx offloads" >&2; exit 1; }
make -s -C "$WORK/l3fwd" >"$WORK/l3fwd-build.log" 2>&1 || { cat "$WORK/l3fwd-build.log" >&2; exit 1; }
"$BIN/fwd_loop" gen 1000 4096 "$WORK/pkts.pcap" "$WORK/rules4.cfg"
echo "R2001:db8::/32 1" >"$WORK/rules6.cfg" # (l3fwd wants at least one)

# opackets of l3fwd's port 1, through its telemetry socket
tx_packets() {
	python3 - "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(b"/ethdev/stats,1")
print(json.loads(s.recv(65536))["/ethdev/stats"]["opackets"])
EOF
}

echo "core loop, $T s per measurement, lcore 1 forwarding (TSC $(("$("$BIN/fwd_loop" tsc)" / 1000000)) MHz)"
echo "ports: net_pcap0 (infinite replay of 4096 frames, 1000 random /24s) -> net_null0 (sink)"
"$WORK/l3fwd/build/l3fwd" -l 1 --no-huge -m 1024 --no-pci --file-prefix "$PREFIX" \
	--vdev "net_pcap0,rx_pcap=$WORK/pkts.pcap,infinite_rx=1" --vdev net_null0,no-rx=1 \
	--log-level=lib.eal:error -- -p 0x3 -P --config="(0,0,1),(1,0,1)" --lookup=lpm \
	--rule_ipv4="$WORK/rules4.cfg" --rule_ipv6="$WORK/rules6.cfg" --parse-ptype \
	>"$WORK/l3fwd.log" 2>&1 &
L3PID=$!
for _ in $(seq 100); do
	[ -S "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2" ] && tx_packets >/dev/null 2>&1 && break
	kill -0 "$L3PID" 2>/dev/null || { cat "$WORK/l3fwd.log" >&2; exit 1; }
	sleep 0.2
done
sleep 1
p0=$(tx_packets)
t0=$(date +%s.%N)
sleep "$T"
p1=$(tx_packets)
t1=$(date +%s.%N)
kill -INT "$L3PID"
wait "$L3PID" 2>/dev/null || true
L3PID=
l3_pps=$(awk -v a="$p0" -v b="$p1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
tsc_hz=$("$BIN/fwd_loop" tsc)
printf '  %-44s %10.0f pps  %6.0f cycles/packet\n' "l3fwd --lookup=lpm, same 1000 routes" "$l3_pps" \
	"$(awk -v h="$tsc_hz" -v p="$l3_pps" 'BEGIN { printf "%.0f", (p > 0 ? h / p : 0) }')"

echo "forwarding lcore, the same 1000 routes:"
"$BIN/fwd_loop" run "$WORK/rules4.cfg" "$WORK/pkts.pcap" "$T" 0 | tee "$WORK/ours.txt"
echo "forwarding lcore, the same 1000 routes in a full table (+1M routes):"
"$BIN/fwd_loop" run "$WORK/rules4.cfg" "$WORK/pkts.pcap" "$T" 1000000 | tee "$WORK/ours1m.txt"
ours=$(awk '/forwarding loop/ { print $(NF - 3) }' "$WORK/ours.txt")
ours1m=$(awk '/forwarding loop/ { print $(NF - 3) }' "$WORK/ours1m.txt")
awk -v a="$ours" -v b="$l3_pps" -v c="$ours1m" 'BEGIN {
	printf "ratio forwarding loop / l3fwd-lpm: %.2f (1000 routes), %.2f (1M routes)\n", a / b, c / b }'
