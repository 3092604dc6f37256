/* SPDX-License-Identifier: BSD-3-Clause */
/* agentd: the control plane of the split topology.
 *
 *   agentd -c FILE               run (foreground; systemd supervises it)
 *   agentd --check-config -c FILE validate FILE and exit (0 ok, 2 invalid)
 *
 * One epoll loop: signals (signalfd), the control socket, the dataplane's
 * pidfd. Start order: config (nothing touched if invalid) → bridge and VM
 * ports → dataplane → exception netdev takes over the underlay. */
#define LOG_TYPE "agentd"
#include <agent_log.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <agent_proto.h>
#include <dp_telemetry.h>
#include <kernel_side.h>

#include "agentd.h"

#define EXIT_CONFIG 2

const char *agent_mode_name(enum agent_mode m)
{
	switch (m) {
	case MODE_STARTING:
		return "starting";
	case MODE_DPDK:
		return "dpdk";
	case MODE_KERNEL:
		return "kernel";
	case MODE_STOPPING:
		return "stopping";
	}
	return "?";
}

void agent_set_mode(struct agentd *a, enum agent_mode m, const char *why)
{
	if (a->mode == m)
		return;
	LOG(NOTICE, "mode %s -> %s (%s)", agent_mode_name(a->mode), agent_mode_name(m), why);
	a->mode = m;
	a->mode_since = time(NULL);
}

static void signal_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		/* no live reload: a restart is cheap (the dataplane is adopted) */
		LOG(NOTICE, "SIGHUP: configuration reload is not supported; restart agentd "
			    "to apply a new configuration (traffic is not interrupted)");
		return;
	}
	LOG(NOTICE, "received %s", strsignal(si.ssi_signo));
	a->stop = true;
}

static int status_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp)
{
	*resp = status_build(a);
	return *resp ? 0 : -ENOMEM;
}
static struct ctl_handler status_handler = {
    .type = AGENT_REQ_STATUS,
    .name = "status",
    .handle = status_handle,
};
CTL_REGISTER(status_handler);

/* The dataplane's FIB mirror, straight from its telemetry: one telemetry
 * command (one page) per request, so each request is bounded by the
 * telemetry timeout however large the table is; agentctl asks for the pages
 * one after the other. */
static int fib_query(struct agentd *a, const char *cmd, json_t **resp)
{
	int ret;

	if (a->dp.pid == 0) {
		*resp = json_pack("{s:s}", "error", "the dataplane is not running (mode kernel)");
		return -ESRCH;
	}
	ret = dataplane_query(a, cmd, resp);
	if (ret == -ENOENT)
		/* null reply: the command refused its parameters, or there is no
		 * such command (an older dataplane) */
		*resp = json_pack("{s:s}", "error", "the dataplane refused the request");
	else if (ret < 0)
		*resp = json_pack("{s:s}", "error", "the dataplane did not answer");
	return ret;
}

/* A request's string field, checked against CHARSET (they are pasted into a
 * telemetry command line, where ',' separates parameters). */
static int req_token(json_t *req, const char *key, const char *charset, size_t max,
		     const char **out)
{
	json_t *v = json_object_get(req, key);
	const char *str;

	*out = "";
	if (v == NULL || json_is_null(v))
		return 0;
	str = json_string_value(v);
	if (str == NULL || strlen(str) > max || str[strspn(str, charset)] != '\0')
		return -EINVAL;
	*out = str;
	return 0;
}

static int req_parse(const char *payload, uint32_t len, json_t **req, json_t **resp)
{
	json_error_t jerr;

	*req = len ? json_loadb(payload, len, 0, &jerr) : json_object();
	if (*req == NULL || !json_is_object(*req)) {
		json_decref(*req);
		*req = NULL;
		*resp = json_pack("{s:s}", "error", "bad request: not a JSON object");
		return -EINVAL;
	}
	return 0;
}

/* A copy of a telemetry entry, its ECMP paths (numbered dicts in
 * telemetry) as an array. */
static json_t *entry_convert(json_t *e)
{
	json_t *nhs, *paths;
	char key[24];

	e = json_deep_copy(e);
	nhs = json_object_get(e, "nexthops");
	if (e == NULL || !json_is_object(nhs))
		return e;
	paths = json_array();
	for (size_t p = 0; paths != NULL && p < json_object_size(nhs); p++) {
		snprintf(key, sizeof(key), "%zu", p);
		json_t *ph = json_object_get(nhs, key);
		if (ph != NULL)
			json_array_append(paths, ph);
	}
	json_object_set_new(e, "nexthops", paths ? paths : json_null());
	return e;
}

/* A telemetry page {"n": N, "next": c, "0": {...}, ...} as
 * {LIST: [...], "next": c}; fails if the page holds fewer entries than it
 * says (a reply cut short by the telemetry buffer). ECMP paths, numbered
 * dicts in telemetry, become an array. */
