/* SPDX-License-Identifier: BSD-3-Clause */
/* agentd's event loop: one epoll set, a callback per registered fd. Every
 * module of agentd (control socket, dataplane pidfd, timers, netlink
 * events, signals) registers its fds here; nothing blocks in a callback
 * for long (see docs/architecture.md). The fd table grows with the highest
 * fd registered: no fixed cap below the process's RLIMIT_NOFILE. */
#define LOG_TYPE "loop"
#include <agent_log.h>

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agentd.h"

struct fd_slot {
	fd_cb_t cb;
	void *arg;
	const char *name; /* "file.c:callback", for the slow-callback report */
	uint32_t gen;	  /* registration: stale events of a reused fd number are dropped */
};
static uint32_t next_gen;

/* epoll carries the fd and its registration's generation: a callback may
 * close an fd and a later one of the same batch reopen the same number (a
 * new client, a pidfd); an event still queued for the old one must not
 * reach the new one. */
static uint64_t ev_key(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}
static struct fd_slot *slots;
static int n_slots;

/* A callback that runs this long is reported: every one of them delays
 * failover, the heartbeat and every client by as much. */
#define LOOP_SLOW_MS 50
static struct {
	uint64_t callbacks, slow;
	double max_ms;
	char max_name[64];
} stats;

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

int loop_add_fd_named(struct agentd *a, int fd, fd_cb_t cb, void *arg, const char *file,
		      const char *cb_name)
{
	const char *base = strrchr(file, '/');
	static char names[256][64]; /* interned: a handful of distinct call sites */
	static int n_names;
	char name[64];
	int i;

	uint32_t gen = ++next_gen ? next_gen : ++next_gen; /* (0: free slot) */
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_key(fd, gen)};
	int ret;

	if (fd < 0 || cb == NULL)
		return -EINVAL;
	if (fd >= n_slots && (ret = grow(fd)) < 0)
		return ret;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	snprintf(name, sizeof(name), "%s:%s", base ? base + 1 : file, cb_name);
	for (i = 0; i < n_names && strcmp(names[i], name) != 0; i++)
		;
	if (i == n_names && n_names < 256)
		snprintf(names[n_names++], sizeof(names[0]), "%s", name);
	slots[fd] = (struct fd_slot){cb, arg, i < 256 ? names[i] : "?", gen};
	return 0;
}

int loop_mod_fd(struct agentd *a, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events};

	if (fd < 0 || fd >= n_slots || slots[fd].cb == NULL)
		return -EINVAL;
	ev.data.u64 = ev_key(fd, slots[fd].gen);
	return epoll_ctl(a->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void loop_del_fd(struct agentd *a, int fd)
{
	if (fd < 0 || fd >= n_slots)
		return;
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, fd, NULL);
	slots[fd] = (struct fd_slot){0};
}

json_t *loop_status(void)
{
	return json_pack("{s:I,s:I,s:i,s:f,s:s}", "callbacks", (json_int_t)stats.callbacks,
			 "slow_callbacks", (json_int_t)stats.slow, "slow_ms", LOOP_SLOW_MS,
			 "max_callback_ms", stats.max_ms, "max_callback", stats.max_name);
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
			int fd = (int)(uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
			/* (a callback may have removed a later fd of this batch,
			 * or another registered the same fd number since) */
			if (fd >= 0 && fd < n_slots && slots[fd].cb && slots[fd].gen == gen) {
				const char *name = slots[fd].name;
				struct timespec t0, t1;
				double ms;

				clock_gettime(CLOCK_MONOTONIC, &t0);
				slots[fd].cb(a, fd, evs[i].events, slots[fd].arg);
				clock_gettime(CLOCK_MONOTONIC, &t1);
				ms =
				    (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
				stats.callbacks++;
				if (ms > stats.max_ms) {
					stats.max_ms = ms;
					snprintf(stats.max_name, sizeof(stats.max_name), "%s",
						 name);
				}
				if (ms >= LOOP_SLOW_MS) {
					stats.slow++;
					LOG(INFO, "%s ran %.0f ms: the loop waited", name, ms);
				}
			}
		}
	}
	return 0;
}
