/* SPDX-License-Identifier: BSD-3-Clause */
/* Links: lookup, flags/MAC/MTU, the VM bridge and its ports. Every call asks
 * the kernel afresh (rtnl_link_get_kernel or a one-shot cache): agentd calls
 * these rarely, and a kept cache would go stale. */
#define LOG_TYPE "netlink"
#include <agent_log.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/if_link.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>

#include "ks_priv.h"

/* NAME's current state; -ENODEV if absent (not logged: callers decide). */
static int link_lookup(struct ks_nl *nl, const char *name, struct rtnl_link **link)
{
	int ret;

	/* The kernel would say ERANGE, which reads oddly in a message. */
	if (name == NULL || name[0] == '\0' || strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	ret = rtnl_link_get_kernel(nl->sk, 0, name, link);
	return ret < 0 ? ks_nl_err(nl, ret) : 0;
}

/* Like link_lookup, but failing is worth a message: "cannot WHAT NAME: why". */
static int link_lookup_for(struct ks_nl *nl, const char *name, struct rtnl_link **link,
			   const char *what)
{
	int ret = link_lookup(nl, name, link);

	if (ret < 0)
		LOG(ERR, "cannot %s %s: %s", what, name, strerror(-ret));
	return ret;
}

static int link_change(struct ks_nl *nl, struct rtnl_link *orig, struct rtnl_link *change,
		       const char *what)
{
	int ret = rtnl_link_change(nl->sk, orig, change, 0);

	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot %s %s: %s", what, rtnl_link_get_name(orig), strerror(-ret));
	}
	return ret;
}

static const char *link_kind(struct rtnl_link *link)
{
	const char *kind = rtnl_link_get_type(link);

	return kind != NULL ? kind : "";
}

int ks_link_get(struct ks_nl *nl, const char *name, struct ks_link_info *info)
{
	struct rtnl_link *link;
	struct nl_addr *mac;
	int ret;

	ret = link_lookup(nl, name, &link);
	if (ret < 0)
		return ret;
	memset(info, 0, sizeof(*info));
	info->ifindex = rtnl_link_get_ifindex(link);
	snprintf(info->name, sizeof(info->name), "%s", rtnl_link_get_name(link));
	mac = rtnl_link_get_addr(link);
	if (mac != NULL && nl_addr_get_len(mac) == sizeof(info->mac))
		memcpy(info->mac, nl_addr_get_binary_addr(mac), sizeof(info->mac));
	info->mtu = (int)rtnl_link_get_mtu(link);
	info->admin_up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
	info->carrier = rtnl_link_get_carrier(link) != 0;
	info->master = rtnl_link_get_master(link);
	snprintf(info->kind, sizeof(info->kind), "%s", link_kind(link));
	rtnl_link_put(link);
	return 0;
}

int ks_link_index(struct ks_nl *nl, const char *name)
{
	struct rtnl_link *link;
	int ret;

	ret = link_lookup(nl, name, &link);
	if (ret < 0)
		return ret;
	ret = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return ret;
}

