#!/bin/bash
# Scenario: the route forms a routing daemon installs, mirrored and used by
# the fast path exactly as the kernel would: nexthop objects (added,
# replaced, grouped, deleted under live routes — the kernel then removes the
# routes and shrinks the groups without announcing it), ECMP over several
# next hops (flows spread, an unresolved member skipped), blackhole /
# unreachable / prohibit routes (never forwarded), IPv6 via a link-local
# gateway (how BGP announces IPv6).
. "$(dirname "$0")/lib.sh"
scenario_init fibnh

start_fast

# A second next hop on the wire with a MAC of its own (a macvlan on the
# wire's NIC end): traffic to it is counted apart from traffic to .2.
in_ns wire ip link add mv0 link eth0 type macvlan mode bridge
in_ns wire ip addr add 192.168.100.3/24 dev mv0
in_ns wire ip link set mv0 up
# each device answers ARP for its own address only (else eth0 answers for .3
# with its own MAC and both next hops are one)
in_ns wire sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.mv0.rp_filter=0 \
	net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.all.arp_ignore=1 \
	net.ipv4.conf.all.arp_announce=2
for a in 11.1.0.1 11.2.0.1 11.3.0.1 11.4.0.1 11.5.0.1 11.6.0.1; do
	in_ns wire ip addr add $a/32 dev lo
done
in_ns wire ip addr add fd00:77::1/128 dev lo
# A sink on the flows' port: without it the wire answers with ICMP port
# unreachable, the senders' connected sockets see ECONNREFUSED and drop a
# datagram now and then (seen: 78 of 80 sent, none lost by the dataplane).
extra_cleanup() { for pid in "${UDPSEQ_PIDS[@]}"; do kill "$pid" 2>/dev/null; done; }
udpseq_recv wire 9 300 "$WORK/sink.json"
in_ns host ping -c 1 -W 2 192.168.100.3 >/dev/null || fail "the host cannot reach the second next hop"

route_json() { agentctl routes "$1" --json | jq -c "[.[] | select(.dst == \"$1\")]"; }
# COUNT UDP datagrams to DST from FLOWS sockets (each its own source port:
# a flow of its own for the ECMP hash)
udp_flows() { # dst flows count
	in_ns vm1 bash -c "for f in \$(seq $2); do exec 3>/dev/udp/$1/9 || exit 1
		for i in \$(seq $3); do echo x >&3; done; exec 3>&-; done" 2>/dev/null || true
	sleep 0.3 # the last datagrams are through DPDK before counters are read
}
# wait until `agentctl routes --json PREFIX` satisfies the jq test TEST
wait_route() { # prefix jq-test what
	for _ in $(seq 50); do
		route_json "$1" | jq -e "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	log "dataplane: $(route_json "$1")"
	fail "$3"
}
# N pings from vm1 to DST are all forwarded by DPDK
fast_ping() { # dst n
	ping_ok vm1 "$1" 1 || true # the first may find the neighbour unresolved
	local v0
	v0=$(fwd fast_vm_to_wire)
	in_ns vm1 ping -c "$2" -i 0.02 -q "$1" >/dev/null || fail "vm1 cannot reach $1"
	[ $(($(fwd fast_vm_to_wire) - v0)) -ge "$2" ] || fail "traffic to $1 was not forwarded by DPDK"
}
not_forwarded() { # dst
	local v0
	sleep 0.3 # what earlier steps sent is through
	v0=$(fwd fast_vm_to_wire)
	in_ns vm1 ping -c 2 -i 0.1 -W 1 -q "$1" >/dev/null 2>&1 && fail "$1 reachable without a usable route"
	if [ "$(fwd fast_vm_to_wire)" -ne "$v0" ]; then
		st .forwarding >&2
		agentctl routes "$1/32" >&2 || true
		fail "DPDK forwarded traffic to $1 ($v0 -> $(fwd fast_vm_to_wire))"
	fi
}

# ---- nexthop objects ----
in_ns host ip nexthop add id 101 via 192.168.100.2 dev dp0
in_ns host ip nexthop add id 102 via 192.168.100.3 dev dp0
in_ns host ip route add 11.1.0.0/16 nhid 101
wait_route 11.1.0.0/16 '.[0].path == "underlay" and .[0].nhid == 101' "route via nexthop object 101 not mirrored"
fast_ping 11.1.0.1 10
pass "a route through a nexthop object is mirrored and forwarded"

in_ns host ip nexthop replace id 101 via 192.168.100.3 dev dp0
wait_route 11.1.0.0/16 '.[0] | tostring | test("192.168.100.3")' "route did not follow the replaced nexthop object"
rx0=$(in_ns wire cat /sys/class/net/mv0/statistics/rx_packets)
fast_ping 11.1.0.1 10
[ $(($(in_ns wire cat /sys/class/net/mv0/statistics/rx_packets) - rx0)) -ge 10 ] ||
	fail "traffic did not follow the replaced nexthop object to .3"
pass "replacing a nexthop object moves its routes"

