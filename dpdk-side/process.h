/* SPDX-License-Identifier: BSD-3-Clause */
/* The per-packet step of the forwarding loop: decide where each packet of a
 * received burst goes, and rewrite it if needed. Inline: it runs on every
 * packet.
 *
 * Today (issue 2, slow path only) every packet crosses over unchanged:
 * NIC -> exception port (kernel), exception port -> NIC.
 *
 * Issue 3 (fast path, tables in fib.h fed by mirror/) fills this in:
 *   1. classify: IPv4/IPv6 unicast, no IP options, TTL/hop limit > 1, dst MAC
 *      = ours (NIC side) or the gateway MAC (exception side); anything else
 *      keeps the slow-path verdict below;
 *   2. fib_resolve(lc->fib, family, dst, in == NIC ? NH_VM : NH_UNDERLAY,
 *      &dmac, &smac); any FIB_PUNT_* reason -> slow path (count it);
 *   3. rewrite: dst/src MAC, TTL-1 with an incremental checksum update;
 *      verdict = the out port's role.
 * The verdicts stay port roles, so fwd.c needs no change; new counters go to
 * DP_FWD_COUNTERS in dataplane.h. */
#pragma once

#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dataplane.h"

#define DP_VERDICT_DROP 0xff
/* Packets ahead whose headers are prefetched while one is being processed. */
#define DP_PREFETCH_OFFSET 3

static inline uint8_t dp_slow_path_verdict(enum dp_port_role in)
{
	return in == DP_PORT_NIC ? DP_PORT_EXC : DP_PORT_NIC;
}

/* Fill verdict[i] for pkts[0..nb): the role of the port to send pkts[i] on,
 * or DP_VERDICT_DROP (the caller frees it). */
static inline void dp_process_burst(struct dp_lcore *lc, enum dp_port_role in,
				    struct rte_mbuf **pkts, uint16_t nb, uint8_t *verdict)
{
	uint16_t i;

	(void)lc;
	/* Headers are read by the classify step and copied by the tx side of
	 * TAP/af_packet: start fetching them before they are needed. */
	for (i = 0; i < nb && i < DP_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < nb; i++) {
		if (i + DP_PREFETCH_OFFSET < nb)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + DP_PREFETCH_OFFSET], void *));
		/* Issue 3: classify + FIB lookup + rewrite here. */
		verdict[i] = dp_slow_path_verdict(in);
	}
}
