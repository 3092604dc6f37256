/* SPDX-License-Identifier: BSD-3-Clause */
/* The Linux side of the split topology, from the config: the VM bridge, and
 * where the underlay (the NIC's addresses and the routes through it) lives —
 * on the exception netdev while DPDK owns the NIC, on the kernel NIC netdev
 * otherwise. Everything here goes through kernel-side's idempotent calls, so
 * running it against an already configured host changes nothing. */
#define LOG_TYPE "kernel"
#include <agent_log.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include <linux/if_addr.h>

#include <kernel_side.h>

#include "agentd.h"

/* One VM bridge: GW_MAC NULL for the first (its MAC is pinned as it is),
 * else the first one's MAC, which every VM bridge shares: the steering
 * programs know one gateway MAC, and DPDK rewrites with it. */
static int setup_one_bridge(struct agentd *a, const struct bridge_cfg *b, const uint8_t *gw_mac)
{
	int ret;

	ret = ks_bridge_ensure(a->nl, b->name);
	if (ret < 0)
		return ret;
	if ((gw_mac && (ret = ks_link_set_mac(a->nl, b->name, gw_mac)) < 0) ||
	    (ret = ks_bridge_pin_mac(a->nl, b->name)) < 0)
		return ret;
	for (int i = 0; i < b->n_addrs; i++) {
		ret = ks_addr_ensure(a->nl, b->name, &b->addrs[i]);
		if (ret < 0)
			return ret;
	}
	for (int i = 0; i < b->n_ports; i++) {
		const char *port = b->ports[i];
		if (ks_link_index(a->nl, port) < 0) {
			/* A VM that is not running yet: not an error. */
			LOG(WARNING, "bridge port %s does not exist (yet)", port);
			continue;
		}
		ret = ks_bridge_port_ensure(a->nl, b->name, port);
		if (ret < 0)
			return ret;
	}
	LOG(INFO, "bridge %s: %d address(es), %d port(s) configured", b->name, b->n_addrs,
	    b->n_ports);
	return 0;
}

int kernel_setup_bridge(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	struct ks_link_info li;
	int ret;

	if ((ret = ks_sysctl_set("net/ipv4/ip_forward", "1")) < 0 ||
	    (ret = ks_sysctl_set("net/ipv6/conf/all/forwarding", "1")) < 0)
		return ret;
	/* the steering programs and the VMs know the bridge by its MAC */
	ret = setup_one_bridge(a, &cfg->bridge, NULL);
	if (ret < 0 || cfg->n_bridges == 0)
		return ret;
	ret = ks_link_get(a->nl, cfg->bridge.name, &li);
	if (ret < 0)
		return ret;
	for (int i = 0; i < cfg->n_bridges; i++)
		if ((ret = setup_one_bridge(a, &cfg->bridges[i], li.mac)) < 0)
			return ret;
	return 0;
}

/* Does route R follow the underlay (exception netdev in DPDK mode, kernel NIC
 * netdev in kernel mode)? Routes pinned to another device (e.g. the bridge)
 * stay where they are. */
static bool route_follows_underlay(const struct agent_config *cfg, const struct route_cfg *r)
{
	return r->dev[0] == '\0' || strcmp(r->dev, cfg->exception.ifname) == 0 ||
	       strcmp(r->dev, cfg->nic.kernel_netdev) == 0;
}

/* net/<proto>/conf/<ifname>/<key> = value */
static int conf_set(const char *proto, const char *ifname, const char *key, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), "net/%s/conf/%s/%s", proto, ifname, key);
	return ks_sysctl_set(path, value);
}

static void no_dad(const char *ifname)
{
	/* The underlay addresses move between two netdevs of the same host with
	 * the same MAC: duplicate address detection would only delay them. */
	conf_set("ipv6", ifname, "accept_dad", "0");
}

/* Does P's subnet hold ADDR? */
static bool prefix_holds(const struct ip_prefix *p, const struct ip_prefix *addr)
{
	int bits = p->len, n = p->family == AF_INET ? 4 : 16;

	if (p->family != addr->family)
		return false;
	for (int i = 0; i < n && bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((p->addr.bytes[i] ^ addr->addr.bytes[i]) & mask)
			return false;
	}
	return true;
}

