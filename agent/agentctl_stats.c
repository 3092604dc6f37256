/* SPDX-License-Identifier: BSD-3-Clause */
/* agentctl stats: every counter and gauge of `agentctl status`, flattened to
 * one name per value ("forwarding.fast_vm_to_wire"), as a table, as JSON,
 * as an OpenMetrics/Prometheus text exposition (node_exporter's textfile
 * collector), or watched with rates per second — "is the kernel doing the
 * work right now?" answered by kernel.IpForwDatagrams staying flat while
 * forwarding.fast_* climb.
 *
 * The values come from the status reply: what status shows and what stats
 * counts cannot disagree. Which section is made of counters (monotonic,
 * exported as "_total") and which of gauges is the one table below. */
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <agent_proto.h>

#include "agentctl.h"

/* The sections of status that hold numbers: PATH in the status object, the
 * prefix of their names, and whether every number in them is a counter
 * (gauges listed apart). */
static const struct section {
	const char *path; /* dotted, in the status object */
	const char *name; /* prefix of the flattened names */
	bool counters;	  /* monotonic, except GAUGES */
} sections[] = {
    {"forwarding", "forwarding", true},
    {"nic.dpdk", "nic", true},
    {"exception.dpdk", "exception", true},
    {"steering", "steering", true},
    {"kernel", "kernel", true},
    {"fib", "fib", false},
    {"fallback", "fallback", false},
    {"control", "control", false},
    {"loop", "loop", false},
    {"dataplane", "dataplane", false},
};

/* Values that go up and down inside counter sections, and counters inside
 * gauge sections (by flattened name). */
static const char *const gauges[] = {
    "nic.link_up",	"nic.speed_mbps",  "exception.link_up", "exception.speed_mbps",
    "steering.vm_macs", "steering.loaded", "nic.mtu",		"exception.mtu",
};
static const char *const counters_elsewhere[] = {
    "fib.netlink_overruns",	"fib.netlink_resync_failures",
    "fib.netlink_foreign",	"fib.resyncs",
    "fib.neigh_errors",		"fallback.failovers",
    "fallback.failbacks",	"fallback.restarts",
    "fallback.forced_switches", "fallback.heartbeat_starved",
    "control.accepted",		"control.requests",
    "control.evicted",		"control.timeouts",
    "control.errors",		"loop.callbacks",
    "loop.slow_callbacks",
};

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(name, list[k]) == 0)
			return true;
	return false;
}

static bool is_counter(const struct section *sec, const char *name)
{
	if (sec->counters)
		return !in_list(name, gauges, sizeof(gauges) / sizeof(gauges[0]));
	return in_list(name, counters_elsewhere,
		       sizeof(counters_elsewhere) / sizeof(counters_elsewhere[0]));
}

static json_t *get_path(json_t *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return o;
}

struct stat_value {
	char name[160];
	double value;
	bool counter;
};

struct stat_set {
	struct stat_value *v;
	size_t n, cap;
};

static void add_value(struct stat_set *set, const char *name, double value, bool counter)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 128;
		struct stat_value *v = realloc(set->v, cap * sizeof(*v));
		if (v == NULL)
			return;
		set->v = v;
		set->cap = cap;
	}
	struct stat_value *sv = &set->v[set->n++];
	snprintf(sv->name, sizeof(sv->name), "%s", name);
	sv->value = value;
	sv->counter = counter;
}

/* Every number (and boolean) under O, named PREFIX.key[.key...]. */
static void flatten(struct stat_set *set, const struct section *sec, const char *prefix, json_t *o)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		char name[160];

		snprintf(name, sizeof(name), "%s.%s", prefix, key);
		if (json_is_object(v))
			flatten(set, sec, name, v);
		else if (json_is_integer(v) || json_is_real(v))
			add_value(set, name, json_number_value(v), is_counter(sec, name));
		else if (json_is_boolean(v))
			add_value(set, name, json_is_true(v), false);
	}
}

static void collect(json_t *st, struct stat_set *set)
{
	set->n = 0;
	for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++) {
		json_t *o = get_path(st, sections[k].path);
		if (json_is_object(o))
			flatten(set, &sections[k], sections[k].name, o);
	}
}

static const struct stat_value *find(const struct stat_set *set, const char *name)
{
	for (size_t k = 0; k < set->n; k++)
		if (strcmp(set->v[k].name, name) == 0)
			return &set->v[k];
	return NULL;
}

/* "forwarding.fast_vm_to_wire" -> "agentd_forwarding_fast_vm_to_wire" */
static void metric_name(const char *name, char *out, size_t len)
{
	size_t o = snprintf(out, len, "agentd_");

	for (const char *p = name; *p && o + 1 < len; p++)
		out[o++] =
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
			? *p
			: '_';
	out[o] = '\0';
}

