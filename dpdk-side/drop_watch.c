/* SPDX-License-Identifier: BSD-3-Clause */
/* Drops the forwarding lcore counts but must not log (no logging, no
 * branch on it, in the loop): a full tx ring of either port, frames a PMD
 * could not receive for want of an mbuf. The control loop hands the
 * counters here every second; a counter that grew is reported at once,
 * then at most every DROP_WATCH_INTERVAL_S with what accumulated, so that a
 * port that overflows all day says so every 10 s, not a million times. */
#include <string.h>

#include "dataplane.h"

const char *const drop_watch_names[DW_N] = {
    [DW_TX_FULL_NIC] = "NIC port tx ring full: frames dropped (drop_tx_full_nic)",
    [DW_TX_FULL_EXC] = "exception port tx ring full: frames dropped (drop_tx_full_exc)",
    [DW_NO_MBUF] = "mbuf pool empty: frames not received (drop_no_mbuf)",
};

void drop_watch_init(struct drop_watch *w)
{
	memset(w, 0, sizeof(*w));
}

unsigned int drop_watch_update(struct drop_watch *w, double now, const uint64_t cur[DW_N],
			       uint64_t delta[DW_N])
{
	unsigned int report = 0;

	for (int k = 0; k < DW_N; k++) {
		delta[k] = 0;
		if (cur[k] < w->reported[k]) /* a counter that restarted (port reset) */
			w->reported[k] = cur[k];
		if (cur[k] == w->reported[k] || now < w->next_at[k])
			continue;
		delta[k] = cur[k] - w->reported[k];
		w->reported[k] = cur[k];
		w->next_at[k] = now + DROP_WATCH_INTERVAL_S;
		report |= 1u << k;
	}
	return report;
}
