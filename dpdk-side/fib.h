/* SPDX-License-Identifier: BSD-3-Clause */
/* The dataplane's FIB: the kernel's routes, next hops, neighbours and local
 * addresses, mirrored (mirror/nl_mirror.c) into tables the forwarding lcore
 * reads without locks:
 *   - fib4_table (DIR-24-8, IPv4) and fib6_table (DIR-16-8-8..., IPv6):
 *     prefix → next
 *     hop slot. The route candidates the kernel has for each prefix (table,
 *     metric...) are in the control side's prefix stores (fib_prefixes.h).
 *   - nh[slot]: immutable struct fib_nexthop (one path, or an ECMP set),
 *     replaced by pointer. Slots are shared: one per distinct next hop set,
 *     or one per kernel nexthop object (RTA_NH_ID), so a full table of 1M
 *     prefixes uses a handful of slots and replacing a nexthop object
 *     re-points every route that uses it with one store;
 *   - rte_hash neigh: {ifindex, family, address} → immutable struct fib_neigh;
 *   - rte_hash local: the host's own addresses (always the kernel's).
 * Writers (the main lcore) publish new objects with atomic stores and free
 * old ones only after the forwarding lcore has reported a quiescent state
 * (rte_rcu_qsbr), and reuse a group of either lookup table only after that
 * too. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_rcu_qsbr.h>

#include "fib4_table.h"
#include "fib6_table.h"
#include "mirror/nl_mirror.h"

/* Where a route leads, as far as the fast path is concerned. */
enum fib_nh_kind {
	NH_KERNEL = 0, /* anything the kernel must handle (other device, blackhole...) */
	NH_VM,	       /* out of the VM bridge: wire → VM fast path */
	NH_UNDERLAY,   /* out of the exception netdev: VM → wire fast path */
};

#define FIB_ECMP_MAX MIRROR_MAX_PATHS

struct fib_nh_path {
	uint8_t kind; /* enum fib_nh_kind */
	uint8_t has_gw;
	uint8_t gw_family;
	uint8_t pad;
	int oif;
	uint8_t gw[16];
	struct rte_ether_addr smac; /* MAC of oif: bridge MAC or dp0 (= NIC) MAC */
	uint16_t vlan;		    /* NH_UNDERLAY through a VLAN netdev on dp0: its VID */
};

/* What a prefix resolves to. n == 0: the kernel's (blackhole, unreachable,
 * prohibit, a nexthop object not known yet...). n > 1: ECMP, a flow picks
 * sel[hash % n_sel] (sel repeats paths by weight), skipping paths whose
 * neighbour is unresolved. */
#define FIB_SEL_MAX 64
struct fib_nexthop {
	uint8_t n;
	uint8_t n_sel;
	uint8_t sel[FIB_SEL_MAX];
	struct fib_nh_path p[FIB_ECMP_MAX];
};

struct fib_neigh {
	struct rte_ether_addr mac;
	uint32_t gen; /* control side only (resync) */
};

/* 32 bytes: rte_hash compares keys of that size with SSE (24 bytes fell
 * back to memcmp: 8 % of the forwarding lcore's cycles, measured). */
struct fib_neigh_key {
	int32_t ifindex;
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
	uint8_t pad2[8];
} __rte_aligned(8); /* rte_hash_crc reads 8 bytes at a time */

struct fib_local_key {
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
} __rte_aligned(8); /* (24 bytes: memset before use, the tail is hashed too) */

/* Why a packet went to the kernel instead of the fast path. */
#define FIB_PUNT_REASONS(X)                                                                        \
	X(local) /* to one of the host's addresses */                                              \
	X(no_route)                                                                                \
	X(not_fast)   /* the route leads elsewhere than the fast path's direction */               \
	X(unresolved) /* next hop's neighbour not (yet) resolved by the kernel */                  \
	X(behind)     /* the mirror lost events or the FIB is full: not trusted until resync */

enum fib_punt {
	FIB_FWD = 0,
#define FIB_X(n) FIB_PUNT_##n,
	FIB_PUNT_REASONS(FIB_X)
#undef FIB_X
	    FIB_PUNT_MAX,
};

