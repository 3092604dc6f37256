#!/bin/bash
# Build the TCG test guest: a Debian kernel and an initramfs that holds
# busybox, the kernel modules the dataplane needs (virtio, vfio, vhost-net,
# tun/tap, veth, bridge), the project's binaries from build/bin with every
# shared library they load (DPDK's PMD plugins included) and iproute2.
#
#   tests/guest/build-image.sh OUTDIR [CACHEDIR]
#
# Writes OUTDIR/vmlinuz, OUTDIR/initramfs.cpio.gz and OUTDIR/manifest.txt.
# Everything comes from Debian packages (apt-get download + dpkg-deb -x, no
# debootstrap: the guest needs no package manager, only files) or from this
# host (the project's binaries and the libraries they were linked against,
# iproute2, bash). Downloaded .debs and the extracted kernel are cached in
# CACHEDIR (default $AGTGUEST_CACHE or /var/cache/agtguest; ~0.5 GB, most of
# it the extracted kernel's modules), so a second build only re-packs the
# initramfs.
#
# Environment: BIN_DIR (default build/bin), AGTGUEST_EXTRA_MODULES (more
# module names to put in, with their dependencies).
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN_DIR=${BIN_DIR:-$SRC_DIR/build/bin}
GUEST_DIR=$SRC_DIR/tests/guest

# The modules the guest tests need; their dependencies come from modules.dep.
# virtio_pci/virtio_net: the NIC; vfio*: binding it to DPDK; tun, tap,
# vhost*: /dev/vhost-net for the virtio-user exception port; veth, bridge:
# the kernel side agentd builds; sch_ingress (clsact), cls_bpf: agentd's tc
# steering programs; sch_multiq, cls_flower, act_*: the TAP PMD's rte_flow
# support (without them it warns and disables it); uio_pci_generic: a
# second way to hand the NIC to DPDK.
MODULES="virtio_pci virtio_net vfio vfio_pci vfio_iommu_type1 tun tap vhost vhost_iotlb
vhost_net veth bridge sch_ingress cls_bpf act_bpf sch_multiq cls_flower act_gact act_mirred
act_skbedit uio_pci_generic ${AGTGUEST_EXTRA_MODULES:-}"

# Project binaries put in the guest's /usr/bin.
AGENT_BINS="agentd agentctl agent-dataplane"
# Host binaries put in the guest (with their libraries); busybox covers the
# rest.
HOST_BINS=(/usr/sbin/ip /usr/sbin/tc /usr/sbin/bridge /usr/bin/bash)
# Libraries loaded with dlopen, which ldd does not show. libgcc_s: glibc's
# pthread_cancel needs it (DPDK's EAL cancels its threads at exit; without
# it: "libgcc_s.so.1 must be installed for pthread_cancel to work", abort).
HOST_LIBS=(/usr/lib/x86_64-linux-gnu/libgcc_s.so.1)
# DPDK loads its drivers (and buses, mempools) as plugins from this directory:
# without it EAL finds no virtio PMD.
DPDK_PMD_DIR=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0

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

