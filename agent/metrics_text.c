/* SPDX-License-Identifier: BSD-3-Clause */
/* The flattening of agentd's status object into named values, and their
 * OpenMetrics/Prometheus text exposition: one file for agentctl
 * (`stats --prometheus`, node_exporter's textfile collector) and agentd
 * (the metrics listener, metrics.c), so that the two cannot disagree.
 *
 * The values come from the status object: what status shows and what the
 * metrics count cannot disagree either. Which section is made of counters
 * (monotonic, exported as "_total") and which of gauges is the one table
 * below. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_text.h"

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
    {"metrics", "metrics", false},
    {"reload", "reload", false},
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
    "fib.route_errors",
    "fib.neigh_errors",
    "fib.resyncs",
    "fib.netlink_events",
    "fib.netlink_dumps",
    "fib.netlink_dump_retries",
    "fib.netlink_overruns",
    "fib.netlink_parse_errors",
    "fib.netlink_foreign",
    "fib.netlink_resync_failures",
    "fib.netlink_drained",
    "fallback.failovers",
    "fallback.failbacks",
    "fallback.restarts",
    "fallback.forced_switches",
    "fallback.heartbeat_starved",
    "control.accepted",
    "control.evicted",
    "control.timed_out",
    "control.idle_closed",
    "control.protocol_errors",
    "control.out_of_fds",
    "metrics.requests",
    "metrics.scrapes",
    "metrics.not_found",
    "metrics.bad_method",
    "metrics.errors",
    "reload.reloads",
    "reload.failures",
    "loop.callbacks",
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

static int add_value(struct stat_set *set, const char *name, double value, bool counter)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 128;
		struct stat_value *v = realloc(set->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		set->v = v;
		set->cap = cap;
	}
	struct stat_value *sv = &set->v[set->n++];
	snprintf(sv->name, sizeof(sv->name), "%s", name);
	sv->value = value;
	sv->counter = counter;
	return 0;
}

/* Every number (and boolean) under O, named PREFIX.key[.key...]. */
static int flatten(struct stat_set *set, const struct section *sec, const char *prefix, json_t *o)
{
	const char *key;
	json_t *v;
	int ret = 0;

	json_object_foreach(o, key, v)
	{
		char name[160];

		snprintf(name, sizeof(name), "%s.%s", prefix, key);
		if (json_is_object(v))
			ret = flatten(set, sec, name, v);
		else if (json_is_integer(v) || json_is_real(v)) {
			bool counter = is_counter(sec, name);
			/* -1: unreadable (IPv6 off: no /proc/net/snmp6); a
			 * counter cannot be negative, it is left out */
			if (!counter || json_number_value(v) >= 0)
				ret = add_value(set, name, json_number_value(v), counter);
		} else if (json_is_boolean(v))
			ret = add_value(set, name, json_is_true(v), false);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int stats_collect(json_t *st, struct stat_set *set)
{
	set->n = 0;
	for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++) {
		json_t *o = get_path(st, sections[k].path);
		int ret;

		if (json_is_object(o) &&
		    (ret = flatten(set, &sections[k], sections[k].name, o)) < 0)
			return ret;
	}
	return 0;
}

const struct stat_value *stats_find(const struct stat_set *set, const char *name)
{
	for (size_t k = 0; k < set->n; k++)
		if (strcmp(set->v[k].name, name) == 0)
			return &set->v[k];
	return NULL;
}

void stats_free(struct stat_set *set)
{
	free(set->v);
	*set = (struct stat_set){0};
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

void metrics_write(FILE *f, json_t *st, const struct stat_set *set)
{
	static const char *const modes[] = {"starting", "dpdk", "kernel", "stopping"};
	const char *mode = json_string_value(json_object_get(st, "mode"));
	/* the dataplane's telemetry answered this time: without it, every
	 * dataplane family below is absent, and this says why */
	bool dp_up = json_is_object(json_object_get(json_object_get(st, "dataplane"), "health"));
	char m[200];

	fprintf(f,
		"# HELP agentd_mode The path the host's traffic takes (1 for the current one).\n");
	fprintf(f, "# TYPE agentd_mode gauge\n");
	for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++)
		fprintf(f, "agentd_mode{mode=\"%s\"} %d\n", modes[k],
			mode != NULL && strcmp(mode, modes[k]) == 0);
	fprintf(f, "# HELP agentd_dataplane_up The dataplane answered agentd's telemetry query "
		   "for these metrics (0: its counters are absent).\n");
	fprintf(f, "# TYPE agentd_dataplane_up gauge\n");
	fprintf(f, "agentd_dataplane_up %d\n", dp_up);
	for (size_t k = 0; k < set->n; k++) {
		const struct stat_value *v = &set->v[k];

		metric_name(v->name, m, sizeof(m));
		/* OpenMetrics: a counter family's sample is NAME_total */
		fprintf(f, "# HELP %s agentctl status: %s\n", m, v->name);
		fprintf(f, "# TYPE %s %s\n", m, v->counter ? "counter" : "gauge");
		fprintf(f, "%s%s %.17g\n", m, v->counter ? "_total" : "", v->value);
	}
	fprintf(f, "# EOF\n");
}

char *metrics_text(json_t *st, size_t *len)
{
	struct stat_set set = {0};
	char *buf = NULL;
	FILE *f;

	*len = 0;
	if (stats_collect(st, &set) < 0 || (f = open_memstream(&buf, len)) == NULL) {
		stats_free(&set);
		return NULL;
	}
	metrics_write(f, st, &set);
	stats_free(&set);
	if (fclose(f) != 0) {
		free(buf);
		*len = 0;
		return NULL;
	}
	return buf;
}
