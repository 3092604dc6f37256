#!/bin/bash
# Scenario: the seed's two-host setup (issue 11). Two hypervisor hosts on
# one wire (the lab's wire namespace switches between their NICs), each with
# its own agentd, dataplane, VM bridge and VM: vm1 on host 0 (10.10.1.0/24)
# and h1vm1 on host 1 (10.10.3.0/24), routed to each other over the
# underlay by static routes. Both ways, both families: ping, iperf3 TCP, a
# UDP stream; on both hosts DPDK forwards it (host 0 VM -> wire, host 1
# wire -> VM and back) and kernel IP forwarding stays flat. Then kill -9 of
# host 1's dataplane under two constant-rate streams: host 1 falls back to
# kernel routing and fails back, host 0 stays on DPDK all along, and the
# streams go on.
# AGT_TWO_HOSTS_ROUTES=bgp (scenario_two_hosts_bgp): the hosts learn each
# other's VM prefixes from BGP instead of static routes: FRR (zebra + bgpd)
# in each host namespace, AS 65001 and 65003, peering over the underlay,
# each announcing its VM network; the same checks then run on those routes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_frr.sh"
export AGT_LAB_HOSTS=2
ROUTES=${AGT_TWO_HOSTS_ROUTES:-static}
extra_cleanup() { frr_cleanup; }
if [ "$ROUTES" = bgp ]; then scenario_init twobgp; else scenario_init twohost; fi

sed -i 's/holddown_ms = [0-9]*;/holddown_ms = 1000;/' "$CONF" "${HOSTV[1.CONF]}"
grep -q 'holddown_ms = 1000;' "${HOSTV[1.CONF]}" || fail "config template changed: holddown_ms not rendered"

start_fast
use_host 1
start_fast
fd_baseline
use_host 0
fd_baseline
pass "two hosts on the fast path: host 0 $(st .nic.dpdk.driver), host 1 $(use_host 1; st .nic.dpdk.driver)"

# Host 1's side is what the lab does not set up (agentd's job): its bridge
# and underlay addresses.
in_ns host1 ip -o addr show dev br-vm | grep -q 10.10.3.1/24 || fail "host 1's br-vm lacks 10.10.3.1/24"
in_ns host1 ip -o addr show dev dp0 | grep -q 192.168.100.3/24 || fail "host 1's dp0 lacks 192.168.100.3/24"

if [ "$ROUTES" = bgp ]; then
	frr_check
	r4_0=$(st .fib.routes4)
	r4_1=$(use_host 1; st .fib.routes4)
	frr_config host 65001 192.168.100.1 192.168.100.3 fd00:100::3 65003 10.10.1.0/24 fd00:10::/64
	frr_config host1 65003 192.168.100.3 192.168.100.1 fd00:100::1 65001 10.10.3.0/24 fd00:30::/64
	frr_up host
	frr_up host1
	t_frr=$(now)
	wait_until 30 "BGP session 192.168.100.1 <-> 192.168.100.3 not Established" established host 192.168.100.3
	wait_until 30 "BGP session fd00:100::1 <-> fd00:100::3 not Established" established host fd00:100::3
	bgp_in() { # side prefix: the kernel has it from BGP
		local f=-4
		[[ $2 == *:* ]] && f=-6
		[ -n "$(in_ns "$1" ip $f route show "$2" proto bgp 2>/dev/null)" ]
	}
	bgp_all_in() {
		bgp_in host 10.10.3.0/24 && bgp_in host fd00:30::/64 &&
			bgp_in host1 10.10.1.0/24 && bgp_in host1 fd00:10::/64
	}
	bgp_diag() {
		local side
		for side in host host1; do
			log "$side: $(vty $side 'show bgp ipv4 unicast' 'show bgp ipv6 unicast' 2>&1 | tr '\n' '|')"
			log "$side: $(in_ns $side ip route | tr '\n' '|') $(in_ns $side ip -6 route | tr '\n' '|')"
		done
	}
	for _ in $(seq 300); do
		bgp_all_in && break
		sleep 0.1
	done
	bgp_all_in || {
		bgp_diag
		fail "the BGP routes are not in both hosts' kernels 30 s after the sessions came up"
	}
	SEEN=$(now)
	log "BGP routes in both kernels $(ms_between "$t_frr" "$SEEN") ms after FRR started"
	fib_has() { [ "$(st .fib.routes4)" -gt "$1" ]; }
	wait_until 10 "host 0's FIB did not take the BGP route" fib_has "$r4_0"
	use_host 1
	wait_until 10 "host 1's FIB did not take the BGP route" fib_has "$r4_1"
	use_host 0
	pass "BGP: host 0 (AS 65001) and host 1 (AS 65003) learned each other's VM prefixes, in the kernels and the dataplanes' FIBs: $(in_ns host ip route show 10.10.3.0/24 proto bgp)"
