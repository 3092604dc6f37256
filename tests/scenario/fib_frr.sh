#!/bin/bash
# Scenario: a real routing daemon's routes are mirrored and forwarded on the
# fast path, and withdrawn cleanly. FRR (Debian's package) runs zebra + bgpd
# in the host namespace (AS 65001) and in the wire namespace (AS 65002, the
# remote router announcing 10.77.0.0/16, 10.78.1.0/24 and fd00:77::/48). The
# routes BGP installs in the host kernel (proto bgp, via the wire router dev
# dp0, through zebra's nexthop objects) must reach the dataplane's FIB, carry
# VM traffic on the fast path, and leave it again on a withdraw and when the
# session drops.
#
# The FRR instances are private to the run (lib_frr.sh). Timings are
# logged, never asserted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_frr.sh"

extra_cleanup() {
	[ -z "${ROUTE_MON:-}" ] || kill -TERM "$ROUTE_MON" 2>/dev/null
	frr_cleanup
}

scenario_init fibfrr

frr_check

# The host kernel's route notifications, timestamped (ip -ts monitor):
# when a route really appeared or went, independent of the polling.
ROUTE_MON=
mon_start() {
	ip -n "$P-host" -ts monitor route >"$WORK/route-monitor.log" 2>&1 &
	ROUTE_MON=$!
}
# mon_mark: the monitor log's next line number (events after "now").
mon_mark() { echo $(($(wc -l <"$WORK/route-monitor.log") + 1)); }
# mon_time FROM ERE...: epoch of the latest of the first notifications,
# from line FROM on, matching each ERE (after the "[timestamp] " prefix);
# nothing if one has none.
mon_time() {
	local from=$1 re ts max=
	shift
	for re in "$@"; do
		ts=$(tail -n +"$from" "$WORK/route-monitor.log" | grep -m1 -E "^\[[^]]*\] $re" |
			sed -E 's/^\[([^]]*)\].*/\1/') || true
		[ -n "$ts" ] || return 0
		ts=$(date -d "$ts" +%s.%N) || return 0
		if [ -z "$max" ] || awk -v a="$ts" -v b="$max" 'BEGIN { exit !(a > b) }'; then max=$ts; fi
	done
	echo "$max"
}

# wait_kd TIMEOUT T0 MARK KPRED DPRED WHAT ERE...: poll the host kernel
# (KPRED) and the dataplane (DPRED) until both hold; fail after TIMEOUT s.
# Then log, relative to the event at epoch T0: when the kernel notified the
# change (route monitor lines matching every ERE, from line MARK on), and a
# window for the dataplane: after the start of its last poll that did not
# see the change, by the end of the first that did.
wait_kd() {
	local timeout=$1 t0=$2 mark=$3 kpred=$4 dpred=$5 what=$6 end a ks='' db=$2 ds='' kt
	shift 6
	end=$(fcalc "$(now) + $timeout")
	while :; do
		if [ -z "$ks" ] && "$kpred"; then ks=$(now); fi
		if [ -z "$ds" ]; then
			a=$(now)
			if "$dpred"; then ds=$(now); else db=$a; fi
		fi
		[ -n "$ks" ] && [ -n "$ds" ] && break
		before "$end" || {
			log "kernel bgp routes: $(bgp_routes 4 | tr '\n' ';') $(bgp_routes 6 | tr '\n' ';')"
			log "host bgpd: $(vty host 'show bgp summary' 2>&1 | tr '\n' '|')"
			[ -n "$ks" ] || fail "$what: not in the host kernel in ${timeout}s"
			fail "$what: the dataplane did not follow the kernel in ${timeout}s ($(dp_counts))"
		}
		sleep 0.01
	done
	kt=$(mon_time "$mark" "$@")
	if [ -z "$kt" ]; then
		log "timing: $what: kernel seen by +$(ms_between "$t0" "$ks") ms (no route monitor line)," \
			"dataplane after +$(ms_between "$t0" "$db")..$(ms_between "$t0" "$ds") ms"
		return 0
	fi
	a=$(ms_between "$kt" "$db")
	[ "$a" -ge 0 ] || a=0
	log "timing: $what: kernel at +$(ms_between "$t0" "$kt") ms (route monitor)," \
		"dataplane after +$(ms_between "$t0" "$db")..$(ms_between "$t0" "$ds") ms:" \
		"kernel -> dataplane $a..$(ms_between "$kt" "$ds") ms (status polls, ~60 ms each)"
}

