/* SPDX-License-Identifier: BSD-3-Clause */
/* Keeps the steering eBPF programs (kernel-side/bpf) true to the kernel:
 * attached on every port of the VM bridge and on the exception netdev, with
 * the host's addresses, the VMs' MACs (bridge FDB) and the gateway MAC in
 * their maps.
 *
 * Rather than patching the maps event by event, any link, neighbour or
 * address event marks the state dirty and a reconciliation compares the
 * whole kernel view (libnl caches: links, bridge FDB, addresses) with the
 * maps and tc attachments. It is O(ports + MACs + addresses), runs only on
 * change, needs no bookkeeping that could drift, and repairs lost events
 * (ENOBUFS) and state adopted from a previous agentd alike.
 *
 * Route events, on the same socket, go to underlay_routes.c, which keeps its
 * record incrementally: routes can be a million, a reconcile per event
 * batch would cost a full FIB dump each. */
#define LOG_TYPE "steering"
#include <agent_log.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/neighbour.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/socket.h>

#include <steer.h>

#include "agentd.h"

static struct nl_sock *ev_sock;	 /* subscribed: tells us when to reconcile */
static struct nl_sock *req_sock; /* cache fills */
static struct steer *steer;
static bool dirty;
static bool fast_wanted; /* MODE_DPDK: steering on */
static uint64_t reconciles, event_overruns, event_foreign;

/* Datagrams read per wakeup: a burst of route events (a BGP feed) is
 * processed in slices of a few ms (up to ~20 ms measured on the loaded lab
 * VM while the record rehashes), so agentctl and signals are served in
 * between. */
#define EVENT_BUDGET 256

/* Messages are parsed in place (no libnl objects): a burst of a million
 * route events must cost a few compares each, not an allocation. */
static void on_event(struct agentd *a, const struct nlmsghdr *nlh)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		/* the steering maps do not depend on routes */
		underlay_routes_event(a, nlh);
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		underlay_routes_event(a, nlh); /* is the underlay device up? */
		dirty = true;
		break;
	default:
		dirty = true;
	}
}

/* Read up to BUDGET datagrams (0 = until the socket is empty). */
static void events_read(struct agentd *a, int budget)
{
	static char buf[64 * 1024];
	int fd = nl_socket_get_fd(ev_sock);

	for (int i = 0; budget == 0 || i < budget; i++) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct nlmsghdr *nlh;

		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Overrun: events lost, a full reconcile repairs it. */
				event_overruns++;
				dirty = true;
				underlay_routes_overrun(a);
				continue;
			}
			break; /* EAGAIN: all read */
		}
		if (n == 0)
			break;
		if (fl != sizeof(from) || from.nl_pid != 0) {
			/* not the kernel's: a process with CAP_NET_ADMIN can send
			 * to this socket; its "events" would be replayed as routes */
			event_foreign++;
			continue;
		}
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (size_t)n);
		     nlh = NLMSG_NEXT(nlh, n))
			on_event(a, nlh);
	}
	if (dirty)
		steering_reconcile(a);
	underlay_routes_batch_end(a);
}

static void event_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	events_read(a, EVENT_BUDGET);
}

void steering_drain_events(struct agentd *a)
{
	if (ev_sock != NULL)
		events_read(a, 0);
}

int steering_init(struct agentd *a)
{
	int ret;

	ret = steer_open(a->cfg.bpf.bpffs, a->cfg.bpf.pin_name, &steer);
	if (ret < 0) {
		LOG(ERR, "cannot load the steering programs: %s", strerror(-ret));
		return ret;
	}
	ev_sock = nl_socket_alloc();
	req_sock = nl_socket_alloc();
	if (ev_sock == NULL || req_sock == NULL)
		return -ENOMEM;
	if (nl_connect(ev_sock, NETLINK_ROUTE) < 0 || nl_connect(req_sock, NETLINK_ROUTE) < 0)
		return -EIO;
	/* Room for a burst of route events (kernel memory, used only when
	 * events pile up); beyond it, an overrun costs one filtered dump. */
	{
		int size = 32 << 20;
		if (setsockopt(nl_socket_get_fd(ev_sock), SOL_SOCKET, SO_RCVBUFFORCE, &size,
			       sizeof(size)) < 0)
			nl_socket_set_buffer_size(ev_sock, 4 << 20, 0);
	}
	nl_socket_set_nonblocking(ev_sock);
	nl_socket_add_memberships(ev_sock, RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_IFADDR,
				  RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0);
	ret = loop_add_fd(a, nl_socket_get_fd(ev_sock), event_cb, NULL);
	if (ret < 0)
		return ret;
	LOG(INFO, "steering programs loaded, maps pinned under %s", steer_pin_dir(steer));
	steering_reconcile(a);
	return 0;
}

