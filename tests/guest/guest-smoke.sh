#!/bin/bash
# The guest bed's first check (tests/guest/run-guest.sh runs it in the TCG
# guest): what the dataplane needs from a real host kernel is there, and
# DPDK drives the guest's virtio-net PCI NIC, below agentd.
#
#  1. modules: the ones init2 loaded (vfio, vhost-net, tun, veth, ...)
#  2. device nodes: /dev/vhost-net, /dev/net/tun, /dev/vfio/vfio
#  3. the NIC nic0 (virtio-net PCI, modern: 1af4:1041) is bound to
#     virtio-pci
#  4. it moves to vfio-pci (driver_override + drivers_probe) and back to
#     virtio-pci; vfio runs with the guest's (emulated) IOMMU, or in no-IOMMU
#     mode on a kernel that has it (Debian's 6.1 has not)
#  5. 2 MB hugepages reserved, hugetlbfs mounted (by init2)
#  6. agent-dataplane on the PCI NIC (vfio-pci) with a TAP PMD exception
#     port: DPDK's virtio PMD probes it, the dataplane runs, stops with exit 0
#  7. the same with the exception port agentd picks where /dev/vhost-net
#     exists: virtio-user over vhost-net; its tap netdev shows in `ip link`
# Each step prints its duration; the first failure ends the test.
source "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
PATH=$BIN_DIR:$PATH

MODULES="virtio_pci virtio_net vfio vfio_pci vfio_iommu_type1 tun tap vhost vhost_iotlb vhost_net
veth bridge sch_multiq cls_flower act_gact act_mirred act_skbedit cls_bpf act_bpf"
NR_HUGEPAGES=512 # 1 GiB of the guest's 2: the dataplane's pool + small FIBs
EXC_IF=agtexc0   # the exception netdev (agentd's exception.ifname)
BRIDGE=agtbr0    # a bridge, so the dataplane's FIB mirror runs as under agentd
NIC=             # the NIC's PCI address, found in step 3
IOMMU_MODE=      # "iommu" or "noiommu", decided in step 4

step_modules() {
	local m
	for m in $MODULES; do
		[ -d "/sys/module/$m" ] || fail "module $m not loaded"
	done
	log "loaded: $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
}

step_devnodes() {
	local d
	for d in /dev/vhost-net /dev/net/tun /dev/vfio/vfio; do
		[ -c "$d" ] || fail "$d missing"
		log "$d: $(ls -l "$d")"
	done
}

pci_driver() { # BDF -> driver name, or "none"
	local l=/sys/bus/pci/devices/$1/driver
	if [ -e "$l" ]; then basename "$(readlink "$l")"; else echo none; fi
}

