/* SPDX-License-Identifier: BSD-3-Clause */
/* The FIB's prefix store: open addressing, linear probing, backward-shift
 * deletion (see fib_prefixes.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_hash_crc.h>

#include "fib_mem.h"
#include "fib_prefixes.h"

/* record layout after the head: dst[klen], c0, more pointer */
static inline struct cand *c0_of(const struct pfx_store *s, struct pfx *p)
{
	return (struct cand *)((uint8_t *)(p + 1) + s->klen);
}
static inline struct cand **more_of(const struct pfx_store *s, struct pfx *p)
{
	return (struct cand **)((uint8_t *)p + s->more_off);
}

int pfx_store_init(struct pfx_store *s, int family, uint32_t max_entries)
{
	uint64_t cap = 16, bytes;

	memset(s, 0, sizeof(*s));
	s->klen = family == AF_INET ? 4 : 16;
	s->more_off =
	    (uint8_t)((sizeof(struct pfx_head) + s->klen + sizeof(struct cand) + 7) & ~7u);
	s->esz = (uint16_t)(s->more_off + sizeof(struct cand *));
	/* load <= 0.85, any size (no power of two: 1M routes in 39 MiB) */
	cap = (uint64_t)max_entries * 20 / 17 + 16;
	if (cap > (1ull << 31))
		return -EINVAL;
	bytes = cap * s->esz;
	/* fib_mem: zero, and only touched where records land */
	s->mem = fib_mem_alloc(bytes, false);
	if (s->mem == NULL)
		return -ENOMEM;
	s->cap = (uint32_t)cap;
	s->max = max_entries;
	return 0;
}

void pfx_store_free(struct pfx_store *s)
{
	if (s->mem == NULL)
		return;
	for (uint32_t i = 0; i < s->cap; i++) {
		struct pfx *p = pfx_at(s, i);
		if (p->h.used)
			free(*more_of(s, p));
	}
	fib_mem_free(s->mem, (uint64_t)s->cap * s->esz);
	s->mem = NULL;
}

uint64_t pfx_store_mem(const struct pfx_store *s)
{
	return (uint64_t)s->cap * s->esz;
}

static inline uint32_t home(const struct pfx_store *s, const uint8_t *dst, uint8_t len)
{
	uint64_t k[2] = {0, 0}; /* aligned: rte_hash_crc reads 8 bytes at a time */
	uint32_t h;

	memcpy(k, dst, s->klen);
	h = rte_hash_crc(k, s->klen, len * 0x9e3779b9u);
	return (uint32_t)(((uint64_t)h * s->cap) >> 32); /* h mod cap, without a division */
}

static inline bool same(const struct pfx_store *s, struct pfx *p, const uint8_t *dst, uint8_t len)
{
	return p->h.len == len && memcmp(pfx_dst(p), dst, s->klen) == 0;
}

struct pfx *pfx_find(const struct pfx_store *s, const uint8_t *dst, uint8_t len)
{
	for (uint32_t i = home(s, dst, len);; i = i + 1 == s->cap ? 0 : i + 1) {
		struct pfx *p = pfx_at(s, i);
		if (!p->h.used)
			return NULL;
		if (same(s, p, dst, len))
			return p;
	}
}

struct pfx *pfx_get(struct pfx_store *s, const uint8_t *dst, uint8_t len, bool *created)
{
	uint32_t i;

	*created = false;
	for (i = home(s, dst, len);; i = i + 1 == s->cap ? 0 : i + 1) {
		struct pfx *p = pfx_at(s, i);
		if (!p->h.used)
			break;
		if (same(s, p, dst, len))
			return p;
	}
	if (s->count >= s->max)
		return NULL;
	struct pfx *p = pfx_at(s, i);
	memset(p, 0, s->esz);
	p->h.used = 1;
	p->h.len = len;
	memcpy(pfx_dst(p), dst, s->klen);
	s->count++;
	*created = true;
	return p;
}

void pfx_del(struct pfx_store *s, struct pfx *p)
{
	uint32_t hole = (uint32_t)(((uint8_t *)p - s->mem) / s->esz);

	free(*more_of(s, p));
	memset(p, 0, s->esz);
	s->count--;
	/* backward shift: pull later records of the cluster whose home is at
	 * or before the hole into it, so lookups never stop early */
	for (uint32_t j = hole + 1 == s->cap ? 0 : hole + 1;; j = j + 1 == s->cap ? 0 : j + 1) {
		struct pfx *q = pfx_at(s, j);
		if (!q->h.used)
			return;
		uint32_t h = home(s, pfx_dst(q), q->h.len);
		/* is h cyclically outside (hole, j]? then q may move to hole */
		bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
		if (movable) {
			memcpy(pfx_at(s, hole), q, s->esz);
			memset(q, 0, s->esz);
			hole = j;
		}
	}
}

struct cand *pfx_cand(const struct pfx_store *s, struct pfx *p, int i)
{
	return i == 0 ? c0_of(s, p) : &(*more_of(s, p))[i - 1];
}

struct cand *pfx_cand_add(const struct pfx_store *s, struct pfx *p)
{
	struct cand **more = more_of(s, p);

	if (p->h.n == 255)
		return NULL;
	if (p->h.n == 0) {
		p->h.n = 1;
		memset(c0_of(s, p), 0, sizeof(struct cand));
		return c0_of(s, p);
	}
	if (p->h.n - 1 == p->h.cap_more) {
		int cap = p->h.cap_more ? p->h.cap_more * 2 : 2;
		if (cap > 254)
			cap = 254;
		struct cand *m = realloc(*more, sizeof(struct cand) * cap);
		if (m == NULL)
			return NULL;
		*more = m;
		p->h.cap_more = (uint8_t)cap;
	}
	struct cand *c = &(*more)[p->h.n - 1];
	p->h.n++;
	memset(c, 0, sizeof(*c));
	return c;
}

void pfx_cand_del(const struct pfx_store *s, struct pfx *p, int i)
{
	int last = p->h.n - 1;

	if (i != last)
		*pfx_cand(s, p, i) = *pfx_cand(s, p, last);
	p->h.n--;
	if (p->h.n <= 1 && *more_of(s, p) != NULL) {
		free(*more_of(s, p));
		*more_of(s, p) = NULL;
		p->h.cap_more = 0;
	}
}
