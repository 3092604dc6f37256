/* SPDX-License-Identifier: BSD-3-Clause */
/* Static routes in the main table. "ensure" is NLM_F_CREATE|NLM_F_REPLACE:
 * the kernel keys routes on (dst, metric) (+ tos for IPv4), so a second run
 * replaces the route with itself instead of adding a duplicate, and a route
 * that moved to another device (underlay failover) is updated in place. */
#define LOG_TYPE "netlink"
#include <agent_log.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "ks_priv.h"

/* "10.20.0.0/16 via 192.168.100.2 dev dp0", for messages. */
static const char *route_str(const struct route_cfg *r, const char *dev, char *buf, size_t len)
{
	char dst[KS_PREFIX_STRLEN], via[KS_PREFIX_STRLEN];
	int n;

	n = snprintf(buf, len, "route %s", ip_prefix_fmt(&r->dst, true, dst, sizeof(dst)));
	if (r->has_via && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " via %s",
			      ip_prefix_fmt(&r->via, false, via, sizeof(via)));
	if (dev != NULL && dev[0] != '\0' && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " dev %s", dev);
	return buf;
}

static bool family_ok(const struct ip_prefix *p)
{
	return (p->family == AF_INET && p->len <= 32) || (p->family == AF_INET6 && p->len <= 128);
}

/* The netlink object for R out of DEV (NULL/"" = let the kernel pick from
 * the gateway). Returns 0 or negative errno (-ENODEV: DEV is absent). */
static int route_build(struct ks_nl *nl, const struct route_cfg *r, const char *dev,
		       struct rtnl_route **out)
{
	struct nl_addr *dst = NULL, *gw = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct rtnl_route *route;
	int ifindex = 0, ret;

	if (!family_ok(&r->dst) || (r->has_via && r->via.family != r->dst.family))
		return -EINVAL;
	if (dev != NULL && dev[0] != '\0') {
		ifindex = ks_link_index(nl, dev);
		if (ifindex < 0)
			return ifindex;
	} else if (!r->has_via) {
		return -EINVAL; /* neither a device nor a gateway */
	}

	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	dst = ks_prefix_to_nladdr(&r->dst, true);
	if (r->has_via)
		gw = ks_prefix_to_nladdr(&r->via, false);
	if (route == NULL || nh == NULL || dst == NULL || (r->has_via && gw == NULL)) {
		ret = -ENOMEM;
		goto err;
	}
	rtnl_route_set_family(route, r->dst.family);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, r->protocol ? r->protocol : RTPROT_STATIC);
	rtnl_route_set_type(route, RTN_UNICAST);
	/* Like iproute2: an IPv4 route without a gateway is on-link. */
	if (r->dst.family == AF_INET && !r->has_via)
		rtnl_route_set_scope(route, RT_SCOPE_LINK);
	else
		rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
	ret = rtnl_route_set_dst(route, dst);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		goto err;
	}
	if (r->metric != 0)
		rtnl_route_set_priority(route, r->metric);
	if (ifindex > 0)
		rtnl_route_nh_set_ifindex(nh, ifindex);
	if (gw != NULL)
		rtnl_route_nh_set_gateway(nh, gw); /* single nexthop: sent as RTA_GATEWAY */
	rtnl_route_add_nexthop(route, nh);
	nh = NULL;
	nl_addr_put(dst);
	nl_addr_put(gw);
	*out = route;
	return 0;
err:
	nl_addr_put(dst);
	nl_addr_put(gw);
	if (nh != NULL)
		rtnl_route_nh_free(nh);
	if (route != NULL)
		rtnl_route_put(route);
	return ret;
}

static const char *route_dev(const struct route_cfg *r, const char *dev)
{
	return r->dev[0] != '\0' ? r->dev : dev;
}

