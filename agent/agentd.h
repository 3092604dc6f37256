/* SPDX-License-Identifier: BSD-3-Clause */
/* agentd's shared state and the module interfaces between its files. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include <agent_config.h>

struct ks_nl;

enum agent_mode {
	MODE_STARTING = 0, /* kernel side set up, dataplane not yet serving */
	MODE_DPDK,	   /* dataplane owns the NIC */
	MODE_KERNEL,	   /* kernel routes everything (fallback or forced) */
	MODE_STOPPING,
};

/* The supervised agent-dataplane child. */
struct dataplane {
	pid_t pid;		 /* 0 = not running */
	int pidfd;		 /* -1 = none; readable when the child exits */
	struct timespec started; /* CLOCK_MONOTONIC */
	time_t started_wall;
	char exc_type[16]; /* "tap" | "virtio-user" | "af_xdp" as resolved from "auto" */
	char exc_why[96];  /* "configured", or what auto found */
	char nic_port[64]; /* DPDK port names passed with --nic/--exception */
	char exc_port[64];
	char telemetry_path[256];
	bool standby;  /* start with --standby (NIC left to the kernel until SIGUSR1) */
	bool handover; /* stopped on purpose, the kernel has taken over (no failover) */
	bool killed;   /* SIGKILLed on purpose (hung, failed start): a failover awaits it */
};

/* DPDK's port of a bonded uplink (nic.members): the bonding PMD's vdev */
#define DP_BOND_PORT "net_bonding0"

struct agentd {
	struct agent_config cfg;
	struct ks_nl *nl;
	int epfd;
	bool stop;
	enum agent_mode mode;
	time_t mode_since;
	char last_failure[256];
	struct dataplane dp;
	uint8_t nic_mac[6];
	bool nic_mac_known;
	bool managed;		/* the dataplane and the underlay are this agentd's to move */
	int log_level_override; /* agentd -L (a reload keeps it), -1: none */
};

const char *agent_mode_name(enum agent_mode m);
void agent_set_mode(struct agentd *a, enum agent_mode m, const char *why);

/* event_loop.c — epoll: every fd registered with a callback. */
typedef void (*fd_cb_t)(struct agentd *a, int fd, uint32_t events, void *arg);
int loop_init(struct agentd *a);
void loop_fini(struct agentd *a);
int loop_add_fd_named(struct agentd *a, int fd, fd_cb_t cb, void *arg, const char *file,
		      const char *cb_name);
/* (the callback's file and name label it in the slow-callback report) */
#define loop_add_fd(a, fd, cb, arg) loop_add_fd_named(a, fd, cb, arg, __FILE__, #cb)
/* Callbacks run, slow ones, the slowest (status "loop"). */
json_t *loop_status(void);
/* Change the epoll events of a registered fd (EPOLLIN, EPOLLOUT, 0). */
int loop_mod_fd(struct agentd *a, int fd, uint32_t events);
void loop_del_fd(struct agentd *a, int fd);
/* Run callbacks until a->stop; -errno if epoll fails. */
int loop_run(struct agentd *a);

/* dataplane.c — spawn/stop agent-dataplane and talk to its telemetry. */
int dataplane_start(struct agentd *a);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. Logs how it ended; 0 if it
 * exited with status 0 (or, adopted, went away by itself), 1 if not. */
int dataplane_stop(struct agentd *a, int timeout_ms);
/* SIGKILL, never SIGCONT first (a hung process must not send what it
 * held); the exit is reaped from the loop, then fallback_reaped() runs. */
void dataplane_kill(struct agentd *a);
/* Stop watching a killed dataplane that would not die (it keeps nothing). */
void dataplane_forget(struct agentd *a);
/* The exception netdev of a dataplane that is gone goes on a later loop
 * turn (a failover calls it once the underlay has left it). */
void dataplane_exception_release(struct agentd *a);
void dataplane_remove_runtime_dir(struct agentd *a);
/* Run a telemetry command; *out gets the value under the command's key.
 * Blocking (bounded by a short timeout): only for supervision steps that
 * need the answer before going on; requests use dpq_start(). */
int dataplane_query(struct agentd *a, const char *cmd, json_t **out);
struct sockaddr_un;
int dataplane_telemetry_addr(struct agentd *a, struct sockaddr_un *sun);

/* dp_query.c — the same queries without blocking the loop: DONE runs from
 * the loop once every command has a reply or the deadline passed, with per
 * command rets[i] (0, or -errno: -ETIMEDOUT, -ENOENT for a null reply...)
 * and vals[i] (borrowed: incref to keep). -EBUSY when too many are in flight. */
