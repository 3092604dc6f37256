/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime routes through the underlay device (dp0 in DPDK mode, the NIC
 * netdev in kernel mode) that the config does not list — a routing daemon's,
 * typically. They vanish with dp0 when the dataplane dies, so agentd
 * remembers them and moves them with the underlay.
 *
 * The cost follows the route changes, not the table size:
 *  - the record (route_record.c, a hash table) is maintained from the route
 *    events agentd already receives, parsed in place (nlmsg_parse, no
 *    allocation): a message that is not a unicast route of the main table
 *    stops at a few compares of its header;
 *  - one dump filtered by the kernel to the underlay device (strict checking,
 *    RTA_OIF) rebuilds it at the first move (start, adoption), after lost
 *    events (socket overrun, at most once per REBUILD_MIN_INTERVAL_MS) and
 *    when the device comes back up — never per event;
 *  - the replay onto the other device packs hundreds of requests into one
 *    sendmsg without ACKs (the kernel answers only errors) and runs in chunks
 *    from a timer, so the event loop keeps answering agentctl and SIGTERM.
 *
 * The socket, the requests and the parsing are libnl-3's: a struct nl_sock
 * (sequence numbers and the auto-ACK switch are its), each request built as
 * an nl_msg (nlmsg_put, nla_put*) and completed with nl_complete_msg; a
 * replay builds its requests in one reused nl_msg and copies their bytes
 * into one buffer sent with nl_sendto, and the answers (dump parts, error
 * answers) go through nl_recvmsgs with callbacks, rr_parse_route() parsing
 * each route with nlmsg_parse. Only
 * NETLINK_GET_STRICT_CHK and SO_RCVBUFFORCE are set on the socket's fd
 * directly: libnl 3.7 wraps neither.
 *
 * A device that goes down or away loses its routes (IPv6 tells, IPv4 does
 * not): deletions are ignored while the underlay device is not up, so a
 * failover does not erase the record. */
#define LOG_TYPE "kernel"
#include <agent_log.h>

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <kernel_side.h>

#include "agentd.h"
#include "route_record.h"

/* Routes sent per timer tick: ~10-30 ms of kernel work, then the loop
 * serves whatever else is pending before the next chunk. */
#define REPLAY_CHUNK		8192
#define SEND_BUF_SIZE		(16 * 1024)
#define RECV_BUF_SIZE		(64 * 1024)
#define SOCK_RCVBUF		(8 << 20)
#define SOCK_SNDBUF		(4 * SEND_BUF_SIZE)
#define REQ_MAX			256  /* rtmsg, two addresses, three u32: ~100 B */
#define DUMP_TIMEOUT_MS		5000 /* a dump silent this long has failed */
#define REBUILD_MIN_INTERVAL_MS 1000
#define STATUS_SAMPLE		20

static struct {
	struct rr_table rec;
	bool initialised;	 /* the first move did its dump */
	struct nl_sock *sk;	 /* rtnetlink, non-blocking: dumps and replays */
	struct nl_cb *dump_cb;	 /* a dump's parts: routes into the record */
	struct nl_cb *replay_cb; /* a replay's error answers: counted */
	struct nl_msg *req;	 /* a replay's request, rebuilt for each route */
	int timer_fd;		 /* replay chunks and deferred rebuilds */
	bool strict;		 /* NETLINK_GET_STRICT_CHK: the kernel filters dumps by device */

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
} ur = {.timer_fd = -1};

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

/* libnl's error codes mean little to a log: errno values (the kernel's own
 * ones come through the error callbacks). */
static int nl_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOBUFS; /* recvmsg()'s ENOBUFS: answers lost */
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_INTR:
	case NLE_DUMP_INTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

static int replay_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg);
static int dump_seq_cb(struct nl_msg *msg, void *arg);
static int dump_valid_cb(struct nl_msg *msg, void *arg);
static int dump_finish_cb(struct nl_msg *msg, void *arg);
static int dump_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg);
static int dump_intr_cb(struct nl_msg *msg, void *arg);

static void sock_close(void)
{
	nl_cb_put(ur.dump_cb);
	nl_cb_put(ur.replay_cb);
	nlmsg_free(ur.req);
	nl_socket_free(ur.sk);
	ur.dump_cb = ur.replay_cb = NULL;
	ur.req = NULL;
	ur.sk = NULL;
}

