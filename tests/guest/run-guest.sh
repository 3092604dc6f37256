#!/bin/bash
# Boot the TCG test guest built by build-image.sh and run one guest-side
# script in it; exit with the script's verdict.
#
#   tests/guest/run-guest.sh IMAGEDIR [GUEST_SCRIPT]
#
# GUEST_SCRIPT (default tests/guest/guest-smoke.sh) is appended to the
# initramfs as /guest/test.sh (the kernel unpacks concatenated cpio archives
# in order), so changing it needs no image rebuild, and it needs no 9p/virtfs
# modules in the guest. The guest's /init runs it, prints
# "AGTGUEST-RESULT: PASS|FAIL rc=N" on the serial console and powers off;
# this script reads that line from the console log.
#
# The machine: q35 with an emulated Intel IOMMU (intel-iommu, interrupt
# remapping on), because Debian's kernel is built without
# CONFIG_VFIO_NOIOMMU: vfio-pci in the guest needs a (virtual) IOMMU. The
# one NIC is virtio-net-pci, modern only, with iommu_platform=on so that its
# DMA goes through that IOMMU (DPDK maps its memory there through vfio).
#
# The NIC's backend (AGTGUEST_NET):
#   tap  (default) a tap device agtguest0 that qemu creates inside a network
#        namespace of its own (agtguest-PID): a host-side end that later
#        tests can wire to the netns lab, without touching the host's own
#        namespace. It disappears with qemu; the namespace with this script.
#        (The host kernel has no vhost-net: vhost=off.)
#   user qemu's user-mode network: nothing on the host at all.
#
# AGTGUEST_IOMMU=off leaves the IOMMU out (no intel-iommu, a transitional
# virtio-net): what a host without IOMMU looks like; with
# Debian's kernel the vfio step then fails (no no-IOMMU mode).
#
# Environment: AGTGUEST_TIMEOUT (s, default 600), AGTGUEST_LOG (console log,
# default /tmp/agtguest-console-PID.log, kept), AGTGUEST_SMP (2), AGTGUEST_MEM
# (MiB, 2048), AGTGUEST_NICE (10: the machine is shared with timing-sensitive
# tests), AGTGUEST_APPEND (extra kernel command line).
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GUEST_DIR=$SRC_DIR/tests/guest

log() { printf '[run-guest %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

[ $# -ge 1 ] && [ $# -le 2 ] || {
	echo "usage: $0 IMAGEDIR [GUEST_SCRIPT]" >&2
	exit 2
}
[ "$(id -u)" = 0 ] || die "run as root (network namespace, tap device)"
IMAGE=$1
SCRIPT=${2:-$GUEST_DIR/guest-smoke.sh}
TIMEOUT=${AGTGUEST_TIMEOUT:-600}
NET=${AGTGUEST_NET:-tap}
SMP=${AGTGUEST_SMP:-2}
MEM=${AGTGUEST_MEM:-2048}
NICE=${AGTGUEST_NICE:-10}
CONSOLE_LOG=${AGTGUEST_LOG:-/tmp/agtguest-console-$$.log}
for f in "$IMAGE/vmlinuz" "$IMAGE/initramfs.cpio.gz" "$SCRIPT"; do
	[ -f "$f" ] || die "$f missing (build the image: tests/guest/build-image.sh $IMAGE)"
done
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (build-image.sh installs it)"

# One guest at a time on this machine (CPU: TCG takes a host core per vCPU).
exec 9>/tmp/agtguest.lock
flock -n 9 || die "another run-guest.sh holds /tmp/agtguest.lock"

WORK=$(mktemp -d /tmp/agtguest-run.XXXXXX)
NETNS=
QEMU_PID=
cleanup() {
	local rc=$?
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	if [ -n "$NETNS" ]; then
		ip netns del "$NETNS" 2>/dev/null || true
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The initrd: the image's, then a small archive with the test script.
mkdir -p "$WORK/extra/guest"
install -m 0755 "$SCRIPT" "$WORK/extra/guest/test.sh"
(cd "$WORK/extra" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --create --format=newc --owner=0:0 --quiet) | gzip -n >"$WORK/extra.cpio.gz"
cat "$IMAGE/initramfs.cpio.gz" "$WORK/extra.cpio.gz" >"$WORK/initrd"

case $NET in
tap)
	NETNS=agtguest-$$
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	NETDEV=tap,id=n0,ifname=agtguest0,script=no,downscript=no,vhost=off
	RUN_IN=(ip netns exec "$NETNS")
	;;
user)
	NETDEV=user,id=n0
	RUN_IN=()
	;;