static int page_convert(json_t *page, const char *list, json_t **resp)
{
	json_int_t n = json_integer_value(json_object_get(page, "n"));
	json_t *out = json_object(), *arr = json_array(), *next = json_object_get(page, "next");
	json_t *not_shown = json_object_get(page, "not_shown");
	char key[24];

	if (out == NULL || arr == NULL)
		goto nomem;
	/* An older dataplane (adopted across an agentd upgrade) answers one
	 * unpaged reply without "n", capped, with "not_shown". */
	if (json_object_get(page, "n") == NULL)
		n = (json_int_t)json_object_size(page) - (not_shown != NULL);
	if (not_shown != NULL)
		json_object_set(out, "not_shown", not_shown);
	for (json_int_t k = 0; k < n; k++) {
		json_t *e;

		snprintf(key, sizeof(key), "%lld", (long long)k);
		e = json_object_get(page, key);
		if (!json_is_object(e)) {
			json_decref(out);
			json_decref(arr);
			*resp = json_pack("{s:s}", "error", "the dataplane's reply was cut short");
			return -EMSGSIZE;
		}
		e = entry_convert(e);
		if (e == NULL || json_array_append_new(arr, e) < 0)
			goto nomem;
	}
	json_object_set_new(out, list, arr);
	if (json_is_string(next) && json_string_length(next) > 0)
		json_object_set(out, "next", next);
	*resp = out;
	return 0;
nomem:
	json_decref(out);
	json_decref(arr);
	return -ENOMEM;
}

/* "address/length" (or a bare address) of FAMILY (4|6)? */
static bool prefix_valid(const char *prefix, int family)
{
	char addr[64];
	unsigned char buf[16];
	const char *slash = strchr(prefix, '/');
	size_t n = slash ? (size_t)(slash - prefix) : strlen(prefix);
	char *end;

	if (n >= sizeof(addr))
		return false;
	memcpy(addr, prefix, n);
	addr[n] = '\0';
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return false;
	if (slash == NULL)
		return true;
	errno = 0;
	unsigned long len = strtoul(slash + 1, &end, 10);
	return errno == 0 && end != slash + 1 && *end == '\0' && len <= (family == 6 ? 128u : 32u);
}

#define HEX_CHARS    "0123456789abcdefABCDEF"
#define PREFIX_CHARS HEX_CHARS ".:/"

/* payload {"family": 4|6, "cursor": "<next of the previous page>",
 * "prefix": "a/len" (only the routes inside it), "exact": true (only that
 * prefix)}; response {"family": 4|6, "routes": [...], "next": "..." (absent
 * on the last page)}. */
static int routes_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp)
{
	const char *cursor, *prefix;
	char cmd[256];
	json_t *req, *page = NULL;
	json_int_t family;
	int ret;

	ret = req_parse(payload, len, &req, resp);
	if (ret < 0)
		return ret;
	if (req_token(req, "cursor", HEX_CHARS, 64, &cursor) < 0 ||
	    req_token(req, "prefix", PREFIX_CHARS, 64, &prefix) < 0) {
		json_decref(req);
		*resp = json_pack("{s:s}", "error", "bad request: cursor or prefix");
		return -EINVAL;
	}
	family = json_integer_value(json_object_get(req, "family"));
	if (family == 0)
		family = strchr(prefix, ':') ? 6 : 4;
	if (family != 4 && family != 6) {
		json_decref(req);
		*resp = json_pack("{s:s}", "error", "bad request: family");
		return -EINVAL;
	}
	if (prefix[0] != '\0' && !prefix_valid(prefix, (int)family)) {
		*resp = json_pack("{s:s++}", "error", "not an IPv",
				  family == 6 ? "6 prefix: " : "4 prefix: ", prefix);
		json_decref(req);
		return -EINVAL;
	}
	if (json_is_true(json_object_get(req, "exact"))) {
		json_t *r;

		snprintf(cmd, sizeof(cmd), "%s,%s", DP_TEL_ROUTE, prefix);
		json_decref(req); /* prefix pointed into it */
		if (strchr(cmd, ',')[1] == '\0') {
			*resp = json_pack("{s:s}", "error", "bad request: exact needs a prefix");
			return -EINVAL;
		}
		ret = fib_query(a, cmd, &page);
		if (ret < 0) {
			*resp = page;
			return ret;
		}
		r = json_object_get(page, "route");
		r = r != NULL ? entry_convert(r) : NULL;
		*resp = json_pack("{s:I,s:[o*]}", "family", family, "routes", r);
		json_decref(page);
		return *resp ? 0 : -ENOMEM;
	}
	snprintf(cmd, sizeof(cmd), "%s,%d,%s%s%s", DP_TEL_ROUTES, (int)family, cursor,
		 prefix[0] ? "," : "", prefix);
	json_decref(req); /* cursor and prefix point into it */
	ret = fib_query(a, cmd, &page);
	if (ret < 0) {
		*resp = page;
		return ret;
	}
	ret = page_convert(page, "routes", resp);
	json_decref(page);
	if (ret == 0)
		json_object_set_new(*resp, "family", json_integer(family));
	return ret;
}
static struct ctl_handler routes_handler = {
    .type = AGENT_REQ_ROUTES,
    .name = "routes",
    .handle = routes_handle,
};
CTL_REGISTER(routes_handler);

