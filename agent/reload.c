/* SPDX-License-Identifier: BSD-3-Clause */
/* Live reload (SIGHUP, `agentctl reload`): the file is loaded and checked
 * as a whole first — a bad file changes nothing and the answer says why,
 * with FILE:LINE — then only what differs is applied, each key as the
 * loader's table classifies it (agent_config_merge):
 *   live       bridge addresses and ports, underlay addresses, static
 *              routes, fallback timers, log level, control.group: applied
 *              now, added before removed, what did not change untouched;
 *   dataplane  EAL and FIB options: taken when the dataplane next starts
 *              (a planned switch, agentctl mode kernel then dpdk, or a
 *              restart after a failure), listed as pending until then;
 *   agentd     the NIC, the exception netdev, the bridge's name, the
 *              control socket, the pins: what agentd manages, kept as they
 *              are and listed as needing an agentd restart.
 * Nothing here restarts the dataplane or moves the underlay. */
#define LOG_TYPE "reload"
#include <agent_log.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <agent_proto.h>

#include "agentd.h"

static struct {
	uint64_t reloads, failures;
	time_t last_at;
	char last_error[512];
	json_t *pending_agentd; /* keys changed, kept until agentd restarts */
	/* what the running dataplane was started (or adopted) with: the keys
	 * that differ from the running configuration wait for its restart */
	struct agent_config dp_cfg;
	bool dp_cfg_valid;
} rl;

static void arrays_init(void)
{
	if (rl.pending_agentd == NULL)
		rl.pending_agentd = json_array();
}

struct changes {
	json_t *live, *dp, *agentd;
};

static void changed_key(const char *key, enum agent_cfg_apply how, void *arg)
{
	struct changes *ch = arg;

	switch (how) {
	case CFG_APPLY_LIVE:
		json_array_append_new(ch->live, json_string(key));
		break;
	case CFG_APPLY_DATAPLANE:
		json_array_append_new(ch->dp, json_string(key));
		break;
	case CFG_APPLY_AGENTD:
		/* kept at the running value: each reload's difference is the
		 * whole list (a key changed back is no longer pending) */
		json_array_append_new(ch->agentd, json_string(key));
		break;
	}
}

static void log_keys(int level, const char *what, json_t *arr)
{
	char line[512] = "";
	size_t i, off = 0;
	json_t *v;

	if (json_array_size(arr) == 0)
		return;
	json_array_foreach(arr, i, v)
	{
		int n = snprintf(line + off, sizeof(line) - off, "%s%s", i ? ", " : "",
				 json_string_value(v));
		if (n < 0 || (size_t)n >= sizeof(line) - off)
			break;
		off += (size_t)n;
	}
	agent_log(level, LOG_TYPE, "%s: %s", what, line);
}

int agent_reload(struct agentd *a, json_t **resp)
{
	struct agent_config next;
	struct changes ch;
	json_t *errors;
	char err[512];
	int ret, n;

	arrays_init();
	rl.last_at = time(NULL);
	memset(&next, 0, sizeof(next));
	ret = agent_config_load(a->cfg.path, &next, err, sizeof(err));
	if (ret < 0) {
		rl.failures++;
		snprintf(rl.last_error, sizeof(rl.last_error), "%s", err);
		LOG(ERR, "reload refused, nothing changed: %s", err);
		*resp = json_pack("{s:s,s:s}", "error", err, "config", a->cfg.path);
		return ret;
	}

	ch.live = json_array();
	ch.dp = json_array();
	ch.agentd = json_array();
	errors = json_array();
	n = agent_config_merge(&next, &a->cfg, changed_key, &ch);
	json_array_clear(rl.pending_agentd);
	json_array_extend(rl.pending_agentd, ch.agentd);

	/* the kernel first, from both configurations; then NEXT is the one */
	bool relisten = strcmp(next.metrics.listen, a->cfg.metrics.listen) != 0;

	ret = kernel_setup_reload(a, &next, errors);
	ctl_set_group(a, next.control.gid);
	agent_config_free(&a->cfg);
	a->cfg = next;
	if (relisten) {
		/* scrapes in flight get their answer first (metrics_close) */
		metrics_close(a);
		if (metrics_listen(a) < 0) {
			json_array_append_new(
			    errors,
			    json_sprintf("metrics.listen \"%s\": cannot listen (see the log)",
					 a->cfg.metrics.listen));
			ret = -EIO;
		}
	}
	if (a->log_level_override < 0)
		agent_log_level = a->cfg.log_level;
	fallback_reconfigure(a);

	rl.reloads++;
	rl.last_error[0] = '\0';
	if (ret < 0) {
		rl.failures++;
		snprintf(rl.last_error, sizeof(rl.last_error), "%s",
			 json_string_value(json_array_get(errors, 0)));
	}
	if (n == 0)
		LOG(NOTICE, "reload: %s: no change", a->cfg.path);
	log_keys(AGENT_LOG_NOTICE, "reload: applied", ch.live);
	log_keys(AGENT_LOG_WARNING, "reload: applied when the dataplane next starts", ch.dp);
	log_keys(AGENT_LOG_WARNING, "reload: NOT applied, restart agentd for", ch.agentd);
	for (size_t i = 0; i < json_array_size(errors); i++)
		LOG(ERR, "reload: %s", json_string_value(json_array_get(errors, i)));

	*resp = json_pack("{s:s,s:i,s:o,s:o,s:o,s:o}", "config", a->cfg.path, "changed", n,
			  "applied", ch.live, "dataplane_restart", ch.dp, "agentd_restart",
			  ch.agentd, "errors", errors);
	/* the reply says what failed; the request itself was served */
	return 0;
}

void reload_dataplane_started(struct agentd *a)
{
	if (rl.dp_cfg_valid)
		agent_config_free(&rl.dp_cfg);
	rl.dp_cfg_valid = agent_config_dup(&rl.dp_cfg, &a->cfg) == 0;
}

static void pending_dp_key(const char *key, enum agent_cfg_apply how, void *arg)
{
	if (how == CFG_APPLY_DATAPLANE)
		json_array_append_new(arg, json_string(key));
}

json_t *reload_status(struct agentd *a)
{
	json_t *dp = json_array();

	arrays_init();
	if (rl.dp_cfg_valid)
		agent_config_diff(&a->cfg, &rl.dp_cfg, pending_dp_key, dp);
	return json_pack("{s:I,s:I,s:I,s:s,s:o,s:O}", "reloads", (json_int_t)rl.reloads, "failures",
			 (json_int_t)rl.failures, "last_at", (json_int_t)rl.last_at, "last_error",
			 rl.last_error, "pending_dataplane_restart", dp, "pending_agentd_restart",
			 rl.pending_agentd);
}

void reload_fini(void)
{
	json_decref(rl.pending_agentd);
	rl.pending_agentd = NULL;
	if (rl.dp_cfg_valid)
		agent_config_free(&rl.dp_cfg);
	rl.dp_cfg_valid = false;
}

static int reload_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp,
			 const struct ctl_call *call)
{
	return agent_reload(a, resp);
}
static struct ctl_handler reload_handler = {
    .type = AGENT_REQ_RELOAD,
    .name = "reload",
    .changes = true,
    .handle = reload_handle,
};
CTL_REGISTER(reload_handler);
