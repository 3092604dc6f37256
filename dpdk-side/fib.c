/* SPDX-License-Identifier: BSD-3-Clause */
/* Control side of the FIB (see fib.h): applies netlink mirror events to the
 * lock-free tables the forwarding lcore reads. Runs on the main lcore; the
 * control lock only orders it against telemetry walks, never against the
 * forwarding lcore.
 *
 * Bookkeeping:
 *   p4, p6    prefix stores (fib_prefixes.h): prefix → the kernel's route
 *             candidates for it (one per table × metric), the best one
 *             installed in the lookup table (fib4_table.h for IPv4,
 *             fib6_table.h for IPv6) as a slot number;
 *   slots     slot → struct slot_rec: what the slot's next hop is made of
 *             (content key, or a kernel nexthop object id) and how many
 *             candidates use it; a slot is freed (after RCU quiescence) when
 *             its last user goes;
 *   by_key    rte_hash content key → slot, so that equal next hops share one;
 *   nhobjs    rte_hash kernel nexthop id → struct nhobj (RTM_NEWNEXTHOP).
 * Every change costs O(1) table operations (plus the tbl24 range it writes;
 * a delete probes the store for its cover, at most one probe per prefix
 * length in use), never a walk of the table, except for the
 * rare events that must touch every route: resync end, deletion of a
 * nexthop object still in use, and a change of the bridge or dp0 device. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/rtnetlink.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_hash_crc.h>
#include <rte_jhash.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_rib.h>
#include <rte_rib6.h>

#include "fib.h"
#include "fib_prefixes.h"

RTE_LOG_REGISTER_DEFAULT(fib_logtype, INFO);
#define FIB_LOG(level, fmt, ...)                                                                   \
	rte_log(RTE_LOG_##level, fib_logtype, "fib: " fmt "\n", ##__VA_ARGS__)

#define FIB_MAX_LINKS	 1024
#define FIB_MAX_NHOBJS	 16384
#define FIB_MAX_SLOTS	 16383 /* distinct next hop sets (and nexthop objects) */
#define FULL_LOG_PERIOD	 10    /* seconds between two "FIB full" log lines */
#define RESYNC_FULL_WAIT 5     /* seconds before a full FIB asks for a resync */

/* What a route change is about, in a walk's worklist. */
struct prefix_key {
	uint8_t family;
	uint8_t len;
	uint8_t pad[2];
	uint8_t dst[16];
};

#define MAX_TABLES 9 /* main + the mirror's extra tables */

struct nh_key {
	uint8_t family;
	uint8_t type; /* RTN_UNICAST, or why it is the kernel's */
	uint8_t n;
	uint8_t pad;
	struct mirror_path p[FIB_ECMP_MAX];
};

struct slot_rec {
	uint32_t refs;	   /* candidates using it, + 1 held by its nhobj */
	uint32_t nhobj_id; /* != 0: the slot of a kernel nexthop object */
	struct nh_key key; /* content-keyed slots; nhobj slots: last built */
};

struct nhobj {
	struct mirror_nexthop m;
	bool known; /* false: a placeholder for a route that named it first */
	uint16_t slot;
	uint32_t gen;
};

struct link_rec {
	int ifindex;
	char name[IFNAMSIZ];
	struct rte_ether_addr mac;
	bool has_mac;
	uint16_t vlan_id; /* an 802.1Q VLAN netdev on vlan_link, 0 = not one */
	int vlan_link;
	uint32_t gen;
};

struct fib_ctl {
	pthread_mutex_t lock;
	char exc_ifname[IFNAMSIZ];
	char bridge_ifname[FIB_MAX_BRIDGES][IFNAMSIZ]; /* [0]: the first */
	int n_bridges;
	int exc_ifindex, bridge_ifindex[FIB_MAX_BRIDGES];
	struct pfx_store p4, p6;
	uint32_t
	    len_count4[33]; /* IPv4 prefixes per length: covers are looked for where some are */
	uint32_t len_count6[129];	     /* IPv6 likewise */
	uint16_t local_refs[FIB_LOCAL_BITS]; /* host addresses per fib_local_bit */
	uint32_t tables[MAX_TABLES];	     /* candidate table index → kernel table id */
	int n_tables;
	struct rte_hash *by_key; /* nh_key → slot */
	struct rte_hash *nhobjs; /* uint32_t id → struct nhobj * */
	struct slot_rec **slots;
	uint32_t *free_slots;
	uint32_t n_free, max_slots;
	struct link_rec links[FIB_MAX_LINKS];
	int n_links;
	uint32_t gen;
	bool full;	    /* a route could not be added since the last resync */
	time_t full_since;  /* when */
	time_t full_logged; /* rate limit of the log line */
	uint64_t full_unlogged;
	bool behind; /* the mirror says it lost events */
	uint64_t mem_bytes;
	struct fib_stats stats;
};

static int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void quiesce(struct fib *f)
{
	/* Wait until the forwarding lcore has passed a quiescent state: after
	 * this, nothing it read before our last store is still in use. */
	rte_rcu_qsbr_synchronize(f->qsv, RTE_QSBR_THRID_INVALID);
}

static void trust_update(struct fib *f)
{
	struct fib_ctl *c = f->ctl;
	uint32_t u = c->behind || c->full;

	__atomic_store_n(&f->untrusted, u, __ATOMIC_RELEASE);
	c->stats.behind = c->behind;
	c->stats.full = c->full;
}

static struct rte_hash *hash_create(const char *name, uint32_t entries, uint32_t key_len,
				    int socket_id, bool lockfree)
{
	struct rte_hash_parameters p = {
	    .name = name,
	    .entries = entries,
	    .key_len = key_len,
	    /* CRC32 instructions: ~3x faster than jhash on these 20-24 byte keys,
	     * and the forwarding lcore hashes one or two per packet */
	    .hash_func = rte_hash_crc,
	    .socket_id = socket_id,
	    .extra_flag = lockfree ? (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
				      RTE_HASH_EXTRA_FLAGS_NO_FREE_ON_DEL)
				   : 0,
	};
	return rte_hash_create(&p);
}

