#!/bin/bash
# Build the TCG test guest: a Debian kernel, its modules, and a small
# initramfs (busybox, the 9p modules, /init) whose only job is to mount the
# host's root filesystem read-only over 9p and switch to it (run-guest.sh
# exports it). So the guest runs the host's own bash, iproute2, jq, python3,
# iperf3 and the project's build tree, at the same paths: the netns lab's
# scenario scripts run in it unchanged (docs/testing.md, "The guest bed").
#
#   tests/guest/build-image.sh OUTDIR [CACHEDIR]
#
# Writes into OUTDIR: vmlinuz, initramfs.cpio.gz, busybox (the guest's
# modprobe: the host has no kmod), kmod-dir (the path of the kernel's
# modules, which run-guest.sh exports to the guest's /lib/modules) and
# manifest.txt. Everything comes from Debian packages (apt-get download +
# dpkg-deb -x): linux-image-6.1.*-amd64, the kernel linux-image-amd64 depends
# on, and busybox-static. The .debs and the extracted kernel (with a
# modules.dep made by busybox's depmod) are cached in CACHEDIR (default
# $AGTGUEST_CACHE or /var/cache/agtguest; ~0.5 GB): a warm build takes a
# second and needs no network.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GUEST_DIR=$SRC_DIR/tests/guest

# What the initramfs needs to mount the host's root: the transport of the
# 9p share is a virtio PCI device.
STAGE1_MODULES="virtio_pci 9pnet_virtio 9p overlay"

