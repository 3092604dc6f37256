#!/bin/bash
# Scenario: live reload (agentctl reload, SIGHUP) under traffic. A new VM
# port, a static route, a bridge address and an underlay address come and go
# without restarting the dataplane and without losing a datagram of the
# streams whose paths did not change; an invalid file changes nothing and
# says where it is wrong; a key that needs a restart is reported, not
# silently ignored, and applied by the restart it names.
. "$(dirname "$0")/lib.sh"
extra_cleanup() { ip netns del "$P-vm3" 2>/dev/null || true; }
scenario_init reload

# vm3: a VM whose port exists but is in no bridge until the config says so.
# Its MAC is lower than any other port's: a bridge whose MAC was not pinned
# would take it (and give it back), changing the VMs' gateway MAC under them.
ip netns add "$P-vm3"
in_ns host ip link add vm3p address 02:00:00:00:00:01 type veth peer name eth0 netns "$P-vm3"
ip netns exec "$P-vm3" sh -c 'ip link set lo up; ip link set eth0 up;
	ip addr add 10.10.1.13/24 dev eth0; ip route add default via 10.10.1.1'
# a prefix behind the wire that only the reloaded config routes
in_ns wire ip addr add 10.10.3.1/32 dev lo

start_fast
dp_pid=$(st .dataplane.pid)
br_mac() { in_ns host cat /sys/class/net/br-vm/address; }
gw_mac=$(br_mac)
cp "$CONF" "$WORK/agentd.conf.orig"

# Streams on paths no reload changes: vm1 <-> the remote VM, both ways.
RATE=1000
udpseq_recv rvm 7002 25 "$WORK/rx.json"
udpseq_recv vm1 7001 25 "$WORK/rx-vm1.json"
T_START=$(now)
udpseq_send vm1 10.10.2.2 7002 $RATE 14 "$WORK/tx.json"
udpseq_send rvm 10.10.1.11 7001 $RATE 14 "$WORK/tx-rvm.json"
sleep 1

# ---- 1: add a port, a route, addresses; change live and restart-only keys
sed -i -e 's|ports = \[ "vm1p", "vm2p" \];|ports = [ "vm1p", "vm2p", "vm3p" ];|' \
	-e 's|addresses = \[ "10.10.1.1/24", "fd00:10::1/64" \];|addresses = [ "10.10.1.1/24", "fd00:10::1/64", "10.10.5.1/24" ];|' \
	-e 's|addresses = \[ "192.168.100.1/24", "fd00:100::1/64" \];|addresses = [ "192.168.100.1/24", "fd00:100::1/64", "192.168.100.9/24" ];|' \
	-e 's|{ dst = "fd00:20::/64"; via = "fd00:100::2"; }|{ dst = "fd00:20::/64"; via = "fd00:100::2"; },\n\t{ dst = "10.10.3.0/24"; via = "192.168.100.2"; }|' \
	-e 's|holddown_ms = 3000;|holddown_ms = 2500;|' \
	-e 's|burst = 32;|burst = 16;|' \
	-e "s|pin_name = \"$P\";|pin_name = \"${P}x\";|" "$CONF"
for k in '"vm3p" \]' '"10.10.5.1/24" \]' '"192.168.100.9/24" \]' '"10.10.3.0/24"' 'holddown_ms = 2500' \
	'burst = 16' "pin_name = \"${P}x\""; do
	grep -q "$k" "$CONF" || fail "config template changed: $k not rendered"
done
T_RELOAD1=$(ms_between "$T_START" "$(now)")
agentctl reload --json >"$WORK/reload1.json" || fail "agentctl reload failed: $(cat "$WORK/reload1.json")"
jq -e '.changed == 7 and (.errors | length) == 0
	and (.applied | sort) == ["bridge.addresses", "bridge.ports", "fallback.holddown_ms", "nic.addresses", "routes"]
	and .dataplane_restart == ["dataplane.burst"] and .agentd_restart == ["bpf.pin_name"]' \
	"$WORK/reload1.json" >/dev/null || fail "reload reply: $(cat "$WORK/reload1.json")"
agentctl reload | grep -q "NOT applied, restart agentd for: bpf.pin_name" || fail "reload's text does not name the key that needs a restart"
pass "reload: 7 keys changed, classified (applied / next dataplane start / agentd restart)"

[ "$(in_ns host ip -o link show vm3p | grep -o 'master [^ ]*')" = "master br-vm" ] || fail "vm3p not in br-vm after reload"
in_ns host ip -4 addr show dev br-vm | grep -q "10.10.5.1/24" || fail "bridge address 10.10.5.1/24 not added"
in_ns host ip -4 addr show dev dp0 | grep -q "192.168.100.9/24" || fail "underlay address not added on dp0"
in_ns host ip route show 10.10.3.0/24 | grep -q "via 192.168.100.2 dev dp0" || fail "route 10.10.3.0/24 not added on dp0"
wait_steering_on_port vm3p on || fail "steer_vm_ingress not attached to vm3p after the reload"
agentctl routes 10.10.3.0/24 --exact --json | jq -e '.[0].path == "underlay"' >/dev/null ||
	fail "the dataplane did not mirror the reloaded route"
