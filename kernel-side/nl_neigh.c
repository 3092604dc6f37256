/* SPDX-License-Identifier: BSD-3-Clause */
/* Neighbours (ARP / NDP entries). Only one operation: copying the resolved
 * neighbours of one netdev to another, so that a planned move of the
 * underlay (dp0 -> the NIC netdev) needs no address resolution on the new
 * device while the old path still carries the replies. */
#define LOG_TYPE "netlink"
#include <agent_log.h>

#include <errno.h>
#include <string.h>

#include <linux/neighbour.h>
#include <netlink/cache.h>
#include <netlink/route/neighbour.h>

#include "ks_priv.h"

/* States whose link-layer address was learnt and is still believed. Not
 * NUD_NOARP: those are the kernel's own (multicast, broadcast), made on
 * each device; copied as STALE they would be probed, fail, and drop that
 * multicast (MLD, the solicited-node groups of ND) on the new device. */
#define NUD_USABLE (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)

static bool multicast(const struct nl_addr *a)
{
	const uint8_t *b = nl_addr_get_binary_addr(a);

	if (nl_addr_get_family(a) == AF_INET)
		return (b[0] & 0xf0) == 0xe0 ||
		       (b[0] == 0xff && b[1] == 0xff && b[2] == 0xff && b[3] == 0xff);
	return b[0] == 0xff;
}

int ks_neigh_copy(struct ks_nl *nl, const char *from, const char *to)
{
	int from_idx = ks_link_index(nl, from), to_idx = ks_link_index(nl, to);
	struct nl_cache *cache;
	struct nl_object *obj;
	int ret, n = 0;

	if (from_idx < 0 || to_idx < 0)
		return from_idx < 0 ? from_idx : to_idx;
	ret = rtnl_neigh_alloc_cache(nl->sk, &cache);
	if (ret < 0)
		return ks_nl_err(nl, ret);
	for (obj = nl_cache_get_first(cache); obj != NULL; obj = nl_cache_get_next(obj)) {
		struct rtnl_neigh *src = (struct rtnl_neigh *)obj, *dst;
		int family = rtnl_neigh_get_family(src);

		if (rtnl_neigh_get_ifindex(src) != from_idx || rtnl_neigh_get_lladdr(src) == NULL ||
		    rtnl_neigh_get_dst(src) == NULL || !(rtnl_neigh_get_state(src) & NUD_USABLE) ||
		    (rtnl_neigh_get_state(src) & NUD_NOARP) ||
		    (family != AF_INET && family != AF_INET6) ||
		    nl_addr_get_len(rtnl_neigh_get_dst(src)) != (family == AF_INET ? 4u : 16u) ||
		    multicast(rtnl_neigh_get_dst(src)))
			continue;
		dst = rtnl_neigh_alloc();
		if (dst == NULL) {
			ret = -ENOMEM;
			break;
		}
		rtnl_neigh_set_ifindex(dst, to_idx);
		rtnl_neigh_set_family(dst, family);
		rtnl_neigh_set_dst(dst, rtnl_neigh_get_dst(src));
		rtnl_neigh_set_lladdr(dst, rtnl_neigh_get_lladdr(src));
		/* STALE: used at once, confirmed by the kernel on its own later;
		 * an administrator's permanent entry stays permanent */
		rtnl_neigh_set_state(dst, rtnl_neigh_get_state(src) & NUD_PERMANENT ? NUD_PERMANENT
										    : NUD_STALE);
		ret = rtnl_neigh_add(nl->sk, dst, NLM_F_CREATE | NLM_F_REPLACE);
		rtnl_neigh_put(dst);
		if (ret < 0) {
			ret = ks_nl_err(nl, ret);
			break;
		}
		n++;
	}
	nl_cache_free(cache);
	if (ret < 0) {
		LOG(WARNING, "copying neighbours from %s to %s: %s", from, to, strerror(-ret));
		return ret;
	}
	LOG(INFO, "copied %d neighbour(s) from %s to %s", n, from, to);
	return n;
}
