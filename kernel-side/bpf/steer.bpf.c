// SPDX-License-Identifier: (BSD-3-Clause OR GPL-2.0)
/* Steering programs of packet paths 1-3 (docs/steering.md).
 *
 * steer_vm_ingress  tc ingress on every VM port: unicast IPv4/IPv6 sent to the
 *                   gateway MAC, not for the host, forwardable as is → redirect
 *                   unchanged to the egress of dp0 (DPDK routes it).
 * steer_exc_ingress tc ingress on dp0: frames DPDK addressed to a VM's MAC →
 *                   redirect to the egress of that VM's port (in every mode:
 *                   they exist only while a dataplane routes them).
 * Everything else returns TC_ACT_OK: the kernel bridges/routes it (slow path).
 *
 * The programs only classify and redirect; every header access is preceded by
 * an explicit bounds check against data_end. No global variables: every piece
 * of state is in an explicit map so that all of it can be pinned and adopted
 * by a restarted agentd. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <steer_maps.h>

#ifndef PACKET_OTHERHOST
#define PACKET_OTHERHOST 3 /* linux/if_packet.h */
#endif
#ifndef PACKET_HOST
#define PACKET_HOST 0
#endif
#define IPV4_FRAG_MASK	  0x3fff /* MF flag + fragment offset */
#define ICMPV6_ECHO_REQ	  128
#define ICMPV6_ECHO_REPLY 129
/* Ethernet + IPv6 header + the first bytes of L4: all the program reads. */
#define STEER_HDR_WANT (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + 4)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_settings);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_LOCAL_ADDRS);
	__type(key, struct steer_addr_key);
	__type(value, __u8);
} local_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_VM_MACS);
	__type(key, struct steer_mac_key);
	__type(value, struct steer_vm_port);
} vm_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_CNT_SLOTS);
	__type(key, __u32);
	__type(value, struct steer_counter_value);
} counters SEC(".maps");

static __always_inline void count(__u32 idx, const struct __sk_buff *skb)
{
	struct steer_counter_value *v = bpf_map_lookup_elem(&counters, &idx);

	/* Per-CPU slot: no other writer, plain increments are enough. */
	if (v) {
		v->packets++;
		v->bytes += skb->len;
	}
}

static __always_inline int pass(__u32 idx, const struct __sk_buff *skb)
{
	count(idx, skb);
	return TC_ACT_OK;
}

static __always_inline struct steer_settings *settings_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&settings, &key);
}

/* Headers are normally in the linear part; when they are not (some GRO/GSO
 * skbs), pull them so that direct packet access can see them. */
static __always_inline void pull_headers(struct __sk_buff *skb)
{
	__u32 linear = skb->data_end - skb->data;

	if (linear < STEER_HDR_WANT && skb->len > linear)
		bpf_skb_pull_data(skb, skb->len < STEER_HDR_WANT ? skb->len : STEER_HDR_WANT);
}

