/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime routes through the underlay device (dp0 in DPDK mode, the NIC
 * netdev in kernel mode) that the config does not list — a routing daemon's,
 * typically. They vanish with dp0 when the dataplane dies, so agentd
 * remembers them and moves them with the underlay.
 *
 * The cost follows the route changes, not the table size:
 *  - the record (route_record.c, a hash table) is maintained from the route
 *    events agentd already receives, parsed in place: a message whose output
 *    interface is not the underlay device costs a few compares;
 *  - one dump filtered by the kernel to the underlay device (strict checking,
 *    RTA_OIF) rebuilds it at the first move (start, adoption), after lost
 *    events (socket overrun, at most once per REBUILD_MIN_INTERVAL_MS) and
 *    when the device comes back up — never per event;
 *  - the replay onto the other device packs hundreds of requests into one
 *    sendmsg without ACKs (the kernel answers only errors) and runs in chunks
 *    from a timer, so the event loop keeps answering agentctl and SIGTERM.
 *
 * A device that goes down or away loses its routes (IPv6 tells, IPv4 does
 * not): deletions are ignored while the underlay device is not up, so a
 * failover does not erase the record. */
#define LOG_TYPE "kernel"
#include <agent_log.h>

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <kernel_side.h>

#include "agentd.h"
#include "route_record.h"

/* Routes sent per timer tick: ~10-30 ms of kernel work, then the loop
 * serves whatever else is pending before the next chunk. */
#define REPLAY_CHUNK		8192
#define SEND_BUF_SIZE		(16 * 1024)
#define RECV_BUF_SIZE		(64 * 1024)
#define SOCK_RCVBUF		(8 << 20)
#define REBUILD_MIN_INTERVAL_MS 1000
#define STATUS_SAMPLE		20

static struct {
	struct rr_table rec;
	bool initialised; /* the first move did its dump */
	int fd;		  /* rtnetlink: dumps and replays */
	int timer_fd;	  /* replay chunks and deferred rebuilds */
	uint32_t seq;
	bool strict; /* NETLINK_GET_STRICT_CHK: the kernel filters dumps by device */

	/* the device that holds the underlay, as last moved by agentd */
	char dev[IFNAMSIZ];
	int ifindex;
	bool up; /* deletions are trusted only while it is up */

	bool rebuild_wanted;
	double last_rebuild;
	uint64_t rebuilds, overruns, events;

	struct {
		bool active;
		size_t cursor;
		uint64_t resizes;
		size_t sent, failed;
		int first_err;
		double t0;
		char dev[IFNAMSIZ];
		int ifindex;
	} replay;
	double last_replay_s;
	size_t last_replay_routes;

	size_t logged_count;
	double logged_at;

	char sbuf[SEND_BUF_SIZE];
	size_t sused;
	char rbuf[RECV_BUF_SIZE];
} ur = {.fd = -1, .timer_fd = -1};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void timer_arm_ms(int ms)
{
	struct itimerspec its = {0};

	if (ur.timer_fd < 0)
		return;
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000L + (ms == 0);
	timerfd_settime(ur.timer_fd, 0, &its, NULL);
}

/* Routes the config installs itself are not runtime routes (same rule as
 * before: a config metric of 0 matches any metric). */
static bool is_config_route(const struct agent_config *cfg, const struct rr_key *k)
{
	for (int i = 0; i < cfg->n_routes; i++) {
		const struct route_cfg *r = &cfg->routes[i];
		struct rr_key ck;

		if (r->dst.family != k->family || r->dst.len != k->plen)
			continue;
		rr_key_make(&ck, r->dst.family, r->dst.addr.bytes, r->dst.len, k->table, 0);
		if (memcmp(ck.dst, k->dst, 16) == 0 && (r->metric == 0 || r->metric == k->metric))
			return true;
	}
	return false;
}

/* A route through the underlay device worth remembering? */
static bool keep_route(struct agentd *a, const struct rr_key *k, const struct rr_val *v)
{
	/* connected and link-local routes are the kernel's own */
	return v->protocol != RTPROT_KERNEL && !is_config_route(&a->cfg, k);
}

static void count_log(void)
{
	double t = now_s();

	if (rr_count(&ur.rec) == ur.logged_count || t - ur.logged_at < 1)
		return;
	ur.logged_count = rr_count(&ur.rec);
	ur.logged_at = t;
	LOG(INFO, "%zu runtime route(s) through the underlay (%s) remembered", ur.logged_count,
	    ur.dev);
}