#define DPQ_MAX_CMDS 4
typedef void (*dpq_done_t)(struct agentd *a, void *arg, const int *rets, json_t *const *vals,
			   int n);
int dpq_start(struct agentd *a, const char *const *cmds, int n_cmds, int timeout_ms,
	      dpq_done_t done, void *arg);
/* The same for a client's request: refused (-EBUSY) before the last few
 * slots, which are kept for supervision. */
int dpq_start_client(struct agentd *a, const char *const *cmds, int n_cmds, int timeout_ms,
		     dpq_done_t done, void *arg);
/* A client's request that waits up to MAX_MS while the dataplane is alive:
 * at each TIMEOUT_MS deadline it goes on waiting only if the forwarding
 * lcore turned meanwhile (fallback_dp_turns()) — a slow telemetry thread on
 * a loaded host is waited for, a hung dataplane costs TIMEOUT_MS. */
int dpq_start_client_patient(struct agentd *a, const char *const *cmds, int n_cmds, int timeout_ms,
			     int max_ms, dpq_done_t done, void *arg);
int dpq_inflight(void);
void dpq_cancel_all(struct agentd *a);

/* kernel_setup.c — the Linux side, from the config. */
int kernel_setup_bridge(struct agentd *a);
/* Underlay addresses and routes onto the exception netdev (DPDK owns the NIC). */
int kernel_setup_exception(struct agentd *a);
/* Underlay addresses and routes back onto the kernel NIC netdev. */
int kernel_setup_nic(struct agentd *a);
/* Reload: what NEXT adds to the bridge, the underlay and the routes, then
 * what it removes (a->cfg is still the running configuration). Failures are
 * appended to ERRORS as strings; -EIO if any. */
int kernel_setup_reload(struct agentd *a, const struct agent_config *next, json_t *errors);
/* The netdev of tenant VLAN VID on the underlay netdev UNDERLAY. */
void kernel_vlan_ifname(const char *underlay, int vid, char *out, size_t len);

/* reload.c — SIGHUP and `agentctl reload`: validate the file, apply the
 * difference. *RESP: what was applied, what waits for a restart, errors
 * ({"error": "FILE:LINE: ..."} and -EINVAL for a bad file). */
int agent_reload(struct agentd *a, json_t **resp);
/* The dataplane started anew: the options pending for it are applied. */
void reload_dataplane_started(struct agentd *a);
json_t *reload_status(struct agentd *a);
void reload_fini(void);

/* underlay_routes.c — routes through the underlay that the config does not
 * list (added at runtime, e.g. by a routing daemon) vanish with dp0: they are
 * remembered (no cap, kept from route events, no per-event dump) and moved
 * with the underlay. */
struct nlmsghdr;
/* A route or link message from the event socket (steering.c reads it). */
void underlay_routes_event(struct agentd *a, const struct nlmsghdr *nlh);
/* Events were lost (socket overrun): rebuild from a dump, rate-limited. */
void underlay_routes_overrun(struct agentd *a);
/* End of a batch of events: deferred work (rebuild, count log). */
void underlay_routes_batch_end(struct agentd *a);
/* The underlay is about to move from FROM (NULL: none) to TO: pending events
 * applied, and the first call rebuilds the record from both devices' routes
 * (start, adoption) while FROM still has them. */
int underlay_routes_prepare(struct agentd *a, const char *from, const char *to);
/* The underlay moved from FROM (NULL: none) to TO: the record follows it,
 * the runtime routes are replayed onto TO (first chunk now, the rest from a
 * timer; all at once when stopping; not at all if they are on TO already). */
int underlay_routes_move(struct agentd *a, const char *from, const char *to);
size_t underlay_routes_count(void);
/* Append at most MAX remembered routes to ARR (status). */
void underlay_routes_sample(json_t *arr, size_t max);
json_t *underlay_routes_status(void);
void underlay_routes_fini(struct agentd *a);

/* status.c — STATS, HEALTH: the dataplane's telemetry replies (NULL: none). */
json_t *status_build(struct agentd *a, json_t *health, json_t *stats);
/* The status object with the dataplane's part, asked without blocking:
 * DONE(a, ARG, ST) runs later from the loop (ST is DONE's; NULL: out of
 * memory). 0: asked; -errno: not asked (no dataplane to ask, a hung one,
 * too many queries), DONE will not run: build it now with
 * status_build(a, NULL, NULL). Users: the status request, metrics.c. */
typedef void (*status_done_t)(struct agentd *a, void *arg, json_t *st);
int status_collect(struct agentd *a, status_done_t done, void *arg);

