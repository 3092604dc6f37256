/* SPDX-License-Identifier: BSD-3-Clause */
/* The IPv6 lookup table of the FIB: a multibit trie with a 16-bit first
 * stride and 8-bit strides below (DIR-16-8-8-...), without a rule table or
 * a rib of its own — the twin of fib4_table.h.
 *
 * Why not rte_fib6 (DPDK 22.11): its TRIE starts with a 24-bit stride
 * (64 MiB with 4-byte entries, touched at creation), keeps an rte_rib of
 * ~220 B nodes per route, and needs 4-byte entries to address more than
 * 32767 tbl8 groups: ~450 MiB for 200k Internet-like routes (measured,
 * bench/fib_apply). Here the caller's prefix store (fib_prefixes.h) is the
 * rule table, the first level is 256 KiB, and a group of 256 entries (1 KiB)
 * exists only below an 8-bit boundary that holds longer prefixes.
 *
 * Entries are 32 bits: EXT | depth+1 (8 bits) | value (23 bits). An entry
 * with EXT points to the group of the next 8 bits. Writers are
 * single-threaded; a new group is filled before it is linked, each entry
 * changes atomically, and a group unlinked is reused only after the caller's
 * RCU grace period (fib6_reclaim). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_prefetch.h>

#define FIB6_EXT	 0x80000000u
#define FIB6_DEPTH_SHIFT 23
#define FIB6_DEPTH_MASK	 0x7f800000u
#define FIB6_VALUE_MASK	 0x007fffffu
#define FIB6_MAX_VALUE	 FIB6_VALUE_MASK

struct fib6_table {
	uint32_t *tbl16;  /* 1 << 16 entries */
	uint32_t *groups; /* n_groups × 256 entries */
	/* control side */
	uint32_t n_groups, n_used;
	uint32_t n_fresh;      /* groups [0, n_fresh) have been used once */
	uint32_t *free_groups; /* stack of freed group numbers (< n_fresh) */
	uint32_t n_free;
	uint32_t *pending; /* unlinked, reusable after a grace period */
	uint32_t n_pending;
};

/* The value of the route to DST (16 bytes, network order; 0: none).
 * Lock-free for the reader. */
static __rte_always_inline uint32_t fib6_lookup(const struct fib6_table *t, const uint8_t *dst)
{
	uint32_t e = __atomic_load_n(&t->tbl16[(uint32_t)dst[0] << 8 | dst[1]], __ATOMIC_ACQUIRE);

	for (unsigned int b = 2; unlikely(e & FIB6_EXT) && b < 16; b++)
		e = __atomic_load_n(&t->groups[((e & FIB6_VALUE_MASK) << 8) | dst[b]],
				    __ATOMIC_ACQUIRE);
	return e & FIB6_VALUE_MASK;
}

static __rte_always_inline void fib6_prefetch(const struct fib6_table *t, const uint8_t *dst)
{
	rte_prefetch0(&t->tbl16[(uint32_t)dst[0] << 8 | dst[1]]);
}

/* Room for N_GROUPS groups (virtual memory: a group is touched when first
 * used). */
int fib6_create(struct fib6_table *t, uint32_t n_groups);
void fib6_free(struct fib6_table *t);
/* PREFIX/LEN (16 bytes, network order, masked) now leads to VALUE
 * (1..FIB6_MAX_VALUE) for every address of the prefix whose current route
 * is not more specific. -ENOSPC: no group left (the table may hold part of
 * the prefix: delete it or add it again after fib6_reclaim). */
int fib6_add(struct fib6_table *t, const uint8_t *prefix, uint8_t len, uint32_t value);
/* PREFIX/LEN removed: its addresses fall back to the covering route
 * COVER_LEN/COVER_VALUE (cover_value 0: none). */
void fib6_del(struct fib6_table *t, const uint8_t *prefix, uint8_t len, uint8_t cover_len,
	      uint32_t cover_value);
/* Groups unlinked since the last call may be reused: call after an RCU
 * grace period. */
void fib6_reclaim(struct fib6_table *t);
static inline bool fib6_need_reclaim(const struct fib6_table *t)
{
	return t->n_free == 0 && t->n_fresh == t->n_groups && t->n_pending > 0;
}
/* Bytes of memory the table has touched (the first level, every group used
 * so far, the free lists). */
uint64_t fib6_mem(const struct fib6_table *t);