static int sock_open(void)
{
	int one = 1, size = SOCK_RCVBUF;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};

	if (ur.fd >= 0)
		return 0;
	ur.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (ur.fd < 0)
		return -errno;
	if (bind(ur.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;
		close(ur.fd);
		ur.fd = -1;
		return ret;
	}
	/* Error answers of a replay pile up until read: room for many. */
	if (setsockopt(ur.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(ur.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	ur.strict = setsockopt(ur.fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)) == 0;
	if (!ur.strict)
		LOG(WARNING, "no netlink strict checking: route dumps are not filtered by device "
			     "in the kernel");
	return 0;
}

static void rtattr_put(struct nlmsghdr *nlh, int type, const void *data, int len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* ---- rebuild: one dump per family, filtered to IFINDEX ------------------ */

static int dump_family(struct agentd *a, int family, int ifindex, size_t *kept)
{
	struct {
		struct nlmsghdr nlh;
		struct rtmsg rtm;
		char attrs[64];
	} req;
	uint32_t oif = ifindex, seq = ++ur.seq;
	bool done = false;
	int ret = 0;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
	req.nlh.nlmsg_type = RTM_GETROUTE;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	req.rtm.rtm_family = family;
	if (ur.strict) {
		req.rtm.rtm_table = RT_TABLE_MAIN;
		req.rtm.rtm_type = RTN_UNICAST;
		rtattr_put((struct nlmsghdr *)&req, RTA_OIF, &oif, sizeof(oif));
	}
	if (send(ur.fd, &req, req.nlh.nlmsg_len, 0) < 0)
		return -errno;
	while (!done) {
		ssize_t n = recv(ur.fd, ur.rbuf, sizeof(ur.rbuf), 0);
		struct nlmsghdr *nlh;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (nlh = (struct nlmsghdr *)ur.rbuf; NLMSG_OK(nlh, (size_t)n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			struct rr_key k;
			struct rr_val v;

			if (nlh->nlmsg_seq != seq)
				continue; /* a late error answer of a replay */
			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);
				ret = e->error;
				done = true;
				break;
			}
			if (rr_parse_route(nlh, ifindex, &k, &v) == RR_THROUGH &&
			    keep_route(a, &k, &v) && rr_set(&ur.rec, &k, &v) >= 0)
				(*kept)++;
		}
	}
	return ret;
}

/* Replace the record's content with the routes of the devices in DEVS
 * (absent or down ones are skipped: they have lost their routes). */
static int rebuild(struct agentd *a, const char *const *devs, int n_devs)
{
	size_t kept = 0, removed;
	double t0 = now_s();
	int ret = sock_open(), dumped = 0;

	if (ret < 0)
		return ret;
	rr_mark_begin(&ur.rec);
	for (int i = 0; i < n_devs; i++) {
		struct ks_link_info li;
		if (devs[i] == NULL || ks_link_get(a->nl, devs[i], &li) < 0 || !li.admin_up)
			continue;
		if ((ret = dump_family(a, AF_INET, li.ifindex, &kept)) < 0 ||
		    (ret = dump_family(a, AF_INET6, li.ifindex, &kept)) < 0) {
			/* keep what was there: a failed dump is not an empty table */
			LOG(WARNING, "route dump of %s failed: %s", devs[i], strerror(-ret));
			return ret;
		}
		dumped++;
	}
	if (dumped == 0)
		return -ENODEV;
	removed = rr_sweep(&ur.rec);
	ur.rebuilds++;
	ur.last_rebuild = now_s();
	LOG(INFO,
	    "underlay route record rebuilt from a dump: %zu route(s) (%zu forgotten) in %.0f ms",
	    rr_count(&ur.rec), removed, (ur.last_rebuild - t0) * 1e3);
	ur.logged_count = rr_count(&ur.rec);
	ur.logged_at = ur.last_rebuild;
	return 0;
}

/* Deferred rebuild of the current device's routes: not during a replay
 * (the device holds only part of them), not more often than once a second
 * (a burst that overruns the socket again and again), not while it is down. */
static void rebuild_maybe(struct agentd *a)
{
	double wait_ms;

	if (!ur.rebuild_wanted || ur.replay.active || !ur.initialised)
		return;
	wait_ms = (ur.last_rebuild + REBUILD_MIN_INTERVAL_MS / 1e3 - now_s()) * 1e3;
	if (wait_ms > 0) {
		timer_arm_ms((int)wait_ms + 1);
		return;
	}
	if (!ur.up)
		return; /* the up event asks again */
	ur.rebuild_wanted = false;
	const char *devs[] = {ur.dev};
	rebuild(a, devs, 1);
}

/* ---- events ------------------------------------------------------------ */

void underlay_routes_event(struct agentd *a, const struct nlmsghdr *nlh)
{
	struct rr_key k;
	struct rr_val v;

	if (ur.ifindex <= 0)
		return; /* nothing moved yet: the first move dumps */
	if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) {
		const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
		bool up;

		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_index != ur.ifindex)
			return;
		up = nlh->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP);
		if (up && !ur.up)
			ur.rebuild_wanted = true; /* back up: what does it hold now? */
		ur.up = up;
		return;
	}
	ur.events++;
	switch (rr_parse_route(nlh, ur.ifindex, &k, &v)) {
	case RR_SKIP:
		break;
	case RR_THROUGH:
		if (nlh->nlmsg_type == RTM_NEWROUTE) {
			if (keep_route(a, &k, &v) && rr_set(&ur.rec, &k, &v) < 0)
				ur.rebuild_wanted = true; /* out of memory: try a dump later */
		} else if (ur.up) {
			/* a device going down deletes its routes: not a change of ours */
			rr_del(&ur.rec, &k);
		}
		break;
	case RR_ELSEWHERE:
		/* the route was replaced by one through another device */
		if (nlh->nlmsg_type == RTM_NEWROUTE && (nlh->nlmsg_flags & NLM_F_REPLACE) && ur.up)
			rr_del(&ur.rec, &k);
		break;
	}
}

