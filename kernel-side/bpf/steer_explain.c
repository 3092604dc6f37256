/* SPDX-License-Identifier: BSD-3-Clause */
/* What the steering programs do with a frame, told from user space for
 * `agentctl explain` (include/steer.h): the tests of steer.bpf.c, in its
 * order, on the same maps. The BPF programs cannot be run here without
 * moving their counters (BPF_PROG_TEST_RUN runs the attached instance), so
 * this is a second reading of them: test_steer_progs runs every frame of
 * its cases through both and fails where they disagree. */
#define LOG_TYPE "steer"
#include <agent_log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <steer.h>

#define IPV4_FRAG_MASK	  0x3fff
#define ICMPV6_ECHO_REQ	  128
#define ICMPV6_ECHO_REPLY 129

/* The MTU of IFINDEX, 0 if there is no such device (the program's
 * bpf_check_mtu fails then too). */
static unsigned int if_mtu(int ifindex)
{
	struct ifreq ifr = {0};
	int fd, ret;

	if (if_indextoname((unsigned int)ifindex, ifr.ifr_name) == NULL)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ret = ioctl(fd, SIOCGIFMTU, &ifr);
	close(fd);
	return ret < 0 ? 0 : (unsigned int)ifr.ifr_mtu;
}

static bool is_local(struct steer *s, int family, const uint8_t *addr)
{
	return steer_local_addr_has(s, family, addr) > 0;
}

static enum steer_counter classify_ipv4(struct steer *s, const uint8_t *l3, size_t len)
{
	struct iphdr ip;
	uint32_t daddr;

	if (len < sizeof(ip))
		return STEER_CNT_VM_PASS_OTHER;
	memcpy(&ip, l3, sizeof(ip));
	if (ip.version != 4 || ip.ihl < 5)
		return STEER_CNT_VM_PASS_OTHER;
	daddr = ntohl(ip.daddr);
	if ((daddr & 0xf0000000) == 0xe0000000 || daddr == 0xffffffff ||
	    (daddr & 0xff000000) == 0 || (daddr & 0xff000000) == 0x7f000000 ||
	    (daddr & 0xffff0000) == 0xa9fe0000)
		return STEER_CNT_VM_PASS_OTHER;
	if (is_local(s, AF_INET, (const uint8_t *)&ip.daddr))
		return STEER_CNT_VM_PASS_LOCAL;
	if (ip.ihl != 5 || (ip.frag_off & htons(IPV4_FRAG_MASK)) || ip.ttl <= 1)
		return STEER_CNT_VM_PASS_OTHER;
	return STEER_CNT_VM_REDIRECTED;
}

static bool ipv6_special(const uint8_t *a)
{
	static const uint8_t zero[15];

	if (a[0] == 0xff)
		return true;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return true;
	return memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1);
}

static enum steer_counter classify_ipv6(struct steer *s, const uint8_t *l3, size_t len)
{
	struct ipv6hdr ip6;

	if (len < sizeof(ip6))
		return STEER_CNT_VM_PASS_OTHER;
	memcpy(&ip6, l3, sizeof(ip6));
	if (ip6.version != 6)
		return STEER_CNT_VM_PASS_OTHER;
	if (ipv6_special(ip6.daddr.s6_addr) || ipv6_special(ip6.saddr.s6_addr))
		return STEER_CNT_VM_PASS_OTHER;
	if (is_local(s, AF_INET6, ip6.daddr.s6_addr))
		return STEER_CNT_VM_PASS_LOCAL;
	if (ip6.hop_limit <= 1)
		return STEER_CNT_VM_PASS_OTHER;
	switch (ip6.nexthdr) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return STEER_CNT_VM_REDIRECTED;
	case IPPROTO_ICMPV6:
		if (len < sizeof(ip6) + 1)
			return STEER_CNT_VM_PASS_OTHER;
		if (l3[sizeof(ip6)] == ICMPV6_ECHO_REQ || l3[sizeof(ip6)] == ICMPV6_ECHO_REPLY)
			return STEER_CNT_VM_REDIRECTED;
		return STEER_CNT_VM_PASS_OTHER;
	default:
		return STEER_CNT_VM_PASS_OTHER;
	}
}