/* What one lookup did, for /agent/explain (telemetry.c), which runs the
 * fast path's own functions on a crafted packet and passes one of these.
 * The forwarding loop passes NULL, a constant that the always-inline
 * functions fold away: no test of it is left in the loop. */
enum fib_trace_path {
	FIB_TP_UNTRIED = 0, /* not reached (a path before it was taken) */
	FIB_TP_OTHER_KIND,  /* leads elsewhere than the direction asked */
	FIB_TP_UNRESOLVED,  /* its neighbour is not resolved: skipped */
	FIB_TP_TAKEN,	    /* the path the packet takes */
};
struct fib_trace {
	uint32_t slot; /* the lookup table's entry for the destination (0: no route) */
	const struct fib_nexthop *nh;
	uint32_t flow_hash;	       /* the hash that picked the first path (ECMP only) */
	int8_t first;		       /* that path (0 without ECMP) */
	int8_t chosen;		       /* the path taken, -1: none */
	uint8_t path[FIB_ECMP_MAX];    /* enum fib_trace_path, per path of nh */
	const struct fib_neigh *neigh; /* the taken path's neighbour */
};

#define FIB_MAX_BRIDGES 8

struct fib_config {
	uint32_t lpm_rules;  /* IPv4 prefixes (prefix store size) */
	uint32_t lpm6_rules; /* IPv6 routes */
	uint32_t tbl8s;	     /* IPv4 tbl8 groups (0: derived from lpm_rules) */
	uint32_t tbl8s6;     /* IPv6 tbl8 groups (0: derived from lpm6_rules) */
	uint32_t neighbours;
	const char *exc_ifname;	   /* the exception netdev (dp0) */
	const char *bridge_ifname; /* the VM bridge (br-vm) */
	/* more VM bridges: routes through any of them are fast too */
	const char *more_bridges[FIB_MAX_BRIDGES - 1];
	int n_more_bridges;
	const uint32_t *tables; /* extra tables to mirror */
	int n_tables;
};

struct fib_stats {
	uint64_t routes4, routes6, nexthops, neighbours, locals;
	uint64_t nhobjs;       /* kernel nexthop objects mirrored */
	uint64_t ecmp_routes;  /* prefixes whose next hop has several paths */
	uint64_t route_errors; /* FIB full, next hop slots full */
	uint64_t neigh_errors; /* neighbour table full */
	uint64_t resyncs;
	uint64_t behind;     /* 1 while the fast path distrusts the FIB */
	uint64_t full;	     /* 1 while some kernel route could not be added */
	uint64_t mem_bytes;  /* FIB memory, both families, all tables */
	uint64_t mem4_bytes; /* of which the IPv4 lookup table and prefix store */
	uint64_t mem6_bytes; /* and the IPv6 ones (the table's groups in use) */
};

/* A bit per hash value of the host's addresses (fib_local_bit): most
 * packets are not to the host, and a clear bit says so without the hash
 * lookup (4 KiB, stays in L1/L2). */
#define FIB_LOCAL_BITS (1u << 15)

struct fib {
	/* read by the forwarding lcore */
	uint64_t local_bits[FIB_LOCAL_BITS / 64];
	struct fib4_table t4;
	struct fib6_table t6;
	uint32_t untrusted;	 /* atomic: != 0 → every lookup punts (FIB_PUNT_behind) */
	struct fib_nexthop **nh; /* slot → next hop; slot 0 = no route */
	struct rte_hash *neigh;
	uint32_t neigh_gen; /* atomic: bumped before a neighbour object is freed */
	struct rte_hash *local;
	struct rte_rcu_qsbr *qsv;
	/* VIDs of the underlay's VLAN netdevs on dp0 (atomic words): a tagged
	 * frame from the wire is routed only for one of them */
	uint64_t vlans[4096 / 64];
	/* control side */
	struct fib_ctl *ctl;
};

static __rte_always_inline bool fib_vlan_known(const struct fib *f, uint16_t vid)
{
	return (__atomic_load_n(&f->vlans[vid / 64], __ATOMIC_RELAXED) >> (vid % 64)) & 1;
}

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

