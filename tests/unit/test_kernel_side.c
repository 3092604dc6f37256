/* SPDX-License-Identifier: BSD-3-Clause */
/* kernel-side against the real kernel: each test runs in a fresh network
 * namespace (unshare(CLONE_NEWNET) in its setup), so it sees only the links
 * it made and leaves nothing behind. Needs root (CAP_NET_ADMIN). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link/veth.h>

#include <kernel_side.h>

static int netns_setup(void **state)
{
	struct ks_nl *nl;

	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if (ks_open(&nl) < 0)
		return -1;
	*state = nl;
	return 0;
}

static int netns_teardown(void **state)
{
	/* The namespace, and every link in it, goes with its last user. */
	ks_close(*state);
	return 0;
}

/* "10.0.0.1/24", "fd00::1/64", or a host address without "/". Own parser so
 * these tests do not depend on agent/config.c. */
static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p = {0};
	char buf[64];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	p.family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.family, buf, p.addr.bytes), 1);
	p.len = slash != NULL ? atoi(slash + 1) : p.family == AF_INET6 ? 128 : 32;
	return p;
}

static bool pfx_eq(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr.bytes, b->addr.bytes, a->family == AF_INET6 ? 16 : 4) == 0;
}

static struct nl_sock *raw_sock(void)
{
	struct nl_sock *sk = nl_socket_alloc();

	assert_non_null(sk);
	assert_int_equal(nl_connect(sk, NETLINK_ROUTE), 0);
	return sk;
}

/* Both ends of a veth pair, up when UP (so the IPv6 link-local appears and
 * gateways on it are reachable). */
static void veth_add(struct ks_nl *nl, const char *a, const char *b, bool up)
{
	struct nl_sock *sk = raw_sock();

	assert_int_equal(rtnl_link_veth_add(sk, a, b, getpid()), 0);
	nl_socket_free(sk);
	if (up) {
		assert_int_equal(ks_link_set_up(nl, a, true), 0);
		assert_int_equal(ks_link_set_up(nl, b, true), 0);
	}
}

/* Every address on IFINDEX, link-local and all, straight from the kernel. */
static int kernel_addr_count(int ifindex)
{
	struct nl_sock *sk = raw_sock();
	struct nl_cache *cache;
	struct nl_object *obj;
	int n = 0;

	assert_int_equal(rtnl_addr_alloc_cache(sk, &cache), 0);
	for (obj = nl_cache_get_first(cache); obj != NULL; obj = nl_cache_get_next(obj))
		n += rtnl_addr_get_ifindex((struct rtnl_addr *)obj) == ifindex;
	nl_cache_free(cache);
	nl_socket_free(sk);
	return n;
}

static void test_bridge_ensure(void **state)
{
	struct ks_nl *nl = *state;
	struct ks_link_info li, li2;

	assert_int_equal(ks_bridge_ensure(nl, "ksbr0"), 0);
	assert_int_equal(ks_link_get(nl, "ksbr0", &li), 0);
	assert_string_equal(li.kind, "bridge");
	assert_true(li.admin_up);

	/* Second run: same link (not recreated), still up. */
	assert_int_equal(ks_bridge_ensure(nl, "ksbr0"), 0);
	assert_int_equal(ks_link_get(nl, "ksbr0", &li2), 0);
	assert_int_equal(li2.ifindex, li.ifindex);
	assert_true(li2.admin_up);

	/* Set down behind our back: ensure brings it back up. */
	assert_int_equal(ks_link_set_up(nl, "ksbr0", false), 0);
	assert_int_equal(ks_bridge_ensure(nl, "ksbr0"), 0);
	assert_int_equal(ks_link_get(nl, "ksbr0", &li2), 0);
	assert_true(li2.admin_up);

	/* A non-bridge link of that name. */
	veth_add(nl, "ksv0", "ksv1", false);
	assert_int_equal(ks_bridge_ensure(nl, "ksv0"), -EEXIST);
	assert_int_equal(ks_link_get(nl, "ksv0", &li2), 0);
	assert_string_equal(li2.kind, "veth");

	assert_int_equal(ks_link_delete(nl, "ksbr0"), 0);
	assert_int_equal(ks_link_get(nl, "ksbr0", &li2), -ENODEV);
	assert_int_equal(ks_link_delete(nl, "ksbr0"), 0);
}

