/* SPDX-License-Identifier: BSD-3-Clause */
/* DIR-16-8-8-... IPv6 lookup table driven by the FIB's own prefix store
 * (see fib6_table.h for why). The same rules as fib4_table.c, one level
 * deeper at a time: each level indexes bits [pos, pos + stride) of the
 * address, the first 16 bits wide, every other one 8. */
#include <errno.h>
#include <string.h>

#include "fib6_table.h"
#include "fib_mem.h"

#define GROUP_SIZE 256u
#define TBL16_SIZE 65536u

static inline uint32_t entry(uint8_t len, uint32_t value)
{
	return value == 0 ? 0 : ((uint32_t)(len + 1) << FIB6_DEPTH_SHIFT) | value;
}

static inline unsigned int depth1(uint32_t e) /* prefix length + 1, 0 = empty */
{
	return (e & FIB6_DEPTH_MASK) >> FIB6_DEPTH_SHIFT;
}

static size_t groups_bytes(uint32_t n_groups)
{
	return (size_t)n_groups * GROUP_SIZE * sizeof(uint32_t);
}

int fib6_create(struct fib6_table *t, uint32_t n_groups)
{
	memset(t, 0, sizeof(*t));
	if (n_groups == 0 || n_groups > FIB6_MAX_VALUE + 1u)
		return -EINVAL;
	t->n_groups = n_groups;
	/* fib_mem: resident only where written, so the group array (and its
	 * free lists) can be reserved generously */
	t->tbl16 = fib_mem_alloc(TBL16_SIZE * sizeof(uint32_t), true);
	t->groups = fib_mem_alloc(groups_bytes(n_groups), true);
	t->free_groups = fib_mem_alloc(n_groups * sizeof(uint32_t), true);
	t->pending = fib_mem_alloc(n_groups * sizeof(uint32_t), true);
	if (t->tbl16 == NULL || t->groups == NULL || t->free_groups == NULL || t->pending == NULL) {
		fib6_free(t);
		return -ENOMEM;
	}
	return 0;
}

void fib6_free(struct fib6_table *t)
{
	fib_mem_free(t->tbl16, TBL16_SIZE * sizeof(uint32_t));
	fib_mem_free(t->groups, groups_bytes(t->n_groups));
	fib_mem_free(t->free_groups, t->n_groups * sizeof(uint32_t));
	fib_mem_free(t->pending, t->n_groups * sizeof(uint32_t));
	memset(t, 0, sizeof(*t));
}

uint64_t fib6_mem(const struct fib6_table *t)
{
	return TBL16_SIZE * sizeof(uint32_t) +
	       (uint64_t)t->n_fresh * GROUP_SIZE * sizeof(uint32_t) +
	       2ull * t->n_fresh * sizeof(uint32_t);
}

void fib6_reclaim(struct fib6_table *t)
{
	while (t->n_pending > 0)
		t->free_groups[t->n_free++] = t->pending[--t->n_pending];
}

/* A group never used before only when none is free: the groups in use stay
 * packed at the start of the reservation. */
static int group_alloc(struct fib6_table *t, uint32_t *g)
{
	if (t->n_free > 0)
		*g = t->free_groups[--t->n_free];
	else if (t->n_fresh < t->n_groups)
		*g = t->n_fresh++;
	else
		return -ENOSPC;
	t->n_used++;
	return 0;
}

static inline uint32_t *group(const struct fib6_table *t, uint32_t ext)
{
	return &t->groups[(size_t)(ext & FIB6_VALUE_MASK) * GROUP_SIZE];
}

/* The index of PREFIX in the level at bit POS. */
static inline uint32_t level_index(const uint8_t *prefix, unsigned int pos)
{
	return pos == 0 ? (uint32_t)prefix[0] << 8 | prefix[1] : prefix[pos / 8];
}

static inline unsigned int level_stride(unsigned int pos)
{
	return pos == 0 ? 16 : 8;
}

/* The group under *SLOT (at bit CHILD_POS) is folded back into *SLOT when
 * its 256 entries are one route no longer than CHILD_POS; it waits for a
 * grace period before reuse. */
