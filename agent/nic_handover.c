/* SPDX-License-Identifier: BSD-3-Clause */
/* Handing the NIC between DPDK and the kernel, and telling the neighbours.
 *
 * Lab / bifurcated NICs (af_xdp, mlx5): the kernel netdev stays; giving it
 * back means removing whatever XDP program the dataplane left attached (a
 * killed af_xdp PMD cannot detach its own). vfio-pci NICs: rebind to
 * nic.kernel_driver through sysfs driver_override, and back to vfio-pci
 * before the dataplane is restarted.
 *
 * A bonded uplink (nic.members): each member is handed over so, and on the
 * kernel path its netdevs become a kernel bond (nic.kernel_netdev) of the
 * same mode, with the MAC DPDK's bond had; the bond goes before the
 * members go back to DPDK. */
#define LOG_TYPE "nic"
#include <agent_log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <kernel_side.h>

#include "agentd.h"

/* The NIC's devices and their kernel netdevs: nic.device, or the members. */
static int nic_devices(const struct agent_config *cfg, const char *dev[AGENT_CFG_MAX_MEMBERS],
		       const char *netdev[AGENT_CFG_MAX_MEMBERS])
{
	if (cfg->nic.n_members == 0) {
		dev[0] = cfg->nic.device;
		netdev[0] = cfg->nic.kernel_netdev;
		return 1;
	}
	for (int i = 0; i < cfg->nic.n_members; i++) {
		dev[i] = cfg->nic.members[i].device;
		netdev[i] = cfg->nic.members[i].kernel_netdev;
	}
	return cfg->nic.n_members;
}

static bool device_is_pci(const char *device, char *addr, size_t len)
{
	unsigned d, b, s, f;
	if (sscanf(device, "%x:%x:%x.%u", &d, &b, &s, &f) == 4) {
		snprintf(addr, len, "%04x:%02x:%02x.%u", d, b, s, f);
		return true;
	}
	if (sscanf(device, "%x:%x.%u", &b, &s, &f) == 3) {
		snprintf(addr, len, "0000:%02x:%02x.%u", b, s, f);
		return true;
	}
	return false;
}

