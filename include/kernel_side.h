/* SPDX-License-Identifier: BSD-3-Clause */
/* kernel-side: agentd's configuration of the Linux side over netlink
 * (libnl-route-3). Every "ensure" call is idempotent: run against a host that
 * is already configured it changes nothing and duplicates nothing.
 * All functions return 0 (or a count / ifindex) on success, negative errno on
 * failure, and log the failure with the object's name. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <agent_config.h>

struct ks_nl; /* one rtnetlink socket (libnl nl_sock) */

int ks_open(struct ks_nl **nl);
void ks_close(struct ks_nl *nl);

struct ks_link_info {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[6];
	int mtu;
	bool admin_up;
	bool carrier;
	int master;    /* ifindex of the master (bridge), 0 = none */
	char kind[32]; /* "bridge", "veth", "tun", "" ... */
};

/* nl_link.c */
int ks_link_get(struct ks_nl *nl, const char *name,
		struct ks_link_info *info);	       /* -ENODEV if absent */
int ks_link_index(struct ks_nl *nl, const char *name); /* ifindex or -ENODEV */
int ks_link_set_up(struct ks_nl *nl, const char *name, bool up);
int ks_link_set_mac(struct ks_nl *nl, const char *name, const uint8_t mac[6]);
int ks_link_set_mtu(struct ks_nl *nl, const char *name, int mtu);
/* Rename link NAME (which must be down) to NEW_NAME; -ENODEV if absent. */
int ks_link_rename(struct ks_nl *nl, const char *name, const char *new_name);
/* Wait until NAME exists (polls, up to timeout_ms). */
int ks_link_wait(struct ks_nl *nl, const char *name, int timeout_ms);
/* Copy the resolved IPv4/IPv6 neighbours of FROM to TO (as STALE entries).
 * Returns how many, or a negative errno. */
int ks_neigh_copy(struct ks_nl *nl, const char *from, const char *to);
/* Create bridge NAME if missing (an existing link of another kind is -EEXIST), set it up. */
int ks_bridge_ensure(struct ks_nl *nl, const char *name);
int ks_link_delete(struct ks_nl *nl, const char *name); /* 0 if absent */
/* Delete NAME if it is a link of KIND (0 if absent); another kind: -EEXIST. */
int ks_link_delete_kind(struct ks_nl *nl, const char *name, const char *kind);
/* A new veth pair NAME / PEER, both up, NAME with MAC (NULL: random), both
 * with MTU (0: default). A veth NAME already there is replaced; a link of
 * another kind is -EEXIST. */
int ks_veth_ensure(struct ks_nl *nl, const char *name, const char *peer, const uint8_t *mac,
		   int mtu);
/* An 802.1Q VLAN netdev NAME with VID on PARENT, up. One already there with
 * that VID on that parent is kept; another link of that name is -EEXIST. */
int ks_vlan_ensure(struct ks_nl *nl, const char *name, const char *parent, int vid);
/* A kernel bond NAME of MEMBERS (their netdevs), up: MODE is the kernel's
 * (1 active-backup with the first member primary, 4 802.3ad: LACP rate
 * fast, layer3+4 hashing), MIIMON 100 ms, MAC (NULL: the first member's).
 * A bond of that name and mode is kept (the members it lacks enslaved, its
 * MAC set): asked again on the kernel path, nothing flaps; one of another
 * mode is made anew; a link of another kind is -EEXIST. A member that
 * cannot be enslaved is logged and left out; none at all is an error. */
int ks_bond_ensure(struct ks_nl *nl, const char *name, int mode, const uint8_t *mac,
		   const char *const *members, int n_members);
/* ethtool.c: turn off NAME's tx checksum offload (and what depends on it:
 * TSO, GSO), so that what the kernel sends out of it is complete. */
int ks_link_tx_csum_off(const char *name);
/* Enslave PORT to BRIDGE (no-op if already), set PORT up. */
int ks_bridge_port_ensure(struct ks_nl *nl, const char *bridge, const char *port);
/* Set BRIDGE's MAC to itself, once: a Linux bridge whose MAC was never set
 * takes the lowest of its ports', so a VM port coming or going would change
 * the VMs' gateway MAC under them (frames to the old one are lost until
 * their ARP caches expire). */
int ks_bridge_pin_mac(struct ks_nl *nl, const char *bridge);
/* PORT leaves BRIDGE (0, nothing done, if it is not a port of it). */
int ks_bridge_port_release(struct ks_nl *nl, const char *bridge, const char *port);
/* Names of the ports of BRIDGE; returns the count (≤ max). */
int ks_bridge_ports(struct ks_nl *nl, const char *bridge, char (*names)[IFNAMSIZ], int max);

/* nl_addr.c */
int ks_addr_ensure(struct ks_nl *nl, const char *ifname, const struct ip_prefix *p);
/* The same, added with IFA_F_* FLAGS (e.g. IFA_F_NODAD) when missing. */
int ks_addr_ensure_flags(struct ks_nl *nl, const char *ifname, const struct ip_prefix *p,
			 unsigned int flags);
int ks_addr_remove(struct ks_nl *nl, const char *ifname,
		   const struct ip_prefix *p); /* 0 if absent */
/* Global-scope addresses on IFNAME (link-local IPv6 excluded); returns count. */
int ks_addr_list(struct ks_nl *nl, const char *ifname, struct ip_prefix *out, int max);

/* nl_route.c — routes in the main table, proto "static" (RTPROT_STATIC).
 * DEV overrides r->dev when r->dev is empty (the exception netdev). */
int ks_route_ensure(struct ks_nl *nl, const struct route_cfg *r, const char *dev);
int ks_route_remove(struct ks_nl *nl, const struct route_cfg *r, const char *dev); /* 0 if absent */
struct ks_route {
	struct ip_prefix dst;
	bool has_via;
	struct ip_prefix via;
	char dev[IFNAMSIZ];
	uint8_t protocol; /* RTPROT_* */
	uint32_t metric;
};
/* Unicast routes of the main table (both families) whose output device is
 * IFNAME (NULL = all); returns count (≤ max). */
int ks_route_list(struct ks_nl *nl, const char *ifname, struct ks_route *out, int max);

/* sysctl.c — PATH relative to /proc/sys, e.g. "net/ipv4/ip_forward". */
int ks_sysctl_set(const char *path, const char *value);
int ks_sysctl_get(const char *path, char *buf, size_t len);
