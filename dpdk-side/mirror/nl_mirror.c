/* SPDX-License-Identifier: BSD-3-Clause */
/* Netlink mirror: subscription, dumps, events, one dispatch on nlmsg_type.
 *
 * Two sockets: the event socket is subscribed first, so nothing that changes
 * during a dump is lost (those events are applied after it, and applying is
 * idempotent); the dump socket is used for request/response.
 *
 * Resync (at start, after an overrun, after a failed resync): the consumer
 * is told it is behind (it stops trusting its tables), every object in the
 * kernel is set again between resync_begin and resync_end, and resync_end
 * drops what was not. Dumps are applied as they stream in (a full table is
 * ~100 MB of messages: not buffered); a dump carrying NLM_F_DUMP_INTR is
 * redone from the start (a new generation), and resync_end only runs after a
 * clean one. A resync that cannot complete now stays pending and is retried
 * from nl_mirror_tick(): never left.
 *
 * The overrun case needs care: the kernel reports ENOBUFS once, before the
 * events still queued. Those queued events are OLDER than the gap; replayed
 * after the dump they would resurrect what the lost events had deleted (the
 * "routes that stay forever" bug). So the queue is drained (discarded) before
 * the dump: from then on every queued event is newer than the dump start.
 *
 * This file knows nothing of DPDK, so the unit tests can drive it with
 * crafted messages. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "nl_mirror.h"

#define MAX_TABLES   8
#define DUMP_RETRIES 5 /* per attempt; then retried from the tick */
#define EVENT_RCVBUF (64 << 20)
#define EVENT_BATCH  256 /* recv() calls per nl_mirror_process call */

struct nl_mirror {
	struct mnl_socket *ev;	 /* subscribed to the groups */
	struct mnl_socket *dump; /* request/response */
	unsigned int seq;
	const struct mirror_ops *ops;
	void *ctx;
	uint32_t tables[MAX_TABLES + 1];
	int n_tables;
	bool resync_pending;
	struct nl_mirror_stats stats;
};

static bool table_wanted(const struct nl_mirror *m, uint32_t table)
{
	for (int i = 0; i < m->n_tables; i++)
		if (m->tables[i] == table)
			return true;
	return false;
}

static bool neigh_usable(uint16_t state)
{
	return state &
	       (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP);
}

int nl_mirror_dispatch(struct nl_mirror *m, const struct nlmsghdr *nlh)
{
	bool del = false;

	switch (nlh->nlmsg_type) {
	case RTM_DELLINK:
		del = true;
		/* fallthrough */
	case RTM_NEWLINK: {
		struct mirror_link l;
		if (mirror_link_parse(nlh, &l) < 0)
			goto bad;
		if (m->ops->link)
			m->ops->link(m->ctx, del, &l);
		return 0;
	}
	case RTM_DELADDR:
		del = true;
		/* fallthrough */
	case RTM_NEWADDR: {
		struct mirror_addr a;
		if (mirror_addr_parse(nlh, &a) < 0)
			goto bad;
		if (m->ops->addr)
			m->ops->addr(m->ctx, del, &a);
		return 0;
	}
	case RTM_DELROUTE:
		del = true;
		/* fallthrough */
	case RTM_NEWROUTE: {
		struct mirror_route r;
		if (mirror_route_parse(nlh, &r) < 0)
			goto bad;
		if (!table_wanted(m, r.table)) {
			m->stats.ignored++;
			return 0;
		}
		if (m->ops->route)
			m->ops->route(m->ctx, del, &r);
		return 0;
	}
	case RTM_DELNEIGH:
		del = true;
		/* fallthrough */
	case RTM_NEWNEIGH: {
		struct mirror_neigh n;
		const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ndm) && ndm->ndm_family != AF_INET &&
		    ndm->ndm_family != AF_INET6) {
			m->stats.ignored++; /* bridge FDB entries (AF_BRIDGE) */
			return 0;
		}
		if (mirror_neigh_parse(nlh, &n) < 0)
			goto bad;
		if (!neigh_usable(n.state) || !n.has_lladdr)
			del = true;
		if (m->ops->neigh)
			m->ops->neigh(m->ctx, del, &n);
		return 0;
	}
	case RTM_DELNEXTHOP:
		del = true;
		/* fallthrough */
	case RTM_NEWNEXTHOP: {
		struct mirror_nexthop nh;
		if (mirror_nexthop_parse(nlh, &nh) < 0)
			goto bad;
		if (m->ops->nexthop)
			m->ops->nexthop(m->ctx, del, &nh);
		return 0;
	}
	default:
		m->stats.ignored++;
		return 0;
	}
