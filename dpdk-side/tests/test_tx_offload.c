/* SPDX-License-Identifier: BSD-3-Clause */
/* dp_tx_offload() on crafted packets as the virtio PMD hands them over from
 * a vhost-net exception port: TCP super-packets (RX_LRO, tso_segsz) and
 * partial checksums (RX_L4_CKSUM_NONE: the pseudo-header sum in the field),
 * as mbuf chains. Software segmentation and checksums are checked frame by
 * frame (lengths, ids, sequence numbers, flags, checksums, the payload put
 * back together); the port's offloads by the tx flags and the pseudo-header
 * sum they need; drops by the pool getting every mbuf back. EAL without
 * hugepages. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "tx_offload.h"

static struct rte_mempool *pool;

#define MSS	    1000
#define PAYLOAD	    4500 /* 5 frames: 4 x 1000 + 500 */
#define CHAIN_PARTS 3	 /* the super-packet spread over this many mbufs */
#define ETH_LEN	    14

static uint8_t payload_byte(uint32_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* An Ethernet frame of HDR_LEN header bytes (HDR) and PAYLOAD_LEN payload
 * bytes, spread over PARTS chained mbufs (the headers in the first). */
static struct rte_mbuf *chain(const uint8_t *hdr, uint16_t hdr_len, uint32_t payload_len, int parts)
{
	struct rte_mbuf *head = rte_pktmbuf_alloc(pool);
	uint32_t done = 0, per = (payload_len + parts - 1) / parts;

	assert_non_null(head);
	memcpy(rte_pktmbuf_append(head, hdr_len), hdr, hdr_len);
	for (int p = 0; p < parts; p++) {
		struct rte_mbuf *m = p == 0 ? head : rte_pktmbuf_alloc(pool);
		uint32_t n = RTE_MIN(per, payload_len - done);
		uint8_t *d;

		assert_non_null(m);
		d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)n);
		assert_non_null(d);
		for (uint32_t i = 0; i < n; i++)
			d[i] = payload_byte(done + i);
		done += n;
		if (p > 0)
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
	}
	return head;
}

/* Ethernet + IPv4 (or IPv6) + TCP headers of a PAYLOAD_LEN super-packet,
 * the TCP checksum partial (pseudo-header, as the kernel leaves it). */
static uint16_t tcp_headers(uint8_t *buf, bool v4, uint32_t payload_len, uint8_t flags)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	struct rte_tcp_hdr *th;
	uint16_t l3;

	memset(buf, 0, 128);
	eth->ether_type = rte_cpu_to_be_16(v4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
	eth->dst_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[0] = 0x04;
	if (v4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		l3 = sizeof(*ip);
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(l3 + sizeof(*th) + payload_len));
		ip->packet_id = rte_cpu_to_be_16(0xfffe); /* wraps */
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 63;
		ip->next_proto_id = IPPROTO_TCP;
		ip->src_addr = rte_cpu_to_be_32(0x0a0a010b);
		ip->dst_addr = rte_cpu_to_be_32(0x0a0a0202);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th = (struct rte_tcp_hdr *)(ip + 1);
		th->cksum = rte_ipv4_phdr_cksum(ip, 0);
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);
		l3 = sizeof(*ip6);
		ip6->vtc_flow = rte_cpu_to_be_32(0x60000000);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(sizeof(*th) + payload_len));
		ip6->proto = IPPROTO_TCP;
		ip6->hop_limits = 63;
		ip6->src_addr[0] = 0xfd;
		ip6->src_addr[15] = 0x11;
		ip6->dst_addr[0] = 0xfd;
		ip6->dst_addr[15] = 0x02;
		th = (struct rte_tcp_hdr *)(ip6 + 1);
		th->cksum = rte_ipv6_phdr_cksum(ip6, 0);
	}
	th->src_port = rte_cpu_to_be_16(40000);
	th->dst_port = rte_cpu_to_be_16(5201);
	th->sent_seq = rte_cpu_to_be_32(0xfffff000); /* wraps */
	th->recv_ack = rte_cpu_to_be_32(77);
	th->data_off = (sizeof(*th) / 4) << 4;
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(512);
	return (uint16_t)(ETH_LEN + l3 + sizeof(*th));
}

