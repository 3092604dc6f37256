/* SPDX-License-Identifier: BSD-3-Clause */
/* Telemetry commands registered by agent-dataplane (rte_telemetry). agentd
 * reads them over the DPDK telemetry socket
 * <runtime dir>/<file-prefix>/dpdk_telemetry.v2; so does dpdk-telemetry.py. */
#pragma once

/* {"state": "init"|"running"|"stopping", "pid": N, "uptime_s": N,
 *  "heartbeat": N (incremented by the forwarding lcore on every loop turn),
 *  "nic": "<port name>", "exception": "<port name>"} */
#define DP_TEL_HEALTH "/agent/health"

/* {"nic": {port}, "exception": {port}} where port =
 * {"name", "port_id", "driver", "mac", "link_up", "speed_mbps",
 *  "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
 *  "rx_missed", "rx_errors", "tx_errors"}                 (rte_eth_stats)
 * plus the forwarding counters of the dataplane itself:
 * "fwd": {"nic_to_exc_packets", "exc_to_nic_packets", "drop_tx_full",
 *         "drop_no_mbuf", ...} */
#define DP_TEL_STATS "/agent/stats"

/* Later: "/agent/routes", "/agent/neigh" (FIB mirror). */
#define DP_TEL_ROUTES "/agent/routes"
#define DP_TEL_NEIGH "/agent/neigh"