int fib_create(struct fib **fp, const struct fib_config *cfg, int socket_id)
{
	/* IPv4 needs a tbl8 group per /24 holding longer prefixes */
	uint32_t tbl8 =
	    cfg->tbl8s ? RTE_MAX(256u, cfg->tbl8s) : RTE_MAX(1024u, cfg->lpm_rules / 64);
	/* IPv6: a group per 8-bit boundary below /16 that holds longer
	 * prefixes; ~0.5 per route with an Internet-like mix (fib_apply), and
	 * a group costs only when used: reserve 2 per route */
	uint32_t tbl8_6 =
	    cfg->tbl8s6 ? RTE_MAX(256u, cfg->tbl8s6) : RTE_MAX(4096u, 2 * cfg->lpm6_rules);
	struct rte_malloc_socket_stats ms0, ms1;
	struct fib *f;
	struct fib_ctl *c;
	size_t qsz;

	int heap_socket = socket_id == SOCKET_ID_ANY ? (int)rte_socket_id() : socket_id;

	if (heap_socket < 0)
		heap_socket = 0;
	rte_malloc_get_socket_stats(heap_socket, &ms0);
	f = rte_zmalloc("fib", sizeof(*f), RTE_CACHE_LINE_SIZE);
	c = calloc(1, sizeof(*c));
	if (f == NULL || c == NULL)
		goto nomem;
	f->ctl = c;
	f->neigh_gen = 1; /* (a zeroed cache entry never matches) */
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->exc_ifname, sizeof(c->exc_ifname), "%s", cfg->exc_ifname);
	snprintf(c->bridge_ifname[0], sizeof(c->bridge_ifname[0]), "%s", cfg->bridge_ifname);
	c->n_bridges = 1;
	for (int i = 0; i < cfg->n_more_bridges && c->n_bridges < FIB_MAX_BRIDGES; i++)
		snprintf(c->bridge_ifname[c->n_bridges++], sizeof(c->bridge_ifname[0]), "%s",
			 cfg->more_bridges[i]);

	qsz = rte_rcu_qsbr_get_memsize(1);
	f->qsv = rte_zmalloc("fib_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	if (f->qsv == NULL || rte_rcu_qsbr_init(f->qsv, 1) != 0)
		goto nomem;

	if (fib4_create(&f->t4, tbl8, socket_id) < 0)
		goto nomem;
	if (fib6_create(&f->t6, RTE_MIN(tbl8_6, FIB6_MAX_VALUE + 1u)) < 0)
		goto nomem;

	c->max_slots = FIB_MAX_SLOTS;
	f->nh = rte_zmalloc("fib_nh", sizeof(*f->nh) * (c->max_slots + 1), RTE_CACHE_LINE_SIZE);
	c->slots = calloc(c->max_slots + 1, sizeof(*c->slots));
	c->free_slots = calloc(c->max_slots, sizeof(uint32_t));
	if (f->nh == NULL || c->slots == NULL || c->free_slots == NULL)
		goto nomem;
	for (uint32_t i = 0; i < c->max_slots; i++) /* slot 0 means "no route" */
		c->free_slots[c->n_free++] = c->max_slots - i;

	f->neigh = hash_create("fib_neigh", cfg->neighbours, sizeof(struct fib_neigh_key),
			       socket_id, true);
	f->local = hash_create("fib_local", 1024, sizeof(struct fib_local_key), socket_id, true);
	if (pfx_store_init(&c->p4, AF_INET, cfg->lpm_rules) < 0 ||
	    pfx_store_init(&c->p6, AF_INET6, cfg->lpm6_rules) < 0)
		goto nomem;
	c->tables[c->n_tables++] = RT_TABLE_MAIN;
	for (int i = 0; i < cfg->n_tables && c->n_tables < MAX_TABLES; i++)
		if (cfg->tables[i] != RT_TABLE_MAIN)
			c->tables[c->n_tables++] = cfg->tables[i];
	c->by_key =
	    hash_create("fib_nhkeys", c->max_slots, sizeof(struct nh_key), socket_id, false);
	c->nhobjs = hash_create("fib_nhobjs", FIB_MAX_NHOBJS, sizeof(uint32_t), socket_id, false);
	if (f->neigh == NULL || f->local == NULL || c->by_key == NULL || c->nhobjs == NULL)
		goto dpdk_err;
	rte_malloc_get_socket_stats(heap_socket, &ms1);
	c->mem_bytes = ms1.heap_allocsz_bytes - ms0.heap_allocsz_bytes + fib4_mem(&f->t4) +
		       pfx_store_mem(&c->p4) + pfx_store_mem(&c->p6);
	c->stats.mem_bytes = c->mem_bytes;
	*fp = f;
	return 0;
dpdk_err:
	FIB_LOG(ERR, "cannot create tables (%u IPv4 + %u IPv6 routes): %s", cfg->lpm_rules,
		cfg->lpm6_rules, rte_strerror(rte_errno));
	fib_destroy(f);
	return -rte_errno ? -rte_errno : -ENOMEM;
nomem:
	if (f == NULL || f->ctl == NULL)
		free(c); /* otherwise fib_destroy frees it */
	fib_destroy(f);
	return -ENOMEM;
}

void fib_destroy(struct fib *f)
{
	const void *key;
	void *data;
	uint32_t it = 0;

	if (f == NULL)
		return;
	if (f->ctl) {
		pfx_store_free(&f->ctl->p4);
		pfx_store_free(&f->ctl->p6);
	}
	if (f->ctl && f->ctl->nhobjs) {
		it = 0;
		while (rte_hash_iterate(f->ctl->nhobjs, &key, &data, &it) >= 0)
			free(data);
		rte_hash_free(f->ctl->nhobjs);
	}
	if (f->ctl)
		rte_hash_free(f->ctl->by_key);
	if (f->neigh) {
		it = 0;
		while (rte_hash_iterate(f->neigh, &key, &data, &it) >= 0)
			rte_free(data);
		rte_hash_free(f->neigh);
	}
	rte_hash_free(f->local);
	if (f->nh && f->ctl) {
		for (uint32_t i = 0; i <= f->ctl->max_slots; i++) {
			rte_free(f->nh[i]);
			if (f->ctl->slots)
				free(f->ctl->slots[i]);
		}
	}
	rte_free(f->nh);
	fib4_free(&f->t4);
	fib6_free(&f->t6);
	rte_free(f->qsv);
	if (f->ctl) {
		free(f->ctl->slots);
		free(f->ctl->free_slots);
		pthread_mutex_destroy(&f->ctl->lock);
		free(f->ctl);
	}
	rte_free(f);
}

/* ---- links ---- */

static struct link_rec *link_find(struct fib_ctl *c, int ifindex)
{
	for (int i = 0; i < c->n_links; i++)
		if (c->links[i].ifindex == ifindex)
			return &c->links[i];
	return NULL;
}

/* The index of the VM bridge IFINDEX is (or of NAME), -1 if none. */
static int bridge_of(const struct fib_ctl *c, int ifindex, const char *name)
{
	for (int i = 0; i < c->n_bridges; i++)
		if ((ifindex && c->bridge_ifindex[i] == ifindex) ||
		    (name && strcmp(c->bridge_ifname[i], name) == 0))
			return i;
	return -1;
}

/* ---- next hop slots ---- */

static void sel_build(struct fib_nexthop *nh, const struct nh_key *k)
{
	unsigned int total = 0;

	for (int i = 0; i < nh->n; i++)
		total += k->p[i].weight ? k->p[i].weight : 1;
	/* Weighted hash-threshold: path i owns a share of sel[] proportional
	 * to its weight (at least one entry each). */
	nh->n_sel = 0;
	for (int i = 0; i < nh->n && nh->n_sel < FIB_SEL_MAX; i++) {
		unsigned int w = k->p[i].weight ? k->p[i].weight : 1;
		unsigned int share = total <= FIB_SEL_MAX ? w : (w * FIB_SEL_MAX) / total;
		if (share == 0)
			share = 1;
		for (unsigned int j = 0; j < share && nh->n_sel < FIB_SEL_MAX; j++)
			nh->sel[nh->n_sel++] = (uint8_t)i;
	}
	if (nh->n_sel == 0) {
		nh->sel[0] = 0;
		nh->n_sel = 1;
	}
}

