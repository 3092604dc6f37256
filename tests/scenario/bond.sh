#!/bin/bash
# Scenario: a bonded uplink. nic.members = nic0 (00:03.0) and nic1 (00:05.0),
# nic.bond_mode = $AGT_BOND_MODE (802.3ad, the default, or active-backup):
# DPDK's bonding PMD drives both PCI NICs through vfio-pci; the wire side
# is a kernel bond in 802.3ad (LACP with DPDK's) or a bridge of both cables
# (a switch) for active-backup. VM traffic crosses the bond on the fast path
# (802.3ad: both members carry it); a pulled cable is survived on DPDK
# without a failover; a dataplane failure moves the underlay to a kernel
# bond0 of nic0 + nic1, same mode, same MAC, and the kernel routes, then
# back. Needs two NIC pairs and a bonding driver: the guest bed with
# AGTGUEST_NICS=4 (guest_bond_lacp, guest_bond_ab); this machine's kernel
# has no CONFIG_BONDING.
. "$(dirname "$0")/lib.sh"
MODE=${AGT_BOND_MODE:-802.3ad}
case $MODE in 802.3ad | active-backup) ;; *) fail "AGT_BOND_MODE=$MODE: 802.3ad or active-backup" ;; esac
scenario_init "bond${MODE:0:2}"

[ "$AGT_BED" = guest ] && [ -e /sys/class/net/nic1 ] && [ -n "${AGT_LAB_WIRE_DEV2:-}" ] ||
	fail "needs the guest bed with two NIC pairs (AGTGUEST_NICS=4; ctest -R guest_bond)"
# shellcheck source=../guest/cable.sh
. "$SRC_DIR/tests/guest/cable.sh"
# shellcheck disable=SC2034 # read by lib.sh (assert_clean_state)
NIC_NETDEV=bond0
NIC1_PCI=0000:00:05.0

# The wire's side of the two cables (eth0, eth1 of the wire namespace):
# its addresses and routes move from eth0 to the aggregate.
in_ns wire ip addr flush dev eth0
if [ "$MODE" = 802.3ad ]; then
	in_ns wire ip link add wagg0 type bond mode 802.3ad lacp_rate fast miimon 100 \
		xmit_hash_policy layer3+4 ||
		fail "this kernel cannot make bonds (CONFIG_BONDING): run it in the guest bed"
else
	in_ns wire ip link add wagg0 type bridge
fi
for e in eth0 eth1; do
	in_ns wire ip link set "$e" down
	in_ns wire ip link set "$e" master wagg0
	in_ns wire ip link set "$e" up
done
in_ns wire ip link set wagg0 up
in_ns wire ip addr add 192.168.100.2/24 dev wagg0
in_ns wire ip addr add fd00:100::2/64 dev wagg0 nodad
in_ns wire ip route replace 10.10.1.0/24 via 192.168.100.1
in_ns wire ip -6 route replace fd00:10::/64 via fd00:100::1

# nic: the two PCI NICs as members of bond0
sed -i -e "s|kernel_netdev = \"nic0\";|kernel_netdev = \"bond0\";|" \
	-e "s|device = \"$AGT_GUEST_NIC_PCI\";|bond_mode = \"$MODE\";\n\tmembers = ( { device = \"$AGT_GUEST_NIC_PCI\"; kernel_netdev = \"nic0\"; },\n\t\t{ device = \"$NIC1_PCI\"; kernel_netdev = \"nic1\"; } );|" \
	"$CONF"
grep -q "bond_mode = \"$MODE\";" "$CONF" && grep -q 'kernel_netdev = "bond0";' "$CONF" ||
	fail "config template changed: the bond not rendered"
# the kernel path long enough to check it (the restart takes the vfio NICs)
sed -i 's/holddown_ms = [0-9]*;/holddown_ms = 40000;/' "$CONF"
grep -q 'holddown_ms = 40000;' "$CONF" || fail "config template changed: holddown_ms not rendered"
in_ns host "$BIN_DIR/agentd" --check-config -c "$CONF" >/dev/null || fail "--check-config refuses the bond"

start_fast
[ "$(st .nic.bond.mode)" = "$MODE" ] && [ "$(st '.nic.bond.members | length')" = 2 ] ||
	fail "status does not show the bond: $(status_json | jq -c .nic.bond)"
[ "$(st .nic.dpdk.driver)" = net_bonding ] || fail "the NIC port is $(st .nic.dpdk.driver), not DPDK's bond"
want_use=2
[ "$MODE" = 802.3ad ] || want_use=1
# LACP: both members agreed with the wire's bond (a few LACPDUs apart)
for _ in $(seq 300); do [ "$(st .nic.bond.members_in_use)" = $want_use ] && break; sleep 0.2; done
[ "$(st .nic.bond.members_in_use)" = $want_use ] ||
	fail "$(st .nic.bond.members_in_use) members in use, want $want_use: $(status_json | jq -c .nic.bond)"
bond_mac=$(st .nic.dpdk.mac)
agentctl status | grep -q "^  bond: *$MODE, $want_use of 2 members in use" ||
	fail "agentctl status does not show the bond: $(agentctl status | grep -A3 'bond:')"