static int sock_open(void)
{
	int one = 1, size = SOCK_RCVBUF, ret, fd;

	if (ur.sk != NULL)
		return 0;
	ur.sk = nl_socket_alloc();
	ur.dump_cb = nl_cb_alloc(NL_CB_DEFAULT);
	ur.replay_cb = nl_cb_alloc(NL_CB_DEFAULT);
	ur.req = nlmsg_alloc_size(REQ_MAX);
	if (ur.sk == NULL || ur.dump_cb == NULL || ur.replay_cb == NULL || ur.req == NULL) {
		sock_close();
		return -ENOMEM;
	}
	/* Requests go without NLM_F_ACK: a replay hears only of failures. */
	nl_socket_disable_auto_ack(ur.sk);
	/* One recvmsg per 64 KiB of answers, no MSG_PEEK round before it. */
	nl_socket_set_msg_buf_size(ur.sk, RECV_BUF_SIZE);
	nl_socket_disable_msg_peek(ur.sk);
	if ((ret = nl_connect(ur.sk, NETLINK_ROUTE)) < 0 ||
	    (ret = nl_socket_set_nonblocking(ur.sk)) < 0 ||
	    (ret = nl_socket_set_buffer_size(ur.sk, SOCK_RCVBUF, SOCK_SNDBUF)) < 0) {
		LOG(ERR, "underlay routes: rtnetlink socket: %s", nl_geterror(ret));
		sock_close();
		return nl_errno(ret);
	}
	fd = nl_socket_get_fd(ur.sk);
	/* Error answers of a replay pile up until read: room for many, past
	 * rmem_max (root). */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	ur.strict = setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)) == 0;
	if (!ur.strict)
		LOG(WARNING, "no netlink strict checking: route dumps are not filtered by device "
			     "in the kernel");
	nl_cb_err(ur.replay_cb, NL_CB_CUSTOM, replay_err_cb, NULL);
	nl_cb_set(ur.dump_cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, dump_seq_cb, NULL);
	nl_cb_set(ur.dump_cb, NL_CB_VALID, NL_CB_CUSTOM, dump_valid_cb, NULL);
	nl_cb_set(ur.dump_cb, NL_CB_FINISH, NL_CB_CUSTOM, dump_finish_cb, NULL);
	nl_cb_set(ur.dump_cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, dump_intr_cb, NULL);
	nl_cb_err(ur.dump_cb, NL_CB_CUSTOM, dump_err_cb, NULL);
	return 0;
}

/* ---- rebuild: one dump per family, filtered to IFINDEX ------------------ */

static struct {
	struct agentd *a;
	uint32_t seq;
	int ifindex;
	size_t kept;
	bool done;
	int err;
} dump;

/* A late error answer of a replay is not part of the dump. */
static int dump_seq_cb(struct nl_msg *msg, void *arg)
{
	return nlmsg_hdr(msg)->nlmsg_seq == dump.seq ? NL_OK : NL_SKIP;
}

static int dump_valid_cb(struct nl_msg *msg, void *arg)
{
	struct rr_key k;
	struct rr_val v;

	if (rr_parse_route(nlmsg_hdr(msg), dump.ifindex, &k, &v) == RR_THROUGH &&
	    keep_route(dump.a, &k, &v) && rr_set(&ur.rec, &k, &v) >= 0)
		dump.kept++;
	return NL_OK;
}

static int dump_finish_cb(struct nl_msg *msg, void *arg)
{
	dump.done = true;
	return NL_STOP;
}

static int dump_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	dump.err = e->error;
	dump.done = true;
	return NL_STOP;
}

/* Routes changed during the dump: the events that changed them follow on
 * the event socket and update the record, so the dump stands. */
