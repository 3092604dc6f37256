/* SPDX-License-Identifier: BSD-3-Clause */
/* Verdicts of the steering programs on crafted frames (BPF_PROG_TEST_RUN):
 * every class of packet gets the verdict and moves the counter it should. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <net/if.h>

#include <bpf/bpf.h>

#include <agent_log.h>
#include <steer.h>

#include "steer_test_util.h"

#define EXC_IFINDEX 1 /* lo (MTU 1500): test runs do not redirect */
#define VM_IFINDEX  1

static const uint8_t gw_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
static const uint8_t vm1_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x11};
static const uint8_t vm2_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x12};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static char tmpdir[128];
static struct steer *steer;

static void set_fast(uint32_t exc_ifindex)
{
	struct steer_settings set = {
	    .mode = STEER_MODE_FAST,
	    .exc_ifindex = exc_ifindex,
	    .bridge_ifindex = 1,
	};

	memcpy(set.gateway_mac, gw_mac, 6);
	assert_int_equal(steer_settings_set(steer, &set), 0);
}

static int group_setup(void **state)
{
	struct in6_addr a6;
	struct in_addr a4;
	char bpffs[256];

	/* Own netns: EXC_IFINDEX is its lo, given dp0's usual MTU. */
	if (steer_test_sandbox(true, tmpdir, sizeof(tmpdir)) < 0)
		return -1;
	if (steer_test_sh("ip link set lo mtu 1500") != 0)
		return -1;
	snprintf(bpffs, sizeof(bpffs), "%s/bpffs", tmpdir);
	if (steer_open(bpffs, "progs", &steer) < 0)
		return -1;
	/* The host's addresses: the bridge's and the underlay's. */
	inet_pton(AF_INET, "10.10.1.1", &a4);
	if (steer_local_addr_add(steer, AF_INET, &a4) < 0)
		return -1;
	inet_pton(AF_INET, "192.168.100.1", &a4);
	if (steer_local_addr_add(steer, AF_INET, &a4) < 0)
		return -1;
	inet_pton(AF_INET6, "fd00:1::1", &a6);
	if (steer_local_addr_add(steer, AF_INET6, &a6) < 0)
		return -1;
	if (steer_vm_mac_add(steer, vm1_mac, VM_IFINDEX) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	steer_close(steer);
	steer_test_sandbox_cleanup(tmpdir);
	return 0;
}

static int test_setup(void **state)
{
	set_fast(EXC_IFINDEX);
	return 0;
}

/* What `agentctl explain` tells of FRAME (steer_explain.c, read from the
 * maps) must be what PROG does: every frame the tests run is checked. */
static void explain_agrees(enum steer_prog prog, const uint8_t *frame, size_t len,
			   enum steer_counter cnt)
{
	struct steer_explain x;
	struct steer_settings set;

	if (prog == STEER_PROG_VM_INGRESS) {
		assert_int_equal(steer_explain_vm(steer, frame, len, &x), 0);
	} else {
		/* the test runs' skb is PACKET_HOST only for lo's own (zero) MAC */
		static const uint8_t zero[6];
		assert_int_equal(
		    steer_explain_exc(steer, frame, len, memcmp(frame, zero, 6) == 0, &x), 0);
	}
	if (x.counter != cnt)
		print_error("%s: explained as %s, the program counts %s\n", steer_prog_name(prog),
			    steer_counter_name(x.counter), steer_counter_name(cnt));
	assert_int_equal(x.counter, cnt);
	assert_int_equal(steer_settings_get(steer, &set), 0);
	if (cnt == STEER_CNT_VM_REDIRECTED)
		assert_int_equal(x.ifindex, set.exc_ifindex);
	if (cnt == STEER_CNT_EXC_TO_BRIDGE)
		assert_int_equal(x.ifindex, set.bridge_ifindex);
}

/* Run PROG on FRAME: the verdict must be VERDICT and exactly counter CNT must
 * have moved by one packet and LEN bytes. */
static void expect(enum steer_prog prog, const uint8_t *frame, size_t len, int verdict,
		   enum steer_counter cnt)
{
	struct steer_counter_value before[STEER_CNT_MAX], after[STEER_CNT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);

	assert_true(len >= 14);
	explain_agrees(prog, frame, len, cnt);
	assert_int_equal(steer_counters_read(steer, before), 0);
	assert_int_equal(bpf_prog_test_run_opts(steer_prog_fd(steer, prog), &opts), 0);
	assert_int_equal(steer_counters_read(steer, after), 0);
	if ((int)opts.retval != verdict || after[cnt].packets != before[cnt].packets + 1)
		print_error("%s: verdict %u (want %d), counter %s moved by %llu\n",
			    steer_prog_name(prog), opts.retval, verdict, steer_counter_name(cnt),
			    (unsigned long long)(after[cnt].packets - before[cnt].packets));
	assert_int_equal(opts.retval, verdict);
	for (int i = 0; i < STEER_CNT_MAX; i++) {
		uint64_t dp = after[i].packets - before[i].packets;
		uint64_t db = after[i].bytes - before[i].bytes;

		if (i == (int)cnt) {
			assert_int_equal(dp, 1);
			assert_int_equal(db, len);
		} else {
			if (dp != 0)
				print_error("counter %s moved too\n", steer_counter_name(i));
			assert_int_equal(dp, 0);
		}
	}
}

static void expect_vm(const struct pkt_spec *spec, int verdict, enum steer_counter cnt)
{
	uint8_t frame[256];
	size_t len = pkt_build(spec, frame, sizeof(frame));

	assert_true(len > 0);
	expect(STEER_PROG_VM_INGRESS, frame, len, verdict, cnt);
}

#define V4(...) (&(struct pkt_spec){.family = AF_INET, __VA_ARGS__})
#define V6(...) (&(struct pkt_spec){.family = AF_INET6, __VA_ARGS__})
#define GW	.dst_mac = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01}
/* what the dataplane sends to a VM: source = the gateway (bridge) MAC */
#define FROM_GW .src_mac = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01}

/* Path 2: forwardable unicast to the gateway goes to dp0. */
static void test_vm_ipv4_remote_redirects(void **state)
{
	expect_vm(V4(GW, .dst = "10.10.2.5"), TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
	expect_vm(V4(GW, .dst = "10.10.2.5", .proto = IPPROTO_TCP), TC_ACT_REDIRECT,
		  STEER_CNT_VM_REDIRECTED);
	expect_vm(V4(GW, .dst = "192.168.100.2", .proto = IPPROTO_ICMP, .icmp_type = ICMP_ECHO),
		  TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
	/* DF is not a fragment; TTL 2 still has one hop left. */
	expect_vm(V4(GW, .dst = "10.10.2.5", .frag_off = 0x4000, .ttl = 2), TC_ACT_REDIRECT,
		  STEER_CNT_VM_REDIRECTED);
	/* A large frame (headers still linear) is counted with its length. */
	expect_vm(V4(GW, .dst = "10.10.2.5", .payload = 200), TC_ACT_REDIRECT,
		  STEER_CNT_VM_REDIRECTED);
}

static void test_vm_ipv6_remote_redirects(void **state)
{
	expect_vm(V6(GW, .dst = "2001:db8:2::5"), TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_TCP), TC_ACT_REDIRECT,
		  STEER_CNT_VM_REDIRECTED);
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_ICMPV6,
		     .icmp_type = ICMP6_ECHO_REQUEST),
		  TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
	expect_vm(
	    V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_ECHO_REPLY),
	    TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
}

/* Path 3: traffic for the host itself stays in the kernel. */
static void test_vm_local_passes(void **state)
{
	expect_vm(V4(GW, .dst = "10.10.1.1", .proto = IPPROTO_ICMP, .icmp_type = ICMP_ECHO),
		  TC_ACT_OK, STEER_CNT_VM_PASS_LOCAL);
	expect_vm(V4(GW, .dst = "192.168.100.1", .proto = IPPROTO_TCP), TC_ACT_OK,
		  STEER_CNT_VM_PASS_LOCAL);
	expect_vm(V6(GW, .dst = "fd00:1::1", .proto = IPPROTO_TCP), TC_ACT_OK,
		  STEER_CNT_VM_PASS_LOCAL);
	/* The IPv4 key is the address + family: an IPv6 address whose first
	 * bytes spell a local IPv4 address is not local. */
	expect_vm(V6(GW, .dst = "a0a:101::"), TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
}

static void test_vm_local_addr_del(void **state)
{
	struct in_addr a4;

	inet_pton(AF_INET, "10.10.3.1", &a4);
	assert_int_equal(steer_local_addr_add(steer, AF_INET, &a4), 0);
	expect_vm(V4(GW, .dst = "10.10.3.1"), TC_ACT_OK, STEER_CNT_VM_PASS_LOCAL);
	assert_int_equal(steer_local_addr_del(steer, AF_INET, &a4), 0);
	assert_int_equal(steer_local_addr_del(steer, AF_INET, &a4), 0); /* absent: fine */
	expect_vm(V4(GW, .dst = "10.10.3.1"), TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
}

/* Frames not addressed to the gateway are bridged by the kernel. */
static void test_vm_not_gateway_passes(void **state)
{
	uint8_t frame[128];
	size_t len;

	expect_vm(V4(.dst_mac = {0x02, 0, 0, 0, 0, 0x12}, .dst = "10.10.1.12"), TC_ACT_OK,
		  STEER_CNT_VM_PASS_NOT_GATEWAY);
	expect_vm(V4(.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, .dst = "10.10.1.255"),
		  TC_ACT_OK, STEER_CNT_VM_PASS_NOT_GATEWAY);
	/* One byte off the gateway MAC. */
	expect_vm(V4(.dst_mac = {0x02, 0x00, 0x00, 0x00, 0x01, 0x02}, .dst = "10.10.2.5"),
		  TC_ACT_OK, STEER_CNT_VM_PASS_NOT_GATEWAY);
	/* Router solicitation to all-routers, multicast MAC. */
	expect_vm(V6(.dst_mac = {0x33, 0x33, 0, 0, 0, 2}, .src = "fe80::11", .dst = "ff02::2",
		     .proto = IPPROTO_ICMPV6, .icmp_type = ND_ROUTER_SOLICIT, .ttl = 255),
		  TC_ACT_OK, STEER_CNT_VM_PASS_NOT_GATEWAY);
	/* ARP request: broadcast. */
	len = pkt_build_arp(bcast_mac, vm1_mac, 1, "10.10.1.11", "10.10.1.1", frame, sizeof(frame));
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_VM_PASS_NOT_GATEWAY);
}

static void test_vm_non_ip_passes(void **state)
{
	uint8_t frame[128];
	size_t len;

	/* ARP reply / unicast ARP to the gateway's MAC. */
	len = pkt_build_arp(gw_mac, vm1_mac, 2, "10.10.1.11", "10.10.1.1", frame, sizeof(frame));
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_VM_PASS_NON_IP);
	len = pkt_build_arp(gw_mac, vm1_mac, 1, "10.10.1.11", "10.10.1.1", frame, sizeof(frame));
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_VM_PASS_NON_IP);
	/* VLAN-tagged IPv4 (not handled yet). */
	expect_vm(V4(GW, .dst = "10.10.2.5", .vlan = 100), TC_ACT_OK, STEER_CNT_VM_PASS_NON_IP);
	/* A bare Ethernet header with an unknown ethertype. */
	memset(frame, 0, 14);
	memcpy(frame, gw_mac, 6);
	frame[12] = 0x88, frame[13] = 0xb5;
	expect(STEER_PROG_VM_INGRESS, frame, 14, TC_ACT_OK, STEER_CNT_VM_PASS_NON_IP);
}