/* payload {"cursor": "<next of the previous page>"}; response
 * {"neigh": [...], "next": "..." (absent on the last page)}. */
static int neigh_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp)
{
	const char *cursor;
	char cmd[128];
	json_t *req, *page = NULL;
	int ret;

	ret = req_parse(payload, len, &req, resp);
	if (ret < 0)
		return ret;
	if (req_token(req, "cursor", "0123456789", 10, &cursor) < 0) {
		json_decref(req);
		*resp = json_pack("{s:s}", "error", "bad request: cursor");
		return -EINVAL;
	}
	snprintf(cmd, sizeof(cmd), "%s,%s", DP_TEL_NEIGH, cursor);
	json_decref(req);
	ret = fib_query(a, cmd, &page);
	if (ret < 0) {
		*resp = page;
		return ret;
	}
	ret = page_convert(page, "neigh", resp);
	json_decref(page);
	return ret;
}
static struct ctl_handler neigh_handler = {
    .type = AGENT_REQ_NEIGH,
    .name = "neigh",
    .handle = neigh_handle,
};
CTL_REGISTER(neigh_handler);

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: agentd -c FILE [--check-config] [--log-level LEVEL]\n"
	       "  -c, --config FILE     configuration file (libconfig syntax, see agentd.conf(5))\n"
	       "  -n, --check-config    validate the configuration and exit (0 ok, 2 invalid)\n"
	       "  -L, --log-level LEVEL err|warning|notice|info|debug (overrides the file)\n"
	       "  -h, --help\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	static struct agentd agent = {.epfd = -1, .dp = {.pidfd = -1}};
	struct agentd *a = &agent;
	const char *config = NULL;
	int log_override = -1;
	bool check_only = false;
	char err[512];
	sigset_t sigs;
	int c, ret, sfd;

	while ((c = getopt_long(argc, argv, "c:nL:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'L':
			log_override = agent_log_level_parse(optarg);
			if (log_override < 0) {
				fprintf(stderr, "agentd: unknown log level '%s'\n", optarg);
				return EXIT_CONFIG;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (config == NULL) {
		usage(stderr);
		return EXIT_CONFIG;
	}

	/* Validate everything before touching anything. */
	ret = agent_config_load(config, &a->cfg, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "agentd: %s\n", err);
		return EXIT_CONFIG;
	}
	if (check_only) {
		printf("%s: ok\n", config);
		agent_config_free(&a->cfg);
		return 0;
	}
	agent_log_level = log_override >= 0 ? log_override : a->cfg.log_level;

	if (ctl_check_free(a->cfg.control.socket) < 0)
		return 1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (loop_init(a) < 0 || sfd < 0 || loop_add_fd(a, sfd, signal_cb, NULL) < 0) {
		LOG(ERR, "event loop: %s", strerror(errno));
		return 1;
	}
	a->mode_since = time(NULL);
	LOG(INFO, "agentd %s starting with %s", "0.1", config);

	ret = ks_open(&a->nl);
	if (ret < 0) {
		LOG(ERR, "netlink: %s", strerror(-ret));
		return 1;
	}
	ret = kernel_setup_bridge(a);
	if (ret < 0) {
		LOG(ERR, "bridge setup failed: %s", strerror(-ret));
		goto out;
	}
	ret = steering_init(a);
	if (ret < 0) {
		LOG(ERR, "steering setup failed: %s", strerror(-ret));
		goto out;
	}
	ret = ctl_listen(a);
	if (ret < 0)
		goto out;

	ret = fallback_init(a);
	if (ret < 0) {
		LOG(ERR, "timers: %s", strerror(-ret));
		goto out;
	}
	fallback_start(a);

	loop_run(a);
	ret = 0;

out:
	/* Orderly stop: the kernel gets the underlay back, the exception
	 * netdev disappears with the dataplane. The bridge and VM ports stay:
	 * VMs keep talking to each other and to the host. Only an agentd that
	 * got as far as starting (or adopting) the dataplane does this: one that
	 * failed earlier must not pull the underlay from under a running
	 * dataplane it has not adopted. */
	if (a->managed) {
		agent_set_mode(a, MODE_STOPPING, "shutdown");
		steering_set_fast(a, false);
		dataplane_stop(a, 5000);
		nic_to_kernel(a);
		kernel_setup_nic(a);
		steering_fini(a);
	}
	ctl_close(a);
	ks_close(a->nl);
	loop_fini(a);
	agent_config_free(&a->cfg);
	LOG(INFO, "agentd stopped");
	return ret < 0 ? 1 : 0;
}
