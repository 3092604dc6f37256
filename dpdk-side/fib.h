/* SPDX-License-Identifier: BSD-3-Clause */
/* The dataplane's FIB: the kernel's routes, neighbours and local addresses,
 * mirrored (mirror/nl_mirror.c) into tables the forwarding lcore reads
 * without locks:
 *   - rte_lpm (IPv4) and rte_lpm6 (IPv6): prefix → next hop index;
 *   - nh[index]: immutable struct fib_nexthop, replaced by pointer;
 *   - rte_hash neigh: {ifindex, family, address} → immutable struct fib_neigh;
 *   - rte_hash local: the host's own addresses (always the kernel's).
 * Writers (the main lcore) publish new objects with atomic stores and free
 * old ones only after the forwarding lcore has reported a quiescent state
 * (rte_rcu_qsbr), so no packet is ever forwarded with a half-updated entry.
 * rte_lpm6 has no RCU support in DPDK 22.11: it is double-buffered (update
 * the idle copy, flip, wait for quiescence, update the other). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_rcu_qsbr.h>

#include "mirror/nl_mirror.h"

/* Where a route leads, as far as the fast path is concerned. */
enum fib_nh_kind {
	NH_KERNEL = 0, /* anything the kernel must handle (other device, blackhole...) */
	NH_VM,	       /* out of the VM bridge: wire → VM fast path */
	NH_UNDERLAY,   /* out of the exception netdev: VM → wire fast path */
};

struct fib_nexthop {
	uint8_t kind; /* enum fib_nh_kind */
	uint8_t has_gw;
	int oif;
	uint8_t gw[16];
	struct rte_ether_addr smac; /* MAC of oif: bridge MAC or dp0 (= NIC) MAC */
};

struct fib_neigh {
	struct rte_ether_addr mac;
	uint32_t gen; /* control side only (resync) */
};

struct fib_neigh_key {
	int32_t ifindex;
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
};

struct fib_local_key {
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
};

/* Why a packet went to the kernel instead of the fast path. */
#define FIB_PUNT_REASONS(X)                                                                        \
	X(local) /* to one of the host's addresses */                                              \
	X(no_route)                                                                                \
	X(not_fast)   /* the route leads elsewhere than the fast path's direction */               \
	X(unresolved) /* next hop's neighbour not (yet) resolved by the kernel */

enum fib_punt {
	FIB_FWD = 0,
#define FIB_X(n) FIB_PUNT_##n,
	FIB_PUNT_REASONS(FIB_X)
#undef FIB_X
	    FIB_PUNT_MAX,
};

struct fib_config {
	uint32_t lpm_rules;
	uint32_t lpm6_rules;
	uint32_t neighbours;
	const char *exc_ifname;	   /* the exception netdev (dp0) */
	const char *bridge_ifname; /* the VM bridge (br-vm) */
	const uint32_t *tables;	   /* extra tables to mirror */
	int n_tables;
};

struct fib_stats {
	uint64_t routes4, routes6, nexthops, neighbours, locals;
	uint64_t route_errors; /* LPM full, nexthop table full */
	uint64_t neigh_errors; /* neighbour table full */
	uint64_t resyncs;
};

struct fib {
	/* read by the forwarding lcore */
	struct rte_lpm *lpm4;
	struct rte_lpm6 *lpm6[2];
	uint32_t lpm6_active; /* atomic: which copy readers use */
	/* Default routes (/0), which rte_lpm/rte_lpm6 cannot hold: next hop
	 * index + 1 per family (0 = none), atomic. [0] IPv4, [1] IPv6. */
	uint32_t default_nh[2];
	struct fib_nexthop **nh;
	struct rte_hash *neigh;
	struct rte_hash *local;
	struct rte_rcu_qsbr *qsv;
	/* control side */
	struct fib_ctl *ctl;
};

/* Create the tables; the RCU variable has room for one reader (the
 * forwarding lcore, thread id 0). */
int fib_create(struct fib **f, const struct fib_config *cfg, int socket_id);
void fib_destroy(struct fib *f);
/* The consumer of the netlink mirror. ctx = the struct fib. */
extern const struct mirror_ops fib_mirror_ops;
void fib_get_stats(struct fib *f, struct fib_stats *st);
/* Interface indexes resolved from the names (0 = not seen yet). */
int fib_exc_ifindex(struct fib *f);
int fib_bridge_ifindex(struct fib *f);

/* Walk the control-side tables (under the FIB's control lock), for
 * telemetry. */
typedef void (*fib_route_cb)(void *arg, const struct mirror_route *r, const struct fib_nexthop *nh);
typedef void (*fib_neigh_cb)(void *arg, const struct fib_neigh_key *k, const struct fib_neigh *n);
void fib_walk_routes(struct fib *f, fib_route_cb cb, void *arg);
void fib_walk_neigh(struct fib *f, fib_neigh_cb cb, void *arg);

/* ---- the forwarding lcore's side ---- */

static inline bool fib_is_local(const struct fib *f, int family, const uint8_t *addr)
{
	struct fib_local_key k;

	memset(&k, 0, sizeof(k));
	k.family = family;
	memcpy(k.addr, addr, family == AF_INET ? 4 : 16);
	return rte_hash_lookup(f->local, &k) >= 0;
}

/* Resolve DST (network order, 4 or 16 bytes) for a fast path whose next hop
 * must be of kind WANT. On FIB_FWD, dmac and smac point to the MACs to write. */
static inline enum fib_punt fib_resolve(const struct fib *f, int family, const uint8_t *dst,
					enum fib_nh_kind want, const struct rte_ether_addr **dmac,
					const struct rte_ether_addr **smac)
{
	const struct fib_nexthop *nh;
	struct fib_neigh_key k;
	struct fib_neigh *n;
	uint32_t idx;
	int ret;

	if (fib_is_local(f, family, dst))
		return FIB_PUNT_local;
	if (family == AF_INET) {
		uint32_t ip;
		memcpy(&ip, dst, 4);
		ret = rte_lpm_lookup(f->lpm4, rte_be_to_cpu_32(ip), &idx);
	} else {
		uint32_t a = __atomic_load_n(&f->lpm6_active, __ATOMIC_ACQUIRE);
		ret = rte_lpm6_lookup(f->lpm6[a], dst, &idx);
	}
	if (ret != 0) {
		uint32_t d = __atomic_load_n(&f->default_nh[family != AF_INET], __ATOMIC_ACQUIRE);
		if (d == 0)
			return FIB_PUNT_no_route;
		idx = d - 1;
	}
	nh = __atomic_load_n(&f->nh[idx], __ATOMIC_ACQUIRE);
	if (nh == NULL || nh->kind != want)
		return FIB_PUNT_not_fast;
	memset(&k, 0, sizeof(k));
	k.ifindex = nh->oif;
	k.family = family;
	memcpy(k.addr, nh->has_gw ? nh->gw : dst, family == AF_INET ? 4 : 16);
	if (rte_hash_lookup_data(f->neigh, &k, (void **)&n) < 0)
		return FIB_PUNT_unresolved;
	*dmac = &n->mac;
	*smac = &nh->smac;
	return FIB_FWD;
}