int ks_link_set_up(struct ks_nl *nl, const char *name, bool up)
{
	const char *what = up ? "set up" : "set down";
	struct rtnl_link *link, *change;
	int ret;

	ret = link_lookup_for(nl, name, &link, what);
	if (ret < 0)
		return ret;
	if (((rtnl_link_get_flags(link) & IFF_UP) != 0) == up)
		goto out;
	change = rtnl_link_alloc();
	if (change == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	ret = link_change(nl, link, change, what);
	rtnl_link_put(change);
out:
	rtnl_link_put(link);
	return ret;
}

int ks_link_set_mac(struct ks_nl *nl, const char *name, const uint8_t mac[6])
{
	struct rtnl_link *link, *change;
	struct nl_addr *cur, *addr;
	int ret;

	ret = link_lookup_for(nl, name, &link, "set the MAC address of");
	if (ret < 0)
		return ret;
	cur = rtnl_link_get_addr(link);
	if (cur != NULL && nl_addr_get_len(cur) == 6 &&
	    memcmp(nl_addr_get_binary_addr(cur), mac, 6) == 0)
		goto out;
	change = rtnl_link_alloc();
	addr = nl_addr_build(AF_LLC, mac, 6);
	if (change == NULL || addr == NULL) {
		ret = -ENOMEM;
	} else {
		rtnl_link_set_addr(change, addr);
		ret = link_change(nl, link, change, "set the MAC address of");
	}
	nl_addr_put(addr);
	rtnl_link_put(change);
out:
	rtnl_link_put(link);
	return ret;
}

/* /sys/class/net/NAME/addr_assign_type: NET_ADDR_SET (3) once the MAC was
 * set explicitly; -errno if unreadable. */
static int addr_assign_type(const char *name)
{
	char path[96];
	FILE *f;
	int v = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/addr_assign_type", name);
	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	if (fscanf(f, "%d", &v) != 1)
		v = -EIO;
	fclose(f);
	return v;
}

#define NET_ADDR_SET 3

int ks_bridge_pin_mac(struct ks_nl *nl, const char *name)
{
	struct rtnl_link *link, *change;
	struct nl_addr *cur;
	char mac[32];
	int ret;

	if (addr_assign_type(name) == NET_ADDR_SET)
		return 0;
	ret = link_lookup_for(nl, name, &link, "pin the MAC address of");
	if (ret < 0)
		return ret;
	cur = rtnl_link_get_addr(link);
	change = rtnl_link_alloc();
	if (cur == NULL || change == NULL) {
		ret = cur == NULL ? -EINVAL : -ENOMEM;
	} else {
		/* its own MAC, set: the kernel then never changes it (the bridge
		 * flag BROPT_ADDR_SET) */
		rtnl_link_set_addr(change, cur);
		ret = link_change(nl, link, change, "pin the MAC address of");
		if (ret == 0)
			LOG(INFO, "bridge %s keeps its MAC %s whatever ports come and go", name,
			    nl_addr2str(cur, mac, sizeof(mac)));
	}
	rtnl_link_put(change);
	rtnl_link_put(link);
	return ret;
}

int ks_link_set_mtu(struct ks_nl *nl, const char *name, int mtu)
{
	struct rtnl_link *link, *change;
	int ret;

	if (mtu <= 0) {
		LOG(ERR, "cannot set the MTU of %s to %d: %s", name, mtu, strerror(EINVAL));
		return -EINVAL;
	}
	ret = link_lookup_for(nl, name, &link, "set the MTU of");
	if (ret < 0)
		return ret;
	if ((int)rtnl_link_get_mtu(link) == mtu)
		goto out;
	change = rtnl_link_alloc();
	if (change == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rtnl_link_set_mtu(change, mtu);
	ret = link_change(nl, link, change, "set the MTU of");
	rtnl_link_put(change);
out:
	rtnl_link_put(link);
	return ret;
}

int ks_link_rename(struct ks_nl *nl, const char *name, const char *new_name)
{
	struct rtnl_link *link, *change;
	int ret;

	if (strlen(new_name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	ret = link_lookup(nl, name, &link);
	if (ret < 0)
		return ret;
	change = rtnl_link_alloc();
	if (change == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rtnl_link_set_name(change, new_name);
	ret = link_change(nl, link, change, "rename");
	rtnl_link_put(change);
out:
	rtnl_link_put(link);
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ks_link_wait(struct ks_nl *nl, const char *name, int timeout_ms)
{
	const struct timespec poll_interval = {.tv_nsec = 10 * 1000000};
	long long deadline = now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = ks_link_index(nl, name);
		if (ret > 0)
			return 0;
		if (ret != -ENODEV) {
			LOG(ERR, "cannot look up %s: %s", name, strerror(-ret));
			return ret;
		}
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&poll_interval, NULL);
	}
}

int ks_bridge_ensure(struct ks_nl *nl, const char *name)
{
	struct rtnl_link *link;
	int ret;

	ret = link_lookup(nl, name, &link);
	if (ret == 0) {
		bool is_bridge = strcmp(link_kind(link), "bridge") == 0;
		if (!is_bridge)
			LOG(ERR, "cannot create bridge %s: a link of kind '%s' has that name", name,
			    link_kind(link));
		rtnl_link_put(link);
		return is_bridge ? ks_link_set_up(nl, name, true) : -EEXIST;
	}
	if (ret != -ENODEV) {
		LOG(ERR, "cannot look up bridge %s: %s", name, strerror(-ret));
		return ret;
	}

	link = rtnl_link_bridge_alloc();
	if (link == NULL)
		return -ENOMEM;
	rtnl_link_set_name(link, name);
	rtnl_link_set_flags(link, IFF_UP);
	/* EXCL: a link of the same name created meanwhile is an error, not
	 * something to silently reconfigure. */
	ret = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot create bridge %s: %s", name, strerror(-ret));
		return ret;
	}
	LOG(INFO, "created bridge %s", name);
	return 0;
}

int ks_link_delete_kind(struct ks_nl *nl, const char *name, const char *kind)
{
	struct rtnl_link *link;
	int ret = link_lookup(nl, name, &link);

	if (ret == -ENODEV)
		return 0;
	if (ret < 0) {
		LOG(ERR, "cannot look up %s: %s", name, strerror(-ret));
		return ret;
	}
	if (strcmp(link_kind(link), kind) != 0) {
		LOG(ERR, "%s: a link of kind '%s' has that name, not a %s", name, link_kind(link),
		    kind);
		rtnl_link_put(link);
		return -EEXIST;
	}
	rtnl_link_put(link);
	return ks_link_delete(nl, name);
}

int ks_veth_ensure(struct ks_nl *nl, const char *name, const char *peer, const uint8_t *mac,
		   int mtu)
{
	struct rtnl_link *link, *p;
	int ret;

	/* one left by a dataplane that died with agentd: start afresh */
	if ((ret = ks_link_delete_kind(nl, name, "veth")) < 0)
		return ret;
	link = rtnl_link_veth_alloc();
	if (link == NULL)
		return -ENOMEM;
	p = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(link, name);
	rtnl_link_set_name(p, peer);
	if (mac != NULL) {
		struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);
		if (a != NULL) {
			rtnl_link_set_addr(link, a);
			nl_addr_put(a);
		}
	}
	if (mtu > 0) {
		rtnl_link_set_mtu(link, (unsigned int)mtu);
		rtnl_link_set_mtu(p, (unsigned int)mtu);
	}
	rtnl_link_put(p); /* (rtnl_link_veth_get_peer took a reference) */
	/* (libnl 3.7 fails the request when the peer has flags set) */
	rtnl_link_set_flags(link, IFF_UP);
	ret = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_veth_release(link); /* both ends */
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot create veth %s (peer %s): %s", name, peer, strerror(-ret));
		return ret;
	}
	LOG(INFO, "created veth %s, peer %s", name, peer);
	return ks_link_set_up(nl, peer, true);
}

int ks_vlan_ensure(struct ks_nl *nl, const char *name, const char *parent, int vid)
{
	struct rtnl_link *link;
	int parent_index = ks_link_index(nl, parent), ret;

	if (parent_index <= 0) {
		LOG(ERR, "cannot create VLAN %s: no link %s", name, parent);
		return parent_index < 0 ? parent_index : -ENODEV;
	}
	ret = link_lookup(nl, name, &link);
	if (ret == 0) {
		bool same = strcmp(link_kind(link), "vlan") == 0 &&
			    rtnl_link_vlan_get_id(link) == vid &&
			    rtnl_link_get_link(link) == parent_index;
		rtnl_link_put(link);
		if (same)
			return ks_link_set_up(nl, name, true);
		LOG(ERR, "cannot create VLAN %s (VID %d on %s): a different link has that name",
		    name, vid, parent);
		return -EEXIST;
	}
	if (ret != -ENODEV) {
		LOG(ERR, "cannot look up %s: %s", name, strerror(-ret));
		return ret;
	}
	link = rtnl_link_vlan_alloc();
	if (link == NULL)
		return -ENOMEM;
	rtnl_link_set_name(link, name);
	rtnl_link_set_link(link, parent_index);
	rtnl_link_vlan_set_id(link, vid);
	rtnl_link_set_flags(link, IFF_UP);
	ret = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot create VLAN %s (VID %d on %s): %s", name, vid, parent,
		    strerror(-ret));
		return ret;
	}
	LOG(INFO, "created VLAN %s (VID %d on %s)", name, vid, parent);
	return 0;
}

