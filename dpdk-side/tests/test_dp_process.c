/* SPDX-License-Identifier: BSD-3-Clause */
/* dp_process_burst() on crafted frames against a real FIB (both families,
 * routes through the bridge and the underlay, neighbours resolved or not,
 * local addresses, ECMP), checking what process.h promises, frame by frame:
 * the verdict; the rewrite (MACs, TTL / hop limit − 1, an IPv4 checksum
 * equal to a recomputation); punts that leave the frame as it was (from the
 * exception port: only dst = dp0's MAC); foreign unicast dropped; the
 * counters, exactly. Each frame runs in a mempool mbuf and again in one whose
 * data ends where a PROT_NONE page starts, one at a time and in bursts: a
 * read past data_len faults. And the forwarding loop itself (fwd.c) on ring
 * ports whose tx rings nobody drains: a full tx ring drops what does not
 * fit, counts it exactly, frees every mbuf, and the loop goes on; with the
 * mbuf pool empty, a TAP port's receive fails (counted by the PMD as
 * rx_nombuf, which telemetry reports as drop_no_mbuf), the loop goes on, and
 * forwarding resumes once mbufs are back (root: a TAP device). */
#include <arpa/inet.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane.h"
#include "explain.h"
#include "fib.h"
#include "process.h"

#define BR     10
#define DP0    20
#define DP0V   30 /* dp0.100: a tenant VLAN of the underlay */
#define OTHERV 31 /* br-vm.200: a VLAN netdev on something else */

/* dp0 carries the NIC's MAC (agentd gives it), so it is both. */
static const struct rte_ether_addr nic_mac = {{0x02, 0xdd, 0, 0, 0, 1}};
static const struct rte_ether_addr br_mac = {{0x02, 0xbb, 0, 0, 0, 1}};
static const struct rte_ether_addr vm1_mac = {{0x02, 0x11, 0, 0, 0, 1}};
static const struct rte_ether_addr wire_mac = {{0x02, 0xee, 0, 0, 0, 1}};
static const struct rte_ether_addr wire_mac2 = {{0x02, 0xee, 0, 0, 0, 2}};
static const struct rte_ether_addr peer_mac = {{0x02, 0x77, 0, 0, 0, 9}};  /* on the wire */
static const struct rte_ether_addr other_mac = {{0x02, 0x99, 0, 0, 0, 5}}; /* not ours */
static const struct rte_ether_addr bcast_mac = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
static const struct rte_ether_addr mcast4_mac = {{0x01, 0x00, 0x5e, 0, 0, 1}};
static const struct rte_ether_addr mcast6_mac = {{0x33, 0x33, 0, 0, 0, 1}};

/* ---- the FIB ---- */

static void link_(struct fib *f, int ifindex, const char *name, const struct rte_ether_addr *mac)
{
	struct mirror_link l = {.ifindex = ifindex, .has_mac = true, .up = true};
	snprintf(l.name, sizeof(l.name), "%s", name);
	memcpy(l.mac, mac->addr_bytes, 6);
	fib_mirror_ops.link(f, false, &l);
}

static void link_vlan(struct fib *f, bool del, int ifindex, const char *name, int parent,
		      uint16_t vid, const struct rte_ether_addr *mac)
{
	struct mirror_link l = {
	    .ifindex = ifindex, .has_mac = true, .up = true, .vlan_id = vid, .link = parent};
	snprintf(l.name, sizeof(l.name), "%s", name);
	memcpy(l.mac, mac->addr_bytes, 6);
	fib_mirror_ops.link(f, del, &l);
}

static void route(struct fib *f, const char *dst, int len, const char *gw, int oif)
{
	struct mirror_route r = {
	    .dst_len = len, .table = RT_TABLE_MAIN, .type = RTN_UNICAST, .oif = oif};
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(r.family, dst, r.dst);
	if (gw) {
		inet_pton(r.family, gw, r.gw);
		r.has_gw = true;
	}
	fib_mirror_ops.route(f, false, &r);
}

static void route_ecmp(struct fib *f, const char *dst, int len, const char *gw1, const char *gw2)
{
	struct mirror_route r = {.dst_len = len,
				 .table = RT_TABLE_MAIN,
				 .type = RTN_UNICAST,
				 .multipath = true,
				 .oif = DP0,
				 .n_paths = 2};
	const char *gws[] = {gw1, gw2};
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(r.family, dst, r.dst);
	for (int i = 0; i < 2; i++) {
		r.paths[i].oif = DP0;
		r.paths[i].has_gw = true;
		r.paths[i].gw_family = (uint8_t)r.family;
		r.paths[i].weight = 1;
		inet_pton(r.family, gws[i], r.paths[i].gw);
	}
	fib_mirror_ops.route(f, false, &r);
}

static void blackhole(struct fib *f, const char *dst, int len)
{
	struct mirror_route r = {.dst_len = len, .table = RT_TABLE_MAIN, .type = RTN_BLACKHOLE};
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(r.family, dst, r.dst);
	fib_mirror_ops.route(f, false, &r);
}

static void neigh(struct fib *f, const char *ip, int ifindex, const struct rte_ether_addr *mac)
{
	struct mirror_neigh n = {.ifindex = ifindex, .has_lladdr = true, .state = NUD_REACHABLE};
	n.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(n.family, ip, n.addr);
	memcpy(n.mac, mac->addr_bytes, 6);
	fib_mirror_ops.neigh(f, false, &n);
}

static void addr(struct fib *f, const char *ip, int ifindex)
{
	struct mirror_addr a = {.ifindex = ifindex};
	a.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(a.family, ip, a.addr);
	fib_mirror_ops.addr(f, false, &a);
}

/* The lab of docs: VMs on br-vm (10.10.1.0/24, fd00:10::/64), the underlay
 * behind dp0 (192.168.100.0/24, fd00:100::/64) with remote prefixes. */
static struct fib *lab_fib(void)
{
	struct fib_config cfg = {.lpm_rules = 1024,
				 .lpm6_rules = 1024,
				 .neighbours = 1024,
				 .exc_ifname = "dp0",
				 .bridge_ifname = "br-vm"};
	struct fib *f;

	assert_int_equal(fib_create(&f, &cfg, SOCKET_ID_ANY), 0);
	link_(f, BR, "br-vm", &br_mac);
	link_(f, DP0, "dp0", &nic_mac);
	route(f, "10.10.1.0", 24, NULL, BR);
	route(f, "192.168.100.0", 24, NULL, DP0);
	route(f, "10.10.2.0", 24, "192.168.100.2", DP0);
	route(f, "10.10.3.0", 24, "192.168.100.3", DP0); /* .3: never resolved */
	route_ecmp(f, "10.20.0.0", 16, "192.168.100.2", "192.168.100.4");
	blackhole(f, "10.66.0.0", 16);
	route(f, "fd00:10::", 64, NULL, BR);
	route(f, "fd00:100::", 64, NULL, DP0);
	route(f, "fd00:20::", 64, "fd00:100::2", DP0);
	route(f, "fd00:30::", 64, "fd00:100::3", DP0);
	route_ecmp(f, "fd00:40::", 64, "fd00:100::2", "fd00:100::4");
	addr(f, "10.10.1.1", BR);
	addr(f, "192.168.100.1", DP0);
	addr(f, "fd00:10::1", BR);
	addr(f, "fd00:100::1", DP0);
	neigh(f, "10.10.1.11", BR, &vm1_mac);
	neigh(f, "fd00:10::11", BR, &vm1_mac);
	neigh(f, "192.168.100.2", DP0, &wire_mac);
	neigh(f, "192.168.100.4", DP0, &wire_mac2);
	neigh(f, "fd00:100::2", DP0, &wire_mac);
	neigh(f, "fd00:100::4", DP0, &wire_mac2);
	/* tenant VLAN 100 of the underlay (dp0.100, 192.168.110.0/24,
	 * fd00:110::/64) with remote prefixes behind it; VLAN 200 on br-vm is
	 * not the underlay's */
	link_vlan(f, false, DP0V, "dp0.100", DP0, 100, &nic_mac);
	link_vlan(f, false, OTHERV, "br-vm.200", BR, 200, &br_mac);
	route(f, "192.168.110.0", 24, NULL, DP0V);
	route(f, "10.10.5.0", 24, "192.168.110.2", DP0V);
	route(f, "fd00:50::", 64, "fd00:110::2", DP0V);
	route(f, "10.10.6.0", 24, "192.168.120.2", OTHERV);
	addr(f, "192.168.110.1", DP0V);
	neigh(f, "192.168.110.2", DP0V, &peer_mac);
	neigh(f, "fd00:110::2", DP0V, &peer_mac);
	neigh(f, "192.168.120.2", OTHERV, &peer_mac);
	return f;
}

/* ---- frames ---- */

#define FRAME_MAX 128

static uint16_t put_eth(uint8_t *b, const struct rte_ether_addr *dst,
			const struct rte_ether_addr *src, uint16_t type)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;

	eth->dst_addr = *dst;
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(type);
	return sizeof(*eth);
}