static struct rte_mbuf *super_packet(bool v4, uint8_t flags)
{
	uint8_t hdr[128];
	uint16_t hlen = tcp_headers(hdr, v4, PAYLOAD, flags);
	struct rte_mbuf *m = chain(hdr, hlen, PAYLOAD, CHAIN_PARTS);

	m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	m->tso_segsz = MSS;
	return m;
}

/* The frames software segmentation made of super_packet(V4, FLAGS). */
static void check_segments(struct rte_mbuf **segs, uint16_t n, bool v4, uint8_t flags)
{
	const uint16_t hlen = ETH_LEN + (v4 ? 20 : 40) + 20;
	uint32_t off = 0;

	assert_int_equal(n, (PAYLOAD + MSS - 1) / MSS);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *s = segs[i];
		uint8_t *p = rte_pktmbuf_mtod(s, uint8_t *);
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + hlen - 20);
		uint32_t len = RTE_MIN(MSS, PAYLOAD - off);
		uint8_t want_flags = flags;

		assert_int_equal(s->nb_segs, 1);
		assert_int_equal(rte_pktmbuf_pkt_len(s), hlen + len);
		assert_int_equal(s->ol_flags, 0);
		if (v4) {
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + ETH_LEN);
			uint16_t sum = ip->hdr_checksum;
			assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 20 + len);
			assert_int_equal(rte_be_to_cpu_16(ip->packet_id), (uint16_t)(0xfffe + i));
			ip->hdr_checksum = 0;
			assert_int_equal(sum, rte_ipv4_cksum(ip));
			ip->hdr_checksum = sum;
			assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, th), 0);
		} else {
			struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(p + ETH_LEN);
			assert_int_equal(rte_be_to_cpu_16(ip6->payload_len), 20 + len);
			assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip6, th), 0);
		}
		assert_int_equal(rte_be_to_cpu_32(th->sent_seq), (uint32_t)(0xfffff000u + off));
		if (i != n - 1)
			want_flags &= (uint8_t) ~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
		if (i != 0)
			want_flags &= (uint8_t)~RTE_TCP_CWR_FLAG;
		assert_int_equal(th->tcp_flags, want_flags);
		for (uint32_t b = 0; b < len; b++)
			if (p[hlen + b] != payload_byte(off + b))
				fail_msg("frame %u byte %u: 0x%02x, want 0x%02x", i, b, p[hlen + b],
					 payload_byte(off + b));
		off += len;
	}
	assert_int_equal(off, PAYLOAD);
}

