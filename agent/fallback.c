/* SPDX-License-Identifier: BSD-3-Clause */
/* Fallback to kernel routing when the dataplane dies or hangs, and failback.
 *
 *   DPDK ──crash (pidfd) / hang (heartbeat) / start failure──▶ KERNEL
 *     steering pass (one map write) → dataplane killed if still there → NIC
 *     back to the kernel → underlay addresses + routes on the NIC netdev
 *     (same MAC) → gratuitous ARP / unsolicited NA.
 *   KERNEL ──backoff timer──▶ restart the dataplane ──ready──▶ HOLDDOWN
 *     dp0 gets the NIC's MAC at once (inbound frames DPDK now receives reach
 *     the kernel through it), the underlay stays on the NIC netdev.
 *   HOLDDOWN ──healthy for holddown_ms──▶ DPDK
 *     underlay to dp0 (addresses first, then routes), then steering fast.
 *   N failures in M seconds: crash loop, stay on the kernel until
 *   `agentctl mode dpdk`. `agentctl mode kernel` forces the kernel path.
 *
 * Two timerfds drive it: a periodic heartbeat check and a one-shot timer for
 * the back-off and the hold-down. */
#define LOG_TYPE "fallback"
#include <agent_log.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <agent_proto.h>
#include <dp_telemetry.h>
#include <kernel_side.h>

#include "agentd.h"

#define MAX_FAILURES 64

enum phase {
	PH_IDLE = 0,	 /* DPDK serving, or kernel with nothing scheduled */
	PH_RESTART_WAIT, /* kernel; dataplane restart after the back-off */
	PH_HOLDDOWN,	 /* kernel; new dataplane running, proving itself */
	PH_STARTING,	 /* a dataplane was started: polled until ready (loop stays free) */
};

static struct {
	int hb_fd, timer_fd;
	enum phase phase;
	uint64_t last_hb;
	bool hb_valid;
	int misses;
	int backoff_ms;
	double failures[MAX_FAILURES]; /* monotonic seconds, ring */
	unsigned n_failures;
	bool forced, crash_loop;
	uint64_t failovers, failbacks, restarts;
	double next_at;		       /* monotonic seconds of the pending timer */
	const struct dp_heartbeat *hb; /* the dataplane's heartbeat page, read-only */
	bool start_initial;	       /* PH_STARTING: agentd's first start (no hold-down) */
	double start_deadline;
} fb = {.hb_fd = -1, .timer_fd = -1};

static void hb_unmap(void)
{
	if (fb.hb != NULL)
		munmap((void *)fb.hb, DP_HEARTBEAT_SIZE);
	fb.hb = NULL;
}

/* Map the heartbeat page of dataplane PID; without it (older dataplane, no
 * runtime dir) the check falls back to the telemetry health command. */
static void hb_map(struct agentd *a)
{
	char path[PATH_MAX];
	const struct dp_heartbeat *hb;
	int fd;

	hb_unmap();
	snprintf(path, sizeof(path), "/var/run/dpdk/%s/%s", a->cfg.dataplane.file_prefix,
		 DP_HEARTBEAT_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		LOG(WARNING, "no heartbeat page %s: checking through telemetry", path);
		return;
	}
	hb = mmap(NULL, DP_HEARTBEAT_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (hb == MAP_FAILED)
		return;
	if (__atomic_load_n(&hb->magic, __ATOMIC_ACQUIRE) != DP_HEARTBEAT_MAGIC ||
	    hb->pid != (uint64_t)a->dp.pid) {
		LOG(WARNING, "heartbeat page %s is not dataplane pid %d's", path, a->dp.pid);
		munmap((void *)hb, DP_HEARTBEAT_SIZE);
		return;
	}
	fb.hb = hb;
}

static const char *const phase_names[] = {"idle", "restart_wait", "holddown", "starting"};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void arm(int fd, int ms, bool periodic)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000L + (ms == 0);
	if (periodic)
		its.it_interval = its.it_value;
	timerfd_settime(fd, 0, &its, NULL);
}

static void disarm(int fd)
{
	struct itimerspec its = {0};
	timerfd_settime(fd, 0, &its, NULL);
}