static bool mac_is_unicast(const uint8_t *mac)
{
	static const uint8_t zero[6];
	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

/* The VM bridges' ifindexes (0: absent), [0] the first. */
struct bridges {
	int ifindex[AGENT_CFG_MAX_BRIDGES];
	int n;
};

static bool is_vm_bridge(const struct bridges *br, int ifindex)
{
	for (int i = 0; ifindex && i < br->n; i++)
		if (br->ifindex[i] == ifindex)
			return true;
	return false;
}

static void reconcile_links(struct agentd *a, struct nl_cache *links, const struct bridges *br,
			    int exc_ifindex)
{
	for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		int ifindex = rtnl_link_get_ifindex(l);
		uint32_t id = 0;
		enum steer_prog want;
		int attached = steer_attached(ifindex, &id);

		if (is_vm_bridge(br, rtnl_link_get_master(l)))
			want = STEER_PROG_VM_INGRESS;
		else if (exc_ifindex && ifindex == exc_ifindex)
			want = STEER_PROG_EXC_INGRESS;
		else {
			if (attached > 0) {
				LOG(INFO, "%s left the bridge: detaching", rtnl_link_get_name(l));
				steer_detach(ifindex);
			}
			continue;
		}
		if (attached > 0 && id == steer_prog_id(steer, want))
			continue;
		if (steer_attach(steer, want, ifindex) == 0)
			LOG(INFO, "attached %s to %s", steer_prog_name(want),
			    rtnl_link_get_name(l));
	}
}

static void reconcile_vm_macs(struct agentd *a, struct nl_cache *fdb, const struct bridges *br)
{
	struct steer_vm_mac have[STEER_MAX_VM_MACS];
	int n_have = steer_vm_mac_list(steer, have, STEER_MAX_VM_MACS);
	bool keep[STEER_MAX_VM_MACS] = {0};

	for (struct nl_object *o = nl_cache_get_first(fdb); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;
		struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
		int port = rtnl_neigh_get_ifindex(n);
		const uint8_t *mac;
		int i;

		if (rtnl_neigh_get_family(n) != AF_BRIDGE || ll == NULL ||
		    nl_addr_get_len(ll) != 6 || !is_vm_bridge(br, rtnl_neigh_get_master(n)) ||
		    is_vm_bridge(br, port) || (rtnl_neigh_get_state(n) & NUD_PERMANENT))
			continue; /* permanent entries are the ports' own MACs */
		mac = nl_addr_get_binary_addr(ll);
		if (!mac_is_unicast(mac))
			continue;
		for (i = 0; i < n_have; i++)
			if (memcmp(have[i].mac, mac, 6) == 0)
				break;
		if (i < n_have && have[i].ifindex == port) {
			keep[i] = true;
			continue;
		}
		if (i < n_have)
			keep[i] = true; /* moved to another port: overwritten below */
		steer_vm_mac_add(steer, mac, port);
	}
	for (int i = 0; i < n_have && n_have > 0; i++)
		if (!keep[i])
			steer_vm_mac_del(steer, have[i].mac);
}

static void reconcile_local_addrs(struct nl_cache *addrs)
{
	struct steer_addr_key have[STEER_MAX_LOCAL_ADDRS];
	int n_have = steer_local_addr_list(steer, have, STEER_MAX_LOCAL_ADDRS);
	bool keep[STEER_MAX_LOCAL_ADDRS] = {0};

	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ad = (struct rtnl_addr *)o;
		int family = rtnl_addr_get_family(ad);
		int alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
		/* The host's address, and the subnet's broadcast address: a VM
		 * sending to 10.10.1.255 via the gateway MAC means the kernel. */
		struct nl_addr *mine[2] = {rtnl_addr_get_local(ad), rtnl_addr_get_broadcast(ad)};

		for (int m = 0; m < 2; m++) {
			struct nl_addr *local = mine[m];
			int i;
			if (local == NULL || alen == 0 || (int)nl_addr_get_len(local) != alen)
				continue;
			for (i = 0; i < n_have; i++)
				if ((int)have[i].family == family &&
				    memcmp(have[i].addr, nl_addr_get_binary_addr(local), alen) == 0)
					break;
			if (i < n_have)
				keep[i] = true;
			else
				steer_local_addr_add(steer, family, nl_addr_get_binary_addr(local));
		}
	}
	for (int i = 0; i < n_have && n_have > 0; i++)
		if (!keep[i])
			steer_local_addr_del(steer, have[i].family, have[i].addr);
}

