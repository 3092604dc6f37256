/* SPDX-License-Identifier: BSD-3-Clause */
/* Fallback to kernel routing when the dataplane dies or hangs, and failback.
 *
 *   DPDK ──crash (pidfd) / hang (heartbeat) / start failure──▶ KERNEL
 *     steering pass (one map write) → dataplane killed if still there → NIC
 *     back to the kernel → underlay addresses + routes on the NIC netdev
 *     (same MAC) → gratuitous ARP / unsolicited NA.
 *   KERNEL ──backoff timer──▶ restart the dataplane ──ready──▶ HOLDDOWN
 *     (a vfio-pci NIC: the timer is at least holddown_ms, and the restart,
 *     which takes the NIC, is the failback: no standby is possible)
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
#include <inttypes.h>
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
	PH_ACTIVATING,	 /* taking over: standby dataplane told to start its NIC, polled */
	PH_HANDOVER,	 /* kernel took over on purpose; the dataplane drains, then stops */
	PH_FAILOVER,	 /* moving to the kernel, one step per loop turn (fo_step) */
};

/* A failover's steps, each its own loop turn, so that agentctl and the
 * other supervision work are served between them (under ASan the whole
 * sequence took 120 ms, every step 20-40 ms). */
enum failover_step {
	FO_REAP,     /* the killed dataplane is not gone yet (pidfd, 5 s deadline) */
	FO_NIC,	     /* the NIC back to the kernel (XDP detached, PCI rebound) */
	FO_UNDERLAY, /* the underlay onto the NIC netdev, announced; mode kernel */
};
#define FAILOVER_REAP_TIMEOUT_MS 5000

/* Why a takeover happens: it decides the counters and the failure message. */
enum takeover_kind {
	TK_INITIAL,	 /* agentd's first start */
	TK_VFIO_RESTART, /* a restart that took the NIC from the kernel (vfio-pci, a bond) */
	TK_HOLDDOWN,	 /* failback after the hold-down */
};

static struct {
	int hb_fd, timer_fd;
	enum phase phase;
	uint64_t last_hb;
	bool hb_valid;
	double hb_moved_at; /* monotonic s: the heartbeat last seen moving (status) */
	int misses;
	int backoff_ms;
	double failures[MAX_FAILURES]; /* monotonic seconds, ring */
	unsigned n_failures;
	bool forced, crash_loop;
	/* the restart under way is `agentctl mode dpdk`'s: not counted as a
	 * restart nor its takeover as a failback (forced_switches counts the
	 * operator's switches) */
	bool operator_start;
	uint64_t failovers, failbacks, restarts;
	double next_at;		       /* monotonic seconds of the pending timer */
	const struct dp_heartbeat *hb; /* the dataplane's heartbeat page, read-only */
	bool start_initial;	       /* PH_STARTING: agentd's first start (no hold-down) */
	double start_deadline;
	/* The dataplane is polled through dp_query.c, never waited for: an
	 * answer is for the epoch it was asked in (a failover, restart or
	 * forced switch since makes it moot). */
	uintptr_t epoch;
	bool polling;	       /* a poll of this epoch is in flight */
	bool fast;	       /* the dataplane has a FIB (from its last health) */
	enum takeover_kind tk; /* PH_ACTIVATING */
	bool signalled;	       /* PH_ACTIVATING: SIGUSR1 sent */
	double activate_deadline;
	uint64_t last_run_ns;	    /* the forwarding thread's CPU time at the last check */
	int starved_ms;		    /* how long it has been waiting for a CPU */
	uint64_t starved_checks;    /* heartbeat checks not counted: CPU contention */
	bool hb_asking;		    /* no heartbeat page: a telemetry query in flight */
	uint64_t forced_switches;   /* agentctl mode kernel (not failovers) */
	enum failover_step fo_step; /* PH_FAILOVER */
	bool fo_count, fo_record;   /* PH_FAILOVER: a failover to count, a failure to record */
	int fo_nic;		    /* PH_FAILOVER: what FO_NIC returned */
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
	fb.last_run_ns = 0;
	fb.starved_ms = 0;
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

static const char *const phase_names[] = {"idle",	"restart_wait", "holddown", "starting",
					  "activating", "handover",	"failover"};

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
 * (no answer is not a "no": it would leave steering off for good). */
static bool dataplane_has_fib(json_t *health)
{
	json_t *v = json_object_get(health, "fast_path");

	return !(json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0));
}

