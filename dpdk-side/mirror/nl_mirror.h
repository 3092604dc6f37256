/* SPDX-License-Identifier: BSD-3-Clause */
/* The dataplane's lean netlink mirror (libmnl): links, addresses, routes and
 * neighbours of the kernel, IPv4 and IPv6, from an initial dump and then from
 * events. One dispatch on nlmsg_type (nl_mirror.c), one parser per object kind
 * (mirror_link.c, mirror_addr.c, mirror_route.c, mirror_neigh.c), the same
 * parser for dump replies and for events. What to do with an object is the
 * consumer's business (the FIB), through struct mirror_ops. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct nlmsghdr;

struct mirror_link {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[6];
	bool has_mac;
	bool up;    /* IFF_UP */
	int master; /* IFLA_MASTER, 0 = none */
	uint32_t mtu;
};

struct mirror_addr {
	int ifindex;
	int family;
	uint8_t addr[16];
	uint8_t prefixlen;
};

struct mirror_route {
	int family;
	uint8_t dst[16];
	uint8_t dst_len;
	uint32_t table;
	uint8_t type;	  /* RTN_UNICAST, RTN_LOCAL, RTN_BLACKHOLE, ... */
	uint8_t protocol; /* RTPROT_* */
	uint32_t priority;
	int oif; /* 0 = none */
	bool has_gw;
	uint8_t gw[16];
	bool multipath; /* RTA_MULTIPATH: only the first next hop is used */
};

struct mirror_neigh {
	int ifindex;
	int family;
	uint8_t addr[16];
	bool has_lladdr;
	uint8_t mac[6];
	uint16_t state; /* NUD_* */
};

/* The consumer. `del` is true for RTM_DEL* and for neighbours that stopped
 * being usable (FAILED, INCOMPLETE). During a resync every object still in
 * the kernel is set again between resync_begin and resync_end; what was not
 * set again must be dropped at resync_end. */
struct mirror_ops {
	void (*link)(void *ctx, bool del, const struct mirror_link *l);
	void (*addr)(void *ctx, bool del, const struct mirror_addr *a);
	void (*route)(void *ctx, bool del, const struct mirror_route *r);
	void (*neigh)(void *ctx, bool del, const struct mirror_neigh *n);
	void (*resync_begin)(void *ctx);
	void (*resync_end)(void *ctx);
};

struct nl_mirror_stats {
	uint64_t events;       /* messages applied from the event socket */
	uint64_t dumps;	       /* complete dumps applied */
	uint64_t dump_retries; /* dumps restarted (NLM_F_DUMP_INTR) */
	uint64_t overruns;     /* ENOBUFS on the event socket → full resync */
	uint64_t parse_errors; /* malformed messages skipped */
	uint64_t ignored;      /* other tables, families, types */
};

struct nl_mirror;

/* Subscribe (events are queued from now on) — call nl_mirror_sync() next.
 * tables: routing tables to mirror besides main (may be NULL). */
int nl_mirror_open(struct nl_mirror **m, const struct mirror_ops *ops, void *ctx,
		   const uint32_t *tables, int n_tables);
void nl_mirror_close(struct nl_mirror *m);
/* The event socket, to poll for readability. */
int nl_mirror_fd(const struct nl_mirror *m);
/* Full dump of links, addresses, routes, neighbours, applied only when
 * complete (an interrupted dump is retried, never half-applied). */
int nl_mirror_sync(struct nl_mirror *m);
/* Apply all pending events (non-blocking). An overrun triggers a resync. */
int nl_mirror_process(struct nl_mirror *m);
const struct nl_mirror_stats *nl_mirror_stats(const struct nl_mirror *m);
/* Resize the event socket's receive buffer (tests use a tiny one to force
 * overruns). */
int nl_mirror_set_rcvbuf(struct nl_mirror *m, int bytes);

/* One message → the consumer (exposed for unit tests). Returns 0, or
 * -EINVAL for a malformed message. */
int nl_mirror_dispatch(struct nl_mirror *m, const struct nlmsghdr *nlh);
/* A mirror with no sockets, for feeding crafted messages in tests. */
int nl_mirror_new_detached(struct nl_mirror **m, const struct mirror_ops *ops, void *ctx,
			   const uint32_t *tables, int n_tables);

/* Per-kind parsers (one file each). Return 0 or -EINVAL. */
int mirror_link_parse(const struct nlmsghdr *nlh, struct mirror_link *l);
int mirror_addr_parse(const struct nlmsghdr *nlh, struct mirror_addr *a);
int mirror_route_parse(const struct nlmsghdr *nlh, struct mirror_route *r);
int mirror_neigh_parse(const struct nlmsghdr *nlh, struct mirror_neigh *n);
