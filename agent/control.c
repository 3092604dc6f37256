/* SPDX-License-Identifier: BSD-3-Clause */
/* Control socket: UNIX stream socket, root's (0600), or root:control.group
 * 0660 so that a monitoring group may read (as docker.sock or FRR's vty
 * group): a request that changes agentd's state (mode) is served to root
 * only, whose uid the kernel vouches for (SO_PEERCRED). Each request is one
 * agent_req_hdr + payload; each response one agent_resp_hdr + payload.
 * Handlers register themselves from constructors (CTL_REGISTER).
 *
 * Nothing here waits: clients are non-blocking and buffered across loop
 * turns, so a client that sends half a request, or never reads its reply,
 * costs a buffer, not the loop (failover, heartbeat, other clients). Bounds,
 * each enforced by a sweep timer that runs only while clients exist:
 *   - a request must be complete CTL_REQ_TIMEOUT_MS after its first byte;
 *   - a reply must be taken within CTL_WRITE_TIMEOUT_MS;
 *   - a connection idle for CTL_IDLE_TIMEOUT_MS is closed;
 *   - at most CTL_MAX_CLIENTS connections: the least recently active one
 *     makes room for a new one (so idle connections cannot lock agentctl
 *     out, nor eat the fds a dataplane restart needs).
 * Protocol errors get an error reply, then the connection is closed. */
#define LOG_TYPE "control"
#include <agent_log.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <agent_proto.h>

#include "agentd.h"
#include "control_proto.h"

#define CTL_REQ_TIMEOUT_MS   1000
#define CTL_WRITE_TIMEOUT_MS 5000
#define CTL_IDLE_TIMEOUT_MS  60000
#define CTL_MAX_CLIENTS	     128
#define CTL_SWEEP_MS	     100

struct ctl_client {
	int fd;
	bool root;
	bool busy;    /* a deferred request is being served */
	bool closing; /* close once the reply is out */
	uint64_t serial;
	uint32_t busy_id;
	char *in; /* the request being received: header + payload */
	size_t in_len, in_cap;
	char *out; /* the reply being sent */
	size_t out_len, out_off;
	int64_t req_deadline; /* ms; 0: no request under way */
	int64_t out_deadline;
	int64_t last_active;
	/* least recently active first */
	struct ctl_client *prev, *next;
};

static struct ctl_handler *handlers;
static int listen_fd = -1, sweep_fd = -1;
static bool listen_paused;
static struct ctl_client *lru_head, *lru_tail;
static int n_clients;
static uint64_t next_serial = 1;
static struct {
	uint64_t accepted, evicted, timed_out, idle_closed, protocol_errors, refused_fds;
} counters;

void ctl_register(struct ctl_handler *h)
{
	h->next = handlers;
	handlers = h;
}

static int64_t now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void lru_unlink(struct ctl_client *c)
{
	*(c->prev ? &c->prev->next : &lru_head) = c->next;
	*(c->next ? &c->next->prev : &lru_tail) = c->prev;
	c->prev = c->next = NULL;
}

static void lru_touch(struct ctl_client *c)
{
	c->last_active = now_ms();
	if (lru_tail == c)
		return;
	if (c->prev || c->next || lru_head == c)
		lru_unlink(c);
	c->prev = lru_tail;
	*(lru_tail ? &lru_tail->next : &lru_head) = c;
	lru_tail = c;
}

static void sweep_arm(bool on)
{
	struct itimerspec its = {0};

	if (on) {
		its.it_value.tv_nsec = CTL_SWEEP_MS * 1000000L;
		its.it_interval = its.it_value;
	}
	timerfd_settime(sweep_fd, 0, &its, NULL);
}