void underlay_routes_overrun(struct agentd *a)
{
	ur.overruns++;
	ur.rebuild_wanted = true;
}

void underlay_routes_batch_end(struct agentd *a)
{
	rebuild_maybe(a);
	count_log();
}

/* ---- replay ------------------------------------------------------------ */

/* Read the kernel's answers: without NLM_F_ACK only failures answer. */
static void replay_collect(void)
{
	for (;;) {
		ssize_t n = recv(ur.fd, ur.rbuf, sizeof(ur.rbuf), MSG_DONTWAIT);
		struct nlmsghdr *nlh;

		if (n < 0) {
			if (errno == ENOBUFS) {
				/* answers lost: they were failures, count one */
				ur.replay.failed++;
				ur.replay.first_err = ur.replay.first_err ?: -ENOBUFS;
				continue;
			}
			return;
		}
		for (nlh = (struct nlmsghdr *)ur.rbuf; NLMSG_OK(nlh, (size_t)n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			const struct nlmsgerr *e = NLMSG_DATA(nlh);
			if (nlh->nlmsg_type != NLMSG_ERROR || e->error == 0)
				continue;
			ur.replay.failed++;
			if (ur.replay.first_err == 0)
				ur.replay.first_err = e->error;
		}
	}
}

static void replay_flush(void)
{
	if (ur.sused == 0)
		return;
	/* The kernel processes every request of the buffer within this call
	 * (failures are queued on the socket), so one syscall moves hundreds. */
	if (send(ur.fd, ur.sbuf, ur.sused, 0) < 0) {
		ur.replay.failed++;
		ur.replay.first_err = ur.replay.first_err ?: -errno;
	}
	ur.sused = 0;
	replay_collect();
}

/* Append an RTM_NEWROUTE (create/replace) for E through the replay device. */
static void replay_one(const struct rr_entry *e, void *arg)
{
	const struct rr_key *k = &e->key;
	const struct rr_val *v = &e->val;
	int alen = k->family == AF_INET6 ? 16 : 4;
	uint32_t oif = ur.replay.ifindex;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (ur.sused + 256 > sizeof(ur.sbuf))
		replay_flush();
	nlh = (struct nlmsghdr *)(ur.sbuf + ur.sused);
	memset(nlh, 0, 256);
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*rtm));
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
	nlh->nlmsg_seq = ++ur.seq;
	rtm = NLMSG_DATA(nlh);
	rtm->rtm_family = k->family;
	rtm->rtm_dst_len = k->plen;
	rtm->rtm_table = k->table < 256 ? k->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = v->protocol;
	rtm->rtm_type = v->type ? v->type : RTN_UNICAST;
	/* like iproute2 (and ks_route_ensure): an IPv4 route without a gateway
	 * is on-link */
	rtm->rtm_scope = k->family == AF_INET && !v->has_gw ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	if (k->plen > 0)
		rtattr_put(nlh, RTA_DST, k->dst, alen);
	rtattr_put(nlh, RTA_OIF, &oif, sizeof(oif));
	if (v->has_gw)
		rtattr_put(nlh, RTA_GATEWAY, v->gw, alen);
	if (k->metric != 0)
		rtattr_put(nlh, RTA_PRIORITY, &k->metric, sizeof(k->metric));
	if (k->table >= 256)
		rtattr_put(nlh, RTA_TABLE, &k->table, sizeof(k->table));
	ur.sused += NLMSG_ALIGN(nlh->nlmsg_len);
	ur.replay.sent++;
}

