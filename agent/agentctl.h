/* SPDX-License-Identifier: BSD-3-Clause */
/* agentctl's pieces: the request helper (agentctl.c) and the commands that
 * live in files of their own. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Exit codes, for scripts and monitoring checks. */
#define AGENTCTL_OK	     0
#define AGENTCTL_UNREACHABLE 1 /* agentd not reachable, or the request failed */
#define AGENTCTL_USAGE	     2
#define AGENTCTL_DEGRADED    3 /* status -q: not on the DPDK fast path (kernel, crash loop...) */

/* One request on connection FD; the parsed JSON reply (NULL + a message on
 * stderr), *STATUS its status (0 or a negative errno). */
json_t *ctl_request(int fd, uint16_t type, const char *payload, int *status);
/* Connect to agentd's socket PATH: the fd, or -1 (message printed). */
int ctl_connect(const char *path);

/* agentctl_stats.c */
struct stats_opts {
	bool json, prometheus;
	double watch_s; /* 0: once */
	int times;	/* with watch_s: stop after this many refreshes (0: until ^C) */
};
/* A connection per refresh: agentd closes connections idle for 60 s. */
int cmd_stats(const char *sock, const struct stats_opts *o);
