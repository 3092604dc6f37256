/* SPDX-License-Identifier: BSD-3-Clause */
/* Telemetry commands registered by agent-dataplane (rte_telemetry). agentd
 * reads them over the DPDK telemetry socket
 * <runtime dir>/<file-prefix>/dpdk_telemetry.v2; so does dpdk-telemetry.py. */
#pragma once

#include <stdint.h>

/* {"state": "init"|"running"|"stopping", "pid": N, "uptime_s": N,
 *  "heartbeat": N (incremented by the forwarding lcore on every loop turn),
 *  "nic": "<port name>", "exception": "<port name>",
 *  "fast_path": true when the FIB mirror is running (agentd enables eBPF
 *  steering only then)} */
#define DP_TEL_HEALTH "/agent/health"

/* {"nic": {port}, "exception": {port}} where port =
 * {"name", "port_id", "driver", "mac", "link_up", "speed_mbps",
 *  "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
 *  "rx_missed", "rx_errors", "tx_errors", "rx_nombuf"}    (rte_eth_stats)
 *  also: "type" ("af_xdp", "af_packet", "tap", "virtio-user", "pci", ...),
 *  "mtu", and, when the port has a kernel netdev (tap/virtio-user dp0,
 *  af_xdp/af_packet nic0, bifurcated PCI): "kernel_ifname", "kernel_mac" (the
 *  netdev's current MAC), "kernel_rx_dropped", "kernel_tx_dropped" (drops
 *  before DPDK sees a packet: XDP socket ring full on the NIC, tap queue
 *  full on dp0 — the usual cause of TCP retransmits on the slow path);
 * plus the forwarding counters of the dataplane itself:
 * "fwd": {"heartbeat", "nic_to_exc_packets", "nic_to_exc_bytes",
 *         "exc_to_nic_packets", "exc_to_nic_bytes", "hairpin_packets",
 *         "drop_tx_full" (= drop_tx_full_nic + drop_tx_full_exc),
 *         "drop_no_mbuf" (sum of the ports' rx_nombuf), "drop_verdict", ...}
 * The *_packets/bytes count packets handed to the tx port, including those
 * then dropped as drop_tx_full_*. */
#define DP_TEL_STATS "/agent/stats"

/* The FIB mirror, paged (a reply holds at most 16 KiB): each reply is
 *   {"n": N, "next": "<cursor>" (absent on the last page),
 *    "0": {route}, ..., "N-1": {route}}
 * "n" and "next" come first; a reply holding fewer than n entries was cut
 * short (a bug: the page is sized to fit) and must not be trusted.
 * "/agent/routes,<4|6>,<cursor>[,<prefix/len>]": cursor empty to start,
 *   else the "next" of the previous page (opaque hex); the filter lists
 *   only the routes inside the prefix. route =
 *   {"dst": "a/len", "table", "metric", "proto" ("static", "bgp", ... or the
 *    number), "type" ("unicast", "blackhole", "unreachable", "prohibit"...),
 *    "nhid" (kernel nexthop object, only when used), "path" ("vm" |
 *    "underlay": fast path; "kernel": handed to the kernel; "none": no next
 *    hop; "mixed": ECMP paths of several kinds),
 *    one path: "via" (absent if connected), "dev";
 *    ECMP: "ecmp": n, "nexthops": {"0": {"via", "dev", "weight", "path"}, ...}}
 * "/agent/route,<prefix/len>": {"route": {route}} for exactly that prefix,
 *   {} when there is none.
 * "/agent/neigh,<cursor>": cursor empty to start, then "next" (decimal);
 *   entries {"ip", "mac", "dev"}. */
#define DP_TEL_ROUTES "/agent/routes"
#define DP_TEL_ROUTE  "/agent/route"
#define DP_TEL_NEIGH  "/agent/neigh"

/* "/agent/explain,<src>,<dst>,<proto>,<sport>,<dport>,<vm|wire>": the path a
 * flow takes through the dataplane now, decided by the forwarding code itself
 * on a crafted frame of that flow (dpdk-side/explain.h; nothing is sent, no
 * counter moves). proto: a number or tcp|udp|sctp|icmp (an echo request);
 * from "vm": a VM's frame as steer_vm_ingress redirects it to dp0; "wire":
 * a frame from the wire to the NIC's MAC. Reply:
 *   {"from": "vm"|"wire", "fib": 1 (0: no FIB mirror: everything crosses to
 *    the kernel unchanged, "reason": "no_fib"),
 *    "fib_behind", "fib_full": 1 while the FIB is distrusted (every lookup
 *    punts, reason "behind"),
 *    "verdict": "fast" | "kernel" (handed to the kernel) | "drop" | "as_is"
 *    (the kernel's own frame, sent on unchanged),
 *    "out": "nic" | "exception" | "drop",
 *    "reason" (not on the fast path): a FIB punt reason ("local",
 *    "no_route", "not_fast", "unresolved", "behind") or "ttl", "ip_special",
 *    "not_ip", "l2", "not_ours", "from_kernel",
 *    "counters": [the /agent/stats "fwd" counters this frame would move],
 *    "route": {route} (as /agent/route: the route the lookup found),
 *    "nexthop": {"index", "via", "dev", "path", "state" ("taken",
 *      "unresolved", "other_direction", "not_tried"), "neigh": "resolved"
 *      (with "mac") | "unresolved"}: the path taken, else the first one
 *      skipped as unresolved,
 *    ECMP: "flow_hash", "ecmp_first" (the path the hash picked), "paths":
 *      {"0": {path as nexthop}, ...},
 *    "out_dst_mac", "out_src_mac": the frame's MACs as it leaves}. */
#define DP_TEL_EXPLAIN "/agent/explain"

/* The forwarding lcore's heartbeat, also published in a shared page so that
 * agentd can check it every few milliseconds without waking the telemetry
 * thread (which a loaded or stopped process may not schedule in time):
 * <runtime dir>/<file-prefix>/agent_heartbeat, mapped read-only by agentd. */
#define DP_HEARTBEAT_FILE  "agent_heartbeat"
#define DP_HEARTBEAT_SIZE  4096			 /* the page mapped by both sides */
#define DP_HEARTBEAT_MAGIC 0x6167656e74686231ULL /* "agenthb1" */

struct dp_heartbeat {
	uint64_t magic; /* DP_HEARTBEAT_MAGIC once initialised */
	uint64_t pid;
	uint64_t turns; /* forwarding loop turns, relaxed atomic */
	/* The forwarding lcore's thread id (0: not yet, or an older dataplane):
	 * agentd reads its scheduler state to tell a thread that cannot get a
	 * CPU (contention) from one that is stuck (a hang). */
	uint64_t fwd_tid;
};
