#!/bin/bash
# Helpers for the guest bed's own scripts (guest-smoke.sh; the scenarios of
# tests/scenario/ use their lib.sh in the guest too). Everything goes to the
# serial console, which run-guest.sh saves; each step prints its duration so
# that the host log shows where the (slow, emulated) time goes.
set -euo pipefail

# seconds since the guest's boot, from /proc/uptime
now() { cut -d' ' -f1 /proc/uptime; }
log() { printf '[guest %8ss] %s\n' "$(now)" "$*"; }
fail() {
	log "FAIL: $*"
	exit 1
}

# What a failed step must undo before the test ends (a background process);
# a test script redefines it.
step_cleanup() { :; }

# run_step NAME FUNCTION [ARGS...]: run a step, print "STEP NAME ok|FAILED
# in Ns". A failed step ends the test. The function runs in a subshell with
# set -e of its own, not under `||` or `if` (where bash ignores set -e, also
# inside the subshell): variables it sets do not reach the caller, pass
# results through files in /run.
STEPS_OK=0
run_step() {
	local name=$1 t0 t1 rc
	shift
	t0=$(now)
	log "STEP $name: start"
	set +e
	(
		set -e
		trap step_cleanup EXIT
		"$@"
	)
	rc=$?
	set -e
	t1=$(now)
	if [ "$rc" -ne 0 ]; then
		log "STEP $name FAILED (exit $rc) in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')s"
		exit "$rc"
	fi
	log "STEP $name ok in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')s"
	STEPS_OK=$((STEPS_OK + 1))
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds
wait_for() {
	local timeout=$1 end
	shift
	end=$(awk -v t="$(now)" -v d="$timeout" 'BEGIN {print t + d}')
	until "$@"; do
		if awk -v t="$(now)" -v e="$end" 'BEGIN {exit !(t > e)}'; then
			return 1
		fi
		sleep 0.2
	done
}

# print FILE with a prefix, so that it stands out on the console
show_file() { # PREFIX FILE
	sed "s/^/$1| /" "$2"
}