/* TTL expiry, options, fragments, special destinations: kernel. */
static void test_vm_ipv4_other_passes(void **state)
{
	expect_vm(V4(GW, .dst = "10.10.2.5", .ttl = 1), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "10.10.2.5", .ttl_zero = true), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "10.10.2.5", .ip_options = true), TC_ACT_OK,
		  STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "10.10.2.5", .frag_off = 0x2000), TC_ACT_OK, /* MF */
		  STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "10.10.2.5", .frag_off = 0x00b9), TC_ACT_OK, /* offset */
		  STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "224.0.0.5"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "239.1.2.3"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "255.255.255.255"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "169.254.1.1"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "127.0.0.1"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V4(GW, .dst = "0.0.0.0"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
}

static void test_vm_ipv4_malformed_passes(void **state)
{
	uint8_t frame[256];
	size_t len = pkt_build(V4(GW, .dst = "10.10.2.5"), frame, sizeof(frame));

	/* (A frame cut inside the IP header cannot be tested: BPF_PROG_TEST_RUN
	 * refuses it with EINVAL.) Header only, no L4: still forwardable. */
	assert_true(len > 34);
	expect(STEER_PROG_VM_INGRESS, frame, 14 + 20, TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
	/* Ethertype IPv4 but version 6 in the header. */
	frame[14] = 0x65;
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	/* ihl < 5 */
	frame[14] = 0x44;
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
}

static void test_vm_ipv6_other_passes(void **state)
{
	uint8_t frame[256];
	size_t len;

	/* Neighbour discovery must reach the kernel, even unicast to the
	 * gateway MAC with a global destination. */
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_ICMPV6,
		     .icmp_type = ND_NEIGHBOR_SOLICIT, .ttl = 255),
		  TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_ICMPV6,
		     .icmp_type = ND_NEIGHBOR_ADVERT, .ttl = 255),
		  TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	/* NS to the gateway's link-local address. */
	expect_vm(V6(GW, .src = "fe80::11", .dst = "fe80::1", .proto = IPPROTO_ICMPV6,
		     .icmp_type = ND_NEIGHBOR_SOLICIT, .ttl = 255),
		  TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	/* ICMPv6 errors (packet too big) are not echo. */
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_ICMPV6,
		     .icmp_type = ICMP6_PACKET_TOO_BIG),
		  TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .ttl = 1), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	/* Extension headers: fragment, hop-by-hop. */
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_FRAGMENT), TC_ACT_OK,
		  STEER_CNT_VM_PASS_OTHER);
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_ROUTING), TC_ACT_OK,
		  STEER_CNT_VM_PASS_OTHER);
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_DSTOPTS), TC_ACT_OK,
		  STEER_CNT_VM_PASS_OTHER);
	/* Hop-by-hop is next header 0, which the builder reads as "default". */
	len = pkt_build(V6(GW, .dst = "2001:db8:2::5"), frame, sizeof(frame));
	assert_true(len > 0);
	frame[14 + 6] = IPPROTO_HOPOPTS;
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	/* Special destinations and sources. */
	expect_vm(V6(GW, .dst = "ff0e::1"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V6(GW, .dst = "fe80::5"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V6(GW, .dst = "::1"), TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	expect_vm(V6(GW, .src = "fe80::11", .dst = "2001:db8:2::5"), TC_ACT_OK,
		  STEER_CNT_VM_PASS_OTHER);
}

static void test_vm_ipv6_short_icmp(void **state)
{
	uint8_t frame[256];
	size_t len = pkt_build(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_ICMPV6,
				  .icmp_type = ICMP6_ECHO_REQUEST),
			       frame, sizeof(frame));

	assert_true(len > 54);
	/* ICMPv6 without its type byte (the IPv6 header itself cannot be cut:
	 * BPF_PROG_TEST_RUN refuses that). */
	expect(STEER_PROG_VM_INGRESS, frame, 14 + 40, TC_ACT_OK, STEER_CNT_VM_PASS_OTHER);
	/* Exactly the type byte: an echo request. */
	expect(STEER_PROG_VM_INGRESS, frame, 14 + 41, TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
}

/* Frames larger than dp0's MTU are left to the kernel (fragmentation, PMTU). */
static void test_vm_too_big_passes(void **state)
{
	uint8_t frame[2048];
	size_t len;

	/* 20 + 8 + 1472 = 1500: fits. */
	len = pkt_build(V4(GW, .dst = "10.10.2.5", .payload = 1472), frame, sizeof(frame));
	assert_int_equal(len, 14 + 1500);
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
	len = pkt_build(V4(GW, .dst = "10.10.2.5", .payload = 1473), frame, sizeof(frame));
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_VM_PASS_MTU);
	len = pkt_build(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_TCP, .payload = 1500),
			frame, sizeof(frame));
	expect(STEER_PROG_VM_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_VM_PASS_MTU);
}

