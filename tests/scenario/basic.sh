#!/bin/bash
# Scenario: the end-to-end slice. agentd with the lab config runs the DPDK
# dataplane; VMs reach the remote side through it and back (ping, iperf3 TCP
# both ways); the NIC's DPDK counters account for the traffic; the kernel NIC
# netdev carries no address; SIGTERM leaves nothing behind.
. "$(dirname "$0")/lib.sh"
scenario_init basic

start_agentd
wait_mode dpdk 60
pass "agentd reached mode dpdk"

[ "$(st .nic.kernel_netdev_free_of_addresses)" = true ] || fail "kernel NIC netdev has addresses"
[ -z "$(in_ns host ip -o addr show dev nic0 scope global)" ] || fail "nic0 carries an address"
in_ns host ip -o addr show dev dp0 | grep '192.168.100.1/24' >/dev/null || fail "dp0 lacks the underlay address"
# (the guest bed's NIC has no netdev while DPDK drives it: its MAC as DPDK reads it)
if [ "$AGT_BED" = guest ]; then nic_mac=$(st .nic.dpdk.mac); else nic_mac=$(in_ns host cat /sys/class/net/nic0/address); fi
[ "$(in_ns host cat /sys/class/net/dp0/address)" = "$nic_mac" ] ||
	fail "dp0 does not carry the NIC's MAC ($nic_mac)"
pass "underlay on dp0 with the NIC's MAC, nic0 free of addresses"

for vm in vm1 vm2; do
	ping_ok $vm 10.10.2.2 || fail "$vm cannot ping the remote VM 10.10.2.2"
	ping_ok $vm 192.168.100.2 || fail "$vm cannot ping the remote side 192.168.100.2"
	ping_ok $vm fd00:20::2 || fail "$vm cannot ping6 the remote VM fd00:20::2"
done
ping_ok rvm 10.10.1.11 || fail "remote VM cannot ping vm1"
ping_ok rvm 10.10.1.12 || fail "remote VM cannot ping vm2"
ping_ok wire 192.168.100.1 || fail "wire cannot ping the host's underlay address"
pass "ping vm1/vm2 <-> remote, v4 and v6"

# 200 echo requests out and 200 replies back, counted on the NIC's DPDK port.
rx0=$(st .nic.dpdk.rx_packets)
tx0=$(st .nic.dpdk.tx_packets)
in_ns vm1 ping -c 200 -i 0.005 -q 10.10.2.2 >/dev/null || fail "ping burst lost packets"
rx1=$(st .nic.dpdk.rx_packets)
tx1=$(st .nic.dpdk.tx_packets)
[ $((rx1 - rx0)) -ge 200 ] || fail "NIC rx grew by $((rx1 - rx0)) < 200"
[ $((tx1 - tx0)) -ge 200 ] || fail "NIC tx grew by $((tx1 - tx0)) < 200"
pass "NIC DPDK counters grew rx +$((rx1 - rx0)) tx +$((tx1 - tx0)) for 200 pings"

in_ns rvm iperf3 -s -D -1 -p 5201 --logfile "$WORK/iperf-s1.log"
sleep 0.5
in_ns vm1 iperf3 -c 10.10.2.2 -p 5201 -t 3 -J >"$WORK/iperf-up.json" || fail "iperf3 vm1 -> remote failed"
in_ns rvm iperf3 -s -D -1 -p 5202 --logfile "$WORK/iperf-s2.log"
sleep 0.5
in_ns vm1 iperf3 -c 10.10.2.2 -p 5202 -t 3 -R -J >"$WORK/iperf-down.json" || fail "iperf3 remote -> vm1 failed"
up=$(jq '.end.sum_received.bits_per_second' "$WORK/iperf-up.json")
down=$(jq '.end.sum_received.bits_per_second' "$WORK/iperf-down.json")
awk -v u="$up" -v d="$down" 'BEGIN { exit !(u > 0 && d > 0) }' || fail "iperf3 rate is zero (up $up, down $down)"
pass "iperf3 TCP vm1->remote $(awk -v b="$up" 'BEGIN{printf "%.2f", b/1e9}') Gb/s, remote->vm1 $(awk -v b="$down" 'BEGIN{printf "%.2f", b/1e9}') Gb/s"

agentctl status >"$WORK/status.txt" || fail "agentctl status failed"
grep -q '^mode: *dpdk' "$WORK/status.txt" || fail "agentctl status does not show mode dpdk"

dp_pid=$(st .dataplane.pid)
finish
kill -0 "$dp_pid" 2>/dev/null && fail "dataplane pid $dp_pid still running after agentd stopped"
ping_ok vm1 10.10.2.2 || fail "kernel routing does not work after agentd stopped"
pass "SIGTERM: no dataplane, no dp0, underlay back on nic0, kernel routes"

rc=0
out=$(agentctl status 2>&1) || rc=$?
[ $rc -eq 1 ] || fail "agentctl status without agentd: exit $rc, want 1"
echo "$out" | grep "is agentd running" >/dev/null || fail "agentctl status without agentd: '$out'"
pass "agentctl status without agentd: clear error, exit 1"

"$LAB" down --check "$P" >/dev/null || fail "lab down --check failed (leftovers reported above)"
ip netns list | grep "^$P-" >/dev/null && fail "namespaces left after lab down"
pass "lab down leaves no namespaces, and had nothing of agentd's to remove"
