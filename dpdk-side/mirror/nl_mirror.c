/* SPDX-License-Identifier: BSD-3-Clause */
/* Netlink mirror: subscription, dumps, events, one dispatch on nlmsg_type.
 *
 * Two sockets: the event socket is subscribed first, so nothing that changes
 * during the initial dump is lost (those events are applied after it, and
 * applying is idempotent); the dump socket is used for request/response.
 * A dump is buffered whole and applied only if no part of it carried
 * NLM_F_DUMP_INTR, so the consumer never sees half a dump. An overrun of the
 * event socket (ENOBUFS: events were lost) is repaired by a full resync. This
 * file knows nothing of DPDK, so the unit tests can drive it with crafted
 * messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "nl_mirror.h"

#define MAX_TABLES   8
#define DUMP_RETRIES 20
#define EVENT_RCVBUF (32 << 20)

struct nl_mirror {
	struct mnl_socket *ev;	 /* subscribed to the groups */
	struct mnl_socket *dump; /* request/response */
	unsigned int seq;
	const struct mirror_ops *ops;
	void *ctx;
	uint32_t tables[MAX_TABLES + 1];
	int n_tables;
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

struct dump_buf {
	char *data;
	size_t len, cap;
	bool intr;
};

/* Send one dump request and append every reply to DB. */
static int dump_one(struct nl_mirror *m, uint16_t type, uint8_t family, struct dump_buf *db)
{
	char req[256] = {0};
	static char buf[1 << 16];
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
	nlh->nlmsg_len = mnl_nlmsg_size(type == RTM_GETLINK    ? sizeof(struct ifinfomsg)
					: type == RTM_GETADDR  ? sizeof(struct ifaddrmsg)
					: type == RTM_GETNEIGH ? sizeof(struct ndmsg)
							       : sizeof(struct rtmsg));
	if (mnl_socket_sendto(m->dump, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(m->dump, buf, sizeof(buf));
		int len = n;
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			if (!mnl_nlmsg_seq_ok(h, seq) || !mnl_nlmsg_portid_ok(h, portid))
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				db->intr = true;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
				return e->error;
			}
			size_t need = db->len + NLMSG_ALIGN(h->nlmsg_len);
			if (need > db->cap) {
				size_t cap = db->cap ? db->cap * 2 : 1 << 20;
				while (cap < need)
					cap *= 2;
				char *d = realloc(db->data, cap);
				if (d == NULL)
					return -ENOMEM;
				db->data = d;
				db->cap = cap;
			}
			memcpy(db->data + db->len, h, h->nlmsg_len);
			db->len = need;
		}
	}
}

int nl_mirror_sync(struct nl_mirror *m)
{
	/* Links first (names, MACs), then addresses, routes, neighbours. */
	static const struct {
		uint16_t type;
		uint8_t family;
	} dumps[] = {
	    {RTM_GETLINK, AF_UNSPEC}, {RTM_GETADDR, AF_UNSPEC}, {RTM_GETROUTE, AF_INET},
	    {RTM_GETROUTE, AF_INET6}, {RTM_GETNEIGH, AF_INET},	{RTM_GETNEIGH, AF_INET6},
	};
	struct dump_buf db = {0};
	int ret = 0;

	for (int attempt = 0; attempt < DUMP_RETRIES; attempt++) {
		db.len = 0;
		db.intr = false;
		for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
			ret = dump_one(m, dumps[i].type, dumps[i].family, &db);
			if (ret < 0)
				goto out;
		}
		if (!db.intr)
			break;
		m->stats.dump_retries++;
	}
	if (db.intr) {
		ret = -EAGAIN;
		goto out;
	}
	if (m->ops->resync_begin)
		m->ops->resync_begin(m->ctx);
	for (size_t off = 0; off + sizeof(struct nlmsghdr) <= db.len;) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(db.data + off);
		if (h->nlmsg_len < sizeof(*h))
			break;
		nl_mirror_dispatch(m, h);
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	if (m->ops->resync_end)
		m->ops->resync_end(m->ctx);
	m->stats.dumps++;
out:
	free(db.data);
	return ret;
}

int nl_mirror_process(struct nl_mirror *m)
{
	static char buf[1 << 16];

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(m->ev, buf, sizeof(buf));
		int len = n;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == ENOBUFS) {
				/* Events were lost: only a full resync is correct. */
				m->stats.overruns++;
				int ret = nl_mirror_sync(m);
				if (ret < 0)
					return ret;
				continue;
			}
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR ||
			    h->nlmsg_type == NLMSG_NOOP)
				continue;
			nl_mirror_dispatch(m, h);
			m->stats.events++;
		}
	}
}
