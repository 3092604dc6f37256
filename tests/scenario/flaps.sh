#!/bin/bash
# Scenario: links and addresses that come and go. A VM port that flaps, a
# VM port taken off the bridge and put back, the NIC netdev that flaps, the
# bridge address removed and added again, the underlay neighbours flushed:
# after each the steering filters are back exactly once on the bridge's
# ports (and only there), the dataplane's mirror follows (local addresses,
# neighbours), and the fast path carries the traffic again — without a
# failover.
. "$(dirname "$0")/lib.sh"
scenario_init flaps

start_fast
dp=$(st .dataplane.pid)

# ping from NS to DST goes through the fast path (vm -> wire counter moves)
fast_ping() { # ns dst what
	local f0
	f0=$(fwd fast_vm_to_wire)
	for _ in $(seq 20); do
		ping_ok "$1" "$2" || { sleep 0.2; continue; }
		[ "$(fwd fast_vm_to_wire)" -gt "$f0" ] && return 0
		sleep 0.2
	done
	fail "$3: $1 -> $2 not on the fast path (fast_vm_to_wire $f0 -> $(fwd fast_vm_to_wire))"
}
fast_ping vm1 10.10.2.2 "at the start"

# a VM port flaps
in_ns host ip link set vm1p down
sleep 0.3
in_ns host ip link set vm1p up
fast_ping vm1 10.10.2.2 "after vm1p flapped"
assert_steering_single
pass "VM port flap: one steering filter, fast path"

# a VM port leaves the bridge: its filter goes; it comes back: one filter
in_ns host ip link set vm2p nomaster
for _ in $(seq 50); do
	n=$(in_ns host tc filter show dev vm2p ingress 2>/dev/null | grep -c steer_ || true)
	[ "$n" -eq 0 ] && break
	sleep 0.1
done
[ "$n" -eq 0 ] || fail "vm2p off the bridge still has $n steering filter(s)"
in_ns host ip link set vm2p master br-vm
for _ in $(seq 50); do
	n=$(in_ns host tc filter show dev vm2p ingress 2>/dev/null | grep -c steer_vm_ingres || true)
	[ "$n" -eq 1 ] && break
	sleep 0.1
done
assert_steering_single
fast_ping vm2 10.10.2.2 "after vm2p left and rejoined the bridge"
pass "bridge port removed and added: filter detached, then exactly one again"

# the NIC netdev flaps (the wire is gone for a moment, the dataplane stays)
in_ns host ip link set nic0 down
sleep 0.5
in_ns host ip link set nic0 up
fast_ping vm1 10.10.2.2 "after nic0 flapped"
pass "NIC flap: fast path again"

# the bridge address goes and comes back: the dataplane's local addresses
# follow (a packet to the host is the kernel's, not forwarded)
in_ns host ip addr del 10.10.1.1/24 dev br-vm
sleep 0.3
in_ns host ip addr add 10.10.1.1/24 dev br-vm
in_ns host ip route replace 10.10.1.0/24 dev br-vm
l0=$(fwd punt_local)
ping_ok vm1 10.10.1.1 || fail "vm1 cannot ping the host's bridge address after it came back"
fast_ping vm1 10.10.2.2 "after the bridge address flapped"
pass "bridge address removed and re-added: host reachable, fast path"

# underlay neighbours flushed: re-resolved by the kernel, mirrored again
in_ns host ip neigh flush dev dp0
in_ns host ip -6 neigh flush dev dp0
fast_ping vm1 10.10.2.2 "after the underlay neighbours were flushed"
pass "neighbour flush: re-resolved, fast path"

[ "$(st .dataplane.pid)" = "$dp" ] && [ "$(fb failovers)" -eq 0 ] ||
	fail "a flap caused a failover: $(st .last_failure)"
[ "$(st .fib.behind)" = 0 ] && [ "$(st .fib.full)" = 0 ] || fail "FIB behind/full after the flaps"
pass "no failover, the mirror in step"

finish