# the netdev virtio-net made for BDF (empty if none)
nic_netdev() {
	local n
	for n in "/sys/bus/pci/devices/$1"/virtio*/net/*; do
		[ -e "$n" ] && basename "$n"
	done
	return 0
}
has_netdev() { [ -n "$(nic_netdev "$NIC")" ]; }

step_find_nic() {
	local d
	for d in /sys/bus/pci/devices/*; do
		log "pci $(basename "$d") $(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class") driver $(pci_driver "$(basename "$d")")"
	done
	# nic0 (init2 named it by its MAC): its PCI device is its parent's parent
	# (virtio-net's netdev sits on the virtio device, on the PCI device)
	[ -e /sys/class/net/nic0 ] || fail "no nic0"
	NIC=$(basename "$(readlink -f /sys/class/net/nic0/device/..)")
	[ "$(cat "/sys/bus/pci/devices/$NIC/device")" = 0x1041 ] || fail "nic0 ($NIC) is not a modern virtio-net PCI device"
	echo "$NIC" >/run/agtguest-nic
	[ "$(pci_driver "$NIC")" = virtio-pci ] || fail "$NIC bound to $(pci_driver "$NIC"), not virtio-pci"
	log "NIC $NIC: virtio-pci, netdev $(nic_netdev "$NIC"), iommu_group $(basename "$(readlink "/sys/bus/pci/devices/$NIC/iommu_group" 2>/dev/null)" 2>/dev/null || echo none)"
}

# bind BDF to DRIVER: driver_override, unbind, drivers_probe (what agentd's
# nic_handover does for a vfio-pci NIC)
pci_bind() { # BDF DRIVER
	local bdf=$1 drv=$2 dev=/sys/bus/pci/devices/$1
	echo "$drv" >"$dev/driver_override"
	if [ -e "$dev/driver" ]; then
		echo "$bdf" >"$dev/driver/unbind"
	fi
	echo "$bdf" >/sys/bus/pci/drivers_probe
	# an empty override again: the device is the next probe's to take
	echo >"$dev/driver_override"
	[ "$(pci_driver "$bdf")" = "$drv" ] || fail "$bdf: bound to $(pci_driver "$bdf") instead of $drv"
}

vfio_group_node() { # BDF -> /dev/vfio/... of its group
	local g
	g=$(basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")")
	if [ "$IOMMU_MODE" = noiommu ]; then echo "/dev/vfio/noiommu-$g"; else echo "/dev/vfio/$g"; fi
}

step_vfio_roundtrip() {
	local groups p=/sys/module/vfio/parameters/enable_unsafe_noiommu_mode
	groups=$(ls /sys/kernel/iommu_groups | wc -l)
	if [ ! -e "$p" ]; then
		log "note: this kernel's vfio has no enable_unsafe_noiommu_mode (CONFIG_VFIO_NOIOMMU unset)"
		dmesg | grep -i 'noiommu' | sed 's/^/dmesg| /' || true
	fi
	if [ "$groups" -gt 0 ]; then
		IOMMU_MODE=iommu
		log "IOMMU present ($groups groups): vfio in IOMMU mode"
		dmesg | grep -i -E 'DMAR|IOMMU' | head -n 8 | sed 's/^/dmesg| /' || true
	elif [ -e "$p" ] && [ "$(cat "$p")" = Y ]; then
		IOMMU_MODE=noiommu
		log "no IOMMU: vfio in no-IOMMU mode"
	else
		fail "no IOMMU and no vfio no-IOMMU mode (kernel without CONFIG_VFIO_NOIOMMU; boot with intel_iommu=on and an IOMMU device)"
	fi
	echo "$IOMMU_MODE" >/run/agtguest-iommu-mode

	pci_bind "$NIC" vfio-pci
	[ -c "$(vfio_group_node "$NIC")" ] || fail "$(vfio_group_node "$NIC") missing"
	[ -z "$(nic_netdev "$NIC")" ] || fail "netdev still there under vfio-pci"
	log "$NIC -> vfio-pci, $(vfio_group_node "$NIC")"
	pci_bind "$NIC" virtio-pci
	wait_for 10 has_netdev || fail "$NIC back on virtio-pci but no netdev"
	# the kernel named it ethN: its name again (as agentd does)
	ip link set "$(nic_netdev "$NIC")" name nic0
	log "$NIC -> virtio-pci again, netdev $(nic_netdev "$NIC")"
}

step_hugepages() {
	local f=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	[ "$(cat "$f")" -gt 0 ] || fail "no 2 MB hugepages reserved"
	grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts || fail "hugetlbfs not mounted"
	log "$(grep -E 'HugePages_(Total|Free)|Hugepagesize' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
}

# Run agent-dataplane as agentd does (agent/dataplane.c build_argv: -l,
# --file-prefix, EAL args, -a NIC, --vdev EXCEPTION, then ours), until it
# reports "running", then stop it with SIGTERM and expect exit 0.
# The FIB sizes are small (the defaults hold a full Internet table, ~600 MiB);
# the memory comes from the hugepages (no --no-huge: vfio needs IOVA-able
# memory).
DP_PID=
run_dataplane() { # NAME EXC_VDEV EXC_PORT
	local name=$1 vdev=$2 port=$3 logf=/run/agtguest-dp-$1.log rc=0
	local args=(agent-dataplane -l 0-1 --file-prefix agtguest --huge-unlink
		-a "$NIC" --vdev "$vdev"
		-- --nic "$NIC" --exception "$port" --burst 32 --idle-sleep-max-us 500
		--error-file "/run/agentd/agtguest-$name.err" --mbufs 8191
		--bridge "$BRIDGE" --exc-ifname "$EXC_IF"
		--fib-rules 65536 --fib6-rules 16384 --neighbours 4096)
	mkdir -p /run/agentd
	log "${args[*]}"
	"${args[@]}" >"$logf" 2>&1 &
	DP_PID=$!
	# running, or dead
	wait_for 180 sh -c "grep -q 'running: ' $logf || ! kill -0 $DP_PID 2>/dev/null" || true
	if ! grep -q 'running: ' "$logf"; then
		if kill -0 "$DP_PID" 2>/dev/null; then
			rc="still starting after 180s"
		else
			wait "$DP_PID" || rc="exit $?"
			DP_PID=
		fi
		show_file "dp-$name" "$logf"
		if [ -e "/run/agentd/agtguest-$name.err" ]; then
			show_file "dp-$name.err" "/run/agentd/agtguest-$name.err"
		fi
		fail "dataplane ($name) not running ($rc)"
	fi
	log "dataplane ($name) running"
}

stop_dataplane() { # NAME
	local name=$1 logf=/run/agtguest-dp-$1.log rc=0
	kill -TERM "$DP_PID"
	wait "$DP_PID" || rc=$?
	DP_PID=
	show_file "dp-$name" "$logf"
	[ "$rc" -eq 0 ] || fail "dataplane ($name) exit status $rc after SIGTERM"
	log "dataplane ($name) stopped, exit 0"
}

check_pmd_probe() { # NAME
	local logf=/run/agtguest-dp-$1.log
	grep -q "Probe PCI driver: net_virtio .* device: $NIC" "$logf" ||
		fail "no 'Probe PCI driver: net_virtio ... $NIC' in the dataplane's log"
	log "virtio PMD probed $NIC: $(grep -m1 'Probe PCI driver: net_virtio' "$logf")"
}

step_dp_pci_tap() {
	ip link add "$BRIDGE" type bridge
	ip link set "$BRIDGE" up
	pci_bind "$NIC" vfio-pci
	run_dataplane pci-tap "net_tap0,iface=$EXC_IF" net_tap0
	check_pmd_probe pci-tap
	ip -d link show "$EXC_IF" | sed 's/^/ip-link| /'
	stop_dataplane pci-tap
}

step_dp_pci_virtio_user() {
	[ -c /dev/vhost-net ] || fail "/dev/vhost-net missing"
	run_dataplane pci-vu "virtio_user0,path=/dev/vhost-net,iface=$EXC_IF,queues=1,queue_size=256" virtio_user0
	check_pmd_probe pci-vu
	ip -d link show "$EXC_IF" >/run/agtguest-exc-link 2>&1 || {
		show_file dp-pci-vu /run/agtguest-dp-pci-vu.log
		fail "$EXC_IF (vhost-net's tap) not in ip link"
	}
	sed 's/^/ip-link| /' /run/agtguest-exc-link
	grep -q 'tun type tap' /run/agtguest-exc-link || fail "$EXC_IF is not a tap device"
	# vhost-net's worker thread for the dataplane: the kernel side is in use
	ps -o pid,comm | grep -E "vhost-$DP_PID" | sed 's/^/ps| /' || log "no vhost-$DP_PID thread seen"
	stop_dataplane pci-vu
	wait_for 10 sh -c "! ip link show $EXC_IF >/dev/null 2>&1" || fail "$EXC_IF left behind after the dataplane stopped"
}

# a failed step leaves no dataplane running into the next boot step
step_cleanup() {
	if [ -n "$DP_PID" ]; then kill -KILL "$DP_PID" 2>/dev/null || true; fi
}

log "guest-smoke: $(uname -r), $(nproc) cpus, cmdline: $(cat /proc/cmdline)"
run_step modules step_modules
run_step devnodes step_devnodes
run_step find-nic step_find_nic
NIC=$(cat /run/agtguest-nic)
run_step vfio-roundtrip step_vfio_roundtrip
IOMMU_MODE=$(cat /run/agtguest-iommu-mode)
run_step hugepages step_hugepages
run_step dp-pci-tap step_dp_pci_tap
run_step dp-pci-virtio-user step_dp_pci_virtio_user
log "guest-smoke: all $STEPS_OK steps passed (vfio mode: $IOMMU_MODE)"
