#!/bin/bash
# Shared helpers for the netns-lab scenario tests. Each scenario sources this,
# calls `scenario_init NAME`, and gets: a lab of its own (unique prefix), a
# rendered config, agentd helpers, assertions, and a cleanup trap that tears
# everything down even when the test fails. Each ends with `finish`: agentd
# stopped with exit status 0, nothing of the lab's prefix left behind, no
# sanitizer report in any log (the trap runs the same checks for a scenario
# that ends without it).
set -euo pipefail

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN_DIR=${BIN_DIR:-$SRC_DIR/build/bin}
LAB=$SRC_DIR/tests/lab/lab.sh

# The bed: "netns" (default), the lab of namespaces on this machine, or
# "guest", the same lab inside the TCG guest (tests/guest/run-guest.sh sets
# AGT_BED=guest): the host is the guest itself (its own namespace), the NIC
# a virtio-net PCI device that agentd hands to DPDK through vfio-pci, the
# wire a second NIC cabled to it inside qemu, the exception port chosen by
# "auto" (virtio-user: the guest has /dev/vhost-net). A guest with 4 NICs
# (AGTGUEST_NICS=4) has a second cabled pair: its wire end, agtwire1, is the
# wire namespace's eth1 (for a bond there; AGT_LAB_WIRE_DEV2= leaves it out).
AGT_BED=${AGT_BED:-netns}
if [ "$AGT_BED" = guest ]; then
	export AGT_LAB_WIRE_DEV=${AGT_LAB_WIRE_DEV:-agtwire0}
	if [ -e /sys/class/net/agtwire1 ]; then
		export AGT_LAB_WIRE_DEV2=${AGT_LAB_WIRE_DEV2-agtwire1}
	fi
	AGT_GUEST_NIC_PCI=${AGT_GUEST_NIC_PCI:-0000:00:03.0}
fi

# The NIC's kernel netdev (nic.kernel_netdev): where the underlay goes on
# the kernel path (a scenario of a bonded uplink: its bond)
NIC_NETDEV=nic0

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
fail() {
	log "FAIL: $*"
	exit 1
}
pass() { log "ok: $*"; }

# Run in one of the lab's namespaces: in_ns host ip link ... (the host of
# the guest bed is the caller's own namespace)
in_ns() {
	local ns=$1
	shift
	if [ "$ns" = host ] && [ "$AGT_BED" = guest ]; then
		"$@"
	elif [ "$ns" = host ]; then
		ip netns exec "$P-$LAB_HOST" "$@"
	else
		ip netns exec "$P-$ns" "$@"
	fi
}

# ---- the lab's hosts (AGT_LAB_HOSTS=2: a second one, tests/lab/lab.sh) ----
# What names a host: its namespace (in_ns host), agentd's socket, config,
# pid and log, the DPDK file prefix / BPF pin name and the IPv4 underlay
# address. use_host N makes host N the one every helper (st, agentctl,
# start_agentd, end_checks, ...) works on; host 0 is current at first.
LAB_HOST=host
HP= # file prefix / pin name ($P for host 0)
UL4=192.168.100.1
CUR_HOST=0
HOST_VARS="SOCK CONF AGENTD_PID AGENTD_LOG LAB_HOST HP UL4 FD_BASE FD_BASE_PID"
declare -A HOSTV=()
use_host() { # N
	local k
	[ "$1" = "$CUR_HOST" ] && return 0
	for k in $HOST_VARS; do HOSTV[$CUR_HOST.$k]=${!k-}; done
	CUR_HOST=$1
	for k in $HOST_VARS; do printf -v "$k" '%s' "${HOSTV[$1.$k]-}"; done
}