int ks_route_ensure(struct ks_nl *nl, const struct route_cfg *r, const char *dev)
{
	struct rtnl_route *route;
	char desc[160];
	int ret;

	dev = route_dev(r, dev);
	route_str(r, dev, desc, sizeof(desc));
	ret = route_build(nl, r, dev, &route);
	if (ret < 0) {
		LOG(ERR, "cannot add %s: %s", desc, strerror(-ret));
		return ret;
	}
	ret = rtnl_route_add(nl->sk, route, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_route_put(route);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot add %s: %s", desc, strerror(-ret));
		return ret;
	}
	LOG(DEBUG, "%s in place", desc);
	return 0;
}

int ks_route_remove(struct ks_nl *nl, const struct route_cfg *r, const char *dev)
{
	struct rtnl_route *route;
	char desc[160];
	int ret;

	dev = route_dev(r, dev);
	route_str(r, dev, desc, sizeof(desc));
	ret = route_build(nl, r, dev, &route);
	if (ret == -ENODEV)
		return 0; /* its device is gone, so is the route */
	if (ret < 0) {
		LOG(ERR, "cannot remove %s: %s", desc, strerror(-ret));
		return ret;
	}
	ret = rtnl_route_delete(nl->sk, route, 0);
	rtnl_route_put(route);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		if (ret == -ESRCH || ret == -ENOENT)
			return 0; /* not there */
		LOG(ERR, "cannot remove %s: %s", desc, strerror(-ret));
		return ret;
	}
	LOG(INFO, "removed %s", desc);
	return 0;
}

/* Fill OUT from ROUTE and its nexthop NH (NULL: none, e.g. nexthop objects). */
static void route_fill(struct ks_route *out, struct rtnl_route *route, struct rtnl_nexthop *nh,
		       struct nl_cache *links)
{
	struct nl_addr *gw = nh != NULL ? rtnl_route_nh_get_gateway(nh) : NULL;

	memset(out, 0, sizeof(*out));
	ks_nladdr_to_prefix(rtnl_route_get_dst(route), &out->dst);
	out->dst.len = nl_addr_get_prefixlen(rtnl_route_get_dst(route));
	if (gw != NULL) {
		out->has_via = true;
		ks_nladdr_to_prefix(gw, &out->via);
		out->via.len = out->via.family == AF_INET6 ? 128 : 32;
	}
	if (nh != NULL && rtnl_route_nh_get_ifindex(nh) > 0)
		rtnl_link_i2name(links, rtnl_route_nh_get_ifindex(nh), out->dev, sizeof(out->dev));
	out->protocol = rtnl_route_get_protocol(route);
	out->metric = rtnl_route_get_priority(route);
}

int ks_route_list(struct ks_nl *nl, const char *ifname, struct ks_route *out, int max)
{
	struct nl_cache *routes = NULL, *links = NULL;
	int ifindex = 0, ret, n = 0;
	struct nl_object *obj;

	if (ifname != NULL) {
		ifindex = ks_link_index(nl, ifname);
		if (ifindex < 0)
			return ifindex;
	}
	ret = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &links);
	if (ret == 0)
		ret = rtnl_route_alloc_cache(nl->sk, AF_UNSPEC, 0, &routes);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot list routes: %s", strerror(-ret));
		goto out;
	}
	for (obj = nl_cache_get_first(routes); obj != NULL && n < max;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_route *route = (struct rtnl_route *)obj;
		int nnh = rtnl_route_get_nnexthops(route);
		int family = rtnl_route_get_family(route);

		if (rtnl_route_get_table(route) != RT_TABLE_MAIN ||
		    rtnl_route_get_type(route) != RTN_UNICAST ||
		    (family != AF_INET && family != AF_INET6))
			continue;
		if (nnh == 0 && ifname == NULL)
			route_fill(&out[n++], route, NULL, links);
		/* A multipath route yields one entry per nexthop. */
		for (int i = 0; i < nnh && n < max; i++) {
			struct rtnl_nexthop *nh = rtnl_route_nexthop_n(route, i);
			if (ifname != NULL && rtnl_route_nh_get_ifindex(nh) != ifindex)
				continue;
			route_fill(&out[n++], route, nh, links);
		}
	}
	ret = n;
out:
	if (routes != NULL)
		nl_cache_free(routes);
	if (links != NULL)
		nl_cache_free(links);
	return ret;
}
