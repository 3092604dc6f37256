/* SPDX-License-Identifier: BSD-3-Clause */
/* /agent/explain's core (explain.h): a crafted frame through the
 * forwarding code. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "explain.h"

/* Stand-ins for the MACs the dataplane does not know: a wire peer's, a
 * VM's and the gateway's (the bridge's). The code reads only whether a MAC
 * is the NIC's and whether it is unicast. */
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x02}};
static const struct rte_ether_addr gw_mac = {{0x02, 0, 0, 0, 0, 0x01}};

/* Field I (0-based) of the comma-separated S, in OUT (size OUTLEN). */
static int field(const char *s, int i, char *out, size_t outlen)
{
	for (; i > 0; i--) {
		s = strchr(s, ',');
		if (s == NULL)
			return -EINVAL;
		s++;
	}
	size_t n = strcspn(s, ",");
	if (n >= outlen)
		return -EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int number(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (s[0] == '\0') {
		*v = 0;
		return 0;
	}
	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *end != '\0' || *v > max ? -EINVAL : 0;
}

int dp_explain_parse(const char *params, struct dp_explain_req *req)
{
	char f[6][INET6_ADDRSTRLEN + 1];
	unsigned long v;
	int commas = 0;

	memset(req, 0, sizeof(*req));
	if (params == NULL)
		return -EINVAL;
	for (const char *p = params; *p; p++)
		commas += *p == ',';
	if (commas != 5)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		if (field(params, i, f[i], sizeof(f[i])) < 0)
			return -EINVAL;
	req->family = strchr(f[1], ':') ? AF_INET6 : AF_INET;
	if (inet_pton(req->family, f[0], req->src) != 1 ||
	    inet_pton(req->family, f[1], req->dst) != 1)
		return -EINVAL;
	if (strcasecmp(f[2], "tcp") == 0)
		req->proto = IPPROTO_TCP;
	else if (strcasecmp(f[2], "udp") == 0)
		req->proto = IPPROTO_UDP;
	else if (strcasecmp(f[2], "sctp") == 0)
		req->proto = IPPROTO_SCTP;
	else if (strcasecmp(f[2], "icmp") == 0 || strcasecmp(f[2], "icmpv6") == 0)
		req->proto = req->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	else if (f[2][0] != '\0' && number(f[2], 255, &v) == 0)
		req->proto = (uint8_t)v;
	else
		return -EINVAL;
	if (number(f[3], 65535, &v) < 0)
		return -EINVAL;
	req->sport = (uint16_t)v;
	if (number(f[4], 65535, &v) < 0)
		return -EINVAL;
	req->dport = (uint16_t)v;
	if (strcmp(f[5], "vm") == 0)
		req->in = DP_PORT_EXC;
	else if (strcmp(f[5], "wire") == 0)
		req->in = DP_PORT_NIC;
	else
		return -EINVAL;
	return 0;
}

/* The first 8 bytes of L4: the ports (what the flow hash reads), or an
 * echo request; zero otherwise. */
static void l4_fill(const struct dp_explain_req *req, uint8_t *l4)
{
	memset(l4, 0, 8);
	if (req->proto == IPPROTO_ICMP || req->proto == IPPROTO_ICMPV6) {
		l4[0] = req->proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
		return;
	}
	l4[0] = (uint8_t)(req->sport >> 8);
	l4[1] = (uint8_t)req->sport;
	l4[2] = (uint8_t)(req->dport >> 8);
	l4[3] = (uint8_t)req->dport;
}

uint16_t dp_explain_frame(const struct dp_explain_req *req, const struct rte_ether_addr *nic_mac,
			  uint8_t *buf)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	struct rte_ether_addr src = peer_mac;
	uint16_t len = sizeof(*eth);

	memset(buf, 0, DP_EXPLAIN_FRAME_MAX);
	if (rte_is_same_ether_addr(&src, nic_mac))
		src.addr_bytes[5] ^= 0x80; /* never the NIC's own */
	if (req->in == DP_PORT_NIC) {
		eth->dst_addr = *nic_mac;
	} else {
		eth->dst_addr = gw_mac;
	}
	eth->src_addr = src;
	if (req->family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + 8);
		ip->time_to_live = 64;
		ip->next_proto_id = req->proto;
		memcpy(&ip->src_addr, req->src, 4);
		memcpy(&ip->dst_addr, req->dst, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		l4_fill(req, (uint8_t *)(ip + 1));
		len += sizeof(*ip) + 8;
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->payload_len = rte_cpu_to_be_16(8);
		ip6->proto = req->proto;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, req->src, 16);
		memcpy(ip6->dst_addr, req->dst, 16);
		l4_fill(req, (uint8_t *)(ip6 + 1));
		len += sizeof(*ip6) + 8;
	}
	return len;
}

