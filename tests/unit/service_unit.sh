#!/bin/bash
# The systemd unit and the installed tree agree: a package's install
# (CMAKE_INSTALL_PREFIX=/usr, into a DESTDIR) puts every program the unit
# runs, the file it reads and the man pages it names where the unit says;
# `systemd-analyze verify` finds nothing to report on the installed unit
# (its commands pointed into the DESTDIR, man pages looked up there); the
# ExecStartPre check passes on the shipped configuration; and the sandbox
# exposure stays at or below EXPOSURE_MAX (systemd-analyze security, x10).
#   SRC_DIR=... BIN_DIR=<build>/bin bash tests/unit/service_unit.sh
set -euo pipefail

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN_DIR=${BIN_DIR:-$SRC_DIR/build/bin}
# 3.9 when this was written (docs/operations.md); a change
# that loosens the sandbox past 4.5 must say why here and there.
EXPOSURE_MAX=${EXPOSURE_MAX:-45}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
pass() { echo "ok: $*" >&2; }

for b in agentd agentctl agent-dataplane; do
	[ -x "$BIN_DIR/$b" ] || fail "$BIN_DIR/$b not built"
done
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (package systemd)"

T=$(mktemp -d /tmp/agt-svcunit.XXXXXX)
trap 'rm -rf "$T"' EXIT
ROOT=$T/root

# The install rules of a tree configured as a package is: prefix /usr. The
# programs are the build's own (the scratch tree's bin/ is the build's), so
# nothing is compiled twice.
cmake -S "$SRC_DIR" -B "$T/build" -DCMAKE_INSTALL_PREFIX=/usr >"$T/configure.log" 2>&1 || {
	cat "$T/configure.log" >&2
	fail "configure with CMAKE_INSTALL_PREFIX=/usr"
}
rm -rf "$T/build/bin"
ln -s "$BIN_DIR" "$T/build/bin"
DESTDIR=$ROOT cmake --install "$T/build" >"$T/install.log" 2>&1 || {
	cat "$T/install.log" >&2
	fail "cmake --install"
}

UNIT=$ROOT/usr/lib/systemd/system/agentd.service
[ -f "$UNIT" ] || fail "the unit is not installed as /usr/lib/systemd/system/agentd.service"
for f in usr/sbin/agentd usr/sbin/agent-dataplane usr/bin/agentctl; do
	[ -x "$ROOT/$f" ] || fail "/$f not installed"
done
[ -f "$ROOT/etc/agent/agentd.conf" ] || fail "/etc/agent/agentd.conf not installed"
pass "prefix /usr: /usr/sbin/agentd, /usr/sbin/agent-dataplane, /usr/bin/agentctl, /etc/agent/agentd.conf"

# Every command the unit runs, and every file it passes with -c, is in the
# tree: the unit is the package's, not a copy that happens to match.
n=0
while IFS= read -r line; do
	cmd=${line#*=}
	cmd=${cmd#[-@:+!]}
	read -r -a argv <<<"$cmd"
	[ -x "$ROOT${argv[0]}" ] || fail "unit runs ${argv[0]}, not installed there ($line)"
	for ((i = 1; i < ${#argv[@]}; i++)); do
		if [ "${argv[i]}" = -c ]; then
			[ -f "$ROOT${argv[i + 1]}" ] || fail "unit reads ${argv[i + 1]}, not installed ($line)"
		fi
	done
	n=$((n + 1))
done < <(grep -E '^Exec[A-Za-z]*=' "$UNIT")
[ $n -ge 2 ] || fail "expected ExecStartPre= and ExecStart= in the unit, found $n Exec lines"
pass "$n Exec commands of the unit and their -c files are installed"

# The unit's ExecStartPre (the config check) passes on the shipped file.
pre=$(sed -n 's/^ExecStartPre=//p' "$UNIT")
read -r -a argv <<<"$pre"
for ((i = 0; i < ${#argv[@]}; i++)); do
	case ${argv[i]} in /*) argv[i]=$ROOT${argv[i]} ;; esac
done
"${argv[@]}" >"$T/check.log" 2>&1 || {
	cat "$T/check.log" >&2
	fail "ExecStartPre fails on the installed configuration: ${argv[*]}"
}
pass "ExecStartPre accepts the installed /etc/agent/agentd.conf"

# systemd-analyze verify needs the commands at their paths: a copy of the
# installed unit with them pointed into the tree, man pages (Documentation=)
# looked up in the tree only.
mkdir "$T/verify"
sed -E "s#^(Exec[A-Za-z]*=[-@:+!]*)/#\1$ROOT/#" "$UNIT" >"$T/verify/agentd.service"
rc=0
MANPATH=$ROOT/usr/share/man systemd-analyze verify "$T/verify/agentd.service" >"$T/verify.log" 2>&1 || rc=$?
if [ $rc -ne 0 ] || [ -s "$T/verify.log" ]; then
	cat "$T/verify.log" >&2
	fail "systemd-analyze verify: exit $rc, or it reported something"
fi
pass "systemd-analyze verify: clean (man pages found under /usr/share/man)"

rc=0
systemd-analyze security --offline=yes --threshold="$EXPOSURE_MAX" "$UNIT" >"$T/security.log" 2>&1 || rc=$?
score=$(sed -n 's/.*Overall exposure level for agentd.service: \([0-9.]*\).*/\1/p' "$T/security.log")
[ -n "$score" ] || {
	cat "$T/security.log" >&2
	fail "no exposure level in systemd-analyze security's output"
}
[ $rc -eq 0 ] || fail "exposure $score is above $(awk -v m="$EXPOSURE_MAX" 'BEGIN{print m/10}')"
pass "systemd-analyze security: exposure $score"