static bool crash_loop_detected(const struct agent_config *cfg)
{
	double t = now_s();
	unsigned n = 0;

	for (unsigned i = 0; i < fb.n_failures && i < MAX_FAILURES; i++)
		if (t - fb.failures[i] <= cfg->fallback.crashloop_window_s)
			n++;
	return (int)n >= cfg->fallback.crashloop_count;
}

static void record_failure(void)
{
	fb.failures[fb.n_failures++ % MAX_FAILURES] = now_s();
}

/* Is the fast path possible with this dataplane? agentd always passes
 * --bridge, so yes unless the dataplane says explicitly that it has no FIB
 * (a failed query is not a "no": it would leave steering off for good). */
static bool dataplane_has_fib(struct agentd *a)
{
	json_t *h = NULL, *v;
	bool fast = true;

	if (dataplane_query(a, DP_TEL_HEALTH, &h) == 0) {
		v = json_object_get(h, "fast_path");
		if (json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0))
			fast = false;
	}
	json_decref(h);
	return fast;
}

static int nic_mac_from_dataplane(struct agentd *a)
{
	json_t *stats = NULL;
	const char *mac;
	unsigned m[6];
	int ret = -ENOENT;

	if (dataplane_query(a, DP_TEL_STATS, &stats) < 0)
		return -EIO;
	mac = json_string_value(json_object_get(json_object_get(stats, "nic"), "mac"));
	if (mac &&
	    sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6) {
		for (int i = 0; i < 6; i++)
			a->nic_mac[i] = m[i];
		a->nic_mac_known = true;
		ret = 0;
	}
	json_decref(stats);
	return ret;
}

#define START_POLL_MS	20
#define START_TIMEOUT_S 30

/* Start (or adopt) the dataplane; readiness is then polled from the timer
 * (PH_STARTING) so that the event loop — pidfd, heartbeat, agentctl — is
 * never blocked by a slow EAL start. STANDBY: the NIC stays the kernel's
 * until activate() (failback hold-down). */
static int bringup_begin(struct agentd *a, bool standby)
{
	int ret;

	a->dp.standby = standby;
	/* The NIC's MAC, for dp0 to be born with (bifurcated/af_xdp NICs: the
	 * kernel netdev has it; vfio-pci: known once a dataplane reported it). */
	if (!a->nic_mac_known) {
		struct ks_link_info li;
		if (ks_link_get(a->nl, a->cfg.nic.kernel_netdev, &li) == 0) {
			memcpy(a->nic_mac, li.mac, 6);
			a->nic_mac_known = true;
		}
	}
	ret = dataplane_start(a); /* adopts a running one; rebinds a vfio NIC otherwise */
	if (ret < 0)
		return ret;
	fb.phase = PH_STARTING;
	fb.start_deadline = now_s() + START_TIMEOUT_S;
	fb.next_at = now_s();
	arm(fb.timer_fd, 0, false);
	return 0;
}

static const char *dataplane_state(struct agentd *a, char *buf, size_t len)
{
	json_t *h = NULL;

	buf[0] = '\0';
	if (dataplane_query(a, DP_TEL_HEALTH, &h) == 0)
		snprintf(buf, len, "%s", json_string_value(json_object_get(h, "state")) ?: "");
	json_decref(h);
	return buf;
}

/* A dataplane in standby starts its NIC port on SIGUSR1. Any answer other
 * than "running" in the end is an error: a dataplane left in standby with
 * the underlay on dp0 would be a silent black hole. */