static void test_bridge_port(void **state)
{
	struct ks_nl *nl = *state;
	char names[4][IFNAMSIZ];
	struct ks_link_info br, port;

	assert_int_equal(ks_bridge_ensure(nl, "ksbr0"), 0);
	veth_add(nl, "ksv0", "ksv1", false);
	veth_add(nl, "ksv2", "ksv3", false);
	assert_int_equal(ks_bridge_ports(nl, "ksbr0", names, 4), 0);

	assert_int_equal(ks_bridge_port_ensure(nl, "ksbr0", "ksv0"), 0);
	assert_int_equal(ks_bridge_port_ensure(nl, "ksbr0", "ksv0"), 0);
	assert_int_equal(ks_link_get(nl, "ksbr0", &br), 0);
	assert_int_equal(ks_link_get(nl, "ksv0", &port), 0);
	assert_int_equal(port.master, br.ifindex);
	assert_true(port.admin_up);

	assert_int_equal(ks_bridge_ports(nl, "ksbr0", names, 4), 1);
	assert_string_equal(names[0], "ksv0");

	assert_int_equal(ks_bridge_port_ensure(nl, "ksbr0", "ksv2"), 0);
	assert_int_equal(ks_bridge_ports(nl, "ksbr0", names, 4), 2);
	assert_int_equal(ks_bridge_ports(nl, "ksbr0", names, 1), 1); /* max respected */

	assert_int_equal(ks_bridge_port_ensure(nl, "ksbr0", "ksnope"), -ENODEV);
	assert_int_equal(ks_bridge_port_ensure(nl, "ksnobr", "ksv1"), -ENODEV);
	assert_int_equal(ks_bridge_port_ensure(nl, "ksv1", "ksv3"), -EINVAL); /* not a bridge */
	assert_int_equal(ks_bridge_ports(nl, "ksnobr", names, 4), -ENODEV);
}

static void test_addr(void **state)
{
	struct ks_nl *nl = *state;
	struct ip_prefix v4 = pfx("10.10.1.1/24"), v6 = pfx("fd00:10::1/64");
	struct ip_prefix out[8];
	bool seen4 = false, seen6 = false;
	int ifindex, n;

	veth_add(nl, "ksv0", "ksv1", true);
	ifindex = ks_link_index(nl, "ksv0");
	assert_true(ifindex > 0);

	for (int run = 0; run < 2; run++) {
		assert_int_equal(ks_addr_ensure(nl, "ksv0", &v4), 0);
		assert_int_equal(ks_addr_ensure(nl, "ksv0", &v6), 0);
	}
	n = ks_addr_list(nl, "ksv0", out, 8);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		seen4 |= pfx_eq(&out[i], &v4);
		seen6 |= pfx_eq(&out[i], &v6);
	}
	assert_true(seen4 && seen6);
	/* The kernel has a third one, the IPv6 link-local, which the list skips
	 * (it appears once linkwatch has seen the carrier: allow it 2 s). */
	for (int i = 0; i < 200 && kernel_addr_count(ifindex) < 3; i++)
		usleep(10000);
	assert_int_equal(kernel_addr_count(ifindex), 3);
	assert_int_equal(ks_addr_list(nl, "ksv0", out, 8), 2);
	assert_int_equal(ks_addr_list(nl, "ksv0", out, 1), 1);

	/* Same IPv6 address, other prefix length: the kernel refuses. */
	struct ip_prefix v6_48 = pfx("fd00:10::1/48");
	assert_int_equal(ks_addr_ensure(nl, "ksv0", &v6_48), -EEXIST);

	assert_int_equal(ks_addr_remove(nl, "ksv0", &v4), 0);
	assert_int_equal(ks_addr_remove(nl, "ksv0", &v4), 0);
	n = ks_addr_list(nl, "ksv0", out, 8);
	assert_int_equal(n, 1);
	assert_true(pfx_eq(&out[0], &v6));
	assert_int_equal(ks_addr_remove(nl, "ksv0", &v6), 0);
	assert_int_equal(ks_addr_remove(nl, "ksv0", &v6), 0);
	assert_int_equal(ks_addr_list(nl, "ksv0", out, 8), 0);

	assert_int_equal(ks_addr_ensure(nl, "ksnope", &v4), -ENODEV);
	assert_int_equal(ks_addr_remove(nl, "ksnope", &v4), 0);
	assert_int_equal(ks_addr_list(nl, "ksnope", out, 8), -ENODEV);
}