static void replay_done(void)
{
	double ms = (now_s() - ur.replay.t0) * 1e3;

	ur.replay.active = false;
	ur.last_replay_s = ms / 1e3;
	ur.last_replay_routes = ur.replay.sent;
	if (ur.replay.failed > 0)
		LOG(WARNING, "%zu runtime route(s) moved to %s in %.0f ms, %zu failed (first: %s)",
		    ur.replay.sent - ur.replay.failed, ur.replay.dev, ms, ur.replay.failed,
		    strerror(-ur.replay.first_err));
	else
		LOG(INFO, "%zu runtime route(s) moved to %s in %.0f ms", ur.replay.sent,
		    ur.replay.dev, ms);
}

/* Send up to MAX routes (0 = all) of the pending replay. Returns true when
 * the replay is over. */
static bool replay_step(size_t max)
{
	if (!ur.replay.active)
		return true;
	if (ur.replay.resizes != ur.rec.resizes) {
		/* rehashed since the last chunk: the cursor means nothing any
		 * more; start again (a route replaced with itself is harmless) */
		ur.replay.cursor = 0;
		ur.replay.resizes = ur.rec.resizes;
	}
	rr_walk(&ur.rec, &ur.replay.cursor, max ? max : SIZE_MAX, replay_one, NULL);
	replay_flush();
	if (ur.replay.cursor < ur.rec.n_buckets)
		return false;
	replay_done();
	return true;
}

static void timer_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	/* The previous chunk's notifications first: the event socket would
	 * overrun (and cost a dump) if chunks outpaced its reader. */
	if (ur.replay.active)
		steering_drain_events(a);
	if (ur.replay.active && !replay_step(REPLAY_CHUNK)) {
		timer_arm_ms(0); /* next chunk once the loop has served the others */
		return;
	}
	rebuild_maybe(a);
	count_log();
}

static int timer_open(struct agentd *a)
{
	int ret;

	if (ur.timer_fd >= 0)
		return 0;
	ur.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ur.timer_fd < 0)
		return -errno;
	ret = loop_add_fd(a, ur.timer_fd, timer_cb, NULL);
	if (ret < 0) {
		close(ur.timer_fd);
		ur.timer_fd = -1;
	}
	return ret;
}

int underlay_routes_prepare(struct agentd *a, const char *from, const char *to)
{
	int ret;

	if ((ret = sock_open()) < 0 || (ret = timer_open(a)) < 0) {
		LOG(ERR, "underlay routes: %s", strerror(-ret));
		return ret;
	}
	/* Events that predate the move concern the old device: apply them
	 * while it still is the underlay. */
	steering_drain_events(a);
	if (!ur.initialised) {
		/* Start or adoption: the underlay is on FROM (fresh start) or
		 * already on TO (an agentd restarted under a running dataplane).
		 * Before FROM loses its addresses: the kernel flushes the IPv4
		 * routes of a device left without any. */
		const char *devs[] = {from, to};
		ur.initialised = true;
		rebuild(a, devs, 2);
	}
	return 0;
}

