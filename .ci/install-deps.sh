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
	iproute2 iputils-ping iperf3 ethtool jq procps psmisc traceroute tcpdump
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
