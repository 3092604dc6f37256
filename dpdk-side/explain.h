/* SPDX-License-Identifier: BSD-3-Clause */
/* /agent/explain (telemetry.c): which path a flow takes through the
 * dataplane right now, and why. Not a model of the forwarding code: a
 * frame of that flow is crafted and decided by the forwarding code itself
 * (process.h, dp_process_traced) against the live FIB, with what its
 * lookups did traced (struct fib_trace) and what it would count kept in a
 * tally of its own. Nothing is sent and no shared counter moves. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "dataplane.h"
#include "fib.h"
#include "process.h"

struct dp_explain_req {
	int family; /* AF_INET, AF_INET6 */
	uint8_t src[16], dst[16];
	uint8_t proto; /* IPPROTO_*; ICMP/ICMPv6: an echo request */
	uint16_t sport, dport;
	enum dp_port_role in; /* DP_PORT_NIC: from the wire; DP_PORT_EXC: a VM's frame on dp0 */
};

/* "<src>,<dst>,<proto>,<sport>,<dport>,<vm|wire>": both addresses of one
 * family; proto a number (0-255) or tcp, udp, sctp, icmp (ICMPv6 for IPv6);
 * ports 0-65535 (empty: 0). 0, or -EINVAL. */
int dp_explain_parse(const char *params, struct dp_explain_req *req);

/* A frame of REQ's flow as it reaches the dataplane, in BUF (at least
 * DP_EXPLAIN_FRAME_MAX bytes): from the wire, to NIC_MAC from a peer's MAC;
 * from a VM (what steer_vm_ingress redirects), from a VM's MAC to the
 * gateway's; IPv4 without options or IPv6, TTL 64, then 8 bytes of L4 (the
 * ports, or an echo request). Returns its length. */
#define DP_EXPLAIN_FRAME_MAX 128
uint16_t dp_explain_frame(const struct dp_explain_req *req, const struct rte_ether_addr *nic_mac,
			  uint8_t *buf);

struct dp_explain_res {
	uint8_t verdict;	 /* DP_PORT_NIC, DP_PORT_EXC or DP_VERDICT_DROP */
	struct dp_burst_tally t; /* what the frame counted */
	struct fib_trace tr;	 /* nh and neigh: NULL, copied below */
	bool has_nh;
	struct fib_nexthop nh; /* the next hop the lookup found */
	bool has_route;
	struct fib_route_info route; /* the route it belongs to (route.nh -> route.nh_copy) */
	bool has_neigh;
	struct rte_ether_addr neigh_mac;
	uint16_t len;
	uint8_t frame[DP_EXPLAIN_FRAME_MAX]; /* as it leaves (rewritten on the fast path) */
};

/* Decide REQ against F by the forwarding code, under F's control lock.
 * NIC_MAC: the forwarding lcore's (frames to it are ours). */
int dp_explain_run(struct fib *f, const struct rte_ether_addr *nic_mac,
		   const struct dp_explain_req *req, struct dp_explain_res *res);

/* The forwarding counters (struct dp_fwd_counters names) T moved, in the
 * order of the tally: CB(ARG, name) for each. */
void dp_explain_counters(const struct dp_burst_tally *t, void (*cb)(void *arg, const char *name),
			 void *arg);
