/* SPDX-License-Identifier: BSD-3-Clause */
/* The FIB's own tables against brute force: the IPv4 DIR-24-8 table
 * (fib4_table.c, driven the way fib.c drives it: covers from the prefix
 * store) and the prefix store (fib_prefixes.c: open addressing with
 * backward-shift deletion), through thousands of random adds, replaces and
 * deletes with long and short prefixes, tbl8 groups folded and reused; the
 * IPv6 DIR-16-8-8... table (fib6_table.c) the same way, groups nested. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>
#include <rte_memory.h>

#include "fib4_table.h"
#include "fib6_table.h"
#include "fib_prefixes.h"

#define N_PFX 3000

struct ref {
	uint32_t ip;
	uint8_t len;
	uint32_t value;
	bool on;
};
static struct ref ref[N_PFX];
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static uint32_t mask(uint8_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* brute force: the longest active prefix containing ip */
static uint32_t ref_lookup(uint32_t ip)
{
	int best = -1;
	for (int i = 0; i < N_PFX; i++)
		if (ref[i].on && (ip & mask(ref[i].len)) == ref[i].ip &&
		    (best < 0 || ref[i].len > ref[best].len))
			best = i;
	return best < 0 ? 0 : ref[best].value;
}

/* cover of ip/len among the active prefixes, as fib.c finds it */
static void ref_cover(uint32_t ip, uint8_t len, uint8_t *clen, uint32_t *cval)
{
	int best = -1;
	for (int i = 0; i < N_PFX; i++)
		if (ref[i].on && ref[i].len < len && (ip & mask(ref[i].len)) == ref[i].ip &&
		    (best < 0 || ref[i].len > ref[best].len))
			best = i;
	*clen = best < 0 ? 0 : ref[best].len;
	*cval = best < 0 ? 0 : ref[best].value;
}

static void check_all(struct fib4_table *t)
{
	for (int i = 0; i < N_PFX; i++) {
		/* first, last and a random address of every prefix */
		uint32_t span = ~mask(ref[i].len);
		uint32_t a[3] = {ref[i].ip, ref[i].ip | span, ref[i].ip | (rnd() & span)};
		for (int j = 0; j < 3; j++)
			assert_int_equal(fib4_lookup(t, a[j]), ref_lookup(a[j]));
	}
	for (int i = 0; i < 2000; i++) {
		uint32_t ip = 0x0a000000u | (rnd() & 0x00ffffffu);
		assert_int_equal(fib4_lookup(t, ip), ref_lookup(ip));
	}
}

static void test_fib4_random(void **state)
{
	struct fib4_table t;

	assert_int_equal(fib4_create(&t, 256, SOCKET_ID_ANY), 0);
	/* prefixes concentrated in 10.0.0.0/12 so that they overlap a lot */
	for (int i = 0; i < N_PFX; i++) {
		uint32_t r = rnd() % 100;
		uint8_t len = r < 40   ? 24
			      : r < 70 ? 25 + rnd() % 8
			      : r < 95 ? 12 + rnd() % 12
				       : rnd() % 12;
		ref[i].len = len;
		ref[i].ip = (0x0a000000u | (rnd() & 0x000fffffu)) & mask(len);
		ref[i].value = 1 + rnd() % 1000;
	}
	for (int round = 0; round < 6; round++) {
		for (int n = 0; n < 4000; n++) {
			int i = rnd() % N_PFX;
			bool dup = false;
			for (int j = 0; j < N_PFX && !dup; j++)
				dup = j != i && ref[j].on && ref[j].ip == ref[i].ip &&
				      ref[j].len == ref[i].len;
			if (dup)
				continue; /* one record per prefix, as the store has */
			if (ref[i].on && rnd() % 3 == 0) {
				ref[i].value = 1 + rnd() % 1000; /* replace */
				assert_int_equal(fib4_add(&t, ref[i].ip, ref[i].len, ref[i].value),
						 0);
			} else if (ref[i].on) {
				uint8_t cl;
				uint32_t cv;
				ref[i].on = false;
				ref_cover(ref[i].ip, ref[i].len, &cl, &cv);
				fib4_del(&t, ref[i].ip, ref[i].len, cl, cv);
			} else {
				int ret = fib4_add(&t, ref[i].ip, ref[i].len, ref[i].value);
				if (ret == -ENOSPC && fib4_need_reclaim(&t)) {
					fib4_reclaim(&t);
					ret = fib4_add(&t, ref[i].ip, ref[i].len, ref[i].value);
				}
				if (ret == -ENOSPC)
					continue; /* 256 groups: the caller would say "full" */
				assert_int_equal(ret, 0);
				ref[i].on = true;
			}
		}
		check_all(&t);
	}
	/* everything removed: empty table, every group folded back */
	for (int i = 0; i < N_PFX; i++)
		if (ref[i].on) {
			uint8_t cl;
			uint32_t cv;
			ref[i].on = false;
			ref_cover(ref[i].ip, ref[i].len, &cl, &cv);
			fib4_del(&t, ref[i].ip, ref[i].len, cl, cv);
		}
	check_all(&t);
	assert_int_equal(t.n_used, 0);
	fib4_free(&t);
}

