#!/bin/bash
# Scenario: `agentctl routes` and `agentctl neigh` list the dataplane's whole
# FIB mirror, page by page (one telemetry reply holds ~100 entries; the old
# listing stopped at 250): 3000 IPv4 and 600 IPv6 routes added through the
# underlay (as a routing daemon would) are listed, exactly the kernel's set,
# with their next hop and fast path; a PREFIX filter lists only what is
# inside it; the neighbours are the kernel's; deleting the routes brings the
# count back.
. "$(dirname "$0")/lib.sh"
scenario_init rtlist

N4=3000 # 100.64.0.0/24 .. 100.75.183.0/24 via the wire gateway
N6=600  # fd00:4000:0:0::/64 .. fd00:4000:0:257::/64
NE=10   # ECMP: 100.76.N.0/24, two paths
NB=5    # blackhole: 100.77.N.0/24
ROOT4=100.64.0.0/12
ROOT6=fd00:4000::/32

extra_cleanup() {
	ip -n "$P-host" route flush root "$ROOT4" 2>/dev/null
	ip -n "$P-host" -6 route flush root "$ROOT6" 2>/dev/null
	ip -n "$P-host" route del default proto bird 2>/dev/null
	ip -n "$P-host" -6 route del default proto bird 2>/dev/null
}

# ip -batch input: add|del
route_batch() {
	awk -v op="$1" -v n4=$N4 -v n6=$N6 -v ne=$NE -v nb=$NB 'BEGIN {
		for (i = 0; i < n4; i++)
			printf "route %s 100.%d.%d.0/24 via 192.168.100.2 proto bird\n",
				op, 64 + int(i / 256), i % 256
		for (i = 0; i < n6; i++)
			printf "route %s fd00:4000:0:%x::/64 via fd00:100::2 proto bird\n", op, i
		for (i = 0; i < ne; i++)
			printf "route %s 100.76.%d.0/24 proto bird nexthop via 192.168.100.2 nexthop via 192.168.100.3\n",
				op, i
		for (i = 0; i < nb; i++)
			printf "route %s blackhole 100.77.%d.0/24 proto bird\n", op, i
		# default routes: the FIB walk (rte_rib_get_nxt) never yields /0 itself
		printf "route %s default via 192.168.100.2 proto bird metric 4242\n", op
		printf "route %s default via fd00:100::2 proto bird metric 4242\n", op
	}'
}

# "ipv4 N" / "ipv6 N" of agentctl routes --count ARGS
count() { # family [args]
	local fam=$1
	shift
	agentctl routes "$@" --count | awk -v f="ipv$fam" '$1 == f {print $2}'
}

wait_count() { # want4 want6 what
	local c4 c6
	for _ in $(seq 300); do
		c4=$(count 4) c6=$(count 6)
		[ "$c4" = "$1" ] && [ "$c6" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$3: agentctl routes --count shows $c4 IPv4 + $c6 IPv6 routes, want $1 + $2"
}

# the kernel's prefixes of proto bird in the main table, sorted
kernel_prefixes() { # 4|6
	in_ns host ip -"$1" -j route show table main proto bird |
		jq -r --arg dflt "$([ "$1" = 4 ] && echo 0.0.0.0/0 || echo ::/0)" \
			'.[] | if .dst == "default" then $dflt else .dst end' | sort
}

start_fast

b4=$(count 4) b6=$(count 6)
[ -n "$b4" ] && [ -n "$b6" ] || fail "agentctl routes --count printed nothing"
log "baseline: $b4 IPv4 + $b6 IPv6 routes"
# the lab's own routes are listed, text and JSON agree
[ "$(agentctl routes --json | jq length)" -eq $((b4 + b6)) ] ||
	fail "agentctl routes --json does not list the --count routes"
agentctl routes | grep -E '^10\.10\.2\.0/24 via 192\.168\.100\.2 dev dp0 proto [a-z0-9]+ metric [0-9]+ \[fast: underlay\]$' \
	>/dev/null || fail "configured route 10.10.2.0/24 not listed as underlay: $(agentctl routes)"

t0=$(date +%s.%N)
route_batch add | in_ns host ip -batch - || fail "ip -batch add"
wait_count $((b4 + N4 + NE + NB + 1)) $((b6 + N6 + 1)) "after adding the routes"
log "$((N4 + NE + NB + 1)) + $((N6 + 1)) routes mirrored and listed in $(ms_between "$t0" "$(date +%s.%N)") ms"
pass "agentctl routes --count follows the kernel past 250 routes"

# Everything, as one JSON array, exactly the kernel's set.
agentctl routes --json >"$WORK/routes.json" || fail "agentctl routes --json failed"
jq -e 'type == "array"' "$WORK/routes.json" >/dev/null || fail "routes --json is not one JSON array"
[ "$(jq length "$WORK/routes.json")" -eq $((b4 + b6 + N4 + NE + NB + N6 + 2)) ] ||
	fail "routes --json lists $(jq length "$WORK/routes.json") routes"
for fam in 4 6; do
	kernel_prefixes $fam >"$WORK/kernel$fam"
	jq -r --arg v6 $((fam == 6)) '.[] | select(.proto == "bird" and .table == 254)
		| select((.dst | contains(":")) == ($v6 == "1")) | .dst' "$WORK/routes.json" |
		sort >"$WORK/agent$fam"
	[ -s "$WORK/kernel$fam" ] || fail "no IPv$fam bird routes in the kernel"
	diff "$WORK/kernel$fam" "$WORK/agent$fam" >"$WORK/diff$fam" ||
		fail "IPv$fam: agentctl routes differs from the kernel's: $(head -5 "$WORK/diff$fam")"
done
[ "$(wc -l <"$WORK/agent4")" -eq $((N4 + NE + NB + 1)) ] && [ "$(wc -l <"$WORK/agent6")" -eq $((N6 + 1)) ] ||
	fail "wrong number of bird routes listed"
# no prefix listed twice across pages
[ "$(jq -r '.[] | "\(.dst) \(.table)"' "$WORK/routes.json" | sort | uniq -d | wc -l)" -eq 0 ] ||
	fail "a route is listed twice"
pass "routes --json lists exactly the kernel's $((N4 + NE + NB + 1)) + $((N6 + 1)) routes"

# What each route says.
n=$(jq '[.[] | select(.proto == "bird" and .via == "192.168.100.2" and .dev == "dp0"
	and .path == "underlay" and .type == "unicast")] | length' "$WORK/routes.json")