/* Listings for telemetry (under the FIB's control lock). Routes are walked
 * in prefix order, a page at a time: *cursor is opaque (zeroed to start),
 * within/within_len limit the walk to the routes inside a prefix (len 0:
 * all). Returns the number of routes passed to CB; *done is set at the end.
 * A listing taken while routes change may miss or repeat those routes, as
 * `ip route` does. */
struct fib_route_info {
	int family;
	uint8_t dst[16];
	uint8_t dst_len;
	uint32_t table;
	uint32_t priority;
	uint8_t type, protocol;
	uint32_t nh_id; /* kernel nexthop object, 0 = none */
	uint32_t slot;	/* 0: the route did not fit (FIB full) */
	const struct fib_nexthop *nh;
	struct fib_nexthop nh_copy; /* fib_route_get: nh points here */
};
struct fib_cursor {
	uint8_t started;
	uint8_t len;
	uint8_t addr[16];
};
typedef void (*fib_route_cb)(void *arg, const struct fib_route_info *r);
typedef void (*fib_neigh_cb)(void *arg, const struct fib_neigh_key *k, const struct fib_neigh *n);
int fib_walk_routes_page(struct fib *f, int family, const uint8_t *within, uint8_t within_len,
			 struct fib_cursor *cursor, int max, bool *done, fib_route_cb cb,
			 void *arg);
/* Neighbours, a page at a time: *cursor = 0 to start. */
int fib_walk_neigh_page(struct fib *f, uint32_t *cursor, int max, bool *done, fib_neigh_cb cb,
			void *arg);
/* Exact-match lookup of one prefix (what `agentctl routes PREFIX` shows). */
int fib_route_get(struct fib *f, int family, const uint8_t *dst, uint8_t len,
		  struct fib_route_info *out);
/* The FIB cannot vouch for its content (mirror behind, or full): every
 * lookup punts to the kernel until fib_set_untrusted(f, false). */
void fib_set_untrusted(struct fib *f, bool untrusted);
/* A FIB that was full since the last resync wants one (room may be back). */
bool fib_wants_resync(struct fib *f);
/* The control lock, for a thread that runs the fast path's lookups itself
 * (/agent/explain, on the telemetry thread, not an RCU reader): every change
 * and every free happens under it, so what those lookups return stays valid
 * until fib_ctl_unlock(). */
void fib_ctl_lock(struct fib *f);
void fib_ctl_unlock(struct fib *f);
/* Under fib_ctl_lock(): the route a lookup of DST uses, i.e. the longest
 * installed prefix covering it, as fib_route_get() gives it (nh points into
 * the table: valid until unlock). -ENOENT: none. */
int fib_route_match_locked(struct fib *f, int family, const uint8_t *dst,
			   struct fib_route_info *out);

/* ---- the forwarding lcore's side ---- */

static __rte_always_inline uint32_t fib_local_bit(int family, const uint8_t *addr)
{
	uint32_t w[4], h;

	if (family == AF_INET) {
		memcpy(w, addr, 4);
		h = rte_hash_crc_4byte(w[0], 0);
	} else {
		memcpy(w, addr, 16);
		h = rte_hash_crc_4byte(
		    w[3], rte_hash_crc_4byte(
			      w[2], rte_hash_crc_4byte(w[1], rte_hash_crc_4byte(w[0], 0))));
	}
	return h & (FIB_LOCAL_BITS - 1);
}

static __rte_always_inline bool fib_is_local(const struct fib *f, int family, const uint8_t *addr)
{
	struct fib_local_key k;
	uint32_t bit = fib_local_bit(family, addr);

	if (likely(!(__atomic_load_n(&f->local_bits[bit / 64], __ATOMIC_RELAXED) &
		     (1ull << (bit % 64)))))
		return false;
	memset(&k, 0, sizeof(k));
	k.family = family;
	memcpy(k.addr, addr, family == AF_INET ? 4 : 16);
	return rte_hash_lookup(f->local, &k) >= 0;
}

/* The next hop for DST (network order, 4 or 16 bytes), or NULL with the
 * reason in *why. Split from the path choice so that a caller computes a
 * flow hash only for an ECMP next hop (nh->n > 1). */
