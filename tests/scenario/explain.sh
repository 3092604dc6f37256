#!/bin/bash
# Scenario: `agentctl explain` says which path a flow takes and why, in the
# running lab, and cannot lie: for each flow explained, real packets of that
# flow are sent and every counter the explanation names (as `agentctl stats`
# names them) must move by at least the packets sent, while the other
# path's counters do not.
#   - VM -> remote (IPv4 UDP, IPv6 TCP ports): fast, route 10.10.2.0/24 via
#     the wire's gateway, neighbour resolved with the wire's MAC;
#   - wire -> VM: fast, delivered by steer_exc_ingress to vm1p;
#   - VM -> one of the host's addresses: kernel, local (steering);
#   - VM -> a destination without a route: kernel, the dataplane's
#     punt reason no_route;
#   - a route whose next hop never resolves: kernel, unresolved;
#   - after `agentctl mode kernel`: the kernel routes everything (exit 3).
. "$(dirname "$0")/lib.sh"
scenario_init explain

N=200 # packets sent per flow

extra_cleanup() {
	ip -n "$P-host" route del 203.0.113.0/24 2>/dev/null
	true
}

# send_udp NS SRC SPORT DST DPORT: N datagrams of that exact flow
send_udp() {
	in_ns "$1" python3 - "$2" "$3" "$4" "$5" "$N" <<'EOF'
import socket, sys, time
src, sport, dst, dport, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src, sport))
for _ in range(n):
    s.sendto(b"explain" * 8, (dst, dport))
    time.sleep(0.002)
EOF
}

# explain ARGS...: the JSON explanation in $WORK/x.json, its exit status in $XRC
explain() {
	XRC=0
	agentctl explain "$@" --json >"$WORK/x.json" || XRC=$?
	jq -e . "$WORK/x.json" >/dev/null || fail "explain $*: no JSON: $(head -c 300 "$WORK/x.json")"
}
xq() { jq -r "$1" "$WORK/x.json"; }

# stats_of NAMES...: "name value" of each, from one `agentctl stats --json`
stats_of() {
	agentctl stats --json >"$WORK/stats.json" || fail "agentctl stats --json failed"
	for n in "$@"; do
		jq -r --arg n "$n" '"\($n) \(.[$n] // "missing")"' "$WORK/stats.json"
	done
}

# counters_move WHAT SEND-COMMAND...: the counters the current explanation
# names all move by >= N while SEND-COMMAND sends the flow's N packets.
counters_move() {
	local what=$1 names
	shift
	mapfile -t names < <(xq '.counters[]')
	[ "${#names[@]}" -ge 1 ] || fail "$what: the explanation names no counter"
	stats_of "${names[@]}" >"$WORK/before"
	grep -q ' missing$' "$WORK/before" && fail "$what: a named counter is not in agentctl stats: $(grep missing "$WORK/before")"
	"$@"
	sleep 0.3
	stats_of "${names[@]}" >"$WORK/after"
	paste -d ' ' "$WORK/before" "$WORK/after" | while read -r name b _ a; do
		[ $((a - b)) -ge $N ] || { echo "$name moved by $((a - b)), want >= $N"; exit 1; }
	done >"$WORK/moved" || fail "$what: $(cat "$WORK/moved")"
	log "$what: ${names[*]} moved by >= $N"
}

start_fast
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM"
ping_ok vm1 fd00:20::2 || fail "vm1 cannot reach the remote VM over IPv6"
wire_mac=$(in_ns wire cat /sys/class/net/eth0/address)
vm1_mac=$(in_ns vm1 cat /sys/class/net/eth0/address)

# --- VM -> remote: fast, with its route, next hop and neighbour
explain 10.10.1.11 10.10.2.2 udp 5000 6000
[ "$XRC" -eq 0 ] || fail "explain of a fast flow exits $XRC"
[ "$(xq .path)" = fast ] && [ "$(xq .steering.verdict)" = redirect ] &&
	[ "$(xq .steering.to)" = dp0 ] && [ "$(xq .dataplane.verdict)" = fast ] &&
	[ "$(xq .dataplane.route.dst)" = 10.10.2.0/24 ] &&
	[ "$(xq .dataplane.nexthop.via)" = 192.168.100.2 ] && [ "$(xq .dataplane.nexthop.dev)" = dp0 ] &&
	[ "$(xq .dataplane.nexthop.neigh)" = resolved ] &&
	[ "$(xq .dataplane.nexthop.mac)" = "$wire_mac" ] &&
	[ "$(xq .dataplane.out_dst_mac)" = "$wire_mac" ] ||
	fail "VM -> remote: $(jq -c . "$WORK/x.json" | cut -c 1-600)"