[ "$n" -eq $((N4 + 1)) ] || fail "$n IPv4 routes via 192.168.100.2 dev dp0 [underlay], want $N4 + default"
n=$(jq '[.[] | select(.proto == "bird" and .via == "fd00:100::2" and .dev == "dp0"
	and .path == "underlay")] | length' "$WORK/routes.json")
[ "$n" -eq $((N6 + 1)) ] || fail "$n IPv6 routes via fd00:100::2 dev dp0 [underlay], want $N6 + default"
n=$(jq '[.[] | select(.ecmp == 2 and (.nexthops | length) == 2
	and ([.nexthops[].via] | sort) == ["192.168.100.2", "192.168.100.3"])] | length' "$WORK/routes.json")
[ "$n" -eq "$NE" ] || fail "$n ECMP routes with both paths listed, want $NE"
n=$(jq '[.[] | select(.type == "blackhole" and .path != "underlay" and .path != "vm")] | length' \
	"$WORK/routes.json")
[ "$n" -eq "$NB" ] || fail "$n blackhole routes listed (off the fast path), want $NB"
agentctl routes 100.64.5.0/24 --exact |
	grep -E '^100\.64\.5\.0/24 via 192\.168\.100\.2 dev dp0 proto bird metric 0 \[fast: underlay\]$' \
	>/dev/null || fail "routes --exact: '$(agentctl routes 100.64.5.0/24 --exact)'"
agentctl routes 100.76.3.0/24 --exact | grep -cE '^	nexthop via 192\.168\.100\.[23] dev dp0 weight 1$' |
	grep -qx 2 || fail "ECMP text: '$(agentctl routes 100.76.3.0/24 --exact)'"
agentctl routes 100.77.1.0/24 --exact | grep -E '^blackhole 100\.77\.1\.0/24 proto bird' >/dev/null ||
	fail "blackhole text: '$(agentctl routes 100.77.1.0/24 --exact)'"
[ "$(agentctl routes 100.64.5.0/25 --exact --json | jq length)" -eq 0 ] ||
	fail "routes --exact lists a prefix the kernel does not have"
# the text listing has one line per route (plus one per ECMP path)
[ "$(agentctl routes | wc -l)" -eq $((b4 + b6 + N4 + NE + NB + N6 + 2 + 2 * NE)) ] ||
	fail "text listing: $(agentctl routes | wc -l) lines"
pass "route fields: next hop, device, fast path, ECMP paths, type"

