/* SPDX-License-Identifier: BSD-3-Clause */
/* The IPv4 lookup table of the FIB: DIR-24-8 (as rte_lpm and rte_fib's
 * DIR24_8), without a rule table or a rib of its own.
 *
 * Why not rte_lpm / rte_fib (DPDK 22.11): rte_lpm scans its rule array on
 * every add and delete (quadratic for a full table); rte_fib keeps an
 * rte_rib of 2 preallocated nodes per route at ~220 B each (~480 MiB for
 * 1M routes). Here the caller's prefix store (fib_prefixes.h) is the rule
 * table: a delete asks it for the covering prefix, so the table is 64 MiB
 * (tbl24) plus 1 KiB per /24 that holds longer prefixes.
 *
 * Entries are 32 bits: EXT | depth+1 (6 bits) | value (24 bits). depth+1 so
 * that 0 means "no route" and /0 can be stored. A tbl24 entry with EXT
 * points to a tbl8 group of 256 entries. Writers are single-threaded (the
 * FIB's control side); the reader sees each entry change atomically, a new
 * tbl8 group is filled before it is linked, and a group unlinked is reused
 * only after the caller's RCU grace period (fib4_reclaim). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_prefetch.h>

#define FIB4_EXT	 0x80000000u
#define FIB4_DEPTH_SHIFT 24
#define FIB4_DEPTH_MASK	 0x3f000000u
#define FIB4_VALUE_MASK	 0x00ffffffu
#define FIB4_MAX_VALUE	 FIB4_VALUE_MASK

struct fib4_table {
	uint32_t *tbl24; /* 1 << 24 entries */
	uint32_t *tbl8;	 /* n_groups × 256 entries */
	/* control side */
	uint32_t n_groups, n_used;
	uint32_t *free_groups; /* stack of free group numbers */
	uint32_t n_free;
	uint32_t *pending; /* unlinked, reusable after a grace period */
	uint32_t n_pending;
};

/* The value a route to DST has (0: none). Lock-free for the reader. */
static __rte_always_inline uint32_t fib4_lookup(const struct fib4_table *t,
						uint32_t dst /* host order */)
{
	uint32_t e = __atomic_load_n(&t->tbl24[dst >> 8], __ATOMIC_ACQUIRE);

	if (unlikely(e & FIB4_EXT))
		e = __atomic_load_n(&t->tbl8[((e & FIB4_VALUE_MASK) << 8) | (dst & 0xff)],
				    __ATOMIC_RELAXED);
	return e & FIB4_VALUE_MASK;
}

/* The tbl24 entry of DST, to prefetch a burst ahead. */
static __rte_always_inline void fib4_prefetch(const struct fib4_table *t, uint32_t dst)
{
	rte_prefetch0(&t->tbl24[dst >> 8]);
}

/* tbl8 groups: up to N_GROUPS /24s holding longer prefixes. socket: where
 * the tables live (rte_malloc). */
int fib4_create(struct fib4_table *t, uint32_t n_groups, int socket_id);
void fib4_free(struct fib4_table *t);
/* PREFIX/LEN (host order, masked) now leads to VALUE (1..FIB4_MAX_VALUE):
 * every address of the prefix whose current route is not more specific.
 * -ENOSPC: no tbl8 group left (nothing changed). */
int fib4_add(struct fib4_table *t, uint32_t prefix, uint8_t len, uint32_t value);
/* PREFIX/LEN removed: its addresses fall back to the covering route
 * COVER_LEN/COVER_VALUE (cover_value 0: none). */
void fib4_del(struct fib4_table *t, uint32_t prefix, uint8_t len, uint8_t cover_len,
	      uint32_t cover_value);
/* Groups unlinked since the last call may be reused: call after an RCU
 * grace period (fib4_add calls need_reclaim to know). */
void fib4_reclaim(struct fib4_table *t);
static inline bool fib4_need_reclaim(const struct fib4_table *t)
{
	return t->n_free == 0 && t->n_pending > 0;
}
/* Bytes of the tables. */
uint64_t fib4_mem(const struct fib4_table *t);
