#!/bin/bash
# agentctl's command line without agentd: every command of `agentctl --help`
# is offered by the bash completion (they cannot drift apart), usage errors
# exit 2, an unreachable agentd exits 1 (version still prints agentctl's).
set -euo pipefail
AGENTCTL=$BIN_DIR/agentctl
fail() { echo "FAIL: $*" >&2; exit 1; }

# shellcheck source=/dev/null
. "$SRC_DIR/agent/agentctl.bash"
cmds=$("$AGENTCTL" --help | awk '/^commands:/ { on = 1; next } /^options:/ { on = 0 } on && /^  [a-z]/ { print $1 }' | sort -u)
[ "$(echo "$cmds" | wc -l)" -ge 6 ] || fail "help lists only: $cmds"
COMP_WORDS=(agentctl "")
COMP_CWORD=1
_agentctl
for c in $cmds; do
	# (a here-string: grep -q ends early, a pipe's writer would get SIGPIPE)
	grep -qx -- "$c" <<<"$(printf '%s\n' "${COMPREPLY[@]}")" || fail "completion does not offer '$c'"
done
# each command's options in --help are completed too
for c in status stats routes neigh explain; do
	opts=$("$AGENTCTL" --help | grep -E "^  $c( |$)" -A1 | { grep -o -- '--[a-z]*' || true; } | sort -u)
	COMP_WORDS=(agentctl "$c" "--")
	COMP_CWORD=2
	_agentctl
	for o in $opts; do
		grep -qx -- "$o" <<<"$(printf '%s\n' "${COMPREPLY[@]}")" || fail "completion of '$c' lacks $o"
	done
done
COMP_WORDS=(agentctl explain 10.0.0.1 10.0.0.2 "")
COMP_CWORD=4
_agentctl
grep -qx tcp <<<"$(printf '%s\n' "${COMPREPLY[@]}")" || fail "completion of explain's PROTO: ${COMPREPLY[*]}"
COMP_WORDS=(agentctl explain 10.0.0.1 10.0.0.2 --from "")
COMP_CWORD=5
_agentctl
[ "${COMPREPLY[*]}" = "vm wire" ] || fail "completion of explain --from: ${COMPREPLY[*]}"
echo "completion offers every command of --help: $(echo $cmds)"

rc=0; "$AGENTCTL" frobnicate 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "unknown command: exit $rc, want 2"
rc=0; "$AGENTCTL" stats --watch 0 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "stats --watch 0: exit $rc, want 2"
rc=0; "$AGENTCTL" stats --json --prometheus 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "stats --json --prometheus: exit $rc, want 2"
for args in "explain" "explain 10.0.0.1" "explain 10.0.0.1 10.0.0.2 tcp 1 2 3" \
	"explain 10.0.0.1 10.0.0.2 tcp 70000" "explain 10.0.0.1 10.0.0.2 --from nic" \
	"explain 10.0.0.1 10.0.0.2 --frob"; do
	rc=0; "$AGENTCTL" -s /nonexistent/agtcli.sock $args 2>/dev/null || rc=$?
	[ "$rc" -eq 2 ] || fail "$args: exit $rc, want 2"
done
sock=/nonexistent/agtcli$$.sock
rc=0; "$AGENTCTL" -s "$sock" explain 10.0.0.1 10.0.0.2 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "explain, no agentd: exit $rc, want 1"
rc=0; "$AGENTCTL" -s "$sock" status -q 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "status -q, no agentd: exit $rc, want 1"
rc=0; out=$("$AGENTCTL" -s "$sock" version 2>/dev/null) || rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "^agentctl [0-9]" || fail "version, no agentd: exit $rc, '$out'"
echo "exit codes: usage 2, unreachable 1"

# agentd --version: the same version as agentctl's
av=$("$BIN_DIR/agentd" --version)
cv=$("$AGENTCTL" version 2>/dev/null | sed -n 's/^agentctl \([^ ]*\).*/\1/p' || true)
[ "$av" = "agentd $cv" ] || fail "agentd --version: '$av', agentctl's version '$cv'"
echo "ok: $av"
