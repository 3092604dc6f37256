/* SPDX-License-Identifier: BSD-3-Clause */
/* Asynchronous queries of the dataplane's DPDK telemetry socket, driven by
 * agentd's event loop: connect, read the greeting, then for each command send
 * it and read its one-message reply (SOCK_SEQPACKET), all non-blocking, with
 * one deadline per query (a timerfd). A stopped or slow dataplane therefore
 * delays only the request that asked, never the loop: failover, the
 * heartbeat and other clients go on (issue: a status poll during a SIGSTOP
 * used to delay hang detection).
 *
 * Queries in flight are capped: a client flood gets -EBUSY at once instead of
 * exhausting fds. The callback runs exactly once, from the loop, never from
 * dpq_start() itself. */
#define LOG_TYPE "dp_query"
#include <agent_log.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentd.h"

#define DPQ_MAX_INFLIGHT 32
/* kept for supervision (start, activation, heartbeat): clients cannot take
 * the last ones, so a flood of status requests cannot fail a failback */
#define DPQ_RESERVED  4
#define DPQ_MAX_REPLY (4u << 20) /* DPDK telemetry's own cap is 16 KiB per reply */

struct dpq {
	int fd, tfd;
	bool greeted;
	int n_cmds, next; /* next: the command whose reply is awaited */
	char *cmds[DPQ_MAX_CMDS];
	json_t *vals[DPQ_MAX_CMDS];
	int rets[DPQ_MAX_CMDS];
	dpq_done_t done;
	void *arg;
	struct dpq *next_q;
	int timeout_ms, patience_ms; /* patience: how much longer it may wait */
	uint64_t turns;		     /* the lcore's turn count at the last deadline */
};

static struct dpq *inflight;
static int n_inflight;

int dpq_inflight(void)
{
	return n_inflight;
}

static int dpq_start_q(struct agentd *a, const char *const *cmds, int n_cmds, int timeout_ms,
		       int max_ms, dpq_done_t done, void *arg);

int dpq_start(struct agentd *a, const char *const *cmds, int n_cmds, int timeout_ms,
	      dpq_done_t done, void *arg)
{
	return dpq_start_q(a, cmds, n_cmds, timeout_ms, timeout_ms, done, arg);
}

int dpq_start_client(struct agentd *a, const char *const *cmds, int n_cmds, int timeout_ms,
		     dpq_done_t done, void *arg)
{
	if (n_inflight >= DPQ_MAX_INFLIGHT - DPQ_RESERVED)
		return -EBUSY;
	return dpq_start_q(a, cmds, n_cmds, timeout_ms, timeout_ms, done, arg);
}

int dpq_start_client_patient(struct agentd *a, const char *const *cmds, int n_cmds, int timeout_ms,
			     int max_ms, dpq_done_t done, void *arg)
{
	if (n_inflight >= DPQ_MAX_INFLIGHT - DPQ_RESERVED)
		return -EBUSY;
	return dpq_start_q(a, cmds, n_cmds, timeout_ms, max_ms, done, arg);
}

static void set_deadline(int tfd, int ms)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L + 1}};

	timerfd_settime(tfd, 0, &its, NULL);
}

static void dpq_finish(struct agentd *a, struct dpq *q, int ret)
{
	struct dpq **pp;

	for (pp = &inflight; *pp != NULL; pp = &(*pp)->next_q)
		if (*pp == q) {
			*pp = q->next_q;
			break;
		}
	n_inflight--;
	loop_del_fd(a, q->fd);
	loop_del_fd(a, q->tfd);
	close(q->fd);
	close(q->tfd);
	/* commands never answered carry the query's error */
	for (int i = q->next; i < q->n_cmds; i++)
		q->rets[i] = ret < 0 ? ret : -EIO;
	q->done(a, q->arg, q->rets, q->vals, q->n_cmds);
	for (int i = 0; i < q->n_cmds; i++) {
		json_decref(q->vals[i]);
		free(q->cmds[i]);
	}
	free(q);
}

/* One reply: {"<cmd without its parameters>": value}. */
static int parse_reply(const char *cmd, const char *buf, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, 0, &jerr), *val;

	*out = NULL;
	if (root == NULL) {
		LOG(WARNING, "telemetry %s: bad JSON: %s", cmd, jerr.text);
		return -EBADMSG;
	}
	val = json_object_getn(root, cmd, strcspn(cmd, ","));
	if (val == NULL || json_is_null(val)) {
		json_decref(root);
		return -ENOENT;
	}
	*out = json_incref(val);
	json_decref(root);
	return 0;
}