/* Mode PASS (fallback): one map write, nothing is redirected any more. */
static void test_mode_pass_passes_everything(void **state)
{
	uint8_t frame[256];
	size_t len;

	assert_int_equal(steer_set_mode(steer, STEER_MODE_PASS), 0);
	expect_vm(V4(GW, .dst = "10.10.2.5"), TC_ACT_OK, STEER_CNT_VM_PASS_MODE);
	expect_vm(V6(GW, .dst = "2001:db8:2::5", .proto = IPPROTO_TCP), TC_ACT_OK,
		  STEER_CNT_VM_PASS_MODE);
	expect_vm(V4(GW, .dst = "10.10.1.1"), TC_ACT_OK, STEER_CNT_VM_PASS_MODE);
	len = pkt_build(V4(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x11}, .src = "10.10.2.5",
			   .dst = "10.10.1.11"),
			frame, sizeof(frame));
	/* frames a live dataplane addressed to a VM are delivered in any mode */
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_REDIRECTED);

	/* And back: the same frames are steered again. */
	assert_int_equal(steer_set_mode(steer, STEER_MODE_FAST), 0);
	expect_vm(V4(GW, .dst = "10.10.2.5"), TC_ACT_REDIRECT, STEER_CNT_VM_REDIRECTED);
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_REDIRECTED);
}

