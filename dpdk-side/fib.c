/* SPDX-License-Identifier: BSD-3-Clause */
/* Control side of the FIB (see fib.h): applies netlink mirror events to the
 * lock-free tables the forwarding lcore reads. Runs on the main lcore; the
 * control lock only orders it against telemetry walks, never against the
 * forwarding lcore. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "fib.h"

RTE_LOG_REGISTER_DEFAULT(fib_logtype, INFO);
#define FIB_LOG(level, fmt, ...)                                                                   \
	rte_log(RTE_LOG_##level, fib_logtype, "fib: " fmt "\n", ##__VA_ARGS__)

#define MAX_CANDIDATES 4
#define FIB_MAX_LINKS  1024

struct prefix_key {
	uint8_t family;
	uint8_t len;
	uint8_t pad[2];
	uint8_t dst[16];
};

struct candidate {
	struct mirror_route r;
	uint32_t gen;
};

struct prefix_rec {
	struct prefix_key key;
	uint32_t nh_idx;
	int n;
	struct candidate cand[MAX_CANDIDATES];
};

struct link_rec {
	int ifindex;
	char name[IFNAMSIZ];
	struct rte_ether_addr mac;
	bool has_mac;
	uint32_t gen;
};

struct fib_ctl {
	pthread_mutex_t lock;
	char exc_ifname[IFNAMSIZ];
	char bridge_ifname[IFNAMSIZ];
	int exc_ifindex, bridge_ifindex;
	struct rte_hash *prefixes; /* prefix_key → prefix_rec* (control only) */
	uint32_t *free_idx;
	uint32_t n_free, max_nh;
	struct link_rec links[FIB_MAX_LINKS];
	int n_links;
	uint32_t gen;
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

static struct rte_hash *hash_create(const char *name, uint32_t entries, uint32_t key_len,
				    int socket_id, bool lockfree)
{
	struct rte_hash_parameters p = {
	    .name = name,
	    .entries = entries,
	    .key_len = key_len,
	    .hash_func = rte_jhash,
	    .socket_id = socket_id,
	    .extra_flag = lockfree ? (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
				      RTE_HASH_EXTRA_FLAGS_NO_FREE_ON_DEL)
				   : 0,
	};
	return rte_hash_create(&p);
}

