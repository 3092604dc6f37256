/* SPDX-License-Identifier: BSD-3-Clause */
/* systemd service notifications (Type=notify, WatchdogSec=): READY=1 once
 * the mode is known, STATUS= on every mode change, WATCHDOG=1 from a timer
 * on the event loop, STOPPING=1 at shutdown. libsystemd's sd_notify() does
 * the protocol; without NOTIFY_SOCKET every call here is a no-op. */
#define LOG_TYPE "service"
#include <agent_log.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "agentd.h"

static int wd_fd = -1;
static bool ready_sent;

/* WATCHDOG=1 only from the loop: a callback that never returns stops the
 * pings, and systemd restarts agentd (the dataplane is adopted). */
static void watchdog_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	uint64_t n;
	int ret;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	ret = sd_notify(0, "WATCHDOG=1");
	if (ret < 0)
		LOG(WARNING, "watchdog notification: %s", strerror(-ret));
}

int svc_notify_init(struct agentd *a)
{
	struct itimerspec its = {0};
	uint64_t usec = 0;
	int ret;

	/* >0 only when WATCHDOG_USEC is set and WATCHDOG_PID is ours (a
	 * dataplane inherits the environment but is not the main process). */
	ret = sd_watchdog_enabled(0, &usec);
	if (ret < 0) {
		LOG(WARNING, "systemd watchdog settings ignored: %s", strerror(-ret));
		return 0;
	}
	if (ret == 0 || usec == 0)
		return 0;
	wd_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (wd_fd < 0)
		return -errno;
	/* half the interval, as sd_watchdog_enabled(3) advises: one late tick
	 * is not a missed deadline */
	usec /= 2;
	its.it_interval.tv_sec = (time_t)(usec / 1000000);
	its.it_interval.tv_nsec = (long)(usec % 1000000) * 1000;
	if (its.it_interval.tv_sec == 0 && its.it_interval.tv_nsec == 0)
		its.it_interval.tv_nsec = 1000;
	its.it_value = its.it_interval;
	if (timerfd_settime(wd_fd, 0, &its, NULL) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = loop_add_fd(a, wd_fd, watchdog_cb, NULL);
	if (ret < 0)
		goto fail;
	LOG(INFO, "systemd watchdog: WATCHDOG=1 every %llu ms", (unsigned long long)(usec / 1000));
	/* the first ping now: the timer's first tick is half an interval away */
	sd_notify(0, "WATCHDOG=1");
	return 0;
fail:
	close(wd_fd);
	wd_fd = -1;
	return ret;
}

void svc_notify_status(struct agentd *a, const char *why)
{
	char status[sizeof(a->last_failure) + 64];
	bool known = a->mode == MODE_DPDK || a->mode == MODE_KERNEL;
	int ret;

	/* On the kernel path, why: the failure, or "forced by agentctl" */
	if (a->mode == MODE_KERNEL && why != NULL && why[0] != '\0')
		snprintf(status, sizeof(status), "STATUS=mode kernel: %s", why);
	else
		snprintf(status, sizeof(status), "STATUS=mode %s", agent_mode_name(a->mode));
	/* A failure reason may quote the dataplane's error file: a newline in
	 * it would start another assignment (READY=1, MAINPID=...). */
	for (char *p = status; *p != '\0'; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
	/* READY=1 once, with the first mode that routes traffic: the kernel
	 * side is configured by then, and the unit's dependents start on a
	 * host that forwards. */
	if (known && !ready_sent) {
		ret = sd_notifyf(0, "READY=1\n%s", status);
		ready_sent = ret > 0;
	} else {
		ret = sd_notify(0, status);
	}
	if (ret < 0)
		LOG(WARNING, "service notification: %s", strerror(-ret));
}

void svc_notify_stopping(struct agentd *a)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: handing the underlay back to the kernel");
}

void svc_notify_fini(struct agentd *a)
{
	if (wd_fd < 0)
		return;
	loop_del_fd(a, wd_fd);
	close(wd_fd);
	wd_fd = -1;
}