/* RTM_NEWLINK of a bond: libnl 3.7 has no setter for the bond's mode, so
 * its IFLA_INFO_DATA is put in the message here. */
static int bond_create(struct ks_nl *nl, const char *name, int mode, const uint8_t *mac)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info, *data;
	int ret = -NLE_MSGSIZE;

	if (msg == NULL)
		return -NLE_NOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0 ||
	    (mac != NULL && nla_put(msg, IFLA_ADDRESS, 6, mac) < 0) ||
	    (info = nla_nest_start(msg, IFLA_LINKINFO)) == NULL ||
	    nla_put_string(msg, IFLA_INFO_KIND, "bond") < 0 ||
	    (data = nla_nest_start(msg, IFLA_INFO_DATA)) == NULL ||
	    nla_put_u8(msg, IFLA_BOND_MODE, (uint8_t)mode) < 0 ||
	    nla_put_u32(msg, IFLA_BOND_MIIMON, 100) < 0)
		goto out;
	/* LACPDUs every second (a dead partner noticed in 3 s, not 90), flows
	 * spread over the members by addresses and ports, as DPDK's l34 */
	if (mode == 4 && (nla_put_u8(msg, IFLA_BOND_AD_LACP_RATE, 1) < 0 ||
			  nla_put_u8(msg, IFLA_BOND_XMIT_HASH_POLICY, 1) < 0))
		goto out;
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	ret = nl_send_sync(nl->sk, msg); /* frees msg */
	return ret;
