/* SPDX-License-Identifier: BSD-3-Clause */
/* Finishing the offload work a packet brings from its rx port: the port it
 * leaves by where it can, software where it cannot (tx_offload.h). */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "tx_offload.h"

struct hdrs {
	uint16_t l2, l3, l4;
	bool v4;
	bool tcp;
};

/* L2/L3/L4 lengths (VLAN tags and IPv4 options included), IPv4 or IPv6,
 * TCP or UDP, headers in the first segment; -1 for anything else. */
static int parse(const struct rte_mbuf *m, struct hdrs *h)
{
	struct rte_net_hdr_lens lens;
	uint32_t pt =
	    rte_net_get_ptype(m, &lens, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);

	if (RTE_ETH_IS_IPV4_HDR(pt))
		h->v4 = true;
	else if (RTE_ETH_IS_IPV6_HDR(pt))
		h->v4 = false;
	else
		return -1;
	switch (pt & RTE_PTYPE_L4_MASK) {
	case RTE_PTYPE_L4_TCP:
		h->tcp = true;
		break;
	case RTE_PTYPE_L4_UDP:
		h->tcp = false;
		break;
	default:
		return -1; /* fragments included: no L4 header to finish */
	}
	h->l2 = lens.l2_len;
	h->l3 = lens.l3_len;
	h->l4 = lens.l4_len;
	if (rte_pktmbuf_data_len(m) < h->l2 + h->l3 + h->l4)
		return -1;
	return 0;
}

/* The port does it: tx flags, header lengths and the pseudo-header sum in
 * the L4 checksum field as DPDK's tx offloads expect it (without the length
 * for TSO). */
static int port_finishes(struct rte_mbuf *m, const struct hdrs *h, bool tso, uint64_t tx_offloads)
{
	uint64_t ol = h->v4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6;

	if (tso) {
		ol |= RTE_MBUF_F_TX_TCP_SEG; /* implies the TCP checksum */
		/* the IPv4 header of each frame: the NIC's (virtio has no
		 * IPV4_CKSUM: its host computes them when it segments) */
		if (h->v4 && (tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM))
			ol |= RTE_MBUF_F_TX_IP_CKSUM;
	} else {
		ol |= h->tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM;
	}
	m->l2_len = h->l2;
	m->l3_len = h->l3;
	m->l4_len = h->l4;
	m->ol_flags = ol;
	return rte_net_intel_cksum_flags_prepare(m, ol);
}

/* Software checksum of M's L4 (IPv6: no extension headers, whose length
 * rte_ipv6_udptcp_cksum_mbuf would count as L4). */
static int sw_csum(struct rte_mbuf *m, const struct hdrs *h)
{
	uint8_t *l3 = rte_pktmbuf_mtod_offset(m, uint8_t *, h->l2);
	uint8_t *field = l3 + h->l3 +
			 (h->tcp ? offsetof(struct rte_tcp_hdr, cksum)
				 : offsetof(struct rte_udp_hdr, dgram_cksum));
	uint16_t sum = 0;

	if (!h->v4 && h->l3 != sizeof(struct rte_ipv6_hdr))
		return -1;
	memcpy(field, &sum, 2);
	sum = h->v4 ? rte_ipv4_udptcp_cksum_mbuf(m, (struct rte_ipv4_hdr *)l3, h->l2 + h->l3)
		    : rte_ipv6_udptcp_cksum_mbuf(m, (struct rte_ipv6_hdr *)l3, h->l2 + h->l3);
	memcpy(field, &sum, 2);
	m->ol_flags = 0;
	return 0;
}

/* Cut super-packet M (TCP) into frames of at most m->tso_segsz payload
 * bytes, each a copy of M's headers (lengths, IPv4 id and checksum, TCP
 * sequence number, flags and checksum fixed) and its part of the payload,
 * in new mbufs from M's pool. Returns the number of frames, or -1 (nothing
 * allocated is left behind; M is untouched). */
