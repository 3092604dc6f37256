/* SPDX-License-Identifier: BSD-3-Clause */
/* The netlink mirror: parsers on crafted messages (dump and event share
 * them), table filtering, neighbour states, and a live dump + events in a
 * private network namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "nl_mirror.h"

#define MAX_REC 256
struct rec {
	int n_link, n_addr, n_route, n_neigh, n_del, begins, ends;
	struct mirror_route routes[MAX_REC];
	struct mirror_neigh neighs[MAX_REC];
	struct mirror_addr addrs[MAX_REC];
	struct mirror_link links[MAX_REC];
	bool route_del[MAX_REC], neigh_del[MAX_REC];
};

static void on_link(void *ctx, bool del, const struct mirror_link *l)
{
	struct rec *r = ctx;
	if (r->n_link < MAX_REC)
		r->links[r->n_link++] = *l;
	r->n_del += del;
}
static void on_addr(void *ctx, bool del, const struct mirror_addr *a)
{
	struct rec *r = ctx;
	if (r->n_addr < MAX_REC)
		r->addrs[r->n_addr++] = *a;
	r->n_del += del;
}
static void on_route(void *ctx, bool del, const struct mirror_route *rt)
{
	struct rec *r = ctx;
	if (r->n_route < MAX_REC) {
		r->route_del[r->n_route] = del;
		r->routes[r->n_route++] = *rt;
	}
	r->n_del += del;
}
static void on_neigh(void *ctx, bool del, const struct mirror_neigh *n)
{
	struct rec *r = ctx;
	if (r->n_neigh < MAX_REC) {
		r->neigh_del[r->n_neigh] = del;
		r->neighs[r->n_neigh++] = *n;
	}
	r->n_del += del;
}
static void on_begin(void *ctx)
{
	((struct rec *)ctx)->begins++;
}
static void on_end(void *ctx)
{
	((struct rec *)ctx)->ends++;
}
static const struct mirror_ops ops = {.link = on_link,
				      .addr = on_addr,
				      .route = on_route,
				      .neigh = on_neigh,
				      .resync_begin = on_begin,
				      .resync_end = on_end};

static struct nlmsghdr *route_msg(char *buf, uint16_t type, int family, const char *dst, int len,
				  const char *gw, uint32_t table, int oif)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	uint8_t a[16];

	nlh->nlmsg_type = type;
	rtm->rtm_family = family;
	rtm->rtm_dst_len = len;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_COMPAT;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_protocol = RTPROT_STATIC;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (dst) {
		inet_pton(family, dst, a);
		mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, a);
	}
	if (gw) {
		inet_pton(family, gw, a);
		mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, a);
	}
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, oif);
	return nlh;
}

static void test_route_v4_v6(void **state)
{
	char buf[512];
	struct rec *r = calloc(1, sizeof(*r));
	struct nl_mirror *m;
	uint8_t want[16];

	assert_int_equal(nl_mirror_new_detached(&m, &ops, r, NULL, 0), 0);
	assert_int_equal(nl_mirror_dispatch(m, route_msg(buf, RTM_NEWROUTE, AF_INET, "10.10.2.0",
							 24, "192.168.100.2", RT_TABLE_MAIN, 7)),
			 0);
	assert_int_equal(r->n_route, 1);
	assert_int_equal(r->routes[0].dst_len, 24);
	assert_int_equal(r->routes[0].oif, 7);
	assert_true(r->routes[0].has_gw);
	inet_pton(AF_INET, "192.168.100.2", want);
	assert_memory_equal(r->routes[0].gw, want, 4);
	assert_false(r->route_del[0]);

	assert_int_equal(nl_mirror_dispatch(m, route_msg(buf, RTM_DELROUTE, AF_INET6, "fd00:20::",
							 64, "fd00:100::2", RT_TABLE_MAIN, 3)),
			 0);
	assert_int_equal(r->n_route, 2);
	assert_true(r->route_del[1]);
	assert_int_equal(r->routes[1].family, AF_INET6);
	inet_pton(AF_INET6, "fd00:20::", want);
	assert_memory_equal(r->routes[1].dst, want, 16);

	/* default route: no RTA_DST */
	assert_int_equal(nl_mirror_dispatch(m, route_msg(buf, RTM_NEWROUTE, AF_INET, NULL, 0,
							 "192.168.100.2", RT_TABLE_MAIN, 7)),
			 0);
	assert_int_equal(r->routes[2].dst_len, 0);
	nl_mirror_close(m);
	free(r);
}