bad:
	m->stats.parse_errors++;
	return -EINVAL;
}

static void init_common(struct nl_mirror *m, const struct mirror_ops *ops, void *ctx,
			const uint32_t *tables, int n_tables)
{
	m->ops = ops;
	m->ctx = ctx;
	m->seq = time(NULL);
	m->tables[m->n_tables++] = RT_TABLE_MAIN;
	for (int i = 0; i < n_tables && m->n_tables < MAX_TABLES + 1; i++)
		if (tables[i] != RT_TABLE_MAIN)
			m->tables[m->n_tables++] = tables[i];
}

int nl_mirror_new_detached(struct nl_mirror **mp, const struct mirror_ops *ops, void *ctx,
			   const uint32_t *tables, int n_tables)
{
	struct nl_mirror *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	init_common(m, ops, ctx, tables, n_tables);
	*mp = m;
	return 0;
}

int nl_mirror_open(struct nl_mirror **mp, const struct mirror_ops *ops, void *ctx,
		   const uint32_t *tables, int n_tables)
{
	unsigned groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			  RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	int rcvbuf = EVENT_RCVBUF, ret;
	struct nl_mirror *m;

	ret = nl_mirror_new_detached(&m, ops, ctx, tables, n_tables);
	if (ret < 0)
		return ret;
	m->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	m->dump = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (m->ev == NULL || m->dump == NULL)
		goto err;
	/* A route table of a full BGP feed arrives in a burst: ask for a large
	 * buffer (FORCE: above rmem_max, we are root); overruns still resync. */
	if (setsockopt(mnl_socket_get_fd(m->ev), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(m->ev), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	if (mnl_socket_bind(m->ev, groups, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(m->dump, 0, MNL_SOCKET_AUTOPID) < 0)
		goto err;
	/* nexthop objects: group 32, beyond bind()'s 32-bit mask. A kernel
	 * without them (< 5.3) simply has none to announce. */
	int grp = RTNLGRP_NEXTHOP;
	mnl_socket_setsockopt(m->ev, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp));
	/* Overruns are what we recover from; say them (ENOBUFS), never hide. */
	m->resync_pending = true;
	*mp = m;
	return 0;
err:
	ret = errno ? -errno : -EIO;
	nl_mirror_close(m);
	return ret;
}

void nl_mirror_close(struct nl_mirror *m)
{
	if (m == NULL)
		return;
	if (m->ev)
		mnl_socket_close(m->ev);
	if (m->dump)
		mnl_socket_close(m->dump);
	free(m);
}

int nl_mirror_fd(const struct nl_mirror *m)
{
	return m->ev ? mnl_socket_get_fd(m->ev) : -1;
}

int nl_mirror_set_rcvbuf(struct nl_mirror *m, int bytes)
{
	if (setsockopt(mnl_socket_get_fd(m->ev), SOL_SOCKET, SO_RCVBUFFORCE, &bytes,
		       sizeof(bytes)) < 0)
		return -errno;
	return 0;
}

const struct nl_mirror_stats *nl_mirror_stats(const struct nl_mirror *m)
{
	return &m->stats;
}

/* The message at H fits in the LEFT bytes of the buffer, padding included.
 * Not libmnl's mnl_nlmsg_ok: (1.0.4) it casts nlmsg_len to int, so a length
 * above 2^31 passes and the walk (and the parsers, which read up to
 * nlmsg_len) run off the buffer; and the attribute walk reads up to the
 * aligned length. The kernel never sends such messages: found by the fuzzer
 * (tests/fuzz/fuzz_nl_mirror.c). */
static bool msg_ok(const struct nlmsghdr *h, int left)
{
	return left >= (int)sizeof(*h) && h->nlmsg_len >= sizeof(*h) &&
	       MNL_ALIGN((size_t)h->nlmsg_len) <= (size_t)left;
}

/* The next message and what is left after it (H passed msg_ok). */
static const struct nlmsghdr *msg_next(const struct nlmsghdr *h, int *left)
{
	*left -= (int)MNL_ALIGN((size_t)h->nlmsg_len);
	return (const struct nlmsghdr *)((const char *)h + MNL_ALIGN((size_t)h->nlmsg_len));
}

int nl_mirror_feed_dump(struct nl_mirror *m, const void *buf, size_t len, unsigned int seq,
			unsigned int portid, bool *intr)
{
	int left = len > INT_MAX ? INT_MAX : (int)len;

	for (const struct nlmsghdr *h = buf; msg_ok(h, left); h = msg_next(h, &left)) {
		if (!mnl_nlmsg_seq_ok(h, seq) || !mnl_nlmsg_portid_ok(h, portid))
			continue;
		if (h->nlmsg_flags & NLM_F_DUMP_INTR)
			*intr = true;
		if (h->nlmsg_type == NLMSG_DONE)
			return 0;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			/* (a truncated one: found by the fuzzer) */
			if (mnl_nlmsg_get_payload_len(h) < sizeof(e->error))
				return -EBADMSG;
			return e->error > 0 ? -EPROTO : e->error;
		}
		nl_mirror_dispatch(m, h);
	}
	if (left > 0)
		m->stats.parse_errors++; /* what is left is no message */
	return 1;
}

int nl_mirror_feed_events(struct nl_mirror *m, const void *buf, size_t len)
{
	int left = len > INT_MAX ? INT_MAX : (int)len;

	for (const struct nlmsghdr *h = buf; msg_ok(h, left); h = msg_next(h, &left)) {
		if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR ||
		    h->nlmsg_type == NLMSG_NOOP)
			continue;
		nl_mirror_dispatch(m, h);
		m->stats.events++;
	}
	if (left > 0)
		m->stats.parse_errors++;
	return 0;
}