static __rte_always_inline const struct fib_nexthop *fib_lookup_nh_x(const struct fib *f,
								     int family, const uint8_t *dst,
								     enum fib_punt *why,
								     struct fib_trace *tr)
{
	const struct fib_nexthop *nh;
	uint64_t slot = 0;

	if (unlikely(__atomic_load_n(&f->untrusted, __ATOMIC_ACQUIRE))) {
		*why = FIB_PUNT_behind;
		return NULL;
	}
	if (fib_is_local(f, family, dst)) {
		*why = FIB_PUNT_local;
		return NULL;
	}
	if (family == AF_INET) {
		uint32_t ip;
		memcpy(&ip, dst, 4);
		slot = fib4_lookup(&f->t4, rte_be_to_cpu_32(ip));
	} else {
		slot = fib6_lookup(&f->t6, dst);
	}
	if (tr != NULL)
		tr->slot = (uint32_t)slot;
	if (slot == 0) {
		*why = FIB_PUNT_no_route;
		return NULL;
	}
	nh = __atomic_load_n(&f->nh[slot], __ATOMIC_ACQUIRE);
	if (tr != NULL)
		tr->nh = nh;
	if (nh == NULL || nh->n == 0) {
		*why = FIB_PUNT_not_fast;
		return NULL;
	}
	return nh;
}

/* (TR: see struct fib_trace) */
static __rte_always_inline const struct fib_nexthop *
fib_lookup_nh(const struct fib *f, int family, const uint8_t *dst, enum fib_punt *why)
{
	return fib_lookup_nh_x(f, family, dst, why, NULL);
}

/* A forwarding lcore's cache of neighbour lookups, direct mapped: the
 * rte_hash lookup (hash + bucket + key compare, ~30 cycles) was a quarter of
 * the per-packet cost (bench/core_loop.sh), while a burst usually goes to a
 * handful of next hops. An entry is used only while f->neigh_gen has not
 * moved since it was filled: the control side bumps it before it frees a
 * neighbour object (after the RCU grace period), so a cached pointer is never
 * one to freed memory. Only hits are cached. */
#define FIB_NCACHE_SIZE 256
struct fib_ncache {
	struct {
		uint64_t a0, a1; /* the address (IPv4: a0 only) */
		const struct fib_neigh *n;
		int32_t ifindex;
		uint32_t gen;
		uint8_t family;
	} e[FIB_NCACHE_SIZE];
};

/* The neighbour IFINDEX/FAMILY/ADDR, through the cache NC (or not: NULL).
 * The cache is probed with values in registers: a key built in memory
 * first cost a store-forwarding stall per packet (measured). */
static __rte_always_inline const struct fib_neigh *fib_neigh_get(const struct fib *f,
								 struct fib_ncache *nc,
								 int32_t ifindex, uint8_t family,
								 const uint8_t *addr)
{
	struct fib_neigh_key k;
	struct fib_neigh *n;
	uint64_t a0, a1 = 0;
	uint32_t gen = 0, i = 0;

	if (family == AF_INET) {
		uint32_t v;
		memcpy(&v, addr, 4);
		a0 = v;
	} else {
		memcpy(&a0, addr, 8);
		memcpy(&a1, addr + 8, 8);
	}
	if (nc != NULL) {
		uint64_t x = a0 ^ a1;
		gen = __atomic_load_n(&f->neigh_gen, __ATOMIC_ACQUIRE);
		i = (((uint32_t)x ^ (uint32_t)(x >> 32) ^ (uint32_t)ifindex) * 0x9e3779b1u) >>
		    (32 - 8); /* FIB_NCACHE_SIZE = 2^8 */
		if (nc->e[i].a0 == a0 && nc->e[i].a1 == a1 && nc->e[i].ifindex == ifindex &&
		    nc->e[i].family == family && nc->e[i].gen == gen && nc->e[i].n != NULL)
			return nc->e[i].n;
	}
	memset(&k, 0, sizeof(k));
	k.ifindex = ifindex;
	k.family = family;
	memcpy(k.addr, addr, family == AF_INET ? 4 : 16);
	if (rte_hash_lookup_data(f->neigh, &k, (void **)&n) < 0)
		return NULL;
	if (nc != NULL) {
		nc->e[i].a0 = a0;
		nc->e[i].a1 = a1;
		nc->e[i].ifindex = ifindex;
		nc->e[i].family = family;
		nc->e[i].n = n;
		nc->e[i].gen = gen;
	}
	return n;
}

