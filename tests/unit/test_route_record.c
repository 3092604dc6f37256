/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of agentd's underlay route record (agent/route_record.c): add,
 * replace, delete and count in the hash table through several rehashes,
 * chunked walks, mark and sweep, including while an incremental rehash is
 * half done, and the parser on RTM_NEWROUTE / RTM_DELROUTE messages built
 * with libnl (single path, multipath, other device, other table, attributes
 * of the wrong size). */
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
#include <netlink/attr.h>
#include <netlink/msg.h>

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

/* A route message built with libnl: rtmsg RTM, then attributes (nla_put*). */
static struct nl_msg *route_msg(int type, const struct rtmsg *rtm)
{
	struct nl_msg *m = nlmsg_alloc_simple(type, 0);

	assert_non_null(m);
	assert_int_equal(nlmsg_append(m, (void *)rtm, sizeof(*rtm), NLMSG_ALIGNTO), 0);
	return m;
}

static struct nl_msg *route4(int type, const char *dst, int plen, int oif, const char *gw,
			     uint32_t metric)
{
	struct rtmsg rtm = {.rtm_family = AF_INET,
			    .rtm_dst_len = plen,
			    .rtm_table = RT_TABLE_MAIN,
			    .rtm_protocol = RTPROT_BGP,
			    .rtm_type = RTN_UNICAST};
	struct nl_msg *m = route_msg(type, &rtm);
	uint32_t a;

	inet_pton(AF_INET, dst, &a);
	assert_int_equal(nla_put(m, RTA_DST, 4, &a), 0);
	assert_int_equal(nla_put_u32(m, RTA_TABLE, RT_TABLE_MAIN), 0);
	if (metric)
		assert_int_equal(nla_put_u32(m, RTA_PRIORITY, metric), 0);
	if (oif)
		assert_int_equal(nla_put_u32(m, RTA_OIF, oif), 0);
	if (gw) {
		inet_pton(AF_INET, gw, &a);
		assert_int_equal(nla_put(m, RTA_GATEWAY, 4, &a), 0);
	}
	return m;
}

static struct rtmsg *rtm_of(struct nl_msg *m)
{
	return nlmsg_data(nlmsg_hdr(m));
}

static void test_parse_single(void **state)
{
	struct nl_msg *m;
	struct rr_key k, want;
	struct rr_val v;
	uint32_t a;

	m = route4(RTM_NEWROUTE, "100.64.1.0", 24, 7, "192.168.100.2", 20);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_THROUGH);
	inet_pton(AF_INET, "100.64.1.0", &a);
	rr_key_make(&want, AF_INET, &a, 24, RT_TABLE_MAIN, 20);
	assert_memory_equal(&k, &want, sizeof(k));
	assert_true(v.has_gw);
	inet_pton(AF_INET, "192.168.100.2", &a);
	assert_memory_equal(v.gw, &a, 4);
	assert_int_equal(v.protocol, RTPROT_BGP);

	/* another device: the key, for a replace that moved the route away */
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 8, &k, &v), RR_ELSEWHERE);
	assert_memory_equal(&k, &want, sizeof(k));
	nlmsg_free(m);

	/* deletions parse the same */
	m = route4(RTM_DELROUTE, "100.64.1.0", 24, 7, NULL, 20);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_THROUGH);
	assert_false(v.has_gw);
	nlmsg_free(m);

	/* other tables, types, message types, truncated: skipped */
	m = route4(RTM_NEWROUTE, "100.64.1.0", 24, 7, NULL, 0);
	rtm_of(m)->rtm_type = RTN_LOCAL;
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_SKIP);
	nlmsg_free(m);
	m = route4(RTM_NEWROUTE, "100.64.1.0", 24, 7, NULL, 0);
	nlmsg_hdr(m)->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_SKIP);
	nlmsg_free(m);
	m = route4(RTM_NEWROUTE, "100.64.1.0", 24, 7, NULL, 0);
	nlmsg_hdr(m)->nlmsg_len = NLMSG_LENGTH(4);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_SKIP);
	nlmsg_free(m);
	{
		struct rtmsg rtm = {
		    .rtm_family = AF_INET, .rtm_table = 100, .rtm_type = RTN_UNICAST};
		m = route_msg(RTM_NEWROUTE, &rtm);
		assert_int_equal(nla_put_u32(m, RTA_OIF, 7), 0);
		assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_SKIP);
		nlmsg_free(m);
	}
}