static void test_route_table_filter(void **state)
{
	char buf[512];
	struct rec *r = calloc(1, sizeof(*r));
	uint32_t tables[] = {100};
	struct nl_mirror *m;

	assert_int_equal(nl_mirror_new_detached(&m, &ops, r, tables, 1), 0);
	nl_mirror_dispatch(
	    m, route_msg(buf, RTM_NEWROUTE, AF_INET, "10.1.0.0", 16, NULL, RT_TABLE_LOCAL, 1));
	nl_mirror_dispatch(m, route_msg(buf, RTM_NEWROUTE, AF_INET, "10.2.0.0", 16, NULL, 200, 1));
	assert_int_equal(r->n_route, 0);
	assert_int_equal(nl_mirror_stats(m)->ignored, 2);
	/* a table above 255 is carried in RTA_TABLE only */
	uint32_t big[] = {1000};
	nl_mirror_close(m);
	assert_int_equal(nl_mirror_new_detached(&m, &ops, r, big, 1), 0);
	nl_mirror_dispatch(m, route_msg(buf, RTM_NEWROUTE, AF_INET, "10.3.0.0", 16, NULL, 1000, 1));
	assert_int_equal(r->n_route, 1);
	assert_int_equal(r->routes[0].table, 1000);
	nl_mirror_close(m);
	free(r);
}

static struct nlmsghdr *neigh_msg(char *buf, uint16_t type, int family, const char *ip,
				  const uint8_t *mac, uint16_t state, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	uint8_t a[16];

	nlh->nlmsg_type = type;
	ndm->ndm_family = family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = state;
	if (ip) {
		inet_pton(family, ip, a);
		mnl_attr_put(nlh, NDA_DST, family == AF_INET ? 4 : 16, a);
	}
	if (mac)
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nlh;
}

static void test_neigh_states(void **state)
{
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x11};
	char buf[512];
	struct rec *r = calloc(1, sizeof(*r));
	struct nl_mirror *m;

	assert_int_equal(nl_mirror_new_detached(&m, &ops, r, NULL, 0), 0);
	nl_mirror_dispatch(
	    m, neigh_msg(buf, RTM_NEWNEIGH, AF_INET, "10.10.1.11", mac, NUD_REACHABLE, 5));
	nl_mirror_dispatch(
	    m, neigh_msg(buf, RTM_NEWNEIGH, AF_INET6, "fd00:10::11", mac, NUD_STALE, 5));
	nl_mirror_dispatch(
	    m, neigh_msg(buf, RTM_NEWNEIGH, AF_INET, "10.10.1.12", NULL, NUD_INCOMPLETE, 5));
	nl_mirror_dispatch(m,
			   neigh_msg(buf, RTM_NEWNEIGH, AF_INET, "10.10.1.13", mac, NUD_FAILED, 5));
	assert_int_equal(r->n_neigh, 4);
	assert_false(r->neigh_del[0]);
	assert_memory_equal(r->neighs[0].mac, mac, 6);
	assert_false(r->neigh_del[1]);
	assert_true(r->neigh_del[2]); /* not resolved: must not be used */
	assert_true(r->neigh_del[3]);
	/* bridge FDB entries share the message type: ignored */
	nl_mirror_dispatch(m, neigh_msg(buf, RTM_NEWNEIGH, AF_BRIDGE, NULL, mac, NUD_REACHABLE, 5));
	assert_int_equal(r->n_neigh, 4);
	nl_mirror_close(m);
	free(r);
}

