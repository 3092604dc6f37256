#!/bin/bash
# Install everything needed to build, test and run the agent on Debian 12.
# Idempotent; safe to run on every CI run.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "install-deps: run as root" >&2; exit 1; }
PKGS=(
	build-essential cmake pkg-config clang llvm bpftool
	libdpdk-dev dpdk dpdk-dev
	libbpf-dev libxdp-dev libnl-3-dev libnl-route-3-dev libmnl-dev libconfig-dev
	libjansson-dev libcmocka-dev libclang-rt-14-dev
	libsystemd-dev systemd # sd_notify; systemd-analyze for the unit test
	libmicrohttpd-dev # agentd's metrics listener (metrics.listen)
	iproute2 iputils-ping iperf3 ethtool jq procps psmisc traceroute tcpdump
	python3 # the scenarios' protocol clients (ctl_clients.py, sd_notify_listener.py)
	python3-prometheus-client # scenario_stats and scenario_metrics parse the exposition with it
	curl # scenario_metrics scrapes agentd's metrics listener
	frr
	qemu-system-x86 cpio # the guest bed (tests/guest/); its kernel and busybox are downloaded, not installed
)
# --bench: what the benchmarks need beyond the tests (DPDK's l3fwd sources,
# trafgen, python3 for DPDK telemetry); `make bench-deps`.
if [ "${1:-}" = --bench ]; then
	PKGS+=(dpdk-doc netsniff-ng)
fi
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Install only: no package script may start a service here. frr's
	# postinst would start a system-wide FRR (zebra, staticd, watchfrr in the
	# root namespace); the scenario tests run private FRR instances inside
	# their lab namespaces and need none. invoke-rc.d and deb-systemd-invoke
	# ask /usr/sbin/policy-rc.d (exit 101: denied); a host's own policy is
	# left as it is.
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		trap 'rm -f "$policy"' EXIT
		printf '#!/bin/sh\n# install-deps.sh: no service starts during the install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
	if [ -n "$policy" ]; then
		rm -f "$policy"
		trap - EXIT
	fi
	# ... nor at the next boot (the package enables frr.service).
	if printf '%s\n' "${missing[@]}" | grep -qx frr && command -v systemctl >/dev/null; then
		systemctl disable frr.service >/dev/null 2>&1 || true
	fi
fi