int dp_explain_run(struct fib *f, const struct rte_ether_addr *nic_mac,
		   const struct dp_explain_req *req, struct dp_explain_res *res)
{
	struct dp_lcore lc; /* the fields the decision reads: fib, nic_mac, ncache */
	struct rte_mbuf m;
	/* headroom as a received mbuf has: a frame routed through a tenant
	 * VLAN is tagged in it (process.h), and explained as it leaves */
	uint8_t buf[RTE_PKTMBUF_HEADROOM + DP_EXPLAIN_FRAME_MAX];

	memset(res, 0, sizeof(*res));
	memset(&lc, 0, sizeof(lc));
	lc.fib = f;
	lc.nic_mac = *nic_mac;
	lc.ncache = NULL; /* the forwarding lcore's cache holds what the hash holds */
	res->len = dp_explain_frame(req, nic_mac, buf + RTE_PKTMBUF_HEADROOM);
	memset(&m, 0, sizeof(m));
	m.buf_addr = buf;
	m.buf_len = sizeof(buf);
	m.data_off = RTE_PKTMBUF_HEADROOM;
	m.data_len = res->len;
	m.pkt_len = res->len;
	m.nb_segs = 1;
	res->tr.chosen = -1;
	if (f == NULL) {
		res->verdict = dp_process_traced(&lc, req->in, &m, &res->t, &res->tr);
		goto out;
	}
	fib_ctl_lock(f);
	res->verdict = dp_process_traced(&lc, req->in, &m, &res->t, &res->tr);
	/* copied while the lock keeps them alive */
	if (res->tr.nh != NULL) {
		res->nh = *res->tr.nh;
		res->has_nh = true;
	}
	if (res->tr.neigh != NULL) {
		res->neigh_mac = res->tr.neigh->mac;
		res->has_neigh = true;
	}
	if (fib_route_match_locked(f, req->family, req->dst, &res->route) == 0) {
		if (res->route.nh != NULL) {
			res->route.nh_copy = *res->route.nh;
			res->route.nh = &res->route.nh_copy;
		}
		res->has_route = true;
	}
	fib_ctl_unlock(f);
	res->tr.nh = NULL;
	res->tr.neigh = NULL;
out:
	/* the frame as it leaves (4 bytes longer or shorter through a VLAN) */
	res->len = RTE_MIN(rte_pktmbuf_data_len(&m), (uint16_t)sizeof(res->frame));
	memcpy(res->frame, rte_pktmbuf_mtod(&m, const uint8_t *), res->len);
	return 0;
}

void dp_explain_counters(const struct dp_burst_tally *t, void (*cb)(void *arg, const char *name),
			 void *arg)
{
#define DP_T(name)                                                                                 \
	if (t->name)                                                                               \
		cb(arg, #name);
	DP_TALLY_FIELDS(DP_T)
#undef DP_T
#define DP_P(name)                                                                                 \
	if (t->punt[FIB_PUNT_##name])                                                              \
		cb(arg, "punt_" #name);
	FIB_PUNT_REASONS(DP_P)
#undef DP_P
}
