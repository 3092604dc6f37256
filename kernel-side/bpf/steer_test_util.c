/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/ethernet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "steer_test_util.h"

int steer_test_sandbox(bool netns, char *tmpdir, size_t len)
{
	char path[PATH_MAX];

	if (unshare(CLONE_NEWNS | (netns ? CLONE_NEWNET : 0)) < 0)
		return -errno;
	/* Mounts made from now on (the test bpffs) vanish with the process. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (snprintf(tmpdir, len, "/tmp/steer-test-XXXXXX") >= (int)len)
		return -ENAMETOOLONG;
	if (mkdtemp(tmpdir) == NULL)
		return -errno;
	snprintf(path, sizeof(path), "%s/bpffs", tmpdir);
	if (mkdir(path, 0700) < 0)
		return -errno;
	if (netns && steer_test_sh("ip link set lo up") != 0)
		return -EIO;
	return 0;
}

void steer_test_sandbox_cleanup(const char *tmpdir)
{
	char path[PATH_MAX];

	if (tmpdir == NULL || tmpdir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/bpffs", tmpdir);
	umount2(path, MNT_DETACH);
	steer_test_sh("rm -rf '%s'", tmpdir);
}

int steer_test_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* L4 checksum with the IPv4/IPv6 pseudo-header (ICMPv4 has none). */
static uint16_t l4_csum(int family, const void *src, const void *dst, uint8_t proto, const void *l4,
			size_t l4_len)
{
	uint32_t sum = 0;
	size_t alen = family == AF_INET ? 4 : 16;

	if (!(family == AF_INET && proto == IPPROTO_ICMP)) {
		sum = csum_add(sum, src, alen);
		sum = csum_add(sum, dst, alen);
		sum += proto;
		sum += (uint32_t)l4_len;
	}
	return csum_fold(csum_add(sum, l4, l4_len));
}

static const uint8_t default_src_mac[6] = {0x02, 0, 0, 0, 0, 0xaa};

static int is_zero_mac(const uint8_t *m)
{
	static const uint8_t zero[6];

	return memcmp(m, zero, 6) == 0;
}

static size_t l2_build(const uint8_t dst[6], const uint8_t src[6], uint16_t vlan,
		       uint16_t ethertype, uint8_t *buf)
{
	size_t off = 0;
	uint16_t be;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, is_zero_mac(src) ? default_src_mac : src, 6);
	off = 12;
	if (vlan) {
		be = htons(ETHERTYPE_VLAN);
		memcpy(buf + off, &be, 2);
		be = htons(vlan & 0xfff);
		memcpy(buf + off + 2, &be, 2);
		off += 4;
	}
	be = htons(ethertype);
	memcpy(buf + off, &be, 2);
	return off + 2;
}

/* Writes the L4 header + payload at L4 (any alignment), returns its length. */
static size_t l4_build(const struct pkt_spec *spec, uint8_t proto, uint8_t *l4, size_t room)
{
	size_t payload = spec->payload ? spec->payload : 32;
	size_t hlen;

	switch (proto) {
	case IPPROTO_TCP:
		hlen = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
		hlen = sizeof(struct udphdr);
		break;
	default: /* ICMP, ICMPv6, or an opaque 8-byte header */
		hlen = 8;
		break;
	}
	if (hlen + payload > room)
		return 0;
	memset(l4, 0, hlen);
	memset(l4 + hlen, spec->marker, payload);
	/* Headers are built in aligned locals and copied: the frame buffer
	 * puts them at odd offsets (14 bytes of Ethernet). */
	if (proto == IPPROTO_TCP) {
		struct tcphdr th = {
		    .source = htons(40000),
		    .dest = htons(5201),
		    .seq = htonl(1),
		    .doff = 5,
		    .ack = 1,
		    .window = htons(65535),
		};

		memcpy(l4, &th, sizeof(th));
	} else if (proto == IPPROTO_UDP) {
		struct udphdr uh = {
		    .source = htons(40000),
		    .dest = htons(5201),
		    .len = htons(hlen + payload),
		};

		memcpy(l4, &uh, sizeof(uh));
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		l4[0] = spec->icmp_type;
		l4[1] = 0;
		/* echo: identifier 1, sequence 1 */
		l4[5] = 1;
		l4[7] = 1;
	}
	return hlen + payload;
}

/* Store the L4 checksum at its place in the header. */
static void l4_csum_store(uint8_t proto, uint8_t *l4, uint16_t csum)
{
	if (proto == IPPROTO_UDP)
		memcpy(l4 + 6, &csum, 2);
	else if (proto == IPPROTO_TCP)
		memcpy(l4 + 16, &csum, 2);
	else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		memcpy(l4 + 2, &csum, 2);
}