/* The path of NH a packet to DST takes on a fast path whose next hop must be
 * of kind WANT: for ECMP the one FLOW_HASH picks (the same flow always takes
 * the same path while it stays resolved), skipping unresolved ones. On
 * FIB_FWD, dmac and smac point to the MACs to write. NC: the calling
 * lcore's neighbour cache, or NULL. */
static __rte_always_inline enum fib_punt
fib_select_x(const struct fib *f, struct fib_ncache *nc, const struct fib_nexthop *nh, int family,
	     const uint8_t *dst, uint32_t flow_hash, enum fib_nh_kind want,
	     const struct rte_ether_addr **dmac, const struct rte_ether_addr **smac,
	     struct fib_trace *tr)
{
	const struct fib_neigh *n;
	unsigned int first = nh->n > 1 ? nh->sel[flow_hash % nh->n_sel] : 0;
	enum fib_punt why = FIB_PUNT_not_fast;

	if (tr != NULL) {
		tr->flow_hash = flow_hash;
		tr->first = (int8_t)first;
		tr->chosen = -1;
	}
	for (unsigned int i = 0; i < nh->n; i++) {
		unsigned int k = (first + i) % nh->n;
		const struct fib_nh_path *p = &nh->p[k];
		if (p->kind != want) {
			if (tr != NULL)
				tr->path[k] = FIB_TP_OTHER_KIND;
			continue;
		}
		n = fib_neigh_get(f, nc, p->oif, p->has_gw ? p->gw_family : (uint8_t)family,
				  p->has_gw ? p->gw : dst);
		if (n == NULL) {
			if (tr != NULL)
				tr->path[k] = FIB_TP_UNRESOLVED;
			why = FIB_PUNT_unresolved;
			continue;
		}
		if (tr != NULL) {
			tr->path[k] = FIB_TP_TAKEN;
			tr->chosen = (int8_t)k;
			tr->neigh = n;
		}
		*dmac = &n->mac;
		*smac = &p->smac;
		return FIB_FWD;
	}
	return why;
}

/* The VID of the path fib_select_x() chose (0: untagged), from the smac it
 * returned, which is that path's own field. */
static __rte_always_inline uint16_t fib_path_vlan(const struct rte_ether_addr *smac)
{
	return container_of(smac, const struct fib_nh_path, smac)->vlan;
}

static __rte_always_inline enum fib_punt
fib_select_cached(const struct fib *f, struct fib_ncache *nc, const struct fib_nexthop *nh,
		  int family, const uint8_t *dst, uint32_t flow_hash, enum fib_nh_kind want,
		  const struct rte_ether_addr **dmac, const struct rte_ether_addr **smac)
{
	return fib_select_x(f, nc, nh, family, dst, flow_hash, want, dmac, smac, NULL);
}

static __rte_always_inline enum fib_punt
fib_select(const struct fib *f, const struct fib_nexthop *nh, int family, const uint8_t *dst,
	   uint32_t flow_hash, enum fib_nh_kind want, const struct rte_ether_addr **dmac,
	   const struct rte_ether_addr **smac)
{
	return fib_select_cached(f, NULL, nh, family, dst, flow_hash, want, dmac, smac);
}

/* Both in one, for callers that have the flow hash at hand. */
static __rte_always_inline enum fib_punt fib_resolve(const struct fib *f, int family,
						     const uint8_t *dst, uint32_t flow_hash,
						     enum fib_nh_kind want,
						     const struct rte_ether_addr **dmac,
						     const struct rte_ether_addr **smac)
{
	enum fib_punt why;
	const struct fib_nexthop *nh = fib_lookup_nh(f, family, dst, &why);

	if (nh == NULL)
		return why;
	return fib_select(f, nh, family, dst, flow_hash, want, dmac, smac);
}