static void test_malformed(void **state)
{
	char buf[512];
	struct rec *r = calloc(1, sizeof(*r));
	struct nl_mirror *m;
	struct nlmsghdr *nlh;

	assert_int_equal(nl_mirror_new_detached(&m, &ops, r, NULL, 0), 0);
	/* truncated: header only */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	assert_int_equal(nl_mirror_dispatch(m, nlh), -EINVAL);
	/* v4 route with a 16-byte destination */
	nlh = route_msg(buf, RTM_NEWROUTE, AF_INET, NULL, 24, NULL, RT_TABLE_MAIN, 1);
	uint8_t a[16] = {10};
	mnl_attr_put(nlh, RTA_DST, 16, a);
	assert_int_equal(nl_mirror_dispatch(m, nlh), -EINVAL);
	/* prefix length beyond the family */
	assert_int_equal(nl_mirror_dispatch(m, route_msg(buf, RTM_NEWROUTE, AF_INET, "10.0.0.0", 33,
							 NULL, RT_TABLE_MAIN, 1)),
			 -EINVAL);
	/* neighbour without a destination */
	assert_int_equal(nl_mirror_dispatch(m, neigh_msg(buf, RTM_NEWNEIGH, AF_INET, NULL, NULL,
							 NUD_REACHABLE, 1)),
			 -EINVAL);
	assert_int_equal(nl_mirror_stats(m)->parse_errors, 4);
	assert_int_equal(r->n_route + r->n_neigh, 0);
	nl_mirror_close(m);
	free(r);
}

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool has_route(struct rec *r, int family, const char *dst, int len, bool del)
{
	uint8_t a[16];
	inet_pton(family, dst, a);
	for (int i = 0; i < r->n_route; i++)
		if (r->routes[i].family == family && r->routes[i].dst_len == len &&
		    memcmp(r->routes[i].dst, a, family == AF_INET ? 4 : 16) == 0 &&
		    r->route_del[i] == del)
			return true;
	return false;
}

/* Live: a private netns; dump sees what exists, events see what changes. */
static void test_live_dump_and_events(void **state)
{
	struct rec *r = calloc(1, sizeof(*r));
	struct nl_mirror *m;

	if (unshare(CLONE_NEWNET) < 0)
		fail_msg("unshare(CLONE_NEWNET): %s (the unit tests run as root)", strerror(errno));
	assert_int_equal(sh("ip link add t0 type veth peer name t1 && ip link set t0 up && "
			    "ip link set t1 up && ip addr add 192.0.2.1/24 dev t0 && "
			    "ip route add 198.51.100.0/24 via 192.0.2.2"),
			 0);
	assert_int_equal(nl_mirror_open(&m, &ops, r, NULL, 0), 0);
	assert_int_equal(nl_mirror_sync(m), 0);
	assert_int_equal(r->begins, 1);
	assert_int_equal(r->ends, 1);
	assert_true(has_route(r, AF_INET, "198.51.100.0", 24, false));
	assert_true(r->n_link >= 3); /* lo, t0, t1 */
	assert_true(r->n_addr >= 1);

	memset(r, 0, sizeof(*r));
	assert_int_equal(sh("ip route add 203.0.113.0/24 via 192.0.2.3 && "
			    "ip route del 198.51.100.0/24 && "
			    "ip neigh add 192.0.2.9 lladdr 02:00:00:00:00:09 dev t0 nud permanent"),
			 0);
	assert_int_equal(nl_mirror_process(m), 0);
	assert_true(has_route(r, AF_INET, "203.0.113.0", 24, false));
	assert_true(has_route(r, AF_INET, "198.51.100.0", 24, true));
	assert_true(r->n_neigh >= 1);
	assert_true(nl_mirror_stats(m)->events >= 3);

	/* a link of another kind with a link of its own (a real macvlan; this
	 * machine's kernel has no 802.1Q: VLAN messages are crafted below, and
	 * the guest bed's guest_vlans runs real ones end to end) */
	memset(r, 0, sizeof(*r));
	assert_int_equal(sh("ip link add link t0 name t0.mv type macvlan"), 0);
	assert_int_equal(nl_mirror_process(m), 0);
	int found = 0;
	for (int i = 0; i < r->n_link; i++)
		if (strcmp(r->links[i].name, "t0.mv") == 0) {
			assert_int_equal(r->links[i].vlan_id, 0);
			found++;
		}
	assert_true(found >= 1);
	nl_mirror_close(m);
	free(r);
}

/* RTM_NEWLINK of a VLAN netdev, as the kernel encodes it (rtnl_fill_ifinfo,
 * vlan_fill_info): IFLA_LINK, IFLA_LINKINFO {KIND "vlan", DATA {VLAN_ID,
 * VLAN_PROTOCOL (big endian)}}. KIND NULL: no DATA. */