static int nic_mac_from_dataplane(struct agentd *a, json_t *stats)
{
	const char *mac;
	unsigned m[6];
	int ret = -ENOENT;

	if (stats == NULL)
		return -EIO;
	mac = json_string_value(json_object_get(json_object_get(stats, "nic"), "mac"));
	/* (a port that never started may report 00:00:00:00:00:00, e.g. a
	 * bond before its members are in: no MAC a netdev can take) */
	if (mac &&
	    sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6 &&
	    (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) != 0) {
		for (int i = 0; i < 6; i++)
			a->nic_mac[i] = m[i];
		a->nic_mac_known = true;
		ret = 0;
	}
	return ret;
}

#define START_POLL_MS	   20
#define START_TIMEOUT_S	   30
#define ACTIVATE_POLL_MS   5
#define ACTIVATE_TIMEOUT_S 3
/* one telemetry round trip; a slower answer is a failed poll, retried */
#define POLL_TIMEOUT_MS 300

static void new_epoch(void)
{
	fb.epoch++;
	fb.polling = false;
	fb.hb_asking = false;
}
static void activating_step(struct agentd *a, const char *state);
static void handover_step(struct agentd *a);

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
		const struct agent_config *cfg = &a->cfg;
		/* a bond not made yet: DPDK's takes its first member's MAC */
		const char *dev =
		    cfg->nic.n_members == 0 || ks_link_index(a->nl, cfg->nic.kernel_netdev) > 0
			? cfg->nic.kernel_netdev
			: cfg->nic.members[0].kernel_netdev;
		struct ks_link_info li;
		if (ks_link_get(a->nl, dev, &li) == 0) {
			memcpy(a->nic_mac, li.mac, 6);
			a->nic_mac_known = true;
		}
	}
	ret = dataplane_start(a); /* adopts a running one; rebinds a vfio NIC otherwise */
	if (ret < 0)
		return ret;
	new_epoch();
	fb.phase = PH_STARTING;
	fb.start_deadline = now_s() + START_TIMEOUT_S;
	fb.next_at = now_s();
	arm(fb.timer_fd, 0, false);
	return 0;
}

static void takeover_finish(struct agentd *a);
static void takeover_fail(struct agentd *a, int ret);

/* Take the dataplane's NIC and the underlay: STATE is the dataplane's state
 * when known ("running": go; "standby": start its NIC first), NULL to ask. */
static void takeover_begin(struct agentd *a, enum takeover_kind tk, const char *state)
{
	fb.tk = tk;
	fb.phase = PH_ACTIVATING;
	fb.signalled = false;
	fb.activate_deadline = now_s() + ACTIVATE_TIMEOUT_S;
	fb.next_at = now_s();
	if (state != NULL)
		activating_step(a, state);
	else
		arm(fb.timer_fd, 0, false);
}

/* PH_ACTIVATING, an answer: a dataplane in standby starts its NIC port on
 * SIGUSR1. Any state other than "running" in the end is an error: a
 * dataplane left in standby with the underlay on dp0 would be a silent
 * black hole. */
static void activating_step(struct agentd *a, const char *state)
{
	int ret;

	if (a->dp.pid == 0 || kill(a->dp.pid, 0) < 0) {
		takeover_fail(a, -ECHILD);
		return;
	}
	if (strcmp(state, "running") == 0) {
		takeover_finish(a);
		return;
	}
	if (!fb.signalled) {
		if (strcmp(state, "standby") != 0) {
			takeover_fail(a, -EIO); /* no answer: do not guess */
			return;
		}
		ret = nic_to_dpdk(a);
		if (ret == 0 && kill(a->dp.pid, SIGUSR1) < 0)
			ret = -errno;
		if (ret < 0) {
			takeover_fail(a, ret);
			return;
		}
		fb.signalled = true;
	} else if (now_s() >= fb.activate_deadline) {
		takeover_fail(a, -ETIMEDOUT);
		return;
	}
	arm(fb.timer_fd, ACTIVATE_POLL_MS, false);
}

/* The dataplane has the NIC: the underlay moves to dp0, steering last, so
 * nothing is steered to a dataplane without a FIB. */
