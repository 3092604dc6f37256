/* SPDX-License-Identifier: BSD-3-Clause */
/* The per-packet step of the forwarding loop: decide where each packet of a
 * received burst goes, and rewrite it if it takes the fast path. Inline: it
 * runs on every packet.
 *
 *   from the NIC        to our MAC, IPv4 (no options) / IPv6 unicast, TTL > 1,
 *                       not for the host, route through the VM bridge, VM
 *                       neighbour resolved → dst = VM MAC, src = bridge MAC,
 *                       TTL − 1 → exception port (tc on dp0 delivers it to the
 *                       VM's port). Unicast to another MAC (the port is
 *                       promiscuous) is dropped, as a NIC would. Anything
 *                       else (a frame shorter than an Ethernet header too)
 *                       → exception port unchanged: the kernel handles it
 *                       (slow path).
 *   from the exception  sent by the kernel itself (src = dp0's MAC, which is
 *                       the NIC's; or not unicast: tc redirects only unicast
 *                       to the gateway; or shorter than an Ethernet header)
 *                       → NIC unchanged. Otherwise it is a VM frame
 *                       a tc program redirected: route through the underlay
 *                       with a resolved next hop → dst = next hop MAC, src =
 *                       NIC MAC, TTL − 1 → NIC. If DPDK cannot route it, it
 *                       goes back to the kernel with dst = dp0's MAC so that
 *                       the kernel routes it (and resolves the neighbour,
 *                       which turns the flow fast): never silently dropped.
 *
 * Without a FIB (no --bridge) every packet crosses over unchanged. */
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include "dataplane.h"
#include "fib.h"

#define DP_VERDICT_DROP 0xff
/* Packets ahead whose headers are prefetched while one is being processed,
 * and whose first FIB table entry is (their header requested
 * DP_PREFETCH_OFFSET - DP_PREFETCH_FIB packets earlier is in cache by then):
 * the lookups of a burst overlap instead of waiting on one miss each. */
#define DP_PREFETCH_OFFSET 4
#define DP_PREFETCH_FIB	   2

static __rte_always_inline void dp_prefetch_route(const struct fib *f, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint16_t len = rte_pktmbuf_data_len(m);

	/* never read past the frame (a runt's bytes beyond it are stale) */
	if (unlikely(len < sizeof(*eth) + sizeof(struct rte_ipv4_hdr)))
		return;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		uint32_t dst;
		memcpy(&dst, &((const struct rte_ipv4_hdr *)(eth + 1))->dst_addr, 4);
		fib4_prefetch(&f->t4, rte_be_to_cpu_32(dst));
	} else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) &&
		   len >= sizeof(*eth) + sizeof(struct rte_ipv6_hdr)) {
		fib6_prefetch(&f->t6, ((const struct rte_ipv6_hdr *)(eth + 1))->dst_addr);
	}
}

static inline uint8_t dp_slow_path_verdict(enum dp_port_role in)
{
	return in == DP_PORT_NIC ? DP_PORT_EXC : DP_PORT_NIC;
}

/* Burst-local tallies, added to the shared counters (struct
 * dp_fwd_counters, same names) once per burst; punt[] holds the FIB's
 * reasons, counted as punt_<reason>. */
#define DP_TALLY_FIELDS(X)                                                                         \
	X(fast_wire_to_vm)                                                                         \
	X(fast_vm_to_wire)                                                                         \
	X(kernel_from_wire)                                                                        \
	X(kernel_from_vm)                                                                          \
	X(from_kernel)                                                                             \
	X(punt_l2)                                                                                 \
	X(drop_not_ours)                                                                           \
	X(punt_not_ip)                                                                             \
	X(punt_ip_special)                                                                         \
	X(punt_ttl)                                                                                \
	X(punt_vlan)                                                                               \
	X(vlan_untagged)                                                                           \
	X(vlan_tagged)

struct dp_burst_tally {
#define DP_T(name) uint16_t name;
	DP_TALLY_FIELDS(DP_T)
#undef DP_T
	uint16_t punt[FIB_PUNT_MAX];
};

/* IPv4 TTL − 1 with the incremental checksum update of RFC 1624, eqn. 3:
 * HC' = ~(~HC + ~m + m'), i.e. ~(~HC + 0xfeff) since m' = m − 0x0100. The
 * shorter HC + 0x0100 (RFC 1141) yields 0xffff where a recomputation gives
 * 0x0000. One's complement sums are byte-order independent: the 16-bit
 * words are used as loaded. */