int underlay_routes_move(struct agentd *a, const char *from, const char *to)
{
	struct ks_link_info li;
	int ret;

	if ((ret = underlay_routes_prepare(a, from, to)) < 0)
		return ret;
	if (ks_link_get(a->nl, to, &li) < 0)
		return -ENODEV;
	if (ur.ifindex == li.ifindex && ur.up && !ur.replay.active) {
		/* Already there (e.g. stopping in kernel mode, or a restart that
		 * failed again): the record is what this device holds. */
		LOG(DEBUG, "runtime routes already on %s", to);
		return 0;
	}
	if (ur.replay.active)
		LOG(NOTICE, "route replay to %s interrupted by a move to %s", ur.replay.dev, to);
	snprintf(ur.dev, sizeof(ur.dev), "%s", to);
	ur.ifindex = li.ifindex;
	ur.up = li.admin_up;
	/* a rebuild still wanted (events lost) waits for the end of the replay */

	memset(&ur.replay, 0, sizeof(ur.replay));
	ur.replay.active = true;
	ur.replay.t0 = now_s();
	ur.replay.resizes = ur.rec.resizes;
	ur.replay.ifindex = li.ifindex;
	snprintf(ur.replay.dev, sizeof(ur.replay.dev), "%s", to);
	/* Stopping: agentd exits next, everything now (bounded by the record's
	 * size: ~0.5 s per 100k routes). Otherwise the first chunk now — the
	 * whole record on an ordinary host — and the rest from the timer. */
	if (a->mode == MODE_STOPPING) {
		replay_step(0);
		return 0;
	}
	if (!replay_step(REPLAY_CHUNK)) {
		LOG(INFO, "moving %zu runtime route(s) to %s in chunks of %d", rr_count(&ur.rec),
		    to, REPLAY_CHUNK);
		timer_arm_ms(0);
	}
	return 0;
}

size_t underlay_routes_count(void)
{
	return rr_count(&ur.rec);
}

struct sample {
	json_t *arr;
	const char *dev;
};

static void sample_one(const struct rr_entry *e, void *arg)
{
	struct sample *s = arg;
	struct ip_prefix p = {.family = e->key.family, .len = e->key.plen};
	char dst[64], via[64];
	json_t *r;

	memcpy(p.addr.bytes, e->key.dst, 16);
	r = json_pack("{s:s,s:s,s:i,s:i}", "dst", ip_prefix_fmt(&p, true, dst, sizeof(dst)), "dev",
		      s->dev, "protocol", e->val.protocol, "metric", (int)e->key.metric);
	if (e->val.has_gw) {
		struct ip_prefix g = {.family = e->key.family,
				      .len = e->key.family == AF_INET6 ? 128 : 32};
		memcpy(g.addr.bytes, e->val.gw, 16);
		json_object_set_new(r, "via",
				    json_string(ip_prefix_fmt(&g, false, via, sizeof(via))));
	}
	json_object_set_new(r, "source", json_string("runtime"));
	json_array_append_new(s->arr, r);
}

/* The first MAX remembered routes (an order-less sample). */
void underlay_routes_sample(json_t *arr, size_t max)
{
	struct sample s = {.arr = arr, .dev = ur.dev};

	rr_sample(&ur.rec, max, sample_one, &s);
}

json_t *underlay_routes_status(void)
{
	json_t *st =
	    json_pack("{s:s,s:b,s:I,s:I,s:I,s:I}", "device", ur.dev, "device_up", ur.up, "total",
		      (json_int_t)rr_count(&ur.rec), "events", (json_int_t)ur.events, "rebuilds",
		      (json_int_t)ur.rebuilds, "event_overruns", (json_int_t)ur.overruns);

	json_object_set_new(st, "replay_pending", json_boolean(ur.replay.active));
	if (ur.replay.active)
		json_object_set_new(st, "replay_sent", json_integer(ur.replay.sent));
	json_object_set_new(st, "last_replay_routes", json_integer(ur.last_replay_routes));
	json_object_set_new(st, "last_replay_ms",
			    json_integer((json_int_t)(ur.last_replay_s * 1e3)));
	return st;
}

void underlay_routes_fini(struct agentd *a)
{
	if (ur.timer_fd >= 0) {
		loop_del_fd(a, ur.timer_fd);
		close(ur.timer_fd);
		ur.timer_fd = -1;
	}
	if (ur.fd >= 0)
		close(ur.fd);
	ur.fd = -1;
	rr_free(&ur.rec);
	ur.initialised = false;
	ur.ifindex = 0;
}