fi
for dst in 10.10.3.11 fd00:30::11; do
	ping_ok vm1 $dst || fail "vm1 (host 0) cannot reach $dst (host 1)"
done
for dst in 10.10.1.11 fd00:10::11 10.10.2.2; do
	ping_ok h1vm1 $dst || fail "h1vm1 (host 1) cannot reach $dst"
done
pass "vm1 (host 0) <-> h1vm1 (host 1), IPv4 and IPv6; host 1's VM reaches the remote VM too"

# The counters of both hosts, before the traffic.
snap() { # -> "fast_wire_to_vm fast_vm_to_wire kernel_fwd"
	echo "$(fwd fast_wire_to_vm) $(fwd fast_vm_to_wire) $(kernel_fwd)"
}
read -r w0a v0a k0a < <(snap)
use_host 1
read -r w1a v1a k1a < <(snap)
use_host 0

iperf() { iperf_run "$1" h1vm1 vm1 10.10.3.11 "${@:2}"; } # name client-args...
iperf up -t 3
iperf down -t 3 -R
iperf udp -u -b 100M -l 1200 -t 3
udp_rx=$(jq '.end.sum.packets - .end.sum.lost_packets' "$WORK/iperf-udp.json")
[ "$udp_rx" -gt 1000 ] || fail "UDP stream too small ($udp_rx datagrams)"

read -r w0b v0b k0b < <(snap)
use_host 1
read -r w1b v1b k1b < <(snap)
use_host 0
# UDP went vm1 -> h1vm1: out through host 0's DPDK, in through host 1's.
[ $((v0b - v0a)) -ge "$udp_rx" ] || fail "host 0 fast_vm_to_wire +$((v0b - v0a)) < $udp_rx UDP datagrams"
[ $((w1b - w1a)) -ge "$udp_rx" ] || fail "host 1 fast_wire_to_vm +$((w1b - w1a)) < $udp_rx UDP datagrams"
# TCP's other direction: acks (up) and data (down) the other way round.
[ $((v1b - v1a)) -gt 1000 ] || fail "host 1 fast_vm_to_wire +$((v1b - v1a))"
[ $((w0b - w0a)) -gt 1000 ] || fail "host 0 fast_wire_to_vm +$((w0b - w0a))"
log "host 0: wire->VM +$((w0b - w0a)), VM->wire +$((v0b - v0a)); host 1: wire->VM +$((w1b - w1a)), VM->wire +$((v1b - v1a))"
moved0=$((w0b - w0a + v0b - v0a))
moved1=$((w1b - w1a + v1b - v1a))
[ $(((k0b - k0a) * 1000)) -le "$moved0" ] || fail "host 0's kernel forwarded $((k0b - k0a)) packets (DPDK $moved0)"
[ $(((k1b - k1a) * 1000)) -le "$moved1" ] || fail "host 1's kernel forwarded $((k1b - k1a)) packets (DPDK $moved1)"
gbps() { jq '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' "$1"; }
pass "fast path on both hosts: DPDK moved $moved0 (host 0) and $moved1 (host 1) packets, the kernels forwarded $((k0b - k0a)) and $((k1b - k1a)); TCP host 0 -> host 1 $(gbps "$WORK/iperf-up.json") Gb/s, back $(gbps "$WORK/iperf-down.json") Gb/s, UDP $udp_rx datagrams"