static int sysfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Is PCI device ADDR bound to DRIVER now? */
static bool pci_bound_to(const char *addr, const char *driver)
{
	char link[PATH_MAX], path[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	const char *drv = strrchr(link, '/');
	return drv != NULL && strcmp(drv + 1, driver) == 0;
}

/* Bind PCI device ADDR to DRIVER (driver_override, unbind, reprobe). */
static int pci_rebind(const char *addr, const char *driver)
{
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", addr);
	ret = sysfs_write(path, driver);
	if (ret < 0) {
		LOG(ERR, "%s: cannot set driver_override %s: %s", addr, driver, strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", addr);
	sysfs_write(path, addr); /* not bound: fine */
	ret = sysfs_write("/sys/bus/pci/drivers_probe", addr);
	if (ret < 0)
		LOG(ERR, "%s: cannot bind to %s: %s", addr, driver, strerror(-ret));
	else
		LOG(NOTICE, "%s bound to %s", addr, driver);
	return ret;
}

/* The name of the netdev the kernel driver made for PCI device ADDR (most
 * drivers: <dev>/net/NAME; virtio-net: <dev>/virtioN/net/NAME), or -ENODEV. */
static int pci_netdev(const char *addr, char *name, size_t len)
{
	char pattern[128];
	glob_t g;
	int ret = -ENODEV;

	for (int i = 0; i < 2 && ret < 0; i++) {
		snprintf(pattern, sizeof(pattern), "/sys/bus/pci/devices/%s/%snet/*", addr,
			 i == 0 ? "" : "virtio*/");
		if (glob(pattern, 0, NULL, &g) == 0) {
			snprintf(name, len, "%s", strrchr(g.gl_pathv[0], '/') + 1);
			ret = 0;
		}
		globfree(&g);
	}
	return ret;
}

/* After ADDR was bound to its kernel driver: its netdev, named as the
 * config says. The kernel names a new netdev ethN; udev (where it runs)
 * renames it to its predictable name, which is what nic.kernel_netdev
 * normally holds. Without udev, or with a name of the operator's own, the
 * netdev is renamed here, so that the underlay always finds its addresses
 * on the same name. A rename that loses a race with udev is tried again. */
static int nic_netdev_wait(struct agentd *a, const char *addr, const char *want, int timeout_ms)
{
	const struct timespec poll_interval = {.tv_nsec = 10 * 1000000};
	char name[IFNAMSIZ] = "";

	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		if (pci_netdev(addr, name, sizeof(name)) == 0) {
			if (strcmp(name, want) == 0)
				return ks_link_wait(a->nl, want, timeout_ms);
			int ret = ks_link_rename(a->nl, name, want);
			if (ret == 0) {
				LOG(NOTICE, "%s: netdev %s renamed to %s", addr, name, want);
				return 0;
			}
			if (ret != -ENODEV && ret != -EBUSY)
				return ret;
		}
		nanosleep(&poll_interval, NULL);
	}
	return -ETIMEDOUT;
}

/* One device of the NIC to the kernel: bound to its driver, its netdev
 * named NETDEV, no XDP program left on it. */
static int device_to_kernel(struct agentd *a, const char *device, const char *netdev)
{
	const struct agent_config *cfg = &a->cfg;
	char pci[32];
	int ifindex;

	if (device_is_pci(device, pci, sizeof(pci)) && cfg->nic.kernel_driver[0] != '\0') {
		/* (already the kernel's: asked again on the kernel path, the NIC
		 * must not flap) */
		int ret = pci_bound_to(pci, cfg->nic.kernel_driver)
			      ? 0
			      : pci_rebind(pci, cfg->nic.kernel_driver);
		if (ret < 0)
			return ret;
		ret = nic_netdev_wait(a, pci, netdev, 5000);
		if (ret < 0) {
			LOG(ERR, "%s did not appear after binding %s to %s: %s", netdev, pci,
			    cfg->nic.kernel_driver, strerror(-ret));
			return ret;
		}
	}
	ifindex = ks_link_index(a->nl, netdev);
	if (ifindex < 0)
		return ifindex;
	/* An af_xdp PMD that died keeps its XDP program attached: the kernel
	 * gets frames only through its XDP_PASS fallback. Remove it. */
	struct bpf_xdp_query_opts q = {.sz = sizeof(q)};
	if (bpf_xdp_query(ifindex, 0, &q) == 0 && q.attach_mode != 0) {
		int ret = bpf_xdp_detach(ifindex, 0, NULL);
		if (ret < 0)
			LOG(WARNING, "cannot detach XDP program %u from %s: %s", q.prog_id, netdev,
			    strerror(-ret));
		else
			LOG(INFO, "detached XDP program %u left on %s", q.prog_id, netdev);
	}
	return 0;
}

int nic_to_kernel(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	const char *dev[AGENT_CFG_MAX_MEMBERS], *netdev[AGENT_CFG_MAX_MEMBERS];
	const char *up[AGENT_CFG_MAX_MEMBERS];
	int n = nic_devices(cfg, dev, netdev), n_up = 0, ret = 0;

	for (int i = 0; i < n; i++) {
		ret = device_to_kernel(a, dev[i], netdev[i]);
		if (ret == 0)
			up[n_up++] = netdev[i];
	}
	if (cfg->nic.n_members == 0)
		return ret;
	/* a bond of the members there are: one lost member must not cost the
	 * host its uplink */
	if (n_up == 0)
		return ret < 0 ? ret : -ENODEV;
	return ks_bond_ensure(a->nl, cfg->nic.kernel_netdev,
			      cfg->nic.bond_mode == BOND_8023AD ? 4 : 1,
			      a->nic_mac_known ? a->nic_mac : NULL, up, n_up);
}

bool nic_needs_rebind(struct agentd *a)
{
	const char *dev[AGENT_CFG_MAX_MEMBERS], *netdev[AGENT_CFG_MAX_MEMBERS];
	int n = nic_devices(&a->cfg, dev, netdev);
	char pci[32];

	/* A bond's members are the kernel bond's while the kernel has the
	 * uplink (it takes every frame they receive): DPDK gets them only
	 * once it is gone, as a vfio-pci NIC once it is rebound. So no
	 * standby dataplane beside the kernel path, no make-before-break
	 * handover: the hold-down first, then the restart takes them. */
	if (a->cfg.nic.n_members > 0)
		return true;
	if (a->cfg.nic.kernel_driver[0] == '\0')
		return false;
	for (int i = 0; i < n; i++)
		if (device_is_pci(dev[i], pci, sizeof(pci)))
			return true;
	return false;
}

static int device_to_dpdk(const char *device)
{
	char pci[32];

	if (!device_is_pci(device, pci, sizeof(pci)) || pci_bound_to(pci, "vfio-pci"))
		return 0;
	return pci_rebind(pci, "vfio-pci");
}

int nic_to_dpdk(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	const char *dev[AGENT_CFG_MAX_MEMBERS], *netdev[AGENT_CFG_MAX_MEMBERS];
	int n = nic_devices(cfg, dev, netdev), ret;

	if (cfg->nic.n_members > 0) {
		/* the kernel bond goes first: it releases the members (down);
		 * a link of that name that is not a bond is not ours to delete */
		if ((ret = ks_link_delete_kind(a->nl, cfg->nic.kernel_netdev, "bond")) < 0)
			return ret;
		/* the members DPDK takes over their netdevs (af_xdp) must be up */
		for (int i = 0; i < n; i++)
			if (ks_link_index(a->nl, netdev[i]) > 0)
				ks_link_set_up(a->nl, netdev[i], true);
	}
	if (cfg->nic.kernel_driver[0] == '\0')
		return 0;
	for (int i = 0; i < n; i++)
		if ((ret = device_to_dpdk(dev[i])) < 0)
			return ret;
	return 0;
}

/* Gratuitous ARP (request, sender = target = ADDR) from IFNAME. */
static int garp(int ifindex, const uint8_t mac[6], const struct in_addr *addr)
{
	struct {
		struct ether_header eth;
		struct ether_arp arp;
	} __attribute__((packed)) f;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP)), ret = 0;

	if (fd < 0)
		return -errno;
	memset(&f, 0, sizeof(f));
	memset(f.eth.ether_dhost, 0xff, 6);
	memcpy(f.eth.ether_shost, mac, 6);
	f.eth.ether_type = htons(ETHERTYPE_ARP);
	f.arp.arp_hrd = htons(ARPHRD_ETHER);
	f.arp.arp_pro = htons(ETHERTYPE_IP);
	f.arp.arp_hln = 6;
	f.arp.arp_pln = 4;
	f.arp.arp_op = htons(ARPOP_REQUEST);
	memcpy(f.arp.arp_sha, mac, 6);
	memcpy(f.arp.arp_spa, addr, 4);
	memcpy(f.arp.arp_tpa, addr, 4);
	memset(sll.sll_addr, 0xff, 6);
	if (sendto(fd, &f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Unsolicited neighbour advertisement (override) for ADDR to ff02::1. */
static int unsolicited_na(const char *ifname, const uint8_t mac[6], const struct in6_addr *addr)
{
	struct {
		struct nd_neighbor_advert na;
		struct nd_opt_hdr opt;
		uint8_t mac[6];
	} __attribute__((packed)) m;
	struct sockaddr_in6 src = {.sin6_family = AF_INET6, .sin6_addr = *addr};
	struct sockaddr_in6 dst = {.sin6_family = AF_INET6};
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6), hops = 255, ret = 0;

	if (fd < 0)
		return -errno;
	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	dst.sin6_scope_id = if_nametoindex(ifname);
	memset(&m, 0, sizeof(m));
	m.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	m.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	m.na.nd_na_target = *addr;
	m.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	m.opt.nd_opt_len = 1;
	memcpy(m.mac, mac, 6);
	/* the kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int announce(struct agentd *a, const char *ifname, const struct ip_prefix *addrs, int n)
{
	struct ks_link_info li;
	int sent = 0;

	if (ks_link_get(a->nl, ifname, &li) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const struct ip_prefix *p = &addrs[i];
		int ret = p->family == AF_INET ? garp(li.ifindex, li.mac, &p->addr.v4)
					       : unsolicited_na(ifname, li.mac, &p->addr.v6);
		if (ret < 0)
			LOG(WARNING, "cannot announce an underlay address on %s: %s", ifname,
			    strerror(-ret));
		else
			sent++;
	}
	return sent;
}

void nic_announce(struct agentd *a, const char *ifname)
{
	const struct agent_config *cfg = &a->cfg;
	char vlan[IFNAMSIZ + 8];
	int sent = announce(a, ifname, cfg->nic.addrs, cfg->nic.n_addrs);

	/* the tenant VLANs' addresses, on their netdevs (tagged) */
	for (int k = 0; k < cfg->n_vlans; k++) {
		kernel_vlan_ifname(ifname, cfg->vlans[k].id, vlan, sizeof(vlan));
		sent += announce(a, vlan, cfg->vlans[k].addrs, cfg->vlans[k].n_addrs);
	}
	LOG(INFO, "announced %d underlay address(es) on %s%s (gratuitous ARP / unsolicited NA)",
	    sent, ifname, cfg->n_vlans ? " and its VLANs" : "");
}
