/* SPDX-License-Identifier: BSD-3-Clause */
/* Control socket: UNIX stream socket, root's (0600), or root:control.group
 * 0660 so that a monitoring group may read (as docker.sock or FRR's vty
 * group): a request that changes agentd's state (mode) is served to root
 * only, whose uid the kernel vouches for (SO_PEERCRED). Each request is one
 * agent_req_hdr + payload; each response one agent_resp_hdr + payload.
 * Handlers register themselves from constructors (CTL_REGISTER). Clients are
 * local and short-lived (agentctl), so a request is read with a short receive
 * timeout rather than buffered across loop turns. */
#define LOG_TYPE "control"
#include <agent_log.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <agent_proto.h>

#include "agentd.h"

static struct ctl_handler *handlers;
static int listen_fd = -1;
/* a client connection's callback argument: its peer */
#define PEER_ROOT  1u
#define PEER_OTHER 2u

void ctl_register(struct ctl_handler *h)
{
	h->next = handlers;
	handlers = h;
}

/* Read exactly LEN bytes before DEADLINE (CLOCK_MONOTONIC, ms): one total
 * budget per request, so a client trickling bytes cannot hold the loop (and
 * with it failover) for longer than that. */
static int read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		struct timespec now;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = deadline - (now.tv_sec * 1000 + now.tv_nsec / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		n = read(fd, (char *)buf + off, len - off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		off += n;
	}
	return 0;
}

static int64_t deadline_in(int ms)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000 + now.tv_nsec / 1000000 + ms;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += n;
	}
	return 0;
}

static int send_response(int fd, uint32_t id, int status, json_t *body)
{
	struct agent_resp_hdr h = {.version = AGENT_PROTO_VERSION, .id = id, .status = status};
	char *text = NULL;
	int ret;

	if (body != NULL)
		text = json_dumps(body, JSON_COMPACT);
	h.len = text ? strlen(text) : 0;
	ret = write_full(fd, &h, sizeof(h));
	if (ret == 0 && h.len)
		ret = write_full(fd, text, h.len);
	free(text);
	return ret;
}

static void client_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	struct agent_req_hdr h;
	struct ctl_handler *hd;
	json_t *resp = NULL;
	char *payload = NULL;
	int ret;

	int64_t deadline = deadline_in(1000);

	ret = read_full(fd, &h, sizeof(h), deadline);
	if (ret < 0)
		goto close;
	if (h.version != AGENT_PROTO_VERSION) {
		resp = json_pack("{s:s}", "error", "unsupported protocol version");
		send_response(fd, h.id, EPROTO, resp);
		goto close;
	}
	if (h.len > AGENT_PROTO_MAX_MSG) {
		resp = json_pack("{s:s}", "error", "request too large");
		send_response(fd, h.id, EMSGSIZE, resp);
		goto close;
	}
	payload = calloc(1, h.len + 1);
	if (payload == NULL || read_full(fd, payload, h.len, deadline) < 0)
		goto close;

	for (hd = handlers; hd != NULL; hd = hd->next)
		if (hd->type == h.type)
			break;
	if (hd == NULL) {
		resp = json_pack("{s:s}", "error", "unknown request type");
		ret = -EOPNOTSUPP;
	} else if (hd->changes && (uintptr_t)arg != PEER_ROOT) {
		LOG(NOTICE, "request %u %s refused: the client is not root", h.id, hd->name);
		resp = json_pack("{s:s}", "error",
				 "permission denied: only root may change agentd's state");
		ret = -EPERM;
	} else {
		LOG(DEBUG, "request %u %s", h.id, hd->name);
		ret = hd->handle(a, payload, h.len, &resp);
		if (ret < 0 && resp == NULL)
			resp = json_pack("{s:s}", "error", strerror(-ret));
	}
	if (send_response(fd, h.id, ret < 0 ? -ret : 0, resp) < 0)
		goto close;
	json_decref(resp);
	free(payload);
	return; /* keep the connection: a client may send more requests */
close:
	json_decref(resp);
	free(payload);
	loop_del_fd(a, fd);
	close(fd);
}

static void listen_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	struct timeval tv = {.tv_sec = 1};
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	uintptr_t peer;

	if (c < 0)
		return;
	/* Bound how long a stuck client can hold the loop. */
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* who connected, as the kernel saw it at connect() */
	peer = getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.uid == 0
		   ? PEER_ROOT
		   : PEER_OTHER;
	if (loop_add_fd(a, c, client_cb, (void *)peer) < 0)
		close(c);
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
	    chmod(path, a->cfg.control.gid >= 0 ? 0660 : 0600) < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		LOG(ERR, "control socket %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	listen_fd = fd;
	LOG(INFO, "control socket %s", path);
	return loop_add_fd(a, fd, listen_cb, NULL);
}

void ctl_close(struct agentd *a)
{
	if (listen_fd < 0)
		return;
	loop_del_fd(a, listen_fd);
	close(listen_fd);
	listen_fd = -1;
	unlink(a->cfg.control.socket);
}