# The routes of proto bgp in the host kernel, "dst via dev" per line.
bgp_routes() { # 4|6
	ip -n "$P-host" -"$1" route show table main proto bgp |
		awk '{ v = "-"; d = "-"
		       for (i = 2; i < NF; i++) { if ($i == "via") v = $(i + 1); if ($i == "dev") d = $(i + 1) }
		       print $1, v, d }' | sort
}
kernel_has() { local r; r=$(bgp_routes "$1") && grep -qxF -- "$2" <<<"$r"; }
kernel_lacks() { local r; r=$(bgp_routes "$1") && ! grep -qF -- "$2 " <<<"$r"; }
dp_count_is() { # want4 want6
	local c
	c=$(status_json | jq -r '"\(.fib.routes4) \(.fib.routes6)"') && [ "$c" = "$1 $2" ]
}
# A counter of the status JSON (jq EXPR), retried while it is not a number
# (a status request can come back without the dataplane's part).
stnum() {
	local v='' i
	for i in $(seq 50); do
		v=$(st "$1" 2>/dev/null) && [[ $v =~ ^[0-9]+$ ]] && { echo "$v"; return 0; }
		sleep 0.1
	done
	fail "agentctl status --json: $1 is '$v', not a number"
}
dp_counts() { st '"\(.fib.routes4) IPv4 + \(.fib.routes6) IPv6"'; }

# agentctl routes --json, if it works; ROUTES_LISTING=0 once it has failed.
ROUTES_LISTING=1
routes_json() {
	[ "$ROUTES_LISTING" = 1 ] || return 1
	if ! agentctl routes --json >"$WORK/routes.json" 2>"$WORK/routes.err" ||
		! jq -e 'type == "array"' "$WORK/routes.json" >/dev/null 2>&1; then
		log "WARNING: agentctl routes --json failed ($(head -c 200 "$WORK/routes.err")):" \
			"checking the routes4/routes6 counts only"
		ROUTES_LISTING=0
		return 1
	fi
}
# the listed route DST (path, via, proto), or nothing
listed() { jq -r --arg d "$1" '.[] | objects | select(.dst == $d) | "\(.path) \(.via) \(.proto)"' "$WORK/routes.json"; }

# 1. agentd in mode dpdk with the fast path.
start_fast
R4=$(stnum .fib.routes4)
R6=$(stnum .fib.routes6)
log "dataplane FIB before FRR: $R4 IPv4 + $R6 IPv6 routes"

# The remote router's prefixes exist on its lo and answer pings.
in_ns wire ip addr add 10.77.0.1/32 dev lo
in_ns wire ip addr add 10.78.1.1/32 dev lo
in_ns wire ip addr add fd00:77::1/128 dev lo

mon_start
frr_config host 65001 192.168.100.1 192.168.100.2 fd00:100::2 65002
frr_config wire 65002 192.168.100.2 192.168.100.1 fd00:100::1 65001 "10.77.0.0/16 10.78.1.0/24" fd00:77::/48
t_frr=$(now)
for side in wire host; do
	frr_start "$side" zebra
	wait_until 10 "$side zebra did not open its zserv socket" test -S "$WORK/frr-$side/zserv.api"
	frr_start "$side" bgpd
	[ "$side" = host ] || WIRE_BGPD=$FRR_LAST
done
for side in wire host; do
	wait_until 10 "$side bgpd did not start (vty socket)" test -S "$WORK/frr-$side/bgpd.vty"
