/* SPDX-License-Identifier: BSD-3-Clause */
/* The FIB's prefix store (control side only): prefix → the kernel's route
 * candidates for it. One open-addressing table per family, preallocated
 * for the configured size, records inline (32 bytes for IPv4, 48 for
 * IPv6), load <= 0.85, linear probing with backward-shift deletion (no
 * tombstones, so a table that churns does not degrade). 1M IPv4 routes take
 * 39 MiB here, where an rte_hash of pointers to malloc'd records took ~110.
 *
 * Records move when another one is deleted: never keep a pointer across a
 * pfx_del; walks collect keys first. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* One route the kernel has for a prefix (one per table × metric). */
struct cand {
	uint32_t priority;
	uint16_t gen;  /* resync generation that last set it */
	uint16_t slot; /* next hop slot (fib.c) */
	uint8_t table; /* index in the FIB's table list, 0 = main */
	uint8_t type;  /* RTN_* */
	uint8_t protocol;
	uint8_t pad;
};

struct pfx_head {
	uint8_t len;
	uint8_t used;
	uint8_t n;	    /* candidates: c0, then more[0..n-2] */
	uint8_t cap_more;   /* room in more[] */
	uint16_t installed; /* slot in the lookup table, 0 = none (did not fit) */
	uint16_t pad;
};

struct pfx {
	struct pfx_head h;
	/* then: uint8_t dst[key_len]; struct cand c0; struct cand *more; */
};

struct pfx_store {
	uint8_t *mem;
	uint32_t cap;	  /* records */
	uint32_t count;	  /* used records */
	uint32_t max;	  /* count limit: keeps probes short (load <= 7/8) */
	uint16_t esz;	  /* record size */
	uint8_t klen;	  /* 4 or 16 */
	uint8_t more_off; /* offset of the more[] pointer (8-aligned) */
};

int pfx_store_init(struct pfx_store *s, int family, uint32_t max_entries);
void pfx_store_free(struct pfx_store *s);
uint64_t pfx_store_mem(const struct pfx_store *s);

static inline struct pfx *pfx_at(const struct pfx_store *s, uint32_t i)
{
	return (struct pfx *)(s->mem + (uint64_t)i * s->esz);
}
static inline uint8_t *pfx_dst(struct pfx *p)
{
	return (uint8_t *)(p + 1);
}
struct cand *pfx_cand(const struct pfx_store *s, struct pfx *p, int i);

/* DST (network order, klen bytes, masked) / LEN. */
struct pfx *pfx_find(const struct pfx_store *s, const uint8_t *dst, uint8_t len);
/* Find or insert (zeroed, h.used set). NULL: the store is full. */
struct pfx *pfx_get(struct pfx_store *s, const uint8_t *dst, uint8_t len, bool *created);
/* Remove P (frees its candidates); other records may move. */
void pfx_del(struct pfx_store *s, struct pfx *p);
/* Append a candidate (returns it) or NULL (no memory, or 255 already). */
struct cand *pfx_cand_add(const struct pfx_store *s, struct pfx *p);
/* Remove candidate I (the last one takes its place). */
void pfx_cand_del(const struct pfx_store *s, struct pfx *p, int i);
