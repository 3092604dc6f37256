#!/bin/bash
# The Debian package (cmake/package.cmake, `make deb`): built by CPack from
# this build's programs, it holds exactly the files a host needs at the
# paths the systemd unit names, marks the configuration a conffile, depends
# on the libraries the programs load; unpacked into a scratch root, the
# unit's ExecStart= names the packaged agentd, which runs, and the packaged
# configuration passes its --check-config.
#   SRC_DIR=... BIN_DIR=<build>/bin bash tests/unit/deb_package.sh
set -euo pipefail

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN_DIR=${BIN_DIR:-$SRC_DIR/build/bin}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
pass() { echo "ok: $*" >&2; }
for b in agentd agentctl agent-dataplane; do
	[ -x "$BIN_DIR/$b" ] || fail "$BIN_DIR/$b not built"
done
for t in cpack dpkg-deb dpkg-shlibdeps; do
	command -v $t >/dev/null || fail "$t not installed (cmake, dpkg-dev)"
done

T=$(mktemp -d /tmp/agt-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT
# A tree configured as `make deb` does (prefix /usr) whose bin/ is this
# build's: nothing compiled twice (and CPack's preinstall builds nothing).
cmake -S "$SRC_DIR" -B "$T/build" -DCMAKE_INSTALL_PREFIX=/usr \
	-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >"$T/configure.log" 2>&1 || {
	cat "$T/configure.log" >&2
	fail "configure with CMAKE_INSTALL_PREFIX=/usr"
}
rm -rf "$T/build/bin"
ln -s "$BIN_DIR" "$T/build/bin"
(cd "$T/build" && cpack -G DEB -B "$T/out") >"$T/cpack.log" 2>&1 || {
	cat "$T/cpack.log" >&2
	fail "cpack -G DEB"
}
DEB=$(ls "$T"/out/hybrid-agent_*.deb)
pass "built $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"

# Exactly these files (directories aside): a file added or moved must be
# added here on purpose.
want="/etc/agent/agentd.conf
/usr/bin/agentctl
/usr/lib/systemd/system/agentd.service
/usr/sbin/agent-dataplane
/usr/sbin/agentd
/usr/share/bash-completion/completions/agentctl
/usr/share/man/man5/agentd.conf.5
/usr/share/man/man8/agentctl.8
/usr/share/man/man8/agentd.8"
got=$(dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' | sort)
[ "$got" = "$want" ] || fail "the package's files differ: $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
pass "files: $(echo "$got" | tr '\n' ' ')"

[ "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)" = /etc/agent/agentd.conf ] ||
	fail "conffiles is not /etc/agent/agentd.conf"
deps=$(dpkg-deb -f "$DEB" Depends)
for d in librte-eal23 librte-ethdev23 libbpf1 libnl-route-3-200 libmnl0 libconfig9 libmicrohttpd12 iproute2 \
	librte-mempool-ring23 librte-net-virtio23 librte-net-af-xdp23; do
	[[ $deps == *"$d"* ]] || fail "Depends lacks $d: $deps"
done
[ "$(dpkg-deb -f "$DEB" Package)" = hybrid-agent ] || fail "package name"
pass "conffile /etc/agent/agentd.conf; Depends: $deps"

ROOT=$T/root
dpkg-deb -x "$DEB" "$ROOT"
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$ROOT/usr/lib/systemd/system/agentd.service")
[ "$exec_start" = /usr/sbin/agentd ] || fail "ExecStart= runs '$exec_start'"
[ -x "$ROOT$exec_start" ] || fail "the unit's $exec_start is not in the package"
conf=$(sed -n 's/^ExecStart=.* -c \([^ ]*\).*/\1/p' "$ROOT/usr/lib/systemd/system/agentd.service")
[ -f "$ROOT$conf" ] || fail "the unit's configuration $conf is not in the package"
v=$("$ROOT/usr/sbin/agentd" --version)
[ "$v" = "agentd $(dpkg-deb -f "$DEB" Version)" ] || fail "packaged agentd --version: '$v'"
"$ROOT/usr/sbin/agentd" --check-config -c "$ROOT$conf" >"$T/check.log" 2>&1 ||
	fail "the packaged configuration fails --check-config: $(cat "$T/check.log")"
pass "unpacked: the unit runs $exec_start -c $conf, which is there ($v) and valid"
