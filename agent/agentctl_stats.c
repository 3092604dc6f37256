/* SPDX-License-Identifier: BSD-3-Clause */
/* agentctl stats: every counter and gauge of `agentctl status`, flattened to
 * one name per value ("forwarding.fast_vm_to_wire"), as a table, as JSON,
 * as an OpenMetrics/Prometheus text exposition (node_exporter's textfile
 * collector), or watched with rates per second — "is the kernel doing the
 * work right now?" answered by kernel.IpForwDatagrams staying flat while
 * forwarding.fast_* climb.
 *
 * The values come from the status reply; the flattening and the exposition
 * are metrics_text.c's, shared with agentd's metrics listener. */
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
#include "metrics_text.h"

static void print_table(const struct stat_set *set, const struct stat_set *prev, double dt)
{
	for (size_t k = 0; k < set->n; k++) {
		const struct stat_value *v = &set->v[k];
		const struct stat_value *p = prev ? stats_find(prev, v->name) : NULL;

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
		if (stats_collect(st, &cur) < 0) {
			fprintf(stderr, "agentctl: stats: out of memory\n");
			json_decref(st);
			ret = 1;
			break;
		}
		if (o->prometheus) {
			metrics_write(stdout, st, &cur);
		} else if (o->json) {
			json_t *out = json_object();
			for (size_t k = 0; k < cur.n; k++)
				json_object_set_new(out, cur.v[k].name, json_real(cur.v[k].value));
			if (round > 0 && t > t_prev) {
				json_t *rates = json_object();
				for (size_t k = 0; k < cur.n; k++) {
					const struct stat_value *p =
					    stats_find(&prev, cur.v[k].name);
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
	stats_free(&cur);
	stats_free(&prev);
	return ret;
}
