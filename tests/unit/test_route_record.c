/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of agentd's underlay route record (agent/route_record.c): add,
 * replace, delete and count in the hash table through several rehashes,
 * chunked walks, mark and sweep, and the parser on crafted RTM_NEWROUTE /
 * RTM_DELROUTE messages (single path, multipath, other device, other table),
 * including while an incremental rehash is half done. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <sys/socket.h>

#include <linux/rtnetlink.h>

#include "route_record.h"

static void key4(struct rr_key *k, uint32_t addr, int plen, uint32_t metric)
{
	uint32_t be = htonl(addr);
	rr_key_make(k, AF_INET, &be, plen, RT_TABLE_MAIN, metric);
}

static void test_add_replace_delete(void **state)
{
	struct rr_table t;
	struct rr_key k, k2;
	struct rr_val v = {.protocol = RTPROT_BGP, .type = RTN_UNICAST}, v2 = v;
	const struct rr_entry *e;

	rr_init(&t);
	assert_int_equal(rr_count(&t), 0);
	assert_null(rr_get(&t, &k));
	key4(&k, 0x0a140000, 16, 0);
	assert_int_equal(rr_set(&t, &k, &v), 1);
	assert_int_equal(rr_count(&t), 1);
	v2.has_gw = true;
	v2.gw[0] = 192;
	assert_int_equal(rr_set(&t, &k, &v2), 0); /* replace */
	assert_int_equal(rr_count(&t), 1);
	e = rr_get(&t, &k);
	assert_non_null(e);
	assert_true(e->val.has_gw);
	assert_int_equal(e->val.gw[0], 192);

	/* host bits do not make another key; metric and plen do */
	key4(&k2, 0x0a14ffff, 16, 0);
	assert_memory_equal(&k, &k2, sizeof(k));
	key4(&k2, 0x0a140000, 16, 100);
	assert_int_equal(rr_set(&t, &k2, &v), 1);
	key4(&k2, 0x0a140000, 24, 0);
	assert_int_equal(rr_set(&t, &k2, &v), 1);
	assert_int_equal(rr_count(&t), 3);

	assert_int_equal(rr_del(&t, &k), 0);
	assert_int_equal(rr_del(&t, &k), -ENOENT);
	assert_null(rr_get(&t, &k));
	assert_int_equal(rr_count(&t), 2);
	rr_free(&t);
	assert_int_equal(rr_count(&t), 0);
}

static void count_cb(const struct rr_entry *e, void *arg)
{
	(*(size_t *)arg)++;
}

/* 200k routes: several rehashes, every one found, deletions exact, and a
 * chunked walk visits each entry once. */
static void test_many(void **state)
{
	const uint32_t n = 200000;
	struct rr_val v = {.protocol = RTPROT_STATIC, .type = RTN_UNICAST};
	struct rr_table t;
	struct rr_key k;
	size_t cursor = 0, seen = 0, calls = 0;

	rr_init(&t);
	for (uint32_t i = 0; i < n; i++) {
		key4(&k, 0x64400000 + i, 32, 0);
		assert_int_equal(rr_set(&t, &k, &v), 1);
	}
	assert_int_equal(rr_count(&t), n);
	assert_true(t.resizes > 5);
	for (uint32_t i = 0; i < n; i += 2) {
		key4(&k, 0x64400000 + i, 32, 0);
		assert_int_equal(rr_del(&t, &k), 0);
	}
	assert_int_equal(rr_count(&t), n / 2);
	for (uint32_t i = 0; i < n; i++) {
		key4(&k, 0x64400000 + i, 32, 0);
		if (i % 2)
			assert_non_null(rr_get(&t, &k));
		else
			assert_null(rr_get(&t, &k));
	}
	while (cursor < t.n_buckets) {
		size_t got = rr_walk(&t, &cursor, 1000, count_cb, &seen);
		assert_true(got >= 1000 || cursor == t.n_buckets);
		calls++;
	}
	assert_int_equal(seen, n / 2);
	assert_true(calls > 10);
	rr_free(&t);
}

/* A doubling moves a few buckets per operation: entries are found, replaced,
 * deleted, swept and sampled whether still in the old buckets or moved. */