/* What the forwarding lcore sees for a next hop content. */
static void nh_build(struct fib *f, const struct nh_key *k, struct fib_nexthop *nh)
{
	struct fib_ctl *c = f->ctl;

	memset(nh, 0, sizeof(*nh));
	if (k->type != RTN_UNICAST)
		return; /* blackhole, unreachable, ...: n = 0, the kernel's */
	for (int i = 0; i < k->n; i++) {
		const struct mirror_path *mp = &k->p[i];
		struct fib_nh_path *p = &nh->p[nh->n++];
		struct link_rec *l = mp->oif ? link_find(c, mp->oif) : NULL;

		p->oif = mp->oif;
		p->has_gw = mp->has_gw;
		p->gw_family = mp->has_gw ? mp->gw_family : k->family;
		memcpy(p->gw, mp->gw, 16);
		p->kind = NH_KERNEL;
		/* unknown device, or an IPv4 route via an IPv6 gateway: the
		 * kernel's (the fast path rewrites with IPv4 neighbours only) */
		if (l == NULL || !l->has_mac || (mp->has_gw && mp->gw_family != k->family))
			continue;
		p->smac = l->mac;
		if (c->exc_ifindex && mp->oif == c->exc_ifindex) {
			p->kind = NH_UNDERLAY;
		} else if (c->exc_ifindex && l->vlan_id && l->vlan_link == c->exc_ifindex) {
			p->kind = NH_UNDERLAY; /* a tenant VLAN of the underlay: tagged */
			p->vlan = l->vlan_id;
		} else if (bridge_of(c, mp->oif, NULL) >= 0)
			p->kind = NH_VM;
	}
	sel_build(nh, k);
}

/* Build and publish slot S's next hop from its record's key. */
static int slot_publish(struct fib *f, uint32_t s)
{
	struct fib_nexthop *old = f->nh[s], *nh;
	struct fib_nexthop tmp;

	nh_build(f, &f->ctl->slots[s]->key, &tmp);
	if (old != NULL && memcmp(old, &tmp, sizeof(tmp)) == 0)
		return 0;
	nh = rte_malloc("fib_nexthop", sizeof(*nh), 0);
	if (nh == NULL)
		return -ENOMEM;
	*nh = tmp;
	__atomic_store_n(&f->nh[s], nh, __ATOMIC_RELEASE);
	if (old != NULL) {
		quiesce(f);
		rte_free(old);
	}
	return 0;
}

static int slot_alloc(struct fib *f, const struct nh_key *k, uint32_t nhobj_id)
{
	struct fib_ctl *c = f->ctl;
	struct slot_rec *r;
	uint32_t s;

	if (c->n_free == 0)
		return -ENOSPC;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	s = c->free_slots[--c->n_free];
	r->key = *k;
	r->nhobj_id = nhobj_id;
	c->slots[s] = r;
	if (slot_publish(f, s) < 0) {
		c->slots[s] = NULL;
		c->free_slots[c->n_free++] = s;
		free(r);
		return -ENOMEM;
	}
	if (nhobj_id == 0 && rte_hash_add_key_data(c->by_key, k, (void *)(uintptr_t)s) < 0) {
		struct fib_nexthop *nh = f->nh[s];
		f->nh[s] = NULL;
		rte_free(nh); /* never installed anywhere: no reader can hold it */
		c->slots[s] = NULL;
		c->free_slots[c->n_free++] = s;
		free(r);
		return -ENOSPC;
	}
	c->stats.nexthops++;
	return (int)s;
}

/* The slot for a content key, shared. Takes a reference. */
static int slot_get(struct fib *f, const struct nh_key *k)
{
	void *data;
	int s;

	if (rte_hash_lookup_data(f->ctl->by_key, k, &data) >= 0)
		s = (int)(uintptr_t)data;
	else if ((s = slot_alloc(f, k, 0)) < 0)
		return s;
	f->ctl->slots[s]->refs++;
	return s;
}

/* Drop a reference; the last one frees the slot once no reader can see it.
 * The caller has already removed the slot from every rte_fib entry. */
static void slot_put(struct fib *f, uint32_t s)
{
	struct fib_ctl *c = f->ctl;
	struct slot_rec *r = c->slots[s];
	struct fib_nexthop *nh;

	if (r == NULL || --r->refs > 0)
		return;
	if (r->nhobj_id == 0)
		rte_hash_del_key(c->by_key, &r->key);
	/* Readers that took S from a table entry before it was removed read
	 * f->nh[S] after: it stays valid until they are quiescent (NULLed
	 * before, such a reader saw a route with no next hop and punted it
	 * as "not fast"; test_fib's concurrent test caught one in 280k). */
	quiesce(f);
	nh = f->nh[s];
	__atomic_store_n(&f->nh[s], NULL, __ATOMIC_RELEASE);
	rte_free(nh);
	free(r);
	c->slots[s] = NULL;
	c->free_slots[c->n_free++] = s;
	c->stats.nexthops--;
}

static void nh_rebuild_all(struct fib *f)
{
	for (uint32_t s = 1; s <= f->ctl->max_slots; s++)
		if (f->ctl->slots[s] != NULL)
			slot_publish(f, s);
}

/* The VIDs of the VLAN netdevs on dp0, from the links known (under the
 * lock): a bit is set before a next hop can use it, and a frame tagged with
 * a VID whose netdev went is the kernel's again. */
static void vlans_rebuild(struct fib *f)
{
	struct fib_ctl *c = f->ctl;
	uint64_t v[4096 / 64] = {0};

	for (int i = 0; i < c->n_links; i++)
		if (c->exc_ifindex && c->links[i].vlan_id &&
		    c->links[i].vlan_link == c->exc_ifindex)
			v[c->links[i].vlan_id / 64] |= 1ull << (c->links[i].vlan_id % 64);
	for (int i = 0; i < 4096 / 64; i++)
		if (__atomic_load_n(&f->vlans[i], __ATOMIC_RELAXED) != v[i])
			__atomic_store_n(&f->vlans[i], v[i], __ATOMIC_RELEASE);
}

