#!/bin/bash
# Pull and plug the guest bed's cables (tests/guest/README.md). With
# AGTGUEST_NICS=4, run-guest.sh cables nic0 <-> agtwire0 (pair 0) and
# nic1 <-> agtwire1 (pair 1), and gives the guest a back channel to qemu's
# human monitor: a virtio-serial port, /dev/virtio-ports/agtguest.monitor.
# The monitor's `set_link ID off|on` makes a virtio NIC report carrier down
# or up to whatever drives it (the kernel's virtio_net, DPDK's virtio PMD)
# and drop what it would send or receive meanwhile.
#
# In a guest script:
#   . "$SRC_DIR/tests/guest/cable.sh"
#   guest_cable 1 off          # both ends of pair 1 lose their carrier
#   guest_cable 1 on           # and get it back
#   guest_monitor 'info network'   # any monitor command: its output
# or as a command: tests/guest/cable.sh PAIR off|on
#
# Sourced next to tests/scenario/lib.sh or guest-lib.sh: it sets no shell
# option and defines only guest_* names. Messages go to stderr; what the
# monitor printed is on the host too (run-guest.sh shows it at the end).

GUEST_MONITOR_PORT=/dev/virtio-ports/agtguest.monitor

# guest_monitor COMMAND...: run commands in qemu's human monitor, one after
# the other at once, and print what they answered (nothing, for set_links
# that worked). Exit 2 without a back channel, 3 if the monitor does not
# answer in 10 s.
guest_monitor() {
	if [[ ! -c $GUEST_MONITOR_PORT ]]; then
		echo "guest_monitor: no back channel to qemu's monitor ($GUEST_MONITOR_PORT missing):" \
			"not in the guest bed, or a guest with 2 NICs (run-guest.sh makes one with AGTGUEST_NICS=4)" >&2
		return 2
	fi
	(
		# one caller at a time: two callers' lines would interleave
		flock 8
		exec 9<>"$GUEST_MONITOR_PORT" || exit 2
		printf '%s\n' "$@" >&9 || exit 2
		# The monitor echoes each line (redrawn once per character, see
		# guest_monitor_text), prints the command's output, then its
		# prompt: all is in once the last line's echo is followed by a
		# prompt. Whatever was left unread before (the banner and prompt
		# of the connection) comes first.
		local out='' chunk rc last=${*: -1} end=$((SECONDS + 10))
		until [[ $out == *"$last"*'(qemu) ' ]]; do
			if ((SECONDS >= end)); then
				echo "guest_monitor: no answer from qemu's monitor in 10 s to: $*" >&2
				printf '%s\n' "$out" | guest_monitor_text | sed 's/^/guest_monitor| /' >&2
				exit 3
			fi
			chunk=
			rc=0
			IFS= read -r -d '' -t 0.05 -u 9 chunk || rc=$?
			out+=$chunk
			# end of file: the host side is not connected (yet); wait
			if ((rc == 1)) && [[ -z $chunk ]]; then sleep 0.1; fi
		done
		# the answer: every line after the first command's echo that is
		# neither an echo nor the last prompt (the prompt before an echo is
		# on its line, unless a previous call read it)
		printf '%s\n' "$out" | guest_monitor_text |
			awk -v cmds="$(printf '%s\n' "$@")" '
				BEGIN { n = split(cmds, c, "\n"); for (i = 1; i <= n; i++) echo[c[i]] = 1 }
				{ sub(/^\(qemu\) /, "") }
				$0 == c[1] { on = 1; next }
				on && !($0 in echo) && NF'
	) 8>>/run/agtguest-monitor.lock
}

# What the monitor printed, as text: its line editor redraws the line for
# each character typed (cursor back over it, the line, erase to its end);
# keep the line it ends with, drop the escape sequences and CRs.
guest_monitor_text() {
	sed -e 's/\x1b\[K//g' -e ':a' -e 's/[^\x1b]\x1b\[D//' -e 'ta' \
		-e 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\r//g'
}

# The netdevs of cable PAIR's two NICs, in the caller's namespace ("-") or
# any named one (the lab moves the wire's end into its own), as lines
# "NAMESPACE NETDEV FLAGS". None for a NIC that DPDK has (vfio-pci). A
# virtio-net netdev's parent is the virtio device on the NIC's PCI function
# (nic PAIR at 00:0(3+2*PAIR).0, agtwire PAIR at 00:0(4+2*PAIR).0).
guest_cable_netdevs() { # PAIR
	local pair=$1 slot v ns virtio=' '
	for slot in $((3 + 2 * pair)) $((4 + 2 * pair)); do
		for v in "/sys/bus/pci/devices/0000:00:0$slot.0"/virtio*; do
			[[ -e $v ]] && virtio+="${v##*/} "
		done
	done
	[[ $virtio != ' ' ]] || return 0
	for ns in - $(ip netns list | awk '{print $1}'); do
		# ip -d: "parentbus virtio parentdev virtioN"
		if [[ $ns == - ]]; then ip -d -o link show; else ip -n "$ns" -d -o link show; fi 2>/dev/null |
			awk -v ns="$ns" -v virtio="$virtio" '{
				name = $2; sub(/:$/, "", name); sub(/@.*/, "", name)
				for (i = 3; i < NF; i++)
					if ($i == "parentdev" && index(virtio, " " $(i + 1) " "))
						print ns, name, $3
			}'
	done
}

# guest_cable PAIR off|on [TIMEOUT]: pull (off) or plug (on) cable PAIR (0:
# nic0 <-> agtwire0, 1: nic1 <-> agtwire1): set_link on both of its NICs,
# as a pulled cable takes the carrier of both ends; then wait (TIMEOUT s,
# default 10) until every netdev of the two that is up shows it (the NIC
# DPDK drives has none: its port sees the link change through the PMD).
guest_cable() {
	local pair=${1:-} state=${2:-} timeout=${3:-10} want out t0 ends bad ns name flags
	if [[ $pair != [01] || ($state != off && $state != on) ]]; then
		echo "usage: guest_cable 0|1 off|on [TIMEOUT]" >&2
		return 2
	fi
	t0=$(cut -d' ' -f1 /proc/uptime)
	# both ends in one go, as close together as a pulled plug
	out=$(guest_monitor "set_link nic$pair $state" "set_link agtwire$pair $state") || return
	if [[ -n $out ]]; then
		echo "guest_cable: set_link nic$pair/agtwire$pair $state: $out" >&2
		return 1
	fi
	want=LOWER_UP
	[[ $state == on ]] || want=
	local end=$((SECONDS + timeout))
	while :; do
		ends=
		bad=
		while read -r ns name flags; do
			# the carrier shows (IFF_LOWER_UP) only while the netdev is up
			[[ $flags == *[\<,]UP[,\>]* ]] || continue
			ends+=" $ns/$name"
			if [[ -n $want && $flags != *LOWER_UP* ]] || [[ -z $want && $flags == *LOWER_UP* ]]; then
				bad+=" $ns/$name"
			fi
		done < <(guest_cable_netdevs "$pair")
		[[ -n $bad ]] || break
		if ((SECONDS >= end)); then
			echo "guest_cable: pair $pair $state: carrier not $state after ${timeout}s on:$bad" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "guest_cable: pair $pair $state (nic$pair, agtwire$pair) in" \
		"$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN {printf "%.2f", b - a}')s;" \
		"carrier checked on:${ends:- nothing (no netdev up)}" >&2
}

# run as a command
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	guest_cable "$@"
fi