static void takeover_finish(struct agentd *a)
{
	static const char *const why[] = {
	    [TK_INITIAL] = "dataplane ready",
	    [TK_VFIO_RESTART] = "dataplane restarted (NIC taken from the kernel: held down before "
				"the restart)",
	    [TK_HOLDDOWN] = "failback after hold-down",
	};
	int ret;

	fb.phase = PH_IDLE;
	ret = kernel_setup_exception(a);
	if (ret < 0) {
		takeover_fail(a, ret);
		return;
	}
	if (!fb.fast)
		LOG(WARNING, "dataplane has no fast path: steering stays in pass mode");
	steering_set_fast(a, fb.fast);
	nic_announce(a, a->cfg.exception.ifname);
	agent_set_mode(a, MODE_DPDK, why[fb.tk]);
	if (fb.tk != TK_INITIAL && !fb.operator_start)
		fb.failbacks++;
	fb.operator_start = false;
	if (fb.tk == TK_HOLDDOWN || fb.tk == TK_VFIO_RESTART)
		fb.backoff_ms = a->cfg.fallback.backoff_min_ms;
}

static void takeover_fail(struct agentd *a, int ret)
{
	char why[200];

	snprintf(why, sizeof(why), "%s: %s",
		 fb.tk == TK_HOLDDOWN ? "failback failed" : "dataplane start failed",
		 strerror(-ret));
	fallback_failover(a, why);
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
	int wait_ms = fb.backoff_ms;
	/* A vfio-pci NIC or a bond: the restart takes the NIC from the kernel, and
	 * nothing carries traffic until the new dataplane runs (EAL's start:
	 * seconds on a real host). So the hold-down comes before the restart:
	 * the kernel keeps the NIC at least that long, as it does while a
	 * restarted af_xdp dataplane waits in standby. */
	if (nic_needs_rebind(a) && wait_ms < cfg->fallback.holddown_ms)
		wait_ms = cfg->fallback.holddown_ms;
	LOG(NOTICE, "restarting the dataplane in %d ms%s", wait_ms,
	    wait_ms > fb.backoff_ms ? " (NIC taken from the kernel: the hold-down first)" : "");
	fb.phase = PH_RESTART_WAIT;
	fb.next_at = now_s() + wait_ms / 1e3;
	arm(fb.timer_fd, wait_ms, false);
	fb.backoff_ms *= 2;
	if (fb.backoff_ms > cfg->fallback.backoff_max_ms)
		fb.backoff_ms = cfg->fallback.backoff_max_ms;
}

static void fo_next(enum failover_step step)
{
	fb.fo_step = step;
	arm(fb.timer_fd, 0, false); /* the next loop turn */
}

/* The kernel takes the host back: steering off at once, then (each its own
 * loop turn) the dataplane gone for good, the NIC, the underlay. The mode
 * turns "kernel" once the underlay is on the NIC netdev. */
void fallback_failover(struct agentd *a, const char *why)
{
	if (a->mode == MODE_STOPPING || fb.phase == PH_FAILOVER)
		return;
	LOG(ERR, "%s: falling back to kernel routing", why);
	new_epoch();
	disarm(fb.timer_fd);
	fb.phase = PH_FAILOVER;
	fb.next_at = now_s();
	snprintf(a->last_failure, sizeof(a->last_failure), "%s", why);
	/* a forced switch is the operator's, not a failure */
	fb.fo_count = a->mode == MODE_DPDK && !fb.forced;
	fb.fo_record = !fb.forced;
	/* what restarts after a failure is the agent's own */
	fb.operator_start = false;
	/* 1. nothing more is redirected to dp0 */
	steering_set_fast(a, false);
	/* 2. a dataplane still there (hung, or a start that failed) is killed:
	 * a stuck process must not keep the NIC (a vfio-pci one cannot be
	 * rebound before it is gone) */
	hb_unmap();
	if (a->dp.pid != 0) {
		dataplane_kill(a);
		fb.fo_step = FO_REAP;
		arm(fb.timer_fd, FAILOVER_REAP_TIMEOUT_MS, false);
		return;
	}
	fo_next(FO_NIC);
}

void fallback_reaped(struct agentd *a)
{
	(void)a;
	if (fb.phase == PH_FAILOVER && fb.fo_step == FO_REAP)
		fo_next(FO_NIC);
}