static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
#pragma unroll
	for (int i = 0; i < 6; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* IPv4 behind ETH (already bounds-checked up to the Ethernet header).
 * Returns STEER_CNT_VM_REDIRECTED if the frame may take the fast path,
 * otherwise the pass counter that says why not. */
static __always_inline __u32 classify_ipv4(struct ethhdr *eth, void *data_end)
{
	struct iphdr *ip = (void *)(eth + 1);
	struct steer_addr_key key;
	__u32 daddr;

	if ((void *)(ip + 1) > data_end)
		return STEER_CNT_VM_PASS_OTHER;
	if (ip->version != 4 || ip->ihl < 5)
		return STEER_CNT_VM_PASS_OTHER;

	daddr = bpf_ntohl(ip->daddr);
	/* multicast 224/4, limited broadcast, 0/8, loopback 127/8, link-local 169.254/16 */
	if ((daddr & 0xf0000000) == 0xe0000000 || daddr == 0xffffffff ||
	    (daddr & 0xff000000) == 0 || (daddr & 0xff000000) == 0x7f000000 ||
	    (daddr & 0xffff0000) == 0xa9fe0000)
		return STEER_CNT_VM_PASS_OTHER;

	/* Built field by field: an initializer would become a .rodata map. */
	__builtin_memset(&key, 0, sizeof(key));
	key.family = STEER_FAMILY_INET;
	__builtin_memcpy(key.addr, &ip->daddr, 4);
	if (bpf_map_lookup_elem(&local_addrs, &key))
		return STEER_CNT_VM_PASS_LOCAL;

	/* Options, fragments and TTL expiry are the kernel's business. */
	if (ip->ihl != 5 || (ip->frag_off & bpf_htons(IPV4_FRAG_MASK)) || ip->ttl <= 1)
		return STEER_CNT_VM_PASS_OTHER;
	return STEER_CNT_VM_REDIRECTED;
}

static __always_inline int ipv6_special(const struct in6_addr *a)
{
	__u8 b0 = a->in6_u.u6_addr8[0], b1 = a->in6_u.u6_addr8[1];

	if (b0 == 0xff) /* multicast ff00::/8 */
		return 1;
	if (b0 == 0xfe && (b1 & 0xc0) == 0x80) /* link-local fe80::/10 */
		return 1;
	/* unspecified :: and loopback ::1 */
	if (a->in6_u.u6_addr32[0] == 0 && a->in6_u.u6_addr32[1] == 0 &&
	    a->in6_u.u6_addr32[2] == 0 &&
	    (a->in6_u.u6_addr32[3] == 0 || a->in6_u.u6_addr32[3] == bpf_htonl(1)))
		return 1;
	return 0;
}

static __always_inline __u32 classify_ipv6(struct ethhdr *eth, void *data_end)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct steer_addr_key key;
	__u8 *l4;

	if ((void *)(ip6 + 1) > data_end)
		return STEER_CNT_VM_PASS_OTHER;
	if (ip6->version != 6)
		return STEER_CNT_VM_PASS_OTHER;
	/* A link-local source cannot be routed off-link: the kernel answers with
	 * the right ICMPv6 error. */
	if (ipv6_special(&ip6->daddr) || ipv6_special(&ip6->saddr))
		return STEER_CNT_VM_PASS_OTHER;

	key.family = STEER_FAMILY_INET6;
	__builtin_memcpy(key.addr, &ip6->daddr, 16);
	if (bpf_map_lookup_elem(&local_addrs, &key))
		return STEER_CNT_VM_PASS_LOCAL;

	if (ip6->hop_limit <= 1)
		return STEER_CNT_VM_PASS_OTHER;

	/* Only plain TCP, UDP and echo: ND, MLD, ICMPv6 errors and extension
	 * headers (fragments included) go to the kernel. */
	switch (ip6->nexthdr) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return STEER_CNT_VM_REDIRECTED;
	case IPPROTO_ICMPV6:
		l4 = (void *)(ip6 + 1);
		if ((void *)(l4 + 1) > data_end)
			return STEER_CNT_VM_PASS_OTHER;
		if (*l4 == ICMPV6_ECHO_REQ || *l4 == ICMPV6_ECHO_REPLY)
			return STEER_CNT_VM_REDIRECTED;
		return STEER_CNT_VM_PASS_OTHER;
	default:
		return STEER_CNT_VM_PASS_OTHER;
	}
}

SEC("tc")
int steer_vm_ingress(struct __sk_buff *skb)
{
	struct steer_settings *set = settings_get();
	void *data, *data_end;
	struct ethhdr *eth;
	__u32 mtu_len = 0;
	__u32 verdict;

	if (!set || set->mode != STEER_MODE_FAST || set->exc_ifindex == 0)
		return pass(STEER_CNT_VM_PASS_MODE, skb);

	pull_headers(skb);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return pass(STEER_CNT_VM_PASS_OTHER, skb);
	/* Unicast to the gateway only: this also leaves out broadcast and
	 * multicast MACs and everything the bridge forwards between VMs. */
	if (!mac_equal(eth->h_dest, set->gateway_mac))
		return pass(STEER_CNT_VM_PASS_NOT_GATEWAY, skb);

	if (eth->h_proto == bpf_htons(ETH_P_IP))
		verdict = classify_ipv4(eth, data_end);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		verdict = classify_ipv6(eth, data_end);
	else
		verdict = STEER_CNT_VM_PASS_NON_IP; /* ARP, VLAN-tagged, ... */

	if (verdict != STEER_CNT_VM_REDIRECTED)
		return pass(verdict, skb);
	/* dev_queue_xmit does not check the MTU of a redirect target: a frame
	 * (or GSO segment) too big for dp0 would be lost there, so the kernel
	 * routes it and fragments or answers "packet too big". */
	if (bpf_check_mtu(skb, set->exc_ifindex, &mtu_len, 0, BPF_MTU_CHK_SEGS) !=
	    BPF_MTU_CHK_RET_SUCCESS)
		return pass(STEER_CNT_VM_PASS_MTU, skb);
	count(STEER_CNT_VM_REDIRECTED, skb);
	return bpf_redirect(set->exc_ifindex, 0);
}

