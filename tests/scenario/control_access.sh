#!/bin/bash
# Scenario: who may use the control socket. With control.group set, the
# socket is root:GROUP 0660; a member of the group (a real unprivileged
# uid, through setpriv) reads status, routes and neigh but is refused
# `mode` ("permission denied", nothing changes); a uid outside the group
# cannot connect at all; root does everything. Without control.group the
# socket is root's alone (0600).
. "$(dirname "$0")/lib.sh"
scenario_init ctlacc

GROUP=nogroup # gid 65534, on every Debian system
getent group "$GROUP" >/dev/null || fail "no group $GROUP on this machine"
GID=$(getent group "$GROUP" | cut -d: -f3)
sed -i "s|^\(\s*\)socket = \"\([^\"]*\)\";|\1socket = \"\2\";\n\1group = \"$GROUP\";|" "$CONF"
grep -q "group = \"$GROUP\";" "$CONF" || fail "config template changed: control.group not rendered"

# agentctl where an unprivileged uid can run it (the build tree may be
# private, e.g. a CI clone made by mktemp -d)
CTL_DIR=$(mktemp -d /tmp/agtctlacc.XXXXXX)
extra_cleanup() { rm -rf "$CTL_DIR"; }
chmod 755 "$CTL_DIR"
install -m 755 "$BIN_DIR/agentctl" "$CTL_DIR/agentctl"
as() { # uid gid agentctl-args...: agentctl as that uid/gid, no other groups
	local uid=$1 gid=$2
	shift 2
	setpriv --reuid="$uid" --regid="$gid" --clear-groups "$CTL_DIR/agentctl" -s "$SOCK" "$@"
}

start_fast
[ "$(stat -c '%U:%G %a' "$SOCK")" = "root:$GROUP 660" ] ||
	fail "socket is $(stat -c '%U:%G %a' "$SOCK"), want root:$GROUP 660"
[ -x "$(dirname "$SOCK")" ] && [ "$(( $(stat -c '%a' "$(dirname "$SOCK")") % 10 ))" -ge 5 ] ||
	fail "the socket's directory is not reachable by others: $(stat -c '%a' "$(dirname "$SOCK")")"
pass "socket root:$GROUP 0660"

# a member of the group: reads, cannot change
as 65534 "$GID" status >"$WORK/status.txt" || fail "a member of $GROUP cannot read status"
grep -q '^mode: *dpdk' "$WORK/status.txt" || fail "status as a member of $GROUP: $(head -3 "$WORK/status.txt")"
as 65534 "$GID" status --json | jq -e .mode >/dev/null || fail "status --json as a member failed"
as 65534 "$GID" routes --count >/dev/null || fail "a member of $GROUP cannot list routes"
as 65534 "$GID" neigh >/dev/null || fail "a member of $GROUP cannot list neighbours"
rc=0
as 65534 "$GID" mode kernel >"$WORK/mode.txt" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a member of $GROUP switched the mode"
grep -qi "permission denied" "$WORK/mode.txt" || fail "refusal does not say why: $(cat "$WORK/mode.txt")"
sleep 0.3
[ "$(st .mode)" = dpdk ] || fail "mode changed to $(st .mode) by a member of $GROUP"
pass "a member of $GROUP reads status, routes, neigh; mode is refused (exit $rc): $(head -1 "$WORK/mode.txt")"

# outside the group: no connection at all
rc=0
as 65534 54321 status >"$WORK/other.txt" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a uid outside $GROUP read status"
pass "a uid outside $GROUP cannot connect (exit $rc: $(head -1 "$WORK/other.txt"))"

# root changes the mode
agentctl mode kernel >/dev/null || fail "root could not switch to kernel"
wait_mode kernel 10
agentctl mode dpdk >/dev/null || fail "root could not switch back to dpdk"
wait_mode dpdk 30
pass "root switches the mode"

# without control.group: root's alone
stop_agentd || fail "agentd did not stop cleanly"
sed -i "/group = \"$GROUP\";/d" "$CONF"
start_agentd
wait_mode dpdk 60
[ "$(stat -c '%U:%G %a' "$SOCK")" = "root:root 600" ] ||
	fail "without control.group the socket is $(stat -c '%U:%G %a' "$SOCK"), want root:root 600"
rc=0
as 65534 "$GID" status >/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "an unprivileged uid read status without control.group"
pass "without control.group: root:root 0600, unprivileged clients refused"

finish