size_t pkt_build(const struct pkt_spec *spec, uint8_t *buf, size_t size)
{
	uint8_t proto = spec->proto ? spec->proto : IPPROTO_UDP;
	uint8_t ttl = spec->ttl_zero ? 0 : (spec->ttl ? spec->ttl : 64);
	size_t off, l4_len;
	uint8_t *l4;

	if (size < 128 || spec->dst == NULL)
		return 0;
	if (spec->family == AF_INET) {
		size_t ihl = spec->ip_options ? 24 : 20;
		struct in_addr src, dst;
		uint8_t hdr[24];
		struct iphdr ip;

		if (inet_pton(AF_INET, spec->src ? spec->src : "10.10.1.11", &src) != 1 ||
		    inet_pton(AF_INET, spec->dst, &dst) != 1)
			return 0;
		off = l2_build(spec->dst_mac, spec->src_mac, spec->vlan, ETHERTYPE_IP, buf);
		l4 = buf + off + ihl;
		l4_len = l4_build(spec, proto, l4, size - off - ihl);
		if (l4_len == 0)
			return 0;
		memset(&ip, 0, sizeof(ip));
		ip.version = 4;
		ip.ihl = ihl / 4;
		ip.ttl = ttl;
		ip.protocol = proto;
		ip.frag_off = htons(spec->frag_off);
		ip.id = htons(0x1234);
		ip.tot_len = htons(ihl + l4_len);
		ip.saddr = src.s_addr;
		ip.daddr = dst.s_addr;
		memcpy(hdr, &ip, sizeof(ip));
		memset(hdr + 20, IPOPT_NOP, 4);
		ip.check = csum_fold(csum_add(0, hdr, ihl));
		memcpy(hdr, &ip, sizeof(ip));
		memcpy(buf + off, hdr, ihl);
		l4_csum_store(proto, l4, l4_csum(AF_INET, &src, &dst, proto, l4, l4_len));
		return off + ihl + l4_len;
	}
	if (spec->family == AF_INET6) {
		struct in6_addr src, dst;
		struct ip6_hdr ip6;

		if (inet_pton(AF_INET6, spec->src ? spec->src : "fd00:1::11", &src) != 1 ||
		    inet_pton(AF_INET6, spec->dst, &dst) != 1)
			return 0;
		off = l2_build(spec->dst_mac, spec->src_mac, spec->vlan, ETHERTYPE_IPV6, buf);
		l4 = buf + off + sizeof(ip6);
		l4_len = l4_build(spec, proto, l4, size - off - sizeof(ip6));
		if (l4_len == 0)
			return 0;
		/* Neighbour solicitation/advertisement: reserved word + target. */
		if (proto == IPPROTO_ICMPV6 && (spec->icmp_type == ND_NEIGHBOR_SOLICIT ||
						spec->icmp_type == ND_NEIGHBOR_ADVERT)) {
			if (l4_len < 24)
				return 0;
			memset(l4 + 4, 0, 4);
			memcpy(l4 + 8, &dst, 16);
		}
		memset(&ip6, 0, sizeof(ip6));
		ip6.ip6_flow = htonl(6u << 28);
		ip6.ip6_nxt = proto;
		ip6.ip6_hlim = ttl;
		ip6.ip6_plen = htons(l4_len);
		ip6.ip6_src = src;
		ip6.ip6_dst = dst;
		memcpy(buf + off, &ip6, sizeof(ip6));
		l4_csum_store(proto, l4, l4_csum(AF_INET6, &src, &dst, proto, l4, l4_len));
		return off + sizeof(ip6) + l4_len;
	}
	return 0;
}

size_t pkt_build_arp(const uint8_t dst_mac[6], const uint8_t src_mac[6], int op,
		     const char *sender_ip, const char *target_ip, uint8_t *buf, size_t size)
{
	const uint8_t *sha = is_zero_mac(src_mac) ? default_src_mac : src_mac;
	struct in_addr spa, tpa;
	uint8_t *arp;
	size_t off;

	if (size < 64 || inet_pton(AF_INET, sender_ip, &spa) != 1 ||
	    inet_pton(AF_INET, target_ip, &tpa) != 1)
		return 0;
	off = l2_build(dst_mac, src_mac, 0, ETHERTYPE_ARP, buf);
	arp = buf + off;
	arp[0] = 0, arp[1] = 1;	   /* hardware: Ethernet */
	arp[2] = 0x08, arp[3] = 0; /* protocol: IPv4 */
	arp[4] = 6, arp[5] = 4;
	arp[6] = 0, arp[7] = op;
	memcpy(arp + 8, sha, 6);
	memcpy(arp + 14, &spa, 4);
	if (op == 2)
		memcpy(arp + 18, dst_mac, 6);
	else
		memset(arp + 18, 0, 6);
	memcpy(arp + 24, &tpa, 4);
	/* Pad to the 60-byte Ethernet minimum, as a NIC would. */
	memset(arp + 28, 0, 60 - off - 28);
	return 60;
}
