#!/bin/bash
# Scenario: MTUs. A frame too big for the link it would leave on is never
# dropped silently on the fast path: the kernel gets it and fragments it or
# tells the sender (ICMP fragmentation needed / ICMPv6 packet too big), both
# ways. And a nic.mtu that a port cannot take is refused with the limit, not
# run with large frames dropped.
. "$(dirname "$0")/lib.sh"
scenario_init mtu

start_fast

# ---- wire -> VM: vm1's link is smaller (1280) than the underlay (1500) ----
# vm1's neighbour entries resolved first: DPDK forwards to it (an
# unresolved next hop would hand everything to the kernel anyway)
ping_ok rvm 10.10.1.11 || fail "rvm cannot reach vm1"
ping_ok rvm fd00:10::11 || fail "rvm cannot reach vm1 over IPv6"
in_ns vm1 ip link set eth0 mtu 1280
in_ns host ip link set vm1p mtu 1280
m0=$(steer_cnt exc_pass_mtu)
out=$(in_ns rvm ping -M do -s 1400 -c 3 -i 0.3 -W 1 10.10.1.11 2>&1 || true)
grep -qE "Frag needed.*mtu = 1280|mtu=1280" <<<"$out" ||
	fail "rvm got no 'fragmentation needed' for a 1428-byte DF packet to vm1 (MTU 1280): $out"
# (rvm forgets the learnt path MTU: the host fragments, not rvm)
in_ns rvm ip route flush cache
in_ns rvm ping -M dont -s 1400 -c 3 -i 0.2 -W 2 -q 10.10.1.11 >/dev/null ||
	fail "a 1428-byte packet without DF did not reach vm1 (MTU 1280) fragmented"
in_ns rvm ip route flush cache
out6=$(in_ns rvm ping -6 -s 1400 -c 4 -i 0.3 -W 1 fd00:10::11 2>&1 || true)
grep -qE "Packet too big|mtu[ =]+1280" <<<"$out6" ||
	fail "rvm got no ICMPv6 'packet too big' for 1448 bytes to vm1 (MTU 1280): $out6"
in_ns rvm ping -6 -s 1400 -c 3 -i 0.2 -W 2 -q fd00:10::11 >/dev/null ||
	fail "after 'packet too big', 1448-byte IPv6 pings to vm1 still fail"
m1=$(steer_cnt exc_pass_mtu)
[ $((m1 - m0)) -ge 4 ] || fail "steer_exc_ingress did not hand the too-big frames to the kernel (exc_pass_mtu +$((m1 - m0)))"
ping_ok rvm 10.10.1.11 || fail "ordinary pings to vm1 fail"
pass "wire->VM, frames over the VM's MTU: ICMP 'fragmentation needed' (mtu 1280) / ICMPv6 'packet too big' to the sender, fragmented without DF (exc_pass_mtu +$((m1 - m0)))"

# ---- VM -> wire: vm2's link is larger (4000) than the underlay (1500) ----
in_ns host ip link set vm2p mtu 4000
in_ns vm2 ip link set eth0 mtu 4000
p0=$(steer_cnt vm_pass_mtu)
out=$(in_ns vm2 ping -M do -s 2000 -c 3 -i 0.3 -W 1 10.10.2.2 2>&1 || true)
grep -qE "Frag needed.*mtu = 1500|mtu=1500" <<<"$out" ||
	fail "vm2 got no 'fragmentation needed' for 2028 bytes over the 1500 underlay: $out"
in_ns vm2 ping -M dont -s 2000 -c 3 -i 0.2 -W 2 -q 10.10.2.2 >/dev/null ||
	fail "2028-byte pings without DF from vm2 did not get through fragmented"
p1=$(steer_cnt vm_pass_mtu)
[ $((p1 - p0)) -ge 1 ] || fail "steer_vm_ingress did not hand vm2's big frames to the kernel (vm_pass_mtu +$((p1 - p0)))"
v0=$(fwd fast_vm_to_wire)
in_ns vm2 ping -c 20 -i 0.02 -s 1400 -q 10.10.2.2 >/dev/null || fail "vm2's 1428-byte pings fail"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge 20 ] || fail "frames that fit the underlay left the fast path"
pass "VM->wire, frames over the underlay's MTU: 'fragmentation needed' (mtu 1500) to the VM, fragmented without DF; frames that fit stay on the fast path"
stop_agentd

# ---- a nic.mtu the ports cannot take: refused, with the limit ----
sed -i 's|mtu = 1500;|mtu = 9000;|' "$CONF"
grep -q 'mtu = 9000;' "$CONF" || fail "config template changed: nic.mtu not rendered"
start_agentd
for i in $(seq 100); do
	why=$(st .last_failure 2>/dev/null || true)
	grep -q "takes an MTU of" <<<"$why" && break
	sleep 0.1
done
grep -qE "MTU 9000 \(nic.mtu\): .* takes an MTU of [0-9]+ to [0-9]+" <<<"$why" ||
	fail "nic.mtu 9000 on af_xdp ports: no clear refusal (last failure: $why)"
[ "$(st .mode)" != dpdk ] || fail "the dataplane runs with an MTU its ports cannot take"
pass "nic.mtu 9000 refused: $why"
# the kernel keeps forwarding meanwhile (the underlay on nic0)
wait_mode kernel 30
ping_ok vm1 10.10.2.2 || fail "no kernel path after the refusal"
pass "the kernel forwards while the dataplane refuses the MTU"

finish