static __rte_always_inline void dp_ipv4_dec_ttl(struct rte_ipv4_hdr *ip)
{
	uint32_t sum = (uint32_t)(uint16_t)~ip->hdr_checksum + rte_cpu_to_be_16(0xfeff);

	ip->time_to_live--;
	ip->hdr_checksum = (uint16_t) ~(sum + (sum >> 16));
}

/* The flow's hash for ECMP: addresses, protocol and, when the packet is not
 * a fragment, ports (the kernel's fib_multipath_hash_policy 1, L4). One
 * flow always hashes the same, so its packets stay in order on one path. */
static inline uint32_t dp_flow_hash4(const struct rte_ipv4_hdr *ip, uint16_t len)
{
	uint32_t h = rte_hash_crc_4byte(ip->src_addr, ip->next_proto_id);

	h = rte_hash_crc_4byte(ip->dst_addr, h);
	if ((ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP ||
	     ip->next_proto_id == IPPROTO_SCTP) &&
	    !(ip->fragment_offset &
	      rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) &&
	    len >= sizeof(struct rte_ether_hdr) + sizeof(*ip) + 4) {
		uint32_t ports; /* the L4 header is 2-byte aligned in the frame */
		memcpy(&ports, ip + 1, 4);
		h = rte_hash_crc_4byte(ports, h);
	}
	return h;
}

static inline uint32_t dp_flow_hash6(const struct rte_ipv6_hdr *ip6, uint16_t len)
{
	uint32_t w[8], h = ip6->proto;

	memcpy(w, ip6->src_addr, 32); /* src + dst; 2-byte aligned in the frame */
	for (int i = 0; i < 8; i++)
		h = rte_hash_crc_4byte(w[i], h);
	h = rte_hash_crc_4byte(ip6->vtc_flow & rte_cpu_to_be_32(0xfffff), h); /* flow label */
	if ((ip6->proto == IPPROTO_TCP || ip6->proto == IPPROTO_UDP ||
	     ip6->proto == IPPROTO_SCTP) &&
	    len >= sizeof(struct rte_ether_hdr) + sizeof(*ip6) + 4) {
		uint32_t ports;
		memcpy(&ports, ip6 + 1, 4);
		h = rte_hash_crc_4byte(ports, h);
	}
	return h;
}

/* Classify + resolve one IP packet: ETYPE (big endian) and its L3 header
 * at L3, L3_LEN bytes of it in the frame (past a VLAN tag if there is one).
 * Returns FIB_FWD and fills the MACs, or a punt reason (FIB_PUNT_*), or -1
 * with the tally already counted. TR: what the lookups did (struct
 * fib_trace), NULL in the forwarding loop. */
static __rte_always_inline int dp_route_pkt(struct dp_lcore *lc, uint16_t etype, void *l3,
					    uint16_t l3_len, enum fib_nh_kind want,
					    const struct rte_ether_addr **dmac,
					    const struct rte_ether_addr **smac,
					    struct dp_burst_tally *t, struct fib_trace *tr)
{
	/* (the flow hashes check lengths of a whole frame) */
	uint16_t len = (uint16_t)(l3_len + sizeof(struct rte_ether_hdr));

	if (etype == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		struct rte_ipv4_hdr *ip = l3;
		uint8_t first;

		if (unlikely(l3_len < sizeof(*ip) || ip->version_ihl != 0x45)) {
			t->punt_ip_special++;
			return -1;
		}
		first = ((const uint8_t *)&ip->dst_addr)[0];
		if (unlikely(first >= 224 || first == 0 || first == 127)) {
			t->punt_ip_special++; /* multicast, broadcast, reserved */
			return -1;
		}
		if (unlikely(ip->time_to_live <= 1)) {
			t->punt_ttl++;
			return -1;
		}
		const uint8_t *dst = (const uint8_t *)&ip->dst_addr;
		enum fib_punt why;
		const struct fib_nexthop *nh = fib_lookup_nh_x(lc->fib, AF_INET, dst, &why, tr);
		if (nh == NULL)
			return why;
		/* the flow hash only where there is a choice (ECMP) */
		return fib_select_x(lc->fib, lc->ncache, nh, AF_INET, dst,
				    nh->n > 1 ? dp_flow_hash4(ip, len) : 0, want, dmac, smac, tr);
	}
	if (etype == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		struct rte_ipv6_hdr *ip6 = l3;

		if (unlikely(l3_len < sizeof(*ip6) ||
			     ip6->dst_addr[0] == 0xff || /* multicast (ND, MLD) */
			     (ip6->dst_addr[0] == 0xfe && (ip6->dst_addr[1] & 0xc0) == 0x80) ||
			     (ip6->src_addr[0] == 0xfe && (ip6->src_addr[1] & 0xc0) == 0x80))) {
			t->punt_ip_special++; /* link-local: never routed */
			return -1;
		}
		if (unlikely(ip6->hop_limits <= 1)) {
			t->punt_ttl++;
			return -1;
		}
		enum fib_punt why;
		const struct fib_nexthop *nh =
		    fib_lookup_nh_x(lc->fib, AF_INET6, ip6->dst_addr, &why, tr);
		if (nh == NULL)
			return why;
		return fib_select_x(lc->fib, lc->ncache, nh, AF_INET6, ip6->dst_addr,
				    nh->n > 1 ? dp_flow_hash6(ip6, len) : 0, want, dmac, smac, tr);
	}
	t->punt_not_ip++;
	return -1;
}