static int activate(struct agentd *a)
{
	struct timespec ts = {.tv_nsec = 5 * 1000000};
	double deadline = now_s() + 3;
	char state[32];
	int ret;

	if (a->dp.pid == 0 || kill(a->dp.pid, 0) < 0)
		return -ECHILD;
	dataplane_state(a, state, sizeof(state));
	if (strcmp(state, "running") == 0)
		return 0;
	if (strcmp(state, "standby") != 0)
		return -EIO; /* no answer: do not guess */
	ret = nic_to_dpdk(a);
	if (ret < 0)
		return ret;
	if (kill(a->dp.pid, SIGUSR1) < 0)
		return -errno;
	while (now_s() < deadline) {
		if (strcmp(dataplane_state(a, state, sizeof(state)), "running") == 0)
			return 0;
		if (kill(a->dp.pid, 0) < 0)
			return -ECHILD;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

/* The dataplane takes the NIC (if it was in standby), then the underlay;
 * steering last, so nothing is steered to a dataplane without a FIB. */
static int takeover(struct agentd *a, const char *why)
{
	int ret = activate(a);
	bool fast;

	if (ret == 0)
		ret = kernel_setup_exception(a);
	if (ret < 0)
		return ret;
	fast = dataplane_has_fib(a);
	if (!fast)
		LOG(WARNING, "dataplane has no fast path: steering stays in pass mode");
	steering_set_fast(a, fast);
	nic_announce(a, a->cfg.exception.ifname);
	agent_set_mode(a, MODE_DPDK, why);
	return 0;
}

static void schedule_restart(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;

	if (fb.forced) {
		fb.phase = PH_IDLE;
		return;
	}
	if (crash_loop_detected(cfg)) {
		fb.crash_loop = true;
		fb.phase = PH_IDLE;
		LOG(ERR,
		    "crash loop: %d failures within %d s; staying on the kernel path until "
		    "`agentctl mode dpdk`",
		    cfg->fallback.crashloop_count, cfg->fallback.crashloop_window_s);
		snprintf(a->last_failure + strlen(a->last_failure),
			 sizeof(a->last_failure) - strlen(a->last_failure), " (crash loop)");
		return;
	}
	if (fb.backoff_ms <= 0)
		fb.backoff_ms = cfg->fallback.backoff_min_ms;
	LOG(NOTICE, "restarting the dataplane in %d ms", fb.backoff_ms);
	fb.phase = PH_RESTART_WAIT;
	fb.next_at = now_s() + fb.backoff_ms / 1e3;
	arm(fb.timer_fd, fb.backoff_ms, false);
	fb.backoff_ms *= 2;
	if (fb.backoff_ms > cfg->fallback.backoff_max_ms)
		fb.backoff_ms = cfg->fallback.backoff_max_ms;
}

/* Kill a dataplane that is still there (hung, or failed its start) and reap
 * it: a stuck process must not keep the NIC. */
static void dataplane_kill(struct agentd *a)
{
	if (a->dp.pid == 0)
		return;
	/* SIGKILL first, never SIGCONT: a stopped (hung) process dies of it
	 * without running again, so it cannot send the packets it held */
	kill(a->dp.pid, SIGKILL);
	dataplane_stop(a, 0);
	hb_unmap();
}

void fallback_failover(struct agentd *a, const char *why)
{
	bool was_dpdk = a->mode == MODE_DPDK;

	if (a->mode == MODE_STOPPING)
		return;
	LOG(ERR, "%s: falling back to kernel routing", why);
	/* 1. nothing more is redirected to dp0 */
	steering_set_fast(a, false);
	/* 2. the dataplane is gone for good */
	dataplane_kill(a);
	disarm(fb.timer_fd);
	/* 3. the NIC, then the underlay, back to the kernel; tell the peers */
	if (nic_to_kernel(a) == 0 && kernel_setup_nic(a) == 0)
		nic_announce(a, a->cfg.nic.kernel_netdev);
	snprintf(a->last_failure, sizeof(a->last_failure), "%s", why);
	if (was_dpdk)
		fb.failovers++;
	record_failure();
	agent_set_mode(a, MODE_KERNEL, why);
	schedule_restart(a);
}

static void holddown_begin(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;

	/* The new dataplane runs in standby: FIB mirrored, lcore turning, but
	 * the NIC (and so all traffic) stays with the kernel until it has been
	 * healthy for the whole hold-down. */
	fb.phase = PH_HOLDDOWN;
	fb.next_at = now_s() + cfg->fallback.holddown_ms / 1e3;
	arm(fb.timer_fd, cfg->fallback.holddown_ms, false);
	LOG(NOTICE, "dataplane pid %d in standby: hold-down %d ms before failback", a->dp.pid,
	    cfg->fallback.holddown_ms);
}

static const char *dataplane_state(struct agentd *a, char *buf, size_t len);
static int takeover(struct agentd *a, const char *why);

/* PH_STARTING tick: is the dataplane's lcore turning yet? */
static void starting_poll(struct agentd *a)
{
	char state[32], why[200];
	int ret;

	if (a->dp.pid == 0)
		return; /* it died: dataplane_exited() took over */
	dataplane_state(a, state, sizeof(state));
	if (strcmp(state, "running") != 0 && strcmp(state, "standby") != 0) {
		if (now_s() < fb.start_deadline) {
			arm(fb.timer_fd, START_POLL_MS, false);
			return;
		}
		snprintf(why, sizeof(why), "dataplane pid %d not ready after %d s", a->dp.pid,
			 START_TIMEOUT_S);
		fallback_failover(a, why);
		return;
	}
	ret = nic_mac_from_dataplane(a);
	if (ret < 0) {
		fallback_failover(a, "dataplane did not report the NIC's MAC");
		return;
	}
	fb.hb_valid = false;
	fb.misses = 0;
	hb_map(a);
	fb.phase = PH_IDLE;
	if (fb.start_initial || nic_needs_rebind(a)) {
		/* first start, or a vfio-pci NIC (the restart took it from the
		 * kernel already: nothing to hold down) */
		ret = takeover(a, fb.start_initial
				      ? "dataplane ready"
				      : "dataplane restarted (vfio-pci NIC: no hold-down)");
		if (ret == 0 && !fb.start_initial)
			fb.failbacks++;
		if (ret < 0) {
			snprintf(why, sizeof(why), "dataplane start failed: %s", strerror(-ret));
			fallback_failover(a, why);
		}
		return;
	}
	holddown_begin(a);
}

static void timer_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	uint64_t n;
	int ret;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	switch (fb.phase) {
	case PH_RESTART_WAIT:
		fb.restarts++;
		fb.start_initial = false;
		/* A vfio-pci NIC must be bound to vfio-pci before EAL probes it:
		 * no standby for it. */
		ret = bringup_begin(a, !nic_needs_rebind(a));
		if (ret < 0) {
			char why[200];
			snprintf(why, sizeof(why), "dataplane restart failed: %s", strerror(-ret));
			fallback_failover(a, why);
		}
		break;
	case PH_STARTING:
		starting_poll(a);
		break;
	case PH_HOLDDOWN:
		fb.phase = PH_IDLE;
		if (a->dp.pid == 0)
			return;
		ret = takeover(a, "failback after hold-down");
		if (ret < 0) {
			fallback_failover(a, "failback failed");
			return;
		}
		fb.failbacks++;
		fb.backoff_ms = a->cfg.fallback.backoff_min_ms;
		break;
	case PH_IDLE:
		break;
	}
}

/* Heartbeat: the forwarding lcore bumps a counter every loop turn; a counter
 * that stops moving (or a dataplane that stops answering) for N checks is a
 * hang, even though the process exists. */
static void heartbeat_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	const struct agent_config *cfg = &a->cfg;
	json_t *h = NULL;
	uint64_t n, hb;
	bool ok = false;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	if (a->dp.pid == 0 || a->mode == MODE_STOPPING || a->mode == MODE_STARTING ||
	    fb.phase == PH_STARTING) {
		if (a->dp.pid == 0)
			hb_unmap();
		return;
	}
	if (fb.hb != NULL) {
		/* the shared page: no round trip, no dependence on the telemetry
		 * thread being scheduled on a loaded host */
		hb = __atomic_load_n(&fb.hb->turns, __ATOMIC_RELAXED);
		ok = !fb.hb_valid || hb != fb.last_hb;
		fb.last_hb = hb;
		fb.hb_valid = true;
	} else if (dataplane_query_timeout(a, DP_TEL_HEALTH, cfg->fallback.heartbeat_ms, &h) == 0) {
		hb = json_integer_value(json_object_get(h, "heartbeat"));
		ok = !fb.hb_valid || hb != fb.last_hb;
		fb.last_hb = hb;
		fb.hb_valid = true;
	}
	json_decref(h);
	if (ok) {
		fb.misses = 0;
		return;
	}
	if (++fb.misses < cfg->fallback.heartbeat_misses)
		return;
	char why[160];
	snprintf(why, sizeof(why),
		 "dataplane pid %d hung: heartbeat stalled for %d checks of %d ms", a->dp.pid,
		 fb.misses, cfg->fallback.heartbeat_ms);
	fb.misses = 0;
	fallback_failover(a, why);
}