static void fib_link(void *ctx, bool del, const struct mirror_link *ml)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	struct link_rec *l;
	bool relevant, mac_changed = false, vlan = ml->vlan_id != 0;

	pthread_mutex_lock(&c->lock);
	l = link_find(c, ml->ifindex);
	if (l != NULL && l->vlan_id)
		vlan = true; /* (a VLAN netdev going, or no longer one) */
	if (del) {
		if (l != NULL)
			*l = c->links[--c->n_links];
	} else {
		if (l == NULL && c->n_links < FIB_MAX_LINKS) {
			l = &c->links[c->n_links++];
			memset(l, 0, sizeof(*l));
		}
		if (l != NULL) {
			mac_changed =
			    l->has_mac != ml->has_mac || memcmp(l->mac.addr_bytes, ml->mac, 6) != 0;
			l->ifindex = ml->ifindex;
			snprintf(l->name, sizeof(l->name), "%s", ml->name);
			l->has_mac = ml->has_mac;
			memcpy(l->mac.addr_bytes, ml->mac, 6);
			l->vlan_id = ml->vlan_id;
			l->vlan_link = ml->link;
			l->gen = c->gen;
		}
	}
	int b = bridge_of(c, 0, ml->name);

	relevant = strcmp(ml->name, c->exc_ifname) == 0 || b >= 0 || vlan;
	if (strcmp(ml->name, c->exc_ifname) == 0)
		c->exc_ifindex = del ? 0 : ml->ifindex;
	if (b >= 0)
		c->bridge_ifindex[b] = del ? 0 : ml->ifindex;
	/* Which paths are fast, and the MAC they rewrite with, depend on these
	 * two devices; a slot is a next hop set, not a route, so this is
	 * O(distinct next hops). */
	if (relevant || (mac_changed && l != NULL && l->ifindex &&
			 (l->ifindex == c->exc_ifindex || bridge_of(c, l->ifindex, NULL) >= 0)))
		nh_rebuild_all(f);
	if (relevant)
		vlans_rebuild(f);
	pthread_mutex_unlock(&c->lock);
}

/* ---- addresses ---- */

/* The filter bit of a host address: set while some address hashes to it
 * (after the address is in the hash), cleared when the last one goes. */
static void local_ref(struct fib *f, const struct fib_local_key *k, int delta)
{
	uint32_t bit = fib_local_bit(k->family, k->addr);
	uint16_t *refs = &f->ctl->local_refs[bit];

	*refs = (uint16_t)(*refs + delta);
	if (*refs == (delta > 0 ? 1 : 0))
		__atomic_fetch_xor(&f->local_bits[bit / 64], 1ull << (bit % 64), __ATOMIC_RELEASE);
}

static void fib_addr(void *ctx, bool del, const struct mirror_addr *a)
{
	struct fib *f = ctx;
	struct fib_local_key k;
	int32_t pos;

	memset(&k, 0, sizeof(k));
	k.family = a->family;
	memcpy(k.addr, a->addr, addr_len(a->family));
	pthread_mutex_lock(&f->ctl->lock);
	if (del) {
		pos = rte_hash_del_key(f->local, &k);
		if (pos >= 0) {
			local_ref(f, &k, -1);
			quiesce(f);
			rte_hash_free_key_with_position(f->local, pos);
			f->ctl->stats.locals--;
		}
	} else {
		bool known = rte_hash_lookup(f->local, &k) >= 0;
		if (rte_hash_add_key_data(f->local, &k, (void *)(uintptr_t)f->ctl->gen) >= 0 &&
		    !known) {
			f->ctl->stats.locals++;
			local_ref(f, &k, +1);
		}
	}
	pthread_mutex_unlock(&f->ctl->lock);
}

/* The neighbour table is full: the neighbour is not mirrored, so packets
 * to it are punted (the kernel resolves and forwards them). Counted, and
 * logged once per period, not once per neighbour. */
static void neigh_full(struct fib_ctl *c)
{
	static time_t logged;
	static uint64_t unlogged;
	time_t now = time(NULL);

	c->stats.neigh_errors++;
	if (now - logged >= FULL_LOG_PERIOD) {
		FIB_LOG(WARNING,
			"neighbour table full (%" PRIu64 " more since the last message): packets "
			"to neighbours not mirrored go to the kernel (raise fib.neighbours)",
			unlogged);
		logged = now;
		unlogged = 0;
	} else {
		unlogged++;
	}
}

/* ---- routes ---- */

static void fib_full(struct fib *f, const char *what)
{
	struct fib_ctl *c = f->ctl;
	time_t now = time(NULL);

	c->stats.route_errors++;
	if (!c->full) {
		c->full = true;
		c->full_since = now;
		trust_update(f);
	}
	/* One line per period, not one per route of a burst. */
	if (now - c->full_logged >= FULL_LOG_PERIOD) {
		FIB_LOG(WARNING,
			"%s: the FIB is full (%" PRIu64 " more since the last message); "
			"the fast path hands every packet to the kernel until the routes fit "
			"(raise fib.lpm_rules / lpm6_rules / tbl8s)",
			what, c->full_unlogged);
		c->full_logged = now;
		c->full_unlogged = 0;
	} else {
		c->full_unlogged++;
	}
}

static struct pfx_store *store_of(struct fib_ctl *c, int family)
{
	return family == AF_INET ? &c->p4 : &c->p6;
}

/* The candidates' 8-bit table index; a table first seen here (the mirror
 * filters what it passes) gets the next one. */
static int table_index(struct fib_ctl *c, uint32_t table)
{
	for (int i = 0; i < c->n_tables; i++)
		if (c->tables[i] == table)
			return i;
	if (c->n_tables == MAX_TABLES)
		return -1;
	c->tables[c->n_tables] = table;
	return c->n_tables++;
}

static int fib_install(struct fib *f, int family, const uint8_t *dst, uint8_t len, uint32_t slot)
{
	int ret;

	if (family == AF_INET) {
		uint32_t ip;
		memcpy(&ip, dst, 4);
		ret = fib4_add(&f->t4, rte_be_to_cpu_32(ip), len, slot);
		if (ret == -ENOSPC && fib4_need_reclaim(&f->t4)) {
			/* groups folded since: reusable once no reader sees them */
			quiesce(f);
			fib4_reclaim(&f->t4);
			ret = fib4_add(&f->t4, rte_be_to_cpu_32(ip), len, slot);
		}
		return ret;
	}
	ret = fib6_add(&f->t6, dst, len, slot);
	if (ret == -ENOSPC && fib6_need_reclaim(&f->t6)) {
		quiesce(f);
		fib6_reclaim(&f->t6);
		ret = fib6_add(&f->t6, dst, len, slot);
	}
	return ret;
}

/* The longest installed prefix of FAMILY covering DST (network order)
 * that is shorter than LEN: with LEN the prefix of a route, what its
 * addresses fall back to when it goes; with LEN = the address bits + 1, the
 * route a lookup of DST finds. NULL: none. */
static struct pfx *cover(const struct fib_ctl *c, int family, const uint8_t *dst, int len)
{
	const uint32_t *count = family == AF_INET ? c->len_count4 : c->len_count6;
	const struct pfx_store *st = family == AF_INET ? &c->p4 : &c->p6;

	for (int l = len - 1; l >= 0; l--) {
		uint8_t a[16] = {0};
		if (count[l] == 0)
			continue;
		memcpy(a, dst, (size_t)l / 8);
		if (l % 8)
			a[l / 8] = dst[l / 8] & (uint8_t)(0xff << (8 - l % 8));
		struct pfx *q = pfx_find(st, a, (uint8_t)l);
		if (q != NULL && q->h.installed)
			return q;
	}
	return NULL;
}

/* What the lookup table holds for DST/LEN's addresses once DST/LEN goes. */
static void cover_of(const struct fib_ctl *c, int family, const uint8_t *dst, uint8_t len,
		     uint8_t *clen, uint32_t *cval)
{
	struct pfx *q = cover(c, family, dst, len);

	*clen = q != NULL ? q->h.len : 0;
	*cval = q != NULL ? q->h.installed : 0;
}

