#!/bin/bash
# Scenario (the reason this project exists): bulk VM <-> remote traffic is
# forwarded by DPDK and moved by eBPF, not by kernel IP forwarding. iperf3 TCP
# both ways and a UDP stream between vm1 and the remote VM: the host
# namespace's IpForwDatagrams grows by at most 0.1 % of the packets moved,
# while the dataplane's fast-path counters account for them.
. "$(dirname "$0")/lib.sh"
scenario_init fastpath

start_fast
# Resolve the neighbours first (the kernel's job, on the slow path).
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
ping_ok rvm 10.10.1.11 || fail "the remote VM cannot reach vm1"

k0=$(kernel_fwd)
w0=$(fwd fast_wire_to_vm)
v0=$(fwd fast_vm_to_wire)
# eBPF counters as deltas over the traffic below (the pings above already
# made the totals non-zero); VM frames passed to the kernel (not steered)
vm_pass() {
	status_json | jq '[.steering.counters | to_entries[] | select(.key | startswith("vm_pass")) | .value.packets] | add'
}
tso0=$(($(fwd offload_tso_sw) + $(fwd offload_tso_hw)))
segs0=$(($(fwd offload_tso_sw_segs) - $(fwd offload_tso_sw)))
r0=$(steer_cnt vm_redirected)
e0=$(steer_cnt exc_redirected)
p0=$(vm_pass)

iperf() { iperf_run "$1" rvm vm1 10.10.2.2 "${@:2}"; } # name client-args...
iperf up -t 3
iperf down -t 3 -R
up=$(jq '.end.sum_received.bits_per_second' "$WORK/iperf-up.json")
down=$(jq '.end.sum_received.bits_per_second' "$WORK/iperf-down.json")

# An exception port with the kernel's offloads (virtio-user over vhost-net,
# the guest bed): the VM's TCP reached DPDK as super-packets, every one
# finished (by the NIC's TSO or cut here) and none dropped; iperf3 above
# completed, so no frame left with a bad checksum stalled it.
if st .exception.dpdk.rx_offloads | grep -q TCP_LRO; then
	tso=$(($(fwd offload_tso_sw) + $(fwd offload_tso_hw) - tso0))
	[ "$tso" -gt 100 ] || fail "only $tso TCP super-packets from the kernel during iperf3 (exception offloads: $(st .exception.dpdk.rx_offloads))"
	[ "$(fwd drop_offload)" -eq 0 ] || fail "$(fwd drop_offload) packets dropped finishing offloads"
	pass "kernel offloads: $tso TCP super-packets ($(fwd offload_tso_hw) to the NIC's TSO, $(fwd offload_tso_sw) cut into $(fwd offload_tso_sw_segs) frames here), $(fwd offload_csum_sw) checksums done here, $(fwd offload_csum_hw) by the NIC"
fi

# UDP: every datagram the remote VM received went through the DPDK fast path.
v1=$(fwd fast_vm_to_wire)
iperf udp -u -b 200M -l 1200 -t 3
v2=$(fwd fast_vm_to_wire)
udp_rx=$(jq '.end.sum.packets - .end.sum.lost_packets' "$WORK/iperf-udp.json")
[ "$udp_rx" -gt 1000 ] || fail "UDP stream too small ($udp_rx datagrams)"
[ $((v2 - v1)) -ge "$udp_rx" ] ||
	fail "fast_vm_to_wire grew by $((v2 - v1)) < $udp_rx UDP datagrams received"
pass "UDP: $udp_rx datagrams received, fast_vm_to_wire +$((v2 - v1))"

k1=$(kernel_fwd)
# (frames: a super-packet cut into N frames is one routing decision)
moved=$(($(fwd fast_wire_to_vm) - w0 + $(fwd fast_vm_to_wire) - v0 +
	$(fwd offload_tso_sw_segs) - $(fwd offload_tso_sw) - segs0))
kfwd=$((k1 - k0))
[ "$moved" -gt 100000 ] || fail "the fast path moved only $moved packets"
# at most 0.1 %: kfwd * 1000 <= moved
[ $((kfwd * 1000)) -le "$moved" ] ||
	fail "kernel forwarded $kfwd packets, more than 0.1 % of the $moved moved by DPDK"
# IpForwDatagrams counts skbs (a GSO batch is one), so it is not the only
# witness: every VM frame of the traffic was steered to dp0 by eBPF (a
# redirected skb can be a GSO batch of many frames: DPDK forwards at least
# as many frames), frames to the VMs were redirected to their ports, and
# the VM frames passed to the kernel stayed at ~0.
rd=$(($(steer_cnt vm_redirected) - r0))
ed=$(($(steer_cnt exc_redirected) - e0))
pd=$(($(vm_pass) - p0))
[ "$rd" -gt 1000 ] || fail "only $rd VM skbs redirected by eBPF during the traffic"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge "$rd" ] ||
	fail "DPDK forwarded $(($(fwd fast_vm_to_wire) - v0)) VM frames, fewer than the $rd skbs eBPF steered to it"
[ "$ed" -gt 1000 ] || fail "only $ed frames redirected to the VM ports during the traffic"
[ $((pd * 1000)) -le $((moved + 20000)) ] ||
	fail "$pd VM frames passed to the kernel by eBPF during the traffic (moved $moved)"
log "eBPF during the traffic: $rd VM skbs steered to dp0, $ed frames to VM ports, $pd passed to the kernel"
share=$(awk -v m="$moved" -v k="$kfwd" 'BEGIN { printf "%.4f", 100 * k / (m + k) }')
pass "bypass: DPDK moved $moved packets, kernel forwarded $kfwd ($share %)"
pass "iperf3 TCP vm1->remote $(awk -v b="$up" 'BEGIN{printf "%.2f", b/1e9}') Gb/s, remote->vm1 $(awk -v b="$down" 'BEGIN{printf "%.2f", b/1e9}') Gb/s (fast path)"

agentctl status >"$WORK/status.txt"
grep "forwarded by DPDK" "$WORK/status.txt" >/dev/null || fail "agentctl status lacks the traffic split"
grep "kernel IP forwarding" "$WORK/status.txt" >/dev/null || fail "agentctl status lacks IpForwDatagrams"

finish