static void client_close(struct agentd *a, struct ctl_client *c)
{
	lru_unlink(c);
	loop_del_fd(a, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	if (--n_clients == 0)
		sweep_arm(false);
	if (listen_paused) {
		listen_paused = false; /* an fd is free again */
		loop_mod_fd(a, listen_fd, EPOLLIN);
	}
}

/* What the client's fd waits for: its reply to drain, its next request, or
 * nothing while a deferred request is served (hang-ups are still reported). */
static void client_events(struct agentd *a, struct ctl_client *c)
{
	loop_mod_fd(a, c->fd, c->out_off < c->out_len ? EPOLLOUT : c->busy ? 0 : EPOLLIN);
}

/* Send what the socket takes now; the rest when it is writable again. */
static int client_flush(struct agentd *a, struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = 0;
		c->out_deadline = 0;
		if (c->closing)
			return -ECONNRESET;
	}
	client_events(a, c);
	return 0;
}

static int queue_response(struct agentd *a, struct ctl_client *c, uint32_t id, int status,
			  json_t *body)
{
	struct agent_resp_hdr h = {.version = AGENT_PROTO_VERSION, .id = id, .status = status};
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0;

	free(c->out);
	c->out = NULL;
	if (len > AGENT_PROTO_MAX_MSG) {
		/* no reply of ours gets that large (pages are bounded): say so */
		LOG(ERR, "client %" PRIu64 ": reply of %zu bytes over the protocol's limit",
		    c->serial, len);
		free(text);
		text = strdup("{\"error\":\"reply too large\"}");
		len = text ? strlen(text) : 0;
		h.status = EMSGSIZE;
	}
	c->out = malloc(sizeof(h) + len);
	if (c->out == NULL) {
		free(text);
		return -ENOMEM;
	}
	h.len = (uint32_t)len;
	memcpy(c->out, &h, sizeof(h));
	memcpy(c->out + sizeof(h), text, len);
	free(text);
	c->out_len = sizeof(h) + len;
	c->out_off = 0;
	c->out_deadline = now_ms() + CTL_WRITE_TIMEOUT_MS;
	return client_flush(a, c);
}

/* An error reply, then the connection closes (the stream is out of step). */
static int protocol_error(struct agentd *a, struct ctl_client *c, uint32_t id, int err,
			  const char *what)
{
	json_t *resp = json_pack("{s:s}", "error", what);
	int ret;

	counters.protocol_errors++;
	LOG(INFO, "client %" PRIu64 ": %s", c->serial, what);
	c->closing = true;
	ret = queue_response(a, c, id, err, resp);
	json_decref(resp);
	return ret;
}

static int dispatch(struct agentd *a, struct ctl_client *c, const struct agent_req_hdr *h)
{
	const struct ctl_call call = {.client = c->serial, .id = h->id};
	const char *payload = c->in + sizeof(*h);
	struct ctl_handler *hd;
	json_t *resp = NULL;
	int ret;

	for (hd = handlers; hd != NULL; hd = hd->next)
		if (hd->type == h->type)
			break;
	if (hd == NULL) {
		resp = json_pack("{s:s}", "error", "unknown request type");
		ret = -EOPNOTSUPP;
	} else if (hd->changes && !c->root) {
		LOG(NOTICE, "request %u %s refused: the client is not root", h->id, hd->name);
		resp = json_pack("{s:s}", "error",
				 "permission denied: only root may change agentd's state");
		ret = -EPERM;
	} else {
		LOG(DEBUG, "request %u %s", h->id, hd->name);
		ret = hd->handle(a, payload, h->len, &resp, &call);
		if (ret == CTL_DEFERRED) {
			c->busy = true;
			c->busy_id = h->id;
			client_events(a, c);
			return 0;
		}
		if (ret < 0 && resp == NULL)
			resp = json_pack("{s:s}", "error", strerror(-ret));
	}
	ret = queue_response(a, c, h->id, ret < 0 ? -ret : 0, resp);
	json_decref(resp);
	return ret;
}

/* Take what the current request still needs (never more: the next request
 * stays in the socket until this one is answered). */