# Host 1's identity and config: host 0's config with host 1's socket,
# prefix, VM network (10.10.3.0/24, fd00:30::/64; one VM port, vm1p),
# underlay (.3 / ::3) and routes to host 0's VMs; its forwarding lcore on
# CPU 0 (host 0's is on CPU 1: --main-lcore, DPDK would make the lowest
# listed lcore the main one). Host 0's config gets the routes to host 1's
# VMs. AGT_TWO_HOSTS_ROUTES=bgp: no static routes between the hosts (a
# routing daemon announces them).
two_hosts_setup() {
	local c1=$WORK/agentd-h1.conf
	HOSTV[1.SOCK]=/run/agentd/${P}h1.sock
	HOSTV[1.CONF]=$c1
	HOSTV[1.AGENTD_LOG]=$WORK/agentd-h1.log
	HOSTV[1.LAB_HOST]=host1
	HOSTV[1.HP]=${P}h1
	HOSTV[1.UL4]=192.168.100.3
	sed -e "s|$SOCK|${HOSTV[1.SOCK]}|" \
	    -e "s|file_prefix = \"$P\"|file_prefix = \"${P}h1\"|" \
	    -e "s|pin_name = \"$P\"|pin_name = \"${P}h1\"|" \
	    -e 's|eal_args = \[ "--no-huge"|eal_args = [ "--main-lcore", "1", "--no-huge"|' \
	    -e 's|"10.10.1.1/24", "fd00:10::1/64"|"10.10.3.1/24", "fd00:30::1/64"|' \
	    -e 's|ports = \[ "vm1p", "vm2p" \];|ports = [ "vm1p" ];|' \
	    -e 's|"192.168.100.1/24", "fd00:100::1/64"|"192.168.100.3/24", "fd00:100::3/64"|' \
	    "$CONF" >"$c1"
	for k in "${HOSTV[1.SOCK]}" "\"${P}h1\"" '"--main-lcore", "1"' '"10.10.3.1/24"' 'ports = \[ "vm1p" \]' \
		'"192.168.100.3/24"'; do
		grep -q "$k" "$c1" || fail "config template changed: host 1's $k not rendered"
	done
	[ "${AGT_TWO_HOSTS_ROUTES:-static}" = static ] || return 0
	sed -i -e 's|{ dst = "fd00:20::/64"; via = "fd00:100::2"; }|{ dst = "fd00:20::/64"; via = "fd00:100::2"; },\n\t{ dst = "10.10.1.0/24"; via = "192.168.100.1"; },\n\t{ dst = "fd00:10::/64"; via = "fd00:100::1"; }|' "$c1"
	sed -i -e 's|{ dst = "fd00:20::/64"; via = "fd00:100::2"; }|{ dst = "fd00:20::/64"; via = "fd00:100::2"; },\n\t{ dst = "10.10.3.0/24"; via = "192.168.100.3"; },\n\t{ dst = "fd00:30::/64"; via = "fd00:100::3"; }|' "$CONF"
	grep -q 'dst = "10.10.1.0/24"' "$c1" || fail "config template changed: host 1's route to host 0 not rendered"
	grep -q 'dst = "10.10.3.0/24"' "$CONF" || fail "config template changed: host 0's route to host 1 not rendered"
}

# The lab of prefix $P, with its work dir, rendered config and cleanup trap.
lab_setup() { # work-dir-template
	WORK=$(mktemp -d "$1")
	CONF=$WORK/agentd.conf
	SOCK=/run/agentd/$P.sock
	AGENTD_LOG=$WORK/agentd.log
	AGENTD_PID=
	trap scenario_cleanup EXIT
	trap 'exit 130' INT TERM
	"$LAB" up "$P" >"$WORK/lab.log" 2>&1 || {
		cat "$WORK/lab.log" >&2
		fail "lab up"
	}
	render_config
	HP=$P
	if [ "${AGT_LAB_HOSTS:-1}" = 2 ]; then two_hosts_setup; fi
}

scenario_init() {
	local name=$1
	SCENARIO=$name
	# Unique per run: several scenarios (or CI runs) may share the machine.
	P="agt${name:0:6}$$"
	P=${P:0:14}
	lab_setup "/tmp/agt-$name.XXXXXX"
	log "scenario $name: lab prefix $P, work dir $WORK"
}