log() { printf '[build-image %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

[ $# -ge 1 ] && [ $# -le 2 ] || {
	echo "usage: $0 OUTDIR [CACHEDIR]" >&2
	exit 2
}
[ "$(id -u)" = 0 ] || die "run as root (apt-get, device nodes in the image)"
OUT=$1
CACHE=${2:-${AGTGUEST_CACHE:-/var/cache/agtguest}}
mkdir -p "$OUT" "$CACHE/debs"
OUT=$(cd "$OUT" && pwd)
CACHE=$(cd "$CACHE" && pwd)


# one build at a time per cache (extraction, the ldd cache)
exec 8>"$CACHE/.lock"
flock -w 600 8 || die "$CACHE/.lock: another build-image.sh holds it"

T0=$(date +%s.%N)
WORK=$(mktemp -d /tmp/agtguest-build.XXXXXX)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- host tools ----------------------------------------------------------
# qemu is not needed to build, but run-guest.sh needs it: install it here too
# so that one build prepares the machine.
need_pkgs=()
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v gzip >/dev/null || need_pkgs+=(gzip)
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
apt_updated=false
apt_update() {
	$apt_updated && return 0
	log "apt-get update"
	apt-get update -qq >"$WORK/apt-update.log" 2>&1 || {
		cat "$WORK/apt-update.log" >&2
		die "apt-get update failed"
	}
	apt_updated=true
}
if [ ${#need_pkgs[@]} -gt 0 ]; then
	apt_update
	log "installing on the host: ${need_pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${need_pkgs[@]}" >"$WORK/apt-install.log" 2>&1 || {
		cat "$WORK/apt-install.log" >&2
		die "apt-get install ${need_pkgs[*]} failed"
	}
fi

# --- Debian packages -----------------------------------------------------
# The .deb of PKG (candidate version) in the cache, downloaded if missing.
# --print-uris names the file without downloading, so a warm cache needs no
# network at all.
fetch_deb() { # PKG -> prints the path of its .deb
	local pkg=$1 uri file
	uri=$(apt-get download --print-uris "$pkg" 2>/dev/null | head -n1) || true
	if [ -z "$uri" ]; then
		apt_update
		uri=$(apt-get download --print-uris "$pkg" | head -n1)
	fi
	[ -n "$uri" ] || die "apt knows no package $pkg"
	file=$(echo "$uri" | awk '{print $2}')
	if [ ! -s "$CACHE/debs/$file" ]; then
		log "downloading $file"
		# APT::Sandbox::User=root: the cache is root's, _apt could not write it
		(cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg") >&2 ||
			die "apt-get download $pkg failed"
		[ -s "$CACHE/debs/$file" ] || die "apt-get download $pkg did not write $file"
	fi
	echo "$CACHE/debs/$file"
}

# The kernel: the linux-image-6.1.*-amd64 that the linux-image-amd64
# metapackage depends on (the one a Debian 12 host would run).
apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt_update
KPKG=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\./ {print $2; exit}')
[ -n "$KPKG" ] || die "cannot find the kernel package linux-image-amd64 depends on"
KDEB=$(fetch_deb "$KPKG")
BBDEB=$(fetch_deb busybox-static)

# Extracted once per .deb (a stamp marks a complete extraction).
extract_deb() { # DEB DIR
	local deb=$1 dir=$2
	[ -e "$dir/.agtguest-done" ] && return 0
	rm -rf "$dir"
	mkdir -p "$dir"
	log "extracting $(basename "$deb")"
	dpkg-deb -x "$deb" "$dir"
	touch "$dir/.agtguest-done"
}
KDIR=$CACHE/extract/$(basename "$KDEB" .deb)
BBDIR=$CACHE/extract/$(basename "$BBDEB" .deb)
extract_deb "$BBDEB" "$BBDIR"
BUSYBOX=$BBDIR/bin/busybox
[ -x "$BUSYBOX" ] || die "no busybox in $BBDEB"
if [ ! -e "$KDIR/.agtguest-depmod" ]; then
	extract_deb "$KDEB" "$KDIR"
	# The .deb has no modules.dep (depmod runs at install time): make one
	# with busybox's depmod (static, so the host needs no kmod).
	KVER=$(ls "$KDIR/lib/modules")
	log "depmod $KVER (busybox)"
	"$BUSYBOX" depmod -b "$KDIR" "$KVER"
	touch "$KDIR/.agtguest-depmod"
fi
KVER=$(ls "$KDIR/lib/modules")
[ "$(echo "$KVER" | wc -w)" = 1 ] || die "expected one kernel version in $KDIR, got: $KVER"
KMOD=$KDIR/lib/modules/$KVER

# --- the initramfs ---------------------------------------------------------
# Only what it takes to reach the host's root over 9p: busybox, the 9p and
# virtio modules, /init. Everything else the guest runs (bash, iproute2, jq,
# python3, iperf3, the project's build tree) is the host's own files, read
# through that 9p mount, at the same paths as on the host.
ROOT=$WORK/root
mkdir -p "$ROOT"/{usr/bin,usr/sbin,etc,dev,proc,sys,run,tmp,newroot}
for d in bin sbin; do ln -s "usr/$d" "$ROOT/$d"; done
cp "$BUSYBOX" "$ROOT/usr/bin/busybox"
# busybox applets as symlinks, in one call (a fork per applet takes seconds)
chroot "$ROOT" /usr/bin/busybox --install -s
rm -f "$ROOT/linuxrc"

# STAGE1_MODULES and their dependencies (transitively: modules.dep lists
# them all). Names in modules.dep are paths; module names treat - and _ alike.
declare -A want=()
for m in $STAGE1_MODULES; do
	m=${m//-/_}
	line=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n);
		gsub(/-/, "_", n); if (n == m) { print; exit } }' "$KMOD/modules.dep")
	if [ -z "$line" ]; then
		grep -qE "/${m//_/[-_]}\.ko$" "$KMOD/modules.builtin" && continue
		die "module $m: not in $KVER's modules.dep nor modules.builtin"
	fi
	for f in ${line//:/ }; do want[$f]=1; done
done
for f in "${!want[@]}"; do
	install -D -m 0644 "$KMOD/$f" "$ROOT/lib/modules/$KVER/$f"
done
cp "$KMOD/modules.builtin" "$KMOD/modules.order" "$ROOT/lib/modules/$KVER/"
"$BUSYBOX" depmod -b "$ROOT" "$KVER"
install -m 0755 "$GUEST_DIR/init" "$ROOT/init"

# --- pack ----------------------------------------------------------------
log "packing the initramfs"
cp "$KDIR/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
# newc cpio, owned by root; sorted so that the same inputs give the same
# archive. gzip -6: the guest decompresses it under TCG at boot.
# "." is in it: its mode (0755) becomes the rootfs's (else world-writable).
chmod 0755 "$ROOT"
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
	gzip -6 -n >"$WORK/initramfs.cpio.gz"

{
	echo "kernel: $KPKG ($(basename "$KDEB")), $KVER"
	echo "busybox: $(basename "$BBDEB")"
	echo "modules: $KMOD (all; the initramfs: $(cd "$ROOT/lib/modules/$KVER" && find . -name '*.ko' | sed 's|.*/||' | sort | tr '\n' ' '))"
	echo "initramfs: $(du -h "$WORK/initramfs.cpio.gz" | cut -f1)"
	echo "built: $(date -u +%FT%TZ) in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
} >"$WORK/manifest.txt"
# moved into place last: an interrupted build leaves the old image intact
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
cp "$BUSYBOX" "$WORK/busybox"
mv -f "$WORK/busybox" "$OUT/busybox"
echo "$KDIR/lib/modules" >"$OUT/kmod-dir"
mv -f "$WORK/manifest.txt" "$OUT/manifest.txt"
cat "$OUT/manifest.txt" >&2
log "done: $OUT"