out:
	nlmsg_free(msg);
	return ret;
}

/* Active-backup: MEMBER (an ifindex) carries everything while its link is
 * up, as DPDK's bond with primary=. */
static int bond_set_primary(struct ks_nl *nl, int bond, int member)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = bond};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	struct nlattr *info, *data;

	if (msg == NULL)
		return -NLE_NOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    (info = nla_nest_start(msg, IFLA_LINKINFO)) == NULL ||
	    nla_put_string(msg, IFLA_INFO_KIND, "bond") < 0 ||
	    (data = nla_nest_start(msg, IFLA_INFO_DATA)) == NULL ||
	    nla_put_u32(msg, IFLA_BOND_PRIMARY, (uint32_t)member) < 0) {
		nlmsg_free(msg);
		return -NLE_MSGSIZE;
	}
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	return nl_send_sync(nl->sk, msg); /* frees msg */
}

/* The kernel's mode number of bond NAME (sysfs "802.3ad 4"), or -1. */
static int bond_mode_of(const char *name)
{
	char path[96], buf[64] = "";
	const char *num;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/bonding/mode", name);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	num = strchr(buf, ' ');
	return num != NULL ? atoi(num + 1) : -1;
}

/* Enslave MEMBER to bond MASTER (an ifindex): 1 if it already was, 0 if
 * it is now, or a negative errno. */
static int bond_enslave(struct ks_nl *nl, int master, const char *member)
{
	struct rtnl_link *m = NULL, *change;
	int ret = link_lookup(nl, member, &m);

	if (ret < 0)
		return ret;
	if (rtnl_link_get_master(m) == master) {
		rtnl_link_put(m);
		return 1;
	}
	change = rtnl_link_alloc();
	/* the kernel enslaves a member that is down only */
	ret = change == NULL ? -ENOMEM : ks_link_set_up(nl, member, false);
	if (ret == 0) {
		rtnl_link_set_master(change, master);
		ret = rtnl_link_change(nl->sk, m, change, 0);
		ret = ret < 0 ? ks_nl_err(nl, ret) : 0;
	}
	if (change != NULL)
		rtnl_link_put(change);
	rtnl_link_put(m);
	return ret;
}

int ks_bond_ensure(struct ks_nl *nl, const char *name, int mode, const uint8_t *mac,
		   const char *const *members, int n_members)
{
	struct ks_link_info li;
	int ret, master, n = 0, first = 0;
	bool keep = ks_link_get(nl, name, &li) == 0 && strcmp(li.kind, "bond") == 0 &&
		    bond_mode_of(name) == mode;

	if (!keep) {
		/* none, or one of another mode: made anew */
		if ((ret = ks_link_delete_kind(nl, name, "bond")) < 0)
			return ret;
		ret = bond_create(nl, name, mode, mac);
		if (ret < 0) {
			ret = ks_nl_err(nl, ret);
			LOG(ERR, "cannot create bond %s (mode %d): %s", name, mode, strerror(-ret));
			return ret;
		}
	} else if (mac != NULL && memcmp(li.mac, mac, 6) != 0 &&
		   (ret = ks_link_set_mac(nl, name, mac)) < 0) {
		return ret;
	}
	master = ks_link_index(nl, name);
	if (master < 0)
		return master;
	for (int i = 0; i < n_members; i++) {
		ret = bond_enslave(nl, master, members[i]);
		if (ret < 0) {
			LOG(ERR, "bond %s: cannot enslave %s: %s", name, members[i],
			    strerror(-ret));
			continue;
		}
		if (n++ == 0)
			first = ks_link_index(nl, members[i]);
	}
	if (n == 0) {
		LOG(ERR, "bond %s: no member could be enslaved", name);
		if (!keep)
			ks_link_delete(nl, name);
		return -ENODEV;
	}
	if (mode == 1 && first > 0 && (ret = bond_set_primary(nl, master, first)) < 0)
		LOG(WARNING, "bond %s: cannot make its first member primary: %s", name,
		    strerror(-ks_nl_err(nl, ret)));
	ret = ks_link_set_up(nl, name, true);
	if (ret == 0)
		LOG(INFO, "%s bond %s (mode %d) of %d of %d member(s)", keep ? "kept" : "created",
		    name, mode, n, n_members);
	return ret;
}

