/* SPDX-License-Identifier: BSD-3-Clause */
/* agent/metrics_text.c: which status values become which families,
 * counters and gauges, names made valid, the mode state set,
 * agentd_dataplane_up, and the exposition's shape (one HELP/TYPE/sample
 * triple per family, "# EOF" last). The reference parser reads the same
 * text in scenario_stats and scenario_metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "metrics_text.h"

static json_t *status(const char *text)
{
	json_error_t err;
	json_t *st = json_loads(text, 0, &err);

	if (st == NULL)
		fail_msg("bad test JSON: %s", err.text);
	return st;
}

static const char *const full =
    "{\"mode\": \"dpdk\", \"version\": \"x\", \"last_failure\": \"none\","
    " \"dataplane\": {\"pid\": 42, \"uptime_s\": 7, \"health\": {\"state\": \"running\","
    "   \"heartbeat\": 1000, \"fast_path\": 1}},"
    " \"forwarding\": {\"fast_vm_to_wire\": 5, \"drop_tx_full\": 0},"
    " \"nic\": {\"device\": \"d\", \"dpdk\": {\"rx_packets\": 9, \"link_up\": true, \"mtu\": "
    "1500}},"
    " \"fib\": {\"routes4\": 3, \"resyncs\": 1, \"behind\": 0},"
    " \"fallback\": {\"failovers\": 2, \"phase\": \"idle\", \"heartbeat_misses\": 0},"
    " \"kernel\": {\"IpForwDatagrams\": 11, \"Ip6OutForwDatagrams\": -1},"
    " \"control\": {\"clients\": 1, \"accepted\": 4, \"timed_out\": 0},"
    " \"metrics\": {\"listen\": \"127.0.0.1:9464\", \"scrapes\": 6, \"connections\": 1},"
    " \"routes\": [{\"metric\": 5}], \"underlay_routes_total\": 3}";

static void test_collect(void **state)
{
	json_t *st = status(full);
	struct stat_set set = {0};
	const struct {
		const char *name;
		double value;
		bool counter;
	} want[] = {
	    {"forwarding.fast_vm_to_wire", 5, true},
	    {"forwarding.drop_tx_full", 0, true},
	    {"nic.rx_packets", 9, true},
	    {"nic.link_up", 1, false}, /* a boolean, a gauge in a counter section */
	    {"nic.mtu", 1500, false},
	    {"fib.routes4", 3, false},
	    {"fib.resyncs", 1, true}, /* a counter in a gauge section */
	    {"fallback.failovers", 2, true},
	    {"fallback.heartbeat_misses", 0, false},
	    {"kernel.IpForwDatagrams", 11, true},
	    {"control.clients", 1, false},
	    {"control.accepted", 4, true},
	    {"control.timed_out", 0, true},
	    {"metrics.scrapes", 6, true},
	    {"metrics.connections", 1, false},
	    {"dataplane.pid", 42, false},
	    {"dataplane.health.heartbeat", 1000, false},
	};

	(void)state;
	assert_int_equal(stats_collect(st, &set), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct stat_value *v = stats_find(&set, want[i].name);

		if (v == NULL)
			fail_msg("no value %s", want[i].name);
		assert_true(v->value == want[i].value);
		if (v->counter != want[i].counter)
			fail_msg("%s: counter %d, want %d", want[i].name, v->counter,
				 want[i].counter);
	}
	/* strings, and what is outside the sections, are not values */
	assert_null(stats_find(&set, "fallback.phase"));
	assert_null(stats_find(&set, "nic.device"));
	assert_null(stats_find(&set, "metrics.listen"));
	assert_null(stats_find(&set, "underlay_routes_total"));
	assert_null(stats_find(&set, "dataplane.health.state"));
	assert_null(stats_find(&set, "kernel.Ip6OutForwDatagrams")); /* -1: unreadable */
	/* collecting again starts afresh */
	size_t n = set.n;
	assert_int_equal(stats_collect(st, &set), 0);
	assert_int_equal(set.n, n);
	stats_free(&set);
	assert_null(set.v);
	json_decref(st);
}

