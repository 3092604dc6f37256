/* SPDX-License-Identifier: BSD-3-Clause */
/* DIR-24-8 IPv4 lookup table driven by the FIB's own prefix store (see
 * fib4_table.h for why). */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>

#include "fib4_table.h"
#include "fib_mem.h"

#define GROUP_SIZE 256u

static inline uint32_t entry(uint8_t len, uint32_t value)
{
	return value == 0 ? 0 : ((uint32_t)(len + 1) << FIB4_DEPTH_SHIFT) | value;
}

static inline unsigned int depth1(uint32_t e) /* prefix length + 1, 0 = empty */
{
	return (e & FIB4_DEPTH_MASK) >> FIB4_DEPTH_SHIFT;
}

static size_t tbl24_bytes(void)
{
	return sizeof(uint32_t) << 24;
}

static size_t tbl8_bytes(uint32_t n_groups)
{
	return (size_t)n_groups * GROUP_SIZE * sizeof(uint32_t);
}

int fib4_create(struct fib4_table *t, uint32_t n_groups, int socket_id)
{
	memset(t, 0, sizeof(*t));
	if (n_groups == 0 || n_groups > FIB4_MAX_VALUE)
		return -EINVAL;
	t->n_groups = n_groups;
	/* the lookup tables in fib_mem (see why there) */
	t->tbl24 = fib_mem_alloc(tbl24_bytes(), false);
	t->tbl8 = fib_mem_alloc(tbl8_bytes(n_groups), false);
	t->free_groups = rte_malloc_socket("fib4_free", n_groups * sizeof(uint32_t), 0, socket_id);
	t->pending = rte_malloc_socket("fib4_pending", n_groups * sizeof(uint32_t), 0, socket_id);
	if (t->tbl24 == NULL || t->tbl8 == NULL || t->free_groups == NULL || t->pending == NULL) {
		fib4_free(t);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n_groups; i++)
		t->free_groups[t->n_free++] = n_groups - 1 - i;
	return 0;
}

void fib4_free(struct fib4_table *t)
{
	fib_mem_free(t->tbl24, tbl24_bytes());
	fib_mem_free(t->tbl8, tbl8_bytes(t->n_groups));
	rte_free(t->free_groups);
	rte_free(t->pending);
	memset(t, 0, sizeof(*t));
}

uint64_t fib4_mem(const struct fib4_table *t)
{
	return (sizeof(uint32_t) << 24) + (uint64_t)t->n_groups * GROUP_SIZE * sizeof(uint32_t) +
	       2ull * t->n_groups * sizeof(uint32_t);
}

void fib4_reclaim(struct fib4_table *t)
{
	while (t->n_pending > 0)
		t->free_groups[t->n_free++] = t->pending[--t->n_pending];
}

/* Write E over the entries of [FIRST, FIRST + N) of ARR whose route is not
 * more specific than LEN (depth + 1 <= LEN + 1). */
static void fill(uint32_t *arr, uint32_t first, uint32_t n, uint8_t len, uint32_t e)
{
	for (uint32_t i = first; i < first + n; i++)
		if (depth1(arr[i]) <= (unsigned int)len + 1u)
			__atomic_store_n(&arr[i], e, __ATOMIC_RELEASE);
}

/* Replace the entries of [FIRST, FIRST + N) that belong to LEN exactly. */
static void unfill(uint32_t *arr, uint32_t first, uint32_t n, uint8_t len, uint32_t e)
{
	for (uint32_t i = first; i < first + n; i++)
		if (depth1(arr[i]) == (unsigned int)len + 1u)
			__atomic_store_n(&arr[i], e, __ATOMIC_RELEASE);
}

int fib4_add(struct fib4_table *t, uint32_t prefix, uint8_t len, uint32_t value)
{
	uint32_t e = entry(len, value);

	if (len > 32 || value == 0 || value > FIB4_MAX_VALUE)
		return -EINVAL;
	if (len <= 24) {
		uint32_t first = prefix >> 8, n = 1u << (24 - len);
		for (uint32_t i = first; i < first + n; i++) {
			uint32_t cur = t->tbl24[i];
			if (cur & FIB4_EXT)
				fill(t->tbl8, (cur & FIB4_VALUE_MASK) * GROUP_SIZE, GROUP_SIZE, len,
				     e);
			else if (depth1(cur) <= (unsigned int)len + 1u)
				__atomic_store_n(&t->tbl24[i], e, __ATOMIC_RELEASE);
		}
		return 0;
	}
	uint32_t i24 = prefix >> 8, cur = t->tbl24[i24], g;
	if (!(cur & FIB4_EXT)) {
		if (t->n_free == 0)
			return -ENOSPC;
		g = t->free_groups[--t->n_free];
		/* the group starts as what the /24 led to, then is linked */
		for (uint32_t k = 0; k < GROUP_SIZE; k++)
			t->tbl8[g * GROUP_SIZE + k] = cur;
		__atomic_store_n(&t->tbl24[i24], FIB4_EXT | g, __ATOMIC_RELEASE);
		t->n_used++;
	} else {
		g = cur & FIB4_VALUE_MASK;
	}
	fill(t->tbl8, g * GROUP_SIZE + (prefix & 0xff), 1u << (32 - len), len, e);
	return 0;
}

/* A group whose 256 entries are one route of /24 or shorter is folded back
 * into its tbl24 entry; the group waits for a grace period. */
static void try_fold(struct fib4_table *t, uint32_t i24)
{
	uint32_t cur = t->tbl24[i24], g, first;

	if (!(cur & FIB4_EXT))
		return;
	g = cur & FIB4_VALUE_MASK;
	first = t->tbl8[g * GROUP_SIZE];
	if (depth1(first) > 25)
		return;
	for (uint32_t k = 1; k < GROUP_SIZE; k++)
		if (t->tbl8[g * GROUP_SIZE + k] != first)
			return;
	__atomic_store_n(&t->tbl24[i24], first, __ATOMIC_RELEASE);
	t->pending[t->n_pending++] = g;
	t->n_used--;
}

void fib4_del(struct fib4_table *t, uint32_t prefix, uint8_t len, uint8_t cover_len,
	      uint32_t cover_value)
{
	uint32_t e = entry(cover_len, cover_value);

	if (len > 32)
		return;
	if (len <= 24) {
		uint32_t first = prefix >> 8, n = 1u << (24 - len);
		for (uint32_t i = first; i < first + n; i++) {
			uint32_t cur = t->tbl24[i];
			if (cur & FIB4_EXT) {
				unfill(t->tbl8, (cur & FIB4_VALUE_MASK) * GROUP_SIZE, GROUP_SIZE,
				       len, e);
				try_fold(t, i);
			} else if (depth1(cur) == (unsigned int)len + 1u) {
				__atomic_store_n(&t->tbl24[i], e, __ATOMIC_RELEASE);
			}
		}
		return;
	}
	uint32_t i24 = prefix >> 8, cur = t->tbl24[i24];
	if (!(cur & FIB4_EXT))
		return;
	unfill(t->tbl8, (cur & FIB4_VALUE_MASK) * GROUP_SIZE + (prefix & 0xff), 1u << (32 - len),
	       len, e);
	try_fold(t, i24);
}
