#!/bin/bash
# Where the cycles go on each path of the lab (prefix "agtprof"; build first
# with `make`, and `make bench-deps` for trafgen; needs perf: linux-perf).
#
#   bench/profile.sh [SECONDS]     (root; default 3 per profile)
#
# For vm1 -> remote VM and remote VM -> vm1, 64-byte frames from trafgen
# (one worker on CPU 0; the forwarding lcore on CPU 1), in mode dpdk (fast
# path over the lab's exception port) and in mode kernel: `perf record -a`
# on both CPUs, then the share of the samples per CPU-time consumer
# (command, and kernel or DPDK library) and the hottest symbols. Prints;
# asserts nothing.
set -euo pipefail
T=${1:-3}
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC_DIR/tests/scenario/lib.sh"
command -v perf >/dev/null || fail "perf is missing: apt-get install linux-perf"
command -v trafgen >/dev/null || fail "trafgen is missing: make bench-deps"
bench_init agtprof
start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
ping_ok rvm 10.10.1.11 || fail "the remote VM cannot reach vm1"

conf() { # ns dst-mac src-ip dst-ip -> $WORK/tg-NS.cfg
	cat >"$WORK/tg-$1.cfg" <<EOC
{
  eth(da=$2, sa=$(in_ns "$1" cat /sys/class/net/eth0/address), type=0x0800),
  ipv4(saddr=$3, daddr=$4, ttl=64, proto=17),
  udp(sport=dinc(1024, 65000, 1), dport=9),
  fill(0x00, 18)
}
EOC
}
conf vm1 "$(in_ns host cat /sys/class/net/br-vm/address)" 10.10.1.11 10.10.2.2
conf rvm "$(in_ns wire cat /sys/class/net/rvm0/address)" 10.10.2.2 10.10.1.11

profile() { # label ns
	local tg
	in_ns "$2" timeout $((T + 3)) taskset -c 0 trafgen --cpus 1 --dev eth0 \
		--conf "$WORK/tg-$2.cfg" --num 0 >/dev/null 2>&1 &
	tg=$!
	sleep 1
	perf record -q -a -o "$WORK/perf.data" -- sleep "$T" >/dev/null 2>&1
	wait "$tg" 2>/dev/null || true
	echo "== $1"
	perf report -i "$WORK/perf.data" --stdio --no-children --sort comm,dso \
		--percent-limit 3 2>/dev/null | grep -E '^ +[0-9]' | head -8
	echo "   hottest symbols:"
	perf report -i "$WORK/perf.data" --stdio --no-children --sort sym \
		--percent-limit 2 2>/dev/null | grep -E '^ +[0-9]' | head -10
}
echo "profiles, $T s each, lab $P ($(st .exception.type) exception port), 64 B trafgen on CPU 0, forwarding lcore on CPU 1"
profile "fast path, vm1 -> remote" vm1
profile "fast path, remote -> vm1" rvm
agentctl mode kernel >/dev/null
wait_mode kernel 10
sleep 1
profile "kernel routing, vm1 -> remote" vm1
profile "kernel routing, remote -> vm1" rvm