/* Attributes of the wrong size (the nla_policy): the message is skipped. */
static void test_parse_bad_lengths(void **state)
{
	struct rtmsg rtm = {.rtm_family = AF_INET,
			    .rtm_dst_len = 24,
			    .rtm_table = RT_TABLE_MAIN,
			    .rtm_type = RTN_UNICAST};
	uint8_t addr[16] = {100, 64, 1, 0};
	uint16_t short_oif = 7;
	struct rr_key k;
	struct rr_val v;
	struct nl_msg *m;

	/* an IPv6-sized destination in an IPv4 route */
	m = route_msg(RTM_NEWROUTE, &rtm);
	assert_int_equal(nla_put(m, RTA_DST, 16, addr), 0);
	assert_int_equal(nla_put_u32(m, RTA_OIF, 7), 0);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_SKIP);
	nlmsg_free(m);
	/* a 2-byte RTA_OIF */
	m = route_msg(RTM_NEWROUTE, &rtm);
	assert_int_equal(nla_put(m, RTA_DST, 4, addr), 0);
	assert_int_equal(nla_put(m, RTA_OIF, sizeof(short_oif), &short_oif), 0);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_SKIP);
	nlmsg_free(m);
	/* a truncated gateway */
	m = route_msg(RTM_NEWROUTE, &rtm);
	assert_int_equal(nla_put(m, RTA_DST, 4, addr), 0);
	assert_int_equal(nla_put_u32(m, RTA_OIF, 7), 0);
	assert_int_equal(nla_put(m, RTA_GATEWAY, 3, addr), 0);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_SKIP);
	nlmsg_free(m);
	/* the same, well formed: through */
	m = route_msg(RTM_NEWROUTE, &rtm);
	assert_int_equal(nla_put(m, RTA_DST, 4, addr), 0);
	assert_int_equal(nla_put_u32(m, RTA_OIF, 7), 0);
	assert_int_equal(nla_put(m, RTA_GATEWAY, 4, addr), 0);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 7, &k, &v), RR_THROUGH);
	nlmsg_free(m);
}

static void test_parse_v6_multipath(void **state)
{
	struct rtmsg rtm = {.rtm_family = AF_INET6,
			    .rtm_dst_len = 64,
			    .rtm_table = RT_TABLE_MAIN,
			    .rtm_protocol = RTPROT_BGP,
			    .rtm_type = RTN_UNICAST};
	struct nl_msg *m;
	struct rr_key k;
	struct rr_val v;
	uint8_t dst[16], gw1[16], gw2[16];
	struct nlattr *mp;

	inet_pton(AF_INET6, "fd00:30::", dst);
	inet_pton(AF_INET6, "fe80::1", gw1);
	inet_pton(AF_INET6, "fe80::2", gw2);
	m = route_msg(RTM_NEWROUTE, &rtm);
	assert_int_equal(nla_put(m, RTA_DST, 16, dst), 0);
	/* two paths: ifindex 3 via fe80::1, ifindex 9 via fe80::2; each an
	 * rtnexthop followed by its attributes */
	mp = nla_nest_start(m, RTA_MULTIPATH);
	assert_non_null(mp);
	for (int i = 0; i < 2; i++) {
		struct rtnexthop *nh = nlmsg_reserve(m, sizeof(*nh), NLMSG_ALIGNTO);

		assert_non_null(nh);
		memset(nh, 0, sizeof(*nh));
		nh->rtnh_ifindex = i == 0 ? 3 : 9;
		assert_int_equal(nla_put(m, RTA_GATEWAY, 16, i == 0 ? gw1 : gw2), 0);
		nh->rtnh_len = (char *)nlmsg_tail(nlmsg_hdr(m)) - (char *)nh;
	}
	nla_nest_end(m, mp);

	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 9, &k, &v), RR_THROUGH);
	assert_int_equal(k.family, AF_INET6);
	assert_int_equal(k.plen, 64);
	assert_memory_equal(k.dst, dst, 16);
	assert_true(v.has_gw);
	assert_memory_equal(v.gw, gw2, 16);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 3, &k, &v), RR_THROUGH);
	assert_memory_equal(v.gw, gw1, 16);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 4, &k, &v), RR_ELSEWHERE);
	nlmsg_free(m);

	/* default route: no RTA_DST */
	rtm.rtm_dst_len = 0;
	rtm.rtm_protocol = 0;
	m = route_msg(RTM_NEWROUTE, &rtm);
	assert_int_equal(nla_put_u32(m, RTA_OIF, 4), 0);
	assert_int_equal(rr_parse_route(nlmsg_hdr(m), 4, &k, &v), RR_THROUGH);
	assert_int_equal(k.plen, 0);
	nlmsg_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_replace_delete), cmocka_unit_test(test_many),
	    cmocka_unit_test(test_incremental_rehash), cmocka_unit_test(test_mark_sweep),
	    cmocka_unit_test(test_parse_single),       cmocka_unit_test(test_parse_bad_lengths),
	    cmocka_unit_test(test_parse_v6_multipath),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