/* Ethernet + IPv4 (no options) + PAYLOAD bytes of a pattern; a valid
 * checksum. Returns the frame length. */
static uint16_t put_ip4(uint8_t *b, const struct rte_ether_addr *dmac,
			const struct rte_ether_addr *smac, const char *src, const char *dst,
			uint8_t ttl, uint8_t proto, uint16_t payload)
{
	uint16_t off = put_eth(b, dmac, smac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + off);

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + payload);
	ip->packet_id = rte_cpu_to_be_16(0x1234);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = ttl;
	ip->next_proto_id = proto;
	inet_pton(AF_INET, src, &ip->src_addr);
	inet_pton(AF_INET, dst, &ip->dst_addr);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	for (uint16_t i = 0; i < payload; i++)
		b[off + sizeof(*ip) + i] = (uint8_t)(0xa0 + i);
	return (uint16_t)(off + sizeof(*ip) + payload);
}

static uint16_t put_ip6(uint8_t *b, const struct rte_ether_addr *dmac,
			const struct rte_ether_addr *smac, const char *src, const char *dst,
			uint8_t hops, uint8_t proto, uint16_t payload)
{
	uint16_t off = put_eth(b, dmac, smac, RTE_ETHER_TYPE_IPV6);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(b + off);

	memset(ip6, 0, sizeof(*ip6));
	ip6->vtc_flow = rte_cpu_to_be_32(6u << 28 | 0x12345);
	ip6->payload_len = rte_cpu_to_be_16(payload);
	ip6->proto = proto;
	ip6->hop_limits = hops;
	inet_pton(AF_INET6, src, ip6->src_addr);
	inet_pton(AF_INET6, dst, ip6->dst_addr);
	for (uint16_t i = 0; i < payload; i++)
		b[off + sizeof(*ip6) + i] = (uint8_t)(0x50 + i);
	return (uint16_t)(off + sizeof(*ip6) + payload);
}

static struct rte_ipv4_hdr *ip4_of(uint8_t *b)
{
	return (struct rte_ipv4_hdr *)(b + sizeof(struct rte_ether_hdr));
}

static struct rte_ipv6_hdr *ip6_of(uint8_t *b)
{
	return (struct rte_ipv6_hdr *)(b + sizeof(struct rte_ether_hdr));
}

/* From scratch, as a receiver would check it. */
static uint16_t ip4_cksum_fresh(const uint8_t *frame)
{
	union {
		struct rte_ipv4_hdr h;
		uint8_t b[60]; /* with options */
	} u;
	const uint8_t *ip = frame + sizeof(struct rte_ether_hdr);

	memcpy(u.b, ip, (ip[0] & 0xf) * 4u);
	u.h.hdr_checksum = 0;
	return rte_ipv4_cksum(&u.h);
}

/* ---- cases: a frame and what must become of it ---- */

struct dp_case {
	const char *name;
	enum dp_port_role in;
	uint16_t len;
	uint8_t frame[FRAME_MAX] __rte_aligned(8); /* (Ethernet headers are 2-aligned) */
	uint8_t verdict;
	uint8_t want[FRAME_MAX] __rte_aligned(8); /* the frame afterwards */
	uint16_t want_len;			  /* (a VLAN tag taken off / put on) */
	bool ecmp;				  /* want's dst or ECMP_ALT */
	struct dp_fwd_counters cnt;
};

#define ECMP_ALT    wire_mac2
#define MAX_CASES   128
#define GUARD_SLOTS DP_DEFAULT_BURST

static struct dp_case cases[MAX_CASES];
static int n_cases;
static struct rte_mempool *pool;
static struct dp_lcore lc;
static uint8_t *guard_mem; /* GUARD_SLOTS × (data page + PROT_NONE page) */
static long page;

static struct dp_case *add(const char *name, enum dp_port_role in, const uint8_t *frame,
			   uint16_t len)
{
	struct dp_case *c;

	assert_true(n_cases < MAX_CASES && len <= FRAME_MAX);
	c = &cases[n_cases++];
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->in = in;
	c->len = c->want_len = len;
	memcpy(c->frame, frame, len);
	memcpy(c->want, frame, len);
	return c;
}

/* To the kernel, untouched. */
static void punt_nic(const char *name, const uint8_t *frame, uint16_t len,
		     struct dp_fwd_counters cnt)
{
	struct dp_case *c = add(name, DP_PORT_NIC, frame, len);

	c->verdict = DP_PORT_EXC;
	c->cnt = cnt;
	c->cnt.kernel_from_wire++;
}

/* A VM frame DPDK cannot route: back to the kernel, addressed to dp0. */
static void punt_exc(const char *name, const uint8_t *frame, uint16_t len,
		     struct dp_fwd_counters cnt)
{
	struct dp_case *c = add(name, DP_PORT_EXC, frame, len);

	c->verdict = DP_PORT_EXC;
	memcpy(c->want, nic_mac.addr_bytes, 6);
	c->cnt = cnt;
	c->cnt.kernel_from_vm++;
}

/* What the kernel sent: to the NIC, untouched. */
static void from_kernel(const char *name, const uint8_t *frame, uint16_t len)
{
	struct dp_case *c = add(name, DP_PORT_EXC, frame, len);

	c->verdict = DP_PORT_NIC;
	c->cnt.from_kernel = 1;
}

/* The fast path: new MACs, TTL / hop limit − 1, IPv4 checksum recomputed
 * here from scratch. */
static struct dp_case *fast(const char *name, enum dp_port_role in, const uint8_t *frame,
			    uint16_t len, const struct rte_ether_addr *dmac,
			    const struct rte_ether_addr *smac)
{
	struct dp_case *c = add(name, in, frame, len);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)c->want;

	eth->dst_addr = *dmac;
	eth->src_addr = *smac;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		ip4_of(c->want)->time_to_live--;
		ip4_of(c->want)->hdr_checksum = ip4_cksum_fresh(c->want);
	} else {
		ip6_of(c->want)->hop_limits--;
	}
	if (in == DP_PORT_NIC) {
		c->verdict = DP_PORT_EXC;
		c->cnt.fast_wire_to_vm = 1;
	} else {
		c->verdict = DP_PORT_NIC;
		c->cnt.fast_vm_to_wire = 1;
	}
	return c;
}

/* An mbuf (static, like a driver's) whose LEN bytes of data end where an
 * unreadable page starts (one byte before for an odd LEN: the frame starts
 * 2-aligned, as Ethernet headers are). */
static void guard_mbuf(struct rte_mbuf *m, int slot, const uint8_t *frame, uint16_t len)
{
	uint8_t *data = guard_mem + (size_t)slot * 2 * page;

	memset(m, 0, sizeof(*m));
	m->buf_addr = data;
	m->buf_len = (uint16_t)page;
	m->data_off = (uint16_t)((page - len) & ~1L);
	m->data_len = len;
	m->pkt_len = len;
	m->nb_segs = 1;
	memcpy(data + m->data_off, frame, len);
}

static void check_out(const struct dp_case *c, uint8_t verdict, const struct rte_mbuf *m,
		      const char *how)
{
	const uint8_t *got = rte_pktmbuf_mtod(m, const uint8_t *);

	if (verdict != c->verdict)
		fail_msg("%s (%s): verdict %u, want %u", c->name, how, verdict, c->verdict);
	if (rte_pktmbuf_data_len(m) != c->want_len || rte_pktmbuf_pkt_len(m) != c->want_len)
		fail_msg("%s (%s): %u bytes (pkt_len %u), want %u", c->name, how,
			 rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), c->want_len);
	if (memcmp(got, c->want, c->want_len) == 0)
		return;
	if (c->ecmp && memcmp(got, ECMP_ALT.addr_bytes, 6) == 0 &&
	    memcmp(got + 6, c->want + 6, c->want_len - 6) == 0)
		return;
	for (uint16_t i = 0; i < c->want_len; i++)
		if (got[i] != c->want[i])
			fail_msg("%s (%s): byte %u is %#04x, want %#04x", c->name, how, i, got[i],
				 c->want[i]);
}

static void counters_sub(struct dp_fwd_counters *d, const struct dp_fwd_counters *a,
			 const struct dp_fwd_counters *b)
{
#define DP_X(n) d->n = a->n - b->n;
	DP_FWD_COUNTERS(DP_X)
#undef DP_X
}

static void counters_add(struct dp_fwd_counters *d, const struct dp_fwd_counters *a)
{
#define DP_X(n) d->n += a->n;
	DP_FWD_COUNTERS(DP_X)
#undef DP_X
}

static void check_counters(const char *what, const struct dp_fwd_counters *before,
			   const struct dp_fwd_counters *want)
{
	struct dp_fwd_counters d;

	counters_sub(&d, &lc.counters, before);
#define DP_X(n)                                                                                    \
	if (d.n != want->n)                                                                        \
		fail_msg("%s: counter " #n " moved by %llu, want %llu", what,                      \
			 (unsigned long long)d.n, (unsigned long long)want->n);
	DP_FWD_COUNTERS(DP_X)
#undef DP_X
}