/* metrics.c — the HTTP listener of metrics.listen (libmicrohttpd in the
 * event loop): GET /metrics, the exposition of `agentctl stats
 * --prometheus`. No-ops when metrics.listen is "". */
int metrics_listen(struct agentd *a);
json_t *metrics_status(void);
void metrics_close(struct agentd *a);

/* control.c — control socket; handlers register themselves (grout style). */
/* The request being served: a handler that answers later keeps a copy. */
struct ctl_call {
	uint64_t client; /* the connection's serial (it may be gone by the reply) */
	uint32_t id;	 /* the request's id */
};
#define CTL_DEFERRED 1 /* returned by handle(): the reply comes via ctl_reply() */
struct ctl_handler {
	uint16_t type;
	const char *name;
	bool changes; /* changes agentd's state: root only (reads: control.group too) */
	/* Return 0 and set *resp, or a negative errno (then *resp may hold
	 * {"error": "..."}), or CTL_DEFERRED having kept *CALL for ctl_reply()
	 * (what waits on the dataplane: the loop never does). */
	int (*handle)(struct agentd *a, const char *payload, uint32_t len, json_t **resp,
		      const struct ctl_call *call);
	struct ctl_handler *next;
};
/* Answer a deferred request (RESP is stolen). Dropped if the client left. */
void ctl_reply(struct agentd *a, const struct ctl_call *call, int ret, json_t *resp);
void ctl_register(struct ctl_handler *h);
#define CTL_REGISTER(h)                                                                            \
	static void __attribute__((constructor)) ctl_register_##h(void)                            \
	{                                                                                          \
		ctl_register(&h);                                                                  \
	}
int ctl_listen(struct agentd *a);
/* control.group changed: the socket's group and mode follow (GID -1: root only). */
void ctl_set_group(struct agentd *a, int gid);
/* Connections and what the limits did to them (status "control"). */
json_t *ctl_status(void);
void ctl_close(struct agentd *a);
/* Fails with -EADDRINUSE when an agentd already answers on PATH. */
int ctl_check_free(const char *path);

/* steering.c — the eBPF steering programs and their maps. */
int steering_init(struct agentd *a);
void steering_reconcile(struct agentd *a);
/* Process every event queued on the event socket now (before a move). */
void steering_drain_events(struct agentd *a);
/* fast = redirect bulk traffic (MODE_DPDK); false = pass (one map write). */
int steering_set_fast(struct agentd *a, bool fast);
json_t *steering_status(struct agentd *a);
/* The loaded programs and maps (NULL: not loaded), for ctl_explain.c. */
struct steer *steering_steer(void);
void steering_fini(struct agentd *a);

/* nic_handover.c */
int nic_to_kernel(struct agentd *a);	 /* rebind (vfio-pci) / remove stale XDP program */
int nic_to_dpdk(struct agentd *a);	 /* rebind to vfio-pci before the dataplane starts */
/* The dataplane must take the NIC from the kernel to start (a vfio-pci NIC,
 * a bond's members): no standby beside the kernel path. */
bool nic_needs_rebind(struct agentd *a);
void nic_announce(struct agentd *a, const char *ifname); /* GARP + unsolicited NA */

/* service_notify.c — systemd notifications (sd_notify); no-ops without
 * NOTIFY_SOCKET. init: WATCHDOG=1 from a loop timer at half WATCHDOG_USEC.
 * status: STATUS= with the mode (kernel: and WHY, the failure or the
 * request), READY=1 the first time the mode is dpdk or kernel.
 * stopping: STOPPING=1. */
int svc_notify_init(struct agentd *a);
void svc_notify_status(struct agentd *a, const char *why);
void svc_notify_stopping(struct agentd *a);
void svc_notify_fini(struct agentd *a);

/* fallback.c — failover to the kernel, restarts, hold-down, failback. */
int fallback_init(struct agentd *a);
void fallback_start(struct agentd *a);
void fallback_failover(struct agentd *a, const char *why);
int fallback_force(struct agentd *a, bool kernel);
/* The fallback.* settings changed (reload): timers and back-off follow. */
void fallback_reconfigure(struct agentd *a);
/* The dataplane stopped by a handover (dp.handover) has exited. */
void fallback_handover_done(struct agentd *a);
/* A dataplane killed by dataplane_kill() is gone (reaped). */
void fallback_reaped(struct agentd *a);
json_t *fallback_status(struct agentd *a);
int fallback_heartbeat_misses(void);
/* The forwarding lcore's turn count from the shared heartbeat page (false:
 * no page mapped): a count that moves is a dataplane alive. */
bool fallback_dp_turns(uint64_t *turns);
int dataplane_query_timeout(struct agentd *a, const char *cmd, int timeout_ms, json_t **out);