static int sw_segment(struct rte_mbuf *m, const struct hdrs *h, struct rte_mbuf **out)
{
	const uint32_t hlen = h->l2 + h->l3 + h->l4, mss = m->tso_segsz;
	const uint32_t plen = rte_pktmbuf_pkt_len(m) - hlen;
	const uint32_t n = (plen + mss - 1) / mss;
	const uint8_t *hdr = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_tcp_hdr *th0 = (const struct rte_tcp_hdr *)(hdr + h->l2 + h->l3);
	const uint32_t seq = rte_be_to_cpu_32(th0->sent_seq);
	uint16_t id = 0;

	if (n > DP_TSO_MAX_SEGS || (!h->v4 && h->l3 != sizeof(struct rte_ipv6_hdr)) ||
	    hlen + mss > (uint32_t)rte_pktmbuf_data_room_size(m->pool) - RTE_PKTMBUF_HEADROOM)
		return -1;
	if (rte_pktmbuf_alloc_bulk(m->pool, out, n) != 0)
		return -1;
	if (h->v4)
		id = rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)(hdr + h->l2))->packet_id);
	for (uint32_t i = 0; i < n; i++) {
		const uint32_t off = i * mss, len = RTE_MIN(mss, plen - off);
		uint8_t *p = (uint8_t *)rte_pktmbuf_append(out[i], (uint16_t)(hlen + len));
		const void *src;

		rte_memcpy(p, hdr, hlen);
		src = rte_pktmbuf_read(m, hlen + off, len, p + hlen);
		if (src != p + hlen)
			rte_memcpy(p + hlen, src, len);

		uint8_t *l3 = p + h->l2;
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(l3 + h->l3);
		/* the pseudo-header of the TCP checksum reads the IP lengths:
		 * IP first */
		if (h->v4) {
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;
			ip->total_length = rte_cpu_to_be_16((uint16_t)(h->l3 + h->l4 + len));
			ip->packet_id = rte_cpu_to_be_16((uint16_t)(id + i));
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		} else {
			struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)l3;
			ip6->payload_len = rte_cpu_to_be_16((uint16_t)(h->l4 + len));
		}
		th->sent_seq = rte_cpu_to_be_32(seq + off);
		/* FIN and PSH on the last frame only, CWR on the first only (as
		 * the kernel's tcp_gso_segment) */
		if (i != n - 1)
			th->tcp_flags &= (uint8_t) ~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
		if (i != 0)
			th->tcp_flags &= (uint8_t)~RTE_TCP_CWR_FLAG;
		th->cksum = 0;
		th->cksum = h->v4 ? rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)l3, th)
				  : rte_ipv6_udptcp_cksum((struct rte_ipv6_hdr *)l3, th);
		out[i]->port = m->port;
	}
	return (int)n;
}

uint16_t dp_tx_offload(struct rte_mbuf *m, uint64_t tx_offloads, struct rte_mbuf **out,
		       struct dp_offload_tally *t)
{
	struct hdrs h;
	bool tso;

	if (parse(m, &h) < 0)
		goto drop;
	tso = (m->ol_flags & RTE_MBUF_F_RX_LRO) && h.tcp && m->tso_segsz != 0 &&
	      rte_pktmbuf_pkt_len(m) > (uint32_t)(h.l2 + h.l3 + h.l4) + m->tso_segsz;
	if (tso) {
		/* a chain needs MULTI_SEGS; a TSO port without it (rare)
		 * gets frames */
		if ((tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
		    (m->nb_segs == 1 || (tx_offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS))) {
			if (port_finishes(m, &h, true, tx_offloads) < 0)
				goto drop;
			t->tso_hw++;
			out[0] = m;
			return 1;
		}
		int n = sw_segment(m, &h, out);
		if (n < 0)
			goto drop;
		rte_pktmbuf_free(m);
		t->tso_sw++;
		t->tso_sw_segs += (uint32_t)n;
		return (uint16_t)n;
	}
	if ((tx_offloads & (h.tcp ? RTE_ETH_TX_OFFLOAD_TCP_CKSUM : RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) &&
	    (m->nb_segs == 1 || (tx_offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS))) {
		if (port_finishes(m, &h, false, tx_offloads) < 0)
			goto drop;
		t->csum_hw++;
	} else {
		if (sw_csum(m, &h) < 0)
			goto drop;
		t->csum_sw++;
	}
	out[0] = m;
	return 1;
drop:
	rte_pktmbuf_free(m);
	t->drop++;
	return 0;
}