static void test_fib4_default_route(void **state)
{
	struct fib4_table t;

	assert_int_equal(fib4_create(&t, 16, SOCKET_ID_ANY), 0);
	assert_int_equal(fib4_add(&t, 0, 0, 7), 0);
	assert_int_equal(fib4_add(&t, 0xc0a80100, 24, 8), 0);
	assert_int_equal(fib4_add(&t, 0xc0a80180, 25, 9), 0);
	assert_int_equal(fib4_lookup(&t, 0x08080808), 7);
	assert_int_equal(fib4_lookup(&t, 0xc0a80101), 8);
	assert_int_equal(fib4_lookup(&t, 0xc0a801ff), 9);
	fib4_del(&t, 0xc0a80100, 24, 0, 7); /* the /24 goes: the /0 covers */
	assert_int_equal(fib4_lookup(&t, 0xc0a80101), 7);
	assert_int_equal(fib4_lookup(&t, 0xc0a801ff), 9);
	fib4_del(&t, 0, 0, 0, 0);
	assert_int_equal(fib4_lookup(&t, 0x08080808), 0);
	assert_int_equal(fib4_lookup(&t, 0xc0a801ff), 9);
	fib4_free(&t);
}

/* ---- IPv6 ---- */

#define N_PFX6 2500

struct ref6 {
	uint8_t a[16];
	uint8_t len;
	uint32_t value;
	bool on;
};
static struct ref6 ref6[N_PFX6];

