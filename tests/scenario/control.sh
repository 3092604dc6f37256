#!/bin/bash
# Scenario: control traffic still works through the kernel while the fast
# path is on: ARP, ping to the host's bridge and underlay addresses, ICMP
# time exceeded (traceroute) both ways, IPv6 ND and ping6, and neighbours
# re-resolved after a flush.
. "$(dirname "$0")/lib.sh"
scenario_init control

start_fast
nic_mac=$(in_ns host cat /sys/class/net/nic0/address)

# ARP: the wire resolves the host's underlay address to the NIC's MAC.
in_ns wire ip neigh flush dev eth0
ping_ok wire 192.168.100.1 || fail "wire cannot ping the underlay address"
in_ns wire ip neigh show 192.168.100.1 dev eth0 | grep "lladdr $nic_mac" >/dev/null ||
	fail "wire resolved 192.168.100.1 to $(in_ns wire ip neigh show 192.168.100.1) not $nic_mac"
pass "ARP from the wire answered with the NIC's MAC"

for dst in 10.10.1.1 192.168.100.1 fd00:10::1 fd00:100::1; do
	ping_ok vm1 $dst || fail "vm1 cannot ping the host's $dst"
done
ping_ok rvm 192.168.100.1 || fail "the remote VM cannot ping the host"
ping_ok wire fd00:100::1 || fail "wire cannot ping6 the underlay address"
pass "ping to the host's bridge and underlay addresses, v4 and v6"

# IPv6 ND: flush the host's neighbours, traffic re-resolves them.
in_ns host ip -6 neigh flush dev dp0
in_ns host ip -6 neigh flush dev br-vm
ping_ok vm1 fd00:20::2 || fail "ping6 vm1 -> remote VM after neighbour flush"
in_ns host ip -6 neigh show fd00:100::2 dev dp0 | grep lladdr >/dev/null ||
	fail "host did not re-resolve fd00:100::2 by ND"
pass "IPv6 ND and ping6 across the fast path"

# traceroute from a VM: hop 1 is the host (TTL expiry handled by the kernel),
# then the wire router, then the remote VM.
hops=$(in_ns vm1 traceroute -n -q 1 -w 2 -m 5 10.10.2.2 | awk 'NR > 1 {print $2}' | tr '\n' ' ')
[ "$hops" = "10.10.1.1 192.168.100.2 10.10.2.2 " ] || fail "traceroute vm1 -> remote: '$hops'"
# and from the remote side: the host answers for the TTL that expires at DPDK
hops=$(in_ns rvm traceroute -n -q 1 -w 2 -m 5 10.10.1.11 | awk 'NR > 1 {print $2}' | tr '\n' ' ')
[ "$hops" = "10.10.2.1 192.168.100.1 10.10.1.11 " ] || fail "traceroute remote -> vm1: '$hops'"
[ "$(fwd punt_ttl)" -gt 0 ] || fail "the dataplane did not hand the TTL-expiring packet to the kernel"
pass "ICMP time exceeded both ways (traceroute)"

finish
