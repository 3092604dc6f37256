/* SPDX-License-Identifier: BSD-3-Clause */
/* agentd's event loop: one epoll set, a callback per registered fd. Every
 * module of agentd (control socket, dataplane pidfd, timers, netlink
 * events, signals) registers its fds here; nothing blocks in a callback
 * for long (see docs/architecture.md). The fd table grows with the highest
 * fd registered: no fixed cap below the process's RLIMIT_NOFILE. */
#define LOG_TYPE "loop"
#include <agent_log.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agentd.h"

struct fd_slot {
	fd_cb_t cb;
	void *arg;
};
static struct fd_slot *slots;
static int n_slots;

int loop_init(struct agentd *a)
{
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	return a->epfd < 0 ? -errno : 0;
}

void loop_fini(struct agentd *a)
{
	if (a->epfd >= 0)
		close(a->epfd);
	a->epfd = -1;
	free(slots);
	slots = NULL;
	n_slots = 0;
}

static int grow(int fd)
{
	int n = n_slots ? n_slots : 64;
	struct fd_slot *s;

	while (n <= fd)
		n *= 2;
	s = realloc(slots, (size_t)n * sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	memset(s + n_slots, 0, (size_t)(n - n_slots) * sizeof(*s));
	slots = s;
	n_slots = n;
	return 0;
}

int loop_add_fd(struct agentd *a, int fd, fd_cb_t cb, void *arg)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	int ret;

	if (fd < 0 || cb == NULL)
		return -EINVAL;
	if (fd >= n_slots && (ret = grow(fd)) < 0)
		return ret;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	slots[fd] = (struct fd_slot){cb, arg};
	return 0;
}

void loop_del_fd(struct agentd *a, int fd)
{
	if (fd < 0 || fd >= n_slots)
		return;
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, fd, NULL);
	slots[fd] = (struct fd_slot){0};
}

int loop_run(struct agentd *a)
{
	struct epoll_event evs[64];

	while (!a->stop) {
		int n = epoll_wait(a->epfd, evs, 64, 1000);
		if (n < 0 && errno != EINTR) {
			LOG(ERR, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			/* (a callback may have removed a later fd of this batch) */
			if (fd >= 0 && fd < n_slots && slots[fd].cb)
				slots[fd].cb(a, fd, evs[i].events, slots[fd].arg);
		}
	}
	return 0;
}