static void mask6(uint8_t *a, uint8_t len)
{
	for (int b = 0; b < 16; b++) {
		int keep = len - b * 8;
		a[b] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

static bool in6(const uint8_t *a, const struct ref6 *r)
{
	uint8_t m[16];
	memcpy(m, a, 16);
	mask6(m, r->len);
	return memcmp(m, r->a, 16) == 0;
}

static uint32_t ref6_lookup(const uint8_t *a)
{
	int best = -1;
	for (int i = 0; i < N_PFX6; i++)
		if (ref6[i].on && in6(a, &ref6[i]) && (best < 0 || ref6[i].len > ref6[best].len))
			best = i;
	return best < 0 ? 0 : ref6[best].value;
}

static void ref6_cover(int self, uint8_t *clen, uint32_t *cval)
{
	int best = -1;
	for (int i = 0; i < N_PFX6; i++)
		if (ref6[i].on && ref6[i].len < ref6[self].len && in6(ref6[self].a, &ref6[i]) &&
		    (best < 0 || ref6[i].len > ref6[best].len))
			best = i;
	*clen = best < 0 ? 0 : ref6[best].len;
	*cval = best < 0 ? 0 : ref6[best].value;
}

/* an address of 2001:db8::/32 with little entropy in the bytes that
 * prefixes of the test end in, so that they nest and overlap */
static void rnd6(uint8_t *a)
{
	static const uint8_t base[4] = {0x20, 0x01, 0x0d, 0xb8};
	memcpy(a, base, 4);
	for (int b = 4; b < 16; b++)
		a[b] = (uint8_t)(b < 8 ? rnd() % 4 : rnd());
}

static void check_all6(struct fib6_table *t)
{
	for (int i = 0; i < N_PFX6; i++) {
		uint8_t a[16], hi[16];
		rnd6(a);
		for (int b = 0; b < 16; b++) { /* random, first and last of the prefix */
			uint8_t m = 0xff;
			int keep = ref6[i].len - b * 8;
			m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
			a[b] = (uint8_t)((ref6[i].a[b] & m) | (a[b] & ~m));
			hi[b] = (uint8_t)(ref6[i].a[b] | ~m);
		}
		assert_int_equal(fib6_lookup(t, a), ref6_lookup(a));
		assert_int_equal(fib6_lookup(t, ref6[i].a), ref6_lookup(ref6[i].a));
		assert_int_equal(fib6_lookup(t, hi), ref6_lookup(hi));
	}
	for (int i = 0; i < 2000; i++) {
		uint8_t a[16];
		rnd6(a);
		assert_int_equal(fib6_lookup(t, a), ref6_lookup(a));
	}
}

/* The groups the table must have, no more: one per (8-bit boundary POS >=
 * 16, address bits above it) that some active prefix longer than POS lies
 * under. */
struct gkey {
	uint8_t a[16];
	uint8_t pos;
};
static int gkey_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct gkey));
}
static uint32_t groups_needed(void)
{
	static struct gkey k[N_PFX6 * 14];
	uint32_t n = 0, u = 0;
	for (int i = 0; i < N_PFX6; i++)
		for (int pos = 16; ref6[i].on && pos < ref6[i].len; pos += 8) {
			memset(&k[n], 0, sizeof(k[n]));
			memcpy(k[n].a, ref6[i].a, (size_t)pos / 8);
			k[n++].pos = (uint8_t)pos;
		}
	qsort(k, n, sizeof(k[0]), gkey_cmp);
	for (uint32_t i = 0; i < n; i++)
		u += i == 0 || gkey_cmp(&k[i], &k[i - 1]) != 0;
	return u;
}

static void del6(struct fib6_table *t, int i)
{
	uint8_t cl;
	uint32_t cv;
	ref6[i].on = false;
	ref6_cover(i, &cl, &cv);
	fib6_del(t, ref6[i].a, ref6[i].len, cl, cv);
}

static void test_fib6_random(void **state)
{
	struct fib6_table t;

	assert_int_equal(fib6_create(&t, 600), 0);
	for (int i = 0; i < N_PFX6; i++) {
		uint32_t r = rnd() % 100;
		uint8_t len = r < 35   ? 48
			      : r < 50 ? 64
			      : r < 60 ? 49 + rnd() % 80
			      : r < 85 ? 33 + rnd() % 15
			      : r < 95 ? 16 + rnd() % 17
				       : rnd() % 16;
		rnd6(ref6[i].a);
		mask6(ref6[i].a, len);
		ref6[i].len = len;
		ref6[i].value = 1 + rnd() % 1000;
	}
	for (int round = 0; round < 6; round++) {
		for (int n = 0; n < 3000; n++) {
			int i = rnd() % N_PFX6;
			bool dup = false;
			for (int j = 0; j < N_PFX6 && !dup; j++)
				dup = j != i && ref6[j].on && ref6[j].len == ref6[i].len &&
				      memcmp(ref6[j].a, ref6[i].a, 16) == 0;
			if (dup)
				continue;
			if (ref6[i].on && rnd() % 3 == 0) {
				ref6[i].value = 1 + rnd() % 1000;
				assert_int_equal(
				    fib6_add(&t, ref6[i].a, ref6[i].len, ref6[i].value), 0);
			} else if (ref6[i].on) {
				del6(&t, i);
			} else {
				int ret = fib6_add(&t, ref6[i].a, ref6[i].len, ref6[i].value);
				if (ret == -ENOSPC && fib6_need_reclaim(&t)) {
					fib6_reclaim(&t);
					ret = fib6_add(&t, ref6[i].a, ref6[i].len, ref6[i].value);
				}
				if (ret == -ENOSPC)
					continue; /* lookups unchanged: checked below */
				assert_int_equal(ret, 0);
				ref6[i].on = true;
			}
		}
		check_all6(&t);
		assert_int_equal(t.n_used, groups_needed()); /* folded as soon as unneeded */
	}
	for (int i = 0; i < N_PFX6; i++)
		if (ref6[i].on)
			del6(&t, i);
	check_all6(&t);
	assert_int_equal(t.n_used, 0); /* every group folded back */
	fib6_free(&t);
}

