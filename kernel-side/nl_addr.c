/* SPDX-License-Identifier: BSD-3-Clause */
/* Interface addresses (IPv4 and IPv6). State is read from a fresh dump on
 * every call so that "ensure" adds only what is missing. */
#define LOG_TYPE "netlink"
#include <agent_log.h>

#include <errno.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>

#include "ks_priv.h"

static bool prefix_valid(const struct ip_prefix *p)
{
	return (p->family == AF_INET && p->len <= 32) || (p->family == AF_INET6 && p->len <= 128);
}

static bool prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b)
{
	size_t alen = a->family == AF_INET6 ? 16 : 4;

	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr.bytes, b->addr.bytes, alen) == 0;
}

static bool is_link_local6(const struct ip_prefix *p)
{
	return p->family == AF_INET6 && p->addr.bytes[0] == 0xfe &&
	       (p->addr.bytes[1] & 0xc0) == 0x80;
}

/* ADDR's local address as a prefix; false if it has none. */
static bool addr_prefix(struct rtnl_addr *addr, struct ip_prefix *p)
{
	struct nl_addr *local = rtnl_addr_get_local(addr);

	if (local == NULL)
		return false;
	ks_nladdr_to_prefix(local, p);
	p->len = rtnl_addr_get_prefixlen(addr);
	return true;
}

/* Is P on IFINDEX? 1 yes, 0 no, or negative errno. */
static int addr_present(struct ks_nl *nl, int ifindex, const struct ip_prefix *p)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	int ret, found = 0;

	ret = rtnl_addr_alloc_cache(nl->sk, &cache);
	if (ret < 0)
		return ks_nl_err(nl, ret);
	for (obj = nl_cache_get_first(cache); obj != NULL && !found; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *addr = (struct rtnl_addr *)obj;
		struct ip_prefix cur;
		found = rtnl_addr_get_ifindex(addr) == ifindex && addr_prefix(addr, &cur) &&
			prefix_equal(&cur, p);
	}
	nl_cache_free(cache);
	return found;
}

static struct rtnl_addr *addr_build(int ifindex, const struct ip_prefix *p)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = ks_prefix_to_nladdr(p, false);

	if (addr == NULL || local == NULL || rtnl_addr_set_local(addr, local) < 0) {
		nl_addr_put(local);
		if (addr != NULL)
			rtnl_addr_put(addr);
		return NULL;
	}
	nl_addr_put(local);
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, p->family);
	rtnl_addr_set_prefixlen(addr, p->len);
	return addr;
}

int ks_addr_ensure(struct ks_nl *nl, const char *ifname, const struct ip_prefix *p)
{
	return ks_addr_ensure_flags(nl, ifname, p, 0);
}

int ks_addr_ensure_flags(struct ks_nl *nl, const char *ifname, const struct ip_prefix *p,
			 unsigned int flags)
{
	char pfx[KS_PREFIX_STRLEN];
	struct rtnl_addr *addr;
	int ifindex, ret;

	ip_prefix_fmt(p, true, pfx, sizeof(pfx));
	ret = ifindex = !prefix_valid(p) ? -EINVAL : ks_link_index(nl, ifname);
	if (ret >= 0)
		ret = addr_present(nl, ifindex, p);
	if (ret > 0)
		return 0;
	if (ret < 0)
		goto err;
	addr = addr_build(ifindex, p);
	if (addr == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	if (flags)
		rtnl_addr_set_flags(addr, flags);
	ret = rtnl_addr_add(nl->sk, addr, 0);
	rtnl_addr_put(addr);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		goto err;
	}
	LOG(INFO, "added %s to %s", pfx, ifname);
	return 0;
err:
	LOG(ERR, "cannot add %s to %s: %s", pfx, ifname, strerror(-ret));
	return ret;
}

int ks_addr_remove(struct ks_nl *nl, const char *ifname, const struct ip_prefix *p)
{
	char pfx[KS_PREFIX_STRLEN];
	struct rtnl_addr *addr;
	int ifindex, ret;

	ip_prefix_fmt(p, true, pfx, sizeof(pfx));
	ret = ifindex = !prefix_valid(p) ? -EINVAL : ks_link_index(nl, ifname);
	if (ret >= 0)
		ret = addr_present(nl, ifindex, p);
	if (ret == 0 || ret == -ENODEV)
		return 0; /* not there (or not even its link) */
	if (ret < 0)
		goto err;
	addr = addr_build(ifindex, p);
	if (addr == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	ret = rtnl_addr_delete(nl->sk, addr, 0);
	rtnl_addr_put(addr);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		if (ret == -EADDRNOTAVAIL)
			return 0; /* removed meanwhile */
		goto err;
	}
	LOG(INFO, "removed %s from %s", pfx, ifname);
	return 0;
err:
	LOG(ERR, "cannot remove %s from %s: %s", pfx, ifname, strerror(-ret));
	return ret;
}

int ks_addr_list(struct ks_nl *nl, const char *ifname, struct ip_prefix *out, int max)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	int ifindex, ret, n = 0;

	ifindex = ks_link_index(nl, ifname);
	if (ifindex < 0)
		return ifindex;
	ret = rtnl_addr_alloc_cache(nl->sk, &cache);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot list the addresses of %s: %s", ifname, strerror(-ret));
		return ret;
	}
	for (obj = nl_cache_get_first(cache); obj != NULL && n < max;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *addr = (struct rtnl_addr *)obj;
		if (rtnl_addr_get_ifindex(addr) != ifindex ||
		    rtnl_addr_get_scope(addr) >= RT_SCOPE_LINK || !addr_prefix(addr, &out[n]) ||
		    is_link_local6(&out[n]))
			continue;
		n++;
	}
	nl_cache_free(cache);
	return n;
}
