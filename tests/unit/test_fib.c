/* SPDX-License-Identifier: BSD-3-Clause */
/* The dataplane FIB fed through the mirror interface: wire→VM and VM→wire
 * resolution, punt reasons, route candidates across tables, neighbour
 * updates, resync dropping stale entries, IPv6 — and a reader lcore looking
 * up concurrently with updates (RCU: never a freed or torn entry). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "fib.h"

#define BR  10
#define DP0 20
static const uint8_t br_mac[6] = {0x02, 0xbb, 0, 0, 0, 1};
static const uint8_t dp0_mac[6] = {0x02, 0xdd, 0, 0, 0, 1};
static const uint8_t vm1_mac[6] = {0x02, 0x11, 0, 0, 0, 1};
static const uint8_t wire_mac[6] = {0x02, 0xee, 0, 0, 0, 1};
static const uint8_t wire_mac2[6] = {0x02, 0xee, 0, 0, 0, 2};

static void link_(struct fib *f, int ifindex, const char *name, const uint8_t *mac)
{
	struct mirror_link l = {.ifindex = ifindex, .has_mac = true, .up = true};
	snprintf(l.name, sizeof(l.name), "%s", name);
	memcpy(l.mac, mac, 6);
	fib_mirror_ops.link(f, false, &l);
}

static void route(struct fib *f, bool del, const char *dst, int len, const char *gw, int oif,
		  uint32_t table, uint32_t prio)
{
	struct mirror_route r = {
	    .dst_len = len, .table = table, .type = RTN_UNICAST, .oif = oif, .priority = prio};
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(r.family, dst, r.dst);
	if (gw) {
		inet_pton(r.family, gw, r.gw);
		r.has_gw = true;
	}
	fib_mirror_ops.route(f, del, &r);
}

static void neigh(struct fib *f, bool del, const char *ip, int ifindex, const uint8_t *mac)
{
	struct mirror_neigh n = {.ifindex = ifindex, .has_lladdr = true, .state = NUD_REACHABLE};
	n.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(n.family, ip, n.addr);
	memcpy(n.mac, mac, 6);
	fib_mirror_ops.neigh(f, del, &n);
}

static void addr(struct fib *f, bool del, const char *ip, int ifindex)
{
	struct mirror_addr a = {.ifindex = ifindex};
	a.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(a.family, ip, a.addr);
	fib_mirror_ops.addr(f, del, &a);
}

static void route_mp(struct fib *f, bool del, const char *dst, int len, int n, const char **gws,
		     int oif)
{
	struct mirror_route r = {
	    .dst_len = len, .table = RT_TABLE_MAIN, .type = RTN_UNICAST, .multipath = true};
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(r.family, dst, r.dst);
	for (int i = 0; i < n; i++) {
		r.paths[i].oif = oif;
		r.paths[i].has_gw = true;
		r.paths[i].gw_family = (uint8_t)r.family;
		r.paths[i].weight = 1;
		inet_pton(r.family, gws[i], r.paths[i].gw);
	}
	r.n_paths = n;
	r.oif = oif;
	fib_mirror_ops.route(f, del, &r);
}

static void route_nhid(struct fib *f, bool del, const char *dst, int len, uint32_t id)
{
	struct mirror_route r = {
	    .dst_len = len, .table = RT_TABLE_MAIN, .type = RTN_UNICAST, .nh_id = id};
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(r.family, dst, r.dst);
	fib_mirror_ops.route(f, del, &r);
}

static void route_type(struct fib *f, bool del, const char *dst, int len, uint8_t type)
{
	struct mirror_route r = {.dst_len = len, .table = RT_TABLE_MAIN, .type = type};
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(r.family, dst, r.dst);
	fib_mirror_ops.route(f, del, &r);
}

static void nexthop(struct fib *f, bool del, uint32_t id, const char *gw, int oif)
{
	struct mirror_nexthop nh = {.id = id, .oif = oif};
	if (gw) {
		nh.family = strchr(gw, ':') ? AF_INET6 : AF_INET;
		inet_pton(nh.family, gw, nh.gw);
		nh.has_gw = true;
	}
	fib_mirror_ops.nexthop(f, del, &nh);
}

static void nh_group(struct fib *f, uint32_t id, int n, const uint32_t *members)
{
	struct mirror_nexthop nh = {.id = id, .n_grp = n};
	for (int i = 0; i < n; i++) {
		nh.grp[i].id = members[i];
		nh.grp[i].weight = 1;
	}
	fib_mirror_ops.nexthop(f, false, &nh);
}

static uint32_t flow_hash;

static enum fib_punt resolve(struct fib *f, const char *ip, enum fib_nh_kind want,
			     const uint8_t **dmac, const uint8_t **smac)
{
	uint8_t a[16];
	const struct rte_ether_addr *d = NULL, *s = NULL;
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	enum fib_punt p;

	inet_pton(family, ip, a);
	p = fib_resolve(f, family, a, flow_hash, want, &d, &s);
	if (dmac)
		*dmac = d ? d->addr_bytes : NULL;
	if (smac)
		*smac = s ? s->addr_bytes : NULL;
	return p;
}

static void lab_announce(struct fib *f, bool wire_neigh);

static struct fib *lab_fib(void)
{
	struct fib_config cfg = {.lpm_rules = 1024,
				 .lpm6_rules = 1024,
				 .neighbours = 1024,
				 .exc_ifname = "dp0",
				 .bridge_ifname = "br-vm"};
	static int n;
	struct fib *f;

	(void)n;
	assert_int_equal(fib_create(&f, &cfg, SOCKET_ID_ANY), 0);
	lab_announce(f, true);
	return f;
}

/* What the kernel of lab_fib() says (a dump), the wire's neighbours or not. */
static void lab_announce(struct fib *f, bool wire_neigh)
{
	link_(f, BR, "br-vm", br_mac);
	link_(f, DP0, "dp0", dp0_mac);
	route(f, false, "10.10.1.0", 24, NULL, BR, RT_TABLE_MAIN, 0);
	route(f, false, "192.168.100.0", 24, NULL, DP0, RT_TABLE_MAIN, 0);
	route(f, false, "10.10.2.0", 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	route(f, false, "fd00:10::", 64, NULL, BR, RT_TABLE_MAIN, 256);
	route(f, false, "fd00:20::", 64, "fd00:100::2", DP0, RT_TABLE_MAIN, 1024);
	addr(f, false, "10.10.1.1", BR);
	addr(f, false, "192.168.100.1", DP0);
	addr(f, false, "fd00:10::1", BR);
	neigh(f, false, "10.10.1.11", BR, vm1_mac);
	neigh(f, false, "fd00:10::11", BR, vm1_mac);
	if (wire_neigh) {
		neigh(f, false, "192.168.100.2", DP0, wire_mac);
		neigh(f, false, "fd00:100::2", DP0, wire_mac);
	}
}

static void test_resolve_v4(void **state)
{
	struct fib *f = lab_fib();
	const uint8_t *d, *s;

	assert_int_equal(resolve(f, "10.10.1.11", NH_VM, &d, &s), FIB_FWD);
	assert_memory_equal(d, vm1_mac, 6);
	assert_memory_equal(s, br_mac, 6);
	assert_int_equal(resolve(f, "10.10.2.7", NH_UNDERLAY, &d, &s), FIB_FWD);
	assert_memory_equal(d, wire_mac, 6);
	assert_memory_equal(s, dp0_mac, 6);
	assert_int_equal(resolve(f, "10.10.1.12", NH_VM, NULL, NULL), FIB_PUNT_unresolved);
	assert_int_equal(resolve(f, "10.10.1.1", NH_VM, NULL, NULL), FIB_PUNT_local);
	assert_int_equal(resolve(f, "192.168.100.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_local);
	assert_int_equal(resolve(f, "10.10.2.7", NH_VM, NULL, NULL), FIB_PUNT_not_fast);
	assert_int_equal(resolve(f, "10.10.1.11", NH_UNDERLAY, NULL, NULL), FIB_PUNT_not_fast);
	assert_int_equal(resolve(f, "8.8.8.8", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	/* default routes (rte_lpm cannot hold /0) */
	route(f, false, "0.0.0.0", 0, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	route(f, false, "::", 0, "fd00:100::2", DP0, RT_TABLE_MAIN, 1024);
	assert_int_equal(resolve(f, "8.8.8.8", NH_UNDERLAY, &d, NULL), FIB_FWD);
	assert_memory_equal(d, wire_mac, 6);
	assert_int_equal(resolve(f, "2001:db8::1", NH_UNDERLAY, &d, NULL), FIB_FWD);
	assert_int_equal(resolve(f, "10.10.1.11", NH_VM, NULL, NULL), FIB_FWD); /* longer wins */
	route(f, true, "0.0.0.0", 0, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	route(f, true, "::", 0, "fd00:100::2", DP0, RT_TABLE_MAIN, 1024);
	assert_int_equal(resolve(f, "8.8.8.8", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	assert_int_equal(resolve(f, "2001:db8::1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	/* route removed at runtime */
	route(f, true, "10.10.2.0", 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	assert_int_equal(resolve(f, "10.10.2.7", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	/* neighbour MAC change is seen; neighbour gone → unresolved */
	neigh(f, false, "10.10.1.11", BR, wire_mac2);
	assert_int_equal(resolve(f, "10.10.1.11", NH_VM, &d, NULL), FIB_FWD);
	assert_memory_equal(d, wire_mac2, 6);
	neigh(f, true, "10.10.1.11", BR, wire_mac2);
	assert_int_equal(resolve(f, "10.10.1.11", NH_VM, NULL, NULL), FIB_PUNT_unresolved);
	/* local address removed: now forwarded like any VM address would be */
	addr(f, true, "10.10.1.1", BR);
	neigh(f, false, "10.10.1.1", BR, vm1_mac);
	assert_int_equal(resolve(f, "10.10.1.1", NH_VM, NULL, NULL), FIB_FWD);
	fib_destroy(f);
}

static void test_resolve_v6(void **state)
{
	struct fib *f = lab_fib();
	const uint8_t *d, *s;

	assert_int_equal(resolve(f, "fd00:10::11", NH_VM, &d, &s), FIB_FWD);
	assert_memory_equal(d, vm1_mac, 6);
	assert_int_equal(resolve(f, "fd00:20::5", NH_UNDERLAY, &d, &s), FIB_FWD);
	assert_memory_equal(d, wire_mac, 6);
	assert_memory_equal(s, dp0_mac, 6);
	assert_int_equal(resolve(f, "fd00:10::1", NH_VM, NULL, NULL), FIB_PUNT_local);
	assert_int_equal(resolve(f, "fd00:99::1", NH_VM, NULL, NULL), FIB_PUNT_no_route);
	route(f, true, "fd00:20::", 64, "fd00:100::2", DP0, RT_TABLE_MAIN, 1024);
	assert_int_equal(resolve(f, "fd00:20::5", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	fib_destroy(f);
}

static void test_candidates_and_links(void **state)
{
	struct fib *f = lab_fib();
	struct fib_stats st;
	const uint8_t *d, *s;

	/* table 100 route to the same prefix through the bridge: main wins */
	route(f, false, "10.10.2.0", 24, NULL, BR, 100, 0);
	assert_int_equal(resolve(f, "10.10.2.7", NH_UNDERLAY, NULL, NULL), FIB_FWD);
	route(f, true, "10.10.2.0", 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	assert_int_equal(resolve(f, "10.10.2.7", NH_VM, NULL, NULL), FIB_PUNT_unresolved);
	/* lower metric wins within a table */
	route(f, false, "10.10.3.0", 24, NULL, BR, RT_TABLE_MAIN, 200);
	route(f, false, "10.10.3.0", 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 100);
	assert_int_equal(resolve(f, "10.10.3.1", NH_UNDERLAY, NULL, NULL), FIB_FWD);
	/* dp0 MAC changes (agentd gives it the NIC's): next hops follow */
	link_(f, DP0, "dp0", wire_mac2);
	assert_int_equal(resolve(f, "10.10.3.1", NH_UNDERLAY, &d, &s), FIB_FWD);
	assert_memory_equal(s, wire_mac2, 6);
	/* dp0 deleted: nothing is underlay any more */
	struct mirror_link l = {.ifindex = DP0};
	snprintf(l.name, sizeof(l.name), "dp0");
	fib_mirror_ops.link(f, true, &l);
	assert_int_equal(resolve(f, "10.10.3.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_not_fast);
	fib_get_stats(f, &st);
	assert_int_equal(st.routes4, 4);
	assert_int_equal(st.routes6, 2);
	fib_destroy(f);
}

static void test_resync_drops_stale(void **state)
{
	struct fib *f = lab_fib();
	struct fib_stats st;

	fib_mirror_ops.resync_begin(f);
	link_(f, BR, "br-vm", br_mac);
	link_(f, DP0, "dp0", dp0_mac);
	route(f, false, "10.10.1.0", 24, NULL, BR, RT_TABLE_MAIN, 0);
	neigh(f, false, "10.10.1.11", BR, vm1_mac);
	addr(f, false, "10.10.1.1", BR);
	fib_mirror_ops.resync_end(f);
	fib_get_stats(f, &st);
	assert_int_equal(st.routes4, 1);
	assert_int_equal(st.routes6, 0);
	assert_int_equal(st.neighbours, 1);
	assert_int_equal(st.locals, 1);
	assert_int_equal(resolve(f, "10.10.1.11", NH_VM, NULL, NULL), FIB_FWD);
	assert_int_equal(resolve(f, "10.10.2.7", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	assert_int_equal(resolve(f, "192.168.100.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	fib_destroy(f);
}

static const uint8_t wire_mac3[6] = {0x02, 0xee, 0, 0, 0, 3};

/* ECMP: flows spread over every resolved path; an unresolved path is
 * skipped while another is usable; a route that shrinks follows. */
static void test_ecmp(void **state)
{
	struct fib *f = lab_fib();
	const char *gws[] = {"192.168.100.2", "192.168.100.3", "192.168.100.4"};
	const uint8_t *d;
	int hits[3] = {0};

	neigh(f, false, "192.168.100.3", DP0, wire_mac2);
	neigh(f, false, "192.168.100.4", DP0, wire_mac3);
	route_mp(f, false, "10.20.0.0", 16, 3, gws, DP0);
	for (flow_hash = 0; flow_hash < 3000; flow_hash++) {
		assert_int_equal(resolve(f, "10.20.1.1", NH_UNDERLAY, &d, NULL), FIB_FWD);
		hits[memcmp(d, wire_mac, 6) == 0 ? 0 : memcmp(d, wire_mac2, 6) == 0 ? 1 : 2]++;
	}
	for (int i = 0; i < 3; i++)
		assert_true(hits[i] > 600); /* ~1000 each */
	/* the same flow always takes the same path */
	flow_hash = 12345;
	resolve(f, "10.20.1.1", NH_UNDERLAY, &d, NULL);
	const uint8_t *first = d;
	for (int i = 0; i < 10; i++) {
		resolve(f, "10.20.1.1", NH_UNDERLAY, &d, NULL);
		assert_ptr_equal(d, first);
	}
	/* .3 unresolved: its flows move to a resolved path, none punted */
	neigh(f, true, "192.168.100.3", DP0, wire_mac2);
	for (flow_hash = 0; flow_hash < 300; flow_hash++) {
		assert_int_equal(resolve(f, "10.20.1.1", NH_UNDERLAY, &d, NULL), FIB_FWD);
		assert_memory_not_equal(d, wire_mac2, 6);
	}
	/* all unresolved: the kernel resolves */
	neigh(f, true, "192.168.100.2", DP0, wire_mac);
	neigh(f, true, "192.168.100.4", DP0, wire_mac3);
	assert_int_equal(resolve(f, "10.20.1.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_unresolved);
	/* the route shrinks to one path (a replace) */
	neigh(f, false, "192.168.100.4", DP0, wire_mac3);
	route_mp(f, false, "10.20.0.0", 16, 1, gws + 2, DP0);
	for (flow_hash = 0; flow_hash < 50; flow_hash++) {
		assert_int_equal(resolve(f, "10.20.1.1", NH_UNDERLAY, &d, NULL), FIB_FWD);
		assert_memory_equal(d, wire_mac3, 6);
	}
	flow_hash = 0;
	fib_destroy(f);
}

/* Kernel nexthop objects: routes follow a replaced object with one store; a
 * group shrinks when a member goes; deleting an object drops its routes
 * (the kernel only announces the object's deletion). */
static void test_nexthop_objects(void **state)
{
	struct fib *f = lab_fib();
	struct fib_stats st;
	const uint8_t *d;
	uint32_t members[] = {1, 2};

	neigh(f, false, "192.168.100.3", DP0, wire_mac2);
	/* a route naming an object not seen yet: the kernel's until it is */
	route_nhid(f, false, "10.30.0.0", 16, 1);
	assert_int_equal(resolve(f, "10.30.0.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_not_fast);
	nexthop(f, false, 1, "192.168.100.2", DP0);
	assert_int_equal(resolve(f, "10.30.0.1", NH_UNDERLAY, &d, NULL), FIB_FWD);
	assert_memory_equal(d, wire_mac, 6);
	for (int i = 0; i < 100; i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "10.31.%d.0", i);
		route_nhid(f, false, dst, 24, 1);
	}
	/* replace the object: every route follows */
	nexthop(f, false, 1, "192.168.100.3", DP0);
	assert_int_equal(resolve(f, "10.31.42.1", NH_UNDERLAY, &d, NULL), FIB_FWD);
	assert_memory_equal(d, wire_mac2, 6);
	/* a group of 1 and 2 */
	nexthop(f, false, 2, "192.168.100.2", DP0);
	nh_group(f, 10, 2, members);
	route_nhid(f, false, "10.40.0.0", 16, 10);
	int seen2 = 0, seen3 = 0;
	for (flow_hash = 0; flow_hash < 200; flow_hash++) {
		assert_int_equal(resolve(f, "10.40.0.1", NH_UNDERLAY, &d, NULL), FIB_FWD);
		seen2 += memcmp(d, wire_mac, 6) == 0;
		seen3 += memcmp(d, wire_mac2, 6) == 0;
	}
	assert_true(seen2 > 0 && seen3 > 0);
	/* member 1 deleted: its routes go, the group shrinks to member 2 */
	nexthop(f, true, 1, NULL, 0);
	assert_int_equal(resolve(f, "10.31.42.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	assert_int_equal(resolve(f, "10.30.0.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	for (flow_hash = 0; flow_hash < 100; flow_hash++) {
		assert_int_equal(resolve(f, "10.40.0.1", NH_UNDERLAY, &d, NULL), FIB_FWD);
		assert_memory_equal(d, wire_mac, 6);
	}
	fib_get_stats(f, &st);
	assert_int_equal(st.nhobjs, 2);
	assert_int_equal(st.routes4, 4); /* lab routes + 10.40/16 */
	/* the group deleted: its route goes */
	nexthop(f, true, 10, NULL, 0);
	assert_int_equal(resolve(f, "10.40.0.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	nexthop(f, true, 2, NULL, 0);
	fib_get_stats(f, &st);
	assert_int_equal(st.nhobjs, 0);
	assert_int_equal(st.routes4, 3);
	flow_hash = 0;
	fib_destroy(f);
}

/* Blackhole / unreachable / prohibit routes are never forwarded: the
 * kernel drops them or answers. */
static void test_special_routes(void **state)
{
	struct fib *f = lab_fib();

	route(f, false, "0.0.0.0", 0, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	route_type(f, false, "10.66.0.0", 16, RTN_BLACKHOLE);
	route_type(f, false, "10.67.0.0", 16, RTN_UNREACHABLE);
	route_type(f, false, "10.68.0.0", 16, RTN_PROHIBIT);
	route_type(f, false, "fd00:66::", 64, RTN_BLACKHOLE);
	assert_int_equal(resolve(f, "10.66.1.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_not_fast);
	assert_int_equal(resolve(f, "10.67.1.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_not_fast);
	assert_int_equal(resolve(f, "10.68.1.1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_not_fast);
	assert_int_equal(resolve(f, "fd00:66::1", NH_UNDERLAY, NULL, NULL), FIB_PUNT_not_fast);
	assert_int_equal(resolve(f, "10.69.1.1", NH_UNDERLAY, NULL, NULL), FIB_FWD);
	route_type(f, true, "10.66.0.0", 16, RTN_BLACKHOLE);
	assert_int_equal(resolve(f, "10.66.1.1", NH_UNDERLAY, NULL, NULL), FIB_FWD);
	fib_destroy(f);
}

/* While the mirror is behind, nothing is forwarded from a FIB it cannot
 * vouch for; the next complete resync restores trust. */
/* The forwarding lcore's neighbour cache (fib_select_cached) never serves
 * what the neighbour table no longer says: a changed MAC, a deleted
 * neighbour, a resync that dropped it. */
static enum fib_punt cached(struct fib *f, struct fib_ncache *nc, const char *ip,
			    enum fib_nh_kind want, const uint8_t **dmac)
{
	uint8_t a[16] = {0};
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	const struct rte_ether_addr *d = NULL, *s = NULL;
	enum fib_punt why;
	const struct fib_nexthop *nh;

	inet_pton(family, ip, a);
	nh = fib_lookup_nh(f, family, a, &why);
	if (nh == NULL)
		return why;
	why = fib_select_cached(f, nc, nh, family, a, 0, want, &d, &s);
	if (dmac)
		*dmac = d ? d->addr_bytes : NULL;
	return why;
}

static void test_neigh_cache(void **state)
{
	struct fib *f = lab_fib();
	struct fib_ncache *nc = calloc(1, sizeof(*nc));
	const uint8_t *d;

	assert_non_null(nc);
	for (int i = 0; i < 2; i++) { /* miss, then hit */
		assert_int_equal(cached(f, nc, "10.10.1.11", NH_VM, &d), FIB_FWD);
		assert_memory_equal(d, vm1_mac, 6);
		assert_int_equal(cached(f, nc, "10.10.2.7", NH_UNDERLAY, &d), FIB_FWD);
		assert_memory_equal(d, wire_mac, 6);
		assert_int_equal(cached(f, nc, "fd00:10::11", NH_VM, &d), FIB_FWD);
		assert_memory_equal(d, vm1_mac, 6);
	}
	neigh(f, false, "10.10.1.11", BR, wire_mac2); /* new MAC */
	assert_int_equal(cached(f, nc, "10.10.1.11", NH_VM, &d), FIB_FWD);
	assert_memory_equal(d, wire_mac2, 6);
	neigh(f, true, "10.10.1.11", BR, wire_mac2); /* gone */
	assert_int_equal(cached(f, nc, "10.10.1.11", NH_VM, NULL), FIB_PUNT_unresolved);
	assert_int_equal(cached(f, nc, "10.10.2.7", NH_UNDERLAY, &d), FIB_FWD); /* others still */
	neigh(f, false, "10.10.1.11", BR, vm1_mac);
	assert_int_equal(cached(f, nc, "10.10.1.11", NH_VM, &d), FIB_FWD);
	/* a resync that does not see the wire's neighbour drops it */
	assert_int_equal(cached(f, nc, "10.10.2.7", NH_UNDERLAY, &d), FIB_FWD); /* cached */
	fib_mirror_ops.resync_begin(f);
	lab_announce(f, false);
	fib_mirror_ops.resync_end(f);
	assert_int_equal(cached(f, nc, "10.10.2.7", NH_UNDERLAY, NULL), FIB_PUNT_unresolved);
	assert_int_equal(cached(f, nc, "10.10.1.11", NH_VM, &d), FIB_FWD);
	free(nc);
	fib_destroy(f);
}

static void test_behind(void **state)
{
	struct fib *f = lab_fib();
	struct fib_stats st;

	assert_int_equal(resolve(f, "10.10.2.7", NH_UNDERLAY, NULL, NULL), FIB_FWD);
	fib_mirror_ops.behind(f);
	assert_int_equal(resolve(f, "10.10.2.7", NH_UNDERLAY, NULL, NULL), FIB_PUNT_behind);
	fib_get_stats(f, &st);
	assert_int_equal(st.behind, 1);
	fib_mirror_ops.resync_begin(f);
	link_(f, BR, "br-vm", br_mac);
	link_(f, DP0, "dp0", dp0_mac);
	route(f, false, "10.10.2.0", 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	neigh(f, false, "192.168.100.2", DP0, wire_mac);
	fib_mirror_ops.resync_end(f);
	assert_int_equal(resolve(f, "10.10.2.7", NH_UNDERLAY, NULL, NULL), FIB_FWD);
	fib_get_stats(f, &st);
	assert_int_equal(st.behind, 0);
	fib_destroy(f);
}

/* A full FIB: counted, every lookup punts (a missing more-specific route
 * must not send traffic along a covering one), trust back once it fits. */
static void test_full(void **state)
{
	struct fib_config cfg = {.lpm_rules = 64,
				 .lpm6_rules = 64,
				 .neighbours = 64,
				 .exc_ifname = "dp0",
				 .bridge_ifname = "br-vm"};
	struct fib *f;
	struct fib_stats st;

	assert_int_equal(fib_create(&f, &cfg, SOCKET_ID_ANY), 0);
	link_(f, DP0, "dp0", dp0_mac);
	neigh(f, false, "192.168.100.2", DP0, wire_mac);
	route(f, false, "0.0.0.0", 0, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	assert_int_equal(resolve(f, "10.1.2.3", NH_UNDERLAY, NULL, NULL), FIB_FWD);
	for (int i = 0; i < 200; i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "10.%d.%d.0", i / 200, i % 200);
		route(f, false, dst, 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	}
	fib_get_stats(f, &st);
	assert_true(st.route_errors > 0);
	assert_int_equal(st.full, 1);
	assert_int_equal(resolve(f, "10.1.2.3", NH_UNDERLAY, NULL, NULL), FIB_PUNT_behind);
	/* the routes go, a resync (which the dataplane asks for) finds them gone */
	fib_mirror_ops.resync_begin(f);
	link_(f, DP0, "dp0", dp0_mac);
	neigh(f, false, "192.168.100.2", DP0, wire_mac);
	route(f, false, "0.0.0.0", 0, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	fib_mirror_ops.resync_end(f);
	fib_get_stats(f, &st);
	assert_int_equal(st.full, 0);
	assert_int_equal(st.routes4, 1);
	assert_int_equal(resolve(f, "10.1.2.3", NH_UNDERLAY, NULL, NULL), FIB_FWD);
	fib_destroy(f);
}

struct collect {
	int n;
	char seen[8][64];
};

static void collect_cb(void *arg, const struct fib_route_info *r)
{
	struct collect *c = arg;
	if (c->n < 8)
		inet_ntop(r->family, r->dst, c->seen[c->n], 64);
	c->n++;
}

/* Paged listing: every route exactly once, and a prefix filter. */
static void test_walk_pages(void **state)
{
	struct fib *f = lab_fib();
	struct fib_cursor cur = {0};
	struct collect c = {0};
	bool done = false;
	uint8_t within[16];
	int pages = 0;

	for (int i = 0; i < 1000; i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "10.%d.%d.0", 100 + i / 250, i % 250);
		route(f, false, dst, 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
	}
	while (!done) {
		fib_walk_routes_page(f, AF_INET, NULL, 0, &cur, 37, &done, collect_cb, &c);
		pages++;
	}
	assert_int_equal(c.n, 1003); /* + the three lab routes */
	assert_true(pages >= 1003 / 37);
	memset(&cur, 0, sizeof(cur));
	memset(&c, 0, sizeof(c));
	inet_pton(AF_INET, "10.101.0.0", within);
	done = false;
	while (!done)
		fib_walk_routes_page(f, AF_INET, within, 16, &cur, 100, &done, collect_cb, &c);
	assert_int_equal(c.n, 250);
	assert_int_equal(strncmp(c.seen[0], "10.101.", 7), 0);
	memset(&cur, 0, sizeof(cur));
	memset(&c, 0, sizeof(c));
	done = false;
	while (!done)
		fib_walk_routes_page(f, AF_INET6, NULL, 0, &cur, 1, &done, collect_cb, &c);
	assert_int_equal(c.n, 2);
	fib_destroy(f);
}

/* Scale: 100k prefixes over 3 next hops use 3 slots; adding and deleting
 * them leaves exactly the lab's tables. */
static void test_scale(void **state)
{
	struct fib_config cfg = {.lpm_rules = 200000,
				 .lpm6_rules = 1024,
				 .neighbours = 1024,
				 .exc_ifname = "dp0",
				 .bridge_ifname = "br-vm"};
	const char *gws[] = {"192.168.100.2", "192.168.100.3", "192.168.100.4"};
	struct fib_stats st;
	struct fib *f;
	struct timespec t0, t1, t2;

	assert_int_equal(fib_create(&f, &cfg, SOCKET_ID_ANY), 0);
	link_(f, DP0, "dp0", dp0_mac);
	neigh(f, false, "192.168.100.2", DP0, wire_mac);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 100000; i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "%d.%d.%d.0", 11 + i / 65536, (i / 256) % 256, i % 256);
		route(f, false, dst, 24, gws[i % 3], DP0, RT_TABLE_MAIN, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fib_get_stats(f, &st);
	assert_int_equal(st.routes4, 100000);
	assert_int_equal(st.nexthops, 3);
	assert_int_equal(resolve(f, "11.5.6.7", NH_UNDERLAY, NULL, NULL),
			 (5 * 256 + 6) % 3 == 0 ? FIB_FWD : FIB_PUNT_unresolved);
	for (int i = 0; i < 100000; i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "%d.%d.%d.0", 11 + i / 65536, (i / 256) % 256, i % 256);
		route(f, true, dst, 24, gws[i % 3], DP0, RT_TABLE_MAIN, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	fib_get_stats(f, &st);
	assert_int_equal(st.routes4, 0);
	assert_int_equal(st.nexthops, 0);
	assert_int_equal(resolve(f, "11.5.6.7", NH_UNDERLAY, NULL, NULL), FIB_PUNT_no_route);
	printf("100k routes: add %.0f ms, delete %.0f ms (not asserted)\n",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
	       (t2.tv_sec - t1.tv_sec) * 1e3 + (t2.tv_nsec - t1.tv_nsec) / 1e6);
	fib_destroy(f);
}

/* ---- concurrency: a reader lcore vs. a writer replacing entries ----
 * Every neighbour version the writer installs has a MAC of its own (its
 * sequence number in the low bytes), and so does every dp0 MAC, which is the
 * source MAC of the next hops built while it holds. Between two quiescent
 * states the reader (with a neighbour cache, as the forwarding lcore):
 *   - takes each MAC it got from a version live at some point of that
 *     window: an older one was freed before the window opened (rte_free
 *     zeroes it, or the cache served a stale pointer);
 *   - reads the objects again at the end of the window: they are immutable
 *     while it may hold them, so a changed byte is memory freed (zeroed) or
 *     reused by a newer version under its feet.
 * A use after free or a premature reuse makes the test fail; two MACs that
 * alternate could not show a reuse. */
#define TAG_NEIGH4 0xe4
#define TAG_NEIGH6 0xe6
#define TAG_DP0	   0xd0

static struct fib *cf;
static volatile int reader_stop;
static volatile uint64_t reader_lookups, reader_fwd, reader_stale, reader_changed, reader_punt;
static volatile int reader_punt_why, reader_punt_k; /* the last bad punt: reason, 0 v4 / 1 v6 */
static uint32_t seq_neigh, seq_dp0;		    /* last version fully installed (atomic) */

static void seq_mac(uint8_t *mac, uint8_t tag, uint32_t seq)
{
	mac[0] = 0x02;
	mac[1] = tag;
	mac[2] = (uint8_t)(seq >> 24);
	mac[3] = (uint8_t)(seq >> 16);
	mac[4] = (uint8_t)(seq >> 8);
	mac[5] = (uint8_t)seq;
}

/* Whether MAC is version LO..HI of TAG. */
static bool seq_in(const uint8_t *mac, uint8_t tag, uint32_t lo, uint32_t hi)
{
	uint32_t seq =
	    (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5];
	return mac[0] == 0x02 && mac[1] == tag && seq >= lo && seq <= hi;
}

static enum fib_punt cached2(struct fib_ncache *nc, const char *ip, const struct rte_ether_addr **d,
			     const struct rte_ether_addr **s)
{
	uint8_t a[16] = {0};
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	enum fib_punt why;
	const struct fib_nexthop *nh;

	inet_pton(family, ip, a);
	nh = fib_lookup_nh(cf, family, a, &why);
	if (nh == NULL)
		return why;
	return fib_select_cached(cf, nc, nh, family, a, 0, NH_UNDERLAY, d, s);
}

static int reader(void *arg)
{
	static const char *const dst[2] = {"10.10.2.7", "fd00:20::5"};
	static const uint8_t tag[2] = {TAG_NEIGH4, TAG_NEIGH6};
	struct fib_ncache *nc = arg;

	rte_rcu_qsbr_thread_register(cf->qsv, 0);
	rte_rcu_qsbr_thread_online(cf->qsv, 0);
	while (!reader_stop) {
		const struct rte_ether_addr *d[2] = {NULL}, *s[2] = {NULL}, *dd, *ss;
		struct rte_ether_addr dc[2], sc[2];
		enum fib_punt p[2];
		uint32_t n0 = __atomic_load_n(&seq_neigh, __ATOMIC_ACQUIRE);
		uint32_t l0 = __atomic_load_n(&seq_dp0, __ATOMIC_ACQUIRE);

		for (int k = 0; k < 2; k++) {
			p[k] = cached2(nc, dst[k], &d[k], &s[k]);
			if (p[k] == FIB_FWD) {
				dc[k] = *d[k];
				sc[k] = *s[k];
			}
		}
		/* hold them a while, as a burst does: more lookups */
		for (int k = 0; k < 16; k++)
			cached2(nc, dst[k & 1], &dd, &ss);
		__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the lookups before the reads */
		uint32_t n1 = __atomic_load_n(&seq_neigh, __ATOMIC_ACQUIRE);
		uint32_t l1 = __atomic_load_n(&seq_dp0, __ATOMIC_ACQUIRE);
		for (int k = 0; k < 2; k++) {
			if (p[k] != FIB_FWD) {
				if (p[k] != FIB_PUNT_no_route && p[k] != FIB_PUNT_unresolved) {
					reader_punt++;
					reader_punt_why = p[k];
					reader_punt_k = k;
				}
				continue;
			}
			reader_fwd++;
			/* the version being installed when the window closed
			 * (n1 + 1, whichever object) may already be the one found */
			if (!seq_in(dc[k].addr_bytes, tag[k], n0, n1 + 1) ||
			    !seq_in(sc[k].addr_bytes, TAG_DP0, l0, RTE_MAX(l1, n1 + 1)))
				reader_stale++;
			if (!rte_is_same_ether_addr(d[k], &dc[k]) ||
			    !rte_is_same_ether_addr(s[k], &sc[k]))
				reader_changed++;
		}
		reader_lookups++;
		rte_rcu_qsbr_quiescent(cf->qsv, 0);
	}
	rte_rcu_qsbr_thread_offline(cf->qsv, 0);
	rte_rcu_qsbr_thread_unregister(cf->qsv, 0);
	return 0;
}

/* Version SEQ of both neighbours, then of dp0's MAC every third time. */
static void install(uint32_t seq, bool del_first)
{
	uint8_t mac[6];

	if (del_first) {
		neigh(cf, true, "192.168.100.2", DP0, wire_mac);
		neigh(cf, true, "fd00:100::2", DP0, wire_mac);
	}
	seq_mac(mac, TAG_NEIGH4, seq);
	neigh(cf, false, "192.168.100.2", DP0, mac);
	seq_mac(mac, TAG_NEIGH6, seq);
	neigh(cf, false, "fd00:100::2", DP0, mac);
	__atomic_store_n(&seq_neigh, seq, __ATOMIC_RELEASE);
	if (seq % 3 == 0) {
		seq_mac(mac, TAG_DP0, seq);
		link_(cf, DP0, "dp0", mac);
		__atomic_store_n(&seq_dp0, seq, __ATOMIC_RELEASE);
	}
}

static void test_concurrent_updates(void **state)
{
	unsigned worker = rte_get_next_lcore(-1, 1, 0);
	struct fib_ncache *nc = calloc(1, sizeof(*nc));

	if (worker >= RTE_MAX_LCORE)
		fail_msg("the test needs two lcores");
	assert_non_null(nc);
	cf = lab_fib();
	install(0, false);
	reader_stop = 0;
	reader_lookups = reader_fwd = reader_stale = reader_changed = reader_punt = 0;
	assert_int_equal(rte_eal_remote_launch(reader, nc, worker), 0);
	for (uint32_t i = 1; i <= 6000; i++) {
		install(i, i % 50 == 0); /* now and then unresolved for a moment */
		if (i % 10 == 0) {
			/* the slots are freed, then taken again */
			route(cf, true, "10.10.2.0", 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
			route(cf, false, "10.10.2.0", 24, "192.168.100.2", DP0, RT_TABLE_MAIN, 0);
			route(cf, true, "fd00:20::", 64, "fd00:100::2", DP0, RT_TABLE_MAIN, 1024);
			route(cf, false, "fd00:20::", 64, "fd00:100::2", DP0, RT_TABLE_MAIN, 1024);
		}
	}
	reader_stop = 1;
	rte_eal_wait_lcore(worker);
	free(nc);
	fib_destroy(cf); /* before the verdict: the next tests need the names */
	printf("reader: %llu windows, %llu forwarded, %llu stale, %llu changed while held, %llu "
	       "bad punts (last: reason %d, %s)\n",
	       (unsigned long long)reader_lookups, (unsigned long long)reader_fwd,
	       (unsigned long long)reader_stale, (unsigned long long)reader_changed,
	       (unsigned long long)reader_punt, reader_punt_why, reader_punt_k ? "IPv6" : "IPv4");
	assert_true(reader_lookups > 0);
	assert_true(reader_fwd > 0);
	assert_int_equal(reader_stale, 0);
	assert_int_equal(reader_changed, 0);
	assert_int_equal(reader_punt, 0);
}

int main(int argc, char **argv)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=fibtest%d", getpid());
	char *eal[] = {
	    "test_fib", "-l",	    "0-1",	   "--no-huge",	     "-m",
	    "1024",	"--no-pci", "--no-shconf", "--no-telemetry", "--log-level=lib.eal:error",
	    prefix};
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve_v4),
	    cmocka_unit_test(test_resolve_v6),
	    cmocka_unit_test(test_candidates_and_links),
	    cmocka_unit_test(test_resync_drops_stale),
	    cmocka_unit_test(test_concurrent_updates),
	    cmocka_unit_test(test_ecmp),
	    cmocka_unit_test(test_nexthop_objects),
	    cmocka_unit_test(test_special_routes),
	    cmocka_unit_test(test_neigh_cache),
	    cmocka_unit_test(test_behind),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_walk_pages),
	    cmocka_unit_test(test_scale),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[PATH_MAX + 16];
	/* EAL leaves its runtime dir behind even with --no-shconf */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove the EAL runtime dir\n");
	return ret;
}