int fib_create(struct fib **fp, const struct fib_config *cfg, int socket_id)
{
	/* tbl8 groups: one per /25../32 prefix in a distinct /24 at worst (1 KiB
	 * each), a quarter of the rules is plenty in practice; IPv6 /64s need
	 * several groups each: two per rule per copy. */
	struct rte_lpm_config lc = {.max_rules = cfg->lpm_rules,
				    .number_tbl8s = RTE_MAX(256u, cfg->lpm_rules / 4)};
	struct rte_lpm6_config l6c = {.max_rules = cfg->lpm6_rules,
				      .number_tbl8s = RTE_MAX(1u << 12, cfg->lpm6_rules * 2)};
	struct rte_lpm_rcu_config rc = {.mode = RTE_LPM_QSBR_MODE_SYNC};
	struct fib *f;
	struct fib_ctl *c;
	size_t qsz;

	f = rte_zmalloc("fib", sizeof(*f), RTE_CACHE_LINE_SIZE);
	c = calloc(1, sizeof(*c));
	if (f == NULL || c == NULL)
		goto nomem;
	f->ctl = c;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->exc_ifname, sizeof(c->exc_ifname), "%s", cfg->exc_ifname);
	snprintf(c->bridge_ifname, sizeof(c->bridge_ifname), "%s", cfg->bridge_ifname);

	qsz = rte_rcu_qsbr_get_memsize(1);
	f->qsv = rte_zmalloc("fib_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	if (f->qsv == NULL || rte_rcu_qsbr_init(f->qsv, 1) != 0)
		goto nomem;

	f->lpm4 = rte_lpm_create("fib_lpm4", socket_id, &lc);
	f->lpm6[0] = rte_lpm6_create("fib_lpm6a", socket_id, &l6c);
	f->lpm6[1] = rte_lpm6_create("fib_lpm6b", socket_id, &l6c);
	if (f->lpm4 == NULL || f->lpm6[0] == NULL || f->lpm6[1] == NULL)
		goto dpdk_err;
	rc.v = f->qsv;
	if (rte_lpm_rcu_qsbr_add(f->lpm4, &rc) != 0)
		goto dpdk_err;

	/* One next hop per prefix (replaced in place), so as many as rules. */
	c->max_nh = cfg->lpm_rules + cfg->lpm6_rules;
	if (c->max_nh >= (1u << 21)) /* rte_lpm6 next hops are 21 bits */
		c->max_nh = (1u << 21) - 1;
	f->nh = rte_zmalloc("fib_nh", sizeof(*f->nh) * c->max_nh, RTE_CACHE_LINE_SIZE);
	c->free_idx = calloc(c->max_nh, sizeof(uint32_t));
	if (f->nh == NULL || c->free_idx == NULL)
		goto nomem;
	for (uint32_t i = 0; i < c->max_nh; i++)
		c->free_idx[c->n_free++] = c->max_nh - 1 - i;

	f->neigh = hash_create("fib_neigh", cfg->neighbours, sizeof(struct fib_neigh_key),
			       socket_id, true);
	f->local = hash_create("fib_local", 1024, sizeof(struct fib_local_key), socket_id, true);
	c->prefixes =
	    hash_create("fib_prefixes", c->max_nh, sizeof(struct prefix_key), socket_id, false);
	if (f->neigh == NULL || f->local == NULL || c->prefixes == NULL)
		goto dpdk_err;
	*fp = f;
	return 0;
dpdk_err:
	FIB_LOG(ERR, "cannot create tables: %s", rte_strerror(rte_errno));
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
	if (f->ctl && f->ctl->prefixes) {
		while (rte_hash_iterate(f->ctl->prefixes, &key, &data, &it) >= 0)
			free(data);
		rte_hash_free(f->ctl->prefixes);
	}
	if (f->neigh) {
		it = 0;
		while (rte_hash_iterate(f->neigh, &key, &data, &it) >= 0)
			rte_free(data);
		rte_hash_free(f->neigh);
	}
	rte_hash_free(f->local);
	if (f->nh && f->ctl) {
		for (uint32_t i = 0; i < f->ctl->max_nh; i++)
			rte_free(f->nh[i]);
	}
	rte_free(f->nh);
	rte_lpm_free(f->lpm4);
	rte_lpm6_free(f->lpm6[0]);
	rte_lpm6_free(f->lpm6[1]);
	rte_free(f->qsv);
	if (f->ctl) {
		free(f->ctl->free_idx);
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

static void nh_build(struct fib *f, const struct mirror_route *r, struct fib_nexthop *nh)
{
	struct fib_ctl *c = f->ctl;
	struct link_rec *l = r->oif ? link_find(c, r->oif) : NULL;

	memset(nh, 0, sizeof(*nh));
	nh->oif = r->oif;
	nh->has_gw = r->has_gw;
	memcpy(nh->gw, r->gw, addr_len(r->family));
	nh->kind = NH_KERNEL;
	if (r->type != RTN_UNICAST || l == NULL || !l->has_mac)
		return; /* blackhole, unreachable, ... or unknown device: the kernel's */
	nh->smac = l->mac;
	if (c->exc_ifindex && r->oif == c->exc_ifindex)
		nh->kind = NH_UNDERLAY;
	else if (c->bridge_ifindex && r->oif == c->bridge_ifindex)
		nh->kind = NH_VM;
}

/* The candidate the kernel would use: main table first, then lowest metric. */
static const struct mirror_route *best(const struct prefix_rec *p)
{
	const struct mirror_route *b = NULL;
	for (int i = 0; i < p->n; i++) {
		const struct mirror_route *r = &p->cand[i].r;
		if (b == NULL || ((r->table == RT_TABLE_MAIN) > (b->table == RT_TABLE_MAIN)) ||
		    ((r->table == RT_TABLE_MAIN) == (b->table == RT_TABLE_MAIN) &&
		     r->priority < b->priority))
			b = r;
	}
	return b;
}

/* Publish the next hop of P's best candidate, if it changed. */
static int nh_publish(struct fib *f, struct prefix_rec *p)
{
	struct fib_nexthop *old = f->nh[p->nh_idx], *nh;
	struct fib_nexthop tmp;

	nh_build(f, best(p), &tmp);
	if (old != NULL && memcmp(old, &tmp, sizeof(tmp)) == 0)
		return 0;
	nh = rte_malloc("fib_nexthop", sizeof(*nh), 0);
	if (nh == NULL)
		return -ENOMEM;
	*nh = tmp;
	__atomic_store_n(&f->nh[p->nh_idx], nh, __ATOMIC_RELEASE);
	if (old != NULL) {
		quiesce(f);
		rte_free(old);
	} else {
		f->ctl->stats.nexthops++;
	}
	return 0;
}

static void nh_rebuild_all(struct fib *f)
{
	const void *key;
	void *data;
	uint32_t it = 0;

	while (rte_hash_iterate(f->ctl->prefixes, &key, &data, &it) >= 0)
		nh_publish(f, data);
}

static void fib_link(void *ctx, bool del, const struct mirror_link *ml)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	struct link_rec *l;
	bool relevant;

	pthread_mutex_lock(&c->lock);
	l = link_find(c, ml->ifindex);
	if (del) {
		if (l != NULL)
			*l = c->links[--c->n_links];
	} else {
		if (l == NULL && c->n_links < FIB_MAX_LINKS)
			l = &c->links[c->n_links++];
		if (l != NULL) {
			l->ifindex = ml->ifindex;
			snprintf(l->name, sizeof(l->name), "%s", ml->name);
			l->has_mac = ml->has_mac;
			memcpy(l->mac.addr_bytes, ml->mac, 6);
			l->gen = c->gen;
		}
	}
	relevant = strcmp(ml->name, c->exc_ifname) == 0 || strcmp(ml->name, c->bridge_ifname) == 0;
	if (strcmp(ml->name, c->exc_ifname) == 0)
		c->exc_ifindex = del ? 0 : ml->ifindex;
	if (strcmp(ml->name, c->bridge_ifname) == 0)
		c->bridge_ifindex = del ? 0 : ml->ifindex;
	/* Which routes are fast, and the MAC they rewrite with, depend on these
	 * two devices: re-derive every next hop (rare). */
	if (relevant)
		nh_rebuild_all(f);
	pthread_mutex_unlock(&c->lock);
}

/* ---- addresses ---- */

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
			quiesce(f);
			rte_hash_free_key_with_position(f->local, pos);
			f->ctl->stats.locals--;
		}
	} else {
		if (rte_hash_lookup(f->local, &k) < 0)
			f->ctl->stats.locals++;
		rte_hash_add_key_data(f->local, &k, (void *)(uintptr_t)f->ctl->gen);
	}
	pthread_mutex_unlock(&f->ctl->lock);
}