if [ "$MODE" = 802.3ad ]; then
	# the wire's bond: one aggregator of both cables, its partner DPDK's bond
	agg=$(in_ns wire cat /proc/net/bonding/wagg0)
	[ "$(grep -c '^Aggregator ID: ' <<<"$agg")" -ge 2 ] &&
		[ "$(grep '^Aggregator ID: ' <<<"$agg" | sort -u | wc -l)" = 1 ] ||
		fail "the wire's bond has not aggregated both cables: $agg"
	grep -qi "partner mac address: $bond_mac" <<<"$agg" ||
		fail "the wire's bond's partner is not DPDK's bond ($bond_mac): $agg"
fi
pass "bond ($MODE) of nic0 + nic1 on DPDK ($bond_mac): $want_use of 2 members in use"

# traffic through the bond by DPDK, the kernel's forwarding flat
ping_ok vm1 10.10.2.2 5 || fail "vm1 cannot reach the remote VM"
ping_ok vm1 fd00:20::2 5 || fail "vm1 cannot reach the remote VM over IPv6"
v0=$(fwd fast_vm_to_wire)
w0=$(fwd fast_wire_to_vm)
k0=$(kernel_fwd)
rx0=$(in_ns wire cat /sys/class/net/eth0/statistics/rx_packets)
rx1=$(in_ns wire cat /sys/class/net/eth1/statistics/rx_packets)
# 4 TCP flows from consecutive source ports: DPDK's l34 hash (addresses
# and ports XORed, folded, modulo the members) puts them 2 and 2. (With
# the kernel's ephemeral ports -- even ones, for connect() -- the flows of
# one pair of hosts can all hash alike: docs/topologies.md.)
iperf_run b rvm vm1 10.10.2.2 -t 3 -P 4 --cport 40000
gbps=$(jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' "$WORK/iperf-b.json")
dv=$(($(fwd fast_vm_to_wire) - v0))
dw=$(($(fwd fast_wire_to_vm) - w0))
dk=$(($(kernel_fwd) - k0))
d0=$(($(in_ns wire cat /sys/class/net/eth0/statistics/rx_packets) - rx0))
d1=$(($(in_ns wire cat /sys/class/net/eth1/statistics/rx_packets) - rx1))
[ $dv -ge 1000 ] && [ $dw -ge 1000 ] || fail "not on the fast path: DPDK VM->wire +$dv, wire->VM +$dw (kernel +$dk)"
[ $dk -le 3 ] || fail "the kernel forwarded $dk packets"
if [ "$MODE" = 802.3ad ]; then
	# flows hashed by addresses and ports: both members carry some
	[ $d0 -ge 100 ] && [ $d1 -ge 100 ] ||
		fail "one member carried all: the wire received +$d0 on eth0, +$d1 on eth1"
else
	[ $d0 -ge 1000 ] && [ $d1 -le 20 ] ||
		fail "active-backup not on member 0: the wire received +$d0 on eth0, +$d1 on eth1"
fi
pass "VM <-> remote VM through the bond by DPDK: 4 TCP flows $gbps Gb/s, DPDK +$dv / +$dw, kernel +$dk, wire eth0 +$d0, eth1 +$d1"

# a pulled cable: the one the ping stream crosses (active-backup: nic0's;
# 802.3ad: the member DPDK's hash gave the flow, found by the wire's
# counters), under that stream; survived on DPDK, no failover, and the
# stream moved to the other cable
fo0=$(fb failovers)
in_ns vm1 ping -c 300 -i 0.02 -W 1 -q 10.10.2.2 >"$WORK/ping-pull.txt" 2>&1 &
ping_pid=$!
wire_rx() { in_ns wire cat "/sys/class/net/eth$1/statistics/rx_packets"; }
sleep 0.5
r0=$(wire_rx 0) r1=$(wire_rx 1)
sleep 0.5
r0=$(($(wire_rx 0) - r0)) r1=$(($(wire_rx 1) - r1))
if [ $r0 -ge $r1 ]; then pull=0 other=1; else pull=1 other=0; fi
[ "$MODE" = 802.3ad ] || [ $pull = 0 ] || fail "active-backup: the stream crosses cable 1, not member 0's"
[ $((r0 + r1)) -ge 20 ] || fail "the ping stream does not reach the wire (+$r0, +$r1 in 0.5 s)"
o0=$(wire_rx $other)
guest_cable $pull off
sleep 2
[ "$(st ".nic.bond.members[$pull].dpdk.link_up")" = false ] ||
	fail "DPDK still sees member $pull up after its cable was pulled"
[ "$(st .mode)" = dpdk ] && [ "$(fb failovers)" = "$fo0" ] || fail "a pulled cable made agentd fall back"
wait "$ping_pid" || true
[ $(($(wire_rx $other) - o0)) -ge 50 ] || fail "the stream did not move to cable $other"
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping-pull.txt")
[ -n "$got" ] || fail "no ping summary: $(cat "$WORK/ping-pull.txt")"
lost=$((300 - got))
[ $lost -le 30 ] || fail "$lost of 300 pings lost when a cable was pulled: $(cat "$WORK/ping-pull.txt")"
v0=$(fwd fast_vm_to_wire)
in_ns vm1 ping -c 20 -i 0.02 -q 10.10.2.2 >/dev/null || fail "vm1 -> remote VM with one member"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge 20 ] || fail "not on the fast path with one member"
pass "cable $pull (the stream's: +$r0 / +$r1 frames on cables 0 / 1 in 0.5 s) pulled: $lost of 300 pings (20 ms apart) lost, the stream on cable $other, still on DPDK, no failover"
guest_cable $pull on
for _ in $(seq 300); do [ "$(st .nic.bond.members_in_use)" = $want_use ] && break; sleep 0.2; done
[ "$(st .nic.bond.members_in_use)" = $want_use ] ||
	fail "member $pull not back in use after its cable was plugged: $(status_json | jq -c .nic.bond)"
