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
# AGTGUEST_NICS=4 adds a second pair, for a bonded uplink: "nic1" (00:05.0,
# like nic0) cabled to "agtwire1" (00:06.0, like agtwire0), all four
# reporting 10 Gb/s full duplex (802.3ad needs it). Each pair is a cable of
# its own, point to point, that carries IEEE 802.3 slow protocols (LACP),
# which a bridge never forwards: with tap, tc redirects (mirred) from each
# tap to the other of its pair; with hub, a hub per pair. And the guest
# gets a back channel to qemu's monitor, to pull and plug a cable
# (guest_cable in cable.sh: set_link on both NICs of a pair).
#
# AGTGUEST_IOMMU=off leaves the IOMMU out (no intel-iommu, a transitional
# virtio-net): what a host without IOMMU looks like; with Debian's kernel
# vfio-pci then cannot take the NIC (no no-IOMMU mode).
#
# Environment: AGTGUEST_NET (tap or hub, above), AGTGUEST_NICS (2 or 4,
# above), AGTGUEST_TIMEOUT (s, default 900), AGTGUEST_LOG (console log,
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
# The NICs come in pairs, each pair one cable: nic0 <-> agtwire0, and with
# AGTGUEST_NICS=4 nic1 <-> agtwire1 (a bonded uplink against a kernel bond
# on the wire side). Netdev n<2k> is pair k's nic, n<2k+1> its wire end.
NICS=${AGTGUEST_NICS:-2}
case $NICS in
2 | 4) ;;
*) die "AGTGUEST_NICS=$NICS: 2 or 4" ;;
esac
PAIRS=$((NICS / 2))
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
		"AGTGUEST_RESULTS=/run/agtguest/results" "AGTGUEST_NICS=$NICS" "AGT_BED=guest"
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
NETDEVS=()
case ${AGTGUEST_NET:-tap} in
tap)
	# qemu (run inside the namespace) makes the taps
	NETNS=agtguest-$$
	# a CI run lists it, so that its safety net removes it if this script
	# is killed before its own cleanup (.ci/run)
	if [ -n "${AGT_NETNS_REGISTRY:-}" ]; then echo "$NETNS" >>"$AGT_NETNS_REGISTRY"; fi
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	if [ "$NICS" = 2 ]; then
		# the taps' bridge
		ip -n "$NETNS" link add agtgbr0 type bridge
		ip -n "$NETNS" link set agtgbr0 up
	else
		# no bridge: the cables are tc redirects between two taps (below);
		# and no IPv6 on the taps (made after this), so that the host's
		# kernel sends nothing of its own (router solicitations, MLD) down
		# a cable
		ip netns exec "$NETNS" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv6.conf.all.disable_ipv6=1 >/dev/null
	fi
	for ((i = 0; i < NICS; i++)); do
		NETDEVS+=(-netdev "tap,id=n$i,ifname=agtgtap$i,script=no,downscript=no,vhost=off")
	done
	RUN_IN=(ip netns exec "$NETNS")
	;;
hub)
	# pair k on hub k: a hub forwards every frame, LACPDUs too
	for ((i = 0; i < NICS; i++)); do
		NETDEVS+=(-netdev "hubport,id=n$i,hubid=$((i / 2))")
	done
	;;
*) die "AGTGUEST_NET=${AGTGUEST_NET}: tap or hub" ;;
esac

# The emulated IOMMU: interrupt remapping on, or vfio_iommu_type1 refuses
# the group ("No interrupt remapping support"). It must come before the NICs.
# The NICs: romfile= (none): no iPXE option ROM to load, we boot a kernel.
# nic0 and nic1 are modern-only virtio (iommu_platform needs it), DMA
# through the IOMMU. Each NIC's id is its name for the monitor's set_link
# (guest_cable, cable.sh); init2 names the netdevs by their MACs.
NIC_DEVS=("virtio-net-pci,id=nic0,netdev=n0,addr=0x3,mac=52:54:00:a9:00:01,romfile=")
WIRE_DEVS=("virtio-net-pci,id=agtwire0,netdev=n1,addr=0x4,mac=52:54:00:a9:00:02,romfile=")
if [ "$PAIRS" = 2 ]; then
	NIC_DEVS+=("virtio-net-pci,id=nic1,netdev=n2,addr=0x5,mac=52:54:00:a9:00:03,romfile=")
	WIRE_DEVS+=("virtio-net-pci,id=agtwire1,netdev=n3,addr=0x6,mac=52:54:00:a9:00:04,romfile=")
fi
case ${AGTGUEST_IOMMU:-on} in
on)
	IOMMU_ARGS=(-device intel-iommu,intremap=on)
	NIC_DEVS=("${NIC_DEVS[@]/%/,disable-legacy=on,iommu_platform=on}")
	IOMMU_APPEND=intel_iommu=on
	;;