static void free_all(struct rte_mbuf **m, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static void segment_in_software(bool v4)
{
	const uint8_t flags =
	    RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG | RTE_TCP_CWR_FLAG;
	unsigned int avail = rte_mempool_avail_count(pool);
	struct rte_mbuf *out[DP_TSO_MAX_SEGS];
	struct dp_offload_tally t = {0};
	struct rte_mbuf *m = super_packet(v4, flags);
	uint16_t n;

	/* a port without TSO: cut here (MULTI_SEGS alone does not help) */
	n = dp_tx_offload(m, RTE_ETH_TX_OFFLOAD_MULTI_SEGS, out, &t);
	check_segments(out, n, v4, flags);
	assert_int_equal(t.tso_sw, 1);
	assert_int_equal(t.tso_sw_segs, n);
	assert_int_equal(t.tso_hw + t.csum_hw + t.csum_sw + t.drop, 0);
	free_all(out, n);
	/* the super-packet's chain went back to the pool */
	assert_int_equal(rte_mempool_avail_count(pool), avail);
}

static void test_tso_sw_ipv4(void **state)
{
	segment_in_software(true);
}
static void test_tso_sw_ipv6(void **state)
{
	segment_in_software(false);
}

static void test_tso_hw(void **state)
{
	const uint64_t nic = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
			     RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	struct rte_mbuf *out[DP_TSO_MAX_SEGS];
	struct dp_offload_tally t = {0};
	struct rte_mbuf *m = super_packet(true, RTE_TCP_ACK_FLAG);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_LEN);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	assert_int_equal(dp_tx_offload(m, nic, out, &t), 1);
	assert_ptr_equal(out[0], m);
	assert_int_equal(t.tso_hw, 1);
	assert_int_equal(m->ol_flags,
			 RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
	assert_int_equal(m->l2_len, ETH_LEN);
	assert_int_equal(m->l3_len, 20);
	assert_int_equal(m->l4_len, 20);
	assert_int_equal(m->tso_segsz, MSS);
	/* what TSO wants in the field: the pseudo-header without the length */
	assert_int_equal(th->cksum, rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG));
	assert_int_equal(ip->hdr_checksum, 0);
	rte_pktmbuf_free(m);

	/* a virtio port (TSO, no IPV4_CKSUM): its host computes the IPv4
	 * checksums, no TX_IP_CKSUM asked */
	m = super_packet(true, RTE_TCP_ACK_FLAG);
	assert_int_equal(dp_tx_offload(m, nic & ~RTE_ETH_TX_OFFLOAD_IPV4_CKSUM, out, &t), 1);
	assert_int_equal(m->ol_flags, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4);
	rte_pktmbuf_free(m);

	/* TSO but no MULTI_SEGS: a chain cannot go, it is cut here */
	m = super_packet(false, RTE_TCP_ACK_FLAG);
	uint16_t n = dp_tx_offload(m, RTE_ETH_TX_OFFLOAD_TCP_TSO, out, &t);
	check_segments(out, n, false, RTE_TCP_ACK_FLAG);
	free_all(out, n);
}

/* A UDP/IPv6 datagram with a partial checksum, over two mbufs. */
static struct rte_mbuf *udp6_partial(void)
{
	uint8_t hdr[128] = {0};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)hdr;
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip6 + 1);
	struct rte_mbuf *m;

	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ip6->vtc_flow = rte_cpu_to_be_32(0x60000000);
	ip6->payload_len = rte_cpu_to_be_16(sizeof(*uh) + 1200);
	ip6->proto = IPPROTO_UDP;
	ip6->hop_limits = 64;
	ip6->src_addr[0] = ip6->dst_addr[0] = 0xfd;
	ip6->dst_addr[15] = 2;
	uh->src_port = rte_cpu_to_be_16(7000);
	uh->dst_port = rte_cpu_to_be_16(7001);
	uh->dgram_len = ip6->payload_len;
	uh->dgram_cksum = rte_ipv6_phdr_cksum(ip6, 0);
	m = chain(hdr, ETH_LEN + 40 + 8, 1200, 2);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	return m;
}

static void test_csum(void **state)
{
	struct rte_mbuf *out[DP_TSO_MAX_SEGS];
	struct dp_offload_tally t = {0};
	struct rte_mbuf *m = udp6_partial(), *flat;
	struct rte_ipv6_hdr *ip6;
	uint8_t buf[ETH_LEN + 40 + 8 + 1200];

	/* no checksum offload: completed here, over the chain */
	assert_true(dp_rx_work_left(m));
	assert_int_equal(dp_tx_offload(m, 0, out, &t), 1);
	assert_int_equal(t.csum_sw, 1);
	assert_int_equal(m->ol_flags, 0);
	/* verified on a flat copy */
	memcpy(buf, rte_pktmbuf_read(m, 0, sizeof(buf), buf), sizeof(buf));
	ip6 = (struct rte_ipv6_hdr *)(buf + ETH_LEN);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip6, ip6 + 1), 0);
	rte_pktmbuf_free(m);

	/* the port does it: flags, lengths, pseudo-header with the length */
	m = udp6_partial();
	assert_int_equal(
	    dp_tx_offload(m, RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS, out, &t),
	    1);
	assert_int_equal(t.csum_hw, 1);
	assert_int_equal(m->ol_flags, RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV6);
	assert_int_equal(m->l3_len, 40);
	assert_int_equal(m->l4_len, 8);
	ip6 = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, ETH_LEN);
	assert_int_equal(((struct rte_udp_hdr *)(ip6 + 1))->dgram_cksum,
			 rte_ipv6_phdr_cksum(ip6, 0));
	rte_pktmbuf_free(m);

	/* not one of these: nothing to do (no flag) */
	flat = rte_pktmbuf_alloc(pool);
	flat->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	assert_false(dp_rx_work_left(flat));
	rte_pktmbuf_free(flat);
}