done
pass "FRR zebra + bgpd running in $P-host (AS 65001) and $P-wire (AS 65002)"

# 2. The session comes up; BGP installs the routes in the host kernel.
wait_until 30 "BGP session 192.168.100.1 <-> 192.168.100.2 not Established" established host 192.168.100.2
log "IPv4 BGP session Established $(ms_between "$t_frr" "$SEEN") ms after FRR started"
wait_until 30 "BGP session fd00:100::1 <-> fd00:100::2 not Established" established host fd00:100::2

k_up() {
	kernel_has 4 "10.77.0.0/16 192.168.100.2 dp0" && kernel_has 4 "10.78.1.0/24 192.168.100.2 dp0" &&
		! kernel_lacks 6 fd00:77::/48
}
d_up() { dp_count_is $((R4 + 2)) $((R6 + 1)); }
wait_kd 30 "$t_frr" 1 k_up d_up \
	"BGP routes after FRR started (10.77.0.0/16, 10.78.1.0/24 via 192.168.100.2 dev dp0, fd00:77::/48; want $((R4 + 2)) IPv4 + $((R6 + 1)) IPv6 in the dataplane)" \
	'10\.77\.0\.0/16 .*proto bgp' '10\.78\.1\.0/24 .*proto bgp' 'fd00:77::/48 .*proto bgp'
log "kernel: $(bgp_routes 4 | tr '\n' ';') $(bgp_routes 6 | tr '\n' ';')"
log "$(in_ns host ip route show 10.77.0.0/16)"
pass "BGP routes in the kernel (proto bgp via 192.168.100.2 dev dp0) and the dataplane ($(dp_counts))"

# 3. The listing shows them on the underlay path.
if routes_json; then
	[ "$(listed 10.77.0.0/16)" = "underlay 192.168.100.2 bgp" ] ||
		fail "agentctl routes: 10.77.0.0/16 is '$(listed 10.77.0.0/16)', want 'underlay 192.168.100.2 bgp'"
	[ "$(listed 10.78.1.0/24)" = "underlay 192.168.100.2 bgp" ] ||
		fail "agentctl routes: 10.78.1.0/24 is '$(listed 10.78.1.0/24)', want 'underlay 192.168.100.2 bgp'"
	[ "$(listed fd00:77::/48 | cut -d' ' -f1)" = underlay ] ||
		fail "agentctl routes: fd00:77::/48 is '$(listed fd00:77::/48)', want path underlay"
	log "agentctl routes: fd00:77::/48 $(listed fd00:77::/48)"
	pass "agentctl routes lists the BGP routes on the underlay path"
fi

# 4. VM traffic to the announced prefixes goes through DPDK, not the kernel.
# (the first packet may find the next hop unresolved)
ping_ok vm1 10.77.0.1 1 || fail "vm1 cannot reach 10.77.0.1 over the BGP route"
ping_ok vm1 fd00:77::1 1 || fail "vm1 cannot reach fd00:77::1 over the BGP route"
v0=$(stnum .forwarding.fast_vm_to_wire) k0=$(kernel_fwd)
in_ns vm1 ping -c 20 -i 0.02 -W 2 -q 10.77.0.1 >/dev/null || fail "ping vm1 -> 10.77.0.1 lost packets"
in_ns vm1 ping -c 20 -i 0.02 -W 2 -q 10.78.1.1 >/dev/null || fail "ping vm1 -> 10.78.1.1 lost packets"
in_ns vm1 ping -6 -c 20 -i 0.02 -W 2 -q fd00:77::1 >/dev/null || fail "ping vm1 -> fd00:77::1 lost packets"
v1=$(stnum .forwarding.fast_vm_to_wire) k1=$(kernel_fwd)
dv=$((v1 - v0)) dk=$((k1 - k0))
log "60 pings over the BGP routes: fast_vm_to_wire +$dv, kernel IP forwarding +$dk"
[ "$dv" -ge 60 ] || fail "BGP-routed VM traffic not forwarded by DPDK: fast_vm_to_wire +$dv for 60 pings"
[ "$dk" -le 2 ] || fail "the host kernel forwarded $dk packets of the BGP-routed traffic"
pass "VM traffic over the BGP routes forwarded by DPDK (+$dv), kernel forwarding +$dk"