*) die "AGTGUEST_NET=$NET: tap or user" ;;
esac

# The emulated IOMMU: interrupt remapping on, or vfio_iommu_type1 refuses
# the group ("No interrupt remapping support"). It must come before the NIC.
# The NIC: modern-only virtio (iommu_platform needs it), DMA through the
# IOMMU; romfile= (none): no iPXE option ROM to load, we boot a kernel.
NIC_DEV=virtio-net-pci,netdev=n0,addr=0x3,mac=52:54:00:a9:00:01,romfile=
case ${AGTGUEST_IOMMU:-on} in
on)
	IOMMU_ARGS=(-device intel-iommu,intremap=on)
	NIC_DEV+=,disable-legacy=on,iommu_platform=on
	IOMMU_APPEND=intel_iommu=on
	;;
off)
	IOMMU_ARGS=()
	IOMMU_APPEND=
	;;
*) die "AGTGUEST_IOMMU=${AGTGUEST_IOMMU}: on or off" ;;
esac
# console=ttyS0: everything goes to the log; panic=-1 + -no-reboot: a kernel
# panic (or /init dying) ends qemu at once instead of waiting for the timeout.
# init_on_alloc=0: Debian's kernel zeroes every page it allocates, which
# under TCG made reserving 1 GiB of hugepages take 8.5 s instead of 0.3 s.
APPEND="console=ttyS0 panic=-1 loglevel=4 $IOMMU_APPEND init_on_alloc=0 ${AGTGUEST_APPEND:-}"
QEMU=(qemu-system-x86_64
	-accel tcg -cpu max -smp "$SMP" -m "$MEM"
	-machine q35 -nodefaults -nographic -no-reboot -monitor none
	-serial "file:$CONSOLE_LOG"
	"${IOMMU_ARGS[@]}"
	-netdev "$NETDEV"
	-device "$NIC_DEV"
	-kernel "$IMAGE/vmlinuz" -initrd "$WORK/initrd" -append "$APPEND")

: >"$CONSOLE_LOG"
log "booting (net $NET${NETNS:+ in netns $NETNS}, timeout ${TIMEOUT}s), console: $CONSOLE_LOG"
log "${QEMU[*]}"
T0=$(date +%s.%N)
# timeout: the guest normally powers itself off; this ends a hung one.
"${RUN_IN[@]}" nice -n "$NICE" timeout --kill-after=10 "$TIMEOUT" "${QEMU[@]}" \
	>"$WORK/qemu.out" 2>&1 &
QEMU_PID=$!
# the console, live
tail -n +1 -F --pid="$QEMU_PID" "$CONSOLE_LOG" 2>/dev/null | tr -d '\r' &
TAIL_PID=$!
if [ "$NET" = tap ]; then
	# qemu creates the tap; show that the host side exists (later tests will
	# wire it to the lab)
	for _ in $(seq 50); do
		ip -n "$NETNS" link show agtguest0 >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$NETNS" link set agtguest0 up 2>/dev/null || log "tap agtguest0 not found in $NETNS"
fi
qrc=0
wait "$QEMU_PID" || qrc=$?
QEMU_PID=
wait "$TAIL_PID" 2>/dev/null || true
T1=$(date +%s.%N)
ELAPSED=$(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.1f", b - a}')

if [ -s "$WORK/qemu.out" ]; then
	log "qemu said:"
	sed 's/^/qemu| /' "$WORK/qemu.out" >&2
fi
result=$(tr -d '\r' <"$CONSOLE_LOG" | grep -a '^AGTGUEST-RESULT: ' | tail -n1 || true)
init_at=$(tr -d '\r' <"$CONSOLE_LOG" | grep -a -o 'AGTGUEST: init at [0-9.]* s' | awk '{print $4}' || true)
log "qemu exit $qrc after ${ELAPSED}s (guest /init started at ${init_at:-?}s of guest uptime)"
[ "$qrc" = 124 ] && die "timeout after ${TIMEOUT}s: no result (console: $CONSOLE_LOG)"
[ -n "$result" ] || die "no AGTGUEST-RESULT line (qemu exit $qrc; console: $CONSOLE_LOG)"
log "$result"
case $result in
"AGTGUEST-RESULT: PASS "*) exit 0 ;;
*) exit 1 ;;
esac