void kernel_vlan_ifname(const char *underlay, int vid, char *out, size_t len)
{
	snprintf(out, len, "%s.%d", underlay, vid);
}

/* The device of a route R that follows the underlay, now on UNDERLAY: the
 * tenant VLAN whose subnet holds its gateway, else the underlay itself. */
static const char *route_dev(const struct agent_config *cfg, const struct route_cfg *r,
			     const char *underlay, char *buf, size_t len)
{
	if (r->has_via)
		for (int k = 0; k < cfg->n_vlans; k++)
			for (int i = 0; i < cfg->vlans[k].n_addrs; i++)
				if (prefix_holds(&cfg->vlans[k].addrs[i], &r->via)) {
					kernel_vlan_ifname(underlay, cfg->vlans[k].id, buf, len);
					return buf;
				}
	return underlay;
}

/* The tenant VLANs' netdevs on TO, with their addresses (before FROM's lose
 * theirs, as the underlay's). */
static int vlans_up(struct agentd *a, const char *to)
{
	const struct agent_config *cfg = &a->cfg;
	char name[IFNAMSIZ + 8];
	int ret;

	for (int k = 0; k < cfg->n_vlans; k++) {
		const struct vlan_cfg *v = &cfg->vlans[k];

		kernel_vlan_ifname(to, v->id, name, sizeof(name));
		if ((ret = ks_vlan_ensure(a->nl, name, to, v->id)) < 0)
			return ret;
		no_dad(name);
		if (cfg->nic.mtu > 0 && (ret = ks_link_set_mtu(a->nl, name, cfg->nic.mtu)) < 0)
			return ret;
		for (int i = 0; i < v->n_addrs; i++) {
			ret =
			    ks_addr_ensure_flags(a->nl, name, &v->addrs[i],
						 v->addrs[i].family == AF_INET6 ? IFA_F_NODAD : 0);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* FROM's VLAN netdevs go (their addresses and routes with them). */
static void vlans_down(struct agentd *a, const char *from)
{
	const struct agent_config *cfg = &a->cfg;
	char name[IFNAMSIZ + 8];

	for (int k = 0; k < cfg->n_vlans; k++) {
		kernel_vlan_ifname(from, cfg->vlans[k].id, name, sizeof(name));
		ks_link_delete(a->nl, name);
	}
}

/* Move the underlay from FROM (may be absent) to TO. */
static int underlay_move(struct agentd *a, const char *from, const char *to)
{
	const struct agent_config *cfg = &a->cfg;
	char dev[IFNAMSIZ + 8];
	int ret;

	no_dad(to);
	if (cfg->nic.mtu > 0 && (ret = ks_link_set_mtu(a->nl, to, cfg->nic.mtu)) < 0)
		return ret;
	if ((ret = ks_link_set_up(a->nl, to, true)) < 0)
		return ret;
	underlay_routes_prepare(a, from, to);
	/* Make before break: the addresses and routes are on TO before FROM
	 * loses them, so that the kernel always has a way out (the same
	 * address on two netdevs for a moment is harmless). */
	for (int i = 0; i < cfg->nic.n_addrs; i++) {
		/* IPv6 without DAD (IFA_F_NODAD): usable at once, never
		 * "tentative" — the unsolicited NA right after the move binds to
		 * it (EADDRNOTAVAIL otherwise: seen in CI, 1 failover in 5) */
		ret = ks_addr_ensure_flags(a->nl, to, &cfg->nic.addrs[i],
					   cfg->nic.addrs[i].family == AF_INET6 ? IFA_F_NODAD : 0);
		if (ret < 0)
			return ret;
	}
	if ((ret = vlans_up(a, to)) < 0)
		return ret;
	for (int i = 0; i < cfg->n_routes; i++) {
		const struct route_cfg *r = &cfg->routes[i];
		ret = ks_route_ensure(a->nl, r,
				      route_follows_underlay(cfg, r)
					  ? route_dev(cfg, r, to, dev, sizeof(dev))
					  : r->dev);
		if (ret < 0)
			return ret;
	}
	/* Runtime routes (routing daemons) follow; a failure here is logged and
	 * the daemon will re-add its route, the configured ones are in place.
	 * Any number of them: replayed in batches, in chunks from the loop. */
	underlay_routes_move(a, from, to);
	if (from != NULL && ks_link_index(a->nl, from) > 0) {
		vlans_down(a, from);
		for (int i = 0; i < cfg->nic.n_addrs; i++)
			ks_addr_remove(a->nl, from, &cfg->nic.addrs[i]);
	}
	LOG(INFO,
	    "underlay: %d address(es), %d tenant VLAN(s), %d configured and %zu runtime "
	    "route(s) on %s",
	    cfg->nic.n_addrs, cfg->n_vlans, cfg->n_routes, underlay_routes_count(), to);
	return 0;
}

int kernel_setup_exception(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	const char *exc = cfg->exception.ifname;
	int ret;

	ret = ks_link_wait(a->nl, exc, 10000);
	if (ret < 0) {
		LOG(ERR, "exception netdev %s did not appear: %s", exc, strerror(-ret));
		return ret;
	}
	/* dp0 stands in for the NIC: same MAC, so the kernel answers ARP for
	 * the underlay addresses with the NIC's MAC and peers see no change. */
	if (a->nic_mac_known && (ret = ks_link_set_mac(a->nl, exc, a->nic_mac)) < 0)
		return ret;
	/* Frames the dataplane could not fast-path (no route or neighbour yet)
	 * come back to the kernel through dp0 with a VM's source address: loose
	 * reverse-path filtering lets the kernel route them (effective value is
	 * max(all, dev), so 2 also overrides a strict "all")... */
	conf_set("ipv4", exc, "rp_filter", "2");
	/* ...and routes them back out of dp0: no ICMP redirects for that */
	conf_set("ipv4", exc, "send_redirects", "0");
	return underlay_move(
	    a, ks_link_index(a->nl, cfg->nic.kernel_netdev) > 0 ? cfg->nic.kernel_netdev : NULL,
	    exc);
}

int kernel_setup_nic(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;

	struct ks_link_info li;

	if (ks_link_get(a->nl, cfg->nic.kernel_netdev, &li) < 0) {
		/* vfio-pci without nic.kernel_driver: nothing to give it back to */
		LOG(ERR, "kernel NIC netdev %s does not exist: the underlay stays down",
		    cfg->nic.kernel_netdev);
		return -ENODEV;
	}
	/* the same MAC as dp0 had, so that peers' ARP caches stay valid */
	if (a->nic_mac_known && memcmp(li.mac, a->nic_mac, 6) != 0)
		ks_link_set_mac(a->nl, cfg->nic.kernel_netdev, a->nic_mac);
	return underlay_move(
	    a, ks_link_index(a->nl, cfg->exception.ifname) > 0 ? cfg->exception.ifname : NULL,
	    cfg->nic.kernel_netdev);
}

/* ---- reload --------------------------------------------------------------- */

static bool prefix_in(const struct ip_prefix *p, const struct ip_prefix *list, int n)
{
	for (int i = 0; i < n; i++)
		if (list[i].family == p->family && list[i].len == p->len &&
		    memcmp(&list[i].addr, &p->addr, p->family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

static bool name_in(const char *name, const char (*list)[IFNAMSIZ], int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

static void reload_error(json_t *errors, int ret, const char *fmt, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), fmt, what);
	json_array_append_new(errors, json_sprintf("%s: %s", msg, strerror(-ret)));
}

/* The netdev that holds the underlay now (NULL: none, e.g. a vfio-pci NIC
 * while the dataplane starts: the next move applies the configuration). */
static const char *underlay_dev(struct agentd *a)
{
	const char *dev = a->mode == MODE_DPDK ? a->cfg.exception.ifname : a->cfg.nic.kernel_netdev;

	return ks_link_index(a->nl, dev) > 0 ? dev : NULL;
}

/* Make before break, and only what differs: what the reload adds goes in
 * before what it removes goes out; what did not change is not touched (no
 * route replaced by itself: the FIB mirrors would see an event for it). */
int kernel_setup_reload(struct agentd *a, const struct agent_config *next, json_t *errors)
{
	const struct agent_config *cur = &a->cfg;
	const char *br = cur->bridge.name; /* bridge.name needs a restart: the same */
	const char *ul = underlay_dev(a);
	char dev[IFNAMSIZ + 8];
	char buf[INET6_ADDRSTRLEN + 8];
	int ret, failed = 0;

#define FAIL(ret, fmt, what)                                                                       \
	do {                                                                                       \
		reload_error(errors, ret, fmt, what);                                              \
		failed++;                                                                          \
	} while (0)

	for (int i = 0; i < next->bridge.n_addrs; i++)
		if ((ret = ks_addr_ensure(a->nl, br, &next->bridge.addrs[i])) < 0)
			FAIL(ret, "bridge address %s",
			     ip_prefix_fmt(&next->bridge.addrs[i], true, buf, sizeof(buf)));
	/* every configured port, not only new ones: a VM started since is
	 * attached now (steering follows the bridge's ports by itself) */
	for (int i = 0; i < next->bridge.n_ports; i++) {
		const char *port = next->bridge.ports[i];

		if (ks_link_index(a->nl, port) < 0)
			LOG(WARNING, "bridge port %s does not exist (yet)", port);
		else if ((ret = ks_bridge_port_ensure(a->nl, br, port)) < 0)
			FAIL(ret, "bridge port %s", port);
	}
	for (int i = 0; ul != NULL && i < next->nic.n_addrs; i++) {
		const struct ip_prefix *p = &next->nic.addrs[i];

		if (prefix_in(p, cur->nic.addrs, cur->nic.n_addrs))
			continue;
		ret = ks_addr_ensure_flags(a->nl, ul, p, p->family == AF_INET6 ? IFA_F_NODAD : 0);
		if (ret < 0)
			FAIL(ret, "underlay address %s", ip_prefix_fmt(p, true, buf, sizeof(buf)));
	}
	for (int i = 0; i < next->n_routes; i++) {
		const struct route_cfg *r = &next->routes[i];
		bool same = false;

		for (int j = 0; j < cur->n_routes && !same; j++)
			same = agent_route_equal(r, &cur->routes[j]);
		if (same)
			continue;
		if (route_follows_underlay(next, r) && ul == NULL)
			continue; /* the next move puts it there */
		ret = ks_route_ensure(a->nl, r,
				      route_follows_underlay(next, r)
					  ? route_dev(next, r, ul, dev, sizeof(dev))
					  : r->dev);
		if (ret < 0)
			FAIL(ret, "route %s", ip_prefix_fmt(&r->dst, true, buf, sizeof(buf)));
	}

	/* then what goes */
	for (int j = 0; j < cur->n_routes; j++) {
		const struct route_cfg *r = &cur->routes[j];
		bool kept = false;

		/* the same key in NEXT: replaced above, not removed */
		for (int i = 0; i < next->n_routes && !kept; i++)
			kept = agent_route_same_key(r, &next->routes[i]);
		if (kept || (route_follows_underlay(cur, r) && ul == NULL))
			continue;
		ret = ks_route_remove(a->nl, r,
				      route_follows_underlay(cur, r)
					  ? route_dev(cur, r, ul, dev, sizeof(dev))
					  : r->dev);
		if (ret < 0)
			FAIL(ret, "removing route %s",
			     ip_prefix_fmt(&r->dst, true, buf, sizeof(buf)));
	}
	for (int i = 0; ul != NULL && i < cur->nic.n_addrs; i++) {
		const struct ip_prefix *p = &cur->nic.addrs[i];

		if (!prefix_in(p, next->nic.addrs, next->nic.n_addrs) &&
		    (ret = ks_addr_remove(a->nl, ul, p)) < 0)
			FAIL(ret, "removing underlay address %s",
			     ip_prefix_fmt(p, true, buf, sizeof(buf)));
	}
	for (int i = 0; i < cur->bridge.n_ports; i++) {
		const char *port = cur->bridge.ports[i];

		if (!name_in(port, next->bridge.ports, next->bridge.n_ports) &&
		    (ret = ks_bridge_port_release(a->nl, br, port)) < 0)
			FAIL(ret, "removing bridge port %s", port);
	}
	for (int i = 0; i < cur->bridge.n_addrs; i++) {
		const struct ip_prefix *p = &cur->bridge.addrs[i];

		if (!prefix_in(p, next->bridge.addrs, next->bridge.n_addrs) &&
		    (ret = ks_addr_remove(a->nl, br, p)) < 0)
			FAIL(ret, "removing bridge address %s",
			     ip_prefix_fmt(p, true, buf, sizeof(buf)));
	}
#undef FAIL
	return failed ? -EIO : 0;
}