in_ns host ip nexthop replace id 101 via 192.168.100.2 dev dp0
in_ns host ip nexthop add id 110 group 101/102
in_ns host ip route add 11.2.0.0/16 nhid 110
wait_route 11.2.0.0/16 '.[0].ecmp == 2' "group 110 not mirrored with 2 paths"
# several flows (UDP source ports) spread over both next hops
rx2=$(in_ns wire cat /sys/class/net/eth0/statistics/rx_packets)
rx3=$(in_ns wire cat /sys/class/net/mv0/statistics/rx_packets)
v0=$(fwd fast_vm_to_wire)
udp_flows 11.2.0.1 32 5
sent=$(($(fwd fast_vm_to_wire) - v0))
d3=$(($(in_ns wire cat /sys/class/net/mv0/statistics/rx_packets) - rx3))
# eth0 counts every frame, mv0's included (macvlan sits on it)
d2=$(($(in_ns wire cat /sys/class/net/eth0/statistics/rx_packets) - rx2 - d3))
log "ECMP group: $sent packets forwarded by DPDK; wire .2 got $d2 frames, .3 got $d3"
[ "$sent" -ge 150 ] || fail "the ECMP flows were not forwarded by DPDK ($sent)"
[ "$d3" -ge 10 ] && [ "$d2" -ge 10 ] || fail "flows did not spread over both next hops (.2 $d2, .3 $d3)"
pass "ECMP through a nexthop group spreads flows over both members"

# deleting member 101 under live routes: the kernel removes 11.1.0.0/16
# and shrinks group 110, announcing only the nexthop deletion
in_ns host ip nexthop del id 101
in_ns host ip route show 11.1.0.0/16 | grep -q . && fail "the kernel kept 11.1.0.0/16 (unexpected)"
wait_route 11.1.0.0/16 'length == 0' "11.1.0.0/16 stayed in the dataplane after its nexthop object was deleted"
wait_route 11.2.0.0/16 '.[0].ecmp == null or .[0].ecmp <= 1' "group 110 did not shrink"
not_forwarded 11.1.0.1
fast_ping 11.2.0.1 10
pass "a nexthop object deleted under its routes: routes gone, group shrunk"

# ---- ECMP with RTA_MULTIPATH; an unresolved member is skipped ----
in_ns host ip route add 11.4.0.0/16 nexthop via 192.168.100.2 dev dp0 nexthop via 192.168.100.3 dev dp0
wait_route 11.4.0.0/16 '.[0].ecmp == 2' "multipath route not mirrored with 2 paths"
fast_ping 11.4.0.1 10
# .3 disappears and its neighbour entry fails: every flow must stay fast
in_ns wire ip addr del 192.168.100.3/24 dev mv0
in_ns host ip neigh del 192.168.100.3 dev dp0 2>/dev/null || true
in_ns host ip neigh add 192.168.100.3 dev dp0 nud failed 2>/dev/null ||
	in_ns host ip neigh replace 192.168.100.3 dev dp0 nud failed 2>/dev/null || true
u0=$(fwd punt_unresolved)
v0=$(fwd fast_vm_to_wire)
st .forwarding >"$WORK/fwd0.json"
st .steering.counters >"$WORK/steer0.json"
udp_flows 11.4.0.1 16 5
sent=$(($(fwd fast_vm_to_wire) - v0))
log "with .3 unresolved: $sent of 80 forwarded by DPDK, punt_unresolved +$(($(fwd punt_unresolved) - u0))"
# (what else moved, should a datagram miss the fast path)
st .forwarding | jq -c --slurpfile a "$WORK/fwd0.json" \
	'to_entries | map(select(.value != $a[0][.key] and (.key | test("idle|heartbeat") | not))) | map({(.key): (.value - $a[0][.key])}) | add' >&2 || true
[ "$sent" -ge 80 ] || st .steering.counters | jq -c --slurpfile a "$WORK/steer0.json" \
	'to_entries | map(select(.value.packets != $a[0][.key].packets)) | map({(.key): (.value.packets - $a[0][.key].packets)}) | add' >&2 || true
[ "$sent" -ge 80 ] || fail "flows hashed to an unresolved member were not moved to the resolved one"
pass "an unresolved ECMP member is skipped while another is usable"

# ---- blackhole, unreachable, prohibit: never forwarded ----
in_ns host ip route add 0.0.0.0/1 via 192.168.100.2 dev dp0 # a cover that would forward
in_ns host ip route add blackhole 11.3.0.0/16
in_ns host ip route add unreachable 11.5.0.0/16
in_ns host ip route add prohibit 11.6.0.0/16
wait_route 11.6.0.0/16 '.[0].type == "prohibit"' "prohibit route not mirrored"
for d in 11.3.0.1 11.5.0.1 11.6.0.1; do not_forwarded $d; done
pass "blackhole / unreachable / prohibit routes are never forwarded"

# ---- IPv6 via a link-local gateway (BGP's way) ----
ll=$(in_ns wire ip -6 -o addr show dev eth0 scope link | awk '{print $4}' | cut -d/ -f1)
[ -n "$ll" ] || fail "no link-local address on the wire"
in_ns host ip -6 route add fd00:77::/48 via "$ll" dev dp0
wait_route fd00:77::/48 '.[0].path == "underlay"' "IPv6 route via a link-local gateway not mirrored"
in_ns host ping -6 -c 1 -W 2 "$ll%dp0" >/dev/null || true # resolve the neighbour
fast_ping fd00:77::1 10
pass "IPv6 via a link-local gateway is forwarded by DPDK"

finish