/* mnl_socket_recvfrom(), but only what the kernel sent: a process with
 * CAP_NET_ADMIN can send netlink messages to our socket's port id, and the
 * FIB must not believe them (counted as "foreign", skipped). */
static ssize_t recv_kernel(struct nl_mirror *m, struct mnl_socket *s, void *buf, size_t len)
{
	for (;;) {
		struct sockaddr_nl addr;
		struct iovec iov = {.iov_base = buf, .iov_len = len};
		struct msghdr msg = {
		    .msg_name = &addr,
		    .msg_namelen = sizeof(addr),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(mnl_socket_get_fd(s), &msg, 0);

		if (n < 0)
			return n;
		if (msg.msg_flags & MSG_TRUNC) {
			errno = ENOSPC;
			return -1;
		}
		if (msg.msg_namelen != sizeof(addr)) {
			errno = EINVAL;
			return -1;
		}
		if (addr.nl_pid == 0)
			return n;
		m->stats.foreign++;
	}
}

/* Send one dump request and apply every reply as it arrives. Sets *intr
 * if the kernel says the dump may be inconsistent. */
static int dump_one(struct nl_mirror *m, uint16_t type, uint8_t family, bool *intr)
{
	char req[256] = {0};
	static char buf[1 << 17];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtgenmsg *g;
	unsigned int seq = ++m->seq, portid = mnl_socket_get_portid(m->dump);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = family;
	/* RTM_GETROUTE/ADDR/NEIGH accept a struct the size of rtmsg etc.;
	 * pad so strict-checking kernels parse the header as intended. */
	nlh->nlmsg_len = mnl_nlmsg_size(type == RTM_GETLINK	 ? sizeof(struct ifinfomsg)
					: type == RTM_GETADDR	 ? sizeof(struct ifaddrmsg)
					: type == RTM_GETNEIGH	 ? sizeof(struct ndmsg)
					: type == RTM_GETNEXTHOP ? sizeof(struct nhmsg)
								 : sizeof(struct rtmsg));
	if (mnl_socket_sendto(m->dump, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	for (;;) {
		ssize_t n = recv_kernel(m, m->dump, buf, sizeof(buf));
		int ret;

		if (n < 0)
			return -errno;
		ret = nl_mirror_feed_dump(m, buf, (size_t)n, seq, portid, intr);
		if (ret <= 0)
			return ret;
	}
}

/* Discard what the event socket holds: events from before the dump. */
static void drain_events(struct nl_mirror *m)
{
	static char buf[1 << 16];

	if (m->ev == NULL)
		return;
	for (;;) {
		ssize_t n = recv_kernel(m, m->ev, buf, sizeof(buf));
		if (n < 0 && errno == ENOBUFS)
			continue; /* an overrun while draining: keep draining */
		if (n <= 0)
			return;
		m->stats.drained++;
	}
}

int nl_mirror_sync(struct nl_mirror *m)
{
	/* Links first (names, MACs), then addresses, nexthop objects (routes
	 * name them), routes, neighbours. */
	static const struct {
		uint16_t type;
		uint8_t family;
	} dumps[] = {
	    {RTM_GETLINK, AF_UNSPEC}, {RTM_GETADDR, AF_UNSPEC}, {RTM_GETNEXTHOP, AF_UNSPEC},
	    {RTM_GETROUTE, AF_INET},  {RTM_GETROUTE, AF_INET6}, {RTM_GETNEIGH, AF_INET},
	    {RTM_GETNEIGH, AF_INET6},
	};
	bool intr = true;
	int ret = 0;

	m->resync_pending = true;
	m->stats.behind = true;
	if (m->ops->behind)
		m->ops->behind(m->ctx);
	for (int attempt = 0; attempt < DUMP_RETRIES && intr; attempt++) {
		if (attempt > 0)
			m->stats.dump_retries++;
		intr = false;
		if (m->ops->resync_begin)
			m->ops->resync_begin(m->ctx);
		for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
			ret = dump_one(m, dumps[i].type, dumps[i].family, &intr);
			/* no nexthop objects in this kernel: nothing to mirror */
			if (ret < 0 && dumps[i].type == RTM_GETNEXTHOP &&
			    (ret == -EINVAL || ret == -EOPNOTSUPP))
				ret = 0;
			if (ret < 0)
				goto fail;
		}
	}
	if (intr) {
		ret = -EAGAIN;
		goto fail;
	}
	if (m->ops->resync_end)
		m->ops->resync_end(m->ctx);
	m->stats.dumps++;
	m->resync_pending = false;
	m->stats.behind = false;
	return 0;
fail:
	/* Stays pending (and the consumer behind): nl_mirror_tick retries. */
	m->stats.resync_failures++;
	return ret;
}

void nl_mirror_request_resync(struct nl_mirror *m)
{
	m->resync_pending = true;
}

int nl_mirror_tick(struct nl_mirror *m)
{
	if (!m->resync_pending)
		return 0;
	drain_events(m);
	return nl_mirror_sync(m);
}

int nl_mirror_process(struct nl_mirror *m)
{
	static char buf[1 << 17];

	for (int batch = 0; batch < EVENT_BATCH; batch++) {
		ssize_t n = recv_kernel(m, m->ev, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == ENOBUFS) {
				/* Events were lost: only a full resync is correct,
				 * and only after the older queued events are gone. */
				m->stats.overruns++;
				if (m->ops->behind)
					m->ops->behind(m->ctx);
				m->stats.behind = true;
				m->resync_pending = true;
				drain_events(m);
				int ret = nl_mirror_sync(m);
				if (ret < 0)
					return ret; /* pending: retried by the tick */
				continue;
			}
			return -errno;
		}
		nl_mirror_feed_events(m, buf, (size_t)n);
	}
	return 1; /* more may be queued: the caller's loop comes back */
}
