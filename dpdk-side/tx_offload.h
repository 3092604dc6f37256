/* SPDX-License-Identifier: BSD-3-Clause */
/* Work a packet brings along from the port it came in on, finished for the
 * port it leaves by.
 *
 * An exception port over vhost-net (virtio-user) negotiates the virtio-net
 * offloads with the kernel: the kernel then hands DPDK TCP super-packets of
 * up to 64 KiB (one routing decision for ~44 frames; the virtio PMD marks
 * them RTE_MBUF_F_RX_LRO with tso_segsz = the MSS) and TCP/UDP checksums
 * left partial (RTE_MBUF_F_RX_L4_CKSUM_NONE: the checksum field holds the
 * pseudo-header sum). Before such a packet leaves, the port it leaves by
 * finishes the job where it can (TSO, checksum offload: the mbuf gets the
 * tx flags and header lengths), and this file does it in software where the
 * port cannot: the super-packet is cut into MSS-sized frames copied into
 * new mbufs of the same pool, each with its headers fixed and its
 * checksums computed (rte_ipv4/6_udptcp_cksum). DPDK 22.11's librte_gso
 * has no TCP/IPv6 and returns indirect mbufs, which the ports' tx
 * MBUF_FAST_FREE rules out: so this segmenter, for both families. */
#pragma once

#include <stdint.h>

#include <rte_mbuf.h>

/* Frames one super-packet may become (64 KiB at a 536-byte MSS: 123). */
#define DP_TSO_MAX_SEGS 128

/* What dp_tx_offload() did, for the per-lcore counters. */
struct dp_offload_tally {
	uint32_t tso_hw;      /* super-packets handed to the port's TSO */
	uint32_t tso_sw;      /* super-packets segmented here */
	uint32_t tso_sw_segs; /* frames they became */
	uint32_t csum_hw;     /* partial checksums left to the port */
	uint32_t csum_sw;     /* partial checksums completed here */
	uint32_t drop;	      /* could not be finished (unsupported headers, no mbuf) */
};

/* Does M carry work from its rx port (a super-packet, a partial checksum)? */
static inline int dp_rx_work_left(const struct rte_mbuf *m)
{
	return (m->ol_flags & RTE_MBUF_F_RX_LRO) ||
	       (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE;
}

/* Finish M for a port with tx offloads TX_OFFLOADS. Puts the frames to send
 * into out[0..n) and returns n: M itself (its tx flags set, or its checksum
 * completed) or, segmented in software, new mbufs (M is freed). Returns 0
 * when M was dropped (freed, counted in t->drop). */
uint16_t dp_tx_offload(struct rte_mbuf *m, uint64_t tx_offloads, struct rte_mbuf **out,
		       struct dp_offload_tally *t);