/* Each case alone in a guarded mbuf (a read past the end faults), then
 * alone in a mempool mbuf. */
static void run_one(const struct dp_case *c)
{
	struct dp_fwd_counters before;
	struct rte_mbuf *m, gm, *p = &gm;
	uint8_t v = 0xaa;

	guard_mbuf(&gm, 0, c->frame, c->len);
	before = lc.counters;
	dp_process_burst(&lc, c->in, &p, 1, &v);
	check_out(c, v, &gm, "guarded mbuf");
	check_counters(c->name, &before, &c->cnt);

	m = rte_pktmbuf_alloc(pool);
	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, c->len), c->frame, c->len);
	v = 0xaa;
	before = lc.counters;
	dp_process_burst(&lc, c->in, &m, 1, &v);
	check_out(c, v, m, "mempool mbuf");
	check_counters(c->name, &before, &c->cnt);
	rte_pktmbuf_free(m);
}

/* The cases of one port together, in bursts of guarded mbufs: the prefetch
 * ahead of the classify step runs on every kind of frame too. */
static void run_bursts(enum dp_port_role in)
{
	static struct rte_mbuf gm[GUARD_SLOTS];
	struct rte_mbuf *pkts[GUARD_SLOTS];
	const struct dp_case *batch[GUARD_SLOTS];
	uint8_t verdict[GUARD_SLOTS];
	int i = 0;

	while (i < n_cases) {
		struct dp_fwd_counters before = lc.counters, want = {0};
		uint16_t nb = 0;

		for (; i < n_cases && nb < GUARD_SLOTS; i++) {
			if (cases[i].in != in)
				continue;
			batch[nb] = &cases[i];
			guard_mbuf(&gm[nb], nb, cases[i].frame, cases[i].len);
			pkts[nb] = &gm[nb];
			counters_add(&want, &cases[i].cnt);
			nb++;
		}
		memset(verdict, 0xaa, sizeof(verdict));
		dp_process_burst(&lc, in, pkts, nb, verdict);
		for (uint16_t k = 0; k < nb; k++)
			check_out(batch[k], verdict[k], &gm[k], "burst");
		check_counters("burst", &before, &want);
	}
}

static void run_cases(void)
{
	for (int i = 0; i < n_cases; i++)
		run_one(&cases[i]);
	run_bursts(DP_PORT_NIC);
	run_bursts(DP_PORT_EXC);
}

/* Each test: a forwarding lcore reading a fresh lab FIB, freed even when
 * the test fails (the EAL heap is small). */
static int lab_setup(void **state)
{
	struct fib_ncache *nc = lc.ncache;

	(void)state;
	memset(&lc, 0, sizeof(lc));
	lc.fib = lab_fib();
	lc.nic_mac = nic_mac;
	lc.ncache = nc;
	memset(nc, 0, sizeof(*nc));
	n_cases = 0;
	return 0;
}

static int lab_teardown(void **state)
{
	(void)state;
	if (lc.fib != NULL)
		fib_destroy(lc.fib);
	lc.fib = NULL;
	return 0;
}

#define CNT(...) ((struct dp_fwd_counters){__VA_ARGS__})

/* Insert an 802.1Q tag with VID into frame B of LEN bytes: the new length. */
static uint16_t put_vlan(uint8_t *b, uint16_t len, uint16_t vid)
{
	memmove(b + 16, b + 12, len - 12u);
	b[12] = 0x81;
	b[13] = 0x00;
	b[14] = (uint8_t)(vid >> 8);
	b[15] = (uint8_t)vid;
	return (uint16_t)(len + 4);
}

/* ---- tenant VLANs of the underlay ---- */

static void test_vlans(void **state)
{
	uint8_t b[FRAME_MAX] __rte_aligned(8), u[FRAME_MAX] __rte_aligned(8);
	uint16_t n, nu;
	struct dp_case *c;

	(void)state;
	/* wire → VM, tagged with the underlay's VLAN 100: routed, untagged */
	nu = put_ip4(u, &nic_mac, &peer_mac, "10.10.5.7", "10.10.1.11", 64, IPPROTO_UDP, 30);
	memcpy(b, u, nu);
	n = put_vlan(b, nu, 100);
	c = add("v4 tagged 100 to a VM", DP_PORT_NIC, b, n);
	memcpy(c->want, u, nu);
	c->want_len = nu;
	((struct rte_ether_hdr *)c->want)->dst_addr = vm1_mac;
	((struct rte_ether_hdr *)c->want)->src_addr = br_mac;
	ip4_of(c->want)->time_to_live--;
	ip4_of(c->want)->hdr_checksum = ip4_cksum_fresh(c->want);
	c->verdict = DP_PORT_EXC;
	c->cnt = CNT(.fast_wire_to_vm = 1, .vlan_untagged = 1);
	nu = put_ip6(u, &nic_mac, &peer_mac, "fd00:50::7", "fd00:10::11", 64, IPPROTO_TCP, 20);
	memcpy(b, u, nu);
	n = put_vlan(b, nu, 100 | 0x6000); /* a priority (PCP 3) is not part of the VID */
	c = add("v6 tagged 100 (PCP 3) to a VM", DP_PORT_NIC, b, n);
	memcpy(c->want, u, nu);
	c->want_len = nu;
	((struct rte_ether_hdr *)c->want)->dst_addr = vm1_mac;
	((struct rte_ether_hdr *)c->want)->src_addr = br_mac;
	ip6_of(c->want)->hop_limits--;
	c->verdict = DP_PORT_EXC;
	c->cnt = CNT(.fast_wire_to_vm = 1, .vlan_untagged = 1);

	/* to the kernel, tag and all: a VID that is not the underlay's (200 is
	 * a VLAN netdev, but on br-vm; 300 none), ARP in VLAN 100, a host
	 * address of the VLAN, TTL 1, a tag with nothing after it */
	memcpy(b, u, nu);
	n = put_vlan(b, nu, 200);
	punt_nic("v6 tagged 200 (not on dp0)", b, n, CNT(.punt_vlan = 1));
	memcpy(b, u, nu);
	n = put_vlan(b, nu, 300);
	punt_nic("v6 tagged 300 (no such VLAN)", b, n, CNT(.punt_vlan = 1));
	n = put_eth(b, &nic_mac, &peer_mac, RTE_ETHER_TYPE_ARP);
	memset(b + n, 0, 28);
	n = put_vlan(b, (uint16_t)(n + 28), 100);
	punt_nic("ARP tagged 100", b, n, CNT(.punt_not_ip = 1));
	nu = put_ip4(u, &nic_mac, &peer_mac, "192.168.110.2", "192.168.110.1", 64, IPPROTO_ICMP, 8);
	memcpy(b, u, nu);
	n = put_vlan(b, nu, 100);
	punt_nic("v4 tagged 100 to the host's VLAN address", b, n, CNT(.punt_local = 1));
	nu = put_ip4(u, &nic_mac, &peer_mac, "10.10.5.7", "10.10.1.11", 1, IPPROTO_UDP, 8);
	memcpy(b, u, nu);
	n = put_vlan(b, nu, 100);
	punt_nic("v4 tagged 100, TTL 1", b, n, CNT(.punt_ttl = 1));
	n = put_eth(b, &nic_mac, &peer_mac, RTE_ETHER_TYPE_VLAN);
	punt_nic("a tag type and no tag", b, n, CNT(.punt_vlan = 1));
	b[n] = 0;
	b[n + 1] = 100;
	punt_nic("a tag and no EtherType after it", b, (uint16_t)(n + 2), CNT(.punt_vlan = 1));
	b[n + 2] = 0x08;
	b[n + 3] = 0x00;
	punt_nic("a tag 100 and an IPv4 type, no header", b, (uint16_t)(n + 4),
		 CNT(.punt_ip_special = 1));

	/* VM → wire through the VLAN: routed, tagged 100 */
	nu = put_ip4(u, &nic_mac, &vm1_mac, "10.10.1.11", "10.10.5.7", 64, IPPROTO_UDP, 30);
	c = add("v4 VM to VLAN 100", DP_PORT_EXC, u, nu);
	memcpy(c->want, u, nu);
	((struct rte_ether_hdr *)c->want)->dst_addr = peer_mac;
	((struct rte_ether_hdr *)c->want)->src_addr = nic_mac;
	ip4_of(c->want)->time_to_live--;
	ip4_of(c->want)->hdr_checksum = ip4_cksum_fresh(c->want);
	c->want_len = put_vlan(c->want, nu, 100);
	c->verdict = DP_PORT_NIC;
	c->cnt = CNT(.fast_vm_to_wire = 1, .vlan_tagged = 1);
	nu = put_ip6(u, &nic_mac, &vm1_mac, "fd00:10::11", "fd00:50::7", 64, IPPROTO_TCP, 20);
	c = add("v6 VM to VLAN 100", DP_PORT_EXC, u, nu);
	memcpy(c->want, u, nu);
	((struct rte_ether_hdr *)c->want)->dst_addr = peer_mac;
	((struct rte_ether_hdr *)c->want)->src_addr = nic_mac;
	ip6_of(c->want)->hop_limits--;
	c->want_len = put_vlan(c->want, nu, 100);
	c->verdict = DP_PORT_NIC;
	c->cnt = CNT(.fast_vm_to_wire = 1, .vlan_tagged = 1);
	/* through a VLAN netdev that is not on dp0: not the fast path's */
	nu = put_ip4(u, &nic_mac, &vm1_mac, "10.10.1.11", "10.10.6.7", 64, IPPROTO_UDP, 30);
	punt_exc("v4 VM via br-vm.200", u, nu, CNT(.punt_not_fast = 1));
	run_cases();

	/* dp0.100 goes: its VID is the kernel's again, its routes not fast */
	n_cases = 0;
	link_vlan(lc.fib, true, DP0V, "dp0.100", DP0, 100, &nic_mac);
	nu = put_ip4(u, &nic_mac, &peer_mac, "10.10.5.7", "10.10.1.11", 64, IPPROTO_UDP, 30);
	memcpy(b, u, nu);
	n = put_vlan(b, nu, 100);
	punt_nic("v4 tagged 100 after dp0.100 went", b, n, CNT(.punt_vlan = 1));
	nu = put_ip4(u, &nic_mac, &vm1_mac, "10.10.1.11", "10.10.5.7", 64, IPPROTO_UDP, 30);
	punt_exc("v4 VM to VLAN 100 after dp0.100 went", u, nu, CNT(.punt_not_fast = 1));
	run_cases();
}

