/* SPDX-License-Identifier: BSD-3-Clause */
/* `agentctl routes` and `agentctl neigh`: the dataplane's FIB and neighbour
 * mirror, straight from its telemetry. One telemetry command (one page) per
 * request, asked without blocking the loop (dp_query.c): each request is
 * bounded by the telemetry timeout however large the table is, and agentctl
 * asks for the pages one after the other. */
#define LOG_TYPE "control"
#include <agent_log.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentd.h"
#include "control_proto.h"

/* a page is built by the dataplane's telemetry thread, off its lcores */
#define FIB_QUERY_TIMEOUT_MS 1000

struct fib_call {
	struct ctl_call call;
	const char *list; /* "routes" | "neigh" | NULL: one exact route */
	int family;	  /* routes */
};

static void fib_done(struct agentd *a, void *arg, const int *rets, json_t *const *vals, int n)
{
	struct fib_call *fc = arg;
	json_t *resp = NULL;
	int ret = rets[0];

	if (ret == -ENOENT)
		/* null reply: the command refused its parameters, or there is no
		 * such command (an older dataplane) */
		resp = json_pack("{s:s}", "error", "the dataplane refused the request");
	else if (ret < 0)
		resp = json_pack("{s:s,s:s}", "error", "the dataplane did not answer", "reason",
				 strerror(-ret));
	else if (fc->list == NULL) {
		json_t *r = json_object_get(vals[0], "route");
		r = r != NULL ? ctl_entry_convert(r) : NULL;
		resp = json_pack("{s:i,s:[o*]}", "family", fc->family, "routes", r);
		ret = resp ? 0 : -ENOMEM;
	} else {
		ret = ctl_page_convert(vals[0], fc->list, &resp);
		if (ret == 0 && fc->family)
			json_object_set_new(resp, "family", json_integer(fc->family));
	}
	ctl_reply(a, &fc->call, ret, resp);
	free(fc);
}

/* Ask the dataplane CMD for CALL; LIST: the page's list ("routes",
 * "neigh") or NULL for one exact route. */
static int fib_query(struct agentd *a, const struct ctl_call *call, const char *cmd,
		     const char *list, int family, json_t **resp)
{
	struct fib_call *fc;
	int ret;

	if (a->dp.pid == 0) {
		*resp = json_pack("{s:s}", "error", "the dataplane is not running (mode kernel)");
		return -ESRCH;
	}
	fc = malloc(sizeof(*fc));
	if (fc == NULL)
		return -ENOMEM;
	*fc = (struct fib_call){.call = *call, .list = list, .family = family};
	ret = dpq_start_client(a, &cmd, 1, FIB_QUERY_TIMEOUT_MS, fib_done, fc);
	if (ret == 0)
		return CTL_DEFERRED;
	free(fc);
	*resp =
	    json_pack("{s:s,s:s}", "error", "cannot ask the dataplane", "reason", strerror(-ret));
	return ret;
}

static int routes_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp,
			 const struct ctl_call *call)
{
	char cmd[256];
	bool exact;
	int family, ret;

	ret = ctl_routes_cmd(payload, len, cmd, sizeof(cmd), &family, &exact, resp);
	if (ret < 0)
		return ret;
	return fib_query(a, call, cmd, exact ? NULL : "routes", family, resp);
}
static struct ctl_handler routes_handler = {
    .type = AGENT_REQ_ROUTES,
    .name = "routes",
    .handle = routes_handle,
};
CTL_REGISTER(routes_handler);

static int neigh_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp,
			const struct ctl_call *call)
{
	char cmd[128];
	int ret;

	ret = ctl_neigh_cmd(payload, len, cmd, sizeof(cmd), resp);
	if (ret < 0)
		return ret;
	return fib_query(a, call, cmd, "neigh", 0, resp);
}
static struct ctl_handler neigh_handler = {
    .type = AGENT_REQ_NEIGH,
    .name = "neigh",
    .handle = neigh_handle,
};
CTL_REGISTER(neigh_handler);