/* set_mode changes the mode only. */
static void test_set_mode_keeps_settings(void **state)
{
	struct steer_settings set;

	assert_int_equal(steer_set_mode(steer, STEER_MODE_PASS), 0);
	assert_int_equal(steer_settings_get(steer, &set), 0);
	assert_int_equal(set.mode, STEER_MODE_PASS);
	assert_int_equal(set.exc_ifindex, EXC_IFINDEX);
	assert_memory_equal(set.gateway_mac, gw_mac, 6);
	assert_int_equal(steer_set_mode(steer, 7), -EINVAL);
	assert_int_equal(steer_set_mode(steer, STEER_MODE_FAST), 0);
}

/* Without a known dp0, VM frames are never redirected. */
static void test_vm_no_exc_ifindex_passes(void **state)
{
	set_fast(0);
	expect_vm(V4(GW, .dst = "10.10.2.5"), TC_ACT_OK, STEER_CNT_VM_PASS_MODE);
}

/* Path 1: frames DPDK addressed to a VM go to its port. */
static void test_exc_known_vm_mac_redirects(void **state)
{
	uint8_t frame[256];
	size_t len;

	len = pkt_build(V4(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x11}, .src = "10.10.2.5",
			   .dst = "10.10.1.11", .proto = IPPROTO_TCP),
			frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_REDIRECTED);
	len = pkt_build(V6(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x11}, .src = "2001:db8:2::5",
			   .dst = "fd00:1::11"),
			frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_REDIRECTED);
	/* Any frame to that MAC, even ARP: it is the VM's. */
	len = pkt_build_arp(vm1_mac, gw_mac, 2, "10.10.1.1", "10.10.1.11", frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_REDIRECTED);
}

