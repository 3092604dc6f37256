#!/bin/bash
# Scenario: agentd as a Type=notify service with WatchdogSec=, run the way
# systemd runs it from systemd/agentd.service. A stand-in notification
# socket (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID as systemd sets them)
# must see, all from agentd's pid: READY=1 once, only when the mode is known
# (with STATUS=mode dpdk), STATUS= on each mode change (kernel: with the
# reason: a killed dataplane, agentctl mode kernel), WATCHDOG=1 at half the interval and never a deadline missed,
# STOPPING=1 at SIGTERM. agentd runs with the unit's privileges: its
# CapabilityBoundingSet=, NoNewPrivileges=, MemoryDenyWriteExecute= (the
# kernel's PR_SET_MDWE) and a control.group (CAP_CHOWN), so the lab's start,
# af_xdp ports, steering, failover and stop prove that set sufficient.
. "$(dirname "$0")/lib.sh"
scenario_init svcnotify

UNIT=$SRC_DIR/systemd/agentd.service
NOTIFY_SOCK=$WORK/notify.sock
NOTIFY_LOG=$WORK/notify.log
WD_USEC=4000000 # pings every 2 s; systemd would kill after 4 s without one

python3 "$SRC_DIR/tests/scenario/sd_notify_listener.py" "$NOTIFY_SOCK" "$NOTIFY_LOG" &
LISTENER_PID=$!
extra_cleanup() { kill "$LISTENER_PID" 2>/dev/null; }
for _ in $(seq 50); do grep -q LISTENING "$NOTIFY_LOG" 2>/dev/null && break; sleep 0.1; done
[ -S "$NOTIFY_SOCK" ] || fail "notification listener did not start"

