#!/bin/bash
# Scenario: a bad config is rejected with file:line and exit code 2, and
# nothing on the host changes — neither on a fresh host nor under a running
# agentd, whose configuration stays untouched.
. "$(dirname "$0")/lib.sh"
scenario_init badcfg

# bad-config cases: "sed expression | expected message fragment"
cases=(
	's|kernel_netdev = "nic0";|kernel_netdev = "nic0"; colour = "blue";|#unknown key'
	's|mtu = 1500;|mtu = "1500";|#must be an integer'
	's|"10.10.1.1/24"|"10.10.1.300/24"|#10.10.1.300'
	's|dst = "10.10.2.0/24"|dst = "10.10.2.0/33"|#10.10.2.0/33'
	's|type = "[a-z_-]*";|type = "vhost";|#vhost'
	's|routes = (|routes = ( oops|#'
)

check_rejected() { # label
	local c expr want line out rc
	for c in "${cases[@]}"; do
		expr=${c%%#*}
		want=${c#*#}
		sed -e "$expr" "$CONF" >"$WORK/bad.conf"
		cmp -s "$CONF" "$WORK/bad.conf" && fail "case '$expr' did not change the config"
		line=$({ diff "$CONF" "$WORK/bad.conf" || true; } | sed -n 's/^\([0-9]*\)c.*/\1/p' | head -1)
		rc=0
		out=$(in_ns host "$BIN_DIR/agentd" -c "$WORK/bad.conf" 2>&1) || rc=$?
		[ $rc -eq 2 ] || fail "$1: '$expr': exit code $rc, want 2 ($out)"
		echo "$out" | grep "bad.conf:$line" >/dev/null || fail "$1: '$expr': no file:line ($line) in: $out"
		[ -z "$want" ] || echo "$out" | grep -F -- "$want" >/dev/null || fail "$1: '$expr': '$want' not in: $out"
		rc=0
		in_ns host "$BIN_DIR/agentd" --check-config -c "$WORK/bad.conf" >/dev/null 2>&1 || rc=$?
		[ $rc -eq 2 ] || fail "$1: --check-config '$expr': exit code $rc, want 2"
		log "  rejected: $out"
	done
}

in_ns host "$BIN_DIR/agentd" --check-config -c "$CONF" >/dev/null 2>"$WORK/check.err" ||
	fail "--check-config rejects the lab config"
[ ! -s "$WORK/check.err" ] || fail "--check-config warns about the lab config in its namespace: $(cat "$WORK/check.err")"

# Hostile files, not edits of the lab config: refused by --check-config with
# status 2 and the message (FILE:LINE: when there is a line), in bounded time:
# under 2 s of CPU (CPU, not wall-clock: CI machines are loaded; the 10 MB
# file took 79 s before), and a hang is killed at 10 s. "file|line|message"
H=$WORK/hostile
mkdir -p "$H"
: >"$H/empty.conf"
printf 'nic: { };\n\0\1\2binary' >"$H/binary.conf"
head -c 10485760 /dev/zero | tr '\0' '#' >"$H/huge.conf"
{ printf 'x =\n'; head -c 100000 /dev/zero | tr '\0' '('; } >"$H/deep.conf"
seq 0 79999 | sed 's/.*/k& = 1;/' >"$H/many.conf"
mtu_line=$(grep -n 'mtu = 1500;' "$CONF" | cut -d: -f1)
sed 's|mtu = 1500;|mtu = 4294968796;|' "$CONF" >"$H/int64.conf"
sed 's|mtu = 1500;|mtu = 0x1000005DC;|' "$CONF" >"$H/hex.conf"
sed 's|mtu = 1500;|mtu = 1500; mtu = 1400;|' "$CONF" >"$H/dupkey.conf"
end=$(($(wc -l <"$CONF") + 1))
{ cat "$CONF"; echo '@include "/etc/passwd"'; } >"$H/include-abs.conf"
{ cat "$CONF"; echo '@include "../etc/passwd"'; } >"$H/include-up.conf"
mkfifo "$H/fifo.inc"
{ cat "$CONF"; echo '@include "fifo.inc"'; } >"$H/include-fifo.conf"
hostile=(
	"empty.conf||missing required section \"nic\""
	"binary.conf|2|NUL byte"
	"huge.conf||too large (10485760 bytes, at most 1048576)"
	"deep.conf|2|nested more than 32 deep"
	"many.conf|4097|more than 4096 settings"
	"int64.conf|$mtu_line|4294968796 does not fit in 32 bits"
	"hex.conf|$mtu_line|0x1000005DC does not fit in 32 bits"
	"dupkey.conf|$mtu_line|duplicate setting name"
	"include-abs.conf|$end|must be a path relative to"
	"include-up.conf|$end|\"..\" is not allowed"
	"include-fifo.conf|$end|not a regular file"
	"fifo.inc||not a regular file"
)
for c in "${hostile[@]}"; do
	IFS='|' read -r f line want <<<"$c"
	rc=0
	{
		TIMEFORMAT='%3U %3S'
		time timeout 10 "$BIN_DIR/agentd" --check-config -c "$H/$f" >"$H/out" 2>&1 || rc=$?
	} 2>"$H/time"
	out=$(cat "$H/out")
	ms=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$H/time")
	[ $rc -eq 2 ] || fail "hostile $f: exit code $rc, want 2 ($out)"
	prefix="agentd: $H/$f:${line:+$line:} "
	[ "${out#"$prefix"}" != "$out" ] || fail "hostile $f: want '$prefix...', got: $out"
	echo "$out" | grep -F -- "$want" >/dev/null || fail "hostile $f: '$want' not in: $out"
	[ "$ms" -lt 2000 ] || fail "hostile $f: took $ms ms of CPU"
	log "  refused ($ms ms of CPU): ${out:0:160}"
done
pass "hostile files refused with status 2, in time"

# What this host lacks is a warning, not an error (the file may be for
# another host): status 0, FILE:LINE: warning.
nd_line=$(grep -n 'kernel_netdev = "nic0";' "$CONF" | cut -d: -f1)
sed 's|kernel_netdev = "nic0";|kernel_netdev = "agtnone0";|' "$CONF" >"$WORK/other-host.conf"
rc=0
out=$(in_ns host "$BIN_DIR/agentd" --check-config -c "$WORK/other-host.conf" 2>&1) || rc=$?
[ $rc -eq 0 ] || fail "--check-config: a missing netdev made exit code $rc, want 0 ($out)"
echo "$out" | grep -F "agentd: $WORK/other-host.conf:$nd_line: warning: \"nic.kernel_netdev\": no interface \"agtnone0\"" >/dev/null ||
	fail "--check-config: no warning for the missing netdev in: $out"
pass "--check-config warns about a netdev this host lacks, exit 0"

before=$(host_state)
check_rejected "fresh host"
[ "$before" = "$(host_state)" ] || fail "a rejected config changed the host"
ls /var/run/dpdk/"$P" >/dev/null 2>&1 && fail "a rejected config started a dataplane"
pass "bad configs rejected on a fresh host, host unchanged"

start_agentd
wait_mode dpdk 60
before=$(host_state)
dp_pid=$(st .dataplane.pid)
check_rejected "running agentd"
[ "$before" = "$(host_state)" ] || fail "a rejected config changed the running host"
[ "$(st .dataplane.pid)" = "$dp_pid" ] || fail "the running dataplane was disturbed"
[ "$(st .mode)" = dpdk ] || fail "the running agentd left mode dpdk"
ping_ok vm1 10.10.2.2 || fail "traffic broken after rejected configs"
pass "bad configs rejected beside a running agentd, which is untouched"

finish
