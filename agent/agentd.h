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
	char exc_type[16]; /* "tap" | "virtio-user" as resolved from "auto" */
	char nic_port[64]; /* DPDK port names passed with --nic/--exception */
	char exc_port[64];
	char telemetry_path[256];
	bool standby; /* start with --standby (NIC left to the kernel until SIGUSR1) */
};

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
	bool managed; /* the dataplane and the underlay are this agentd's to move */
	/* Routes through the underlay that the config does not list (added at
	 * runtime, e.g. by a routing daemon): they vanish with dp0, so they are
	 * remembered and moved with the underlay. */
	struct route_cfg extra_routes[AGENT_CFG_MAX_ROUTES];
	int n_extra_routes;
};

const char *agent_mode_name(enum agent_mode m);
void agent_set_mode(struct agentd *a, enum agent_mode m, const char *why);

/* epoll: every fd registered with a callback. */
typedef void (*fd_cb_t)(struct agentd *a, int fd, uint32_t events, void *arg);
int loop_add_fd(struct agentd *a, int fd, fd_cb_t cb, void *arg);
void loop_del_fd(struct agentd *a, int fd);

/* dataplane.c — spawn/stop agent-dataplane and talk to its telemetry. */
int dataplane_start(struct agentd *a);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. */
void dataplane_stop(struct agentd *a, int timeout_ms);
void dataplane_remove_runtime_dir(struct agentd *a);
/* Run a telemetry command; *out gets the value under the command's key. */
int dataplane_query(struct agentd *a, const char *cmd, json_t **out);

/* kernel_setup.c — the Linux side, from the config. */
int kernel_setup_bridge(struct agentd *a);
/* Underlay addresses and routes onto the exception netdev (DPDK owns the NIC). */
int kernel_setup_exception(struct agentd *a);
/* Underlay addresses and routes back onto the kernel NIC netdev. */
int kernel_setup_nic(struct agentd *a);
/* Remember the non-kernel routes through the device that holds the underlay. */
void kernel_snapshot_underlay_routes(struct agentd *a);

/* status.c */
json_t *status_build(struct agentd *a);

/* control.c — control socket; handlers register themselves (grout style). */
struct ctl_handler {
	uint16_t type;
	const char *name;
	/* Return 0 and set *resp, or a negative errno (then *resp may hold
	 * {"error": "..."}). */
	int (*handle)(struct agentd *a, const char *payload, uint32_t len, json_t **resp);
	struct ctl_handler *next;
};
void ctl_register(struct ctl_handler *h);
#define CTL_REGISTER(h)                                                                            \
	static void __attribute__((constructor)) ctl_register_##h(void)                            \
	{                                                                                          \
		ctl_register(&h);                                                                  \
	}
int ctl_listen(struct agentd *a);
void ctl_close(struct agentd *a);
/* Fails with -EADDRINUSE when an agentd already answers on PATH. */
int ctl_check_free(const char *path);

/* steering.c — the eBPF steering programs and their maps. */
int steering_init(struct agentd *a);
void steering_reconcile(struct agentd *a);
/* fast = redirect bulk traffic (MODE_DPDK); false = pass (one map write). */
int steering_set_fast(struct agentd *a, bool fast);
json_t *steering_status(struct agentd *a);
void steering_fini(struct agentd *a);

/* nic_handover.c */
int nic_to_kernel(struct agentd *a);	 /* rebind (vfio-pci) / remove stale XDP program */
int nic_to_dpdk(struct agentd *a);	 /* rebind to vfio-pci before the dataplane starts */
bool nic_needs_rebind(struct agentd *a); /* a vfio-pci NIC the kernel gets back on fallback */
void nic_announce(struct agentd *a, const char *ifname); /* GARP + unsolicited NA */

/* fallback.c — failover to the kernel, restarts, hold-down, failback. */
int fallback_init(struct agentd *a);
void fallback_start(struct agentd *a);
void fallback_failover(struct agentd *a, const char *why);
int fallback_force(struct agentd *a, bool kernel);
json_t *fallback_status(struct agentd *a);
int fallback_heartbeat_misses(void);
int dataplane_query_timeout(struct agentd *a, const char *cmd, int timeout_ms, json_t **out);
