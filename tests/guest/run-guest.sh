#!/bin/bash
# Boot the TCG test guest built by build-image.sh and run one script in it;
# exit with the script's verdict.
#
#   tests/guest/run-guest.sh IMAGEDIR SCRIPT [ARGS...]
#
# The guest's root is this host's root, read-only over 9p under an overlay
# (init, init2): SCRIPT runs in the guest at the same path, with the same
# tools and the same build tree, as root, with SRC_DIR, BIN_DIR and every
# AGT_* variable of this environment passed on. It can leave files for the
# host in $AGTGUEST_RESULTS (a directory in the guest, a 9p share of this
# run's job directory); AGTGUEST_OUT=DIR here copies them to DIR.
# The guest prints "AGTGUEST-RESULT: PASS|FAIL rc=N" on the serial console
# and powers off; this script reads that line from the console log.
#
# The machine: q35 with an emulated Intel IOMMU (intel-iommu, interrupt
# remapping on), because Debian's kernel is built without
# CONFIG_VFIO_NOIOMMU: vfio-pci in the guest needs a (virtual) IOMMU.
# Two virtio-net PCI NICs cabled to each other: "nic0" (00:03.0, modern
# only, iommu_platform=on so that its DMA goes through the IOMMU: DPDK
# drives it through vfio-pci) and "agtwire0" (00:04.0, the kernel's: the
# netns lab's wire namespace takes it). The cable (AGTGUEST_NET):
#   tap  (default) two tap devices on a bridge, in a network namespace of
#        the host's that this script makes and removes (agtguest-PID). A tap
#        carries the virtio-net header, so both NICs offer checksum and TSO
#        offloads, as a real NIC does: DPDK's virtio PMD takes the kernel's
#        TCP super-packets whole (the port's TSO, not software segments).
#   hub  a qemu hub: nothing on the host, and no offloads on either NIC.
#
# AGTGUEST_IOMMU=off leaves the IOMMU out (no intel-iommu, a transitional
# virtio-net): what a host without IOMMU looks like; with Debian's kernel
# vfio-pci then cannot take the NIC (no no-IOMMU mode).
#
# Environment: AGTGUEST_NET (tap or hub, above), AGTGUEST_TIMEOUT (s, default 900), AGTGUEST_LOG (console log,
# default /tmp/agtguest-console-PID.log, kept), AGTGUEST_SMP (2), AGTGUEST_MEM
# (MiB, 3072), AGTGUEST_HUGEPAGES (2 MB pages, 512), AGTGUEST_NICE (10: the
# machine is shared with timing-sensitive tests), AGTGUEST_APPEND (extra
# kernel command line), AGTGUEST_OUT (see above).
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN_DIR=${BIN_DIR:-$SRC_DIR/build/bin}
GUEST_DIR=$SRC_DIR/tests/guest

log() { printf '[run-guest %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

[ $# -ge 2 ] || {
	echo "usage: $0 IMAGEDIR SCRIPT [ARGS...]" >&2
	exit 2
}
[ "$(id -u)" = 0 ] || die "run as root (9p shares of / need it)"
IMAGE=$(cd "$1" && pwd)
SCRIPT=$(readlink -f "$2")
shift 2
TIMEOUT=${AGTGUEST_TIMEOUT:-900}
SMP=${AGTGUEST_SMP:-2}
MEM=${AGTGUEST_MEM:-3072}
NICE=${AGTGUEST_NICE:-10}
CONSOLE_LOG=${AGTGUEST_LOG:-/tmp/agtguest-console-$$.log}
for f in "$IMAGE/vmlinuz" "$IMAGE/initramfs.cpio.gz" "$IMAGE/busybox" "$IMAGE/kmod-dir" "$SCRIPT"; do
	[ -f "$f" ] || die "$f missing (build the image: tests/guest/build-image.sh $IMAGE)"
done
KMOD_DIR=$(cat "$IMAGE/kmod-dir")
[ -d "$KMOD_DIR" ] || die "$KMOD_DIR missing (rebuild the image)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (build-image.sh installs it)"

# One guest at a time on this machine (CPU: TCG takes a host core per vCPU).
exec 9>/tmp/agtguest.lock
flock -n 9 || die "another run-guest.sh holds /tmp/agtguest.lock"

WORK=$(mktemp -d /tmp/agtguest-run.XXXXXX)
QEMU_PID=
NETNS=
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

# The job directory, the guest's /run/agtguest: stage 2 of the boot, the
# guest's modprobe, the job, and what the job leaves for the host.
JOB=$WORK/job
mkdir -p "$JOB/results"
install -m 0755 "$GUEST_DIR/init2" "$JOB/init2"
install -m 0755 "$IMAGE/busybox" "$JOB/busybox"
{
	echo "# written by run-guest.sh"
	printf 'export %s\n' "SRC_DIR=$(printf %q "$SRC_DIR")" "BIN_DIR=$(printf %q "$BIN_DIR")" \
		"AGTGUEST_RESULTS=/run/agtguest/results" "AGT_BED=guest"
	while IFS= read -r v; do
		printf 'export %s=%q\n' "$v" "${!v}"
	done < <(compgen -e | grep '^AGT_' | grep -v '^AGT_BED$' || true)
	printf 'cd %q\n' "$SRC_DIR"
	printf 'exec bash %q' "$SCRIPT"
	# (printf with no argument left would still print one: '')
	[ $# -eq 0 ] || printf ' %q' "$@"
	echo
} >"$JOB/job.sh"

RUN_IN=()
case ${AGTGUEST_NET:-tap} in
tap)
	# the taps' bridge; qemu (run inside the namespace) makes the taps
	NETNS=agtguest-$$
	# a CI run lists it, so that its safety net removes it if this script
	# is killed before its own cleanup (.ci/run)
	if [ -n "${AGT_NETNS_REGISTRY:-}" ]; then echo "$NETNS" >>"$AGT_NETNS_REGISTRY"; fi
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	ip -n "$NETNS" link add agtgbr0 type bridge
	ip -n "$NETNS" link set agtgbr0 up
	NETDEVS=(-netdev tap,id=n0,ifname=agtgtap0,script=no,downscript=no,vhost=off
		-netdev tap,id=n1,ifname=agtgtap1,script=no,downscript=no,vhost=off)
	RUN_IN=(ip netns exec "$NETNS")
	;;
hub) NETDEVS=(-netdev hubport,id=n0,hubid=0 -netdev hubport,id=n1,hubid=0) ;;
*) die "AGTGUEST_NET=${AGTGUEST_NET}: tap or hub" ;;
esac