/* ---- routes ---- */

static int lpm_add(struct fib *f, const struct prefix_key *k, uint32_t idx)
{
	int ret;

	if (k->len == 0) { /* rte_lpm takes depths 1..32 / 1..128 only */
		__atomic_store_n(&f->default_nh[k->family != AF_INET], idx + 1, __ATOMIC_RELEASE);
		return 0;
	}
	if (k->family == AF_INET) {
		uint32_t ip;
		memcpy(&ip, k->dst, 4);
		return rte_lpm_add(f->lpm4, rte_be_to_cpu_32(ip), k->len, idx);
	}
	uint32_t a = f->lpm6_active;
	ret = rte_lpm6_add(f->lpm6[!a], k->dst, k->len, idx);
	if (ret < 0)
		return ret;
	__atomic_store_n(&f->lpm6_active, !a, __ATOMIC_RELEASE);
	quiesce(f);
	return rte_lpm6_add(f->lpm6[a], k->dst, k->len, idx);
}

static void lpm_del(struct fib *f, const struct prefix_key *k)
{
	if (k->len == 0) {
		__atomic_store_n(&f->default_nh[k->family != AF_INET], 0, __ATOMIC_RELEASE);
		return; /* the caller quiesces before freeing the next hop */
	}
	if (k->family == AF_INET) {
		uint32_t ip;
		memcpy(&ip, k->dst, 4);
		rte_lpm_delete(f->lpm4, rte_be_to_cpu_32(ip), k->len); /* SYNC RCU mode */
		return;
	}
	uint32_t a = f->lpm6_active;
	rte_lpm6_delete(f->lpm6[!a], k->dst, k->len);
	__atomic_store_n(&f->lpm6_active, !a, __ATOMIC_RELEASE);
	quiesce(f);
	rte_lpm6_delete(f->lpm6[a], k->dst, k->len);
}