static void test_incremental_rehash(void **state)
{
	struct rr_val v = {.protocol = RTPROT_STATIC, .type = RTN_UNICAST};
	struct rr_table t;
	struct rr_key k;
	size_t cursor = 0, seen = 0;
	uint32_t i;

	rr_init(&t);
	for (i = 0; i < 1025; i++) { /* the 1025th doubles the 1024 buckets */
		key4(&k, 0x0a000000 + i, 32, 0);
		assert_int_equal(rr_set(&t, &k, &v), 1);
	}
	assert_non_null(t.old);
	assert_true(t.migrated < t.n_old);
	for (i = 0; i < 1025; i++) {
		key4(&k, 0x0a000000 + i, 32, 0);
		assert_non_null(rr_get(&t, &k));
	}
	rr_mark_begin(&t);
	for (i = 0; i < 1025; i += 128) { /* replace 9 (each migrates a few buckets) */
		key4(&k, 0x0a000000 + i, 32, 0);
		assert_int_equal(rr_set(&t, &k, &v), 0);
	}
	assert_non_null(t.old); /* still migrating */
	assert_true(t.migrated < t.n_old);
	assert_int_equal(rr_sweep(&t), 1025 - 9);
	assert_int_equal(rr_count(&t), 9);
	assert_int_equal(rr_sample(&t, 10000, count_cb, &seen), 9);
	assert_int_equal(seen, 9);
	for (i = 0; i < 1025; i += 256) { /* delete 5 of them */
		key4(&k, 0x0a000000 + i, 32, 0);
		assert_int_equal(rr_del(&t, &k), 0);
	}
	assert_int_equal(rr_count(&t), 4);
	seen = 0;
	rr_walk(&t, &cursor, SIZE_MAX, count_cb, &seen); /* completes the rehash */
	assert_null(t.old);
	assert_int_equal(seen, 4);
	for (i = 0; i < 1025; i++) {
		key4(&k, 0x0a000000 + i, 32, 0);
		if (i % 128 == 0 && i % 256 != 0)
			assert_non_null(rr_get(&t, &k));
		else
			assert_null(rr_get(&t, &k));
	}
	rr_free(&t);
}

static void test_mark_sweep(void **state)
{
	struct rr_val v = {.protocol = RTPROT_STATIC, .type = RTN_UNICAST};
	struct rr_table t;
	struct rr_key k;

	rr_init(&t);
	for (uint32_t i = 0; i < 100; i++) {
		key4(&k, 0x0a000000 + (i << 8), 24, 0);
		rr_set(&t, &k, &v);
	}
	rr_mark_begin(&t);
	for (uint32_t i = 0; i < 100; i += 4) { /* the dump saw one in four */
		key4(&k, 0x0a000000 + (i << 8), 24, 0);
		assert_int_equal(rr_set(&t, &k, &v), 0);
	}
	key4(&k, 0x0b000000, 8, 0); /* and a new one */
	assert_int_equal(rr_set(&t, &k, &v), 1);
	assert_int_equal(rr_sweep(&t), 75);
	assert_int_equal(rr_count(&t), 26);
	key4(&k, 0x0a000100, 24, 0);
	assert_null(rr_get(&t, &k));
	key4(&k, 0x0a000400, 24, 0);
	assert_non_null(rr_get(&t, &k));
	rr_free(&t);
}

/* ---- parser -------------------------------------------------------------- */

struct msg {
	struct nlmsghdr nlh;
	struct rtmsg rtm;
	char attrs[256];
};