off)
	IOMMU_ARGS=()
	IOMMU_APPEND=
	;;
*) die "AGTGUEST_IOMMU=${AGTGUEST_IOMMU}: on or off" ;;
esac
# With 4 NICs (a bond's members), each reports a speed and full duplex, as
# a real NIC does: the kernel's 802.3ad bonding runs LACP only on ports
# with full duplex (virtio-net reports neither unless told, and then the
# bond never aggregates).
if [ "$NICS" = 4 ]; then
	NIC_DEVS=("${NIC_DEVS[@]/%/,speed=10000,duplex=full}")
	WIRE_DEVS=("${WIRE_DEVS[@]/%/,speed=10000,duplex=full}")
fi
# In device order: pair 0's NICs, then pair 1's (explicit slots, taken
# before the 9p shares pick the free ones)
NIC_ARGS=()
for ((i = 0; i < PAIRS; i++)); do
	NIC_ARGS+=(-device "${NIC_DEVS[i]}" -device "${WIRE_DEVS[i]}")
done
# With 4 NICs, the guest's back channel to qemu's (human) monitor, so that
# a test can pull and plug a cable (set_link, guest_cable in cable.sh): a
# virtio-serial port "agtguest.monitor" whose chardev is a client of the
# monitor's socket, qemu connecting to itself (reconnect=1: in the
# background, once the server listens). Not a second UART: a tty echoes
# what it receives until the guest has set it raw, and the monitor's
# banner, echoed back, would be typed into the monitor. What the monitor
# prints (its echo of the commands too) is kept in monitor.log, shown at
# the end.
MON_ARGS=()
if [ "$NICS" = 4 ]; then
	MON_ARGS=(-chardev "socket,id=mon0,path=$WORK/mon.sock,server=on,wait=off,logfile=$WORK/monitor.log"
		-mon "chardev=mon0,mode=readline"
		-chardev "socket,id=mon0c,path=$WORK/mon.sock,reconnect=1"
		-device "virtio-serial-pci,id=agtvser,addr=0x7"
		-device "virtserialport,chardev=mon0c,name=agtguest.monitor")
fi
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
	"${NIC_ARGS[@]}"
	"${MON_ARGS[@]}"
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
	# the cables (the guest takes seconds to boot), jumbo-capable like a
	# real switch port (guest_jumbo: MTU 9000; the guest's NICs run at their
	# own MTU, 1500 unless a test says otherwise)
	for ((i = 0; i < NICS; i++)); do
		for _ in $(seq 100); do
			ip -n "$NETNS" link show "agtgtap$i" >/dev/null 2>&1 && break
			sleep 0.1
		done
		if [ "$NICS" = 2 ]; then
			# both taps on the bridge
			ip -n "$NETNS" link set "agtgtap$i" mtu 9000 master agtgbr0 up ||
				die "tap agtgtap$i not made by qemu"
		else
			ip -n "$NETNS" link set "agtgtap$i" mtu 9000 up || die "tap agtgtap$i not made by qemu"
		fi
	done
	if [ "$NICS" = 4 ]; then
		# Two point-to-point cables, each tap's ingress (what qemu sends)
		# redirected to the other tap's egress (what qemu receives), not a
		# bridge: a bridge never forwards IEEE 802.3 slow protocols
		# (01:80:c2:00:00:02, BR_GROUPFWD_RESTRICTED), so LACP could not
		# run across it. The redirect keeps the tap's GSO packets whole
		# (the other tap hands them to its NIC with their virtio-net
		# header, or the stack segments them if that NIC took no TSO). u32
		# matching everything: this host's kernel has no cls_matchall.
		for ((i = 0; i < NICS; i++)); do
			# the other end of this tap's cable: 0 <-> 1, 2 <-> 3
			o=$((i ^ 1))
			tc -n "$NETNS" qdisc add dev "agtgtap$i" clsact ||
				die "cannot cable agtgtap$i (tc qdisc clsact)"
			tc -n "$NETNS" filter add dev "agtgtap$i" ingress protocol all \
				u32 match u32 0 0 action mirred egress redirect dev "agtgtap$o" ||
				die "cannot cable agtgtap$i to agtgtap$o (tc u32 + mirred)"
		done
	fi
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
if [ -f "$WORK/monitor.log" ] && [ "$(wc -l <"$WORK/monitor.log")" -gt 1 ]; then
	# (more than its banner) the monitor's side of guest_cable's commands:
	# its line editor redraws the line for each character typed (cursor
	# back, the line, erase to its end), shown here as the line it ends with
	log "the monitor said:"
	sed -e 's/\x1b\[K//g' -e ':a' -e 's/[^\x1b]\x1b\[D//' -e 'ta' \
		-e 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\r//g; s/^/monitor| /' "$WORK/monitor.log" >&2
	echo >&2
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