ping_ok vm1 10.10.3.1 1 || true # the first may find the neighbour unresolved
v0=$(fwd fast_vm_to_wire)
in_ns vm1 ping -c 20 -i 0.02 -q 10.10.3.1 >/dev/null || fail "vm1 cannot reach 10.10.3.1 through the reloaded route"
ip netns exec "$P-vm3" ping -c 20 -i 0.02 -q 10.10.2.2 >/dev/null || fail "vm3 (port added by reload) cannot reach the remote VM"
[ $(($(fwd fast_vm_to_wire) - v0)) -ge 40 ] || fail "the reloaded route and port are not on the fast path"
[ "$(br_mac)" = "$gw_mac" ] || fail "br-vm's MAC changed from $gw_mac to $(br_mac) when vm3p joined"
pass "new port, route and addresses in place, on the fast path; the gateway MAC did not change"

[ "$(st .dataplane.pid)" = "$dp_pid" ] || fail "the dataplane was restarted by the reload"
[ -d "/run/agentd/bpffs/$P" ] && [ ! -e "/run/agentd/bpffs/${P}x" ] || fail "pins moved although bpf.pin_name needs a restart"
st '.reload.pending_dataplane_restart == ["dataplane.burst"] and .reload.pending_agentd_restart == ["bpf.pin_name"]' |
	grep -qx true || fail "status does not show what waits for a restart: $(st .reload)"

# ---- 2: an invalid file changes nothing
cp "$CONF" "$WORK/agentd.conf.good"
sed -i 's|holddown_ms = 2500;|holddown_ms = -1;|' "$CONF"
f0=$(st .reload.failures)
if agentctl reload 2>"$WORK/bad.err"; then fail "reload of an invalid file succeeded"; fi
grep -q "$CONF:[0-9]*: .*holddown_ms" "$WORK/bad.err" || fail "no FILE:LINE in the refusal: $(cat "$WORK/bad.err")"
[ "$(st .reload.failures)" = $((f0 + 1)) ] || fail "reload failure not counted"
in_ns host ip route show 10.10.3.0/24 | grep -q "via 192.168.100.2" || fail "a refused reload changed the routes"
pass "invalid file refused with $(sed 's/^agentctl: reload: //' "$WORK/bad.err"), nothing changed"

# ---- 3: back to the original file, by SIGHUP
cp "$WORK/agentd.conf.orig" "$CONF"
r0=$(st .reload.reloads)
T_RELOAD2=$(ms_between "$T_START" "$(now)")
kill -HUP "$AGENTD_PID"
for i in $(seq 50); do [ "$(st .reload.reloads)" -gt "$r0" ] && break; sleep 0.1; done
[ "$(st .reload.reloads)" -gt "$r0" ] || fail "SIGHUP did not reload"
in_ns host ip -o link show vm3p | grep -q "master" && fail "vm3p still in a bridge after its removal from the config"
in_ns host ip -4 addr show dev br-vm | grep -q "10.10.5.1" && fail "bridge address 10.10.5.1 not removed"
in_ns host ip -4 addr show dev dp0 | grep -q "192.168.100.9" && fail "underlay address 192.168.100.9 not removed"
[ -z "$(in_ns host ip route show 10.10.3.0/24)" ] || fail "route 10.10.3.0/24 not removed"
sleep 0.3
agentctl routes 10.10.3.0/24 --exact --json | jq -e 'length == 0' >/dev/null || fail "the removed route is still in the dataplane's FIB"
st '.reload.pending_agentd_restart == [] and .reload.pending_dataplane_restart == []' |
	grep -qx true || fail "pending keys after reverting: $(st .reload)"
[ "$(br_mac)" = "$gw_mac" ] || fail "br-vm's MAC changed when vm3p left"
pass "SIGHUP: port, route and addresses removed; nothing pending once the file is as it was"

udpseq_wait
for d in rx rx-vm1; do
	lost=$(jq -r '.lost' "$WORK/$d.json")
	recv=$(jq -r '.received' "$WORK/$d.json")
	[ "$recv" -ge $((RATE * 13)) ] || fail "$d: only $recv datagrams received"
	[ "$lost" = 0 ] || {
		log "$d: gaps (times from the stream's start):"
		gap_list "$WORK/$d.json" "$T_START" >&2
		log "reloads at: $T_RELOAD1 (agentctl), $T_RELOAD2 (SIGHUP); senders: $(cat "$WORK/tx.json" "$WORK/tx-rvm.json" | tr '\n' ' ')"
		agentctl stats | grep -iE "drop|miss|err|punt" | grep -v " 0$" >&2 || true
		fail "$d: $lost datagrams lost on a path no reload changed"
	}
done
[ "$(st .dataplane.pid)" = "$dp_pid" ] || fail "the dataplane was restarted"
[ "$(fb failovers)" = 0 ] || fail "a failover during the reloads"
pass "unchanged paths: $(jq -r .received "$WORK/rx.json") + $(jq -r .received "$WORK/rx-vm1.json") datagrams, 0 lost, same dataplane"

# ---- 4: the pending dataplane option applies at the next dataplane start
sed -i 's|burst = 32;|burst = 16;|' "$CONF"
agentctl reload >/dev/null || fail "reload"
st '.reload.pending_dataplane_restart == ["dataplane.burst"]' | grep -qx true || fail "dataplane.burst not pending"
agentctl mode kernel >/dev/null
wait_mode kernel 30
agentctl mode dpdk >/dev/null
wait_mode dpdk 60
new_pid=$(st .dataplane.pid)
[ "$new_pid" != "$dp_pid" ] || fail "no new dataplane"
tr '\0' ' ' <"/proc/$new_pid/cmdline" | grep -q -- "--burst 16 " || fail "the new dataplane does not run with the reloaded burst"
st '.reload.pending_dataplane_restart == []' | grep -qx true || fail "dataplane.burst still pending after the restart"
pass "dataplane.burst applied by the planned restart, no longer pending"

finish