static void prefix_remove(struct fib *f, struct prefix_rec *p)
{
	struct fib_ctl *c = f->ctl;
	struct fib_nexthop *nh;

	lpm_del(f, &p->key);
	quiesce(f);
	nh = f->nh[p->nh_idx];
	__atomic_store_n(&f->nh[p->nh_idx], NULL, __ATOMIC_RELEASE);
	rte_free(nh);
	if (nh)
		c->stats.nexthops--;
	c->free_idx[c->n_free++] = p->nh_idx;
	rte_hash_del_key(c->prefixes, &p->key);
	if (p->key.family == AF_INET)
		c->stats.routes4--;
	else
		c->stats.routes6--;
	free(p);
}

static bool same_route(const struct mirror_route *a, const struct mirror_route *b)
{
	return a->table == b->table && a->priority == b->priority;
}

static void fib_route(void *ctx, bool del, const struct mirror_route *r)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	struct prefix_key k;
	struct prefix_rec *p = NULL;
	int i, ret;

	memset(&k, 0, sizeof(k));
	k.family = r->family;
	k.len = r->dst_len;
	memcpy(k.dst, r->dst, addr_len(r->family));

	pthread_mutex_lock(&c->lock);
	rte_hash_lookup_data(c->prefixes, &k, (void **)&p);
	if (del) {
		if (p == NULL)
			goto out;
		for (i = 0; i < p->n; i++)
			if (same_route(&p->cand[i].r, r))
				break;
		if (i == p->n)
			goto out;
		p->cand[i] = p->cand[--p->n];
		if (p->n == 0)
			prefix_remove(f, p);
		else
			nh_publish(f, p);
		goto out;
	}
	if (p == NULL) {
		if (c->n_free == 0) {
			c->stats.route_errors++;
			goto out;
		}
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			c->stats.route_errors++;
			goto out;
		}
		p->key = k;
		p->nh_idx = c->free_idx[--c->n_free];
		p->cand[p->n++] = (struct candidate){*r, c->gen};
		/* next hop first, then the prefix that points to it */
		if (nh_publish(f, p) < 0 || (ret = lpm_add(f, &k, p->nh_idx)) < 0 ||
		    rte_hash_add_key_data(c->prefixes, &k, p) < 0) {
			FIB_LOG(WARNING, "cannot add a route (table full?)");
			c->stats.route_errors++;
			lpm_del(f, &k);
			quiesce(f);
			rte_free(f->nh[p->nh_idx]);
			f->nh[p->nh_idx] = NULL;
			c->free_idx[c->n_free++] = p->nh_idx;
			free(p);
			goto out;
		}
		if (k.family == AF_INET)
			c->stats.routes4++;
		else
			c->stats.routes6++;
		goto out;
	}
	for (i = 0; i < p->n; i++)
		if (same_route(&p->cand[i].r, r))
			break;
	if (i == p->n) {
		if (p->n == MAX_CANDIDATES) {
			c->stats.route_errors++;
			goto out;
		}
		p->n++;
	}
	p->cand[i] = (struct candidate){*r, c->gen};
	nh_publish(f, p);
out:
	pthread_mutex_unlock(&c->lock);
}

/* ---- neighbours ---- */

static void fib_neigh(void *ctx, bool del, const struct mirror_neigh *mn)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	struct fib_neigh_key k;
	struct fib_neigh *old = NULL, *n;
	int32_t pos;

	memset(&k, 0, sizeof(k));
	k.ifindex = mn->ifindex;
	k.family = mn->family;
	memcpy(k.addr, mn->addr, addr_len(mn->family));

	pthread_mutex_lock(&c->lock);
	rte_hash_lookup_data(f->neigh, &k, (void **)&old);
	if (del) {
		if (old == NULL)
			goto out;
		pos = rte_hash_del_key(f->neigh, &k);
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
		c->stats.neigh_errors++;
		goto out;
	}
	if (old != NULL) {
		quiesce(f);
		rte_free(old);
	} else {
		c->stats.neighbours++;
	}
out:
	pthread_mutex_unlock(&c->lock);
}

/* ---- resync ---- */

static void fib_resync_begin(void *ctx)
{
	struct fib *f = ctx;
	pthread_mutex_lock(&f->ctl->lock);
	f->ctl->gen++;
	f->ctl->stats.resyncs++;
	pthread_mutex_unlock(&f->ctl->lock);
}