# A benchmark's lab: a fixed prefix, so one run at a time (lock); leftovers of
# an interrupted run are removed first. Same cleanup as a scenario.
bench_init() {
	P=$1
	mkdir -p /run/agentd
	exec 9>"/run/agentd/$P.lock"
	flock -n 9 || fail "another benchmark on lab $P is running"
	"$LAB" down "$P" >/dev/null 2>&1 || true
	lab_setup "/tmp/$P.XXXXXX"
}

# The lab default config, made unique to this lab.
render_config() {
	sed -e "s|/run/agentd/lab.sock|$SOCK|" \
	    -e "s|file_prefix = \"agentlab\"|file_prefix = \"$P\"|" \
	    -e "s|pin_name = \"lab\"|pin_name = \"$P\"|" \
	    -e "s|binary = \"agent-dataplane\"|binary = \"$BIN_DIR/agent-dataplane\"|" \
	    "$SRC_DIR/conf/agentd-lab.conf" >"$CONF"
	# AGT_EXC_TYPE: run a scenario over another exception port type
	if [ -n "${AGT_EXC_TYPE:-}" ]; then
		sed -i -e "s|^\(\s*\)type = \"[a-z_-]*\";|\1type = \"$AGT_EXC_TYPE\";|" "$CONF"
		grep -q "type = \"$AGT_EXC_TYPE\";" "$CONF" || fail "config template changed: exception type not rendered"
	fi
	if [ "$AGT_BED" = guest ]; then
		# The NIC is a PCI device, given back to virtio-pci on fallback;
		# hugepages (vfio maps DPDK's memory for the device's DMA), PCI
		# scan allowed (agentd passes -a NIC); FIBs sized for the guest's
		# 1 GiB of hugepages; the exception port as agentd picks it; a
		# hang declared after 2 s, not 300 ms (an emulated vCPU can stall
		# that long when the host is busy: seen as a second failover).
		sed -i -e "s|device = \"net_af_xdp0,iface=nic0\";|device = \"$AGT_GUEST_NIC_PCI\";|" \
		    -e 's|kernel_driver = "";|kernel_driver = "virtio-pci";|' \
		    -e 's|eal_args = \[ "--no-huge", "-m", "512", "--no-pci" \];|eal_args = [ ];|' \
		    -e 's|lpm_rules = 1048576;|lpm_rules = 65536;|' \
		    -e 's|lpm6_rules = 262144;|lpm6_rules = 16384;|' \
		    -e 's|heartbeat_ms = 100;|heartbeat_ms = 200;|' \
		    -e 's|heartbeat_misses = 3;|heartbeat_misses = 10;|' "$CONF"
		[ -n "${AGT_EXC_TYPE:-}" ] || sed -i 's|type = "af_xdp";|type = "auto";|' "$CONF"
		for k in "device = \"$AGT_GUEST_NIC_PCI\"" 'kernel_driver = "virtio-pci"' 'eal_args = \[ \]' \
			'lpm_rules = 65536' 'lpm6_rules = 16384' 'heartbeat_ms = 200' 'heartbeat_misses = 10'; do
			grep -q "$k;" "$CONF" || fail "config template changed: $k not rendered"
		done
	fi
	grep -q "$SOCK" "$CONF" || fail "config template changed: socket not rendered"
	grep -q "\"$P\"" "$CONF" || fail "config template changed: file_prefix not rendered"
}

