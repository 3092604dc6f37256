#!/bin/bash
# Idle cost on the netns lab (prefix "agtidle"; build first with `make`):
# the CPU agentd and each thread of the dataplane take while nothing but
# ARP/ND refreshes flows, with adaptive polling at the lab's setting, at 0
# (busy polling) and at a few other values of dataplane.idle_sleep_max_us.
#
#   bench/idle.sh [SECONDS]      (root; default 10 per setting)
#
# Threads: per /proc/PID/task (the dataplane's main lcore thread
# "agent-dataplane", its forwarding lcore "rte-worker-1", DPDK's service
# threads). Prints numbers; asserts nothing.
set -euo pipefail
T=${1:-10}
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC_DIR/tests/scenario/lib.sh"
bench_init agtidle
cp "$CONF" "$WORK/base.conf"

ticks() { # pid -> "name ticks" per thread
	local t
	for t in /proc/"$1"/task/*; do
		printf '%s %s\n' "$(tr ' ' _ <"$t/comm")" "$(awk '{ print $14 + $15 }' "$t/stat")"
	done
}
hz=$(getconf CLK_TCK)
echo "idle cost, $T s per setting, lab $P ($(nproc) CPUs; dataplane lcores $(grep -o 'lcores = "[^"]*"' "$CONF"))"
for sleep_us in 500 0 250 1000; do
	sed -e "s/^\(\s*\)burst = \([0-9]*\);/\1burst = \2;\n\1idle_sleep_max_us = $sleep_us;/" \
		"$WORK/base.conf" >"$CONF"
	start_fast
	DP=$(pgrep -f -- "--file-prefix $P " | head -1)
	sleep 2
	ticks "$DP" >"$WORK/a"
	a0=$(awk '{ print $14 + $15 }' "/proc/$AGENTD_PID/stat")
	sleep "$T"
	ticks "$DP" >"$WORK/b"
	a1=$(awk '{ print $14 + $15 }' "/proc/$AGENTD_PID/stat")
	printf '  idle_sleep_max_us %-5s agentd %5.1f %%;' "$sleep_us" "$(awk -v a="$a0" -v b="$a1" -v hz="$hz" -v t="$T" 'BEGIN { print (b - a) * 100 / hz / t }')"
	paste "$WORK/a" "$WORK/b" | awk -v hz="$hz" -v t="$T" '{ d = $4 - $2; if (d > 0 || $1 ~ /worker/) printf "  %s %.1f %%", $1, d * 100 / hz / t } END { print "" }'
	stop_agentd >/dev/null || true
done