/* PH_FAILOVER timer: the next step. */
static void failover_step(struct agentd *a)
{
	switch (fb.fo_step) {
	case FO_REAP: /* the deadline: SIGKILL did not end it (D state) */
		dataplane_forget(a);
		/* fall through */
	case FO_NIC:
		/* 3. the NIC back to the kernel */
		fb.fo_nic = nic_to_kernel(a);
		fo_next(FO_UNDERLAY);
		return;
	case FO_UNDERLAY:
		break;
	}
	/* 4. the underlay onto the NIC netdev; tell the peers */
	if (fb.fo_nic == 0 && kernel_setup_nic(a) == 0)
		nic_announce(a, a->cfg.nic.kernel_netdev);
	dataplane_exception_release(a);
	if (fb.fo_count)
		fb.failovers++;
	if (fb.fo_record)
		record_failure();
	fb.phase = PH_IDLE;
	agent_set_mode(a, MODE_KERNEL, a->last_failure);
	schedule_restart(a);
	/* a new reason (already on the kernel path), or "(crash loop)" added */
	svc_notify_status(a, a->last_failure);
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

/* PH_STARTING, an answer: is the dataplane's lcore turning yet? */
static void starting_step(struct agentd *a, const char *state, json_t *stats)
{
	char why[200];

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
	if (nic_mac_from_dataplane(a, stats) < 0) {
		fallback_failover(a, "dataplane did not report the NIC's MAC");
		return;
	}
	fb.hb_valid = false;
	fb.misses = 0;
	hb_map(a);
	fb.phase = PH_IDLE;
	if (fb.start_initial || nic_needs_rebind(a))
		/* first start, or a vfio-pci NIC (the restart took it from the
		 * kernel already: nothing to hold down) */
		takeover_begin(a, fb.start_initial ? TK_INITIAL : TK_VFIO_RESTART, state);
	else
		holddown_begin(a);
}

static void poll_done(struct agentd *a, void *arg, const int *rets, json_t *const *vals, int n)
{
	const char *state = NULL;

	if ((uintptr_t)arg != fb.epoch)
		return; /* asked before a failover, restart or forced switch */
	fb.polling = false;
	if (a->dp.pid == 0)
		return; /* it died: dataplane_exited() took over */
	if (rets[0] == 0) {
		state = json_string_value(json_object_get(vals[0], "state"));
		fb.fast = dataplane_has_fib(vals[0]);
	}
	if (fb.phase == PH_STARTING)
		starting_step(a, state ?: "", rets[1] == 0 ? vals[1] : NULL);
	else if (fb.phase == PH_ACTIVATING)
		activating_step(a, state ?: "");
}

/* Ask the dataplane for its health and stats; the answer comes to
 * poll_done(). One poll at a time; the timer retries a poll that could not
 * even start (telemetry socket not there yet). */
static void poll_dataplane(struct agentd *a, int retry_ms)
{
	static const char *const cmds[] = {DP_TEL_HEALTH, DP_TEL_STATS};

	if (fb.polling)
		return;
	if (dpq_start(a, cmds, 2, POLL_TIMEOUT_MS, poll_done, (void *)fb.epoch) == 0)
		fb.polling = true;
	else
		arm(fb.timer_fd, retry_ms, false);
}

static void timer_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	uint64_t n;
	int ret;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	switch (fb.phase) {
	case PH_RESTART_WAIT:
		if (!fb.operator_start)
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
		if (a->dp.pid == 0)
			return; /* it died: dataplane_exited() took over */
		if (now_s() >= fb.start_deadline && !fb.polling) {
			char why[200];
			snprintf(why, sizeof(why), "dataplane pid %d not ready after %d s",
				 a->dp.pid, START_TIMEOUT_S);
			fallback_failover(a, why);
			return;
		}
		poll_dataplane(a, START_POLL_MS);
		break;
	case PH_ACTIVATING:
		if (now_s() >= fb.activate_deadline && !fb.polling) {
			takeover_fail(a, -ETIMEDOUT);
			return;
		}
		poll_dataplane(a, ACTIVATE_POLL_MS);
		break;
	case PH_HOLDDOWN:
		fb.phase = PH_IDLE;
		if (a->dp.pid == 0)
			return;
		takeover_begin(a, TK_HOLDDOWN, NULL);
		break;
	case PH_HANDOVER:
		handover_step(a);
		break;
	case PH_FAILOVER:
		failover_step(a);
		break;
	case PH_IDLE:
		break;
	}
}

