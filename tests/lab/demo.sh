#!/bin/bash
# The README's first command: bring up the netns lab ("lab" prefix), run
# agentd in its host namespace with the default lab config, send a little
# traffic, and show `agentctl status`. `demo.sh down` stops everything.
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
BIN_DIR=${BIN_DIR:-$SRC_DIR/build/bin}
P=lab
CONF=$SRC_DIR/conf/agentd-lab.conf
SOCK=/run/agentd/lab.sock
LOGF=/run/agentd/lab-agentd.log
PIDF=/run/agentd/lab-agentd.pid
AGENTCTL=("$BIN_DIR/agentctl" -s "$SOCK")

down() {
	if [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; then
		kill -TERM "$(cat "$PIDF")"
		for _ in $(seq 100); do kill -0 "$(cat "$PIDF")" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$PIDF"
	"$SRC_DIR/tests/lab/lab.sh" down "$P"
}

up() {
	[ -x "$BIN_DIR/agentd" ] || { echo "demo: build first (make)" >&2; exit 1; }
	if [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; then
		echo "demo: already running (tests/lab/demo.sh down to stop)"
	else
		"$SRC_DIR/tests/lab/lab.sh" up "$P"
		mkdir -p /run/agentd
		ip netns exec "$P-host" "$BIN_DIR/agentd" -c "$CONF" >"$LOGF" 2>&1 &
		echo $! >"$PIDF"
		echo "demo: agentd pid $(cat "$PIDF"), log $LOGF"
		for _ in $(seq 600); do
			mode=$("${AGENTCTL[@]}" status --json 2>/dev/null | jq -r .mode || true)
			[ "$mode" = dpdk ] || [ "$mode" = kernel ] && break
			kill -0 "$(cat "$PIDF")" 2>/dev/null || { cat "$LOGF"; exit 1; }
			sleep 0.1
		done
	fi
	echo "demo: vm1 (10.10.1.11) -> remote VM (10.10.2.2):"
	ip netns exec "$P-vm1" ping -c 3 -i 0.2 10.10.2.2
	echo
	echo "\$ agentctl -s $SOCK status"
	"${AGENTCTL[@]}" status
	echo
	echo "demo: try  ip netns exec $P-vm1 ping 10.10.2.2  or  iperf3 between $P-vm1 and $P-rvm;"
	echo "      stop with  tests/lab/demo.sh down  (or make demo-stop)"
}

case "${1:-up}" in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