int ks_link_delete(struct ks_nl *nl, const char *name)
{
	struct rtnl_link *link;
	int ret;

	ret = link_lookup(nl, name, &link);
	if (ret == -ENODEV)
		return 0;
	if (ret < 0) {
		LOG(ERR, "cannot delete %s: %s", name, strerror(-ret));
		return ret;
	}
	ret = rtnl_link_delete(nl->sk, link);
	rtnl_link_put(link);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		/* Gone in between (e.g. a veth whose peer was deleted). */
		if (ret == -ENODEV)
			return 0;
		LOG(ERR, "cannot delete %s: %s", name, strerror(-ret));
		return ret;
	}
	LOG(INFO, "deleted %s", name);
	return 0;
}

int ks_bridge_port_ensure(struct ks_nl *nl, const char *bridge, const char *port)
{
	struct rtnl_link *br = NULL, *link = NULL, *change;
	int br_index, ret;

	ret = link_lookup(nl, bridge, &br);
	if (ret < 0) {
		LOG(ERR, "cannot add %s to bridge %s: %s: %s", port, bridge, bridge,
		    strerror(-ret));
		return ret;
	}
	br_index = rtnl_link_get_ifindex(br);
	if (strcmp(link_kind(br), "bridge") != 0) {
		LOG(ERR, "cannot add %s to %s: not a bridge", port, bridge);
		ret = -EINVAL;
		goto out;
	}
	ret = link_lookup(nl, port, &link);
	if (ret == 0 && rtnl_link_get_ifindex(link) == br_index)
		ret = -EINVAL;
	if (ret < 0) {
		LOG(ERR, "cannot add %s to bridge %s: %s", port, bridge, strerror(-ret));
		goto out;
	}
	if (rtnl_link_get_master(link) == br_index && (rtnl_link_get_flags(link) & IFF_UP))
		goto out;

	change = rtnl_link_alloc();
	if (change == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rtnl_link_set_master(change, br_index);
	rtnl_link_set_flags(change, IFF_UP);
	ret = rtnl_link_change(nl->sk, link, change, 0);
	rtnl_link_put(change);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot add %s to bridge %s: %s", port, bridge, strerror(-ret));
	} else {
		LOG(INFO, "%s is a port of bridge %s, up", port, bridge);
	}
out:
	if (link != NULL)
		rtnl_link_put(link);
	rtnl_link_put(br);
	return ret;
}

int ks_bridge_port_release(struct ks_nl *nl, const char *bridge, const char *port)
{
	struct rtnl_link *br = NULL, *link = NULL;
	int ret;

	if (link_lookup(nl, bridge, &br) < 0 || link_lookup(nl, port, &link) < 0) {
		ret = 0; /* no bridge or no port: not a port of it */
		goto out;
	}
	if (rtnl_link_get_master(link) != rtnl_link_get_ifindex(br)) {
		ret = 0;
		goto out;
	}
	ret = rtnl_link_release(nl->sk, link);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot remove %s from bridge %s: %s", port, bridge, strerror(-ret));
	} else {
		LOG(INFO, "%s is no longer a port of bridge %s", port, bridge);
	}
out:
	if (link != NULL)
		rtnl_link_put(link);
	if (br != NULL)
		rtnl_link_put(br);
	return ret;
}

int ks_bridge_ports(struct ks_nl *nl, const char *bridge, char (*names)[IFNAMSIZ], int max)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	int br_index, ret, n = 0;

	br_index = ks_link_index(nl, bridge);
	if (br_index < 0)
		return br_index;
	ret = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot list the ports of %s: %s", bridge, strerror(-ret));
		return ret;
	}
	for (obj = nl_cache_get_first(cache); obj != NULL && n < max;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		if (rtnl_link_get_master(link) != br_index)
			continue;
		snprintf(names[n], IFNAMSIZ, "%s", rtnl_link_get_name(link));
		n++;
	}
	nl_cache_free(cache);
	return n;
}