static void fib_uninstall(struct fib *f, int family, const uint8_t *dst, uint8_t len)
{
	uint32_t cval;
	uint8_t clen;

	cover_of(f->ctl, family, dst, len, &clen, &cval);
	if (family == AF_INET) {
		uint32_t ip;
		memcpy(&ip, dst, 4);
		fib4_del(&f->t4, rte_be_to_cpu_32(ip), len, clen, cval);
	} else {
		fib6_del(&f->t6, dst, len, clen, cval);
	}
}

/* The candidate the kernel would use: main table first, then lowest metric. */
static const struct cand *best(const struct pfx_store *st, struct pfx *p)
{
	const struct cand *b = NULL;
	for (int i = 0; i < p->h.n; i++) {
		const struct cand *r = pfx_cand(st, p, i);
		if (b == NULL || ((r->table == 0) > (b->table == 0)) ||
		    ((r->table == 0) == (b->table == 0) && r->priority < b->priority))
			b = r;
	}
	return b;
}

static void count_route(struct fib_ctl *c, int family, int delta)
{
	if (family == AF_INET)
		c->stats.routes4 += delta;
	else
		c->stats.routes6 += delta;
}

/* Make the lookup table agree with P's best candidate; remove P when it
 * has none. Returns true when P was removed (records may have moved). */
static bool pfx_sync(struct fib *f, int family, struct pfx *p)
{
	struct fib_ctl *c = f->ctl;
	struct pfx_store *st = store_of(c, family);
	const struct cand *b = best(st, p);

	if (b == NULL) {
		if (p->h.installed) {
			fib_uninstall(f, family, pfx_dst(p), p->h.len);
			count_route(c, family, -1);
		}
		if (family == AF_INET)
			c->len_count4[p->h.len]--;
		else
			c->len_count6[p->h.len]--;
		pfx_del(st, p);
		return true;
	}
	if (p->h.installed == b->slot)
		return false;
	if (fib_install(f, family, pfx_dst(p), p->h.len, b->slot) < 0) {
		/* better no entry than a stale one */
		if (p->h.installed) {
			fib_uninstall(f, family, pfx_dst(p), p->h.len);
			count_route(c, family, -1);
			p->h.installed = 0;
		}
		fib_full(f, "cannot add a route");
		return false;
	}
	if (!p->h.installed)
		count_route(c, family, 1);
	p->h.installed = b->slot;
	return false;
}

static struct nhobj *nhobj_find(struct fib_ctl *c, uint32_t id)
{
	void *data;
	return rte_hash_lookup_data(c->nhobjs, &id, &data) >= 0 ? data : NULL;
}

static void nhobj_key(struct fib_ctl *c, const struct nhobj *o, struct nh_key *k);
static struct nhobj *nhobj_get(struct fib *f, uint32_t id);

/* The slot a route's candidate uses (takes a reference), or < 0. */
static int route_slot(struct fib *f, const struct mirror_route *r)
{
	struct nh_key k;

	if (r->nh_id) {
		struct nhobj *o = nhobj_get(f, r->nh_id);
		if (o == NULL)
			return -ENOSPC;
		f->ctl->slots[o->slot]->refs++;
		return o->slot;
	}
	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)r->family;
	k.type = r->type;
	if (r->type == RTN_UNICAST) {
		k.n = (uint8_t)r->n_paths;
		for (int i = 0; i < r->n_paths && i < FIB_ECMP_MAX; i++) {
			k.p[i] = r->paths[i];
			if (!k.p[i].has_gw) {
				memset(k.p[i].gw, 0, sizeof(k.p[i].gw));
				k.p[i].gw_family = 0;
			}
			if (k.p[i].gw_family == AF_INET)
				memset(k.p[i].gw + 4, 0, 12);
		}
		if (r->n_paths == 0 && r->oif) { /* a caller that filled oif/gw only */
			k.n = 1;
			k.p[0].oif = r->oif;
			k.p[0].has_gw = r->has_gw;
			k.p[0].gw_family = r->has_gw ? (uint8_t)r->family : 0;
			if (r->has_gw)
				memcpy(k.p[0].gw, r->gw, addr_len(r->family));
			k.p[0].weight = 1;
		}
	}
	return slot_get(f, &k);
}

static int find_cand(const struct pfx_store *st, struct pfx *p, int table, uint32_t priority)
{
	for (int i = 0; i < p->h.n; i++) {
		const struct cand *k = pfx_cand(st, p, i);
		if (k->table == table && k->priority == priority)
			return i;
	}
	return -1;
}

static void fib_route(void *ctx, bool del, const struct mirror_route *r)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	struct pfx_store *st = store_of(c, r->family);
	struct pfx *p;
	struct cand *k;
	int i, s, ti, old_slot = -1;
	bool created;

	if (r->family != AF_INET && r->family != AF_INET6)
		return;
	pthread_mutex_lock(&c->lock);
	ti = table_index(c, r->table);
	if (ti < 0)
		goto out; /* more tables than the mirror is ever given */
	p = pfx_find(st, r->dst, r->dst_len);
	if (del) {
		if (p == NULL || (i = find_cand(st, p, ti, r->priority)) < 0)
			goto out;
		s = pfx_cand(st, p, i)->slot;
		pfx_cand_del(st, p, i);
		pfx_sync(f, r->family, p); /* may remove p */
		slot_put(f, (uint32_t)s);
		goto out;
	}
	s = route_slot(f, r);
	if (s < 0) {
		fib_full(f, "no next hop slot left");
		goto out;
	}
	if (p == NULL) {
		p = pfx_get(st, r->dst, r->dst_len, &created);
		if (p == NULL) {
			slot_put(f, (uint32_t)s);
			fib_full(f, "more prefixes than fib.lpm_rules / lpm6_rules");
			goto out;
		}
		if (r->family == AF_INET)
			c->len_count4[r->dst_len]++;
		else
			c->len_count6[r->dst_len]++;
	}
	i = find_cand(st, p, ti, r->priority);
	if (i >= 0) {
		k = pfx_cand(st, p, i);
		old_slot = k->slot;
	} else if ((k = pfx_cand_add(st, p)) == NULL) {
		slot_put(f, (uint32_t)s);
		if (p->h.n == 0)
			pfx_sync(f, r->family, p); /* just created: remove it again */
		fib_full(f, "too many routes for one prefix");
		goto out;
	}
	*k = (struct cand){.priority = r->priority,
			   .gen = (uint16_t)c->gen,
			   .slot = (uint16_t)s,
			   .table = (uint8_t)ti,
			   .type = r->type,
			   .protocol = r->protocol};
	pfx_sync(f, r->family, p);
	if (old_slot >= 0)
		slot_put(f, (uint32_t)old_slot);
out:
	pthread_mutex_unlock(&c->lock);
}

/* Worklists of prefixes for the walks that change the table (records move
 * when one is removed: keys, not pointers). */
struct worklist {
	struct prefix_key *k;
	uint32_t n, cap;
};

static int worklist_add(struct worklist *w, int family, struct pfx *p, uint8_t klen)
{
	if (w->n == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 1024;
		struct prefix_key *k = realloc(w->k, cap * sizeof(*k));
		if (k == NULL)
			return -ENOMEM;
		w->k = k;
		w->cap = cap;
	}
	struct prefix_key *k = &w->k[w->n++];
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)family;
	k->len = p->h.len;
	memcpy(k->dst, pfx_dst(p), klen);
	return 0;
}