static void test_drops(void **state)
{
	unsigned int avail = rte_mempool_avail_count(pool);
	struct rte_mbuf *out[DP_TSO_MAX_SEGS], *m, *hold[1024];
	struct dp_offload_tally t = {0};
	uint8_t arp[60] = {0};
	unsigned int held = 0;

	/* not IP: nothing to finish it with */
	((struct rte_ether_hdr *)arp)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	m = chain(arp, sizeof(arp), 0, 1);
	m->ol_flags = RTE_MBUF_F_RX_LRO;
	m->tso_segsz = MSS;
	assert_int_equal(dp_tx_offload(m, 0, out, &t), 0);
	assert_int_equal(t.drop, 1);

	/* no mbufs for the frames: dropped, and nothing half-made kept */
	m = super_packet(true, RTE_TCP_ACK_FLAG);
	while (rte_mempool_avail_count(pool) > 2 && held < 1024)
		hold[held++] = rte_pktmbuf_alloc(pool);
	assert_int_equal(dp_tx_offload(m, 0, out, &t), 0);
	assert_int_equal(t.drop, 2);
	free_all(hold, (uint16_t)held);

	/* IPv6 with an extension header: the software paths cannot */
	uint8_t hdr[128];
	tcp_headers(hdr, false, 100, RTE_TCP_ACK_FLAG);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(hdr + ETH_LEN);
	uint8_t with_ext[128] = {0};
	memcpy(with_ext, hdr, ETH_LEN + 40);
	((struct rte_ipv6_hdr *)(with_ext + ETH_LEN))->proto = IPPROTO_DSTOPTS;
	((struct rte_ipv6_hdr *)(with_ext + ETH_LEN))->payload_len =
	    rte_cpu_to_be_16(rte_be_to_cpu_16(ip6->payload_len) + 8);
	with_ext[ETH_LEN + 40] = IPPROTO_TCP; /* next header, length 0 (8 bytes) */
	memcpy(with_ext + ETH_LEN + 48, hdr + ETH_LEN + 40, 20);
	m = chain(with_ext, ETH_LEN + 48 + 20, 100, 1);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	assert_int_equal(dp_tx_offload(m, 0, out, &t), 0);
	assert_int_equal(t.drop, 3);
	/* ... the port can: left to it */
	m = chain(with_ext, ETH_LEN + 48 + 20, 100, 1);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	assert_int_equal(dp_tx_offload(m, RTE_ETH_TX_OFFLOAD_TCP_CKSUM, out, &t), 1);
	assert_int_equal(m->l3_len, 48);
	rte_pktmbuf_free(m);

	assert_int_equal(rte_mempool_avail_count(pool), avail);
}

int main(void)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=txoffl%d", getpid());
	char *eal[] = {"test_tx_offload",
		       "-l",
		       "0",
		       "--no-huge",
		       "--no-pci",
		       "-m",
		       "64",
		       "--no-shconf",
		       "--no-telemetry",
		       "--log-level=lib.eal:error",
		       prefix};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tso_sw_ipv4), cmocka_unit_test(test_tso_sw_ipv6),
	    cmocka_unit_test(test_tso_hw),	cmocka_unit_test(test_csum),
	    cmocka_unit_test(test_drops),
	};

	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0) {
		fprintf(stderr, "test_tx_offload: EAL init failed\n");
		return 1;
	}
	pool =
	    rte_pktmbuf_pool_create("txoffl", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "test_tx_offload: no mbuf pool\n");
		return 1;
	}
	int rc = cmocka_run_group_tests_name("tx_offload", tests, NULL, NULL);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return rc;
}