static int client_read(struct agentd *a, struct ctl_client *c)
{
	struct agent_req_hdr h;
	long need = ctl_frame_need(c->in, c->in_len, &h);
	ssize_t n;

	if ((size_t)need > c->in_cap) {
		char *in = realloc(c->in, (size_t)need);
		if (in == NULL)
			return -ENOMEM;
		c->in = in;
		c->in_cap = (size_t)need;
	}
	n = recv(c->fd, c->in + c->in_len, (size_t)need - c->in_len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	if (c->in_len == 0)
		c->req_deadline = now_ms() + CTL_REQ_TIMEOUT_MS;
	c->in_len += (size_t)n;
	lru_touch(c);
	need = ctl_frame_need(c->in, c->in_len, &h);
	if (need == -EPROTO)
		return protocol_error(a, c, h.id, EPROTO, "unsupported protocol version");
	if (need == -EMSGSIZE)
		return protocol_error(a, c, h.id, EMSGSIZE, "request too large");
	if (need < 0 || c->in_len < (size_t)need)
		return 0;
	c->in_len = 0;
	c->req_deadline = 0;
	return dispatch(a, c, &h);
}

static void client_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	struct ctl_client *c = arg;
	int ret = 0;

	if (events & EPOLLERR)
		ret = -EIO;
	else if (events & EPOLLOUT)
		ret = client_flush(a, c);
	else if (events & EPOLLIN)
		ret = client_read(a, c);
	else if (events & EPOLLHUP)
		ret = -ECONNRESET; /* gone while its request was being served */
	if (ret < 0)
		client_close(a, c);
}

void ctl_reply(struct agentd *a, const struct ctl_call *call, int ret, json_t *resp)
{
	struct ctl_client *c;

	for (c = lru_head; c != NULL; c = c->next)
		if (c->serial == call->client)
			break;
	if (c == NULL || !c->busy || c->busy_id != call->id) {
		json_decref(resp); /* the client left meanwhile */
		return;
	}
	if (ret < 0 && resp == NULL)
		resp = json_pack("{s:s}", "error", strerror(-ret));
	c->busy = false;
	if (queue_response(a, c, call->id, ret < 0 ? -ret : 0, resp) < 0)
		client_close(a, c);
	json_decref(resp);
}

static void sweep_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	int64_t now = now_ms();
	struct ctl_client *c, *next;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	if (listen_paused) {
		listen_paused = false; /* out of fds a sweep ago: try again */
		loop_mod_fd(a, listen_fd, EPOLLIN);
	}
	if (n_clients == 0)
		sweep_arm(false);
	for (c = lru_head; c != NULL; c = next) {
		next = c->next;
		if (c->req_deadline && now >= c->req_deadline) {
			counters.timed_out++;
			LOG(INFO, "client %" PRIu64 ": request incomplete after %d ms, closed",
			    c->serial, CTL_REQ_TIMEOUT_MS);
		} else if (c->out_deadline && now >= c->out_deadline) {
			counters.timed_out++;
			LOG(INFO, "client %" PRIu64 ": reply not taken after %d ms, closed",
			    c->serial, CTL_WRITE_TIMEOUT_MS);
		} else if (!c->busy && !c->out_deadline && !c->req_deadline &&
			   now - c->last_active >= CTL_IDLE_TIMEOUT_MS) {
			counters.idle_closed++;
		} else {
			continue;
		}
		client_close(a, c);
	}
}