/* ---- kernel nexthop objects ---- */

static void nhobj_key(struct fib_ctl *c, const struct nhobj *o, struct nh_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)o->m.family;
	k->type = RTN_UNICAST;
	if (!o->known || o->m.blackhole || o->m.fdb) {
		k->type = RTN_BLACKHOLE; /* n = 0: the kernel's */
		return;
	}
	if (o->m.n_grp == 0) {
		k->n = 1;
		k->p[0].oif = o->m.oif;
		k->p[0].has_gw = o->m.has_gw;
		k->p[0].gw_family = o->m.has_gw ? (uint8_t)o->m.family : 0;
		memcpy(k->p[0].gw, o->m.gw, 16);
		k->p[0].weight = 1;
		return;
	}
	/* A group: its members' paths, in order; a member not known (yet) is
	 * left out, as the kernel would not use it either. */
	for (int i = 0; i < o->m.n_grp && k->n < FIB_ECMP_MAX; i++) {
		const struct nhobj *m = nhobj_find(c, o->m.grp[i].id);
		if (m == NULL || !m->known || m->m.n_grp > 0 || m->m.blackhole)
			continue;
		struct mirror_path *p = &k->p[k->n++];
		p->oif = m->m.oif;
		p->has_gw = m->m.has_gw;
		p->gw_family = m->m.has_gw ? (uint8_t)m->m.family : 0;
		memcpy(p->gw, m->m.gw, 16);
		p->weight = o->m.grp[i].weight ? o->m.grp[i].weight : 1;
		if (k->family == AF_UNSPEC)
			k->family = (uint8_t)m->m.family;
	}
	if (k->n == 0)
		k->type = RTN_UNREACHABLE;
}

/* Find or create (as a placeholder) the object ID, with its own slot. */
static struct nhobj *nhobj_get(struct fib *f, uint32_t id)
{
	struct fib_ctl *c = f->ctl;
	struct nhobj *o = nhobj_find(c, id);
	struct nh_key k;
	int s;

	if (o != NULL)
		return o;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	o->m.id = id;
	o->gen = c->gen;
	nhobj_key(c, o, &k);
	s = slot_alloc(f, &k, id);
	if (s < 0 || rte_hash_add_key_data(c->nhobjs, &id, o) < 0) {
		if (s >= 0) {
			struct slot_rec *r = c->slots[s];
			r->refs = 1;
			slot_put(f, (uint32_t)s);
		}
		free(o);
		return NULL;
	}
	o->slot = (uint16_t)s;
	c->slots[s]->refs = 1; /* held by the object */
	c->stats.nhobjs++;
	return o;
}

static void nhobj_republish(struct fib *f, struct nhobj *o)
{
	nhobj_key(f->ctl, o, &f->ctl->slots[o->slot]->key);
	slot_publish(f, o->slot);
}

/* Groups that contain ID are rebuilt (the kernel shrinks/grows them
 * silently when a member changes or goes). */
static void groups_with_member(struct fib *f, uint32_t id)
{
	const void *key;
	void *data;
	uint32_t it = 0;

	while (rte_hash_iterate(f->ctl->nhobjs, &key, &data, &it) >= 0) {
		struct nhobj *g = data;
		for (int i = 0; i < g->m.n_grp; i++)
			if (g->m.grp[i].id == id) {
				nhobj_republish(f, g);
				break;
			}
	}
}

/* The prefixes of FAMILY whose candidates WANT picks, into W (keys: the
 * caller changes the store after). */
static int collect(struct fib_ctl *c, int family,
		   bool (*want)(const struct pfx_store *, struct pfx *, uint32_t), uint32_t arg,
		   struct worklist *w)
{
	struct pfx_store *st = store_of(c, family);

	w->n = 0;
	for (uint32_t i = 0; i < st->cap; i++) {
		struct pfx *p = pfx_at(st, i);
		if (p->h.used && want(st, p, arg) && worklist_add(w, family, p, st->klen) < 0)
			return -ENOMEM;
	}
	return 0;
}

static bool uses_slot(const struct pfx_store *st, struct pfx *p, uint32_t slot)
{
	for (int j = 0; j < p->h.n; j++)
		if (pfx_cand(st, p, j)->slot == slot)
			return true;
	return false;
}

/* Remove every route candidate that uses SLOT (the kernel deleted their
 * nexthop object, and with it the routes, without a word about them). */
static void routes_drop_slot(struct fib *f, uint32_t slot)
{
	struct fib_ctl *c = f->ctl;
	struct worklist w = {0};

	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		struct pfx_store *st = store_of(c, family);
		if (collect(c, family, uses_slot, slot, &w) < 0)
			goto out;
		for (uint32_t j = 0; j < w.n; j++) {
			struct pfx *p = pfx_find(st, w.k[j].dst, w.k[j].len);
			int dropped = 0;
			if (p == NULL)
				continue;
			for (int i = 0; i < p->h.n;)
				if (pfx_cand(st, p, i)->slot == slot) {
					pfx_cand_del(st, p, i);
					dropped++;
				} else {
					i++;
				}
			pfx_sync(f, family, p);
			while (dropped-- > 0)
				slot_put(f, slot);
		}
	}
out:
	free(w.k);
}

static void nhobj_delete(struct fib *f, struct nhobj *o)
{
	struct fib_ctl *c = f->ctl;
	uint32_t id = o->m.id, slot = o->slot;

	/* Routes still on it (the kernel dropped them silently): one walk of
	 * the table. The usual order — a routing daemon removes the routes,
	 * then the object — leaves only the object's own reference: O(1). */
	if (c->slots[slot] != NULL && c->slots[slot]->refs > 1)
		routes_drop_slot(f, slot);
	rte_hash_del_key(c->nhobjs, &id);
	c->stats.nhobjs--;
	free(o);
	slot_put(f, slot); /* the object's own reference */
	groups_with_member(f, id);
}

static void fib_nexthop(void *ctx, bool del, const struct mirror_nexthop *m)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	struct nhobj *o;

	pthread_mutex_lock(&c->lock);
	o = nhobj_find(c, m->id);
	if (del) {
		if (o != NULL)
			nhobj_delete(f, o);
		goto out;
	}
	if (o == NULL && (o = nhobj_get(f, m->id)) == NULL) {
		fib_full(f, "no next hop slot left for a nexthop object");
		goto out;
	}
	o->m = *m;
	o->known = true;
	o->gen = c->gen;
	/* Replaced in place: every route using it follows with one store. */
	nhobj_republish(f, o);
	if (m->n_grp == 0)
		groups_with_member(f, m->id);
out:
	pthread_mutex_unlock(&c->lock);
}

/* ---- neighbours ---- */

/* Before a neighbour object is freed: the lcores' caches of neighbour
 * lookups (fib_ncache) stop using what they hold. */
static void neigh_gen_bump(struct fib *f)
{
	__atomic_fetch_add(&f->neigh_gen, 1, __ATOMIC_RELEASE);
}