# The unit's capability set, as setpriv spells it (+net_admin,+bpf,...).
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$caps" ] || fail "no CapabilityBoundingSet= in $UNIT"
bound=-all
for c in $caps; do
	c=${c#CAP_}
	bound+=",+${c,,}"
done
grep -q '^NoNewPrivileges=yes' "$UNIT" || fail "the unit lost NoNewPrivileges=yes"
mdwe=0
grep -q '^MemoryDenyWriteExecute=yes' "$UNIT" && mdwe=1

# control.group: the socket is chowned to it (CAP_CHOWN).
sed -i "s|^\(\s*\)socket = \"$SOCK\";|&\n\1group = \"nogroup\";|" "$CONF"
grep -q 'group = "nogroup";' "$CONF" || fail "config template changed: control group not rendered"

# As systemd: WATCHDOG_PID is the main process's pid, i.e. this shell's,
# which execs (python for PR_SET_MDWE, ip netns exec, setpriv) into agentd.
# (the wrapper exits if PR_SET_MDWE fails: agentd would not start).
# LimitMEMLOCK=infinity where the hard limit allows (CAP_IPC_LOCK if not).
ulimit -l unlimited 2>/dev/null || true
# shellcheck disable=SC2016
NOTIFY_SOCKET=$NOTIFY_SOCK WATCHDOG_USEC=$WD_USEC MDWE=$mdwe sh -c '
	export WATCHDOG_PID=$$
	exec python3 -c "
import ctypes, os, sys
if os.environ.pop(\"MDWE\") == \"1\":
    # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN: no W+X, no mprotect(+X)
    if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
        sys.exit(\"PR_SET_MDWE: \" + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
" "$@"' sh ip netns exec "$P-host" setpriv --no-new-privs --inh-caps=-all --bounding-set "$bound" \
	"$BIN_DIR/agentd" -c "$CONF" >>"$AGENTD_LOG" 2>&1 &
AGENTD_PID=$!

wait_mode dpdk 90
pass "agentd reached mode dpdk under the unit's capabilities ($caps)"

# The sandbox is really in effect (else this proves nothing about it).
[ "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$AGENTD_PID/status")" = 1 ] || fail "agentd runs without no_new_privs"
bnd=$(awk '/^CapBnd:/ {print $2}' "/proc/$AGENTD_PID/status")
sys_rawio=$(( (0x$bnd >> 17) & 1 )) # CAP_SYS_RAWIO: not in the unit's set
[ "$sys_rawio" = 0 ] || fail "agentd's bounding set $bnd is not the unit's"
[ "$(stat -c %G "$SOCK")" = nogroup ] || fail "control socket group is $(stat -c %G "$SOCK"), want nogroup"
# (a few tries: the point is what the capabilities allow, not the timing)
for try in 1 2 3; do
	ping_ok vm1 10.10.2.2 && break
	[ $try -lt 3 ] || fail "vm1 cannot reach the remote VM through the dataplane"
done
pass "no_new_privs, bounding set $bnd, MDWE $mdwe, socket root:nogroup, fast path forwards"

# Lines "<time> <pid> <payload>" from agentd. Anything from another pid
# (the dataplane inherits NOTIFY_SOCKET) fails at the end: NotifyAccess=main
# would drop it.
MAIN_PID=$AGENTD_PID # (stop_agentd clears AGENTD_PID)
msgs() { awk -v p="$MAIN_PID" '$2 == p' "$NOTIFY_LOG"; }

ready=$(msgs | grep -c 'READY=1' || true)
[ "$ready" = 1 ] || fail "READY=1 sent $ready times, want once"
msgs | grep 'READY=1' | grep -q 'STATUS=mode dpdk' || fail "READY=1 without STATUS=mode dpdk: $(msgs | grep READY)"
# ...and not before the mode was decided: agentd logs the change first.
t_mode=$(awk '/mode starting -> dpdk/ {print $1; exit}' "$AGENTD_LOG")
t_ready=$(msgs | awk '/READY=1/ {print $1; exit}')
[ -n "$t_mode" ] || fail "no 'mode starting -> dpdk' in agentd's log"
awk -v m="$t_mode" -v r="$t_ready" 'BEGIN { exit !(r >= m) }' || fail "READY=1 at $t_ready, before mode dpdk at $t_mode"
if msgs | awk '/READY=1/ {r = 1} r && /STATUS=mode starting/ {bad = 1} END {exit !bad}'; then
	fail "STATUS=mode starting after READY=1"
fi
pass "READY=1 once, with STATUS=mode dpdk, after the mode was decided"

# A failure: STATUS= says kernel and why (the reason agentctl status shows).
dp_pid=$(st .dataplane.pid)
[ -n "$dp_pid" ] && [ "$dp_pid" != null ] || fail "no dataplane pid in status"
kill -KILL "$dp_pid"
wait_mode kernel 10
for _ in $(seq 50); do msgs | grep -q "STATUS=mode kernel: .*pid $dp_pid" && break; sleep 0.1; done
msgs | grep -q "STATUS=mode kernel: .*pid $dp_pid" ||
	fail "no STATUS= with mode kernel and the failure: $(msgs | grep STATUS= | tail -3)"
pass "dataplane killed: $(msgs | grep -o "STATUS=mode kernel: .*pid $dp_pid.*" | head -1)"
wait_mode dpdk 60

agentctl mode kernel >/dev/null || fail "agentctl mode kernel"
wait_mode kernel 30
for _ in $(seq 50); do msgs | grep -q 'STATUS=mode kernel: forced by agentctl mode kernel' && break; sleep 0.1; done
msgs | grep -q 'STATUS=mode kernel: forced by agentctl mode kernel' ||
	fail "no STATUS= with mode kernel and its reason: $(msgs | grep STATUS | tail -3)"
agentctl mode dpdk >/dev/null || fail "agentctl mode dpdk"
wait_mode dpdk 90
for _ in $(seq 50); do [ "$(msgs | grep STATUS= | tail -1 | grep -o 'STATUS=.*')" = "STATUS=mode dpdk" ] && break; sleep 0.1; done
[ "$(msgs | grep STATUS= | tail -1 | grep -o 'STATUS=.*')" = "STATUS=mode dpdk" ] ||
	fail "last STATUS= is not 'mode dpdk' after failback: $(msgs | grep STATUS= | tail -1)"
[ "$(msgs | grep -c 'READY=1' || true)" = 1 ] || fail "READY=1 sent again on a mode change"
pass "STATUS= follows the mode: kernel (failure, forced), dpdk again; no second READY=1"

# A few more intervals, then check every gap after READY=1 (what systemd
# enforces) against WATCHDOG_USEC, and the rate against half of it.
sleep $((WD_USEC / 1000000 + 1))
msgs | awk -v r="$t_ready" '/WATCHDOG=1/ && $1 >= r {print $1}' >"$WORK/wd.times"
n_wd=$(wc -l <"$WORK/wd.times")
[ "$n_wd" -ge 4 ] || fail "only $n_wd WATCHDOG=1 since READY=1"
# (the mean over whole intervals: the first starts before READY=1)
read -r max_gap mean_gap < <(awk -v r="$t_ready" 'BEGIN {p = r} {g = $1 - p; if (g > m) m = g; p = $1}
	NR == 1 {f = $1} END {printf "%.3f %.3f\n", m, ($1 - f) / (NR - 1)}' "$WORK/wd.times")
awk -v m="$max_gap" -v w="$WD_USEC" 'BEGIN { exit !(m < w / 1e6) }' ||
	fail "a WATCHDOG=1 gap of $max_gap s: systemd would have killed agentd (WatchdogSec $((WD_USEC / 1000000)) s)"
awk -v a="$mean_gap" -v w="$WD_USEC" 'BEGIN { exit !(a > w / 2e6 * 0.8 && a < w / 2e6 * 1.2) }' ||
	fail "WATCHDOG=1 every $mean_gap s on average, want half of $((WD_USEC / 1000000)) s"
pass "WATCHDOG=1 x$n_wd, every $mean_gap s (max gap $max_gap s, deadline $((WD_USEC / 1000000)) s)"

rc=0
stop_agentd || rc=$?
[ $rc -eq 0 ] || fail "agentd exited $rc on SIGTERM, want 0"
# (sent before agentd exited; the listener may not have written it yet)
for _ in $(seq 20); do msgs | grep -q 'STOPPING=1' && break; sleep 0.1; done
msgs | grep -q 'STOPPING=1' || fail "no STOPPING=1 at SIGTERM: $(msgs | tail -3)"
t_stop=$(msgs | awk '/STOPPING=1/ {print $1; exit}')
t_last_wd=$(tail -1 "$WORK/wd.times")
awk -v s="$t_stop" -v w="$t_last_wd" 'BEGIN { exit !(s >= w) }' || fail "STOPPING=1 before the last watchdog ping"
pass "SIGTERM: STOPPING=1, exit 0"

others=$(awk -v p="$MAIN_PID" '$2 != p && $3 != "LISTENING"' "$NOTIFY_LOG")
[ -z "$others" ] || fail "notifications from another pid than agentd's: $others"
pass "every notification came from agentd's pid (NotifyAccess=main)"