/* A connection from the backlog; false once there is none (or no fd). */
static bool accept_one(struct agentd *a, int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct ctl_client *c;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (cfd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			/* out of fds: make room (oldest client), or stop accepting
			 * until a client leaves; never spin on the listener */
			counters.refused_fds++;
			if (lru_head != NULL) {
				counters.evicted++;
				client_close(a, lru_head);
			} else {
				/* nothing to close: retry from the sweep timer */
				listen_paused = true;
				loop_mod_fd(a, fd, 0);
				sweep_arm(true);
			}
		}
		return false;
	}
	if (n_clients >= CTL_MAX_CLIENTS) {
		counters.evicted++;
		LOG(INFO, "%d control connections: closing the least recently active",
		    CTL_MAX_CLIENTS);
		client_close(a, lru_head);
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(cfd);
		return false;
	}
	c->fd = cfd;
	c->serial = next_serial++;
	/* who connected, as the kernel saw it at connect() */
	c->root = getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.uid == 0;
	if (loop_add_fd(a, cfd, client_cb, c) < 0) {
		close(cfd);
		free(c);
		return false;
	}
	counters.accepted++;
	lru_touch(c);
	if (n_clients++ == 0)
		sweep_arm(true);
	return true;
}

/* Empty the backlog a batch at a time: a crowd connecting at once must not
 * fill it (clients would see EAGAIN), nor starve the other fds. */
static void listen_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	for (int i = 0; i < 32 && accept_one(a, fd); i++)
		;
}

json_t *ctl_status(void)
{
	return json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "clients", n_clients, "max_clients",
			 CTL_MAX_CLIENTS, "accepted", (json_int_t)counters.accepted, "evicted",
			 (json_int_t)counters.evicted, "timed_out", (json_int_t)counters.timed_out,
			 "idle_closed", (json_int_t)counters.idle_closed, "protocol_errors",
			 (json_int_t)counters.protocol_errors, "out_of_fds",
			 (json_int_t)counters.refused_fds);
}

static int mkdir_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is an agentd already answering on PATH? */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	alive = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (fd >= 0)
		close(fd);
	return alive;
}

int ctl_check_free(const char *path)
{
	if (socket_alive(path)) {
		LOG(ERR, "another agentd is already running on %s", path);
		return -EADDRINUSE;
	}
	return 0;
}

int ctl_listen(struct agentd *a)
{
	const char *path = a->cfg.control.socket;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		LOG(ERR, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	ret = ctl_check_free(path);
	if (ret < 0)
		return ret;
	ret = mkdir_parent(path);
	if (ret < 0) {
		LOG(ERR, "cannot create directory for %s: %s", path, strerror(-ret));
		return ret;
	}
	unlink(path); /* stale socket from a crashed agentd */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (a->cfg.control.gid >= 0 && chown(path, 0, (gid_t)a->cfg.control.gid) < 0) ||
	    chmod(path, a->cfg.control.gid >= 0 ? 0660 : 0600) < 0 || listen(fd, 64) < 0) {
		ret = -errno;
		LOG(ERR, "control socket %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	listen_fd = fd;
	sweep_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sweep_fd < 0 || (ret = loop_add_fd(a, sweep_fd, sweep_cb, NULL)) < 0) {
		ret = sweep_fd < 0 ? -errno : ret;
		LOG(ERR, "control socket timer: %s", strerror(-ret));
		return ret;
	}
	LOG(INFO, "control socket %s", path);
	return loop_add_fd(a, fd, listen_cb, NULL);
}

void ctl_set_group(struct agentd *a, int gid)
{
	const char *path = a->cfg.control.socket;

	if (listen_fd < 0)
		return;
	/* existing connections keep what they had: the group only decides who
	 * may connect */
	if (chown(path, 0, gid >= 0 ? (gid_t)gid : 0) < 0 ||
	    chmod(path, gid >= 0 ? 0660 : 0600) < 0)
		LOG(ERR, "control socket %s: %s", path, strerror(errno));
}

void ctl_close(struct agentd *a)
{
	if (listen_fd < 0)
		return;
	while (lru_head != NULL)
		client_close(a, lru_head);
	loop_del_fd(a, listen_fd);
	close(listen_fd);
	listen_fd = -1;
	if (sweep_fd >= 0) {
		loop_del_fd(a, sweep_fd);
		close(sweep_fd);
		sweep_fd = -1;
	}
	unlink(a->cfg.control.socket);
}
