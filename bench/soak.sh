#!/bin/bash
# Soak: the scenario tests/scenario/soak.sh at length — by default 100
# cycles, each a dataplane fault (kill -9, kill -9, SIGSTOP, SIGTERM in turn)
# and an agentd fault (kill -9, kill -9, SIGTERM) under a 1 000 datagram/s
# stream, with the host compared with its start after every fault (links,
# addresses, routes, BPF pins, XDP and tc programs, DPDK runtime files,
# agentd's fds). CI runs the same script with 4 cycles.
#
#   bench/soak.sh [CYCLES]      (root; after `make`; ~10 s per cycle)
#
# Prints each cycle and the stream's loss; fails on the first leak or
# difference (it is a test at length, not a measurement).
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
export SRC_DIR BIN_DIR=${BIN_DIR:-$SRC_DIR/build/bin}
SOAK_CYCLES=${1:-100} exec bash "$SRC_DIR/tests/scenario/soak.sh"
