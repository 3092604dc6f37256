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
	/* an 802.1Q VLAN netdev (kind "vlan", protocol 802.1Q): its VID and
	 * the link it is on (IFLA_LINK); vlan_id 0 = not one */
	uint16_t vlan_id;
	int link;
};

struct mirror_addr {
	int ifindex;
	int family;
	uint8_t addr[16];
	uint8_t prefixlen;
};

/* Equal-cost paths of one route (RTA_MULTIPATH), or of a nexthop group. */
#define MIRROR_MAX_PATHS 16

struct mirror_path {
	int oif;
	bool has_gw;
	uint8_t gw_family; /* AF_INET6 for an IPv4 route via an IPv6 gateway (RTA_VIA) */
	uint8_t gw[16];
	uint16_t weight; /* rtnh_hops + 1, 1..256 */
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
	uint32_t nh_id; /* RTA_NH_ID: the route uses kernel nexthop object nh_id */
	/* Every path: paths[0] repeats oif/has_gw/gw. 1 for a plain route, the
	 * members of RTA_MULTIPATH (at most MIRROR_MAX_PATHS, `truncated` set
	 * beyond), 0 with nh_id or for a route with no next hop (blackhole...). */
	int n_paths;
	struct mirror_path paths[MIRROR_MAX_PATHS];
	bool multipath;
	bool truncated;
};

/* A kernel nexthop object (RTM_NEWNEXTHOP, `ip nexthop`): one next hop, or a
 * group of other objects' ids with weights. */
struct mirror_nexthop {
	uint32_t id;
	int family;	/* AF_INET, AF_INET6, or AF_UNSPEC (group, blackhole) */
	bool blackhole; /* NHA_BLACKHOLE */
	bool fdb;	/* NHA_FDB: for VXLAN FDB, never routes */
	int oif;
	bool has_gw;
	uint8_t gw[16];
	int n_grp; /* > 0: a group of the objects grp[i].id */
	struct {
		uint32_t id;
		uint16_t weight; /* 1..256 */
	} grp[MIRROR_MAX_PATHS];
	bool truncated;
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
	void (*nexthop)(void *ctx, bool del, const struct mirror_nexthop *nh);
	/* The mirror lost events (overrun) or could not complete a resync: the
	 * consumer must not trust its tables until resync_end. */
	void (*behind)(void *ctx);
	void (*resync_begin)(void *ctx);
	void (*resync_end)(void *ctx);
};

struct nl_mirror_stats {
	uint64_t events;	  /* messages applied from the event socket */
	uint64_t dumps;		  /* complete dumps applied */
	uint64_t dump_retries;	  /* dumps restarted (NLM_F_DUMP_INTR) */
	uint64_t overruns;	  /* ENOBUFS on the event socket → full resync */
	uint64_t parse_errors;	  /* malformed messages skipped */
	uint64_t foreign;	  /* messages not from the kernel, skipped */
	uint64_t ignored;	  /* other tables, families, types */
	uint64_t resync_failures; /* resyncs that failed and were retried later */
	uint64_t drained;	  /* stale events discarded before a resync dump */
	bool behind;		  /* a resync is pending: the FIB is not trusted */
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
/* Apply pending events (non-blocking, at most a bounded batch so the caller's
 * loop keeps turning; returns 1 if more may be pending, 0 when drained). An
 * overrun triggers a resync: the event queue is drained first (events queued
 * before the gap are older than the dump and must not be replayed over it),
 * then the dump, then the events queued since. A resync that fails is left
 * pending and retried by the next call (and by nl_mirror_tick). */
int nl_mirror_process(struct nl_mirror *m);
/* Retry a pending resync (call periodically, e.g. every 100 ms). */
int nl_mirror_tick(struct nl_mirror *m);
/* Ask for a full resync at the next tick (e.g. the consumer's table was
 * full and may have room now). */
void nl_mirror_request_resync(struct nl_mirror *m);
const struct nl_mirror_stats *nl_mirror_stats(const struct nl_mirror *m);
/* Resize the event socket's receive buffer (tests use a tiny one to force
 * overruns). */
int nl_mirror_set_rcvbuf(struct nl_mirror *m, int bytes);

/* One message → the consumer (exposed for unit tests). Returns 0, or
 * -EINVAL for a malformed message. */
int nl_mirror_dispatch(struct nl_mirror *m, const struct nlmsghdr *nlh);
/* A buffer of messages as one recv() returns them, walked and dispatched as
 * nl_mirror_process (events) and nl_mirror_sync (dump replies: only those of
 * SEQ and PORTID, 0 = any) do; exposed for the fuzzer and the tests.
 * feed_dump returns 1 when more replies are to come, 0 at NLMSG_DONE, or the
 * error of an NLMSG_ERROR. A message that does not fit in what is left of
 * the buffer ends the walk (counted in parse_errors). */
int nl_mirror_feed_events(struct nl_mirror *m, const void *buf, size_t len);
int nl_mirror_feed_dump(struct nl_mirror *m, const void *buf, size_t len, unsigned int seq,
			unsigned int portid, bool *intr);
/* A mirror with no sockets, for feeding crafted messages in tests. */
int nl_mirror_new_detached(struct nl_mirror **m, const struct mirror_ops *ops, void *ctx,
			   const uint32_t *tables, int n_tables);

/* Per-kind parsers (one file each). Return 0 or -EINVAL. */
int mirror_link_parse(const struct nlmsghdr *nlh, struct mirror_link *l);
int mirror_addr_parse(const struct nlmsghdr *nlh, struct mirror_addr *a);
int mirror_route_parse(const struct nlmsghdr *nlh, struct mirror_route *r);
int mirror_neigh_parse(const struct nlmsghdr *nlh, struct mirror_neigh *n);
int mirror_nexthop_parse(const struct nlmsghdr *nlh, struct mirror_nexthop *nh);
