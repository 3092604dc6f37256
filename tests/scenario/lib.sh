#!/bin/bash
# Shared helpers for the netns-lab scenario tests. Each scenario sources this,
# calls `scenario_init NAME`, and gets: a lab of its own (unique prefix), a
# rendered config, agentd helpers, assertions, and a cleanup trap that tears
# everything down even when the test fails.
set -euo pipefail

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN_DIR=${BIN_DIR:-$SRC_DIR/build/bin}
LAB=$SRC_DIR/tests/lab/lab.sh

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
fail() {
	log "FAIL: $*"
	exit 1
}
pass() { log "ok: $*"; }

# Run in one of the lab's namespaces: in_ns host ip link ...
in_ns() {
	local ns=$1
	shift
	ip netns exec "$P-$ns" "$@"
}

scenario_init() {
	local name=$1
	# Unique per run: several scenarios (or CI runs) may share the machine.
	P="agt${name:0:6}$$"
	P=${P:0:14}
	WORK=$(mktemp -d "/tmp/agt-$name.XXXXXX")
	CONF=$WORK/agentd.conf
	SOCK=/run/agentd/$P.sock
	AGENTD_LOG=$WORK/agentd.log
	AGENTD_PID=
	trap scenario_cleanup EXIT
	trap 'exit 130' INT TERM
	log "scenario $name: lab prefix $P, work dir $WORK"
	"$LAB" up "$P" >"$WORK/lab.log" 2>&1 || {
		cat "$WORK/lab.log" >&2
		fail "lab up"
	}
	render_config
}

# The lab default config, made unique to this lab.
render_config() {
	sed -e "s|/run/agentd/lab.sock|$SOCK|" \
	    -e "s|file_prefix = \"agentlab\"|file_prefix = \"$P\"|" \
	    -e "s|pin_name = \"lab\"|pin_name = \"$P\"|" \
	    -e "s|binary = \"agent-dataplane\"|binary = \"$BIN_DIR/agent-dataplane\"|" \
	    "$SRC_DIR/conf/agentd-lab.conf" >"$CONF"
	grep -q "$SOCK" "$CONF" || fail "config template changed: socket not rendered"
	grep -q "\"$P\"" "$CONF" || fail "config template changed: file_prefix not rendered"
}

scenario_cleanup() {
	local rc=$?
	set +e
	if [ -n "${AGENTD_PID:-}" ] && kill -0 "$AGENTD_PID" 2>/dev/null; then
		kill -TERM "$AGENTD_PID"
		for _ in $(seq 50); do kill -0 "$AGENTD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$AGENTD_PID" 2>/dev/null
	fi
	# A dataplane left behind (agentd killed) must not survive the test.
	pkill -KILL -f -- "--file-prefix $P " 2>/dev/null
	if declare -F extra_cleanup >/dev/null; then extra_cleanup; fi
	"$LAB" down "$P" >/dev/null 2>&1
	rm -f "$SOCK"
	rm -rf "/var/run/dpdk/$P"
	if [ $rc -ne 0 ] && [ -f "$AGENTD_LOG" ]; then
		log "agentd log (last 60 lines):"
		tail -n 60 "$AGENTD_LOG" >&2
	fi
	rm -rf "$WORK"
	exit $rc
}

agentctl() { "$BIN_DIR/agentctl" -s "$SOCK" "$@"; }

status_json() { agentctl status --json; }

# jq over `agentctl status --json`
st() { status_json | jq -r "$1"; }

start_agentd() {
	# not through in_ns: $! must be agentd itself, not a subshell
	ip netns exec "$P-host" "$BIN_DIR/agentd" -c "$CONF" >>"$AGENTD_LOG" 2>&1 &
	AGENTD_PID=$!
}

# Wait until agentd reports MODE (dpdk|kernel), up to $2 seconds.
wait_mode() {
	local want=$1 timeout=${2:-60} i
	for i in $(seq $((timeout * 10))); do
		if [ "$(st .mode 2>/dev/null)" = "$want" ]; then
			return 0
		fi
		kill -0 "$AGENTD_PID" 2>/dev/null || fail "agentd exited while waiting for mode $want"
		sleep 0.1
	done
	agentctl status >&2 || true
	fail "mode $want not reached in ${timeout}s"
}

stop_agentd() {
	local rc=0
	kill -TERM "$AGENTD_PID"
	wait "$AGENTD_PID" || rc=$?
	AGENTD_PID=
	return $rc
}

# Host-namespace state that agentd manages, normalised for comparison.
host_state() {
	{
		in_ns host ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//' |
			awk '{print $1, $2}' | sort
		# link-local addresses are the kernel's (dp0's follows its random first MAC)
		in_ns host ip -o addr show | awk '$4 !~ /^fe80:/ {print $2, $3, $4}' | sort
		in_ns host ip route show table main | sort
		in_ns host ip -6 route show table main | { grep -v '^fe80' || true; } | sort
	}
}

ping_ok() { # ns dst [count]
	in_ns "$1" ping -c "${3:-3}" -i 0.2 -W 2 "$2" >/dev/null 2>&1
}

# The fast-path counters of the dataplane (status JSON .forwarding.NAME).
fwd() { st ".forwarding.$1"; }
# Packets a steering program counted (.steering.counters.NAME.packets).
steer_cnt() { st ".steering.counters.$1.packets"; }
# IPv4 + IPv6 packets forwarded by the host kernel (nstat, host namespace).
kernel_fwd() {
	in_ns host nstat -az IpForwDatagrams Ip6OutForwDatagrams 2>/dev/null |
		awk '/IpForwDatagrams|Ip6OutForwDatagrams/ {n += $2} END {print n + 0}'
}

# Start agentd and wait until the fast path is on (mode dpdk, steering fast).
start_fast() {
	start_agentd
	wait_mode dpdk 60
	local i
	for i in $(seq 100); do
		[ "$(st .steering.mode)" = fast ] && return 0
		sleep 0.1
	done
	fail "steering did not reach mode fast"
}