pass "cable $pull plugged: $want_use of 2 members in use again"

# a dataplane failure: the kernel bond0 of nic0 + nic1, same mode, same MAC
dp=$(st .dataplane.pid)
kill -KILL "$dp"
wait_mode kernel 20
[ -d /sys/class/net/bond0/bonding ] || fail "no kernel bond0 on the kernel path"
read -r kmode _ </sys/class/net/bond0/bonding/mode
[ "$kmode" = "$MODE" ] || fail "the kernel bond0 is $kmode, want $MODE"
slaves=$(tr ' ' '\n' </sys/class/net/bond0/bonding/slaves | sort | tr '\n' ' ')
[ "$slaves" = "nic0 nic1 " ] || fail "bond0's members: $slaves, want nic0 nic1"
[ "$(cat /sys/class/net/bond0/address)" = "$bond_mac" ] ||
	fail "bond0 has MAC $(cat /sys/class/net/bond0/address), DPDK's bond had $bond_mac"
ip -o addr show dev bond0 | grep -q "192.168.100.1/24" || fail "the underlay is not on bond0"
# active-backup: the first member primary, as in DPDK's bond
[ "$MODE" = 802.3ad ] || [ "$(cat /sys/class/net/bond0/bonding/primary)" = nic0 ] ||
	fail "bond0's primary is '$(cat /sys/class/net/bond0/bonding/primary)', want nic0"
[ "$(st .nic.bond.members[0].kernel.in_bond)" = true ] && [ "$(st .nic.bond.members[1].kernel.in_bond)" = true ] ||
	fail "status does not show the members in the kernel bond: $(status_json | jq -c .nic.bond)"
if [ "$MODE" = 802.3ad ]; then
	# LACP again, between the kernel's bond0 and the wire's (seconds)
	t0=$(now)
	# (sysfs: the guest's /proc/net/bonding has no entry for a bond made
	# in its initial namespace after the module loaded with max_bonds=0)
	aggregated() {
		local b=/sys/class/net/bond0/bonding
		[ "$(cat $b/ad_num_ports 2>/dev/null)" = 2 ] &&
			[ "$(cat /sys/class/net/nic0/bonding_slave/ad_aggregator_id)" = "$(cat $b/ad_aggregator)" ] &&
			[ "$(cat /sys/class/net/nic1/bonding_slave/ad_aggregator_id)" = "$(cat $b/ad_aggregator)" ]
	}
	for _ in $(seq 125); do aggregated && break; sleep 0.2; done
	aggregated || fail "the kernel bond0 has not aggregated both members in 25 s:" \
		"$(grep -r . /sys/class/net/bond0/bonding/ad_* /sys/class/net/nic[01]/bonding_slave/ 2>&1);" \
		"the wire's: $(in_ns wire cat /proc/net/bonding/wagg0)"
	agg_ms=$(ms_between "$t0" "$(now)")
fi
k0=$(kernel_fwd)
ping_ok vm1 10.10.2.2 5 || fail "vm1 cannot reach the remote VM on the kernel path"
ping_ok vm1 fd00:20::2 5 || fail "vm1 cannot reach the remote VM over IPv6 on the kernel path"
[ $(($(kernel_fwd) - k0)) -ge 10 ] || fail "the kernel did not route through bond0"
pass "kill -9 of the dataplane: kernel bond0 ($kmode) of nic0 + nic1 with $bond_mac${agg_ms:+, LACP agreed $agg_ms ms after the checks began}, routed by the kernel"

wait_mode dpdk 120
for _ in $(seq 100); do [ "$(st .steering.mode)" = fast ] && break; sleep 0.1; done
[ -e /sys/class/net/bond0 ] && fail "the kernel bond0 left on DPDK"
for _ in $(seq 300); do [ "$(st .nic.bond.members_in_use)" = $want_use ] && break; sleep 0.2; done
ping_ok vm1 10.10.2.2 || true # the first may find the next hop unresolved
v0=$(fwd fast_vm_to_wire)
in_ns vm1 ping -c 20 -i 0.02 -q 10.10.2.2 >/dev/null || fail "vm1 -> remote VM after the failback"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge 20 ] || fail "not back on the fast path after the failback"
pass "failback: DPDK's bond again ($(st .nic.bond.members_in_use) of 2 in use), bond0 gone"

finish
