/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the dataplane's netlink mirror (dpdk-side/mirror/) on
 * arbitrary bytes taken as what one recv() on a NETLINK_ROUTE socket
 * returns: walked and dispatched on nlmsg_type by the same code as events
 * (nl_mirror_feed_events) and as dump replies (nl_mirror_feed_dump), into
 * every parser. As in tests/unit/test_nl_mirror.c, a detached mirror (no
 * socket) feeds mock consumers; these check what the parsers promise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nl_mirror.h"

static void check_family(int family, const uint8_t *prefix_len, unsigned int len)
{
	if (family != AF_INET && family != AF_INET6)
		abort();
	if (prefix_len != NULL && len > (family == AF_INET ? 32u : 128u))
		abort();
}

static void on_link(void *ctx, bool del, const struct mirror_link *l)
{
	if (memchr(l->name, '\0', sizeof(l->name)) == NULL)
		abort();
}

static void on_addr(void *ctx, bool del, const struct mirror_addr *a)
{
	check_family(a->family, NULL, 0);
}

static void on_route(void *ctx, bool del, const struct mirror_route *r)
{
	check_family(r->family, &r->dst_len, r->dst_len);
	if (r->n_paths < 0 || r->n_paths > MIRROR_MAX_PATHS || (r->nh_id != 0 && r->n_paths != 0))
		abort();
	for (int i = 0; i < r->n_paths; i++)
		if (r->paths[i].weight < 1 || r->paths[i].weight > 256)
			abort();
}

static void on_neigh(void *ctx, bool del, const struct mirror_neigh *n)
{
	check_family(n->family, NULL, 0);
}

static void on_nexthop(void *ctx, bool del, const struct mirror_nexthop *nh)
{
	if (nh->n_grp < 0 || nh->n_grp > MIRROR_MAX_PATHS)
		abort();
	for (int i = 0; i < nh->n_grp; i++)
		if (nh->grp[i].weight < 1 || nh->grp[i].weight > 256)
			abort();
}

static const struct mirror_ops ops = {
    .link = on_link,
    .addr = on_addr,
    .route = on_route,
    .neigh = on_neigh,
    .nexthop = on_nexthop,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* main, plus a table above 255 (carried in RTA_TABLE only) */
	static const uint32_t tables[] = {100, 1000};
	struct nl_mirror *m;
	bool intr = false;

	if (nl_mirror_new_detached(&m, &ops, NULL, tables, 2) < 0)
		return 0;
	nl_mirror_feed_events(m, data, size);
	nl_mirror_feed_dump(m, data, size, 0, 0, &intr);
	nl_mirror_close(m);
	return 0;
}