static __rte_always_inline void dp_rewrite(struct rte_ether_hdr *eth,
					   const struct rte_ether_addr *dmac,
					   const struct rte_ether_addr *smac)
{
	rte_ether_addr_copy(dmac, &eth->dst_addr);
	rte_ether_addr_copy(smac, &eth->src_addr);
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		dp_ipv4_dec_ttl((struct rte_ipv4_hdr *)(eth + 1));
	else
		((struct rte_ipv6_hdr *)(eth + 1))->hop_limits--;
}

static __rte_always_inline uint8_t dp_process_nic(struct dp_lcore *lc, struct rte_mbuf *m,
						  struct dp_burst_tally *t, struct fib_trace *tr)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const struct rte_ether_addr *dmac = NULL, *smac = NULL;
	int r;

	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eth))) {
		t->punt_not_ip++; /* not even a MAC header to read: the kernel's */
		goto kernel;
	}
	if (!rte_is_same_ether_addr(&eth->dst_addr, &lc->nic_mac)) {
		if (rte_is_unicast_ether_addr(&eth->dst_addr)) {
			/* someone else's unicast (the port is promiscuous): a NIC
			 * would filter it; never let it near the bridge */
			t->drop_not_ours++;
			return DP_VERDICT_DROP;
		}
		t->punt_l2++;
		goto kernel;
	}
	uint16_t etype = eth->ether_type, l3_len = rte_pktmbuf_data_len(m) - sizeof(*eth);
	void *l3 = eth + 1;
	if (etype == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) {
		/* a tenant VLAN of the underlay: routed like the kernel would
		 * from its VLAN netdev on dp0, if there is one for the VID (the
		 * tag is read in software: frames handed to the kernel keep it) */
		const struct rte_vlan_hdr *vh = l3;
		if (unlikely(l3_len < sizeof(*vh) ||
			     !fib_vlan_known(lc->fib, rte_be_to_cpu_16(vh->vlan_tci) & 0xfff))) {
			t->punt_vlan++;
			goto kernel;
		}
		etype = vh->eth_proto;
		l3 = (void *)(vh + 1);
		l3_len -= sizeof(*vh);
	}
	r = dp_route_pkt(lc, etype, l3, l3_len, NH_VM, &dmac, &smac, t, tr);
	if (r != FIB_FWD) {
		if (r > 0)
			t->punt[r]++;
		goto kernel;
	}
	if (l3 != (void *)(eth + 1)) {
		/* untag: the MACs move over the tag (VMs get untagged frames) */
		memmove((uint8_t *)eth + sizeof(struct rte_vlan_hdr), eth, 2 * RTE_ETHER_ADDR_LEN);
		eth = (struct rte_ether_hdr *)rte_pktmbuf_adj(m, sizeof(struct rte_vlan_hdr));
		t->vlan_untagged++;
	}
	dp_rewrite(eth, dmac, smac);
	t->fast_wire_to_vm++;
	return DP_PORT_EXC;
kernel:
	t->kernel_from_wire++;
	return DP_PORT_EXC;
}