static int send_next(struct dpq *q)
{
	const char *cmd = q->cmds[q->next];

	if (send(q->fd, cmd, strlen(cmd), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno; /* an empty socket buffer: the peer is not reading */
	return 0;
}

static void sock_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	struct dpq *q = arg;
	ssize_t n;
	char *buf;
	int ret;

	/* the message's size first (SEQPACKET: one reply is one message) */
	n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		dpq_finish(a, q, n == 0 ? -ECONNRESET : -errno);
		return;
	}
	if ((size_t)n > DPQ_MAX_REPLY) {
		dpq_finish(a, q, -EMSGSIZE);
		return;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL) {
		dpq_finish(a, q, -ENOMEM);
		return;
	}
	n = recv(fd, buf, (size_t)n, MSG_DONTWAIT);
	if (n <= 0) {
		free(buf);
		dpq_finish(a, q, n == 0 ? -ECONNRESET : -errno);
		return;
	}
	if (!q->greeted) {
		q->greeted = true; /* {"version": ..., "pid": ..., "max_output_len": ...} */
	} else {
		q->rets[q->next] = parse_reply(q->cmds[q->next], buf, (size_t)n, &q->vals[q->next]);
		q->next++;
	}
	free(buf);
	if (q->next == q->n_cmds) {
		dpq_finish(a, q, 0);
		return;
	}
	ret = send_next(q);
	if (ret < 0)
		dpq_finish(a, q, ret);
}

static void timeout_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	struct dpq *q = arg;
	uint64_t n, turns;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return; /* not expired (EAGAIN) */
	/* the forwarding lcore turned since the last deadline: the dataplane
	 * lives, its telemetry thread is only slow (a loaded host) */
	if (q->patience_ms > 0 && fallback_dp_turns(&turns) && turns != q->turns) {
		int ms = q->patience_ms < q->timeout_ms ? q->patience_ms : q->timeout_ms;

		q->turns = turns;
		q->patience_ms -= ms;
		set_deadline(q->tfd, ms);
		return;
	}
	dpq_finish(a, q, -ETIMEDOUT);
}

static int dpq_start_q(struct agentd *a, const char *const *cmds, int n_cmds, int timeout_ms,
		       int max_ms, dpq_done_t done, void *arg)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct dpq *q;
	int ret;

	if (n_cmds < 1 || n_cmds > DPQ_MAX_CMDS || timeout_ms <= 0 || max_ms < timeout_ms)
		return -EINVAL;
	if (n_inflight >= DPQ_MAX_INFLIGHT)
		return -EBUSY;
	ret = dataplane_telemetry_addr(a, &sun);
	if (ret < 0)
		return ret;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->fd = q->tfd = -1;
	q->n_cmds = n_cmds;
	q->done = done;
	q->arg = arg;
	q->timeout_ms = timeout_ms;
	q->patience_ms = max_ms - timeout_ms;
	if (q->patience_ms > 0 && !fallback_dp_turns(&q->turns))
		q->patience_ms = 0; /* no heartbeat page: no way to tell slow from hung */
	for (int i = 0; i < n_cmds; i++)
		if ((q->cmds[i] = strdup(cmds[i])) == NULL) {
			ret = -ENOMEM;
			goto err;
		}
	q->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	q->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (q->fd < 0 || q->tfd < 0) {
		ret = -errno;
		goto err;
	}
	/* A UNIX connect completes at once or fails (EAGAIN: the listener's
	 * backlog is full, i.e. the dataplane is not accepting). */
	if (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		goto err;
	}
	/* DPDK telemetry greets first; the first command goes once it has. */
	set_deadline(q->tfd, timeout_ms);
	if ((ret = loop_add_fd(a, q->fd, sock_cb, q)) < 0)
		goto err;
	if ((ret = loop_add_fd(a, q->tfd, timeout_cb, q)) < 0) {
		loop_del_fd(a, q->fd);
		goto err;
	}
	q->next_q = inflight;
	inflight = q;
	n_inflight++;
	return 0;
err:
	if (q->fd >= 0)
		close(q->fd);
	if (q->tfd >= 0)
		close(q->tfd);
	for (int i = 0; i < n_cmds; i++)
		free(q->cmds[i]);
	free(q);
	return ret;
}

/* agentd stops: every query in flight completes with -ECANCELED. */
void dpq_cancel_all(struct agentd *a)
{
	while (inflight != NULL)
		dpq_finish(a, inflight, -ECANCELED);
}