static void test_exc_unknown_mac_passes(void **state)
{
	uint8_t frame[256];
	size_t len;

	/* Slow path from the wire: ARP broadcast, frames for dp0's own MAC (in
	 * BPF_PROG_TEST_RUN the device is lo, whose MAC is all zeroes). */
	len = pkt_build_arp(bcast_mac, vm2_mac, 1, "192.168.100.2", "192.168.100.1", frame,
			    sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_EXC_PASS_NOT_ROUTED);
	len = pkt_build(
	    V4(.dst_mac = {0, 0, 0, 0, 0, 0}, .src = "192.168.100.2", .dst = "192.168.100.1"),
	    frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_EXC_PASS_NOT_ROUTED);
	/* A bare Ethernet header. */
	memset(frame, 0, 14);
	expect(STEER_PROG_EXC_INGRESS, frame, 14, TC_ACT_OK, STEER_CNT_EXC_PASS_NOT_ROUTED);
}

/* The wire's own L2 traffic (NIC in promiscuous mode, unknown-unicast
 * flooding on the underlay) never reaches a VM, even addressed to its MAC. */
static void test_exc_not_routed_passes(void **state)
{
	uint8_t frame[256];
	size_t len;

	len = pkt_build(
	    V4(.dst_mac = {0x02, 0, 0, 0, 0, 0x11}, .src = "192.168.100.7", .dst = "10.10.1.11"),
	    frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_EXC_PASS_NOT_ROUTED);
	len = pkt_build(
	    V4(.dst_mac = {0x02, 0, 0, 0, 0, 0x77}, .src = "192.168.100.7", .dst = "10.10.1.77"),
	    frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_EXC_PASS_NOT_ROUTED);
}