static __rte_always_inline uint8_t dp_process_exc(struct dp_lcore *lc, struct rte_mbuf *m,
						  struct dp_burst_tally *t, struct fib_trace *tr)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const struct rte_ether_addr *dmac = NULL, *smac = NULL;
	int r;

	/* The kernel's own frames carry dp0's MAC, which is the NIC's; a runt
	 * cannot be a redirected VM frame (and has no MAC to rewrite). */
	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eth)) ||
	    rte_is_same_ether_addr(&eth->src_addr, &lc->nic_mac) ||
	    !rte_is_unicast_ether_addr(&eth->dst_addr)) {
		t->from_kernel++;
		return DP_PORT_NIC;
	}
	r = dp_route_pkt(lc, eth->ether_type, eth + 1, rte_pktmbuf_data_len(m) - sizeof(*eth),
			 NH_UNDERLAY, &dmac, &smac, t, tr);
	if (r != FIB_FWD)
		goto kernel;
	uint16_t vlan = fib_path_vlan(smac);
	if (vlan != 0) {
		/* out through a tenant VLAN of the underlay: tagged in software,
		 * in the headroom (the MACs move 4 bytes up; the EtherType
		 * stays where it is, now the tag's inner one) */
		struct rte_ether_hdr *neth =
		    (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(struct rte_vlan_hdr));
		if (unlikely(neth == NULL)) {
			t->punt_vlan++; /* no headroom: the kernel tags it */
			r = -1;
			goto kernel;
		}
		dp_rewrite(eth, dmac, &lc->nic_mac);
		memmove(neth, eth, 2 * RTE_ETHER_ADDR_LEN);
		neth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		((struct rte_vlan_hdr *)(neth + 1))->vlan_tci = rte_cpu_to_be_16(vlan);
		t->vlan_tagged++;
	} else {
		dp_rewrite(eth, dmac, &lc->nic_mac);
	}
	t->fast_vm_to_wire++;
	return DP_PORT_NIC;
kernel:
	if (r > 0)
		t->punt[r]++;
	/* Back to the kernel, addressed to dp0 so that it is accepted and
	 * routed rather than dropped as someone else's frame. */
	rte_ether_addr_copy(&lc->nic_mac, &eth->dst_addr);
	t->kernel_from_vm++;
	return DP_PORT_EXC;
}

static inline void dp_tally_flush(struct dp_lcore *lc, const struct dp_burst_tally *t)
{
	struct dp_fwd_counters *c = &lc->counters;
#define DP_T(name)                                                                                 \
	if (t->name)                                                                               \
		dp_counter_add(&c->name, t->name);
	DP_TALLY_FIELDS(DP_T)
#undef DP_T
#define DP_P(name)                                                                                 \
	if (t->punt[FIB_PUNT_##name])                                                              \
		dp_counter_add(&c->punt_##name, t->punt[FIB_PUNT_##name]);
	FIB_PUNT_REASONS(DP_P)
#undef DP_P
}

/* Fill verdict[i] for pkts[0..nb): the role of the port to send pkts[i] on,
 * or DP_VERDICT_DROP (the caller frees it). */
static inline void dp_process_burst(struct dp_lcore *lc, enum dp_port_role in,
				    struct rte_mbuf **pkts, uint16_t nb, uint8_t *verdict)
{
	struct dp_burst_tally t;
	uint16_t i;

	/* Headers are read by the classify step and copied by the tx side of
	 * TAP/af_packet: start fetching them before they are needed. */
	for (i = 0; i < nb && i < DP_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	if (lc->fib == NULL) {
		for (i = 0; i < nb; i++)
			verdict[i] = dp_slow_path_verdict(in);
		return;
	}
	memset(&t, 0, sizeof(t));
	for (i = 0; i < nb; i++) {
		if (i + DP_PREFETCH_OFFSET < nb)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + DP_PREFETCH_OFFSET], void *));
		if (i + DP_PREFETCH_FIB < nb)
			dp_prefetch_route(lc->fib, pkts[i + DP_PREFETCH_FIB]);
		verdict[i] = in == DP_PORT_NIC ? dp_process_nic(lc, pkts[i], &t, NULL)
					       : dp_process_exc(lc, pkts[i], &t, NULL);
	}
	dp_tally_flush(lc, &t);
}

/* One packet decided as dp_process_burst() decides it, by the same code,
 * with what the lookups did in *TR and its counts in *T only (nothing is
 * flushed): /agent/explain runs a crafted frame through it. The caller
 * holds the FIB's control lock (fib_ctl_lock) and may pass an lcore whose
 * ncache is NULL: the cache only ever returns what the hash holds. */
static inline uint8_t dp_process_traced(struct dp_lcore *lc, enum dp_port_role in,
					struct rte_mbuf *m, struct dp_burst_tally *t,
					struct fib_trace *tr)
{
	if (lc->fib == NULL)
		return dp_slow_path_verdict(in);
	return in == DP_PORT_NIC ? dp_process_nic(lc, m, t, tr) : dp_process_exc(lc, m, t, tr);
}