# kill -9 of host 1's dataplane under two streams (vm1 -> h1vm1, back).
RATE=2000
DURATION=10
udpseq_recv h1vm1 7101 $((DURATION + 6)) "$WORK/rx-h1.json"
udpseq_recv vm1 7102 $((DURATION + 6)) "$WORK/rx-h0.json"
udpseq_send vm1 10.10.3.11 7101 $RATE $DURATION "$WORK/tx-h0.json"
udpseq_send h1vm1 10.10.1.11 7102 $RATE $DURATION "$WORK/tx-h1.json"
sleep 2
fo0=$(fb failovers)
v0c=$(fwd fast_vm_to_wire)
use_host 1
dp1=$(st .dataplane.pid)
t_kill=$(now)
kill -KILL "$dp1"
wait_mode_t kernel 5
log "host 1 on the kernel $(ms_between "$t_kill" "$MODE_SEEN") ms after the kill: $(st .last_failure)"
use_host 0
[ "$(st .mode)" = dpdk ] || fail "host 0 left the fast path when host 1's dataplane died: mode $(st .mode)"
# host 0 keeps forwarding on DPDK while host 1 routes in its kernel
assert_fwd_grows fast_vm_to_wire
use_host 1
wait_mode_t dpdk 20
log "host 1 on DPDK again $(ms_between "$t_kill" "$MODE_SEEN") ms after the kill"
[ "$(fb failovers)" -eq 1 ] && [ "$(fb failbacks)" -eq 1 ] ||
	fail "host 1's fallback counters: $(status_json | jq -c .fallback)"
use_host 0
udpseq_wait
[ "$(fb failovers)" -eq "$fo0" ] || fail "host 0 counted a failover"
[ "$(st .mode)" = dpdk ] || fail "host 0 mode $(st .mode)"
[ $(($(fwd fast_vm_to_wire) - v0c)) -ge $((RATE * DURATION / 2)) ] ||
	fail "host 0 forwarded only $(($(fwd fast_vm_to_wire) - v0c)) frames on DPDK during the streams"
for r in "$WORK/rx-h1.json" "$WORK/rx-h0.json"; do
	lost=$(jq .lost "$r")
	recv=$(jq .received "$r")
	log "$(basename "$r" .json): received $recv, lost $lost, gaps: $(jq -c '[.gaps[] | .missing]' "$r")"
	[ "$recv" -gt 0 ] || fail "$r: nothing received"
	# every datagram sent after the failback arrived: the stream went on
	awk -v l="$(jq .last_rx_epoch "$r")" -v t="$MODE_SEEN" 'BEGIN { exit !(l > t + 1) }' ||
		fail "$r: nothing received more than 1 s after host 1's failback"
	# a failover and a failback (bench/failover.sh: ~100 ms each), not a
	# path that stayed down
	[ "$lost" -le "$RATE" ] || fail "$r: $lost datagrams lost (more than 1 s of the stream)"
done
pass "host 1 fell back and failed back under the streams while host 0 stayed on DPDK"

use_host 1
assert_steering_single
assert_fds_stable "a failover and failback"
end_checks || fail "end of host 1"
pass "host 1: agentd stopped with exit 0, nothing left behind"
use_host 0
assert_steering_single
if [ "$ROUTES" = bgp ]; then
	# one connection all along: never reset by host 1's failover
	for peer in 192.168.100.3 fd00:100::3; do
		n=$(vty host "show bgp neighbors $peer json" | jq --arg p $peer '.[$p].connectionsEstablished')
		[ "$n" = 1 ] && established host $peer ||
			fail "the BGP session with $peer did not ride host 1's failover ($n connections)"
	done
	FRR_OK=1
fi
finish