int steer_explain_vm(struct steer *s, const uint8_t *frame, size_t len, struct steer_explain *out)
{
	struct steer_settings set;
	struct ethhdr eth;
	enum steer_counter c;

	memset(out, 0, sizeof(*out));
	if (steer_settings_get(s, &set) < 0 || set.mode != STEER_MODE_FAST ||
	    set.exc_ifindex == 0) {
		out->counter = STEER_CNT_VM_PASS_MODE;
		return 0;
	}
	out->ifindex = (int)set.exc_ifindex;
	if (len < sizeof(eth)) {
		out->counter = STEER_CNT_VM_PASS_OTHER;
		return 0;
	}
	memcpy(&eth, frame, sizeof(eth));
	if (memcmp(eth.h_dest, set.gateway_mac, 6) != 0) {
		out->counter = STEER_CNT_VM_PASS_NOT_GATEWAY;
		return 0;
	}
	if (eth.h_proto == htons(ETH_P_IP))
		c = classify_ipv4(s, frame + sizeof(eth), len - sizeof(eth));
	else if (eth.h_proto == htons(ETH_P_IPV6))
		c = classify_ipv6(s, frame + sizeof(eth), len - sizeof(eth));
	else
		c = STEER_CNT_VM_PASS_NON_IP;
	out->mtu = if_mtu((int)set.exc_ifindex);
	/* bpf_check_mtu: the L3 length against the device's MTU */
	if (c == STEER_CNT_VM_REDIRECTED && (out->mtu == 0 || len - sizeof(eth) > out->mtu))
		c = STEER_CNT_VM_PASS_MTU;
	out->counter = c;
	return 0;
}

int steer_explain_exc(struct steer *s, const uint8_t *frame, size_t len, bool to_dp0,
		      struct steer_explain *out)
{
	struct steer_settings set;
	struct ethhdr eth;
	int n;

	memset(out, 0, sizeof(*out));
	if (steer_settings_get(s, &set) < 0) {
		out->counter = STEER_CNT_EXC_PASS_MODE;
		return 0;
	}
	if (len < sizeof(eth)) {
		out->counter = STEER_CNT_EXC_PASS_UNKNOWN_MAC;
		return 0;
	}
	memcpy(&eth, frame, sizeof(eth));
	if (memcmp(eth.h_source, set.gateway_mac, 6) != 0) {
		out->counter = STEER_CNT_EXC_PASS_NOT_ROUTED;
		return 0;
	}
	n = steer_vm_mac_lookup(s, eth.h_dest, &out->ifindex);
	if (n < 0)
		return n;
	if (n > 0 && out->ifindex != 0) {
		/* too big for the VM port: the kernel's (too_big_for) */
		out->mtu = if_mtu(out->ifindex);
		out->counter = len - sizeof(eth) > out->mtu ? STEER_CNT_EXC_PASS_MTU
							    : STEER_CNT_EXC_REDIRECTED;
		out->to_host = out->counter == STEER_CNT_EXC_PASS_MTU;
		return 0;
	}
	out->ifindex = 0;
	/* PACKET_OTHERHOST: unicast that is not dp0's own MAC */
	if (!to_dp0 && !(eth.h_dest[0] & 1) && set.bridge_ifindex) {
		out->ifindex = (int)set.bridge_ifindex;
		out->mtu = if_mtu(out->ifindex);
		out->counter =
		    len - sizeof(eth) > out->mtu ? STEER_CNT_EXC_PASS_MTU : STEER_CNT_EXC_TO_BRIDGE;
		out->to_host = out->counter == STEER_CNT_EXC_PASS_MTU;
		return 0;
	}
	out->counter = STEER_CNT_EXC_PASS_UNKNOWN_MAC;
	/* no one bridge to give it to (several VM bridges): the kernel's */
	out->to_host = !to_dp0 && !(eth.h_dest[0] & 1);
	return 0;
}