/* The forwarding thread's scheduler state and time on a CPU (ns), from
 * /proc; -1 without the thread id (older dataplane) or the files. */
static int fwd_thread_sample(struct agentd *a, char *state, uint64_t *run_ns)
{
	char path[96], buf[512], *p;
	unsigned long long run = 0;
	uint64_t tid;
	FILE *f;
	int ret = -1;

	tid = fb.hb != NULL ? __atomic_load_n(&fb.hb->fwd_tid, __ATOMIC_ACQUIRE) : 0;
	if (tid == 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%" PRIu64 "/schedstat", a->dp.pid, tid);
	f = fopen(path, "re");
	if (f != NULL) {
		ret = fscanf(f, "%llu", &run) == 1 ? 0 : -1;
		fclose(f);
	}
	if (ret == 0 && state != NULL) {
		/* "tid (comm) S ...": the state follows the last ')' */
		snprintf(path, sizeof(path), "/proc/%d/task/%" PRIu64 "/stat", a->dp.pid, tid);
		f = fopen(path, "re");
		ret = -1;
		if (f != NULL) {
			if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
			    p[1] == ' ' && p[2] != '\0') {
				*state = p[2];
				ret = 0;
			}
			fclose(f);
		}
	}
	if (ret == 0 && run == 0)
		ret = -1; /* no scheduler statistics in this kernel: no verdict */
	if (ret == 0) {
		if (run_ns != NULL)
			*run_ns = run;
		fb.last_run_ns = run;
	}
	return ret;
}

/* A heartbeat that did not move: a hang, or CPU contention? A forwarding
 * thread that is runnable ('R') but barely ran since the last check was
 * waiting for a CPU (another process on its core, a host under load): that
 * is not counted as a miss — failing over would not give it the CPU, and a
 * healthy dataplane would be thrown away — unless it lasts
 * STARVE_LIMIT_FACTOR hang windows: a dataplane that cannot run serves
 * nobody. A stopped thread ('T', SIGSTOP), one asleep or in the kernel
 * without turning ('S', 'D'), and one that ran without completing a turn
 * (stuck in a loop) are hangs. */
#define STARVE_LIMIT_FACTOR 10
#define STARVE_RUN_NS	    1000000 /* less than 1 ms on a CPU in a check */

static bool fwd_thread_starved(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	uint64_t before = fb.last_run_ns, run;
	char state;

	if (fwd_thread_sample(a, &state, &run) < 0 || state != 'R' || run - before >= STARVE_RUN_NS)
		return false;
	fb.starved_ms += cfg->fallback.heartbeat_ms;
	if (fb.starved_ms >
	    STARVE_LIMIT_FACTOR * cfg->fallback.heartbeat_ms * cfg->fallback.heartbeat_misses) {
		LOG(WARNING, "forwarding thread of dataplane pid %d without a CPU for %d ms",
		    a->dp.pid, fb.starved_ms);
		return false;
	}
	if (fb.starved_checks++ % 100 == 0) /* (rate-limited: a loaded host says it often) */
		LOG(WARNING,
		    "forwarding thread of dataplane pid %d is runnable but not running: CPU "
		    "contention on its core, not counted as a hang (%" PRIu64 " such checks)",
		    a->dp.pid, fb.starved_checks);
	return true;
}

/* Heartbeat: the forwarding lcore bumps a counter every loop turn; a counter
 * that stops moving (or a dataplane that stops answering) for N checks is a
 * hang, even though the process exists. */
static void hb_answer(struct agentd *a, void *arg, const int *rets, json_t *const *vals, int n);
static void heartbeat_check(struct agentd *a, uint64_t hb, bool valid);

static void heartbeat_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	static const char *const cmds[] = {DP_TEL_HEALTH};
	const struct agent_config *cfg = &a->cfg;
	uint64_t n, hb;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	if (a->dp.pid == 0 || a->mode == MODE_STOPPING || a->mode == MODE_STARTING ||
	    fb.phase == PH_STARTING || fb.phase == PH_FAILOVER || a->dp.handover) {
		if (a->dp.pid == 0)
			hb_unmap();
		return;
	}
	if (fb.hb != NULL) {
		/* the shared page: no round trip, no dependence on the telemetry
		 * thread being scheduled on a loaded host */
		hb = __atomic_load_n(&fb.hb->turns, __ATOMIC_RELAXED);
		heartbeat_check(a, hb, true);
		return;
	}
	/* No page (an older dataplane, adopted): ask telemetry, without
	 * waiting; an answer later than the period is a miss. */
	if (fb.hb_asking)
		return;
	if (dpq_start(a, cmds, 1, cfg->fallback.heartbeat_ms, hb_answer, (void *)fb.epoch) == 0)
		fb.hb_asking = true;
	else
		heartbeat_check(a, 0, false);
}