for b in $AGENT_BINS; do
	[ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b missing: build the project first (make)"
done
[ -d "$DPDK_PMD_DIR" ] || die "$DPDK_PMD_DIR missing (DPDK 22.11 runtime not installed?)"

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
command -v ldconfig >/dev/null || need_pkgs+=(libc-bin)
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
for b in "${HOST_BINS[@]}" "${HOST_LIBS[@]}"; do [ -e "$b" ] || die "$b missing on the host"; done
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

# --- the root ------------------------------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,dev,proc,sys,run,tmp,root,mnt,guest}
# merged /usr, as on the host: ldd's /lib/... paths land in usr/lib
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done
chmod 1777 "$ROOT/tmp"
# /var/run: where DPDK keeps its runtime directory (/var/run/dpdk/PREFIX)
mkdir -p "$ROOT/var"
ln -s ../run "$ROOT/var/run"

# Copy PATH (absolute, on the host) into the root, keeping symlinks as
# symlinks: DPDK's libraries in /usr/lib/x86_64-linux-gnu are symlinks into
# the PMD directory, and a second copy of the same library would be loaded
# twice (a bus or driver registered twice). Directories are taken in their
# canonical form (/lib -> /usr/lib is mirrored by the root's own symlinks).
# Bash builtins where possible: a fork costs ~7 ms on this machine, and this
# runs for a few hundred files.
declare -A CANON=() # directory -> its canonical path, made in the root
copy_path() { # PATH
	local p=$1 dir name dst target
	while :; do
		dir=${p%/*}
		dir=${dir:-/}
		name=${p##*/}
		if [ -z "${CANON[$dir]:-}" ]; then
			CANON[$dir]=$(readlink -f "$dir")
			mkdir -p "$ROOT${CANON[$dir]}"
		fi
		dir=${CANON[$dir]}
		dst=$ROOT$dir/$name
		if [ -e "$dst" ] || [ -L "$dst" ]; then
			return 0
		elif [ -L "$dir/$name" ]; then
			target=$(readlink "$dir/$name")
			ln -s "$target" "$dst"
			case $target in
			/*) p=$target ;;
			*) p=$dir/$target ;;
			esac
		else
			cp -p "$dir/$name" "$dst"
			return 0
		fi
	done
}

# The libraries ldd says FILEs need (absolute paths), one per line. Cached in
# CACHE/ldd per file identity (path, size, mtime, inode): ldd of DPDK's ~130
# plugins takes 15-20 s on this machine. A library ldd cannot find fails the
# build: a missing one would only show at run time in the guest (for a PMD
# plugin: EAL refuses to start).
libs_of() { # FILE...
	local f id key out
	mkdir -p "$CACHE/ldd"
	stat -L -c '%n %s %Y %i' "$@" >"$WORK/ids"
	while read -r f id; do
		key=$CACHE/ldd/${f//\//_}_${id// /_}
		if [ ! -e "$key" ]; then
			if ! out=$(ldd "$f" 2>&1); then
				# a static binary: no libraries
				[[ $out == *"not a dynamic executable"* ]] || die "ldd $f: $out"
				out=
			fi
			[[ $out != *"not found"* ]] || die "ldd $f: $(grep "not found" <<<"$out" | tr '\n' ' ')"
			awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$out" >"$key.tmp"
			mv "$key.tmp" "$key"
		fi
		echo "$key"
	done <"$WORK/ids" | xargs -r cat
}

# Copy FILEs and the libraries they need into the root.
copy_with_libs() { # FILE...
	local f lib
	for f in "$@"; do copy_path "$f"; done
	libs_of "$@" | sort -u >"$WORK/libs"
	while read -r lib; do copy_path "$lib"; done <"$WORK/libs"
}

log "populating the root"
# busybox: /init and the guest scripts' tools (mount, modprobe, poweroff, ...)
cp "$BUSYBOX" "$ROOT/usr/bin/busybox"
# iproute2, bash, the project's binaries
copy_with_libs "${HOST_BINS[@]}" "${HOST_LIBS[@]}"
for b in $AGENT_BINS; do
	install -m 0755 "$BIN_DIR/$b" "$ROOT/usr/bin/$b"
	copy_with_libs "$BIN_DIR/$b"
done
# DPDK's plugins, as they are (files and symlinks), and their libraries
mkdir -p "$ROOT$DPDK_PMD_DIR"
cp -a "$DPDK_PMD_DIR/." "$ROOT$DPDK_PMD_DIR/"
mapfile -t pmds < <(find "$DPDK_PMD_DIR" -type f -name '*.so*')
copy_with_libs "${pmds[@]}"
# The steering programs, for the agentd steps to come
for o in "$SRC_DIR"/build/kernel-side/bpf/*.bpf.o; do
	[ -e "$o" ] && install -D -m 0644 "$o" "$ROOT/usr/lib/agent/bpf/$(basename "$o")"
done
# iproute2's tables (rt_tables, ...): ip reads them for names
[ -d /etc/iproute2 ] && cp -a /etc/iproute2 "$ROOT/etc/"
# busybox applets as symlinks, where no real binary sits already (ip, tc:
# iproute2's; busybox does not replace existing files), in one call: a fork
# per applet would take seconds. (Its /linuxrc is of no use with /init.)
chroot "$ROOT" /usr/bin/busybox --install -s
rm -f "$ROOT/linuxrc"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
# the loader's cache for the root's own library directories
printf '/usr/lib/x86_64-linux-gnu\n' >"$ROOT/etc/ld.so.conf"
ldconfig -r "$ROOT"

# --- kernel modules ------------------------------------------------------
# MODULES and their dependencies (transitively: modules.dep lists them all).
# Names in modules.dep are paths; module names treat - and _ alike.
declare -A want=()
for m in $MODULES; do
	m=${m//-/_}
	line=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n);
		gsub(/-/, "_", n); if (n == m) { print; exit } }' "$KMOD/modules.dep")
	if [ -z "$line" ]; then
		# built into the kernel: nothing to load
		grep -qE "/${m//_/[-_]}\.ko$" "$KMOD/modules.builtin" && {
			log "module $m: built in"
			continue
		}
		die "module $m: not in $KVER's modules.dep nor modules.builtin"
	fi
	for f in ${line//:/ }; do want[$f]=1; done
done
for f in "${!want[@]}"; do
	install -D -m 0644 "$KMOD/$f" "$ROOT/lib/modules/$KVER/$f"
done
cp "$KMOD/modules.builtin" "$KMOD/modules.order" "$ROOT/lib/modules/$KVER/"
# the image's own modules.dep (busybox modprobe reads it), from what is in it
"$BUSYBOX" depmod -b "$ROOT" "$KVER"
log "${#want[@]} modules for: $(tr -s '\n ' '  ' <<<"$MODULES")"

# --- init ----------------------------------------------------------------
install -m 0755 "$GUEST_DIR/init" "$ROOT/init"
install -m 0755 "$GUEST_DIR/guest-lib.sh" "$ROOT/guest/lib.sh"

# --- pack ----------------------------------------------------------------
log "packing the initramfs"
cp "$KDIR/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
# newc cpio, owned by root; sorted so that the same inputs give the same
# archive. gzip -6: the guest decompresses it under TCG at boot.
# "." is in it: its mode (0755) becomes the rootfs's, and EAL refuses to
# load plugins from under a world-writable directory (the default rootfs is).
chmod 0755 "$ROOT"
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
	gzip -6 -n >"$WORK/initramfs.cpio.gz"

{
	echo "kernel: $KPKG ($(basename "$KDEB")), $KVER"
	echo "busybox: $(basename "$BBDEB")"
	echo "modules: $(cd "$ROOT/lib/modules/$KVER" && find . -name '*.ko' | sed 's|.*/||' | sort | tr '\n' ' ')"
	echo "agent binaries: $AGENT_BINS (from $BIN_DIR)"
	echo "root: $(find "$ROOT" -mindepth 1 | wc -l) entries, $(du -sh "$ROOT" | cut -f1) unpacked"
	echo "initramfs: $(du -h "$WORK/initramfs.cpio.gz" | cut -f1)"
	echo "built: $(date -u +%FT%TZ) in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
} >"$WORK/manifest.txt"
# moved into place last: an interrupted build leaves the old image intact
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
mv -f "$WORK/manifest.txt" "$OUT/manifest.txt"
cat "$OUT/manifest.txt" >&2
log "done: $OUT"
