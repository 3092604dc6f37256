/* SPDX-License-Identifier: BSD-3-Clause */
/* Every counter and gauge of agentd's status object, flattened to one name
 * per value ("forwarding.fast_vm_to_wire"), and its OpenMetrics/Prometheus
 * text exposition. Compiled into agentctl (`stats`, `stats --prometheus`)
 * and agentd (the metrics listener) so that both expose the same thing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct stat_value {
	char name[160];
	double value;
	bool counter; /* monotonic: exported as NAME_total */
};

struct stat_set {
	struct stat_value *v;
	size_t n, cap;
};

/* Every number and boolean of the status object ST into SET (emptied
 * first). 0, or -ENOMEM (SET then holds what fitted). */
int stats_collect(json_t *st, struct stat_set *set);
const struct stat_value *stats_find(const struct stat_set *set, const char *name);
void stats_free(struct stat_set *set);

/* The exposition of ST (and SET, collected from it) to F, "# EOF" last:
 * agentd_mode{mode=...}, agentd_dataplane_up, then one family per value. */
void metrics_write(FILE *f, json_t *st, const struct stat_set *set);
/* The same as one malloc'ed string (*LEN bytes), or NULL. */
char *metrics_text(json_t *st, size_t *len);