static void hb_answer(struct agentd *a, void *arg, const int *rets, json_t *const *vals, int n)
{
	if ((uintptr_t)arg != fb.epoch)
		return;
	fb.hb_asking = false;
	if (a->dp.pid == 0 || a->dp.handover || a->mode == MODE_STOPPING ||
	    a->mode == MODE_STARTING || fb.phase == PH_STARTING || fb.phase == PH_FAILOVER)
		return;
	heartbeat_check(a, json_integer_value(json_object_get(vals[0], "heartbeat")), rets[0] == 0);
}

/* One heartbeat reading (VALID: there is one): a counter that moved, or a
 * miss — unless the forwarding thread only waits for a CPU. */
static void heartbeat_check(struct agentd *a, uint64_t hb, bool valid)
{
	const struct agent_config *cfg = &a->cfg;
	bool ok = false;

	if (valid) {
		ok = !fb.hb_valid || hb != fb.last_hb;
		fb.last_hb = hb;
		fb.hb_valid = true;
	}
	if (ok) {
		fb.hb_moved_at = now_s();
		fb.misses = 0;
		fb.starved_ms = 0;
		fwd_thread_sample(a, NULL, NULL); /* the baseline for the next check */
		return;
	}
	if (fwd_thread_starved(a))
		return;
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

/* `agentctl mode kernel` from a healthy fast path: a handover, not a
 * failover. The dataplane keeps forwarding while the kernel takes over:
 * steering off (VM traffic is routed by the kernel, still out through dp0
 * and DPDK), dp0's neighbours copied to the NIC netdev, the underlay moved
 * there (make before break), the NIC's frames given back to the kernel
 * (an af_xdp NIC's XDP program detached); the dataplane stops only after
 * HANDOVER_DRAIN_MS, once what it held has gone out. Not for a vfio-pci NIC,
 * which the kernel cannot use while DPDK has it: that is a failover. */
#define HANDOVER_DRAIN_MS 50
#define HANDOVER_STOP_MS  5000

static int handover_begin(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	int ret;

	new_epoch();
	disarm(fb.timer_fd);
	steering_set_fast(a, false);
	ks_neigh_copy(a->nl, cfg->exception.ifname, cfg->nic.kernel_netdev);
	ret = kernel_setup_nic(a);
	for (int k = 0; ret == 0 && k < cfg->n_vlans; k++) {
		char from[IFNAMSIZ + 8], to[IFNAMSIZ + 8];

		/* (after kernel_setup_nic: the NIC's VLAN netdevs exist now, and
		 * dp0's still — they go with dp0) */
		kernel_vlan_ifname(cfg->exception.ifname, cfg->vlans[k].id, from, sizeof(from));
		kernel_vlan_ifname(cfg->nic.kernel_netdev, cfg->vlans[k].id, to, sizeof(to));
		ks_neigh_copy(a->nl, from, to);
	}
	if (ret == 0)
		ret = nic_to_kernel(a);
	if (ret < 0)
		return ret;
	a->dp.handover = true;
	hb_unmap(); /* its lcore may stop turning: not a hang */
	agent_set_mode(a, MODE_KERNEL, "forced by agentctl mode kernel (handover)");
	fb.phase = PH_HANDOVER;
	fb.signalled = false;
	fb.next_at = now_s() + HANDOVER_DRAIN_MS / 1e3;
	arm(fb.timer_fd, HANDOVER_DRAIN_MS, false);
	return 0;
}

/* PH_HANDOVER timer: SIGTERM once drained; SIGKILL if it did not stop. */
static void handover_step(struct agentd *a)
{
	if (a->dp.pid == 0)
		return;
	if (!fb.signalled) {
		LOG(INFO, "handover: stopping dataplane pid %d", a->dp.pid);
		kill(a->dp.pid, SIGTERM);
		fb.signalled = true;
		fb.next_at = now_s() + HANDOVER_STOP_MS / 1e3;
		arm(fb.timer_fd, HANDOVER_STOP_MS, false);
		return;
	}
	LOG(WARNING, "handover: dataplane pid %d did not stop in %d ms: SIGKILL", a->dp.pid,
	    HANDOVER_STOP_MS);
	kill(a->dp.pid, SIGKILL);
}

void fallback_handover_done(struct agentd *a)
{
	disarm(fb.timer_fd);
	fb.phase = PH_IDLE;
	/* dp0 is gone: the underlay is complete on the NIC netdev (ensure),
	 * and the NIC's peers hear about it */
	if (nic_to_kernel(a) == 0 && kernel_setup_nic(a) == 0)
		nic_announce(a, a->cfg.nic.kernel_netdev);
	LOG(NOTICE, "handover to kernel routing done");
	if (!fb.forced) {
		/* `agentctl mode dpdk` came during the handover */
		LOG(NOTICE, "agentctl mode dpdk: restarting the dataplane");
		fb.operator_start = true;
		fb.phase = PH_RESTART_WAIT;
		fb.next_at = now_s();
		arm(fb.timer_fd, 0, false);
	}
}

/* agentctl mode kernel|dpdk */
int fallback_force(struct agentd *a, bool kernel)
{
	if (kernel) {
		if (!fb.forced)
			fb.forced_switches++;
		fb.forced = true;
		if (a->mode == MODE_KERNEL && a->dp.pid == 0) {
			disarm(fb.timer_fd);
			fb.phase = PH_IDLE;
			return 0;
		}
		if (fb.phase == PH_HANDOVER || fb.phase == PH_FAILOVER)
			return 0; /* on its way */
		if (a->mode == MODE_DPDK && a->dp.pid != 0 && !nic_needs_rebind(a)) {
			int ret = handover_begin(a);
			if (ret == 0)
				return 0;
			LOG(ERR, "handover to the kernel failed (%s): failing over",
			    strerror(-ret));
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
	fb.operator_start = true;
	fb.phase = PH_RESTART_WAIT;
	fb.next_at = now_s();
	arm(fb.timer_fd, 0, false);
	return 0;
}

void fallback_reconfigure(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;

	if (fb.hb_fd >= 0)
		arm(fb.hb_fd, cfg->fallback.heartbeat_ms, true);
	/* a restart already scheduled keeps its time; the next back-off step
	 * is within the new bounds */
	if (fb.backoff_ms < cfg->fallback.backoff_min_ms)
		fb.backoff_ms = cfg->fallback.backoff_min_ms;
	if (fb.backoff_ms > cfg->fallback.backoff_max_ms)
		fb.backoff_ms = cfg->fallback.backoff_max_ms;
}

int fallback_heartbeat_misses(void)
{
	return fb.misses;
}

bool fallback_dp_turns(uint64_t *turns)
{
	if (fb.hb == NULL)
		return false;
	*turns = __atomic_load_n(&fb.hb->turns, __ATOMIC_RELAXED);
	return true;
}

json_t *fallback_status(struct agentd *a)
{
	double now = now_s(), left = fb.phase == PH_IDLE ? 0 : fb.next_at - now;
	json_t *st;

	st = json_pack(
	    "{s:I,s:I,s:I,s:b,s:b,s:s,s:i,s:i,s:i,s:I,s:I}", "failovers", (json_int_t)fb.failovers,
	    "failbacks", (json_int_t)fb.failbacks, "restarts", (json_int_t)fb.restarts, "forced",
	    fb.forced, "crash_loop", fb.crash_loop, "phase", phase_names[fb.phase], "next_in_ms",
	    left > 0 ? (int)(left * 1000) : 0, "backoff_ms", fb.backoff_ms, "heartbeat_misses",
	    fb.misses, "heartbeat_starved", (json_int_t)fb.starved_checks, "forced_switches",
	    (json_int_t)fb.forced_switches);
	/* how long ago the dataplane's heartbeat was last seen moving (checked
	 * every heartbeat_ms): a monitor sees a hang building up before the
	 * failover; absent without a dataplane being watched */
	if (st != NULL && a->dp.pid && fb.hb_valid)
		json_object_set_new(st, "heartbeat_age_ms",
				    json_integer((json_int_t)((now - fb.hb_moved_at) * 1000)));
	return st;
}

static int mode_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp,
		       const struct ctl_call *call)
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