static struct nlmsghdr *vlan_link_msg(char *buf, const char *kind, int vid, uint16_t proto,
				      bool with_data)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct nlattr *info, *data;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = 30;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "dp0.100");
	mnl_attr_put_u32(nlh, IFLA_LINK, 20);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (with_data) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u16(nlh, IFLA_VLAN_ID, (uint16_t)vid);
		mnl_attr_put_u16(nlh, IFLA_VLAN_PROTOCOL, htons(proto));
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

static void test_vlan_links(void **state)
{
	struct rec *r = calloc(1, sizeof(*r));
	struct nl_mirror *m;
	char buf[512];

	(void)state;
	assert_int_equal(nl_mirror_new_detached(&m, &ops, r, NULL, 0), 0);
	assert_int_equal(nl_mirror_dispatch(m, vlan_link_msg(buf, "vlan", 100, 0x8100, true)), 0);
	assert_int_equal(r->n_link, 1);
	assert_int_equal(r->links[0].vlan_id, 100);
	assert_int_equal(r->links[0].link, 20);
	/* 802.1ad (QinQ's outer tag), another kind, no data: not a VID */
	assert_int_equal(nl_mirror_dispatch(m, vlan_link_msg(buf, "vlan", 100, 0x88a8, true)), 0);
	assert_int_equal(nl_mirror_dispatch(m, vlan_link_msg(buf, "macvlan", 100, 0x8100, true)),
			 0);
	assert_int_equal(nl_mirror_dispatch(m, vlan_link_msg(buf, "vlan", 100, 0x8100, false)), 0);
	assert_int_equal(r->n_link, 4);
	for (int i = 1; i < 4; i++)
		assert_int_equal(r->links[i].vlan_id, 0);
	nl_mirror_close(m);
	free(r);
}

/* A message sent to the mirror's event socket by another process (which
 * CAP_NET_ADMIN allows) is not the kernel's: skipped and counted, the FIB
 * never hears of it; the kernel's own events still are. */
static void test_foreign_sender_ignored(void **state)
{
	struct rec *r = calloc(1, sizeof(*r));
	struct sockaddr_nl self = {0}, to = {.nl_family = AF_NETLINK};
	socklen_t sl = sizeof(self);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nl_mirror *m;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	assert_int_equal(sh("ip link add t0 type veth peer name t1 && ip link set t0 up && "
			    "ip link set t1 up && ip addr add 192.0.2.1/24 dev t0"),
			 0);
	assert_int_equal(nl_mirror_open(&m, &ops, r, NULL, 0), 0);
	assert_int_equal(nl_mirror_sync(m), 0);
	assert_int_equal(getsockname(nl_mirror_fd(m), (struct sockaddr *)&self, &sl), 0);

	/* a forged "route added" from this process to the mirror's port */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	*rtm = (struct rtmsg){.rtm_family = AF_INET,
			      .rtm_dst_len = 24,
			      .rtm_table = RT_TABLE_MAIN,
			      .rtm_protocol = RTPROT_STATIC,
			      .rtm_type = RTN_UNICAST};
	mnl_attr_put_u32(nlh, RTA_DST, htonl(0xcb007100)); /* 203.0.113.0 */
	mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(0xc0000202));
	mnl_attr_put_u32(nlh, RTA_OIF, if_nametoindex("t0"));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	assert_true(fd >= 0);
	to.nl_pid = self.nl_pid;
	assert_int_equal(sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)nlh->nlmsg_len);
	close(fd);
	/* and a real one from the kernel after it */
	memset(r, 0, sizeof(*r));
	assert_int_equal(sh("ip route add 198.51.100.0/24 via 192.0.2.2"), 0);
	assert_int_equal(nl_mirror_process(m), 0);
	assert_false(has_route(r, AF_INET, "203.0.113.0", 24, false));
	assert_true(has_route(r, AF_INET, "198.51.100.0", 24, false));
	assert_int_equal(nl_mirror_stats(m)->foreign, 1);
	nl_mirror_close(m);
	free(r);
}

/* Overrun: events are lost (ENOBUFS) while the mirror is not reading; the
 * next read must trigger a full resync that ends with exactly the kernel's
 * state — nothing missing, nothing stale. */