/* A routed frame (or GSO segment) too big for the VM port (or bridge) it is
 * for: the port would drop it without a word (dev_queue_xmit does not check
 * the MTU of a redirect target). The kernel routes it instead — fragments
 * it, or answers "fragmentation needed" / "packet too big" to the sender, as
 * a router must. It is addressed to the VM's MAC, which the kernel drops as
 * someone else's (PACKET_OTHERHOST): it becomes the host's. */
static __always_inline int too_big_for(struct __sk_buff *skb, __u32 ifindex)
{
	__u32 mtu_len = 0;

	if (bpf_check_mtu(skb, ifindex, &mtu_len, 0, BPF_MTU_CHK_SEGS) == BPF_MTU_CHK_RET_SUCCESS)
		return 0;
	bpf_skb_change_type(skb, PACKET_HOST);
	return 1;
}

SEC("tc")
int steer_exc_ingress(struct __sk_buff *skb)
{
	struct steer_settings *set = settings_get();
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct steer_mac_key key;
	struct steer_vm_port *port;

	/* Not gated on the mode: a frame addressed to a VM on dp0 exists only
	 * because a live dataplane routed it (also while agentd holds steering
	 * in PASS: at start, during the failback hold-down). The kernel would
	 * drop it as someone else's; delivering it is always right. PASS stops
	 * what matters for fallback: VM traffic redirected to dp0. */
	if (!set)
		return pass(STEER_CNT_EXC_PASS_MODE, skb);
	if ((void *)(eth + 1) > data_end)
		return pass(STEER_CNT_EXC_PASS_UNKNOWN_MAC, skb);
	/* The dataplane rewrites the source of what it routes to a VM to the
	 * gateway (bridge) MAC. Anything else on dp0 is the wire's own L2
	 * traffic handed to the kernel, and must never be bridged to a VM. */
	if (!mac_equal(eth->h_source, set->gateway_mac))
		return pass(STEER_CNT_EXC_PASS_NOT_ROUTED, skb);

	__builtin_memcpy(key.addr, eth->h_dest, sizeof(key.addr));
	port = bpf_map_lookup_elem(&vm_macs, &key);
	if (!port || port->ifindex == 0) {
		/* Unicast that is not for dp0 itself (PACKET_OTHERHOST) can only be
		 * a frame DPDK rewrote for a VM whose MAC the map does not know (yet,
		 * or any more: the FDB entry aged out while the neighbour entry did
		 * not). The kernel would drop it; the bridge delivers or floods it. */
		if (skb->pkt_type == PACKET_OTHERHOST && set->bridge_ifindex) {
			if (too_big_for(skb, set->bridge_ifindex))
				return pass(STEER_CNT_EXC_PASS_MTU, skb);
			count(STEER_CNT_EXC_TO_BRIDGE, skb);
			return bpf_redirect(set->bridge_ifindex, 0);
		}
		/* No one bridge to hand it to (several VM bridges): the kernel
		 * routes it to the right one, as the host's own. */
		if (skb->pkt_type == PACKET_OTHERHOST)
			bpf_skb_change_type(skb, PACKET_HOST);
		return pass(STEER_CNT_EXC_PASS_UNKNOWN_MAC, skb);
	}
	if (too_big_for(skb, port->ifindex))
		return pass(STEER_CNT_EXC_PASS_MTU, skb);
	count(STEER_CNT_EXC_REDIRECTED, skb);
	return bpf_redirect(port->ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