# 5. Withdraw 10.77.0.0/16 at the wire router.
t_w=$(now) m=$(mon_mark)
vty wire 'configure terminal' 'router bgp 65002' 'address-family ipv4 unicast' \
	'no network 10.77.0.0/16' >/dev/null || fail "vtysh: withdrawing 10.77.0.0/16 failed"
k_withdrawn() { kernel_lacks 4 10.77.0.0/16; }
d_withdrawn() { dp_count_is $((R4 + 1)) $((R6 + 1)); }
wait_kd 20 "$t_w" "$m" k_withdrawn d_withdrawn \
	"withdraw of 10.77.0.0/16 (want $((R4 + 1)) IPv4 + $((R6 + 1)) IPv6 in the dataplane)" \
	'Deleted 10\.77\.0\.0/16 '
kernel_has 4 "10.78.1.0/24 192.168.100.2 dp0" || fail "10.78.1.0/24 lost with the withdraw of 10.77.0.0/16"
if routes_json; then
	[ -z "$(listed 10.77.0.0/16)" ] || fail "agentctl routes still lists 10.77.0.0/16: $(listed 10.77.0.0/16)"
	[ -n "$(listed 10.78.1.0/24)" ] || fail "agentctl routes lost 10.78.1.0/24"
fi
v0=$(stnum .forwarding.fast_vm_to_wire) n0=$(stnum .forwarding.punt_no_route)
in_ns vm1 ping -c 3 -i 0.2 -W 1 10.77.0.1 >"$WORK/ping.out" 2>&1 &&
	fail "10.77.0.1 still reachable from vm1 after the withdraw"
grep -q 'Destination Net Unreachable' "$WORK/ping.out" ||
	fail "ping to 10.77.0.1 after the withdraw did not fail with no route: $(tail -n 3 "$WORK/ping.out")"
v1=$(stnum .forwarding.fast_vm_to_wire) n1=$(stnum .forwarding.punt_no_route)
dv=$((v1 - v0)) dn=$((n1 - n0))
[ "$dv" -eq 0 ] || fail "DPDK still forwarded $dv packets to the withdrawn 10.77.0.0/16"
[ "$dn" -ge 3 ] || fail "the dataplane did not punt the pings to 10.77.0.1 as no-route (punt_no_route +$dn)"
pass "withdrawn 10.77.0.0/16 left the kernel and the dataplane ($(dp_counts)); pings punted, not forwarded"

# 6. The wire bgpd dies: the session drops, every BGP route goes.
t_x=$(now) m=$(mon_mark)
kill -KILL "$WIRE_BGPD"
wait "$WIRE_BGPD" 2>/dev/null || true
k_gone() { [ -z "$(bgp_routes 4)$(bgp_routes 6)" ]; }
d_gone() { dp_count_is "$R4" "$R6"; }
wait_kd 30 "$t_x" "$m" k_gone d_gone \
	"every BGP route after kill -9 of the wire bgpd (want the baseline $R4 IPv4 + $R6 IPv6 in the dataplane)" \
	'Deleted 10\.78\.1\.0/24 ' 'Deleted fd00:77::/48 '
established host 192.168.100.2 && fail "host bgpd still Established with the dead peer"
if routes_json; then
	[ "$(jq '[.[] | objects | select(.proto == "bgp")] | length' "$WORK/routes.json")" -eq 0 ] ||
		fail "agentctl routes still lists bgp routes: $(jq -c '[.[] | select(.proto == "bgp") | .dst]' "$WORK/routes.json")"
fi
ping_ok vm1 10.10.2.2 || fail "vm1 lost the configured route to the remote VM"
pass "session dropped: the kernel and the dataplane are back to the baseline ($(dp_counts))"
FRR_OK=1

finish