/* VM2 is not (yet) in the map: the bridge gets the frame rather than the
 * kernel dropping it as not-for-us; without a bridge ifindex it passes. */
static void test_exc_unknown_vm_mac_to_bridge(void **state)
{
	struct steer_settings set;
	uint8_t frame[256];
	size_t len;

	len = pkt_build(V4(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x12}, .src = "10.10.2.5",
			   .dst = "10.10.1.12"),
			frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_TO_BRIDGE);
	assert_int_equal(steer_settings_get(steer, &set), 0);
	set.bridge_ifindex = 0;
	assert_int_equal(steer_settings_set(steer, &set), 0);
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_EXC_PASS_UNKNOWN_MAC);
}

/* A routed frame too big for the VM's port (MTU 1280 here, dp0 has 1500)
 * goes to the kernel, which fragments it or answers "too big": redirected,
 * the port would drop it silently. The same toward the bridge. */
static void test_exc_too_big_passes(void **state)
{
	struct steer_settings set;
	uint8_t frame[2048];
	int small;
	size_t len;

	assert_int_equal(steer_test_sh("ip link add agtmtu0 mtu 1280 type veth peer name agtmtu1"),
			 0);
	small = (int)if_nametoindex("agtmtu0");
	assert_true(small > 0);
	assert_int_equal(steer_vm_mac_add(steer, vm2_mac, (uint32_t)small), 0);
	/* 20 + 8 + 1252 = 1280: fits */
	len = pkt_build(V4(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x12}, .src = "10.10.2.5",
			   .dst = "10.10.1.12", .payload = 1252),
			frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_REDIRECTED);
	len = pkt_build(V4(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x12}, .src = "10.10.2.5",
			   .dst = "10.10.1.12", .payload = 1253),
			frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_EXC_PASS_MTU);
	len = pkt_build(V6(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x12}, .src = "2001:db8:2::5",
			   .dst = "2001:db8:1::12", .proto = IPPROTO_UDP, .payload = 1300),
			frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_EXC_PASS_MTU);
	/* a MAC the map does not know, to a bridge of MTU 1280 */
	assert_int_equal(steer_vm_mac_del(steer, vm2_mac), 0);
	assert_int_equal(steer_settings_get(steer, &set), 0);
	set.bridge_ifindex = (uint32_t)small;
	assert_int_equal(steer_settings_set(steer, &set), 0);
	len = pkt_build(V4(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x12}, .src = "10.10.2.5",
			   .dst = "10.10.1.12", .payload = 1253),
			frame, sizeof(frame));
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_OK, STEER_CNT_EXC_PASS_MTU);
	assert_int_equal(steer_test_sh("ip link del agtmtu0"), 0);
}

