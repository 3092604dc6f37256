#!/bin/bash
# The TCG guest test bed, end to end: build the image (kernel + initramfs;
# cached .debs make a second build fast) and boot it with guest-smoke.sh.
# Exit 0 when the guest printed "AGTGUEST-RESULT: PASS".
#
#   tests/guest/check.sh [OUTDIR]     (default /tmp/agtguest-image)
#
# The cache is build-image.sh's (AGTGUEST_CACHE, default /var/cache/agtguest);
# run-guest.sh's environment (AGTGUEST_TIMEOUT, AGTGUEST_NET, ...) applies.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-/tmp/agtguest-image}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }

t0=$(date +%s.%N)
"$DIR/build-image.sh" "$OUT"
build_s=$(elapsed "$t0")
t1=$(date +%s.%N)
rc=0
"$DIR/run-guest.sh" "$OUT" "$DIR/guest-smoke.sh" || rc=$?
echo "[check] image build ${build_s}s, guest run $(elapsed "$t1")s: $([ "$rc" = 0 ] && echo PASS || echo "FAIL (exit $rc)")" >&2
exit "$rc"