# The emulated IOMMU: interrupt remapping on, or vfio_iommu_type1 refuses
# the group ("No interrupt remapping support"). It must come before the NICs.
# The NICs: romfile= (none): no iPXE option ROM to load, we boot a kernel.
# nic0 is modern-only virtio (iommu_platform needs it), DMA through the
# IOMMU.
NIC_DEV=virtio-net-pci,netdev=n0,addr=0x3,mac=52:54:00:a9:00:01,romfile=
WIRE_DEV=virtio-net-pci,netdev=n1,addr=0x4,mac=52:54:00:a9:00:02,romfile=
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
# The 9p shares (init mounts them): the host's root and the kernel's
# modules read-only, the job directory read-write. multidevs=remap: the
# host's root spans several filesystems, inode numbers must stay unique.
P9=security_model=none,multidevs=remap
# console=ttyS0: everything goes to the log; panic=-1 + -no-reboot: a kernel
# panic (or an init dying) ends qemu at once instead of waiting for the
# timeout. init_on_alloc=0: Debian's kernel zeroes every page it allocates,
# which under TCG made reserving 1 GiB of hugepages take 8.5 s instead of
# 0.3 s.
APPEND="console=ttyS0 panic=-1 loglevel=4 $IOMMU_APPEND init_on_alloc=0 ${AGTGUEST_APPEND:-}"
QEMU=(qemu-system-x86_64
	-accel tcg -cpu max -smp "$SMP" -m "$MEM"
	-machine q35 -nodefaults -nographic -no-reboot -monitor none
	-serial "file:$CONSOLE_LOG"
	"${IOMMU_ARGS[@]}"
	"${NETDEVS[@]}"
	-device "$NIC_DEV" -device "$WIRE_DEV"
	-virtfs "local,path=/,mount_tag=hostroot,readonly=on,$P9"
	-virtfs "local,path=$KMOD_DIR,mount_tag=kmod,readonly=on,$P9"
	-virtfs "local,path=$JOB,mount_tag=agtjob,$P9"
	-kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initramfs.cpio.gz" -append "$APPEND")

: >"$CONSOLE_LOG"
log "booting $(basename "$SCRIPT") $* (timeout ${TIMEOUT}s), console: $CONSOLE_LOG"
log "${QEMU[*]}"
T0=$(date +%s.%N)
# timeout: the guest normally powers itself off; this ends a hung one.
"${RUN_IN[@]}" nice -n "$NICE" timeout --kill-after=10 "$TIMEOUT" "${QEMU[@]}" \
	>"$WORK/qemu.out" 2>&1 &
QEMU_PID=$!
if [ -n "$NETNS" ]; then
	# the cable: both taps on the bridge (the guest takes seconds to boot),
	# jumbo-capable like a real switch port (guest_jumbo: MTU 9000; the
	# guest's NICs run at their own MTU, 1500 unless a test says otherwise)
	for t in agtgtap0 agtgtap1; do
		for _ in $(seq 100); do
			ip -n "$NETNS" link show "$t" >/dev/null 2>&1 && break
			sleep 0.1
		done
		ip -n "$NETNS" link set "$t" mtu 9000 master agtgbr0 up || die "tap $t not made by qemu"
	done
fi
# the console, live
tail -n +1 -F --pid="$QEMU_PID" "$CONSOLE_LOG" 2>/dev/null | tr -d '\r' &
TAIL_PID=$!
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
if [ -n "${AGTGUEST_OUT:-}" ]; then
	mkdir -p "$AGTGUEST_OUT"
	cp -a "$JOB/results/." "$AGTGUEST_OUT/"
fi
case $result in
"AGTGUEST-RESULT: PASS "*) exit 0 ;;
*) exit 1 ;;
esac