/* Drop everything the last dump did not set again. */
static void fib_resync_end(void *ctx)
{
	struct fib *f = ctx;
	struct fib_ctl *c = f->ctl;
	uint32_t gen = c->gen, it = 0, n_stale = 0, cap = 64;
	const void *key;
	void *data;
	void **stale = malloc(cap * sizeof(void *));
	struct fib_neigh_key *nk = NULL;
	struct fib_local_key *lk = NULL;

	if (stale == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	/* routes: drop stale candidates */
	while (rte_hash_iterate(c->prefixes, &key, &data, &it) >= 0) {
		struct prefix_rec *p = data;
		int before = p->n;
		for (int i = 0; i < p->n;)
			if (p->cand[i].gen != gen)
				p->cand[i] = p->cand[--p->n];
			else
				i++;
		if (p->n != before) {
			if (n_stale == cap) {
				void **s = realloc(stale, (cap *= 2) * sizeof(void *));
				if (s == NULL)
					break;
				stale = s;
			}
			stale[n_stale++] = p;
		}
	}
	for (uint32_t i = 0; i < n_stale; i++) {
		struct prefix_rec *p = stale[i];
		if (p->n == 0)
			prefix_remove(f, p);
		else
			nh_publish(f, p);
	}
	/* neighbours and local addresses */
	n_stale = 0;
	it = 0;
	nk = calloc(rte_hash_count(f->neigh) + 1, sizeof(*nk));
	while (nk && rte_hash_iterate(f->neigh, &key, &data, &it) >= 0)
		if (((struct fib_neigh *)data)->gen != gen)
			nk[n_stale++] = *(const struct fib_neigh_key *)key;
	for (uint32_t i = 0; i < n_stale; i++) {
		struct fib_neigh *n = NULL;
		rte_hash_lookup_data(f->neigh, &nk[i], (void **)&n);
		int32_t pos = rte_hash_del_key(f->neigh, &nk[i]);
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
		quiesce(f);
		if (pos >= 0)
			rte_hash_free_key_with_position(f->local, pos);
		c->stats.locals--;
	}
	/* links; a lost RTM_DELLINK of dp0 or the bridge must not leave next
	 * hops pointing at a dead device */
	for (int i = 0; i < c->n_links;)
		if (c->links[i].gen != gen)
			c->links[i] = c->links[--c->n_links];
		else
			i++;
	int exc = 0, br = 0;
	for (int i = 0; i < c->n_links; i++) {
		if (strcmp(c->links[i].name, c->exc_ifname) == 0)
			exc = c->links[i].ifindex;
		if (strcmp(c->links[i].name, c->bridge_ifname) == 0)
			br = c->links[i].ifindex;
	}
	if (exc != c->exc_ifindex || br != c->bridge_ifindex) {
		c->exc_ifindex = exc;
		c->bridge_ifindex = br;
		nh_rebuild_all(f);
	}
	pthread_mutex_unlock(&c->lock);
	free(stale);
	free(nk);
	free(lk);
}

const struct mirror_ops fib_mirror_ops = {
    .link = fib_link,
    .addr = fib_addr,
    .route = fib_route,
    .neigh = fib_neigh,
    .resync_begin = fib_resync_begin,
    .resync_end = fib_resync_end,
};

void fib_get_stats(struct fib *f, struct fib_stats *st)
{
	pthread_mutex_lock(&f->ctl->lock);
	*st = f->ctl->stats;
	pthread_mutex_unlock(&f->ctl->lock);
}

int fib_exc_ifindex(struct fib *f)
{
	return f->ctl->exc_ifindex;
}

int fib_bridge_ifindex(struct fib *f)
{
	return f->ctl->bridge_ifindex;
}

void fib_walk_routes(struct fib *f, fib_route_cb cb, void *arg)
{
	const void *key;
	void *data;
	uint32_t it = 0;

	pthread_mutex_lock(&f->ctl->lock);
	while (rte_hash_iterate(f->ctl->prefixes, &key, &data, &it) >= 0) {
		struct prefix_rec *p = data;
		cb(arg, best(p), f->nh[p->nh_idx]);
	}
	pthread_mutex_unlock(&f->ctl->lock);
}

void fib_walk_neigh(struct fib *f, fib_neigh_cb cb, void *arg)
{
	const void *key;
	void *data;
	uint32_t it = 0;

	pthread_mutex_lock(&f->ctl->lock);
	while (rte_hash_iterate(f->neigh, &key, &data, &it) >= 0)
		cb(arg, key, data);
	pthread_mutex_unlock(&f->ctl->lock);
}