struct set {
	int routes, begins, ends;
	bool have[400];
};
static void set_route(void *ctx, bool del, const struct mirror_route *r)
{
	struct set *s = ctx;
	/* 198.18.N.0/24 for N in 0..399 is carried as 198.(18 + N / 256).(N % 256).0 */
	if (r->family != AF_INET || r->dst_len != 24 || r->dst[0] != 198)
		return;
	int n = (r->dst[1] - 18) * 256 + r->dst[2];
	if (n < 0 || n >= 400)
		return;
	if (s->have[n] == !del)
		return;
	s->have[n] = !del;
	s->routes += del ? -1 : 1;
}
static void set_begin(void *ctx)
{
	struct set *s = ctx;
	s->begins++;
	/* a resync sets again everything that exists: start from nothing */
	memset(s->have, 0, sizeof(s->have));
	s->routes = 0;
}
static void set_end(void *ctx)
{
	((struct set *)ctx)->ends++;
}
static const struct mirror_ops set_ops = {
    .route = set_route, .resync_begin = set_begin, .resync_end = set_end};

/* A private netns with one veth, a mirror synced on it whose event socket
 * holds only RCVBUF bytes: what the overrun tests start from. */
static struct nl_mirror *overrun_lab(struct set *s, int rcvbuf)
{
	struct nl_mirror *m;

	if (unshare(CLONE_NEWNET) < 0)
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	assert_int_equal(sh("ip link add t0 type veth peer name t1 && ip link set t0 up && "
			    "ip link set t1 up && ip addr add 192.0.2.1/24 dev t0"),
			 0);
	assert_int_equal(nl_mirror_open(&m, &set_ops, s, NULL, 0), 0);
	assert_int_equal(nl_mirror_sync(m), 0);
	assert_int_equal(nl_mirror_set_rcvbuf(m, rcvbuf), 0);
	return m;
}

/* One `ip -batch` of the 400 routes 198.18.N.0/24 (OPS: "add", "del" or
 * "add del"), then EXTRA, while nobody reads the event socket. */
static void ip_batch(const char *ops, const char *extra)
{
	char path[] = "/tmp/nlmirror-batch-XXXXXX", cmd[128], op[8];
	int fd = mkstemp(path);
	const char *o = ops;
	FILE *batch;

	assert_true(fd >= 0);
	batch = fdopen(fd, "w");
	while (sscanf(o, "%7s", op) == 1) {
		for (int n = 0; n < 400; n++)
			fprintf(batch, "route %s 198.%d.%d.0/24 via 192.0.2.2\n", op, 18 + n / 256,
				n % 256);
		o += strspn(o, " ");
		o += strcspn(o, " ");
	}
	if (extra)
		fprintf(batch, "%s\n", extra);
	fclose(batch);
	snprintf(cmd, sizeof(cmd), "ip -batch %s", path);
	assert_int_equal(sh(cmd), 0);
	unlink(path);
}

static void test_overrun_resyncs(void **state)
{
	struct set *s = calloc(1, sizeof(*s));
	struct nl_mirror *m = overrun_lab(s, 4096);

	/* 400 routes in one `ip -batch` while nobody reads the event socket */
	ip_batch("add", NULL);

	assert_int_equal(nl_mirror_process(m), 0);
	assert_true(nl_mirror_stats(m)->overruns >= 1);
	assert_true(s->begins >= 2 && s->ends == s->begins);
	assert_int_equal(s->routes, 400);

	/* and a removal after the resync is seen as an event again */
	assert_int_equal(nl_mirror_set_rcvbuf(m, 1 << 20), 0);
	assert_int_equal(sh("ip route del 198.18.7.0/24"), 0);
	assert_int_equal(nl_mirror_process(m), 0);
	assert_int_equal(s->routes, 399);
	assert_false(s->have[7]);
	nl_mirror_close(m);
	free(s);
}

/* The bug a resync must not have: routes added then deleted while events
 * are lost. The first adds are still queued when the kernel reports the
 * overrun; replayed after the dump they would resurrect deleted routes for
 * good. The queue is drained before the dump, so nothing stays. */
