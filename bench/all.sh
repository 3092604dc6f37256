#!/bin/bash
# Every benchmark, one after the other, on this machine (root; after `make`
# and `make bench-deps`). Nothing else should run meanwhile: the labs share
# the CPUs with what they measure. Prints each one's tables; asserts nothing.
#
#   bench/all.sh [SECONDS]     (per measurement where a benchmark takes it; default 5)
#
#   1. core loop: the forwarding lcore vs DPDK's l3fwd-lpm on synthetic ports
#   2. lab end to end: fast path (af_xdp and TAP exception ports) vs kernel routing
#   3. FIB scale: 1M IPv4 + 200k IPv6 routes through the kernel into the FIB,
#      memory, CPU, route change -> forwarding latency
#   4. idle cost of agentd and the dataplane (adaptive polling vs busy)
#   5. failover / failback blocked time (10 kills)
#   6. where the cycles go on each lab path (perf, when installed)
#   7. soak: 100 dataplane and 100 agentd faults under traffic, no leak
set -euo pipefail
T=${1:-5}
B=$(cd "$(dirname "$0")" && pwd)
run() { echo; echo "===== $* ====="; "$@"; }
run "$B/core_loop.sh" "$T"
run "$B/throughput.sh" "$T"
run "$B/fib_scale.sh"
run "$B/idle.sh" "$((T * 2))"
run "$B/failover.sh" 10
if command -v perf >/dev/null; then run "$B/profile.sh" 3; fi
run "$B/soak.sh" 100
