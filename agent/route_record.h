/* SPDX-License-Identifier: BSD-3-Clause */
/* The record of runtime routes through the underlay device: a hash table
 * keyed like the kernel keys routes (family, dst, prefix length, metric,
 * table), and the parser that turns an RTM_NEWROUTE/RTM_DELROUTE message into
 * a key and a value. Pure data structure (the parser uses libnl-3's message
 * and attribute helpers): no sockets, no agentd state, so it is unit-tested
 * on its own (tests/unit/test_route_record.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

struct rr_key {
	uint8_t family; /* AF_INET | AF_INET6 */
	uint8_t plen;
	uint8_t pad[2]; /* zero: keys are hashed and compared as bytes */
	uint32_t table;
	uint32_t metric;
	uint8_t dst[16]; /* host bits cleared */
};

struct rr_val {
	uint8_t gw[16];
	bool has_gw;
	uint8_t protocol; /* RTPROT_* */
	uint8_t type;	  /* RTN_* */
};

struct rr_entry {
	struct rr_key key;
	struct rr_val val;
	uint32_t gen; /* rebuild generation (mark and sweep) */
	struct rr_entry *next;
};

struct rr_table {
	struct rr_entry **buckets;
	size_t n_buckets; /* power of two, 0 = not allocated yet */
	size_t count;
	uint32_t gen;	  /* generation new and updated entries get */
	uint64_t resizes; /* bumped on every rehash: invalidates iteration cursors */
	/* Incremental rehash: a table that doubles moves its entries a few
	 * buckets per operation instead of all at once (a million entries
	 * would stall the event loop for a few hundred ms). Old buckets below
	 * migrated are empty. */
	struct rr_entry **old;
	size_t n_old, migrated;
};

/* Initialise an empty table (no allocation until the first insert). */
void rr_init(struct rr_table *t);
void rr_free(struct rr_table *t);

/* Add or replace. Returns 1 (added), 0 (replaced) or -ENOMEM. */
int rr_set(struct rr_table *t, const struct rr_key *k, const struct rr_val *v);
/* Returns 0 or -ENOENT. */
int rr_del(struct rr_table *t, const struct rr_key *k);
const struct rr_entry *rr_get(const struct rr_table *t, const struct rr_key *k);
static inline size_t rr_count(const struct rr_table *t)
{
	return t->count;
}

/* Iteration by bucket: visits the entries of bucket *CURSOR onwards, calling
 * CB on each, until at least MAX entries were visited or the table ends.
 * Returns the number visited; *CURSOR is left at the next bucket (== n_buckets
 * when done). Entries of one bucket are always visited together, so the table
 * may change between two calls: a rehash (t->resizes changes) means the
 * caller restarts from 0. A rehash in progress is completed first. */
size_t rr_walk(struct rr_table *t, size_t *cursor, size_t max,
	       void (*cb)(const struct rr_entry *e, void *arg), void *arg);
/* Visit up to MAX entries, in no particular order, without completing a
 * rehash (status samples). Returns the number visited. */
size_t rr_sample(const struct rr_table *t, size_t max,
		 void (*cb)(const struct rr_entry *e, void *arg), void *arg);

/* Mark and sweep: rr_mark_begin() starts a generation, every rr_set() after
 * it marks its entry, rr_sweep() removes the entries not marked since.
 * Returns the number removed. */
void rr_mark_begin(struct rr_table *t);
size_t rr_sweep(struct rr_table *t);

/* Build a key from a prefix (host bits are cleared). */
void rr_key_make(struct rr_key *k, int family, const void *dst, int plen, uint32_t table,
		 uint32_t metric);

/* What an RTM_NEWROUTE/RTM_DELROUTE message says about the underlay. */
enum rr_verdict {
	RR_SKIP = 0,  /* not a route through OIF, or not one we keep */
	RR_THROUGH,   /* a unicast route through OIF: *k and *v filled */
	RR_ELSEWHERE, /* a unicast route through another device: *k filled */
};

/* Parse route message NLH without allocating (libnl's nlmsg_parse, in
 * place). OIF is the underlay device's ifindex. Routes of the main table
 * only; multipath routes count as through OIF when one of their nexthops is
 * (its gateway is kept). Returns RR_SKIP for malformed messages: a truncated
 * header, or an address that is not the family's size or a u32 attribute
 * (RTA_OIF, RTA_PRIORITY, RTA_TABLE) that is not 4 bytes. */
enum rr_verdict rr_parse_route(const struct nlmsghdr *nlh, int oif, struct rr_key *k,
			       struct rr_val *v);