/* MSG: the whole struct msg (the compiler checks writes against it) */
static void put(void *msg, int type, const void *data, int len)
{
	struct nlmsghdr *nlh = msg;
	struct rtattr *rta = (struct rtattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static void route4(struct msg *m, int type, const char *dst, int plen, int oif, const char *gw,
		   uint32_t metric)
{
	uint32_t a;

	memset(m, 0, sizeof(*m));
	m->nlh.nlmsg_len = NLMSG_LENGTH(sizeof(m->rtm));
	m->nlh.nlmsg_type = type;
	m->rtm.rtm_family = AF_INET;
	m->rtm.rtm_dst_len = plen;
	m->rtm.rtm_table = RT_TABLE_MAIN;
	m->rtm.rtm_protocol = RTPROT_BGP;
	m->rtm.rtm_type = RTN_UNICAST;
	inet_pton(AF_INET, dst, &a);
	put(m, RTA_DST, &a, 4);
	a = RT_TABLE_MAIN;
	put(m, RTA_TABLE, &a, 4);
	if (metric)
		put(m, RTA_PRIORITY, &metric, 4);
	if (oif)
		put(m, RTA_OIF, &oif, 4);
	if (gw) {
		inet_pton(AF_INET, gw, &a);
		put(m, RTA_GATEWAY, &a, 4);
	}
}

static void test_parse_single(void **state)
{
	struct msg m;
	struct rr_key k, want;
	struct rr_val v;
	uint32_t a;

	route4(&m, RTM_NEWROUTE, "100.64.1.0", 24, 7, "192.168.100.2", 20);
	assert_int_equal(rr_parse_route(&m.nlh, 7, &k, &v), RR_THROUGH);
	inet_pton(AF_INET, "100.64.1.0", &a);
	rr_key_make(&want, AF_INET, &a, 24, RT_TABLE_MAIN, 20);
	assert_memory_equal(&k, &want, sizeof(k));
	assert_true(v.has_gw);
	inet_pton(AF_INET, "192.168.100.2", &a);
	assert_memory_equal(v.gw, &a, 4);
	assert_int_equal(v.protocol, RTPROT_BGP);

	/* another device: the key, for a replace that moved the route away */
	assert_int_equal(rr_parse_route(&m.nlh, 8, &k, &v), RR_ELSEWHERE);
	assert_memory_equal(&k, &want, sizeof(k));

	/* deletions parse the same */
	route4(&m, RTM_DELROUTE, "100.64.1.0", 24, 7, NULL, 20);
	assert_int_equal(rr_parse_route(&m.nlh, 7, &k, &v), RR_THROUGH);
	assert_false(v.has_gw);

	/* other tables, types, message types, truncated: skipped */
	route4(&m, RTM_NEWROUTE, "100.64.1.0", 24, 7, NULL, 0);
	m.rtm.rtm_type = RTN_LOCAL;
	assert_int_equal(rr_parse_route(&m.nlh, 7, &k, &v), RR_SKIP);
	route4(&m, RTM_NEWROUTE, "100.64.1.0", 24, 7, NULL, 0);
	m.nlh.nlmsg_type = RTM_NEWADDR;
	assert_int_equal(rr_parse_route(&m.nlh, 7, &k, &v), RR_SKIP);
	route4(&m, RTM_NEWROUTE, "100.64.1.0", 24, 7, NULL, 0);
	m.nlh.nlmsg_len = NLMSG_LENGTH(4);
	assert_int_equal(rr_parse_route(&m.nlh, 7, &k, &v), RR_SKIP);
	memset(&m, 0, sizeof(m));
	m.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(m.rtm));
	m.nlh.nlmsg_type = RTM_NEWROUTE;
	m.rtm.rtm_family = AF_INET;
	m.rtm.rtm_table = 100;
	m.rtm.rtm_type = RTN_UNICAST;
	a = 7;
	put(&m, RTA_OIF, &a, 4);
	assert_int_equal(rr_parse_route(&m.nlh, 7, &k, &v), RR_SKIP);
}

static void test_parse_v6_multipath(void **state)
{
	struct msg m;
	struct rr_key k;
	struct rr_val v;
	uint8_t dst[16], gw1[16], gw2[16];
	char mp[128];
	struct rtnexthop *nh;
	struct rtattr *ra;
	int off = 0;

	inet_pton(AF_INET6, "fd00:30::", dst);
	inet_pton(AF_INET6, "fe80::1", gw1);
	inet_pton(AF_INET6, "fe80::2", gw2);
	memset(&m, 0, sizeof(m));
	m.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(m.rtm));
	m.nlh.nlmsg_type = RTM_NEWROUTE;
	m.rtm.rtm_family = AF_INET6;
	m.rtm.rtm_dst_len = 64;
	m.rtm.rtm_table = RT_TABLE_MAIN;
	m.rtm.rtm_protocol = RTPROT_BGP;
	m.rtm.rtm_type = RTN_UNICAST;
	put(&m, RTA_DST, dst, 16);
	/* two paths: ifindex 3 via fe80::1, ifindex 9 via fe80::2 */
	memset(mp, 0, sizeof(mp));
	for (int i = 0; i < 2; i++) {
		nh = (struct rtnexthop *)(mp + off);
		nh->rtnh_ifindex = i == 0 ? 3 : 9;
		ra = RTNH_DATA(nh);
		ra->rta_type = RTA_GATEWAY;
		ra->rta_len = RTA_LENGTH(16);
		memcpy(RTA_DATA(ra), i == 0 ? gw1 : gw2, 16);
		nh->rtnh_len = sizeof(*nh) + RTA_ALIGN(ra->rta_len);
		off += RTNH_ALIGN(nh->rtnh_len);
	}
	put(&m, RTA_MULTIPATH, mp, off);

	assert_int_equal(rr_parse_route(&m.nlh, 9, &k, &v), RR_THROUGH);
	assert_int_equal(k.family, AF_INET6);
	assert_int_equal(k.plen, 64);
	assert_memory_equal(k.dst, dst, 16);
	assert_true(v.has_gw);
	assert_memory_equal(v.gw, gw2, 16);
	assert_int_equal(rr_parse_route(&m.nlh, 3, &k, &v), RR_THROUGH);
	assert_memory_equal(v.gw, gw1, 16);
	assert_int_equal(rr_parse_route(&m.nlh, 4, &k, &v), RR_ELSEWHERE);
	/* default route: no RTA_DST */
	memset(&m, 0, sizeof(m));
	m.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(m.rtm));
	m.nlh.nlmsg_type = RTM_NEWROUTE;
	m.rtm.rtm_family = AF_INET6;
	m.rtm.rtm_table = RT_TABLE_MAIN;
	m.rtm.rtm_type = RTN_UNICAST;
	off = 4;
	put(&m, RTA_OIF, &off, 4);
	assert_int_equal(rr_parse_route(&m.nlh, 4, &k, &v), RR_THROUGH);
	assert_int_equal(k.plen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_replace_delete), cmocka_unit_test(test_many),
	    cmocka_unit_test(test_incremental_rehash), cmocka_unit_test(test_mark_sweep),
	    cmocka_unit_test(test_parse_single),       cmocka_unit_test(test_parse_v6_multipath),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