static void test_overrun_add_then_delete(void **state)
{
	struct set *s = calloc(1, sizeof(*s));
	struct nl_mirror *m = overrun_lab(s, 16384);

	/* 400 adds then their 400 deletes, and a survivor to see the dump apply */
	ip_batch("add del", "route add 198.18.9.0/24 via 192.0.2.2");

	while (nl_mirror_process(m) > 0)
		;
	assert_true(nl_mirror_stats(m)->overruns >= 1);
	assert_true(nl_mirror_stats(m)->drained >= 1);
	assert_false(nl_mirror_stats(m)->behind);
	assert_int_equal(s->routes, 1);
	assert_true(s->have[9]);
	nl_mirror_close(m);
	free(s);
}

/* RTA_MULTIPATH: every path with its weight; RTA_NH_ID; nexthop objects. */
static void test_multipath_and_nexthops(void **state)
{
	char buf[1024];
	struct rec *r = calloc(1, sizeof(*r));
	struct nl_mirror *m;
	struct nlmsghdr *nlh;
	struct nlattr *mp;
	uint8_t gw[4];

	assert_int_equal(nl_mirror_new_detached(&m, &ops, r, NULL, 0), 0);
	nlh = route_msg(buf, RTM_NEWROUTE, AF_INET, "10.20.0.0", 16, NULL, RT_TABLE_MAIN, 0);
	mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
	for (int i = 0; i < 3; i++) {
		struct rtnexthop *nh =
		    (struct rtnexthop *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
		nlh->nlmsg_len += NLMSG_ALIGN(sizeof(*nh));
		memset(nh, 0, sizeof(*nh));
		nh->rtnh_ifindex = 7;
		nh->rtnh_hops = (uint8_t)i; /* weight i + 1 */
		nh->rtnh_flags = i == 1 ? RTNH_F_DEAD : 0;
		gw[0] = 192, gw[1] = 0, gw[2] = 2, gw[3] = (uint8_t)(10 + i);
		mnl_attr_put(nlh, RTA_GATEWAY, 4, gw);
		nh->rtnh_len = (unsigned short)((char *)nlh + nlh->nlmsg_len - (char *)nh);
	}
	mnl_attr_nest_end(nlh, mp);
	assert_int_equal(nl_mirror_dispatch(m, nlh), 0);
	assert_int_equal(r->n_route, 1);
	assert_true(r->routes[0].multipath);
	assert_int_equal(r->routes[0].n_paths, 2); /* the dead one is left out */
	assert_int_equal(r->routes[0].paths[0].gw[3], 10);
	assert_int_equal(r->routes[0].paths[0].weight, 1);
	assert_int_equal(r->routes[0].paths[1].gw[3], 12);
	assert_int_equal(r->routes[0].paths[1].weight, 3);
	assert_int_equal(r->routes[0].paths[1].oif, 7);

	nlh = route_msg(buf, RTM_NEWROUTE, AF_INET, "10.21.0.0", 16, NULL, RT_TABLE_MAIN, 0);
	mnl_attr_put_u32(nlh, RTA_NH_ID, 42);
	assert_int_equal(nl_mirror_dispatch(m, nlh), 0);
	assert_int_equal(r->routes[1].nh_id, 42);
	assert_int_equal(r->routes[1].n_paths, 0);
	nl_mirror_close(m);
	free(r);
}

struct nhrec {
	int n, del;
	struct mirror_nexthop last;
};
static void on_nh(void *ctx, bool del, const struct mirror_nexthop *nh)
{
	struct nhrec *r = ctx;
	r->n++;
	r->del += del;
	r->last = *nh;
}

static void test_nexthop_parse(void **state)
{
	static const struct mirror_ops nh_ops = {.nexthop = on_nh};
	char buf[512];
	struct nhrec r = {0};
	struct nl_mirror *m;
	struct nlmsghdr *nlh;
	struct nhmsg *nhm;
	uint8_t gw[4] = {192, 0, 2, 1};
	struct nexthop_grp grp[2] = {{.id = 1, .weight = 0}, {.id = 2, .weight = 4}};

	assert_int_equal(nl_mirror_new_detached(&m, &nh_ops, &r, NULL, 0), 0);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWNEXTHOP;
	nhm = mnl_nlmsg_put_extra_header(nlh, sizeof(*nhm));
	nhm->nh_family = AF_INET;
	mnl_attr_put_u32(nlh, NHA_ID, 1);
	mnl_attr_put_u32(nlh, NHA_OIF, 7);
	mnl_attr_put(nlh, NHA_GATEWAY, 4, gw);
	assert_int_equal(nl_mirror_dispatch(m, nlh), 0);
	assert_int_equal(r.last.id, 1);
	assert_int_equal(r.last.oif, 7);
	assert_true(r.last.has_gw);
	assert_memory_equal(r.last.gw, gw, 4);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWNEXTHOP;
	nhm = mnl_nlmsg_put_extra_header(nlh, sizeof(*nhm));
	mnl_attr_put_u32(nlh, NHA_ID, 10);
	mnl_attr_put(nlh, NHA_GROUP, sizeof(grp), grp);
	assert_int_equal(nl_mirror_dispatch(m, nlh), 0);
	assert_int_equal(r.last.n_grp, 2);
	assert_int_equal(r.last.grp[1].id, 2);
	assert_int_equal(r.last.grp[1].weight, 5);

	nlh->nlmsg_type = RTM_DELNEXTHOP;
	assert_int_equal(nl_mirror_dispatch(m, nlh), 0);
	assert_int_equal(r.del, 1);
	/* no NHA_ID: malformed */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWNEXTHOP;
	mnl_nlmsg_put_extra_header(nlh, sizeof(*nhm));
	assert_int_equal(nl_mirror_dispatch(m, nlh), -EINVAL);
	nl_mirror_close(m);
}

/* The walk over a recv() buffer, shared by events and dumps, on what the
 * fuzzer found (tests/fuzz/corpus/fuzz_nl_mirror/crash-*): a length beyond
 * 2^31 (libmnl's mnl_nlmsg_ok takes it for a negative int and lets it
 * through) and a truncated NLMSG_ERROR. Each stays inside the buffer. */
static void test_feed_hostile(void **state)
{
	struct rec *r = calloc(1, sizeof(*r));
	struct nl_mirror *m;
	struct nlmsghdr *nlh, *bad;
	size_t len;
	char *buf;
	bool intr = false;

	assert_int_equal(nl_mirror_new_detached(&m, &ops, r, NULL, 0), 0);
	/* exactly sized (the sanitizer build sees any read beyond) */
	buf = calloc(1, 1024);
	nlh = route_msg(buf, RTM_NEWROUTE, AF_INET, "10.10.2.0", 24, NULL, RT_TABLE_MAIN, 7);
	len = NLMSG_ALIGN(nlh->nlmsg_len);
	bad = (struct nlmsghdr *)(buf + len);
	memset(bad, 0x9e, 64);
	bad->nlmsg_type = RTM_NEWROUTE;
	len += 64;
	buf = realloc(buf, len);
	assert_int_equal(nl_mirror_feed_events(m, buf, len), 0);
	assert_int_equal(r->n_route, 1);
	assert_int_equal(nl_mirror_stats(m)->events, 1);
	assert_int_equal(nl_mirror_stats(m)->parse_errors, 1);
	assert_int_equal(nl_mirror_feed_dump(m, buf, len, 0, 0, &intr), 1);
	assert_int_equal(r->n_route, 2);
	/* a last message whose padding is not in the buffer */
	nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_len -= 1;
	assert_int_equal(nl_mirror_feed_events(m, buf, nlh->nlmsg_len), 0);
	assert_int_equal(r->n_route, 2);
	free(buf);

	/* NLMSG_ERROR without its error code */
	buf = calloc(1, sizeof(*nlh));
	nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_len = sizeof(*nlh);
	nlh->nlmsg_type = NLMSG_ERROR;
	assert_int_equal(nl_mirror_feed_dump(m, buf, sizeof(*nlh), 0, 0, &intr), -EBADMSG);
	free(buf);
	nl_mirror_close(m);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_v4_v6),
	    cmocka_unit_test(test_vlan_links),
	    cmocka_unit_test(test_route_table_filter),
	    cmocka_unit_test(test_neigh_states),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_live_dump_and_events),
	    cmocka_unit_test(test_foreign_sender_ignored),
	    cmocka_unit_test(test_overrun_resyncs),
	    cmocka_unit_test(test_overrun_add_then_delete),
	    cmocka_unit_test(test_multipath_and_nexthops),
	    cmocka_unit_test(test_nexthop_parse),
	    cmocka_unit_test(test_feed_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