static void print_prometheus(json_t *st, const struct stat_set *set)
{
	static const char *const modes[] = {"starting", "dpdk", "kernel", "stopping"};
	const char *mode = json_string_value(json_object_get(st, "mode"));
	char m[200];

	printf("# HELP agentd_mode The path the host's traffic takes (1 for the current one).\n");
	printf("# TYPE agentd_mode gauge\n");
	for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++)
		printf("agentd_mode{mode=\"%s\"} %d\n", modes[k],
		       mode != NULL && strcmp(mode, modes[k]) == 0);
	for (size_t k = 0; k < set->n; k++) {
		const struct stat_value *v = &set->v[k];

		metric_name(v->name, m, sizeof(m));
		/* OpenMetrics: a counter family's sample is NAME_total */
		printf("# HELP %s agentctl status: %s\n", m, v->name);
		printf("# TYPE %s %s\n", m, v->counter ? "counter" : "gauge");
		printf("%s%s %.17g\n", m, v->counter ? "_total" : "", v->value);
	}
	printf("# EOF\n");
}

static void print_table(const struct stat_set *set, const struct stat_set *prev, double dt)
{
	for (size_t k = 0; k < set->n; k++) {
		const struct stat_value *v = &set->v[k];
		const struct stat_value *p = prev ? find(prev, v->name) : NULL;

		if (p != NULL && v->counter && dt > 0)
			printf("%-52s %20.0f %14.1f/s\n", v->name, v->value,
			       (v->value - p->value) / dt);
		else
			printf("%-52s %20.*f\n", v->name, v->value == floor(v->value) ? 0 : 2,
			       v->value);
	}
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static json_t *fetch_status(const char *sock)
{
	int status = 0, fd = ctl_connect(sock);
	json_t *st;

	if (fd < 0)
		return NULL;
	st = ctl_request(fd, AGENT_REQ_STATUS, NULL, &status);
	close(fd);

	if (st != NULL && status != 0) {
		fprintf(stderr, "agentctl: stats: %s\n",
			json_string_value(json_object_get(st, "error")) ?: "error");
		json_decref(st);
		return NULL;
	}
	return st;
}

int cmd_stats(const char *sock, const struct stats_opts *o)
{
	struct stat_set cur = {0}, prev = {0};
	double t_prev = 0;
	int ret = 0;

	if (o->watch_s > 0)
		signal(SIGINT, on_sigint);
	for (int round = 0; !interrupted; round++) {
		json_t *st = fetch_status(sock);
		double t = now_s();

		if (st == NULL) {
			ret = 1;
			break;
		}
		collect(st, &cur);
		if (o->prometheus) {
			print_prometheus(st, &cur);
		} else if (o->json) {
			json_t *out = json_object();
			for (size_t k = 0; k < cur.n; k++)
				json_object_set_new(out, cur.v[k].name, json_real(cur.v[k].value));
			if (round > 0 && t > t_prev) {
				json_t *rates = json_object();
				for (size_t k = 0; k < cur.n; k++) {
					const struct stat_value *p = find(&prev, cur.v[k].name);
					if (cur.v[k].counter && p != NULL)
						json_object_set_new(
						    rates, cur.v[k].name,
						    json_real((cur.v[k].value - p->value) /
							      (t - t_prev)));
				}
				json_object_set_new(out, "rates_per_s", rates);
			}
			json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			printf("\n");
			json_decref(out);
		} else {
			if (o->watch_s > 0 && isatty(STDOUT_FILENO))
				printf("\033[H\033[2J"); /* a refreshing view, as watch(1) */
			if (o->watch_s > 0)
				printf("agentd stats, mode %s, every %.1f s%s\n",
				       json_string_value(json_object_get(st, "mode")) ?: "-",
				       o->watch_s,
				       round == 0 ? " (rates from the next refresh on)" : "");
			print_table(&cur, round > 0 ? &prev : NULL, t - t_prev);
		}
		json_decref(st);
		fflush(stdout);
		if (o->watch_s <= 0 || (o->times > 0 && round + 1 >= o->times))
			break;
		struct stat_set tmp = prev;
		prev = cur;
		cur = tmp;
		t_prev = t;
		struct timespec ts = {.tv_sec = (time_t)o->watch_s,
				      .tv_nsec = (long)((o->watch_s - (time_t)o->watch_s) * 1e9)};
		nanosleep(&ts, NULL);
	}
	free(cur.v);
	free(prev.v);
	return ret;
}
