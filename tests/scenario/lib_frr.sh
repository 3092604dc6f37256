#!/bin/bash
# FRR in the netns lab, for the scenarios that run a routing daemon
# (sourced after lib.sh). The instances are private to the run: config, pid
# files, zserv and vty sockets under $WORK/frr-SIDE, no vty TCP port; they
# are not started through systemd or /etc/frr and do not see (or disturb) a
# host's own FRR. Only the PIDs started here are stopped (frr_cleanup, from
# the scenario's extra_cleanup).

FRR_BIN=${FRR_BIN:-/usr/lib/frr}
FRR_PIDS=()  # every FRR daemon started here
FRR_NAMES=() # its daemon name (zebra|bgpd), same index
FRR_OK=	     # set at the end of a scenario that passed: no logs shown
FRR_TMPDIR_EXISTED=1
[ -d /var/tmp/frr ] || FRR_TMPDIR_EXISTED=

frr_cleanup() {
	local i pid alive
	for pid in "${FRR_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for i in $(seq 50); do
		alive=
		for pid in "${FRR_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ -n "$alive" ] || break
		sleep 0.1
	done
	for pid in "${FRR_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	if [ -z "$FRR_OK" ] && [ -n "${WORK:-}" ]; then
		for f in "$WORK"/frr-*/*.log; do
			[ -s "$f" ] || continue
			log "$f (last 15 lines):"
			tail -n 15 "$f" >&2
		done
	fi
	# FRR keeps a crash-log buffer in /var/tmp/frr/DAEMON.PID, removed
	# only on a clean exit (the wire bgpd is killed with SIGKILL).
	for i in "${!FRR_PIDS[@]}"; do
		rm -rf "/var/tmp/frr/${FRR_NAMES[$i]}.${FRR_PIDS[$i]}"
	done
	[ -n "$FRR_TMPDIR_EXISTED" ] || rmdir /var/tmp/frr 2>/dev/null
	true
}

# FRR installed, and $WORK reachable by its user.
frr_check() {
	local d
	for d in zebra bgpd; do
		[ -x "$FRR_BIN/$d" ] || fail "$FRR_BIN/$d not found: install frr (.ci/install-deps.sh)"
	done
	command -v vtysh >/dev/null || fail "vtysh not found: install frr (.ci/install-deps.sh)"
	getent passwd frr >/dev/null || fail "no user frr: install frr (.ci/install-deps.sh)"
	# The daemons drop to user frr (Debian's FRR insists that its user be in
	# the vty group frrvty, which root is not): let it reach its own dirs.
	chmod 711 "$WORK"
}

# True while the clock is before epoch END.
before() { awk -v a="$(now)" -v b="$1" 'BEGIN { exit !(a < b) }'; }

# wait_until TIMEOUT_S WHAT CMD...: poll CMD every 50 ms until it succeeds;
# fail with WHAT when TIMEOUT_S has passed. Sets SEEN (epoch s).
wait_until() {
	local timeout=$1 what=$2 end
	shift 2
	end=$(fcalc "$(now) + $timeout")
	while :; do
		if "$@"; then
			SEEN=$(now)
			return 0
		fi
		before "$end" || fail "$what (not within ${timeout}s)"
		sleep 0.05
	done
}

# frr_start SIDE(host|wire) DAEMON ARGS...: one FRR daemon in $P-SIDE, with
# every path in $WORK/frr-SIDE, not daemonized: its PID (ip netns exec
# execs it) is $!, recorded for the cleanup, and in FRR_LAST.
frr_start() {
	local side=$1 d=$2 dir=$WORK/frr-$1
	shift 2
	ip netns exec "$P-$side" "$FRR_BIN/$d" -f "$dir/$d.conf" -i "$dir/$d.pid" \
		-z "$dir/zserv.api" --vty_socket "$dir" -A 127.0.0.1 -P 0 \
		-u frr -g frr --log "file:$dir/$d.log" --log-level info "$@" \
		</dev/null >>"$dir/$d.out" 2>&1 &
	FRR_PIDS+=($!)
	FRR_NAMES+=("$d")
	FRR_LAST=$!
}

# vtysh against one side's instance only.
vty() { # side commands...
	local side=$1
	shift
	local args=() c
	for c in "$@"; do args+=(-c "$c"); done
	vtysh --config_dir "$WORK/frr-$side" --vty_socket "$WORK/frr-$side" "${args[@]}"
}

# The config of one side: zebra.conf, bgpd.conf. "no bgp fast-external-
# failover": agentd moves the underlay between dp0 and the NIC netdev (and
# deletes dp0) on failover and failback; by default bgpd resets a directly
# connected eBGP session the moment its interface goes, though the TCP
# connection survives the move (same addresses, same MAC): the routes it
# learned would be withdrawn for the seconds a new session takes
# (docs/topologies.md).
frr_config() { # side AS router-id peer4 peer6 peer-AS [nets4 [nets6]]
	local side=$1 as=$2 rid=$3 peer4=$4 peer6=$5 peeras=$6 nets4=${7:-} nets6=${8:-}
	local dir=$WORK/frr-$1
	mkdir -p "$dir"
	printf 'hostname %s-%s\n' "$P" "$side" >"$dir/zebra.conf"
	: >"$dir/vtysh.conf"
	{
		cat <<-EOF
			hostname $P-$side
			router bgp $as
			 bgp router-id $rid
			 no bgp ebgp-requires-policy
			 no bgp network import-check
			 no bgp fast-external-failover
			 bgp log-neighbor-changes
			 neighbor $peer4 remote-as $peeras
			 neighbor $peer4 timers 3 9
			 neighbor $peer4 timers connect 1
			 neighbor $peer4 advertisement-interval 0
			 neighbor $peer6 remote-as $peeras
			 neighbor $peer6 timers 3 9
			 neighbor $peer6 timers connect 1
			 neighbor $peer6 advertisement-interval 0
			 address-family ipv4 unicast
			  no neighbor $peer6 activate
		EOF
		# shellcheck disable=SC2086 # space-separated lists
		[ -z "$nets4" ] || printf '  network %s\n' $nets4
		cat <<-EOF
			 exit-address-family
			 address-family ipv6 unicast
			  neighbor $peer6 activate
		EOF
		# shellcheck disable=SC2086
		[ -z "$nets6" ] || printf '  network %s\n' $nets6
		cat <<-EOF
			 exit-address-family
			exit
		EOF
	} >"$dir/bgpd.conf"
	chown -R frr:frr "$dir"
}

# zebra + bgpd of SIDE, configured (frr_config), vty sockets up.
frr_up() { # side
	frr_start "$1" zebra
	wait_until 10 "$1 zebra did not start (zserv socket)" test -S "$WORK/frr-$1/zserv.api"
	frr_start "$1" bgpd
	wait_until 10 "$1 bgpd did not start (vty socket)" test -S "$WORK/frr-$1/bgpd.vty"
}

# Is the BGP session of SIDE with PEER established?
established() { # side peer
	vty "$1" "show bgp neighbors $2 json" 2>/dev/null |
		jq -e --arg p "$2" '.[$p].bgpState == "Established"' >/dev/null
}
