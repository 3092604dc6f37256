#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The netns lab shared by the demo, the scenario tests and the benchmarks
# (see "The lab" in the design and tests/lab/README.md).
#
#   lab.sh up     [PREFIX]   build the lab (fails if any part of it exists)
#   lab.sh down   [--check] [PREFIX]
#                            tear it down; safe to repeat and after a crash.
#                            What agentd should have removed and had not (BPF
#                            pins, DPDK runtime dir and hugepage files of the
#                            prefix) is removed too and reported on stderr;
#                            with --check (the scenario tests) that is exit 3
#   lab.sh status [PREFIX]   print what exists; exit 0 complete, 1 absent,
#                            2 partial
#
# PREFIX (default "lab") makes every name unique, so labs can coexist.
# AGT_LAB_HOSTS=2: a second hypervisor host on the same wire, as the seed's
# two-host setup: ${P}-host1 with its NIC (nic0, a veth to the wire's eth1)
# and one VM, ${P}-h1vm1 (10.10.3.11/24, fd00:30::11/64, behind host 1's
# vm1p; host 1's agentd gives it 10.10.3.1 / fd00:30::1 and the underlay
# 192.168.100.3 / fd00:100::3). The wire then switches: its eth0 and eth1
# are ports of a bridge wbr0 that carries its addresses; it routes
# 10.10.3.0/24 and fd00:30::/64 via host 1. DPDK file prefix and BPF pin
# name of host 1: ${P}h1 (down removes their leftovers too).
# AGT_LAB_WIRE_DEV=NETDEV (the guest bed, tests/guest/): the wire's end is
# that existing netdev (a NIC cabled to the host's NIC) instead of a veth,
# and the host is the caller's own namespace, not ${P}-host, because the
# host's NIC is a PCI device whose netdev a rebind creates there; its
# IPv6 DAD sysctls are set as the lab's namespaces' are.
# AGT_LAB_WIRE_DEV2=NETDEV (with AGT_LAB_WIRE_DEV only: the guest bed with
# 4 NICs): a second existing netdev, cabled to the host's second NIC, goes
# into the wire namespace as eth1, down, without address: the other member
# of the bond a test makes there (a bonded uplink). Both go back to the
# caller's namespace under their names at down.
#
#   ${P}-vm1  eth0 10.10.1.11/24 fd00:10::11/64 ──── vm1p ┐ DOWN, unattached
#   ${P}-vm2  eth0 10.10.1.12/24 fd00:10::12/64 ──── vm2p ┤ ${P}-host
#   ${P}-wire eth0 192.168.100.2/24 fd00:100::2/64 ── nic0 ┘ UP, no address
#   ${P}-wire rvm0 10.10.2.1/24 fd00:20::1/64 ── ${P}-rvm eth0 10.10.2.2/24
#                                                          fd00:20::2/64
#
# What is deliberately NOT done here, because it is agentd's job: br-vm, its
# addresses, attaching vm1p/vm2p, the host's underlay addresses and routes,
# forwarding sysctls in ${P}-host, eBPF programs.
set -euo pipefail

readonly BPFFS=/run/agentd/bpffs

usage() {
	echo "usage: $0 up|down [--check]|status [PREFIX]   (PREFIX default: lab)" >&2
	exit 64
}

die() {
	echo "lab.sh: error: $*" >&2
	exit 1
}

