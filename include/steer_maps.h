/* SPDX-License-Identifier: BSD-3-Clause */
/* Map layouts shared by the steering eBPF programs (kernel-side/bpf/steer.bpf.c)
 * and user space (kernel-side/bpf/steer.c, agentd, tests). Included by both
 * clang -target bpf and the host compiler, so only <linux/types.h> types.
 *
 * The maps are pinned and adopted across agentd restarts: changing a layout
 * here makes the loader replace the old pinned map (its entries are lost), so
 * append, do not reorder. */
#pragma once

#include <linux/types.h>

/* Steering mode. PASS is 0 so that a freshly created (zeroed) settings map
 * steers nothing until agentd has filled it. */
enum steer_mode {
	STEER_MODE_PASS = 0, /* VM ports redirect nothing; dp0 still delivers frames a live
			      * dataplane addressed to a VM (see steer_exc_ingress) */
	STEER_MODE_FAST = 1, /* redirect eligible frames (packet paths 1 and 2) */
};

/* Value of the "settings" map (ARRAY, one entry, key 0). */
struct steer_settings {
	__u32 mode;	      /* enum steer_mode */
	__u32 exc_ifindex;    /* exception netdev (dp0); 0 = not set, nothing redirected */
	__u32 bridge_ifindex; /* br-vm: target for VM MACs missing from vm_macs */
	__u8 gateway_mac[6];  /* the bridge's MAC: VM frames routed by the host are sent to it */
	__u8 pad[2];
};

/* Same values as AF_INET / AF_INET6 (no <sys/socket.h> in BPF programs). */
#define STEER_FAMILY_INET  2
#define STEER_FAMILY_INET6 10

/* Key of the "local_addrs" map (HASH → __u8, value unused): one of the host's
 * own addresses. IPv4 uses addr[0..3] (network order), the rest is zero. */
struct steer_addr_key {
	__u32 family; /* STEER_FAMILY_INET or STEER_FAMILY_INET6 */
	__u8 addr[16];
};

/* Key of the "vm_macs" map (HASH): a VM's MAC address. */
struct steer_mac_key {
	__u8 addr[6];
};

/* Value of the "vm_macs" map: where frames for that MAC go. */
struct steer_vm_port {
	__u32 ifindex; /* the VM port (host end of the VM's veth/tap) */
};

/* Index into the "counters" map (PERCPU_ARRAY of struct steer_counter_value).
 * Every frame seen by a program moves exactly one of its counters. */
enum steer_counter {
	/* steer_vm_ingress (tc ingress on each VM port) */
	STEER_CNT_VM_REDIRECTED = 0,   /* sent to dp0 (fast path) */
	STEER_CNT_VM_PASS_NOT_GATEWAY, /* dst MAC not the gateway: bridged, bcast, mcast */
	STEER_CNT_VM_PASS_LOCAL,       /* dst IP is one of the host's addresses */
	STEER_CNT_VM_PASS_NON_IP,      /* ARP, VLAN, anything but IPv4/IPv6 */
	STEER_CNT_VM_PASS_MODE,	       /* mode is PASS (or dp0 unknown) */
	STEER_CNT_VM_PASS_OTHER,       /* TTL ≤ 1, IP options, fragment, ND/ICMPv6, ext hdrs,
					* multicast/link-local/broadcast dst, malformed */
	STEER_CNT_VM_PASS_MTU,	       /* larger than dp0's MTU: the kernel fragments or
					* sends "too big" */
	/* steer_exc_ingress (tc ingress on dp0) */
	STEER_CNT_EXC_REDIRECTED,	/* sent to a VM port (fast path) */
	STEER_CNT_EXC_PASS_UNKNOWN_MAC, /* dst MAC is not a VM's: the kernel handles it */
	STEER_CNT_EXC_PASS_MODE, /* no settings entry (unused since exc_ingress ignores the mode) */
	STEER_CNT_EXC_TO_BRIDGE, /* unicast to a MAC not (or no longer) in vm_macs, not dp0's
				  * own: handed to the bridge, which floods or forwards it */
	STEER_CNT_EXC_PASS_NOT_ROUTED, /* not from the gateway MAC: not a frame the dataplane routed
					* to a VM (wire L2 traffic must never reach the VMs) */
	STEER_CNT_EXC_PASS_MTU,	       /* larger than the VM port's (or the bridge's) MTU: the
					* kernel routes it, fragments or sends "too big" */
	STEER_CNT_MAX,
};

struct steer_counter_value {
	__u64 packets;
	__u64 bytes;
};

/* Map sizes (part of the pinned layout). The counters map has spare slots so
 * that appending a counter keeps the pinned map compatible. */
#define STEER_CNT_SLOTS	      32
#define STEER_MAX_LOCAL_ADDRS 1024
#define STEER_MAX_VM_MACS     4096

_Static_assert(STEER_CNT_MAX <= STEER_CNT_SLOTS, "counters map too small");
