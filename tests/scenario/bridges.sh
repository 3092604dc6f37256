#!/bin/bash
# Scenario: two VM bridges, each with its own prefixes and ports (bridge +
# bridges in the config). vm1 stays on br-vm (10.10.1.0/24), vm2 moves to
# br-b (10.10.4.0/24, fd00:40::/64). Both VM networks reach the wire on the
# fast path; the bridges share one gateway MAC; VMs on different bridges
# are routed to each other by the kernel; a dataplane failure falls back
# and fails back for both.
. "$(dirname "$0")/lib.sh"
scenario_init bridges

# vm2 on the second VM network
in_ns vm2 ip addr flush dev eth0
in_ns vm2 ip addr add 10.10.4.12/24 dev eth0
in_ns vm2 ip addr add fd00:40::12/64 dev eth0 nodad
in_ns vm2 ip route replace default via 10.10.4.1
in_ns vm2 ip -6 route replace default via fd00:40::1
in_ns wire ip route add 10.10.4.0/24 via 192.168.100.1
in_ns wire ip -6 route add fd00:40::/64 via fd00:100::1
sed -i -e 's|ports = \[ "vm1p", "vm2p" \];|ports = [ "vm1p" ];|' \
	-e 's|^routes = (|bridges = (\n\t{ name = "br-b"; addresses = [ "10.10.4.1/24", "fd00:40::1/64" ]; ports = [ "vm2p" ]; }\n);\n\nroutes = (|' "$CONF"
grep -q 'ports = \[ "vm1p" \];' "$CONF" && grep -q 'name = "br-b"' "$CONF" ||
	fail "config template changed: bridges not rendered"
in_ns host "$BIN_DIR/agentd" --check-config -c "$CONF" >/dev/null || fail "--check-config refuses the two bridges"

start_fast
[ "$(st '.bridges | length')" = 2 ] || fail "status lists $(st '.bridges | length') bridges"
[ "$(st '.bridges[1].name')" = br-b ] && [ "$(st '.bridges[1].ports[0].name')" = vm2p ] ||
	fail "br-b or its port missing from status: $(st .bridges)"
[ "$(in_ns host ip -o link show vm2p | grep -o 'master [^ ]*')" = "master br-b" ] || fail "vm2p not in br-b"
gw=$(in_ns host cat /sys/class/net/br-vm/address)
[ "$(in_ns host cat /sys/class/net/br-b/address)" = "$gw" ] || fail "br-b does not share br-vm's MAC $gw"
agentctl status | grep -q "^bridge: *br-b, addresses: 10.10.4.1/24" || fail "agentctl status does not show br-b"
wait_steering_on_port vm2p on || fail "steer_vm_ingress not attached to br-b's port vm2p"
pass "two bridges: br-vm (vm1p) and br-b (vm2p), one gateway MAC $gw, steering on both"

# both VM networks to the wire and back, on the fast path
ping_ok vm2 10.10.2.2 || fail "vm2 (br-b) cannot reach the remote VM"
ping_ok vm2 fd00:20::2 || fail "vm2 (br-b) cannot reach the remote VM over IPv6"
ping_ok rvm 10.10.4.12 || fail "the remote VM cannot reach vm2 (br-b)"
ping_ok vm1 10.10.2.2 || fail "vm1 (br-vm) cannot reach the remote VM"
# (every flow counted below once before: the first reply to a VM whose
# neighbour entry the kernel created a millisecond earlier, from its
# neighbour solicitation, can beat the dataplane's netlink mirror and is
# routed by the kernel — seen here as punt_unresolved +1)
ping_ok vm1 fd00:20::2 || fail "vm1 (br-vm) cannot reach the remote VM over IPv6"
v0=$(fwd fast_vm_to_wire)
w0=$(fwd fast_wire_to_vm)
k0=$(kernel_fwd)
st .forwarding >"$WORK/fwd0.json"
# 30 pings, the replies received (a ping lost on a loaded host is a loss,
# not a packet on another path: count what crossed)
pings() { in_ns "$1" ping -c 30 -i 0.02 -q "$2" | sed -n 's/.* \([0-9]*\) received.*/\1/p'; }
got=0
for dst in 10.10.2.2 fd00:20::2; do
	for vm in vm1 vm2; do got=$((got + $(pings $vm $dst))); done
done
got=$((got + $(pings rvm 10.10.4.12)))
dv=$(($(fwd fast_vm_to_wire) - v0))
dw=$(($(fwd fast_wire_to_vm) - w0))
dk=$(($(kernel_fwd) - k0))
if [ $dk -gt 0 ]; then # which counters moved besides the fast path's
	st .forwarding >"$WORK/fwd1.json"
	log "the kernel forwarded $dk; DPDK counters moved: $(jq -nc --slurpfile a "$WORK/fwd0.json" \
		--slurpfile b "$WORK/fwd1.json" '$b[0] | with_entries(select(.value | type == "number")
			| .value -= ($a[0][.key] // 0) | select(.value != 0))')"
	in_ns host ip neigh show >&2
fi
# each received ping crossed DPDK both ways
[ $dv -ge "$got" ] && [ $dw -ge "$got" ] ||
	fail "not on the fast path: $got of 150 pings answered, DPDK VM->wire +$dv, wire->VM +$dw (kernel +$dk)"
[ $dk -le 3 ] || fail "the kernel forwarded $dk packets"
[ "$got" -ge 145 ] || fail "$((150 - got)) of 150 pings lost"
iperf_run b rvm vm2 10.10.2.2 -t 3
gbps=$(jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' "$WORK/iperf-b.json")
pass "both VM networks <-> wire on the fast path ($got of 150 pings answered; DPDK +$dv/+$dw, kernel +$dk); TCP vm2 -> rvm $gbps Gb/s"

# VM to VM across the bridges: the kernel routes it (DPDK hands it back)
n0=$(fwd punt_not_fast)
k0=$(kernel_fwd)
in_ns vm1 ping -c 20 -i 0.02 -q 10.10.4.12 >/dev/null || fail "vm1 (br-vm) cannot reach vm2 (br-b)"
in_ns vm2 ping -6 -c 20 -i 0.02 -q fd00:10::11 >/dev/null || fail "vm2 (br-b) cannot reach vm1 (br-vm) over IPv6"
[ $(($(kernel_fwd) - k0)) -ge 40 ] || fail "VM to VM across bridges not routed by the kernel"
pass "vm1 <-> vm2 across the bridges, routed by the kernel (DPDK punt_not_fast +$(($(fwd punt_not_fast) - n0)))"

# a dataplane failure: both networks on the kernel, then back
dp=$(st .dataplane.pid)
kill -KILL "$dp"
wait_mode kernel 10
ping_ok vm2 10.10.2.2 || fail "vm2 cannot reach the remote VM on the kernel path"
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM on the kernel path"
wait_mode dpdk 60
for i in $(seq 100); do [ "$(st .steering.mode)" = fast ] && break; sleep 0.1; done
ping_ok vm2 10.10.2.2 || true # the first may find the next hop unresolved
v0=$(fwd fast_vm_to_wire)
in_ns vm2 ping -c 20 -i 0.02 -q 10.10.2.2 >/dev/null || fail "vm2 after the failback"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge 20 ] || fail "br-b not on the fast path after the failback"
pass "kill -9 of the dataplane: both bridges on the kernel path, then back on DPDK"

finish