CHECK=0
if [[ $# -ge 2 && $1 == down && $2 == --check ]]; then
	CHECK=1
	set -- "$1" "${@:3}"
fi
readonly CHECK
[[ $# -ge 1 && $# -le 2 ]] || usage
readonly CMD=$1
readonly P=${2:-lab}
# Netns names become file names under /run/netns; keep them boring.
[[ $P =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$ ]] ||
	die "bad PREFIX '$P' (letters, digits, '_', '.', '-'; at most 31 chars)"
[[ $EUID -eq 0 ]] || die "must run as root"

readonly WIRE_DEV=${AGT_LAB_WIRE_DEV:-}
readonly WIRE_DEV2=${AGT_LAB_WIRE_DEV2:-}
[[ -z $WIRE_DEV2 || -n $WIRE_DEV ]] || die "AGT_LAB_WIRE_DEV2 needs AGT_LAB_WIRE_DEV (the guest bed)"
if [[ -n $WIRE_DEV ]]; then
	readonly NS_HOST= # the caller's namespace
	ALL_NS=("$P-vm1" "$P-vm2" "$P-wire" "$P-rvm")
else
	readonly NS_HOST=$P-host
	ALL_NS=("$NS_HOST" "$P-vm1" "$P-vm2" "$P-wire" "$P-rvm")
fi
readonly NS_VM1=$P-vm1 NS_VM2=$P-vm2 NS_WIRE=$P-wire NS_RVM=$P-rvm
readonly HOSTS=${AGT_LAB_HOSTS:-1}
[[ $HOSTS == 1 || $HOSTS == 2 ]] || die "AGT_LAB_HOSTS=$HOSTS: 1 or 2"
[[ $HOSTS == 1 || -z $WIRE_DEV ]] || die "AGT_LAB_HOSTS=2 is a netns lab only (no AGT_LAB_WIRE_DEV)"
readonly NS_HOST1=$P-host1 NS_H1VM1=$P-h1vm1
# (down and status look at host 1's namespaces whenever they exist)
EXTRA_NS=()
if [[ $HOSTS == 2 ]] || [[ -e /run/netns/$NS_HOST1 || -e /run/netns/$NS_H1VM1 ]]; then
	EXTRA_NS=("$NS_HOST1" "$NS_H1VM1")
fi
ALL_NS=("${ALL_NS[@]}" "${EXTRA_NS[@]}")
readonly EXTRA_NS ALL_NS

ns_exists() {
	[[ -e /run/netns/$1 ]]
}

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# sysctl inside a namespace, failing loudly (sysctl -q hides nothing on error).
ns_sysctl() {
	in_ns "$1" sysctl -q -w "$2" >/dev/null || die "$1: sysctl $2 failed"
}

# ip netns exec remounts /sys, so /sys/fs/bpf is not a bpffs inside it; libbpf
# pinning and libxdp (DPDK af_xdp PMD) need one that every namespace sees.
# Shared by all labs, so it is mounted once and never unmounted here.
# Serialised with flock: two labs coming up at once must not stack two mounts
# (the second would hide what the first pinned).
ensure_bpffs() {
	mkdir -p "$BPFFS"
	(
		flock 9
		if [[ "$(stat -f -c %T "$BPFFS" 2>/dev/null)" == bpf_fs ]]; then
			exit 0
		fi
		if mountpoint -q "$BPFFS" 2>/dev/null; then
			die "$BPFFS is a mount point but not a bpffs"
		fi
		mount -t bpf bpf "$BPFFS" || die "cannot mount bpffs at $BPFFS"
		echo "mounted bpffs at $BPFFS"
	) 9>"${BPFFS%/*}/.bpffs.lock"
}

# veth pair created directly inside the two namespaces: nothing ever appears in
# the caller's namespace, so equal names in different labs cannot collide.
# (An empty NS_A is the caller's: the host in the guest bed.)
veth_pair() {
	local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4
	ip link add name "$if_a" ${ns_a:+netns "$ns_a"} type veth peer name "$if_b" netns "$ns_b" ||
		die "cannot create veth $ns_a/$if_a <-> $ns_b/$if_b"
}

# ip in the host's namespace
host_ip() { ip ${NS_HOST:+-n "$NS_HOST"} "$@"; }

addr() { # NS IFACE ADDR/LEN
	local nodad=()
	[[ $3 == *:* ]] && nodad=(nodad)
	ip -n "$1" addr add "$3" dev "$2" "${nodad[@]}" || die "$1: cannot add $3 to $2"
}

up_failed() {
	echo "lab.sh: up $P failed, removing what was built" >&2
	lab_down >/dev/null 2>&1 || true
}

lab_up() {
	local ns
	for ns in "${ALL_NS[@]}"; do
		ns_exists "$ns" && die "namespace $ns already exists; run '$0 down $P' first"
	done

	ensure_bpffs
	# A CI run lists the labs it made, so that its safety net removes those
	# and never another run's (or an operator's).
	if [[ -n ${AGT_LAB_REGISTRY:-} ]]; then
		echo "$P" >>"$AGT_LAB_REGISTRY"
	fi

	# From here on, any failure (set -e or die) removes what was built.
	trap up_failed EXIT

	for ns in "${ALL_NS[@]}"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		# No DAD: IPv6 addresses must be usable as soon as the lab is up.
		# "default" must be set before the veths exist so they inherit it.
		ns_sysctl "$ns" net.ipv6.conf.all.accept_dad=0
		ns_sysctl "$ns" net.ipv6.conf.default.accept_dad=0
	done

	if [[ -n $WIRE_DEV ]]; then
		# the host: the caller's namespace (no DAD, as in the others)
		sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null
		ip link set "$WIRE_DEV" down
		ip link set "$WIRE_DEV" netns "$NS_WIRE" || die "cannot move $WIRE_DEV into $NS_WIRE"
		ip -n "$NS_WIRE" link set "$WIRE_DEV" name eth0
		if [[ -n $WIRE_DEV2 ]]; then
			ip link set "$WIRE_DEV2" down
			ip link set "$WIRE_DEV2" netns "$NS_WIRE" || die "cannot move $WIRE_DEV2 into $NS_WIRE"
			ip -n "$NS_WIRE" link set "$WIRE_DEV2" name eth1
		fi
	else
		veth_pair "$NS_HOST" nic0 "$NS_WIRE" eth0
	fi
	veth_pair "$NS_HOST" vm1p "$NS_VM1" eth0
	veth_pair "$NS_HOST" vm2p "$NS_VM2" eth0
	veth_pair "$NS_WIRE" rvm0 "$NS_RVM" eth0

	# Host: the "NIC" is up so a DPDK vdev (or the kernel) can use it; its
	# addresses, the bridge and the VM ports belong to agentd. (In the guest
	# bed, agentd takes the PCI NIC nic0 as it finds it.)
	[[ -n $WIRE_DEV ]] || host_ip link set nic0 up

	# Wire: the remote router (and, with two hosts, the switch between
	# them: its addresses on the bridge of both hosts' cables).
	local wif=eth0
	if [[ $HOSTS == 2 ]]; then
		veth_pair "$NS_HOST1" nic0 "$NS_WIRE" eth1
		veth_pair "$NS_HOST1" vm1p "$NS_H1VM1" eth0
		ip -n "$NS_HOST1" link set nic0 up
		ip -n "$NS_WIRE" link add wbr0 type bridge
		ip -n "$NS_WIRE" link set eth0 master wbr0
		ip -n "$NS_WIRE" link set eth1 master wbr0
		ip -n "$NS_WIRE" link set eth1 up
		ip -n "$NS_WIRE" link set wbr0 up
		wif=wbr0
	fi
	addr "$NS_WIRE" $wif 192.168.100.2/24
	addr "$NS_WIRE" $wif fd00:100::2/64
	addr "$NS_WIRE" rvm0 10.10.2.1/24
	addr "$NS_WIRE" rvm0 fd00:20::1/64
	ip -n "$NS_WIRE" link set eth0 up
	ip -n "$NS_WIRE" link set rvm0 up
	ns_sysctl "$NS_WIRE" net.ipv4.ip_forward=1
	ns_sysctl "$NS_WIRE" net.ipv6.conf.all.forwarding=1
	ip -n "$NS_WIRE" route add 10.10.1.0/24 via 192.168.100.1
	ip -n "$NS_WIRE" -6 route add fd00:10::/64 via fd00:100::1
	if [[ $HOSTS == 2 ]]; then
		ip -n "$NS_WIRE" route add 10.10.3.0/24 via 192.168.100.3
		ip -n "$NS_WIRE" -6 route add fd00:30::/64 via fd00:100::3
	fi
	# Checksum trade-off (wire -> VM direction). A veth hands its peer
	# packets with CHECKSUM_PARTIAL (checksum left for "hardware" to finish).
	# A real NIC would finish it; DPDK's af_packet/af_xdp on nic0 receive the
	# raw frame and forward it with a wrong TCP/UDP checksum, so TCP stalls
	# while ping works. With tx checksum offload off on the wire end the wire
	# kernel finishes every checksum in software (and, as TSO needs tx csum,
	# segments in software too): correct frames on the "wire" like a real
	# NIC delivers, at the price of wire-side CPU, which caps wire->VM
	# throughput. Compare kernel vs. DPDK numbers with this same setting.
	# (A real NIC on the wire, the guest bed's, finishes its checksums.)
	if [[ -z $WIRE_DEV ]]; then
		in_ns "$NS_WIRE" ethtool -K eth0 tx off >/dev/null ||
			die "$NS_WIRE: ethtool -K eth0 tx off failed"
	fi
	if [[ $HOSTS == 2 ]]; then
		in_ns "$NS_WIRE" ethtool -K eth1 tx off >/dev/null ||
			die "$NS_WIRE: ethtool -K eth1 tx off failed"
	fi

	# Remote VM behind the wire.
	addr "$NS_RVM" eth0 10.10.2.2/24
	addr "$NS_RVM" eth0 fd00:20::2/64
	ip -n "$NS_RVM" link set eth0 up
	ip -n "$NS_RVM" route add default via 10.10.2.1
	ip -n "$NS_RVM" -6 route add default via fd00:20::1

	# Local VMs (their host ends stay down until agentd attaches them).
	addr "$NS_VM1" eth0 10.10.1.11/24
	addr "$NS_VM1" eth0 fd00:10::11/64
	addr "$NS_VM2" eth0 10.10.1.12/24
	addr "$NS_VM2" eth0 fd00:10::12/64
	for ns in "$NS_VM1" "$NS_VM2"; do
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via 10.10.1.1
		ip -n "$ns" -6 route add default via fd00:10::1
	done
	if [[ $HOSTS == 2 ]]; then
		addr "$NS_H1VM1" eth0 10.10.3.11/24
		addr "$NS_H1VM1" eth0 fd00:30::11/64
		ip -n "$NS_H1VM1" link set eth0 up
		ip -n "$NS_H1VM1" route add default via 10.10.3.1
		ip -n "$NS_H1VM1" -6 route add default via fd00:30::1
	fi

	trap - EXIT
	echo "lab $P is up: namespaces ${ALL_NS[*]}"
}

# Kill everything whose network namespace is NS (ip netns pids finds processes
# started with ip netns exec and anything that setns()'d into it).
kill_ns_procs() {
	local ns=$1 pids i
	pids=$(ip netns pids "$ns" 2>/dev/null | grep -vx "$$" || true)
	[[ -n $pids ]] || return 0
	echo "$ns: stopping pids ${pids//$'\n'/ }"
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null | grep -vx "$$" || true)
		[[ -n $pids ]] || return 0
		sleep 0.1
	done
	echo "$ns: killing pids ${pids//$'\n'/ }"
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null | grep -vx "$$" || true)
		[[ -n $pids ]] || return 0
		sleep 0.1
	done
	echo "$ns: warning: pids still alive (uninterruptible?): ${pids//$'\n'/ }" >&2
}

# What a stopped agentd leaves behind must be nothing: a leftover found here
# is removed, and said (a crashed run has some; a clean stop must not).
leftover() { # what path...
	local what=$1
	shift
	echo "lab.sh: $P: removing leftover $what: $*" >&2
	leftovers=1
	rm -rf -- "$@" || { echo "lab.sh: cannot remove $*" >&2; rc=1; }
}

# A wire NIC (the guest bed's) back from the wire namespace: down, no
# address, out of the bond a test may have made of it, its name again.
wire_dev_back() { # NAME_IN_WIRE NETDEV
	ip -n "$NS_WIRE" link show "$1" >/dev/null 2>&1 || return 0
	ip -n "$NS_WIRE" link set "$1" down
	ip -n "$NS_WIRE" link set "$1" nomaster
	ip -n "$NS_WIRE" addr flush dev "$1"
	ip -n "$NS_WIRE" link set "$1" name "$2"
	ip -n "$NS_WIRE" link set "$2" netns $$ ||
		echo "lab.sh: cannot move $2 back" >&2
}

lab_down() {
	local ns found=0 rc=0 leftovers=0 mnt files
	for ns in "${ALL_NS[@]}"; do
		ns_exists "$ns" || continue
		found=1
		kill_ns_procs "$ns"
	done
	# The wire's NICs go back to the caller's namespace under their names
	# (a deleted namespace would return them to the initial one as ethN).
	if [[ -n $WIRE_DEV ]] && ns_exists "$NS_WIRE"; then
		wire_dev_back eth0 "$WIRE_DEV"
		[[ -z $WIRE_DEV2 ]] || wire_dev_back eth1 "$WIRE_DEV2"
	fi
	# Deleting a namespace destroys the veths in it, and so their peers.
	for ns in "${ALL_NS[@]}"; do
		ns_exists "$ns" || continue
		if ! ip netns del "$ns"; then
			echo "lab.sh: cannot delete namespace $ns" >&2
			rc=1
		fi
	done
	# Leftovers of a crashed run, or of a leak: this lab's pins (the bpffs
	# itself is shared and stays mounted), the DPDK runtime dir and hugepage
	# files of --file-prefix $P. Nothing outside this prefix.
	local pfx pfxs=("$P")
	[[ ${#EXTRA_NS[@]} -eq 0 ]] || pfxs+=("${P}h1")
	for pfx in "${pfxs[@]}"; do
		if [[ -e $BPFFS/$pfx ]]; then
			found=1
			leftover "BPF pins ($(find "$BPFFS/$pfx" -mindepth 1 -printf '%P ' 2>/dev/null))" \
				"${BPFFS:?}/$pfx"
		fi
		if [[ -d /run/dpdk/$pfx ]]; then
			found=1
			leftover "DPDK runtime dir ($(find "/run/dpdk/$pfx" -mindepth 1 -printf '%P ' 2>/dev/null))" \
				"/run/dpdk/$pfx"
		fi
		for mnt in $(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts); do
			files=$(compgen -G "$mnt/${pfx}map_*" || true)
			if [[ -n $files ]]; then
				found=1
				# shellcheck disable=SC2086
				leftover "hugepage files" $files
			fi
		done
	done
	if ((rc != 0)); then
		return "$rc"
	fi
	if ((leftovers && CHECK)); then
		echo "lab.sh: $P: down --check: agentd left the above behind" >&2
		return 3
	fi
	if ((found)); then
		echo "lab $P is down"
	else
		echo "lab $P: nothing to remove"
	fi
}

lab_status() {
	local ns n=0 pids
	for ns in "${ALL_NS[@]}"; do
		if ! ns_exists "$ns"; then
			echo "== $ns: absent"
			continue
		fi
		n=$((n + 1))
		echo "== $ns"
		ip -n "$ns" -br link | sed 's/^/  link  /'
		ip -n "$ns" -br addr | awk 'NF > 2' | sed 's/^/  addr  /'
		ip -n "$ns" route | sed 's/^/  route /'
		ip -n "$ns" -6 route | grep -v '^fe80\|^multicast\|^ff00' | sed 's/^/  route /' || true
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [[ -n $pids ]]; then
			# shellcheck disable=SC2086
			ps -o pid=,comm= -p $pids 2>/dev/null | sed 's/^ */  proc  /' || true
		fi
	done
	if [[ "$(stat -f -c %T "$BPFFS" 2>/dev/null)" == bpf_fs ]]; then
		echo "== bpffs: mounted at $BPFFS"
	else
		echo "== bpffs: NOT mounted at $BPFFS"
	fi
	if [[ -e $BPFFS/$P ]]; then
		echo "   pins in $BPFFS/$P:"
		find "$BPFFS/$P" -mindepth 1 | sed 's/^/     /'
	fi
	if ((n == ${#ALL_NS[@]})); then
		echo "lab $P: complete"
		return 0
	elif ((n == 0)); then
		echo "lab $P: absent"
		return 1
	fi
	echo "lab $P: partial ($n of ${#ALL_NS[@]} namespaces)"
	return 2
}

case $CMD in
up) lab_up ;;
down) lab_down ;;
status) lab_status ;;
*) usage ;;
esac