int fallback_init(struct agentd *a)
{
	int ret;

	fb.hb_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	fb.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fb.hb_fd < 0 || fb.timer_fd < 0)
		return -errno;
	fb.backoff_ms = a->cfg.fallback.backoff_min_ms;
	if ((ret = loop_add_fd(a, fb.hb_fd, heartbeat_cb, NULL)) < 0 ||
	    (ret = loop_add_fd(a, fb.timer_fd, timer_cb, NULL)) < 0)
		return ret;
	arm(fb.hb_fd, a->cfg.fallback.heartbeat_ms, true);
	return 0;
}

/* Initial start: no hold-down (nothing to protect yet); on failure the host
 * starts on the kernel path and restarts are scheduled. */
void fallback_start(struct agentd *a)
{
	char why[200];
	int ret;

	a->managed = true;
	fb.start_initial = true;
	ret = bringup_begin(a, false);
	if (ret == 0)
		return; /* starting_poll() finishes the job */
	snprintf(why, sizeof(why), "dataplane start failed: %s", strerror(-ret));
	fallback_failover(a, why);
}

/* agentctl mode kernel|dpdk */
int fallback_force(struct agentd *a, bool kernel)
{
	if (kernel) {
		fb.forced = true;
		if (a->mode == MODE_KERNEL && a->dp.pid == 0) {
			disarm(fb.timer_fd);
			fb.phase = PH_IDLE;
			return 0;
		}
		fallback_failover(a, "forced by agentctl mode kernel");
		return 0;
	}
	fb.forced = false;
	fb.crash_loop = false;
	fb.n_failures = 0;
	fb.backoff_ms = a->cfg.fallback.backoff_min_ms;
	if (a->mode == MODE_DPDK || fb.phase != PH_IDLE)
		return 0; /* already there, or on its way */
	LOG(NOTICE, "agentctl mode dpdk: restarting the dataplane");
	fb.phase = PH_RESTART_WAIT;
	fb.next_at = now_s();
	arm(fb.timer_fd, 0, false);
	return 0;
}