/* Entries of ks_route_list(IFNAME) whose destination is DST. */
static int route_count(struct ks_nl *nl, const char *ifname, const struct ip_prefix *dst,
		       struct ks_route *found)
{
	struct ks_route routes[64];
	int n, count = 0;

	n = ks_route_list(nl, ifname, routes, 64);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (pfx_eq(&routes[i].dst, dst)) {
			if (found != NULL)
				*found = routes[i];
			count++;
		}
	}
	return count;
}

static void test_route(void **state)
{
	struct ks_nl *nl = *state;
	struct ip_prefix a4 = pfx("192.168.50.1/24"), a6 = pfx("fd00:50::1/64");
	struct route_cfg r4 = {
	    .dst = pfx("10.20.0.0/16"), .has_via = true, .via = pfx("192.168.50.2")};
	struct route_cfg r6 = {
	    .dst = pfx("fd00:20::/48"), .has_via = true, .via = pfx("fd00:50::2")};
	struct route_cfg rdev = {.dst = pfx("10.30.0.0/16"), .dev = "ksv0", .metric = 50};
	struct ks_route got;

	veth_add(nl, "ksv0", "ksv1", true);
	assert_int_equal(ks_addr_ensure(nl, "ksv0", &a4), 0);
	assert_int_equal(ks_addr_ensure(nl, "ksv0", &a6), 0);

	for (int run = 0; run < 2; run++) {
		assert_int_equal(ks_route_ensure(nl, &r4, "ksv0"), 0);
		assert_int_equal(ks_route_ensure(nl, &r6, "ksv0"), 0);
		assert_int_equal(ks_route_ensure(nl, &rdev, NULL), 0);
	}
	assert_int_equal(route_count(nl, "ksv0", &r4.dst, &got), 1);
	assert_true(got.has_via);
	assert_true(pfx_eq(&got.via, &r4.via));
	assert_string_equal(got.dev, "ksv0");
	assert_int_equal(got.protocol, RTPROT_STATIC);

	assert_int_equal(route_count(nl, "ksv0", &r6.dst, &got), 1);
	assert_true(got.has_via);
	assert_true(pfx_eq(&got.via, &r6.via));
	assert_int_equal(got.protocol, RTPROT_STATIC);

	assert_int_equal(route_count(nl, NULL, &rdev.dst, &got), 1);
	assert_false(got.has_via);
	assert_string_equal(got.dev, "ksv0");
	assert_int_equal(got.metric, 50);

	/* Filtered by device: none of them is on ksv1. */
	assert_int_equal(route_count(nl, "ksv1", &r4.dst, NULL), 0);
	assert_int_equal(ks_route_list(nl, "ksnope", &got, 1), -ENODEV);

	/* The kernel's own errno comes through (libnl would say "failure"). */
	struct route_cfg unreachable = {
	    .dst = pfx("10.40.0.0/16"), .has_via = true, .via = pfx("172.31.0.1")};
	assert_int_equal(ks_route_ensure(nl, &unreachable, NULL), -ENETUNREACH);
	assert_int_equal(ks_route_ensure(nl, &r4, "ksnope"), -ENODEV);

	for (int run = 0; run < 2; run++) {
		assert_int_equal(ks_route_remove(nl, &r4, "ksv0"), 0);
		assert_int_equal(ks_route_remove(nl, &r6, "ksv0"), 0);
		assert_int_equal(ks_route_remove(nl, &rdev, NULL), 0);
	}
	assert_int_equal(route_count(nl, NULL, &r4.dst, NULL), 0);
	assert_int_equal(route_count(nl, NULL, &r6.dst, NULL), 0);
	assert_int_equal(route_count(nl, NULL, &rdev.dst, NULL), 0);
	assert_int_equal(ks_route_remove(nl, &r4, "ksnope"), 0);
}