static void fib_neigh(void *ctx, bool del, const struct mirror_neigh *mn)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	struct fib_neigh_key k;
	struct fib_neigh *old = NULL, *n;
	int32_t pos;

	memset(&k, 0, sizeof(k));
	k.ifindex = mn->ifindex;
	k.family = (uint8_t)mn->family;
	memcpy(k.addr, mn->addr, addr_len(mn->family));

	pthread_mutex_lock(&c->lock);
	rte_hash_lookup_data(f->neigh, &k, (void **)&old);
	if (del) {
		if (old == NULL)
			goto out;
		pos = rte_hash_del_key(f->neigh, &k);
		neigh_gen_bump(f);
		quiesce(f);
		if (pos >= 0)
			rte_hash_free_key_with_position(f->neigh, pos);
		rte_free(old);
		c->stats.neighbours--;
		goto out;
	}
	if (old != NULL && memcmp(old->mac.addr_bytes, mn->mac, 6) == 0) {
		old->gen = c->gen; /* state change only (REACHABLE ⇄ STALE): nothing to publish */
		goto out;
	}
	n = rte_malloc("fib_neigh", sizeof(*n), 0);
	if (n == NULL) {
		c->stats.neigh_errors++;
		goto out;
	}
	memcpy(n->mac.addr_bytes, mn->mac, 6);
	n->gen = c->gen;
	if (rte_hash_add_key_data(f->neigh, &k, n) < 0) {
		rte_free(n);
		neigh_full(c);
		goto out;
	}
	if (old != NULL) {
		neigh_gen_bump(f);
		quiesce(f);
		rte_free(old);
	} else {
		c->stats.neighbours++;
	}
out:
	pthread_mutex_unlock(&c->lock);
}

/* ---- resync ---- */

static void fib_behind(void *ctx)
{
	struct fib *f = ctx;
	pthread_mutex_lock(&f->ctl->lock);
	/* (the first sync at start is not news) */
	if (!f->ctl->behind && f->ctl->stats.resyncs > 0)
		FIB_LOG(WARNING, "netlink events lost: fast path off until the FIB is resynced");
	f->ctl->behind = true;
	trust_update(f);
	pthread_mutex_unlock(&f->ctl->lock);
}

static void fib_resync_begin(void *ctx)
{
	struct fib *f = ctx;
	pthread_mutex_lock(&f->ctl->lock);
	f->ctl->gen++;
	f->ctl->stats.resyncs++;
	/* Routes that did not fit before may fit now: the dump says. */
	f->ctl->full = false;
	pthread_mutex_unlock(&f->ctl->lock);
}

/* Set again by the last dump? If not, or not installed (it did not fit:
 * retry), it needs work. */
static bool stale(const struct pfx_store *st, struct pfx *p, uint32_t gen)
{
	for (int j = 0; j < p->h.n; j++)
		if (pfx_cand(st, p, j)->gen != (uint16_t)gen)
			return true;
	return !p->h.installed;
}

static void resync_routes(struct fib *f, uint32_t gen)
{
	struct fib_ctl *c = f->ctl;
	struct worklist w = {0};
	uint16_t g = (uint16_t)gen;

	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		struct pfx_store *st = store_of(c, family);
		if (collect(c, family, stale, gen, &w) < 0)
			break;
		for (uint32_t j = 0; j < w.n; j++) {
			struct pfx *p = pfx_find(st, w.k[j].dst, w.k[j].len);
			uint16_t drop[256];
			int nd = 0;
			if (p == NULL)
				continue;
			for (int i = 0; i < p->h.n;) {
				struct cand *k = pfx_cand(st, p, i);
				if (k->gen != g) {
					drop[nd++] = k->slot;
					pfx_cand_del(st, p, i);
				} else {
					i++;
				}
			}
			pfx_sync(f, family, p);
			for (int i = 0; i < nd; i++)
				slot_put(f, drop[i]);
		}
	}
	free(w.k);
}

static void resync_nhobjs(struct fib *f, uint32_t gen)
{
	struct fib_ctl *c = f->ctl;
	const void *key;
	void *data;
	uint32_t it = 0;

	for (;;) { /* deleting invalidates the iteration: restart after each */
		struct nhobj *victim = NULL;
		it = 0;
		while (rte_hash_iterate(c->nhobjs, &key, &data, &it) >= 0)
			if (((struct nhobj *)data)->gen != gen) {
				victim = data;
				break;
			}
		if (victim == NULL)
			break;
		nhobj_delete(f, victim);
	}
}

/* Drop everything the last dump did not set again. */
static void fib_resync_end(void *ctx)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	uint32_t gen = c->gen, it = 0, n_stale = 0;
	const void *key;
	void *data;
	struct fib_neigh_key *nk = NULL;
	struct fib_local_key *lk = NULL;

	pthread_mutex_lock(&c->lock);
	/* links first: next hops are built from them */
	for (int i = 0; i < c->n_links;)
		if (c->links[i].gen != gen)
			c->links[i] = c->links[--c->n_links];
		else
			i++;
	int exc = 0, br[FIB_MAX_BRIDGES] = {0};
	for (int i = 0; i < c->n_links; i++) {
		int b = bridge_of(c, 0, c->links[i].name);

		if (strcmp(c->links[i].name, c->exc_ifname) == 0)
			exc = c->links[i].ifindex;
		if (b >= 0)
			br[b] = c->links[i].ifindex;
	}
	c->exc_ifindex = exc;
	memcpy(c->bridge_ifindex, br, sizeof(br));
	nh_rebuild_all(f);
	vlans_rebuild(f);
	resync_routes(f, gen);
	resync_nhobjs(f, gen);
	/* neighbours and local addresses */
	nk = calloc(rte_hash_count(f->neigh) + 1, sizeof(*nk));
	while (nk && rte_hash_iterate(f->neigh, &key, &data, &it) >= 0)
		if (((struct fib_neigh *)data)->gen != gen)
			nk[n_stale++] = *(const struct fib_neigh_key *)key;
	for (uint32_t i = 0; i < n_stale; i++) {
		struct fib_neigh *n = NULL;
		rte_hash_lookup_data(f->neigh, &nk[i], (void **)&n);
		int32_t pos = rte_hash_del_key(f->neigh, &nk[i]);
		neigh_gen_bump(f);
		quiesce(f);
		if (pos >= 0)
			rte_hash_free_key_with_position(f->neigh, pos);
		rte_free(n);
		c->stats.neighbours--;
	}
	n_stale = 0;
	it = 0;
	lk = calloc(rte_hash_count(f->local) + 1, sizeof(*lk));
	while (lk && rte_hash_iterate(f->local, &key, &data, &it) >= 0)
		if ((uint32_t)(uintptr_t)data != gen)
			lk[n_stale++] = *(const struct fib_local_key *)key;
	for (uint32_t i = 0; i < n_stale; i++) {
		int32_t pos = rte_hash_del_key(f->local, &lk[i]);
		if (pos >= 0)
			local_ref(f, &lk[i], -1);
		quiesce(f);
		if (pos >= 0)
			rte_hash_free_key_with_position(f->local, pos);
		c->stats.locals--;
	}
	c->behind = false;
	if (c->full)
		FIB_LOG(WARNING, "after resync: %" PRIu64 " route error(s), the FIB is still full",
			c->stats.route_errors);
	trust_update(f);
	pthread_mutex_unlock(&c->lock);
	free(nk);
	free(lk);
}

