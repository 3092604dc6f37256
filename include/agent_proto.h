/* SPDX-License-Identifier: BSD-3-Clause */
/* agentd control socket protocol (UNIX SOCK_STREAM): each request is one
 * header + payload, answered by one header + payload, in order; a client may
 * send its next request once it has its answer. One header for all messages,
 * grout style: requests carry id/type/length, responses echo the id and carry
 * a status (0 or a positive errno). Payloads are JSON text (UTF-8, no NUL),
 * so that agentctl can print them for humans or pass them through with
 * --json. agentd refuses request payloads over 64 KiB (EMSGSIZE) and other
 * versions (EPROTO), then closes the connection; agent/control.c lists the
 * deadlines. */
#pragma once

#include <stdint.h>

#define AGENT_PROTO_VERSION 1
#define AGENT_PROTO_MAX_MSG (1 << 20) /* 1 MiB */

enum agent_req_type {
	AGENT_REQ_STATUS = 1, /* payload: none; response: status object */
	/* dataplane FIB mirror, one page per request: payload {"family": 4|6,
	 * "cursor": "" | the previous page's "next", "prefix": "a/len" (only
	 * routes inside it), "exact": true (only that prefix)}; response
	 * {"family", "routes": [...], "next" (absent on the last page)} */
	AGENT_REQ_ROUTES = 2,
	/* dataplane neighbour mirror, paged the same way: payload
	 * {"cursor"}; response {"neigh": [...], "next"} */
	AGENT_REQ_NEIGH = 3,
	AGENT_REQ_MODE = 4, /* payload: {"mode":"dpdk"|"kernel"} */
	/* which path a flow takes now and why: payload {"src", "dst", "proto",
	 * "sport", "dport", "from": "vm"|"wire"}; response: agentctl(8),
	 * "explain" (agent/ctl_explain.c) */
	AGENT_REQ_EXPLAIN = 5,
	/* payload: none; reloads the configuration file (as SIGHUP). Response:
	 * {"config", "changed": N, "applied": [keys], "dataplane_restart":
	 * [keys], "agentd_restart": [keys], "errors": [strings]}, or status
	 * -EINVAL and {"error": "FILE:LINE: ..."} when the file is invalid. */
	AGENT_REQ_RELOAD = 6,
};

struct agent_req_hdr {
	uint16_t version; /* AGENT_PROTO_VERSION */
	uint16_t type;	  /* enum agent_req_type */
	uint32_t id;	  /* chosen by the client, echoed back */
	uint32_t len;	  /* payload bytes after the header */
} __attribute__((packed));

struct agent_resp_hdr {
	uint16_t version;
	uint16_t reserved;
	uint32_t id;
	uint32_t status; /* 0 = ok, else errno; payload is then {"error": "..."} */
	uint32_t len;
} __attribute__((packed));