static void test_link_set(void **state)
{
	struct ks_nl *nl = *state;
	const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x42};
	struct ks_link_info li;

	veth_add(nl, "ksv0", "ksv1", false);
	assert_int_equal(ks_link_get(nl, "ksv0", &li), 0);
	assert_false(li.admin_up);
	assert_int_equal(ks_link_index(nl, "ksv0"), li.ifindex);
	assert_string_equal(li.name, "ksv0");

	for (int run = 0; run < 2; run++) {
		assert_int_equal(ks_link_set_mac(nl, "ksv0", mac), 0);
		assert_int_equal(ks_link_set_mtu(nl, "ksv0", 1400), 0);
		assert_int_equal(ks_link_set_up(nl, "ksv0", true), 0);
	}
	assert_int_equal(ks_link_get(nl, "ksv0", &li), 0);
	assert_memory_equal(li.mac, mac, 6);
	assert_int_equal(li.mtu, 1400);
	assert_true(li.admin_up);
	assert_int_equal(li.master, 0);

	/* Carrier follows the peer. */
	assert_int_equal(ks_link_set_up(nl, "ksv1", true), 0);
	assert_int_equal(ks_link_get(nl, "ksv0", &li), 0);
	assert_true(li.carrier);

	assert_int_equal(ks_link_set_up(nl, "ksv0", false), 0);
	assert_int_equal(ks_link_get(nl, "ksv0", &li), 0);
	assert_false(li.admin_up);

	assert_int_equal(ks_link_set_mtu(nl, "ksv0", 0), -EINVAL);
	assert_int_equal(ks_link_set_mtu(nl, "ksnope", 1400), -ENODEV);
	assert_int_equal(ks_link_set_up(nl, "ksnope", true), -ENODEV);
	assert_int_equal(ks_link_set_mac(nl, "ksnope", mac), -ENODEV);
	assert_int_equal(ks_link_index(nl, "ksnope"), -ENODEV);
	assert_int_equal(ks_link_get(nl, "ksnope", &li), -ENODEV);
	assert_int_equal(ks_link_index(nl, "ks-name-too-long-for-ifnamsiz"), -EINVAL);
	assert_int_equal(ks_link_index(nl, ""), -EINVAL);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_link_wait(void **state)
{
	struct ks_nl *nl = *state;
	long long t0;

	t0 = mono_ms();
	assert_int_equal(ks_link_wait(nl, "ksnope", 60), -ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 60);
	assert_true(mono_ms() - t0 < 1000);

	/* A link that appears while we wait (created by a child, same netns). */
	t0 = mono_ms();
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct nl_sock *sk = nl_socket_alloc();
		usleep(100 * 1000);
		_exit(sk == NULL || nl_connect(sk, NETLINK_ROUTE) < 0 ||
		      rtnl_link_veth_add(sk, "ksv0", "ksv1", getpid()) < 0);
	}
	assert_int_equal(ks_link_wait(nl, "ksv0", 5000), 0);
	assert_true(mono_ms() - t0 >= 100);
	assert_true(mono_ms() - t0 < 2000);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Already there: immediate. */
	t0 = mono_ms();
	assert_int_equal(ks_link_wait(nl, "ksv0", 5000), 0);
	assert_true(mono_ms() - t0 < 1000);
}

static void test_sysctl(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(ks_sysctl_set("net/ipv4/ip_forward", "1"), 0);
	assert_int_equal(ks_sysctl_get("net/ipv4/ip_forward", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1");
	assert_int_equal(ks_sysctl_set("net/ipv4/ip_forward", "0"), 0);
	assert_int_equal(ks_sysctl_get("net/ipv4/ip_forward", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0");

	assert_int_equal(ks_sysctl_get("net/ipv4/ks_nope", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(ks_sysctl_set("net/ipv4/ks_nope", "1"), -ENOENT);
	assert_int_equal(ks_sysctl_set("../../etc/passwd", "1"), -EINVAL);
	assert_int_equal(ks_sysctl_set("net/ipv4/ip_forward", "bogus"), -EINVAL);
}

#define NETNS_TEST(t) cmocka_unit_test_setup_teardown(t, netns_setup, netns_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    NETNS_TEST(test_bridge_ensure), NETNS_TEST(test_bridge_port),
	    NETNS_TEST(test_addr),	    NETNS_TEST(test_route),
	    NETNS_TEST(test_link_set),	    NETNS_TEST(test_link_wait),
	    NETNS_TEST(test_sysctl),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_kernel_side: needs root (network namespaces), skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