# PREFIX: only the routes inside it, all of them.
# (a PREFIX that is itself a route is listed too)
for pfx in 100.66.0.0/16 100.64.0.0/12 100.75.128.0/17 100.66.7.0/24 fd00:4000:0:100::/56 \
	fd00:4000::/32 fd00:4000:0:2a::/64; do
	fam=4
	[[ $pfx == *:* ]] && fam=6
	agentctl routes "$pfx" --json | jq -r '.[].dst' | sort >"$WORK/in"
	in_ns host ip -$fam -j route show table main root "$pfx" | jq -r '.[].dst' | sort >"$WORK/kin"
	[ -s "$WORK/in" ] || fail "routes $pfx lists nothing"
	diff "$WORK/kin" "$WORK/in" >"$WORK/diff" ||
		fail "routes $pfx differs from ip route show root $pfx: $(head -5 "$WORK/diff")"
	python3 - "$pfx" "$WORK/in" <<'EOF' || fail "routes $pfx lists a route outside it"
import ipaddress, sys
net = ipaddress.ip_network(sys.argv[1])
for line in open(sys.argv[2]):
    if not ipaddress.ip_network(line.strip()).subnet_of(net):
        sys.exit(f"{line.strip()} not in {net}")
EOF
	[ "$(count $fam "$pfx")" -eq "$(wc -l <"$WORK/in")" ] || fail "routes $pfx --count"
	[ -z "$(count $((10 - fam)) "$pfx")" ] || fail "routes $pfx lists the other family"
done
[ "$(count 4 100.66.0.0/16)" -eq 256 ] || fail "routes 100.66.0.0/16 --count: $(count 4 100.66.0.0/16)"
[ "$(count 6 fd00:4000::/32)" -eq $N6 ] || fail "routes fd00:4000::/32 --count"
[ "$(count 4 100.66.7.0/24)" -eq 1 ] || fail "routes 100.66.7.0/24 does not list that route"
[ "$(count 4 198.51.100.0/24)" -eq 0 ] || fail "a prefix with no routes lists some"
[ "$(agentctl routes 0.0.0.0/0 --json | jq length)" -eq $((b4 + N4 + NE + NB + 1)) ] ||
	fail "routes 0.0.0.0/0 does not list every IPv4 route"
agentctl routes 10.1.2.3/40 >/dev/null 2>&1 && fail "a bad PREFIX is accepted"
pass "routes PREFIX lists exactly the routes inside it"

# Neighbours: the kernel's reachable ones on the lab devices are all listed.
# (the host resolves them itself: they are then REACHABLE, not STALE)
for dst in 192.168.100.2 fd00:100::2 10.10.1.11 fd00:10::12; do
	in_ns host ping -c 1 -W 2 "$dst" >/dev/null || fail "host cannot ping $dst"
done
for _ in $(seq 50); do
	in_ns host ip -j neigh show nud reachable | jq -r '.[] | select(.dev == "dp0" or .dev == "br-vm")
		| select(.lladdr != null) | "\(.dst) \(.dev) \(.lladdr)"' | sort >"$WORK/kneigh"
	agentctl neigh --json | jq -r '.[] | "\(.ip) \(.dev) \(.mac | ascii_downcase)"' | sort >"$WORK/aneigh"
	missing=$(comm -23 "$WORK/kneigh" "$WORK/aneigh")
	[ -z "$missing" ] && break
	sleep 0.1
done
[ "$(wc -l <"$WORK/kneigh")" -ge 4 ] || fail "expected at least 4 reachable neighbours: $(cat "$WORK/kneigh")"
[ -z "$missing" ] || fail "neighbours missing from agentctl neigh: $missing"
[ "$(agentctl neigh --count | awk '{print $2}')" -eq "$(wc -l <"$WORK/aneigh")" ] ||
	fail "neigh --count differs from neigh --json"
[ "$(agentctl neigh | wc -l)" -eq "$(wc -l <"$WORK/aneigh")" ] || fail "neigh text listing"
agentctl neigh | grep -E "^192\.168\.100\.2 dev dp0 lladdr $(in_ns wire cat /sys/class/net/eth0/address)\$" \
	>/dev/null || fail "neigh text: $(agentctl neigh)"
pass "agentctl neigh lists the kernel's $(wc -l <"$WORK/kneigh") reachable neighbours"

agentctl status | grep -A2 '^fib mirror:' >&2 || fail "status: no fib mirror line"

route_batch del | in_ns host ip -batch - || fail "ip -batch del"
wait_count "$b4" "$b6" "after deleting the routes"
[ "$(agentctl routes "$ROOT4" --count | awk '{print $2}')" -eq 0 ] || fail "routes left in $ROOT4"
pass "the count goes back to $b4 + $b6 once the routes are deleted"

finish