scenario_cleanup() {
	local rc=$?
	set +e
	# what the scenario must undo before agentd and the dataplane can stop
	if declare -F pre_cleanup >/dev/null; then pre_cleanup; fi
	# A scenario that got to its end without `finish` gets its checks here.
	if [ $rc -eq 0 ] && [ -n "${SCENARIO:-}" ] && [ -z "${FINISHED:-}" ]; then
		if end_checks; then
			pass "end (exit trap): agentd stopped with exit 0, nothing left behind, no sanitizer report"
		else
			log "FAIL: end of scenario $SCENARIO (exit trap)"
			rc=1
		fi
	fi
	local h
	for h in 1 0; do
		[ "$h" = 0 ] || [ "${AGT_LAB_HOSTS:-1}" = 2 ] || continue
		use_host "$h"
		if [ -n "${AGENTD_PID:-}" ] && kill -0 "$AGENTD_PID" 2>/dev/null; then
			kill -TERM "$AGENTD_PID"
			for _ in $(seq 50); do kill -0 "$AGENTD_PID" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$AGENTD_PID" 2>/dev/null
			wait "$AGENTD_PID" 2>/dev/null
		fi
		# A dataplane left behind (agentd killed) must not survive the test.
		pkill -KILL -f -- "--file-prefix $HP " 2>/dev/null
		[ "$h" = 0 ] || rm -f "$SOCK"
	done
	if declare -F extra_cleanup >/dev/null; then extra_cleanup; fi
	# lab.sh reports what it had to remove besides the lab (pins, DPDK
	# files of this prefix): after a scenario that passed, a leak.
	if [ $rc -eq 0 ] && [ -n "${SCENARIO:-}" ]; then
		"$LAB" down --check "$P" 2>"$WORK/lab-down.err" >/dev/null || {
			sed 's/^/  /' "$WORK/lab-down.err" >&2
			log "FAIL: lab.sh down --check: leftovers of lab $P"
			rc=1
		}
	else
		"$LAB" down "$P" 2>&1 >/dev/null | sed 's/^/  /' >&2
	fi
	rm -f "$SOCK" "/run/agentd/$P.lock"
	rm -rf "/var/run/dpdk/$P"
	# (after a failure too, and for what agentd killed in the cleanup said)
	[ -n "${SAN_REPORTED:-}" ] || check_sanitizer_reports || rc=1
	if [ $rc -ne 0 ] && [ -f "$AGENTD_LOG" ]; then
		log "agentd log (last 60 lines):"
		tail -n 60 "$AGENTD_LOG" >&2
	fi
	# (two hosts: host 1's too, its agentd's own lines; what failed may be its)
	if [ $rc -ne 0 ] && [ "${AGT_LAB_HOSTS:-1}" = 2 ] && [ -f "${HOSTV[1.AGENTD_LOG]:-}" ]; then
		log "host 1's agentd log (its last 40 lines of agentd's own):"
		grep -E '^[0-9]+\.[0-9]+ ' "${HOSTV[1.AGENTD_LOG]}" | tail -n 40 >&2
	fi
	# the guest bed: the logs go to the host (run-guest.sh AGTGUEST_OUT)
	if [ -n "${AGTGUEST_RESULTS:-}" ] && [ -f "$AGENTD_LOG" ]; then
		cp "$AGENTD_LOG" "$AGTGUEST_RESULTS/${SCENARIO:-scenario}-agentd.log"
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
	# shellcheck disable=SC2086 # AGENTD_ARGS: extra options, word-split
	if [ "$AGT_BED" = guest ]; then
		"$BIN_DIR/agentd" -c "$CONF" ${AGENTD_ARGS:-} >>"$AGENTD_LOG" 2>&1 &
	else
		ip netns exec "$P-$LAB_HOST" "$BIN_DIR/agentd" -c "$CONF" ${AGENTD_ARGS:-} >>"$AGENTD_LOG" 2>&1 &
	fi
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
# A status answered while the dataplane's telemetry was slow has no
# .forwarding: ask again rather than compute with "null".
fwd() {
	local v
	for _ in $(seq 20); do
		v=$(st ".forwarding.$1")
		[[ $v =~ ^[0-9]+$ ]] && { echo "$v"; return 0; }
		sleep 0.1
	done
	fail "no forwarding counter $1 in agentctl status"
}
# Packets a steering program counted (.steering.counters.NAME.packets).
steer_cnt() { st ".steering.counters.$1.packets"; }
# IPv4 + IPv6 packets forwarded by the host kernel (nstat, host namespace).
kernel_fwd() {
	in_ns host nstat -az IpForwDatagrams Ip6OutForwDatagrams 2>/dev/null |
		awk '/IpForwDatagrams|Ip6OutForwDatagrams/ {n += $2} END {print n + 0}'
}

# iperf_run NAME SERVER_NS CLIENT_NS DST CLIENT-ARGS...: one iperf3 test
# (a one-off server in SERVER_NS, a random port), its JSON in
# $WORK/iperf-NAME.json; fails the scenario if the client fails.
iperf_run() {
	local name=$1 sns=$2 cns=$3 dst=$4 port=$((5200 + RANDOM % 500))
	shift 4
	in_ns "$sns" iperf3 -s -D -1 -p $port --logfile "$WORK/iperf-s-$name.log"
	sleep 0.3
	in_ns "$cns" iperf3 -c "$dst" -p $port -J "$@" >"$WORK/iperf-$name.json" ||
		fail "iperf3 $name failed: $(tail -3 "$WORK/iperf-$name.json")"
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

# ---- fallback scenarios: streams, event times, leak checks ----------------

UDPSEQ=${UDPSEQ:-$BIN_DIR/udpseq}
UDPSEQ_PIDS=()

# Wall clock, epoch seconds with ns: the receivers stamp gaps with it.
now() { date +%s.%N; }

# udpseq_recv NS PORT DURATION_S OUT: receiver in the background, JSON report
# in OUT when it ends (duration over or the sender's end mark). Returns once
# the socket is bound.
udpseq_recv() {
	local ns=$1 port=$2 duration=$3 out=$4 i
	ip netns exec "$P-$ns" "$UDPSEQ" recv "$port" --duration "$duration" --json \
		>"$out" 2>"$out.err" &
	UDPSEQ_PIDS+=($!)
	for i in $(seq 100); do
		grep -q listening "$out.err" 2>/dev/null && return 0
		sleep 0.02
	done
	fail "udpseq recv in $ns did not start: $(cat "$out.err")"
}

# udpseq_send NS DST PORT RATE DURATION_S OUT: sender in the background.
udpseq_send() {
	local ns=$1 dst=$2 port=$3 rate=$4 duration=$5 out=$6
	ip netns exec "$P-$ns" "$UDPSEQ" send "$dst" "$port" --rate "$rate" \
		--duration "$duration" --json >"$out" 2>&1 &
	UDPSEQ_PIDS+=($!)
}

# Wait for every udpseq started so far; fail if one failed.
udpseq_wait() {
	local pid
	for pid in "${UDPSEQ_PIDS[@]}"; do
		wait "$pid" || fail "udpseq pid $pid failed"
	done
	UDPSEQ_PIDS=()
}

# gap_sum REPORT FIELD T0 T1: sum of FIELD (missing | ms) over the gaps of a
# udpseq report that begin between epoch T0 and T1. A gap begins when the
# last datagram before it arrived, so an outage is attributed to the event
# that started it, however long it lasts.
gap_sum() {
	jq -r --argjson t0 "$3" --argjson t1 "$4" \
		"[.gaps[] | select(.at_epoch >= \$t0 and .at_epoch < \$t1) | .$2] | add // 0 | . * 10 | round / 10" "$1"
}

# gap_list REPORT T_REF: the gaps, one per line, times relative to T_REF.
gap_list() {
	jq -r --argjson t "$2" \
		'.gaps[] | "    at \(((.at_epoch - $t) * 1000 | round)) ms: \(.missing) missing = \(.ms) ms (receiver: \(.wall_ms | round) ms without datagrams)"' "$1"
}

# Poll agentd until .mode is WANT (up to TIMEOUT s), quickly (the times
# bound when the transition happened). Sets MODE_BEFORE (last poll that saw
# another mode) and MODE_SEEN (first poll that saw WANT), epoch seconds.
wait_mode_t() {
	local want=$1 timeout=${2:-30} t m end
	end=$(($(date +%s) + timeout))
	MODE_BEFORE=$(now)
	while :; do
		t=$(now)
		m=$(st .mode 2>/dev/null || true)
		if [ "$m" = "$want" ]; then
			MODE_SEEN=$t
			return 0
		fi
		MODE_BEFORE=$t
		kill -0 "$AGENTD_PID" 2>/dev/null || fail "agentd exited while waiting for mode $want"
		[ "$(date +%s)" -lt "$end" ] || {
			agentctl status >&2 || true
			fail "mode $want not reached in ${timeout}s (mode $m)"
		}
		sleep 0.02
	done
}

# Fallback counters (.fallback.NAME of the status JSON).
fb() { st ".fallback.$1"; }

# Fast-path counter NAME grows within 1 s (traffic must be running).
# The fast path carries traffic now: offered its own (a ping vm1 -> remote
# VM, both directions), it does not depend on whether a stream of the
# scenario is still running (under ASan the steps before can outlast one).
assert_fwd_grows() {
	local name=$1 a b ping_pid
	a=$(fwd "$name")
	in_ns vm1 ping -q -c 100 -i 0.02 -W 1 10.10.2.2 >/dev/null 2>&1 &
	ping_pid=$!
	for _ in $(seq 20); do
		sleep 0.05
		b=$(fwd "$name")
		[ "$b" -gt "$a" ] && break
	done
	kill "$ping_pid" 2>/dev/null || true
	wait "$ping_pid" 2>/dev/null || true
	[ "$b" -gt "$a" ] || fail "forwarding counter $name did not grow ($a -> $b)"
}

# Wait until steer_vm_ingress is (STATE "on") or is not ("off") attached to
# the VM port PORT of the host namespace, up to 5 s; the exit status says
# whether it got there.
wait_steering_on_port() { # PORT on|off
	local _
	for _ in $(seq 50); do
		if in_ns host tc filter show dev "$1" ingress | grep "name steer_vm_ingres" >/dev/null; then
			[ "$2" = on ] && return 0
		else
			[ "$2" = off ] && return 0
		fi
		sleep 0.1
	done
	return 1
}

# Exactly one steering filter on each VM port and on the exception netdev,
# and one XDP program on the NIC: nothing duplicated, nothing leaked.
assert_steering_single() {
	local dev n
	# (the VM ports of this host's config)
	for dev in $(sed -n 's/^[[:space:]]*ports = \[\(.*\)\];.*/\1/p' "$CONF" | tr -d '",'); do
		n=$(in_ns host tc filter show dev "$dev" ingress | grep -c "name steer_vm_ingres" || true)
		[ "$n" -eq 1 ] || fail "$dev has $n steering filters, want 1"
	done
	n=$(in_ns host tc filter show dev dp0 ingress | grep -c "name steer_exc_ingre" || true)
	[ "$n" -eq 1 ] || fail "dp0 has $n steering filters, want 1"
	if [ "$(st .exception.type)" = af_xdp ]; then
		n=$(in_ns host ip -o link show type veth | grep -c ': dp0[@:]\|: dp0-dp[@:]' || true)
		[ "$n" -eq 2 ] || fail "$n of the veth pair dp0 / dp0-dp in the host namespace, want 2"
		n=$(in_ns host ip -d link show dev dp0-dp | grep -c "prog/xdp" || true)
		[ "$n" -le 1 ] || fail "dp0-dp has $n XDP programs"
	else
		# (TAP PMD and virtio-user over vhost-net: a tap netdev)
		n=$(in_ns host ip -o link show type tun | wc -l)
		[ "$n" -eq 1 ] || fail "$n tun/tap netdevs in the host namespace, want 1 (dp0)"
	fi
	n=$(in_ns host ip -d link show dev nic0 2>/dev/null | grep -c "prog/xdp" || true)
	[ "$n" -le 1 ] || fail "nic0 has $n XDP programs"
}

# The open fds of a process (leak check across failover/failback cycles).
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# agentd's fd count now, as the baseline that assert_fds_stable (and the
# finish of the scenario) compare with: the least of a few samples, so that
# a request in flight (a control client, a telemetry query) is not counted.
fd_baseline() {
	local n i
	FD_BASE=$(fd_count "$AGENTD_PID")
	for i in 1 2 3 4; do
		sleep 0.05
		n=$(fd_count "$AGENTD_PID")
		[ "$n" -lt "$FD_BASE" ] && FD_BASE=$n
	done
	FD_BASE_PID=$AGENTD_PID
	log "agentd pid $AGENTD_PID holds $FD_BASE fds"
}

# agentd holds no more fds than at fd_baseline (WHAT: since what), given 3 s
# for requests in flight to end. Returns 1 with a FAIL line, else 0.
check_fds_stable() { # what
	local n
	[ "${FD_BASE_PID:-}" = "$AGENTD_PID" ] || return 0
	for _ in $(seq 30); do
		n=$(fd_count "$AGENTD_PID")
		[ "$n" -le "$FD_BASE" ] && return 0
		sleep 0.1
	done
	log "FAIL: agentd holds $n fds after $1, $FD_BASE before:"
	ls -l "/proc/$AGENTD_PID/fd" | awk 'NR > 1 {print "  " $(NF - 2), $NF}' >&2
	return 1
}
assert_fds_stable() { # what
	[ "${FD_BASE_PID:-}" = "$AGENTD_PID" ] || fail "assert_fds_stable without fd_baseline"
	check_fds_stable "$1" || exit 1
	pass "agentd holds $(fd_count "$AGENTD_PID") fds after $1 ($FD_BASE before)"
}

# A string value of the rendered config: conf_str KEY (first "KEY = "...";").
conf_str() {
	local v
	v=$(sed -n "s/^[[:space:]]*$1 = \"\([^\"]*\)\";.*/\1/p" "$CONF" | head -n 1)
	[ -n "$v" ] || fail "no $1 in $CONF"
	echo "$v"
}

# After agentd stopped: nothing agentd or the dataplane made is left, and the
# kernel serves the underlay. Only this lab's names are looked at (its
# namespaces, its pin dir, DPDK files of its prefix, its socket): a real
# agentd may run on the same host.
assert_clean_state() {
	local exc bpffs ns dev dir out
	# (set -e or not: this runs in the scenario's shell and in a subshell)
	exc=$(conf_str ifname) || exit 1
	bpffs=$(conf_str bpffs) || exit 1
	[ "$(conf_str pin_name)" = "$HP" ] && [ "$(conf_str file_prefix)" = "$HP" ] ||
		fail "pin_name / file_prefix of $CONF are not the host's prefix $HP"
	[ -n "${AGENTD_PID:-}" ] && kill -0 "$AGENTD_PID" 2>/dev/null && fail "agentd is still running"
	pgrep -f -- "--file-prefix $HP " >/dev/null && fail "a dataplane process survived the stop"
	in_ns host ip link show "$exc" >/dev/null 2>&1 && fail "exception netdev $exc left after stop"
	in_ns host ip link show "$exc-dp" >/dev/null 2>&1 && fail "af_xdp veth peer $exc-dp left after stop"
	[ -e "$bpffs/$HP" ] &&
		fail "BPF pins left in $bpffs/$HP: $(find "$bpffs/$HP" -mindepth 1 -printf '%P ' 2>/dev/null)"
	# No XDP program, no tc filter on any netdev of the lab (it makes none).
	for ns in host vm1 vm2 wire rvm; do
		out=$(in_ns "$ns" ip -d -o link show | grep -o '^[0-9]*: [^:@]*\|prog/xdp[a-z]* id [0-9]*' |
			grep -B1 '^prog/xdp' | tr '\n' ' ') || true
		[ -z "$out" ] || fail "XDP program left in $P-$ns: $out"
		for dev in $(in_ns "$ns" ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}'); do
			printf 'filter show dev %s ingress\nfilter show dev %s egress\n' "$dev" "$dev"
		done >"$WORK/tc.batch"
		out=$(in_ns "$ns" tc -batch "$WORK/tc.batch" 2>&1) || true
		[ -z "$out" ] || fail "tc filter left in $P-$ns: $(echo "$out" | head -n 3)"
	done
	# DPDK leaves config/fbarray_* (and, killed, its sockets) in its runtime
	# dir; agentd removes the dir once the dataplane is gone.
	[ -e "/var/run/dpdk/$HP" ] && fail "DPDK runtime dir left: $(ls "/var/run/dpdk/$HP" | tr '\n' ' ')"
	for dir in $(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts); do
		compgen -G "$dir/${HP}map_*" >/dev/null && fail "hugepage files $dir/${HP}map_* left"
	done
	[ -e "$SOCK" ] && fail "control socket $SOCK left"
	[ -e "/run/agentd/dataplane-$HP.error" ] && fail "the dataplane's error file left"
	[ "$(in_ns host ip -o addr show dev "$NIC_NETDEV" to "$UL4/32" | wc -l)" -eq 1 ] ||
		fail "the underlay address is not on $NIC_NETDEV after stop"
	true
}
# (the name the scenarios used before assert_clean_state)
assert_clean_after_stop() { assert_clean_state; }

# What ASan, LSan and UBSan print. agentd's log holds the dataplane's
# stderr too (agentd passes its own on); the test programs' outputs are in
# $WORK as well.
SANITIZER_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer'

# Any sanitizer report in the scenario's files: printed, returns 1.
check_sanitizer_reports() {
	local hits
	[ -d "${WORK:-}" ] || return 0
	hits=$(grep -rEan -D skip -e "$SANITIZER_RE" "$WORK" 2>/dev/null | cut -c 1-300) || true
	[ -z "$hits" ] && return 0
	SAN_REPORTED=1
	log "FAIL: sanitizer reports:"
	echo "$hits" | head -n 40 | sed "s|^$WORK/|  |" >&2
	return 1
}

# The end of a scenario, without exiting: agentd (if it runs) no fds beyond
# its fd_baseline, stopped by SIGTERM with exit status 0 (3: the dataplane
# did not exit cleanly), then assert_clean_state and no sanitizer report.
# Returns 1 after logging every failure.
end_checks() {
	local rc=0 st=0
	FINISHED=1
	if [ -n "${AGENTD_PID:-}" ]; then
		check_fds_stable "the scenario" || rc=1
		stop_agentd || st=$?
		if [ $st -eq 3 ]; then
			log "FAIL: agentd exited 3 on SIGTERM: the dataplane did not exit cleanly" \
				"($(grep -oE 'dataplane pid [0-9]+ (stopped (with|by)|killed by) .*' "$AGENTD_LOG" | tail -n 1))"
			rc=1
		elif [ $st -ne 0 ]; then
			log "FAIL: agentd exited $st on SIGTERM, want 0"
			rc=1
		fi
	fi
	(assert_clean_state) || rc=1
	check_sanitizer_reports || rc=1
	return $rc
}

# Every scenario ends with this (after its own checks): see end_checks.
# The exit trap runs the same checks for one that ends without it.
finish() {
	end_checks || fail "end of scenario $SCENARIO"
	pass "end: agentd stopped with exit 0, nothing left behind, no sanitizer report"
}

# Floating-point arithmetic on epoch times: fcalc "$t + 0.3"
fcalc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# Milliseconds from epoch T0 to T1, rounded: ms_between "$t0" "$t1"
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 + 0.5 }'; }

# Wait until the underlay address ($UL4, 192.168.100.1 on host 0) is on DEV (nic0 after a
# failover, dp0 after a failback), watching the kernel rather than asking
# agentd (a status request may wait for a hung dataplane). Sets ADDR_BEFORE
# (last poll that did not see it) and ADDR_SEEN (first that did), epoch s.
wait_underlay_on() {
	local dev=$1 timeout=${2:-10} end t
	end=$(($(date +%s) + timeout))
	ADDR_BEFORE=$(now)
	while :; do
		t=$(now)
		if [ -n "$(in_ns host ip -o addr show dev "$dev" to "$UL4/32" 2>/dev/null)" ]; then
			ADDR_SEEN=$t
			return 0
		fi
		ADDR_BEFORE=$t
		[ "$(date +%s)" -lt "$end" ] || fail "the underlay did not move to $dev in ${timeout}s"
		sleep 0.02
	done
}
