#!/bin/bash
# Scenario: routes added and removed at runtime in the host namespace (as a
# routing daemon would) are used by DPDK without restarting anything; a VM
# port added to the bridge after start is attached and fast-pathed.
. "$(dirname "$0")/lib.sh"
extra_cleanup() { ip netns del "$P-vm3" 2>/dev/null || true; }
scenario_init routes

start_fast
# A second remote prefix behind the wire router.
in_ns wire ip addr add 10.10.3.1/32 dev lo
in_ns wire ip addr add fd00:30::1/128 dev lo
ping_ok vm1 10.10.2.2 || fail "baseline ping"

in_ns host ip route add 10.10.3.0/24 via 192.168.100.2 proto bird
in_ns host ip -6 route add fd00:30::/64 via fd00:100::2 proto bird
sleep 0.2
agentctl routes --json | jq -e '[.[] | objects | select(.dst == "10.10.3.0/24" and .path == "underlay")] | length == 1' >/dev/null ||
	fail "the dataplane did not mirror 10.10.3.0/24 as an underlay route"
# the first packet of each family may find the next hop unresolved
ping_ok vm1 10.10.3.1 1 || fail "vm1 cannot reach 10.10.3.1 via the new route"
ping_ok vm1 fd00:30::1 1 || fail "vm1 cannot reach fd00:30::1 via the new route"
v0=$(fwd fast_vm_to_wire)
in_ns vm1 ping -c 20 -i 0.02 -q 10.10.3.1 >/dev/null || fail "vm1 cannot reach 10.10.3.1 via the new route"
in_ns vm1 ping -6 -c 20 -i 0.02 -q fd00:30::1 >/dev/null || fail "vm1 cannot reach fd00:30::1 via the new route"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge 40 ] || fail "the new routes were not used by the fast path"
pass "routes added with ip route are used by DPDK"

n0=$(fwd punt_no_route)
in_ns host ip route del 10.10.3.0/24
in_ns host ip -6 route del fd00:30::/64
sleep 0.2
agentctl routes --json | jq -e '[.[] | objects | select(.dst == "10.10.3.0/24")] | length > 0' >/dev/null &&
	fail "10.10.3.0/24 still in the dataplane's FIB after ip route del"
in_ns vm1 ping -c 2 -W 1 10.10.3.1 >/dev/null 2>&1 && fail "10.10.3.1 still reachable without a route"
[ $(($(fwd punt_no_route) - n0)) -ge 2 ] || fail "removed route not seen by DPDK (punt_no_route)"
pass "routes removed with ip route stop being used"

# A new VM port joins the bridge (as a VM orchestrator would do it).
ip netns add "$P-vm3"
in_ns host ip link add vm3p type veth peer name eth0 netns "$P-vm3"
ip netns exec "$P-vm3" sh -c 'ip link set lo up; ip link set eth0 up;
	ip addr add 10.10.1.13/24 dev eth0; ip route add default via 10.10.1.1'
in_ns host ip link set vm3p master br-vm up
wait_steering_on_port vm3p on || fail "steer_vm_ingress not attached to the new port vm3p"
r0=$(steer_cnt vm_redirected)
v0=$(fwd fast_vm_to_wire)
ip netns exec "$P-vm3" ping -c 20 -i 0.02 -q 10.10.2.2 >/dev/null || fail "vm3 cannot reach the remote VM"
[ $(($(steer_cnt vm_redirected) - r0)) -ge 19 ] || fail "vm3's traffic was not redirected by eBPF"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge 19 ] || fail "vm3's traffic was not forwarded by DPDK"
pass "a port added after start is attached and fast-pathed"

in_ns host ip link set vm3p nomaster
wait_steering_on_port vm3p off || fail "program still attached after vm3p left the bridge"
pass "a port leaving the bridge is detached"

finish