[ "$(xq '.counters | sort | join(" ")')" = "forwarding.fast_vm_to_wire steering.counters.vm_redirected.packets" ] ||
	fail "VM -> remote counters: $(xq '.counters')"
agentctl explain 10.10.1.11 10.10.2.2 udp 5000 6000 >"$WORK/x.txt" || fail "explain (text) failed"
grep -q '^path: *fast (DPDK): VM -> steer_vm_ingress -> dp0 -> DPDK -> NIC$' "$WORK/x.txt" &&
	grep -q "^next hop: via 192.168.100.2 dev dp0, neighbour $wire_mac" "$WORK/x.txt" &&
	grep -q '^route: *10.10.2.0/24 via 192.168.100.2 dev dp0 .*\[fast: underlay\]$' "$WORK/x.txt" ||
	fail "explain text: $(cat "$WORK/x.txt")"
cat "$WORK/x.txt" >&2
t0=$(date +%s.%N)
for _ in $(seq 20); do agentctl explain 10.10.1.11 10.10.2.2 udp 5000 6000 >/dev/null; done
log "explain answered in $(ms_between "$t0" "$(date +%s.%N)") ms for 20 (agentctl start included)"
kf0=$(kernel_fwd)
counters_move "VM -> remote UDP" send_udp vm1 10.10.1.11 5000 10.10.2.2 6000
kf1=$(kernel_fwd)
[ $((kf1 - kf0)) -le 5 ] || fail "the kernel forwarded $((kf1 - kf0)) packets of a flow explained as fast"
pass "VM -> remote: fast via 192.168.100.2 ($wire_mac); its counters moved, the kernel's did not"

explain fd00:10::11 fd00:20::2 udp 5001 6001
[ "$(xq .path)" = fast ] && [ "$(xq .dataplane.route.dst)" = fd00:20::/64 ] &&
	[ "$(xq .dataplane.nexthop.via)" = fd00:100::2 ] && [ "$(xq .dataplane.nexthop.mac)" = "$wire_mac" ] ||
	fail "VM -> remote IPv6: $(jq -c . "$WORK/x.json" | cut -c 1-600)"
counters_move "VM -> remote IPv6 UDP" send_udp vm1 fd00:10::11 5001 fd00:20::2 6001
pass "VM -> remote IPv6: fast via fd00:100::2"

# --- wire -> VM: fast, delivered to vm1p by steer_exc_ingress
explain 10.10.2.2 10.10.1.11 udp 6002 5002 --from wire
[ "$(xq .path)" = fast ] && [ "$(xq .dataplane.route.path)" = vm ] &&
	[ "$(xq .dataplane.nexthop.mac)" = "$vm1_mac" ] && [ "$(xq .delivery.to)" = vm1p ] &&
	[ "$(xq .delivery.counter)" = exc_redirected ] ||
	fail "wire -> VM: $(jq -c . "$WORK/x.json" | cut -c 1-600)"
counters_move "wire -> VM UDP" send_udp rvm 10.10.2.2 6002 10.10.1.11 5002
pass "wire -> VM: fast, delivered to vm1p ($vm1_mac)"

# --- to the host itself: the kernel's (steering passes it)
explain 10.10.1.11 10.10.1.1 udp 5003 6003
[ "$XRC" -eq 3 ] && [ "$(xq .path)" = kernel ] && [ "$(xq .reason)" = local ] &&
	[ "$(xq .steering.counter)" = vm_pass_local ] && [ "$(xq .dataplane)" = null ] ||
	fail "VM -> host: exit $XRC, $(jq -c . "$WORK/x.json" | cut -c 1-600)"
counters_move "VM -> host address" send_udp vm1 10.10.1.11 5003 10.10.1.1 6003
explain 10.10.2.2 192.168.100.1 udp 6004 5004 --from wire
[ "$(xq .path)" = kernel ] && [ "$(xq .reason)" = local ] && [ "$(xq .dataplane.reason)" = local ] ||
	fail "wire -> host: $(jq -c . "$WORK/x.json" | cut -c 1-600)"
counters_move "wire -> host address" send_udp rvm 10.10.2.2 6004 192.168.100.1 5004
pass "to the host's own addresses: kernel (local), from a VM and from the wire"