void steering_reconcile(struct agentd *a)
{
	struct nl_cache *links = NULL, *fdb = NULL, *addrs = NULL;
	struct steer_settings set = {0};
	struct rtnl_link *br, *exc;
	struct bridges brs = {.n = 1 + a->cfg.n_bridges};
	int br_ifindex = 0, exc_ifindex = 0;

	if (steer == NULL)
		return;
	dirty = false;
	reconciles++;
	if (rtnl_link_alloc_cache(req_sock, AF_UNSPEC, &links) < 0 ||
	    rtnl_neigh_alloc_cache_flags(req_sock, &fdb, NL_CACHE_AF_ITER) < 0 ||
	    rtnl_addr_alloc_cache(req_sock, &addrs) < 0) {
		LOG(WARNING, "netlink dump failed; will retry on the next event");
		dirty = true;
		goto out;
	}
	br = rtnl_link_get_by_name(links, a->cfg.bridge.name);
	exc = rtnl_link_get_by_name(links, a->cfg.exception.ifname);
	if (br) {
		struct nl_addr *mac = rtnl_link_get_addr(br);
		br_ifindex = rtnl_link_get_ifindex(br);
		if (mac && nl_addr_get_len(mac) == 6)
			memcpy(set.gateway_mac, nl_addr_get_binary_addr(mac), 6);
	}
	if (exc)
		exc_ifindex = rtnl_link_get_ifindex(exc);
	brs.ifindex[0] = br_ifindex;
	for (int i = 0; i < a->cfg.n_bridges; i++)
		brs.ifindex[1 + i] = rtnl_link_name2i(links, a->cfg.bridges[i].name);

	reconcile_local_addrs(addrs);
	if (br_ifindex)
		reconcile_vm_macs(a, fdb, &brs);
	reconcile_links(a, links, &brs, exc_ifindex);

	/* Settings last: redirect only once the maps and programs are in place. */
	set.exc_ifindex = exc_ifindex;
	/* A frame for a VM MAC not (or no longer) in vm_macs goes to the bridge;
	 * with several, which one is the kernel's to route (0: the program
	 * gives it to the kernel as the host's). */
	set.bridge_ifindex = a->cfg.n_bridges == 0 ? (uint32_t)br_ifindex : 0;
	set.mode = fast_wanted && exc_ifindex && br_ifindex ? STEER_MODE_FAST : STEER_MODE_PASS;
	steer_settings_set(steer, &set);
	if (br)
		rtnl_link_put(br);
	if (exc)
		rtnl_link_put(exc);
out:
	nl_cache_free(links);
	nl_cache_free(fdb);
	nl_cache_free(addrs);
}

int steering_set_fast(struct agentd *a, bool fast)
{
	fast_wanted = fast;
	if (steer == NULL)
		return -ENODEV;
	if (!fast) {
		/* Fallback: the single map write that stops all redirection. */
		int ret = steer_set_mode(steer, STEER_MODE_PASS);
		LOG(NOTICE, "steering: pass (everything through the kernel)");
		return ret;
	}
	steering_reconcile(a);
	LOG(NOTICE, "steering: fast");
	return 0;
}

struct steer *steering_steer(void)
{
	return steer;
}

json_t *steering_status(struct agentd *a)
{
	struct steer_counter_value c[STEER_CNT_MAX];
	struct steer_settings set;
	json_t *st = json_object(), *cnt = json_object();

	if (steer == NULL) {
		json_object_set_new(st, "loaded", json_false());
		json_decref(cnt);
		return st;
	}
	json_object_set_new(st, "loaded", json_true());
	json_object_set_new(st, "pin_dir", json_string(steer_pin_dir(steer)));
	if (steer_settings_get(steer, &set) == 0)
		json_object_set_new(st, "mode",
				    json_string(set.mode == STEER_MODE_FAST ? "fast" : "pass"));
	if (steer_counters_read(steer, c) == 0)
		for (int i = 0; i < STEER_CNT_MAX; i++)
			json_object_set_new(cnt, steer_counter_name(i),
					    json_pack("{s:I,s:I}", "packets",
						      (json_int_t)c[i].packets, "bytes",
						      (json_int_t)c[i].bytes));
	json_object_set_new(st, "counters", cnt);
	json_object_set_new(st, "vm_macs", json_integer(steer_vm_mac_list(steer, NULL, 0)));
	json_object_set_new(st, "reconciles", json_integer(reconciles));
	json_object_set_new(st, "event_overruns", json_integer(event_overruns));
	json_object_set_new(st, "event_foreign", json_integer(event_foreign));
	return st;
}

/* Orderly stop: steering off, programs detached, pins removed — a clean host.
 * (After a crash nothing of this runs: the next agentd adopts the pins.) */
void steering_fini(struct agentd *a)
{
	struct nl_cache *links = NULL;

	if (steer == NULL)
		return;
	steer_set_mode(steer, STEER_MODE_PASS);
	if (rtnl_link_alloc_cache(req_sock, AF_UNSPEC, &links) == 0) {
		for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
			int ifindex = rtnl_link_get_ifindex((struct rtnl_link *)o);
			if (steer_attached(ifindex, NULL) > 0)
				steer_detach(ifindex);
		}
		nl_cache_free(links);
	}
	steer_close(steer);
	steer = NULL;
	steer_unpin(a->cfg.bpf.bpffs, a->cfg.bpf.pin_name);
	underlay_routes_fini(a);
	if (ev_sock) {
		loop_del_fd(a, nl_socket_get_fd(ev_sock));
		nl_socket_free(ev_sock);
		ev_sock = NULL;
	}
	nl_socket_free(req_sock);
	req_sock = NULL;
}