/* The line of TEXT that starts with PREFIX (a copy up to the newline). */
static char *line(const char *text, const char *prefix)
{
	static char buf[256];
	const char *p = text;

	while (p != NULL && *p) {
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			size_t n = strcspn(p, "\n");
			snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
			return buf;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

static void test_exposition(void **state)
{
	json_t *st = status(full);
	size_t len, samples = 0, helps = 0, types = 0;
	char *text = metrics_text(st, &len);

	(void)state;
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	/* the mode as a state set, the dataplane up */
	assert_string_equal(line(text, "agentd_mode{mode=\"dpdk\"}"),
			    "agentd_mode{mode=\"dpdk\"} 1");
	assert_string_equal(line(text, "agentd_mode{mode=\"kernel\"}"),
			    "agentd_mode{mode=\"kernel\"} 0");
	assert_string_equal(line(text, "agentd_dataplane_up "), "agentd_dataplane_up 1");
	/* counters: TYPE counter, the sample NAME_total */
	assert_string_equal(line(text, "# TYPE agentd_forwarding_fast_vm_to_wire "),
			    "# TYPE agentd_forwarding_fast_vm_to_wire counter");
	assert_string_equal(line(text, "agentd_forwarding_fast_vm_to_wire"),
			    "agentd_forwarding_fast_vm_to_wire_total 5");
	assert_string_equal(line(text, "agentd_fib_routes4"), "agentd_fib_routes4 3");
	assert_string_equal(line(text, "# TYPE agentd_fib_routes4 "),
			    "# TYPE agentd_fib_routes4 gauge");
	/* dots become underscores; a counter that could not be read (-1) is
	 * left out: a negative counter is invalid */
	assert_non_null(line(text, "agentd_dataplane_health_heartbeat 1000"));
	assert_null(line(text, "agentd_kernel_Ip6OutForwDatagrams"));
	/* the shape: HELP and TYPE per family, "# EOF" last and once */
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, "# HELP ", 7) == 0)
			helps++;
		else if (strncmp(p, "# TYPE ", 7) == 0)
			types++;
		else if (*p != '#')
			samples++;
		for (const char *c = p; *c != '\n'; c++)
			assert_true(*c >= ' ' && *c < 0x7f); /* one line, printable */
	}
	assert_int_equal(helps, types);
	assert_int_equal(samples, types + 3); /* agentd_mode: 4 samples */
	assert_true(len > 6 && strcmp(text + len - 6, "# EOF\n") == 0);
	assert_ptr_equal(strstr(text, "# EOF"), text + len - 6);
	free(text);
	json_decref(st);
}

/* No dataplane answer: agentd's own families, agentd_dataplane_up 0. */
static void test_no_dataplane(void **state)
{
	json_t *st = status("{\"mode\": \"kernel\", \"dataplane\": {\"pid\": 0},"
			    " \"fallback\": {\"failovers\": 1}}");
	size_t len;
	char *text = metrics_text(st, &len);

	(void)state;
	assert_non_null(text);
	assert_string_equal(line(text, "agentd_dataplane_up "), "agentd_dataplane_up 0");
	assert_string_equal(line(text, "agentd_mode{mode=\"kernel\"}"),
			    "agentd_mode{mode=\"kernel\"} 1");
	assert_null(line(text, "agentd_forwarding_"));
	assert_non_null(line(text, "agentd_fallback_failovers_total 1"));
	free(text);
	json_decref(st);
	/* not even an object: no family but the fixed ones */
	st = json_object();
	text = metrics_text(st, &len);
	assert_non_null(text);
	assert_string_equal(line(text, "agentd_mode{mode=\"dpdk\"}"),
			    "agentd_mode{mode=\"dpdk\"} 0");
	free(text);
	json_decref(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_collect),
	    cmocka_unit_test(test_exposition),
	    cmocka_unit_test(test_no_dataplane),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