/* Few groups: an add that runs out half way down changes no lookup and
 * keeps no group. */
static void test_fib6_full(void **state)
{
	struct fib6_table t;
	uint8_t p32[16] = {0x20, 0x01, 0x0d, 0xb8}, h[16], q[16];

	memcpy(h, p32, 16);
	h[4] = 1;
	h[15] = 1;
	memcpy(q, p32, 16);
	q[5] = 2;
	assert_int_equal(fib6_create(&t, 4), 0);
	/* groups for bits 16-23 and 24-31 */
	assert_int_equal(fib6_add(&t, p32, 32, 5), 0);
	assert_int_equal(t.n_used, 2);
	assert_int_equal(fib6_add(&t, h, 128, 6), -ENOSPC); /* would need 12 more */
	assert_int_equal(t.n_used, 2);
	assert_int_equal(fib6_lookup(&t, h), 5);
	fib6_reclaim(&t);			     /* (the caller's grace period) */
	assert_int_equal(fib6_add(&t, q, 48, 7), 0); /* two more: 32-39, 40-47 */
	assert_int_equal(t.n_used, 4);
	assert_int_equal(fib6_lookup(&t, q), 7);
	assert_int_equal(fib6_lookup(&t, h), 5);
	fib6_del(&t, q, 48, 32, 5);
	assert_int_equal(fib6_lookup(&t, q), 5);
	assert_int_equal(t.n_used, 2);
	fib6_del(&t, p32, 32, 0, 0);
	assert_int_equal(fib6_lookup(&t, p32), 0);
	assert_int_equal(t.n_used, 0);
	fib6_free(&t);
}

static void test_prefix_store(void **state)
{
	struct pfx_store s;
	static uint32_t keys[20000];
	static bool on[20000];
	bool created;

	assert_int_equal(pfx_store_init(&s, AF_INET, 20000), 0);
	for (int i = 0; i < 20000; i++)
		keys[i] = htonl(rnd() & 0xffffff00u);
	for (int n = 0; n < 200000; n++) {
		int i = rnd() % 20000;
		struct pfx *p = pfx_find(&s, (uint8_t *)&keys[i], 24);
		if (on[i]) {
			assert_non_null(p);
			if (rnd() % 2) {
				pfx_del(&s, p);
				on[i] = false;
			} else {
				assert_non_null(pfx_cand_add(&s, p)); /* grows more[] */
			}
		} else if (p == NULL) { /* (a duplicate key may already be on) */
			p = pfx_get(&s, (uint8_t *)&keys[i], 24, &created);
			assert_non_null(p);
			assert_true(created);
			assert_non_null(pfx_cand_add(&s, p));
			pfx_cand(&s, p, 0)->priority = (uint32_t)i;
			on[i] = true;
		}
	}
	uint32_t count = 0;
	for (int i = 0; i < 20000; i++) {
		struct pfx *p = pfx_find(&s, (uint8_t *)&keys[i], 24);
		if (on[i]) {
			assert_non_null(p);
			count++;
		}
	}
	assert_int_equal(count, s.count);
	pfx_store_free(&s);
}

int main(void)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=fibtables%d", getpid());
	char *eal[] = {"test_fib_tables",
		       "-l",
		       "0",
		       "--no-huge",
		       "-m",
		       "256",
		       "--no-pci",
		       "--no-shconf",
		       "--no-telemetry",
		       "--log-level=lib.eal:error",
		       prefix};
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fib4_random),	 cmocka_unit_test(test_fib4_default_route),
	    cmocka_unit_test(test_fib6_random),	 cmocka_unit_test(test_fib6_full),
	    cmocka_unit_test(test_prefix_store),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove the EAL runtime dir\n");
	return ret;
}