/* ---- wire → VM ---- */

static void test_from_nic(void **state)
{
	uint8_t b[FRAME_MAX] __rte_aligned(8);
	uint16_t n;
	struct dp_case *c;

	(void)state;
	/* the fast path, both families; a fragment too (forwarded as is: a
	 * router does not reassemble) and a header without payload */
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_TCP, 40);
	fast("v4 to a VM", DP_PORT_NIC, b, n, &vm1_mac, &br_mac);
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 2, IPPROTO_UDP, 8);
	fast("v4 TTL 2", DP_PORT_NIC, b, n, &vm1_mac, &br_mac);
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 255, IPPROTO_UDP, 0);
	fast("v4 header only", DP_PORT_NIC, b, n, &vm1_mac, &br_mac);
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 24);
	ip4_of(b)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | 185);
	ip4_of(b)->hdr_checksum = ip4_cksum_fresh(b);
	fast("v4 fragment", DP_PORT_NIC, b, n, &vm1_mac, &br_mac);
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fd00:10::11", 64, IPPROTO_TCP, 40);
	fast("v6 to a VM", DP_PORT_NIC, b, n, &vm1_mac, &br_mac);
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fd00:10::11", 2, IPPROTO_UDP, 0);
	fast("v6 header only, hop limit 2", DP_PORT_NIC, b, n, &vm1_mac, &br_mac);

	/* punts: to the kernel, byte for byte as received */
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 1, IPPROTO_UDP, 8);
	punt_nic("v4 TTL 1", b, n, CNT(.punt_ttl = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 0, IPPROTO_UDP, 8);
	punt_nic("v4 TTL 0", b, n, CNT(.punt_ttl = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fd00:10::11", 1, IPPROTO_UDP, 8);
	punt_nic("v6 hop limit 1", b, n, CNT(.punt_ttl = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fd00:10::11", 0, IPPROTO_UDP, 8);
	punt_nic("v6 hop limit 0", b, n, CNT(.punt_ttl = 1));
	/* IPv4 options (IHL 6), a bad IHL, a version that is not 4 */
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 12);
	ip4_of(b)->version_ihl = 0x46;
	ip4_of(b)->hdr_checksum = ip4_cksum_fresh(b);
	punt_nic("v4 options", b, n, CNT(.punt_ip_special = 1));
	ip4_of(b)->version_ihl = 0x44;
	punt_nic("v4 IHL 4", b, n, CNT(.punt_ip_special = 1));
	ip4_of(b)->version_ihl = 0x65;
	punt_nic("v4 ethertype, version 6", b, n, CNT(.punt_ip_special = 1));
	/* special destinations */
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "224.0.0.5", 64, IPPROTO_UDP, 8);
	punt_nic("v4 multicast dst", b, n, CNT(.punt_ip_special = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "255.255.255.255", 64, IPPROTO_UDP, 8);
	punt_nic("v4 broadcast dst", b, n, CNT(.punt_ip_special = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "127.0.0.1", 64, IPPROTO_UDP, 8);
	punt_nic("v4 loopback dst", b, n, CNT(.punt_ip_special = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "0.1.2.3", 64, IPPROTO_UDP, 8);
	punt_nic("v4 0/8 dst", b, n, CNT(.punt_ip_special = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fe80::11", 64, IPPROTO_UDP, 8);
	punt_nic("v6 link-local dst", b, n, CNT(.punt_ip_special = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "fe80::7", "fd00:10::11", 64, IPPROTO_UDP, 8);
	punt_nic("v6 link-local src", b, n, CNT(.punt_ip_special = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "ff02::1", 64, IPPROTO_ICMPV6, 8);
	punt_nic("v6 multicast dst", b, n, CNT(.punt_ip_special = 1));
	/* for the host, no route, not this direction, unresolved */
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.1", 64, IPPROTO_TCP, 20);
	punt_nic("v4 for the host (bridge)", b, n, CNT(.punt_local = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "192.168.100.1", 64, IPPROTO_TCP, 20);
	punt_nic("v4 for the host (dp0)", b, n, CNT(.punt_local = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fd00:100::1", 64, IPPROTO_TCP, 20);
	punt_nic("v6 for the host", b, n, CNT(.punt_local = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "8.8.8.8", 64, IPPROTO_UDP, 8);
	punt_nic("v4 no route", b, n, CNT(.punt_no_route = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "2001:db8:99::1", 64, IPPROTO_UDP, 8);
	punt_nic("v6 no route", b, n, CNT(.punt_no_route = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.2.7", 64, IPPROTO_UDP, 8);
	punt_nic("v4 route to the underlay", b, n, CNT(.punt_not_fast = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.66.0.1", 64, IPPROTO_UDP, 8);
	punt_nic("v4 blackhole", b, n, CNT(.punt_not_fast = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fd00:20::5", 64, IPPROTO_UDP, 8);
	punt_nic("v6 route to the underlay", b, n, CNT(.punt_not_fast = 1));
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.12", 64, IPPROTO_UDP, 8);
	punt_nic("v4 unresolved VM", b, n, CNT(.punt_unresolved = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fd00:10::12", 64, IPPROTO_UDP, 8);
	punt_nic("v6 unresolved VM", b, n, CNT(.punt_unresolved = 1));
	/* not IP */
	n = put_eth(b, &nic_mac, &peer_mac, RTE_ETHER_TYPE_ARP);
	memset(b + n, 0x11, 28);
	punt_nic("ARP reply", b, n + 28, CNT(.punt_not_ip = 1));
	n = put_ip4(b + 4, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 8);
	put_eth(b, &nic_mac, &peer_mac, RTE_ETHER_TYPE_VLAN);
	b[14] = 0; /* VLAN 7, then the IPv4 ethertype put_ip4 wrote */
	b[15] = 7;
	punt_nic("VLAN-tagged IPv4, VID not the underlay's", b, n + 4, CNT(.punt_vlan = 1));
	/* L2 multicast / broadcast: the kernel's, even when routable */
	n = put_ip4(b, &bcast_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 8);
	punt_nic("broadcast MAC", b, n, CNT(.punt_l2 = 1));
	n = put_ip4(b, &mcast4_mac, &peer_mac, "198.51.100.7", "224.0.0.1", 64, IPPROTO_UDP, 8);
	punt_nic("v4 multicast MAC", b, n, CNT(.punt_l2 = 1));
	n = put_ip6(b, &mcast6_mac, &peer_mac, "fe80::7", "ff02::1", 255, IPPROTO_ICMPV6, 8);
	punt_nic("v6 multicast MAC", b, n, CNT(.punt_l2 = 1));
	/* someone else's unicast (promiscuous port): dropped, as a NIC would */
	n = put_ip4(b, &other_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 8);
	c = add("foreign unicast", DP_PORT_NIC, b, n);
	c->verdict = DP_VERDICT_DROP;
	c->cnt.drop_not_ours = 1;
	n = put_ip4(b, &br_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 8);
	c = add("to the bridge's MAC", DP_PORT_NIC, b, n);
	c->verdict = DP_VERDICT_DROP;
	c->cnt.drop_not_ours = 1;
	/* truncated: never read past the end (the guarded run faults if so) */
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 8);
	punt_nic("v4 header cut at 32 bytes", b, 32, CNT(.punt_ip_special = 1));
	punt_nic("v4 header cut at 33 bytes", b, 33, CNT(.punt_ip_special = 1));
	punt_nic("v4 ethertype, 14 bytes", b, 14, CNT(.punt_ip_special = 1));
	punt_nic("12 bytes", b, 12, CNT(.punt_not_ip = 1));
	punt_nic("13 bytes", b, 13, CNT(.punt_not_ip = 1));
	punt_nic("6 bytes", b, 6, CNT(.punt_not_ip = 1));
	punt_nic("empty", b, 0, CNT(.punt_not_ip = 1));
	n = put_ip6(b, &nic_mac, &peer_mac, "2001:db8::7", "fd00:10::11", 64, IPPROTO_UDP, 8);
	punt_nic("v6 header cut at 52 bytes", b, 52, CNT(.punt_ip_special = 1));
	punt_nic("v6 header cut at 53 bytes", b, 53, CNT(.punt_ip_special = 1));
	punt_nic("v6 ethertype, 14 bytes", b, 14, CNT(.punt_ip_special = 1));
	memcpy(b, other_mac.addr_bytes, 6);
	c = add("foreign unicast, 12 bytes", DP_PORT_NIC, b, 12);
	c->verdict = DP_PORT_EXC; /* a runt: no MAC header to judge */
	c->cnt.punt_not_ip = 1;
	c->cnt.kernel_from_wire = 1;

	run_cases();
}

/* ---- VM → wire, and what the kernel sends ---- */

static void test_from_exception(void **state)
{
	uint8_t b[FRAME_MAX] __rte_aligned(8);
	uint16_t n;
	struct dp_case *c;

	(void)state;
	/* VM frames a tc program redirected (to the gateway's MAC) */
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.10.2.7", 64, IPPROTO_TCP, 40);
	fast("v4 to the underlay", DP_PORT_EXC, b, n, &wire_mac, &nic_mac);
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "192.168.100.2", 2, IPPROTO_UDP, 0);
	fast("v4 to a wire neighbour, TTL 2", DP_PORT_EXC, b, n, &wire_mac, &nic_mac);
	n = put_ip6(b, &br_mac, &vm1_mac, "fd00:10::11", "fd00:20::5", 64, IPPROTO_TCP, 40);
	fast("v6 to the underlay", DP_PORT_EXC, b, n, &wire_mac, &nic_mac);
	/* ECMP: the flow hash reads the ports only where the frame has them */
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.20.0.9", 64, IPPROTO_UDP, 0);
	fast("v4 ECMP, no room for ports", DP_PORT_EXC, b, n, &wire_mac, &nic_mac)->ecmp = true;
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.20.0.9", 64, IPPROTO_UDP, 4);
	fast("v4 ECMP, ports at the end", DP_PORT_EXC, b, n, &wire_mac, &nic_mac)->ecmp = true;
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.20.0.9", 64, IPPROTO_TCP, 2);
	fast("v4 ECMP, 2 bytes of ports", DP_PORT_EXC, b, n, &wire_mac, &nic_mac)->ecmp = true;
	n = put_ip6(b, &br_mac, &vm1_mac, "fd00:10::11", "fd00:40::9", 64, IPPROTO_UDP, 0);
	fast("v6 ECMP, no room for ports", DP_PORT_EXC, b, n, &wire_mac, &nic_mac)->ecmp = true;
	n = put_ip6(b, &br_mac, &vm1_mac, "fd00:10::11", "fd00:40::9", 64, IPPROTO_UDP, 4);
	fast("v6 ECMP, ports at the end", DP_PORT_EXC, b, n, &wire_mac, &nic_mac)->ecmp = true;

	/* not routable by DPDK: to the kernel, only the dst MAC changed */
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.10.2.7", 1, IPPROTO_UDP, 8);
	punt_exc("v4 TTL 1", b, n, CNT(.punt_ttl = 1));
	n = put_ip6(b, &br_mac, &vm1_mac, "fd00:10::11", "fd00:20::5", 0, IPPROTO_UDP, 8);
	punt_exc("v6 hop limit 0", b, n, CNT(.punt_ttl = 1));
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "8.8.8.8", 64, IPPROTO_UDP, 8);
	punt_exc("v4 no route", b, n, CNT(.punt_no_route = 1));
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.10.3.5", 64, IPPROTO_UDP, 8);
	punt_exc("v4 unresolved gateway", b, n, CNT(.punt_unresolved = 1));
	n = put_ip6(b, &br_mac, &vm1_mac, "fd00:10::11", "fd00:30::5", 64, IPPROTO_UDP, 8);
	punt_exc("v6 unresolved gateway", b, n, CNT(.punt_unresolved = 1));
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "192.168.100.1", 64, IPPROTO_TCP, 8);
	punt_exc("v4 for the host", b, n, CNT(.punt_local = 1));
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.10.1.11", 64, IPPROTO_TCP, 8);
	punt_exc("v4 back to the bridge", b, n, CNT(.punt_not_fast = 1));
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.10.2.7", 64, IPPROTO_UDP, 8);
	ip4_of(b)->version_ihl = 0x47;
	punt_exc("v4 options", b, n, CNT(.punt_ip_special = 1));
	n = put_ip6(b, &br_mac, &vm1_mac, "fe80::11", "fd00:20::5", 64, IPPROTO_UDP, 8);
	punt_exc("v6 link-local src", b, n, CNT(.punt_ip_special = 1));
	n = put_eth(b, &br_mac, &vm1_mac, RTE_ETHER_TYPE_ARP);
	memset(b + n, 0x22, 28);
	punt_exc("unicast ARP", b, n + 28, CNT(.punt_not_ip = 1));
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.10.2.7", 64, IPPROTO_UDP, 8);
	punt_exc("v4 header cut at 32 bytes", b, 32, CNT(.punt_ip_special = 1));
	punt_exc("v4 header cut at 33 bytes", b, 33, CNT(.punt_ip_special = 1));
	punt_exc("v4 ethertype, 14 bytes", b, 14, CNT(.punt_ip_special = 1));
	n = put_ip6(b, &br_mac, &vm1_mac, "fd00:10::11", "fd00:20::5", 64, IPPROTO_UDP, 8);
	punt_exc("v6 header cut at 52 bytes", b, 52, CNT(.punt_ip_special = 1));
	punt_exc("v6 header cut at 53 bytes", b, 53, CNT(.punt_ip_special = 1));

	/* the kernel's own frames (src = dp0's = the NIC's MAC) cross over
	 * untouched, even routable ones, and so does anything not unicast */
	n = put_ip4(b, &wire_mac, &nic_mac, "192.168.100.1", "10.10.2.7", 64, IPPROTO_TCP, 20);
	from_kernel("kernel v4, routable", b, n);
	n = put_ip4(b, &wire_mac, &nic_mac, "192.168.100.1", "10.10.2.7", 1, IPPROTO_TCP, 20);
	from_kernel("kernel v4, TTL 1", b, n);
	n = put_ip6(b, &wire_mac, &nic_mac, "fd00:100::1", "fd00:20::5", 64, IPPROTO_TCP, 20);
	from_kernel("kernel v6, routable", b, n);
	n = put_eth(b, &bcast_mac, &nic_mac, RTE_ETHER_TYPE_ARP);
	memset(b + n, 0x33, 28);
	from_kernel("kernel ARP request", b, n + 28);
	n = put_ip6(b, &mcast6_mac, &vm1_mac, "fe80::11", "ff02::1", 255, IPPROTO_ICMPV6, 8);
	from_kernel("multicast, not from dp0", b, n);
	n = put_ip4(b, &wire_mac, &nic_mac, "192.168.100.1", "10.10.2.7", 64, IPPROTO_TCP, 20);
	from_kernel("kernel, 13 bytes", b, 13);
	from_kernel("runt, 5 bytes", b, 5);
	from_kernel("empty", b, 0);
	c = add("VM runt, 6 bytes", DP_PORT_EXC, br_mac.addr_bytes, 6);
	c->verdict = DP_PORT_NIC; /* no MAC header: nothing to rewrite */
	c->cnt.from_kernel = 1;

	run_cases();
}

/* While the mirror is behind, nothing takes the fast path. */
static void test_fib_behind(void **state)
{
	uint8_t b[FRAME_MAX] __rte_aligned(8);
	uint16_t n;

	(void)state;
	fib_mirror_ops.behind(lc.fib);
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_TCP, 40);
	punt_nic("v4 to a VM, FIB behind", b, n, CNT(.punt_behind = 1));
	n = put_ip6(b, &br_mac, &vm1_mac, "fd00:10::11", "fd00:20::5", 64, IPPROTO_TCP, 40);
	punt_exc("v6 to the underlay, FIB behind", b, n, CNT(.punt_behind = 1));
	run_cases();
}

/* Without a FIB every frame crosses over untouched, runts included. */
static void test_no_fib(void **state)
{
	uint8_t b[FRAME_MAX] __rte_aligned(8);
	uint16_t n;

	(void)state;
	fib_destroy(lc.fib);
	lc.fib = NULL;
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_TCP, 40);
	add("no FIB, wire", DP_PORT_NIC, b, n)->verdict = DP_PORT_EXC;
	add("no FIB, foreign unicast", DP_PORT_NIC, b, n)->verdict = DP_PORT_EXC;
	memcpy(cases[n_cases - 1].frame, other_mac.addr_bytes, 6);
	memcpy(cases[n_cases - 1].want, other_mac.addr_bytes, 6);
	add("no FIB, runt", DP_PORT_NIC, b, 3)->verdict = DP_PORT_EXC;
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.10.2.7", 64, IPPROTO_TCP, 40);
	add("no FIB, VM", DP_PORT_EXC, b, n)->verdict = DP_PORT_NIC;
	run_cases();
}

/* TTL − 1 leaves a checksum equal to a recomputation for every TTL, with
 * headers whose new checksum is 0x0000 (where HC + 0x0100 gives 0xffff),
 * 0xffff input checksums (the other zero, RFC 1624), and random headers. */
static void test_ipv4_checksum(void **state)
{
	struct rte_mbuf *pkts[DP_DEFAULT_BURST];
	uint8_t verdict[DP_DEFAULT_BURST], in[DP_DEFAULT_BURST][FRAME_MAX] __rte_aligned(8);
	uint16_t len[DP_DEFAULT_BURST];
	unsigned int nb = 0, zeros = 0, ffff_in = 0, total = 0;
	uint32_t seed = 12345;

	(void)state;
	for (unsigned int ttl = 2; ttl <= 255; ttl++) {
		for (int variant = 0; variant < 6; variant++) {
			uint8_t *b = in[nb];
			struct rte_ipv4_hdr *ip;

			seed = seed * 1103515245u + 12345u;
			len[nb] = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11",
					  (uint8_t)ttl, IPPROTO_UDP, 8);
			ip = ip4_of(b);
			ip->type_of_service = (uint8_t)(seed >> 8);
			ip->src_addr ^= rte_cpu_to_be_32(seed >> 16); /* stays outside 10/8 */
			ip->packet_id = (uint16_t)(seed >> 3);
			if (variant <= 2) {
				/* choose the id so that the header after TTL − 1 sums
				 * to 0xffff (- variant): a fresh checksum of 0x0000,
				 * 0x0001, 0x0002 */
				ip->time_to_live--;
				ip->hdr_checksum = 0;
				ip->packet_id = 0;
				ip->packet_id = (uint16_t)~rte_raw_cksum(ip, sizeof(*ip));
				ip->packet_id =
				    (uint16_t)(ip->packet_id - rte_cpu_to_be_16(variant));
				ip->time_to_live++;
			}
			ip->hdr_checksum = ip4_cksum_fresh(b);
			if (variant == 3 && ip->hdr_checksum == 0) {
				ip->hdr_checksum = 0xffff; /* the other zero */
				ffff_in++;
			}
			if (variant == 4) {
				/* an input checksum of 0x0000 or 0xffff: set the
				 * id so that the header sums to 0xffff before */
				ip->hdr_checksum = 0;
				ip->packet_id = 0;
				ip->packet_id = (uint16_t)~rte_raw_cksum(ip, sizeof(*ip));
				ip->hdr_checksum = (ttl & 1) ? 0xffff : 0x0000;
				ffff_in += ip->hdr_checksum == 0xffff;
			}
			pkts[nb] = rte_pktmbuf_alloc(pool);
			assert_non_null(pkts[nb]);
			memcpy(rte_pktmbuf_append(pkts[nb], len[nb]), b, len[nb]);
			if (++nb < DP_DEFAULT_BURST && !(ttl == 255 && variant == 5))
				continue;
			dp_process_burst(&lc, DP_PORT_NIC, pkts, (uint16_t)nb, verdict);
			for (unsigned int i = 0; i < nb; i++) {
				uint8_t *got = rte_pktmbuf_mtod(pkts[i], uint8_t *);
				struct rte_ipv4_hdr *g = ip4_of(got), *o = ip4_of(in[i]);

				assert_int_equal(verdict[i], DP_PORT_EXC);
				assert_int_equal(g->time_to_live, o->time_to_live - 1);
				if (g->hdr_checksum != ip4_cksum_fresh(got))
					fail_msg("TTL %u, id %#x: checksum %#06x, recomputed %#06x",
						 o->time_to_live, rte_be_to_cpu_16(o->packet_id),
						 rte_be_to_cpu_16(g->hdr_checksum),
						 rte_be_to_cpu_16(ip4_cksum_fresh(got)));
				zeros += g->hdr_checksum == 0;
				/* nothing else of the IP header or payload moved */
				g->time_to_live++;
				g->hdr_checksum = o->hdr_checksum;
				assert_memory_equal(got + 12, in[i] + 12, len[i] - 12);
				rte_pktmbuf_free(pkts[i]);
				total++;
			}
			nb = 0;
		}
	}
	assert_int_equal(total, 254 * 6);
	assert_true(zeros >= 254); /* the edge case was exercised */
	assert_true(ffff_in >= 50);
	assert_int_equal(lc.counters.fast_wire_to_vm, total);
}

/* ---- the forwarding loop on ring ports: tx rings full ---- */

#define RING_RX	     1024
#define RING_TX	     64 /* holds 63: nobody drains it */
#define RING_TX_HOLD (RING_TX - 1)
#define FWD_POOL     1023
#define FWD_FRAMES   400 /* each way */

static struct rte_mempool *fwd_pool;
static struct rte_ring *rx_ring[DP_PORT_COUNT], *tx_ring[DP_PORT_COUNT];
static struct dp_port ring_port[DP_PORT_COUNT];

static int ring_ports_create(void)
{
	static const char *const names[DP_PORT_COUNT] = {"tnic", "texc"};
	char rname[32];

	fwd_pool = rte_pktmbuf_pool_create("dpfwd", FWD_POOL, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	if (fwd_pool == NULL)
		return -1;
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		snprintf(rname, sizeof(rname), "%s_rx", names[i]);
		rx_ring[i] =
		    rte_ring_create(rname, RING_RX, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(rname, sizeof(rname), "%s_tx", names[i]);
		tx_ring[i] =
		    rte_ring_create(rname, RING_TX, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (rx_ring[i] == NULL || tx_ring[i] == NULL)
			return -1;
		int id =
		    rte_eth_from_rings(names[i], &rx_ring[i], 1, &tx_ring[i], 1, SOCKET_ID_ANY);
		struct rte_eth_conf conf = {0};
		/* (the burst functions are live only once the port is started) */
		if (id < 0 || rte_eth_dev_configure((uint16_t)id, 1, 1, &conf) != 0 ||
		    rte_eth_rx_queue_setup((uint16_t)id, 0, RING_RX, SOCKET_ID_ANY, NULL,
					   fwd_pool) != 0 ||
		    rte_eth_tx_queue_setup((uint16_t)id, 0, RING_TX, SOCKET_ID_ANY, NULL) != 0 ||
		    rte_eth_dev_start((uint16_t)id) != 0)
			return -1;
		ring_port[i] = (struct dp_port){.role = names[i], .port_id = (uint16_t)id};
	}
	return 0;
}

static void enqueue_frames(struct rte_ring *r, const uint8_t *frame, uint16_t len, int n)
{
	for (int i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(fwd_pool);
		assert_non_null(m);
		memcpy(rte_pktmbuf_append(m, len), frame, len);
		assert_int_equal(rte_ring_enqueue(r, m), 0);
	}
}

/* A forwarding lcore on PORTS reading the lab FIB (as main.c sets one up),
 * for fwd_thread(). */
static struct dp_lcore *fwd_lcore_new(const struct dp_port ports[DP_PORT_COUNT])
{
	struct dp_lcore *flc = rte_zmalloc("test_lcore", sizeof(*flc), RTE_CACHE_LINE_SIZE);

	assert_non_null(flc);
	assert_int_equal(dp_lcore_init(flc, 0, DP_DEFAULT_BURST, ports, 0), 0);
	flc->fib = lc.fib;
	flc->nic_mac = nic_mac;
	flc->idle_sleep_max_us = 100;
	return flc;
}

static void *fwd_thread(void *arg)
{
	dp_lcore_main(arg);
	return NULL;
}

static void test_tx_rings_full(void **state)
{
	uint8_t b[FRAME_MAX] __rte_aligned(8);
	struct dp_lcore *flc;
	struct rte_mbuf *m;
	pthread_t th;
	uint16_t n;
	int waited;

	(void)state;
	flc = fwd_lcore_new(ring_port);
	/* wire -> vm1 (to the exception port), vm1 -> remote (to the NIC) */
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 18);
	enqueue_frames(rx_ring[DP_PORT_NIC], b, n, FWD_FRAMES);
	n = put_ip4(b, &br_mac, &vm1_mac, "10.10.1.11", "10.10.2.7", 64, IPPROTO_UDP, 18);
	enqueue_frames(rx_ring[DP_PORT_EXC], b, n, FWD_FRAMES);
	assert_int_equal(pthread_create(&th, NULL, fwd_thread, flc), 0);
	for (waited = 0; waited < 5000; waited++) {
		if (dp_counter_read(&flc->counters.nic_to_exc_packets) == FWD_FRAMES &&
		    dp_counter_read(&flc->counters.exc_to_nic_packets) == FWD_FRAMES)
			break;
		rte_delay_us_sleep(1000);
	}
	/* the loop goes on turning with both tx rings full */
	uint64_t turns = dp_counter_read(&flc->counters.heartbeat);
	rte_delay_us_sleep(20000);
	assert_true(dp_counter_read(&flc->counters.heartbeat) > turns);
	__atomic_store_n(&flc->quit, true, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(th, NULL), 0);

	assert_true(waited < 5000);
	assert_int_equal(flc->counters.fast_wire_to_vm, FWD_FRAMES);
	assert_int_equal(flc->counters.fast_vm_to_wire, FWD_FRAMES);
	/* what fit is in the rings, the rest dropped and counted, exactly */
	assert_int_equal(rte_ring_count(tx_ring[DP_PORT_EXC]), RING_TX_HOLD);
	assert_int_equal(rte_ring_count(tx_ring[DP_PORT_NIC]), RING_TX_HOLD);
	assert_int_equal(flc->counters.drop_tx_full_exc, FWD_FRAMES - RING_TX_HOLD);
	assert_int_equal(flc->counters.drop_tx_full_nic, FWD_FRAMES - RING_TX_HOLD);
	/* every dropped mbuf went back to the pool */
	assert_int_equal(rte_mempool_avail_count(fwd_pool), FWD_POOL - 2 * RING_TX_HOLD);
	/* and what was sent is the forwarded frame */
	assert_int_equal(rte_ring_dequeue(tx_ring[DP_PORT_EXC], (void **)&m), 0);
	assert_memory_equal(rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr.addr_bytes,
			    vm1_mac.addr_bytes, 6);
	rte_pktmbuf_free(m);
	assert_int_equal(rte_ring_dequeue(tx_ring[DP_PORT_NIC], (void **)&m), 0);
	assert_memory_equal(rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr.addr_bytes,
			    wire_mac.addr_bytes, 6);
	rte_pktmbuf_free(m);
	for (int i = 0; i < DP_PORT_COUNT; i++)
		while (rte_ring_dequeue(tx_ring[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	assert_int_equal(rte_mempool_avail_count(fwd_pool), FWD_POOL);
	dp_lcore_free(flc);
	rte_free(flc);
}

/* FRAME sent N times into the kernel side of tap IFNAME: the PMD reads them. */
static void tap_inject(const char *ifname, const uint8_t *frame, uint16_t len, int n)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_halen = 6};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)),
				 len);
	close(fd);
}

static uint64_t port_nombuf(uint16_t port)
{
	struct rte_eth_stats st;

	return rte_eth_stats_get(port, &st) == 0 ? st.rx_nombuf : 0;
}

#define NOMB_POOL  255
#define NOMB_DESC  64
#define NOMB_HOLD  (NOMB_POOL + 64) /* more than the pool holds */
#define NOMB_BURST 50

static void test_pool_empty(void **state)
{
	uint8_t b[FRAME_MAX] __rte_aligned(8);
	struct rte_mbuf *held[NOMB_HOLD];
	struct dp_port ports[DP_PORT_COUNT];
	struct rte_mempool *mp;
	struct rte_eth_conf conf = {0};
	struct dp_lcore *flc;
	char ifname[IF_NAMESIZE], vdev[32], args[64];
	unsigned int n_held = 0;
	uint16_t n, tap;
	pthread_t th;
	int waited;

	(void)state;
	if (geteuid() != 0)
		skip(); /* a TAP device needs root (CI runs as root) */
	snprintf(ifname, sizeof(ifname), "agtnb%d", (int)getpid() % 100000);
	snprintf(vdev, sizeof(vdev), "net_tap_nomb%d", (int)getpid() % 100000);
	snprintf(args, sizeof(args), "iface=%s", ifname);
	mp = rte_pktmbuf_pool_create("dpnomb", NOMB_POOL, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	assert_non_null(mp);
	assert_int_equal(rte_eal_hotplug_add("vdev", vdev, args), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name(vdev, &tap), 0);
	assert_int_equal(rte_eth_dev_configure(tap, 1, 1, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(tap, 0, NOMB_DESC, SOCKET_ID_ANY, NULL, mp), 0);
	assert_int_equal(rte_eth_tx_queue_setup(tap, 0, NOMB_DESC, SOCKET_ID_ANY, NULL), 0);
	assert_int_equal(rte_eth_dev_start(tap), 0);
	ports[DP_PORT_NIC] = (struct dp_port){.role = "nic", .port_id = tap};
	ports[DP_PORT_EXC] = ring_port[DP_PORT_EXC];

	flc = fwd_lcore_new(ports);
	/* the pool empty: whatever the PMD did not take already is held here */
	while (n_held < NOMB_HOLD && rte_mempool_get(mp, (void **)&held[n_held]) == 0)
		n_held++;
	assert_int_equal(rte_mempool_avail_count(mp), 0);
	assert_int_equal(pthread_create(&th, NULL, fwd_thread, flc), 0);

	/* wire -> vm1, through the TAP port; nothing can be received */
	n = put_ip4(b, &nic_mac, &peer_mac, "198.51.100.7", "10.10.1.11", 64, IPPROTO_UDP, 18);
	for (waited = 0; waited < 200 && port_nombuf(tap) == 0; waited++) {
		tap_inject(ifname, b, n, 8);
		rte_delay_us_sleep(10000);
	}
	uint64_t nombuf = port_nombuf(tap), turns = dp_counter_read(&flc->counters.heartbeat);
	rte_delay_us_sleep(20000);
	assert_true(dp_counter_read(&flc->counters.heartbeat) > turns); /* still turning */
	uint64_t fwd_empty = dp_counter_read(&flc->counters.fast_wire_to_vm);

	/* mbufs back: forwarding resumes */
	rte_mempool_put_bulk(mp, (void **)held, n_held);
	for (waited = 0; waited < 200; waited++) {
		tap_inject(ifname, b, n, 8);
		rte_delay_us_sleep(10000);
		if (dp_counter_read(&flc->counters.fast_wire_to_vm) >= fwd_empty + NOMB_BURST)
			break;
	}
	__atomic_store_n(&flc->quit, true, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message("pool empty: rx_nombuf %" PRIu64 ", forwarded meanwhile %" PRIu64
		      "; mbufs back: %" PRIu64 " forwarded\n",
		      nombuf, fwd_empty, flc->counters.fast_wire_to_vm - fwd_empty);

	assert_true(nombuf > 0);					      /* counted */
	assert_true(flc->counters.fast_wire_to_vm >= fwd_empty + NOMB_BURST); /* resumed */
	assert_int_equal(rte_eth_dev_stop(tap), 0);
	assert_int_equal(rte_eth_dev_close(tap), 0);
	{
		struct rte_mbuf *m;
		while (rte_ring_dequeue(tx_ring[DP_PORT_EXC], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
	assert_int_equal(rte_eal_hotplug_remove("vdev", vdev), 0);
	dp_lcore_free(flc);
	rte_free(flc);
	rte_mempool_free(mp);
}

/* ---- /agent/explain ---- */

struct name_list {
	char s[256];
};

static void name_add(void *arg, const char *name)
{
	struct name_list *l = arg;
	size_t n = strlen(l->s);
	snprintf(l->s + n, sizeof(l->s) - n, "%s ", name);
}

/* The same frame through dp_process_burst() (the forwarding lcore's way:
 * its neighbour cache, the shared counters) and through dp_explain_run():
 * the same verdict, the same frame out, and the counters explain names are
 * exactly those the burst moved. Returns the explanation. */
static void explain_agrees(const char *params, struct dp_explain_res *res, const char *want_cnt)
{
	struct dp_explain_req req;
	struct dp_fwd_counters before, d;
	struct name_list got = {{0}}, moved = {{0}};
	struct rte_mbuf gm, *p = &gm;
	uint8_t frame[DP_EXPLAIN_FRAME_MAX], v = 0xaa;
	uint16_t len;

	assert_int_equal(dp_explain_parse(params, &req), 0);
	len = dp_explain_frame(&req, &nic_mac, frame);
	assert_int_equal(dp_explain_run(lc.fib, &nic_mac, &req, res), 0);
	/* twice through the lcore: a cold and a warm neighbour cache */
	for (int round = 0; round < 2; round++) {
		guard_mbuf(&gm, 0, frame, len);
		before = lc.counters;
		dp_process_burst(&lc, req.in, &p, 1, &v);
		if (v != res->verdict)
			fail_msg("%s: burst verdict %u, explain %u", params, v, res->verdict);
		assert_int_equal(rte_pktmbuf_data_len(&gm), res->len);
		if (memcmp(rte_pktmbuf_mtod(&gm, void *), res->frame, res->len) != 0)
			fail_msg("%s: the burst's frame out differs from explain's", params);
		counters_sub(&d, &lc.counters, &before);
		moved.s[0] = '\0';
#define DP_X(n)                                                                                    \
	if (d.n != 0 && strcmp(#n, "heartbeat") != 0)                                              \
		name_add(&moved, #n);
		DP_FWD_COUNTERS(DP_X)
#undef DP_X
		got.s[0] = '\0';
		dp_explain_counters(&res->t, name_add, &got);
		/* (the tally is in tally order, the counters in theirs: compare sets) */
		for (char *tok = strtok(got.s, " "); tok; tok = strtok(NULL, " "))
			if (strstr(moved.s, tok) == NULL)
				fail_msg("%s: explain names %s, the burst moved: %s", params, tok,
					 moved.s);
		got.s[0] = '\0';
		dp_explain_counters(&res->t, name_add, &got);
		if (strlen(got.s) != strlen(moved.s))
			fail_msg("%s: explain names '%s', the burst moved '%s'", params, got.s,
				 moved.s);
		if (want_cnt != NULL && strcmp(got.s, want_cnt) != 0)
			fail_msg("%s: counters '%s', want '%s'", params, got.s, want_cnt);
	}
}

static void test_explain(void **state)
{
	struct dp_explain_res *res = calloc(1, sizeof(*res));
	char mac[RTE_ETHER_ADDR_FMT_SIZE], want[RTE_ETHER_ADDR_FMT_SIZE];
	struct dp_explain_req req;
	bool seen[2] = {false, false};

	(void)state;
	assert_non_null(res);
	/* VM -> remote: fast, its route, next hop and neighbour */
	explain_agrees("10.10.1.11,10.10.2.7,tcp,5000,80,vm", res, "fast_vm_to_wire ");
	assert_true(res->has_route && res->route.dst_len == 24 && res->has_neigh);
	assert_int_equal(res->tr.chosen, 0);
	assert_int_equal(res->tr.path[0], FIB_TP_TAKEN);
	dp_format_mac(&res->neigh_mac, mac, sizeof(mac));
	dp_format_mac(&wire_mac, want, sizeof(want));
	assert_string_equal(mac, want);
	explain_agrees("fd00:10::11,fd00:20::7,udp,5000,53,vm", res, "fast_vm_to_wire ");
	/* wire -> VM */
	explain_agrees("198.51.100.7,10.10.1.11,udp,53,5000,wire", res, "fast_wire_to_vm ");
	explain_agrees("2001:db8::7,fd00:10::11,icmp,0,0,wire", res, "fast_wire_to_vm ");
	/* through the tenant VLAN: the frame as it leaves, tagged */
	explain_agrees("10.10.1.11,10.10.5.7,udp,5000,53,vm", res, "fast_vm_to_wire vlan_tagged ");
	assert_int_equal(res->len, 14 + 4 + 20 + 8); /* Ethernet, tag, IPv4, UDP */
	assert_int_equal(res->frame[12], 0x81);
	assert_int_equal(res->frame[15], 100);
	/* the punt reasons, each with its counter */
	explain_agrees("10.10.1.11,10.10.1.1,udp,1,2,vm", res, "kernel_from_vm punt_local ");
	explain_agrees("198.51.100.7,192.168.100.1,tcp,1,22,wire", res,
		       "kernel_from_wire punt_local ");
	explain_agrees("10.10.1.11,198.51.100.9,udp,1,2,vm", res, "kernel_from_vm punt_no_route ");
	assert_false(res->has_route);
	explain_agrees("10.10.1.11,10.10.3.5,udp,1,2,vm", res, "kernel_from_vm punt_unresolved ");
	assert_int_equal(res->tr.path[0], FIB_TP_UNRESOLVED);
	assert_false(res->has_neigh);
	explain_agrees("10.10.1.11,10.66.1.1,udp,1,2,vm", res, "kernel_from_vm punt_not_fast ");
	explain_agrees("198.51.100.7,10.10.2.7,udp,1,2,wire", res,
		       "kernel_from_wire punt_not_fast ");
	explain_agrees("10.10.1.11,224.0.0.5,udp,1,2,vm", res, "kernel_from_vm punt_ip_special ");
	/* ECMP: the member each flow's hash picks is the one the burst took */
	for (int sport = 1000; sport < 1064; sport++) {
		char params[96];
		snprintf(params, sizeof(params), "10.10.1.11,10.20.1.1,udp,%d,80,vm", sport);
		explain_agrees(params, res, "fast_vm_to_wire ");
		assert_int_equal(res->nh.n, 2);
		assert_int_equal(res->tr.chosen, res->tr.first);
		seen[res->tr.chosen] = true;
		snprintf(params, sizeof(params), "fd00:10::11,fd00:40::1,tcp,%d,80,vm", sport);
		explain_agrees(params, res, "fast_vm_to_wire ");
	}
	assert_true(seen[0] && seen[1]);
	/* FIB behind: everything punts */
	fib_mirror_ops.behind(lc.fib);
	explain_agrees("10.10.1.11,10.10.2.7,tcp,5000,80,vm", res, "kernel_from_vm punt_behind ");
	/* the parser */
	assert_int_equal(dp_explain_parse("10.10.1.11,10.10.2.7,tcp,5000,80", &req), -EINVAL);
	assert_int_equal(dp_explain_parse("10.10.1.11,fd00::1,tcp,5000,80,vm", &req), -EINVAL);
	assert_int_equal(dp_explain_parse("10.10.1.11,10.10.2.7,tcp,65536,80,vm", &req), -EINVAL);
	assert_int_equal(dp_explain_parse("10.10.1.11,10.10.2.7,gre,1,80,vm", &req), -EINVAL);
	assert_int_equal(dp_explain_parse("10.10.1.11,10.10.2.7,47,,,nic", &req), -EINVAL);
	assert_int_equal(dp_explain_parse("10.10.1.11,10.10.2.7,47,,,wire", &req), 0);
	assert_int_equal(req.proto, 47);
	assert_int_equal(dp_explain_parse(NULL, &req), -EINVAL);
	free(res);
}

int main(void)
{
	char prefix[64], cmd[PATH_MAX + 16];
	int ret;

	snprintf(prefix, sizeof(prefix), "--file-prefix=dpproc%d", getpid());
	char *eal[] = {"test_dp_process", "-l", "0", "--no-huge", "--no-pci", "-m", "64",
		       "--no-shconf", "--no-telemetry", "--log-level=lib.eal:error",
		       /* (no multiq qdisc here, --no-shconf: the TAP PMD says so) */
		       "--log-level=pmd.net.tap:critical", prefix};
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	pool =
	    rte_pktmbuf_pool_create("dpproc", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	page = sysconf(_SC_PAGESIZE);
	guard_mem = mmap(NULL, (size_t)GUARD_SLOTS * 2 * page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	lc.ncache = calloc(1, sizeof(*lc.ncache));
	if (pool == NULL || guard_mem == MAP_FAILED || lc.ncache == NULL) {
		fprintf(stderr, "no mempool, guard pages or neighbour cache\n");
		return 1;
	}
	for (int i = 0; i < GUARD_SLOTS; i++)
		if (mprotect(guard_mem + (size_t)(2 * i + 1) * page, page, PROT_NONE) != 0)
			return 1;
	if (ring_ports_create() < 0) {
		fprintf(stderr, "no ring ports: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_from_nic, lab_setup, lab_teardown),
	    cmocka_unit_test_setup_teardown(test_from_exception, lab_setup, lab_teardown),
	    cmocka_unit_test_setup_teardown(test_vlans, lab_setup, lab_teardown),
	    cmocka_unit_test_setup_teardown(test_fib_behind, lab_setup, lab_teardown),
	    cmocka_unit_test_setup_teardown(test_explain, lab_setup, lab_teardown),
	    cmocka_unit_test_setup_teardown(test_no_fib, lab_setup, lab_teardown),
	    cmocka_unit_test_setup_teardown(test_ipv4_checksum, lab_setup, lab_teardown),
	    cmocka_unit_test_setup_teardown(test_tx_rings_full, lab_setup, lab_teardown),
	    cmocka_unit_test_setup_teardown(test_pool_empty, lab_setup, lab_teardown),
	};
	ret = cmocka_run_group_tests_name("dp_process", tests, NULL, NULL);
	free(lc.ncache);
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		rte_eth_dev_stop(ring_port[i].port_id);
		rte_eth_dev_close(ring_port[i].port_id);
		rte_ring_free(rx_ring[i]);
		rte_ring_free(tx_ring[i]);
	}
	rte_mempool_free(fwd_pool);
	munmap(guard_mem, (size_t)GUARD_SLOTS * 2 * page);
	rte_mempool_free(pool);
	/* (--in-memory cannot go with --no-huge) EAL leaves its runtime dir
	 * behind even with --no-shconf */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove the EAL runtime dir\n");
	return ret;
}