int fallback_heartbeat_misses(void)
{
	return fb.misses;
}

json_t *fallback_status(struct agentd *a)
{
	double left = fb.phase == PH_IDLE ? 0 : fb.next_at - now_s();

	return json_pack("{s:I,s:I,s:I,s:b,s:b,s:s,s:i,s:i,s:i}", "failovers",
			 (json_int_t)fb.failovers, "failbacks", (json_int_t)fb.failbacks,
			 "restarts", (json_int_t)fb.restarts, "forced", fb.forced, "crash_loop",
			 fb.crash_loop, "phase", phase_names[fb.phase], "next_in_ms",
			 left > 0 ? (int)(left * 1000) : 0, "backoff_ms", fb.backoff_ms,
			 "heartbeat_misses", fb.misses);
}

static int mode_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp)
{
	json_error_t jerr;
	json_t *req = json_loadb(payload, len, 0, &jerr);
	const char *mode = json_string_value(json_object_get(req, "mode"));
	int ret = 0;

	if (mode && strcmp(mode, "kernel") == 0)
		fallback_force(a, true);
	else if (mode && strcmp(mode, "dpdk") == 0)
		fallback_force(a, false);
	else {
		*resp = json_pack("{s:s}", "error", "mode must be \"dpdk\" or \"kernel\"");
		ret = -EINVAL;
	}
	json_decref(req);
	if (ret == 0)
		*resp = json_pack("{s:s,s:s}", "mode", agent_mode_name(a->mode), "phase",
				  phase_names[fb.phase]);
	return ret;
}
static struct ctl_handler mode_handler = {
    .type = AGENT_REQ_MODE,
    .name = "mode",
    .changes = true,
    .handle = mode_handle,
};
CTL_REGISTER(mode_handler);