static void try_fold(struct fib6_table *t, uint32_t *slot, unsigned int child_pos)
{
	uint32_t cur = *slot, *grp, first;

	if (!(cur & FIB6_EXT))
		return;
	grp = group(t, cur);
	first = grp[0];
	if ((first & FIB6_EXT) || depth1(first) > child_pos + 1)
		return;
	for (uint32_t k = 1; k < GROUP_SIZE; k++)
		if (grp[k] != first)
			return;
	__atomic_store_n(slot, first, __ATOMIC_RELEASE);
	t->pending[t->n_pending++] = cur & FIB6_VALUE_MASK;
	t->n_used--;
}

/* E over *SLOT (covering up to bit CHILD_POS) and everything below it whose
 * route is not more specific than LEN. */
static void fill(const struct fib6_table *t, uint32_t *slot, unsigned int child_pos, uint8_t len,
		 uint32_t e)
{
	uint32_t cur = *slot;

	if (cur & FIB6_EXT) {
		uint32_t *grp = group(t, cur);
		for (uint32_t k = 0; k < GROUP_SIZE; k++)
			fill(t, &grp[k], child_pos + 8, len, e);
	} else if (depth1(cur) <= (unsigned int)len + 1u) {
		__atomic_store_n(slot, e, __ATOMIC_RELEASE);
	}
}

/* E over *SLOT and everything below it that belongs to LEN exactly. No
 * group folds here: one exists because a prefix longer than its position
 * lies under it, and that is not LEN. */
static void unfill(const struct fib6_table *t, uint32_t *slot, unsigned int child_pos, uint8_t len,
		   uint32_t e)
{
	uint32_t cur = *slot;

	if (cur & FIB6_EXT) {
		uint32_t *grp = group(t, cur);
		for (uint32_t k = 0; k < GROUP_SIZE; k++)
			unfill(t, &grp[k], child_pos + 8, len, e);
	} else if (depth1(cur) == (unsigned int)len + 1u) {
		__atomic_store_n(slot, e, __ATOMIC_RELEASE);
	}
}

static int add_at(struct fib6_table *t, uint32_t *arr, unsigned int pos, const uint8_t *prefix,
		  uint8_t len, uint32_t e)
{
	unsigned int end = pos + level_stride(pos);
	uint32_t idx = level_index(prefix, pos), *slot, cur;
	int ret;

	if (len <= end) {
		uint32_t n = 1u << (end - len);
		for (uint32_t i = idx; i < idx + n; i++)
			fill(t, &arr[i], end, len, e);
		return 0;
	}
	slot = &arr[idx];
	cur = *slot;
	if (!(cur & FIB6_EXT)) {
		uint32_t g, *grp;
		if (group_alloc(t, &g) < 0)
			return -ENOSPC;
		/* the group starts as what the slot led to, then is linked */
		grp = &t->groups[(size_t)g * GROUP_SIZE];
		for (uint32_t k = 0; k < GROUP_SIZE; k++)
			grp[k] = cur;
		cur = FIB6_EXT | g;
		__atomic_store_n(slot, cur, __ATOMIC_RELEASE);
	}
	ret = add_at(t, group(t, cur), end, prefix, len, e);
	if (ret < 0) /* groups made for nothing go back (lookups never changed) */
		try_fold(t, slot, end);
	return ret;
}

static void del_at(struct fib6_table *t, uint32_t *arr, unsigned int pos, const uint8_t *prefix,
		   uint8_t len, uint32_t e)
{
	unsigned int end = pos + level_stride(pos);
	uint32_t idx = level_index(prefix, pos), *slot;

	if (len <= end) {
		uint32_t n = 1u << (end - len);
		for (uint32_t i = idx; i < idx + n; i++)
			unfill(t, &arr[i], end, len, e);
		return;
	}
	slot = &arr[idx];
	if (!(*slot & FIB6_EXT))
		return;
	del_at(t, group(t, *slot), end, prefix, len, e);
	try_fold(t, slot, end);
}

int fib6_add(struct fib6_table *t, const uint8_t *prefix, uint8_t len, uint32_t value)
{
	if (len > 128 || value == 0 || value > FIB6_MAX_VALUE)
		return -EINVAL;
	return add_at(t, t->tbl16, 0, prefix, len, entry(len, value));
}

void fib6_del(struct fib6_table *t, const uint8_t *prefix, uint8_t len, uint8_t cover_len,
	      uint32_t cover_value)
{
	if (len > 128 || (cover_value != 0 && cover_len >= len))
		return;
	del_at(t, t->tbl16, 0, prefix, len, entry(cover_len, cover_value));
}
