/* SPDX-License-Identifier: BSD-3-Clause */
/* Hash table of underlay routes and the route message parser (see
 * route_record.h). Separate chaining: an entry never moves between buckets
 * except on a rehash, which lets a replay walk the table in chunks between
 * which events change it. The rehash is incremental (MIGRATE_STEP old
 * buckets per insert or delete): measured on the lab VM, doubling 512k
 * entries at once took 314 ms, a stall agentctl would see. The parser
 * validates and indexes a message's attributes with libnl (nlmsg_parse and
 * a length policy) in place: no allocation per message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "route_record.h"

#define RR_MIN_BUCKETS 1024

void rr_init(struct rr_table *t)
{
	memset(t, 0, sizeof(*t));
}

static void chain_free(struct rr_entry *e)
{
	struct rr_entry *next;

	for (; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
}

void rr_free(struct rr_table *t)
{
	for (size_t b = 0; b < t->n_buckets; b++)
		chain_free(t->buckets[b]);
	for (size_t b = t->migrated; b < t->n_old; b++)
		chain_free(t->old[b]);
	free(t->buckets);
	free(t->old);
	rr_init(t);
}

/* FNV-1a over the key bytes, then a final mix: dst addresses of a BGP table
 * differ mostly in a few middle bytes. */
static uint64_t rr_hash(const struct rr_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

#define MIGRATE_STEP 16

/* Move up to MAX old buckets (SIZE_MAX: all) into the new table. */
static void rr_migrate(struct rr_table *t, size_t max)
{
	for (size_t n = 0; t->old != NULL && n < max; n++) {
		struct rr_entry *e, *next;

		if (t->migrated == t->n_old) {
			free(t->old);
			t->old = NULL;
			t->n_old = t->migrated = 0;
			break;
		}
		for (e = t->old[t->migrated]; e != NULL; e = next) {
			size_t j = rr_hash(&e->key) & (t->n_buckets - 1);
			next = e->next;
			e->next = t->buckets[j];
			t->buckets[j] = e;
		}
		t->old[t->migrated++] = NULL;
	}
}

static int rr_grow(struct rr_table *t)
{
	size_t n = t->n_buckets ? t->n_buckets * 2 : RR_MIN_BUCKETS;
	struct rr_entry **b;

	rr_migrate(t, SIZE_MAX); /* a previous doubling not over yet (rare) */
	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	t->old = t->buckets;
	t->n_old = t->n_buckets;
	t->migrated = 0;
	t->buckets = b;
	t->n_buckets = n;
	t->resizes++;
	if (t->old == NULL)
		t->n_old = 0;
	return 0;
}

static struct rr_entry **chain_find(struct rr_entry **pp, const struct rr_key *k)
{
	for (; *pp != NULL; pp = &(*pp)->next)
		if (memcmp(&(*pp)->key, k, sizeof(*k)) == 0)
			return pp;
	return NULL;
}

static struct rr_entry **rr_find(const struct rr_table *t, const struct rr_key *k)
{
	uint64_t h;

	if (t->n_buckets == 0)
		return NULL;
	h = rr_hash(k);
	if (t->old != NULL && (h & (t->n_old - 1)) >= t->migrated) {
		struct rr_entry **pp = chain_find(&t->old[h & (t->n_old - 1)], k);
		if (pp != NULL)
			return pp;
	}
	return chain_find(&t->buckets[h & (t->n_buckets - 1)], k);
}

int rr_set(struct rr_table *t, const struct rr_key *k, const struct rr_val *v)
{
	struct rr_entry **pp, *e;
	size_t b;

	rr_migrate(t, MIGRATE_STEP);
	pp = rr_find(t, k);
	if (pp != NULL) {
		(*pp)->val = *v;
		(*pp)->gen = t->gen;
		return 0;
	}
	/* load factor 1: chains stay short, buckets cost 8 bytes per route */
	if (t->count >= t->n_buckets && rr_grow(t) < 0)
		return -ENOMEM;
	e = malloc(sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->key = *k;
	e->val = *v;
	e->gen = t->gen;
	b = rr_hash(k) & (t->n_buckets - 1);
	e->next = t->buckets[b];
	t->buckets[b] = e;
	t->count++;
	return 1;
}

int rr_del(struct rr_table *t, const struct rr_key *k)
{
	struct rr_entry **pp, *e;

	rr_migrate(t, MIGRATE_STEP);
	pp = rr_find(t, k);
	if (pp == NULL)
		return -ENOENT;
	e = *pp;
	*pp = e->next;
	free(e);
	t->count--;
	return 0;
}

const struct rr_entry *rr_get(const struct rr_table *t, const struct rr_key *k)
{
	struct rr_entry **pp = rr_find(t, k);

	return pp != NULL ? *pp : NULL;
}

size_t rr_walk(struct rr_table *t, size_t *cursor, size_t max,
	       void (*cb)(const struct rr_entry *e, void *arg), void *arg)
{
	size_t n = 0;

	rr_migrate(t, SIZE_MAX);
	while (*cursor < t->n_buckets && n < max) {
		for (const struct rr_entry *e = t->buckets[*cursor]; e != NULL; e = e->next) {
			cb(e, arg);
			n++;
		}
		(*cursor)++;
	}
	return n;
}

size_t rr_sample(const struct rr_table *t, size_t max,
		 void (*cb)(const struct rr_entry *e, void *arg), void *arg)
{
	size_t n = 0;

	for (size_t b = t->migrated; b < t->n_old && n < max; b++)
		for (const struct rr_entry *e = t->old[b]; e != NULL && n < max; e = e->next, n++)
			cb(e, arg);
	for (size_t b = 0; b < t->n_buckets && n < max; b++)
		for (const struct rr_entry *e = t->buckets[b]; e != NULL && n < max;
		     e = e->next, n++)
			cb(e, arg);
	return n;
}

void rr_mark_begin(struct rr_table *t)
{
	t->gen++;
}

static size_t chain_sweep(struct rr_table *t, struct rr_entry **pp)
{
	size_t removed = 0;

	while (*pp != NULL) {
		struct rr_entry *e = *pp;
		if (e->gen == t->gen) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		free(e);
		t->count--;
		removed++;
	}
	return removed;
}

size_t rr_sweep(struct rr_table *t)
{
	size_t removed = 0;

	for (size_t b = t->migrated; b < t->n_old; b++)
		removed += chain_sweep(t, &t->old[b]);
	for (size_t b = 0; b < t->n_buckets; b++)
		removed += chain_sweep(t, &t->buckets[b]);
	return removed;
}

void rr_key_make(struct rr_key *k, int family, const void *dst, int plen, uint32_t table,
		 uint32_t metric)
{
	int alen = family == AF_INET6 ? 16 : 4;

	memset(k, 0, sizeof(*k));
	k->family = family;
	k->plen = plen;
	k->table = table;
	k->metric = metric;
	if (dst != NULL)
		memcpy(k->dst, dst, alen);
	for (int i = 0; i < alen; i++) {
		int keep = plen - 8 * i;
		if (keep <= 0)
			k->dst[i] = 0;
		else if (keep < 8)
			k->dst[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

/* Attribute lengths, checked by nlmsg_parse(): exactly one address of the
 * family for the destination and the gateway, u32 for the rest. */
#define ROUTE_POLICY(alen)                                                                         \
	{                                                                                          \
		[RTA_DST] = {.type = NLA_UNSPEC, .minlen = (alen), .maxlen = (alen)},              \
		[RTA_GATEWAY] = {.type = NLA_UNSPEC, .minlen = (alen), .maxlen = (alen)},          \
		[RTA_OIF] = {.type = NLA_U32, .minlen = 4, .maxlen = 4},                           \
		[RTA_PRIORITY] = {.type = NLA_U32, .minlen = 4, .maxlen = 4},                      \
		[RTA_TABLE] = {.type = NLA_U32, .minlen = 4, .maxlen = 4},                         \
		[RTA_MULTIPATH] = {.type = NLA_UNSPEC, .minlen = sizeof(struct rtnexthop)},        \
	}

static const struct nla_policy route_policy4[RTA_MAX + 1] = ROUTE_POLICY(4);
static const struct nla_policy route_policy6[RTA_MAX + 1] = ROUTE_POLICY(16);

/* The gateway of the nexthop of multipath attribute MP through OIF, if any
 * nexthop is: one rtnexthop per path, each followed by its own attributes.
 * Returns whether one is through OIF. */
static bool mp_through(const struct nlattr *mp, int oif, const struct nla_policy *policy, int alen,
		       struct rr_val *v)
{
	const struct rtnexthop *nh = nla_data(mp);
	int mlen = nla_len(mp);

	while (mlen >= (int)sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) && nh->rtnh_len <= mlen) {
		if (nh->rtnh_ifindex == oif) {
			struct nlattr *tb[RTA_MAX + 1];

			if (nla_parse(tb, RTA_MAX, (struct nlattr *)RTNH_DATA(nh),
				      nh->rtnh_len - sizeof(*nh), policy) == 0 &&
			    tb[RTA_GATEWAY] != NULL) {
				memcpy(v->gw, nla_data(tb[RTA_GATEWAY]), alen);
				v->has_gw = true;
			}
			return true;
		}
		mlen -= RTNH_ALIGN(nh->rtnh_len);
		nh = RTNH_NEXT(nh);
	}
	return false;
}

enum rr_verdict rr_parse_route(const struct nlmsghdr *nlh, int oif, struct rr_key *k,
			       struct rr_val *v)
{
	/* libnl takes non-const headers but does not write through them */
	struct nlmsghdr *hdr = (struct nlmsghdr *)nlh;
	struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	uint32_t table, metric = 0;
	int alen, route_oif = 0;
	bool through = false;

	/* the cheap checks first: a message that is not a unicast route stops
	 * here, before any attribute is read */
	if ((nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) ||
	    !nlmsg_valid_hdr(nlh, sizeof(*rtm)))
		return RR_SKIP;
	rtm = nlmsg_data(nlh);
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return RR_SKIP;
	alen = rtm->rtm_family == AF_INET6 ? 16 : 4;
	if (rtm->rtm_type != RTN_UNICAST || rtm->rtm_dst_len > alen * 8 ||
	    (rtm->rtm_flags & RTM_F_CLONED))
		return RR_SKIP;
	if (nlmsg_parse(hdr, sizeof(*rtm), tb, RTA_MAX,
			alen == 16 ? route_policy6 : route_policy4) < 0)
		return RR_SKIP; /* an attribute of the wrong size */
	table = tb[RTA_TABLE] != NULL ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table != RT_TABLE_MAIN)
		return RR_SKIP;
	if (tb[RTA_OIF] != NULL)
		route_oif = (int)nla_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PRIORITY] != NULL)
		metric = nla_get_u32(tb[RTA_PRIORITY]);
	memset(v, 0, sizeof(*v));
	if (route_oif == oif && oif > 0) {
		through = true;
		if (tb[RTA_GATEWAY] != NULL) {
			memcpy(v->gw, nla_data(tb[RTA_GATEWAY]), alen);
			v->has_gw = true;
		}
	} else if (tb[RTA_MULTIPATH] != NULL && oif > 0) {
		through = mp_through(tb[RTA_MULTIPATH], oif,
				     alen == 16 ? route_policy6 : route_policy4, alen, v);
	}
	rr_key_make(k, rtm->rtm_family, tb[RTA_DST] != NULL ? nla_data(tb[RTA_DST]) : NULL,
		    rtm->rtm_dst_len, table, metric);
	if (!through)
		return RR_ELSEWHERE;
	v->protocol = rtm->rtm_protocol;
	v->type = rtm->rtm_type;
	return RR_THROUGH;
}
