#!/bin/bash
# Scenario: a live dataplane whose telemetry thread is slow still has its
# DPDK counters in `agentctl status`. agentd waits 50 ms for the dataplane's
# telemetry, and longer (up to 1 s) only while the heartbeat page shows the
# forwarding lcore turning. The slow thread is made here by freezing the
# dataplane's telemetry-v2 thread alone in a cgroup v1 freezer (the lcore
# keeps forwarding): thawed after 300 ms, status carries the counters; never
# thawed, status answers within ~1 s without them and says why, and it is
# not taken for a hang (no failover). (CI found it: in a TCG guest the
# telemetry round trip took over 50 ms and status lacked nic.dpdk.)
. "$(dirname "$0")/lib.sh"
scenario_init slowtel

start_fast
dp=$(st .dataplane.pid)
[ "$(st .nic.dpdk.mac)" != null ] || fail "status lacks nic.dpdk with a quiet telemetry thread"

tid=
for t in /proc/"$dp"/task/*; do
	[ "$(cat "$t/comm")" = telemetry-v2 ] && tid=${t##*/}
done
[ -n "$tid" ] || fail "no telemetry-v2 thread in dataplane pid $dp"

# The freezer hierarchy: the host's, or one of our own (a cgroup v2 host
# has the v1 freezer controller free to mount).
FRZ=$(awk '$3 == "cgroup" && $4 ~ /(^|,)freezer(,|$)/ { print $2; exit }' /proc/mounts)
if [ -z "$FRZ" ]; then
	FRZ=$WORK/freezer
	mkdir -p "$FRZ"
	mount -t cgroup -o freezer "$P-freezer" "$FRZ" || fail "cannot mount a cgroup v1 freezer"
	FRZ_MOUNTED=1
fi
CG=$FRZ/$P-telemetry
mkdir "$CG" || fail "cannot create $CG"
thaw() { echo THAWED >"$CG/freezer.state"; }
# (a frozen thread would keep the dataplane from exiting, even on SIGKILL)
pre_cleanup() { [ ! -d "$CG" ] || thaw; }
extra_cleanup() {
	if [ -d "$CG" ]; then
		thaw
		while read -r t; do echo "$t" >"$FRZ/tasks"; done <"$CG/tasks"
		rmdir "$CG"
	fi
	[ -z "${FRZ_MOUNTED:-}" ] || umount "$FRZ"
}
echo "$tid" >"$CG/tasks" || fail "cannot move thread $tid into $CG"

# status with the thread frozen: $1 ms before the thaw (none: stays frozen)
timed_status() {
	local t0 t1 thawer=
	echo FROZEN >"$CG/freezer.state"
	if [ -n "$1" ]; then
		(sleep "$(awk -v m="$1" 'BEGIN { print m / 1000 }')" && thaw) &
		thawer=$!
	fi
	t0=$(now)
	status_json >"$WORK/status.json" || fail "agentctl status failed"
	t1=$(now)
	[ -z "$thawer" ] || wait "$thawer"
	STATUS_MS=$(ms_between "$t0" "$t1")
}

timed_status 300
mac=$(jq -r .nic.dpdk.mac "$WORK/status.json")
[ "$mac" != null ] ||
	fail "telemetry slow for 300 ms: status ($STATUS_MS ms) without nic.dpdk: $(jq -c .dataplane.telemetry "$WORK/status.json")"
[ "$STATUS_MS" -ge 250 ] || fail "status answered in $STATUS_MS ms, before the thaw: was the thread frozen?"
pass "telemetry frozen for 300 ms: status waited ($STATUS_MS ms) and carries the DPDK side (nic mac $mac)"

timed_status ""
why=$(jq -r .dataplane.telemetry "$WORK/status.json")
[ "$(jq -r .nic.dpdk "$WORK/status.json")" = null ] || fail "nic.dpdk from a frozen telemetry thread?"
[ "$why" = "Connection timed out" ] || fail "status does not say why the DPDK side is missing: $why"
[ "$STATUS_MS" -le 2000 ] || fail "status took $STATUS_MS ms with the telemetry thread frozen"
sleep 1 # several heartbeat periods with the thread still frozen
[ "$(st .mode)" = dpdk ] && [ "$(st .fallback.failovers)" = 0 ] ||
	fail "a frozen telemetry thread was taken for a hang: mode $(st .mode), $(st .fallback.failovers) failovers"
thaw
for _ in $(seq 50); do [ "$(st .nic.dpdk.mac)" != null ] && break; sleep 0.1; done
[ "$(st .nic.dpdk.mac)" != null ] || fail "status lacks nic.dpdk after the thaw"
pass "telemetry frozen: status in $STATUS_MS ms without the DPDK side (\"$why\"), no failover; back after the thaw"

finish