static void test_exc_vm_mac_add_del(void **state)
{
	struct steer_vm_mac list[8];
	uint8_t frame[256];
	size_t len;
	int n;

	len = pkt_build(V4(FROM_GW, .dst_mac = {0x02, 0, 0, 0, 0, 0x12}, .src = "10.10.2.5",
			   .dst = "10.10.1.12"),
			frame, sizeof(frame));
	assert_int_equal(steer_vm_mac_add(steer, vm2_mac, VM_IFINDEX), 0);
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_REDIRECTED);
	n = steer_vm_mac_list(steer, list, 8);
	assert_int_equal(n, 2);
	assert_int_equal(steer_vm_mac_del(steer, vm2_mac), 0);
	assert_int_equal(steer_vm_mac_del(steer, vm2_mac), 0); /* absent: fine */
	/* gone from the map: no longer sent to its port, but to the bridge */
	expect(STEER_PROG_EXC_INGRESS, frame, len, TC_ACT_REDIRECT, STEER_CNT_EXC_TO_BRIDGE);
	n = steer_vm_mac_list(steer, list, 8);
	assert_int_equal(n, 1);
	assert_memory_equal(list[0].mac, vm1_mac, 6);
	assert_int_equal(list[0].ifindex, VM_IFINDEX);
	assert_int_equal(steer_vm_mac_add(steer, vm2_mac, 0), -EINVAL);
}

static void test_api_errors(void **state)
{
	struct steer_addr_key keys[8];
	uint8_t addr[16] = {0};

	assert_int_equal(steer_local_addr_add(steer, 99, addr), -EAFNOSUPPORT);
	assert_int_equal(steer_local_addr_list(steer, keys, 8), 3);
	assert_null(steer_counter_name(STEER_CNT_MAX));
	assert_string_equal(steer_counter_name(STEER_CNT_VM_REDIRECTED), "vm_redirected");
	assert_int_equal(steer_prog_fd(steer, STEER_PROG_MAX), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_vm_ipv4_remote_redirects, test_setup),
	    cmocka_unit_test_setup(test_vm_ipv6_remote_redirects, test_setup),
	    cmocka_unit_test_setup(test_vm_local_passes, test_setup),
	    cmocka_unit_test_setup(test_vm_local_addr_del, test_setup),
	    cmocka_unit_test_setup(test_vm_not_gateway_passes, test_setup),
	    cmocka_unit_test_setup(test_vm_non_ip_passes, test_setup),
	    cmocka_unit_test_setup(test_vm_ipv4_other_passes, test_setup),
	    cmocka_unit_test_setup(test_vm_ipv4_malformed_passes, test_setup),
	    cmocka_unit_test_setup(test_vm_ipv6_other_passes, test_setup),
	    cmocka_unit_test_setup(test_vm_ipv6_short_icmp, test_setup),
	    cmocka_unit_test_setup(test_vm_too_big_passes, test_setup),
	    cmocka_unit_test_setup(test_mode_pass_passes_everything, test_setup),
	    cmocka_unit_test_setup(test_set_mode_keeps_settings, test_setup),
	    cmocka_unit_test_setup(test_vm_no_exc_ifindex_passes, test_setup),
	    cmocka_unit_test_setup(test_exc_known_vm_mac_redirects, test_setup),
	    cmocka_unit_test_setup(test_exc_unknown_mac_passes, test_setup),
	    cmocka_unit_test_setup(test_exc_unknown_vm_mac_to_bridge, test_setup),
	    cmocka_unit_test_setup(test_exc_not_routed_passes, test_setup),
	    cmocka_unit_test_setup(test_exc_vm_mac_add_del, test_setup),
	    cmocka_unit_test_setup(test_exc_too_big_passes, test_setup),
	    cmocka_unit_test_setup(test_api_errors, test_setup),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: BPF_PROG_TEST_RUN and bpffs need root\n");
		return STEER_TEST_SKIP;
	}
	agent_log_level = AGENT_LOG_WARNING;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