# --- no route: the dataplane's punt reason
explain 10.10.1.11 198.51.100.7 udp 5005 6005
[ "$(xq .path)" = kernel ] && [ "$(xq .reason)" = no_route ] && [ "$(xq .steering.verdict)" = redirect ] &&
	[ "$(xq '.counters | sort | join(" ")')" = "forwarding.kernel_from_vm forwarding.punt_no_route steering.counters.vm_redirected.packets" ] ||
	fail "no route: $(jq -c . "$WORK/x.json" | cut -c 1-600)"
rc=0; agentctl explain 10.10.1.11 198.51.100.7 udp 5005 6005 >"$WORK/x.txt" || rc=$?
[ "$rc" -eq 3 ] && grep -q '^why: *the dataplane.s FIB has no route to 198.51.100.7' "$WORK/x.txt" &&
	grep -q '^path: *kernel (slow path): VM -> steer_vm_ingress -> dp0 -> DPDK -> dp0 -> kernel$' "$WORK/x.txt" ||
	fail "no route, text (exit $rc): $(cat "$WORK/x.txt")"
cat "$WORK/x.txt" >&2
counters_move "no route" send_udp vm1 10.10.1.11 5005 198.51.100.7 6005
pass "no route: handed back to the kernel (punt_no_route), counters moved"

# --- a next hop that never resolves
in_ns host ip route add 203.0.113.0/24 via 192.168.100.9 dev dp0 || fail "ip route add"
for _ in $(seq 30); do
	explain 10.10.1.11 203.0.113.5 udp 5006 6006
	[ "$(xq .dataplane.route.dst)" = 203.0.113.0/24 ] && break
	sleep 0.1
done
[ "$(xq .path)" = kernel ] && [ "$(xq .reason)" = unresolved ] &&
	[ "$(xq .dataplane.nexthop.via)" = 192.168.100.9 ] && [ "$(xq .dataplane.nexthop.neigh)" = unresolved ] ||
	fail "unresolved: $(jq -c . "$WORK/x.json" | cut -c 1-600)"
pass "unresolved next hop 192.168.100.9: kernel (unresolved)"
in_ns host ip route del 203.0.113.0/24

# --- the kernel fallback: everything through the kernel
agentctl mode kernel >/dev/null
wait_mode_t kernel 10
explain 10.10.1.11 10.10.2.2 udp 5007 6007
[ "$XRC" -eq 3 ] && [ "$(xq .path)" = kernel ] && [ "$(xq .reason)" = mode_kernel ] &&
	[ "$(xq .steering.counter)" = vm_pass_mode ] && xq .why | grep -q 'forced by agentctl mode kernel' ||
	fail "mode kernel: exit $XRC, $(jq -c . "$WORK/x.json" | cut -c 1-600)"
[ "$(xq '.counters | sort | join(" ")')" = "kernel.IpForwDatagrams steering.counters.vm_pass_mode.packets" ] ||
	fail "mode kernel counters: $(xq .counters)"
counters_move "mode kernel" send_udp vm1 10.10.1.11 5007 10.10.2.2 6007
explain 10.10.2.2 10.10.1.11 udp --from wire
[ "$(xq .reason)" = mode_kernel ] || fail "mode kernel, from the wire: $(jq -c . "$WORK/x.json")"
pass "mode kernel: explained as the kernel's (exit 3), the kernel's counters moved"
agentctl mode dpdk >/dev/null
wait_mode_t dpdk 30
for _ in $(seq 100); do
	[ "$(st .steering.mode)" = fast ] && break
	sleep 0.1
done
# (dp0 is new: its neighbours are unresolved until traffic makes the
# kernel resolve them, and explain says so; the ping does)
explain 10.10.1.11 10.10.2.2 icmp
first=$(xq .reason)
ping_ok vm1 10.10.2.2 || fail "vm1 cannot reach the remote VM after mode dpdk"
for _ in $(seq 30); do
	explain 10.10.1.11 10.10.2.2 icmp
	[ "$(xq .path)" = fast ] && break
	sleep 0.1
done
[ "$(xq .path)" = fast ] || fail "back on dpdk: $(jq -c . "$WORK/x.json" | cut -c 1-400)"
pass "back on DPDK: $first at first, fast once the kernel resolved the next hop"

# --- bad requests
rc=0; agentctl explain 10.10.1.11 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "explain without DST: exit $rc, want 2"
rc=0; agentctl explain 10.10.1.11 fd00::1 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "explain of mixed families: exit $rc, want 1 (refused by agentd)"
rc=0; agentctl explain 10.10.1.11 10.10.2.2 gre >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "explain with an unknown protocol: exit $rc, want 1"
pass "bad requests refused"

finish