const struct mirror_ops fib_mirror_ops = {
    .link = fib_link,
    .addr = fib_addr,
    .route = fib_route,
    .neigh = fib_neigh,
    .nexthop = fib_nexthop,
    .behind = fib_behind,
    .resync_begin = fib_resync_begin,
    .resync_end = fib_resync_end,
};

void fib_set_untrusted(struct fib *f, bool untrusted)
{
	pthread_mutex_lock(&f->ctl->lock);
	f->ctl->behind = untrusted;
	trust_update(f);
	pthread_mutex_unlock(&f->ctl->lock);
}

bool fib_wants_resync(struct fib *f)
{
	bool want;

	pthread_mutex_lock(&f->ctl->lock);
	want = f->ctl->full && time(NULL) - f->ctl->full_since >= RESYNC_FULL_WAIT;
	if (want)
		f->ctl->full_since = time(NULL); /* at most one per period */
	pthread_mutex_unlock(&f->ctl->lock);
	return want;
}

void fib_get_stats(struct fib *f, struct fib_stats *st)
{
	uint64_t ecmp = 0;

	pthread_mutex_lock(&f->ctl->lock);
	*st = f->ctl->stats;
	/* ECMP routes: counted per slot (cheap), weighted by users */
	for (uint32_t s = 1; s <= f->ctl->max_slots; s++) {
		const struct fib_nexthop *nh = f->nh[s];
		if (nh != NULL && nh->n > 1 && f->ctl->slots[s] != NULL)
			ecmp += f->ctl->slots[s]->refs - (f->ctl->slots[s]->nhobj_id ? 1 : 0);
	}
	st->ecmp_routes = ecmp;
	/* the tables are preallocated; only ECMP candidates and next hops grow */
	st->mem_bytes = f->ctl->mem_bytes + fib6_mem(&f->t6) +
			st->nexthops * (sizeof(struct slot_rec) + sizeof(struct fib_nexthop));
	st->mem4_bytes = fib4_mem(&f->t4) + pfx_store_mem(&f->ctl->p4);
	st->mem6_bytes = fib6_mem(&f->t6) + pfx_store_mem(&f->ctl->p6);
	pthread_mutex_unlock(&f->ctl->lock);
}

int fib_exc_ifindex(struct fib *f)
{
	return f->ctl->exc_ifindex;
}

int fib_bridge_ifindex(struct fib *f)
{
	return f->ctl->bridge_ifindex[0];
}

/* ---- listings ---- */

static void route_info(struct fib *f, int family, struct pfx *p, struct fib_route_info *out)
{
	struct fib_ctl *c = f->ctl;
	struct pfx_store *st = store_of(c, family);
	const struct cand *b = best(st, p);
	const struct slot_rec *r = c->slots[b->slot];

	memset(out, 0, offsetof(struct fib_route_info, nh_copy));
	out->family = family;
	memcpy(out->dst, pfx_dst(p), st->klen);
	out->dst_len = p->h.len;
	out->table = c->tables[b->table];
	out->priority = b->priority;
	out->type = b->type;
	out->protocol = b->protocol;
	out->slot = p->h.installed;
	out->nh_id = r ? r->nhobj_id : 0;
	out->nh = p->h.installed ? f->nh[p->h.installed] : NULL;
}

int fib_route_get(struct fib *f, int family, const uint8_t *dst, uint8_t len,
		  struct fib_route_info *out)
{
	struct pfx *p;
	int ret = -ENOENT;

	pthread_mutex_lock(&f->ctl->lock);
	p = pfx_find(store_of(f->ctl, family), dst, len);
	if (p != NULL && p->h.n > 0) {
		route_info(f, family, p, out);
		/* a copy: the writer may replace the slot once we unlock */
		if (out->nh != NULL) {
			out->nh_copy = *out->nh;
			out->nh = &out->nh_copy;
		}
		ret = 0;
	}
	pthread_mutex_unlock(&f->ctl->lock);
	return ret;
}

void fib_ctl_lock(struct fib *f)
{
	pthread_mutex_lock(&f->ctl->lock);
}

void fib_ctl_unlock(struct fib *f)
{
	pthread_mutex_unlock(&f->ctl->lock);
}

int fib_route_match_locked(struct fib *f, int family, const uint8_t *dst,
			   struct fib_route_info *out)
{
	/* the same probe a delete uses for its cover, from the host prefix */
	struct pfx *p = cover(f->ctl, family, dst, addr_len(family) * 8 + 1);

	if (p == NULL || p->h.n == 0)
		return -ENOENT;
	route_info(f, family, p, out);
	return 0;
}

static bool within_prefix(int family, const uint8_t *a, uint8_t len, const uint8_t *base,
			  uint8_t base_len)
{
	int n = addr_len(family);

	if (len < base_len)
		return false;
	for (int i = 0; i < n && i * 8 < base_len; i++) {
		int bits = (int)base_len - i * 8;
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & m) != (base[i] & m))
			return false;
	}
	return true;
}

/* Routes are walked in the prefix store's order: the cursor is the next
 * record index. A record moves only when another is removed: a listing
 * taken while routes are deleted may miss or repeat some, as `ip route`
 * may. */
int fib_walk_routes_page(struct fib *f, int family, const uint8_t *within, uint8_t within_len,
			 struct fib_cursor *cur, int max, bool *done, fib_route_cb cb, void *arg)
{
	struct fib_ctl *c = f->ctl;
	struct pfx_store *st = store_of(c, family);
	uint32_t pos = 0;
	int shown = 0;

	*done = false;
	if (within == NULL)
		within_len = 0;
	if (cur->started)
		memcpy(&pos, cur->addr, sizeof(pos));
	pthread_mutex_lock(&c->lock);
	for (; pos < st->cap && shown < max; pos++) {
		struct pfx *p = pfx_at(st, pos);
		struct fib_route_info ri;
		if (!p->h.used || p->h.n == 0 ||
		    (within_len &&
		     !within_prefix(family, pfx_dst(p), p->h.len, within, within_len)))
			continue;
		route_info(f, family, p, &ri);
		cb(arg, &ri);
		shown++;
	}
	pthread_mutex_unlock(&c->lock);
	cur->started = 1;
	memcpy(cur->addr, &pos, sizeof(pos));
	*done = pos >= st->cap;
	return shown;
}

int fib_walk_neigh_page(struct fib *f, uint32_t *cursor, int max, bool *done, fib_neigh_cb cb,
			void *arg)
{
	const void *key;
	void *data;
	int shown = 0;

	*done = false;
	pthread_mutex_lock(&f->ctl->lock);
	while (shown < max) {
		if (rte_hash_iterate(f->neigh, &key, &data, cursor) < 0) {
			*done = true;
			break;
		}
		cb(arg, key, data);
		shown++;
	}
	pthread_mutex_unlock(&f->ctl->lock);
	return shown;
}