static int dump_intr_cb(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static int dump_family(struct agentd *a, int family, int ifindex, size_t *kept)
{
	struct rtmsg rtm = {.rtm_family = family};
	struct nl_msg *msg;
	int ret;

	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	if (msg == NULL)
		return -ENOMEM;
	if (ur.strict) {
		rtm.rtm_table = RT_TABLE_MAIN;
		rtm.rtm_type = RTN_UNICAST;
	}
	ret = nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO);
	if (ret == 0 && ur.strict)
		ret = nla_put_u32(msg, RTA_OIF, ifindex);
	if (ret == 0)
		ret = nl_send_auto(ur.sk, msg); /* nl_complete_msg: port, seq */
	memset(&dump, 0, sizeof(dump));
	dump.a = a;
	dump.seq = nlmsg_hdr(msg)->nlmsg_seq;
	dump.ifindex = ifindex;
	nlmsg_free(msg);
	if (ret < 0)
		return nl_errno(ret);
	while (!dump.done) {
		struct pollfd pfd = {.fd = nl_socket_get_fd(ur.sk), .events = POLLIN};

		ret = nl_recvmsgs_report(ur.sk, ur.dump_cb);
		if (dump.err < 0)
			break;
		if (ret > 0 || dump.done)
			continue;
		if (ret != -NLE_AGAIN)
			return ret == 0 ? -EPROTO : nl_errno(ret);
		/* nothing queued (the socket does not block): wait for more */
		ret = poll(&pfd, 1, DUMP_TIMEOUT_MS);
		if (ret == 0)
			return -ETIMEDOUT;
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
	*kept += dump.kept;
	return dump.err;
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

/* A failed request of the replay (without NLM_F_ACK only failures answer). */
static int replay_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	ur.replay.failed++;
	if (ur.replay.first_err == 0)
		ur.replay.first_err = e->error;
	return NL_SKIP;
}

/* Read the kernel's answers queued so far (the socket does not block). */
static void replay_collect(void)
{
	for (;;) {
		int ret = nl_recvmsgs_report(ur.sk, ur.replay_cb);

		if (ret == -NLE_NOMEM) {
			/* recvmsg's ENOBUFS: answers lost, they were failures:
			 * count one */
			ur.replay.failed++;
			ur.replay.first_err = ur.replay.first_err ?: -ENOBUFS;
			continue;
		}
		if (ret <= 0)
			return; /* -NLE_AGAIN: nothing more queued */
	}
}

static void replay_flush(void)
{
	int ret;

	if (ur.sused == 0)
		return;
	/* The kernel processes every request of the buffer within this call
	 * (failures are queued on the socket), so one syscall moves hundreds. */
	ret = nl_sendto(ur.sk, ur.sbuf, ur.sused);
	if (ret < 0) {
		ur.replay.failed++;
		ur.replay.first_err = ur.replay.first_err ?: nl_errno(ret);
	}
	ur.sused = 0;
	replay_collect();
}

/* Build an RTM_NEWROUTE (create/replace) for E through the replay device and
 * append its bytes to the batch. */
static void replay_one(const struct rr_entry *e, void *arg)
{
	const struct rr_key *k = &e->key;
	const struct rr_val *v = &e->val;
	int alen = k->family == AF_INET6 ? 16 : 4, ret;
	struct rtmsg rtm = {
	    .rtm_family = k->family,
	    .rtm_dst_len = k->plen,
	    .rtm_table = k->table < 256 ? k->table : RT_TABLE_UNSPEC,
	    .rtm_protocol = v->protocol,
	    .rtm_type = v->type ? v->type : RTN_UNICAST,
	    /* like iproute2 (and ks_route_ensure): an IPv4 route without a
	     * gateway is on-link */
	    .rtm_scope = k->family == AF_INET && !v->has_gw ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
	};
	struct nl_msg *msg = ur.req;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* One nl_msg for all: emptied (a bare header: nlmsg_put and the
	 * appends write at nlmsg_len) rather than allocated and freed per
	 * route, which cost ~0.2 µs a route. */
	nlh->nlmsg_len = NLMSG_HDRLEN;
	if (nlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, RTM_NEWROUTE, 0,
		      NLM_F_CREATE | NLM_F_REPLACE) == NULL)
		goto fail;
	ret = nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO);
	if (ret == 0 && k->plen > 0)
		ret = nla_put(msg, RTA_DST, alen, k->dst);
	if (ret == 0)
		ret = nla_put_u32(msg, RTA_OIF, ur.replay.ifindex);
	if (ret == 0 && v->has_gw)
		ret = nla_put(msg, RTA_GATEWAY, alen, v->gw);
	if (ret == 0 && k->metric != 0)
		ret = nla_put_u32(msg, RTA_PRIORITY, k->metric);
	if (ret == 0 && k->table >= 256)
		ret = nla_put_u32(msg, RTA_TABLE, k->table);
	if (ret < 0) /* no room left: REQ_MAX is too small */
		goto fail;
	nl_complete_msg(ur.sk, msg); /* port, sequence number, NLM_F_REQUEST */
	if (ur.sused + NLMSG_ALIGN(nlh->nlmsg_len) > sizeof(ur.sbuf))
		replay_flush();
	memcpy(ur.sbuf + ur.sused, nlh, nlh->nlmsg_len);
	ur.sused += NLMSG_ALIGN(nlh->nlmsg_len);
	ur.replay.sent++;
	return;
fail:
	ur.replay.sent++;
	ur.replay.failed++;
	ur.replay.first_err = ur.replay.first_err ?: -ENOMEM;
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
	sock_close();
	rr_free(&ur.rec);
	ur.initialised = false;
	ur.ifindex = 0;
}
