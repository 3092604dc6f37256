/* SPDX-License-Identifier: BSD-3-Clause */
/* Core loop benchmark: the dataplane's forwarding lcore (fwd.c + process.h,
 * the code agent-dataplane runs) alone on synthetic DPDK ports, no kernel:
 * the NIC is a net_pcap port replaying a capture from memory forever
 * (infinite_rx), the exception port a net_null sink. The same ports and
 * capture serve DPDK's l3fwd in bench/core_loop.sh, side by side.
 *
 *   fwd_loop gen ROUTES DSTS PCAP RULES
 *       write ROUTES random /24 routes (l3fwd rule file RULES: "R a.b.c.0/24 1")
 *       and a capture of DSTS 64-byte UDP frames to random addresses in them
 *       (PCAP), to the NIC MAC 02:00:00:00:00:01
 *   fwd_loop run RULES PCAP SECONDS [EXTRA_ROUTES]
 *       the FIB gets RULES' routes (via 10.10.1.2 on the VM bridge: the wire ->
 *       VM fast path) and EXTRA_ROUTES more random ones of an Internet-like
 *       mix (a full table); then the forwarding lcore runs SECONDS on lcore
 *       1 and the rate is printed, and, for the cost by stage, the same
 *       ports read by a loop that only receives, and one that receives and
 *       classifies/rewrites but does not send.
 *
 * EAL: one main lcore (0) and the forwarding lcore (1), no hugepages. The
 * lcore spins (idle_sleep_max_us = 0): cycles/packet = TSC Hz / packet
 * rate. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane.h"
#include "fib.h"
#include "process.h"

#define BRIDGE 21
#define DP0    20
static const uint8_t nic_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t br_mac[6] = {0x02, 0, 0, 0, 0, 0x21};
static const uint8_t vm_mac[6] = {0x02, 0, 0, 0, 0, 0x42};

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t xs(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- gen ---- */

struct pcap_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t zone;
	uint32_t sigfigs, snaplen, linktype;
};
struct pcap_rec {
	uint32_t sec, usec, incl, orig;
};

static int gen(int n_routes, int n_dsts, const char *pcap, const char *rules)
{
	uint32_t *nets = calloc((size_t)n_routes, sizeof(uint32_t));
	FILE *r = fopen(rules, "w"), *p = fopen(pcap, "wb");
	struct pcap_hdr h = {0xa1b2c3d4, 2, 4, 0, 0, 65535, 1};

	if (nets == NULL || r == NULL || p == NULL)
		return 1;
	for (int i = 0; i < n_routes; i++) {
		/* a /24 in 11.0.0.0 - 99.255.255.0: away from the lab's and l3fwd's own */
		nets[i] = (uint32_t)(0x0b000000u + (xs() % (0x63000000u - 0x0b000000u))) & ~0xffu;
		fprintf(r, "R%u.%u.%u.0/24 1\n", nets[i] >> 24, (nets[i] >> 16) & 0xff,
			(nets[i] >> 8) & 0xff);
	}
	fwrite(&h, sizeof(h), 1, p);
	for (int i = 0; i < n_dsts; i++) {
		uint8_t f[60] = {0};
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		struct pcap_rec rec = {0, 0, sizeof(f), sizeof(f)};

		memcpy(eth->dst_addr.addr_bytes, nic_mac, 6);
		memcpy(eth->src_addr.addr_bytes, (uint8_t[]){0x02, 0, 0, 0, 0, 0x99}, 6);
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16(sizeof(f) - sizeof(*eth));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = rte_cpu_to_be_32(0xc0a86402u); /* 192.168.100.2 */
		ip->dst_addr = rte_cpu_to_be_32(nets[xs() % (uint64_t)n_routes] | (1 + xs() % 254));
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->src_port = rte_cpu_to_be_16((uint16_t)(1024 + xs() % 60000));
		udp->dst_port = rte_cpu_to_be_16(9);
		udp->dgram_len = rte_cpu_to_be_16(sizeof(f) - sizeof(*eth) - sizeof(*ip));
		fwrite(&rec, sizeof(rec), 1, p);
		fwrite(f, sizeof(f), 1, p);
	}
	fclose(r);
	fclose(p);
	free(nets);
	return 0;
}

/* ---- run ---- */

static struct mirror_route *route(struct mirror_route *rt, uint32_t net, uint8_t len)
{
	memset(rt, 0, sizeof(*rt));
	rt->family = AF_INET;
	net = htonl(net);
	memcpy(rt->dst, &net, 4);
	rt->dst_len = len;
	rt->table = RT_TABLE_MAIN;
	rt->type = RTN_UNICAST;
	rt->protocol = 186;
	rt->n_paths = 1;
	rt->paths[0].oif = BRIDGE;
	rt->paths[0].has_gw = true;
	rt->paths[0].gw_family = AF_INET;
	rt->paths[0].weight = 1;
	memcpy(rt->paths[0].gw, (uint8_t[]){10, 10, 1, 2}, 4);
	return rt;
}

static struct fib *fib_build(const char *rules, unsigned int extra)
{
	struct fib_config cfg = {.lpm_rules = 1048576 + extra,
				 .lpm6_rules = 1024,
				 .neighbours = 1024,
				 .exc_ifname = "dp0",
				 .bridge_ifname = "br-vm"};
	struct mirror_link l = {.ifindex = BRIDGE, .has_mac = true, .up = true};
	struct mirror_neigh n = {.ifindex = BRIDGE,
				 .family = AF_INET,
				 .has_lladdr = true,
				 .state = 0x02 /* NUD_REACHABLE */};
	struct mirror_route rt;
	struct fib *f;
	unsigned int a, b, c, added = 0;
	char line[128];
	FILE *in = fopen(rules, "r");

	if (in == NULL || fib_create(&f, &cfg, SOCKET_ID_ANY) < 0)
		return NULL;
	memcpy(l.mac, br_mac, 6);
	snprintf(l.name, sizeof(l.name), "br-vm");
	fib_mirror_ops.link(f, false, &l);
	l.ifindex = DP0;
	memcpy(l.mac, nic_mac, 6);
	snprintf(l.name, sizeof(l.name), "dp0");
	fib_mirror_ops.link(f, false, &l);
	memcpy(n.addr, (uint8_t[]){10, 10, 1, 2}, 4);
	memcpy(n.mac, vm_mac, 6);
	fib_mirror_ops.neigh(f, false, &n);
	/* a full table first (what the 4096 destinations share the FIB with)... */
	for (unsigned int i = 0; i < extra; i++) {
		unsigned int r = (unsigned int)(xs() % 100);
		uint8_t len = r < 60   ? 24
			      : r < 70 ? 23
			      : r < 82 ? 22
			      : r < 97 ? 16 + xs() % 6
				       : 25 + xs() % 8;
		uint32_t ip = (uint32_t)(0x01000000u + xs() % 0xdf000000u);
		fib_mirror_ops.route(f, false, route(&rt, ip & (~0u << (32 - len)), len));
	}
	/* ...then the routes of the rule file, which win where they overlap */
	while (fgets(line, sizeof(line), in) != NULL)
		if (sscanf(line, "R%u.%u.%u.0/24", &a, &b, &c) == 3) {
			fib_mirror_ops.route(f, false, route(&rt, a << 24 | b << 16 | c << 8, 24));
			added++;
		}
	fclose(in);
	printf("  FIB: %u routes of the rule file + %u more (Internet-like mix)\n", added, extra);
	return f;
}

struct stage_arg {
	struct dp_lcore *lc;
	int mode; /* 0: rx only, 1: rx + process, no tx */
	volatile bool quit;
	uint64_t packets;
};

/* The forwarding loop cut short: what rx alone, and rx + the per-packet
 * step, cost on the same ports. */
static int stage_loop(void *arg)
{
	struct stage_arg *s = arg;
	struct rte_mbuf *pkts[DP_MAX_BURST];
	uint8_t verdict[DP_MAX_BURST];

	while (!s->quit) {
		uint16_t nb = rte_eth_rx_burst(s->lc->rx[0].port_id, 0, pkts, s->lc->burst);
		if (nb == 0)
			continue;
		if (s->mode == 1)
			dp_process_burst(s->lc, DP_PORT_NIC, pkts, nb, verdict);
		rte_pktmbuf_free_bulk(pkts, nb);
		s->packets += nb;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void report(const char *what, uint64_t packets, double secs)
{
	double pps = packets / secs;
	printf("  %-44s %10.0f pps  %6.0f cycles/packet\n", what, pps,
	       pps > 0 ? rte_get_tsc_hz() / pps : 0);
}

static int run(const char *rules, double secs, unsigned int extra)
{
	struct dp_port ports[DP_PORT_COUNT];
	struct rte_mempool *pool;
	struct dp_lcore *lc;
	struct fib *f;
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);

	if (lcore >= RTE_MAX_LCORE) {
		fprintf(stderr, "needs a second lcore (-l 0,1)\n");
		return 1;
	}
	f = fib_build(rules, extra);
	pool = rte_pktmbuf_pool_create("fwd_loop", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (f == NULL || pool == NULL ||
	    dp_port_lookup(&ports[DP_PORT_NIC], "nic", "net_pcap0") < 0 ||
	    dp_port_lookup(&ports[DP_PORT_EXC], "exception", "net_null0") < 0 ||
	    dp_ports_setup(ports, pool, 1) < 0) {
		fprintf(stderr, "setup failed (FIB, pool or ports)\n");
		return 1;
	}
	lc = rte_zmalloc("lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	if (lc == NULL || dp_lcore_init(lc, lcore, 32, ports, 0) < 0)
		return 1;
	lc->fib = f;
	memcpy(lc->nic_mac.addr_bytes, nic_mac, 6);
	lc->idle_sleep_max_us = 0;
	printf("  lcores: main %u (this thread: setup, timing), forwarding %u; burst 32\n",
	       rte_get_main_lcore(), lcore);

	/* stages */
	for (int mode = 0; mode < 2; mode++) {
		struct stage_arg s = {.lc = lc, .mode = mode};
		rte_eal_remote_launch(stage_loop, &s, lcore);
		sleep(1);
		uint64_t p0 = s.packets;
		double t0 = now_s();
		usleep((useconds_t)(secs * 1e6));
		uint64_t p1 = s.packets;
		double t1 = now_s();
		s.quit = true;
		rte_eal_wait_lcore(lcore);
		report(mode == 0 ? "rx only (pcap replay + mbuf free)"
				 : "rx + classify/lookup/rewrite, no tx",
		       p1 - p0, t1 - t0);
	}
	/* the forwarding loop itself */
	rte_eal_remote_launch(dp_lcore_main, lc, lcore);
	sleep(1);
	uint64_t f0 = dp_counter_read(&lc->counters.fast_wire_to_vm);
	uint64_t k0 = dp_counter_read(&lc->counters.kernel_from_wire);
	double t0 = now_s();
	usleep((useconds_t)(secs * 1e6));
	uint64_t f1 = dp_counter_read(&lc->counters.fast_wire_to_vm);
	uint64_t k1 = dp_counter_read(&lc->counters.kernel_from_wire);
	double t1 = now_s();
	__atomic_store_n(&lc->quit, true, __ATOMIC_RELAXED);
	rte_eal_wait_lcore(lcore);
	report("forwarding loop (dp_lcore_main), fast path", f1 - f0, t1 - t0);
	if (k1 - k0 > (f1 - f0) / 1000)
		printf("  (!) %" PRIu64 " packets went to the kernel path: routes missing?\n",
		       k1 - k0);
	dp_lcore_free(lc);
	for (int i = 0; i < DP_PORT_COUNT; i++)
		dp_port_close(&ports[i]);
	fib_destroy(f);
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	if (argc >= 6 && strcmp(argv[1], "gen") == 0)
		return gen(atoi(argv[2]), atoi(argv[3]), argv[4], argv[5]);
	if (argc == 2 && strcmp(argv[1], "tsc") == 0) { /* what cycles/packet divides */
		/* (without EAL: measured as EAL would when the CPU does not say) */
		uint64_t c0 = rte_rdtsc();
		double t0 = now_s();
		usleep(200000);
		printf("%.0f\n", (rte_rdtsc() - c0) / (now_s() - t0));
		return 0;
	}
	if (argc < 4 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr,
			"usage: %s gen ROUTES DSTS PCAP RULES\n"
			"       %s tsc\n"
			"       %s run RULES PCAP SECONDS [EXTRA_ROUTES]\n",
			argv[0], argv[0], argv[0]);
		return 2;
	}
	char prefix[64], pcap_arg[512];
	snprintf(prefix, sizeof(prefix), "--file-prefix=fwdloop%d", getpid());
	snprintf(pcap_arg, sizeof(pcap_arg), "net_pcap0,rx_pcap=%s,infinite_rx=1", argv[3]);
	char *eal[] = {"fwd_loop",
		       "-l",
		       "0,1",
		       "--no-huge",
		       "-m",
		       "2048",
		       "--no-pci",
		       "--no-shconf",
		       "--no-telemetry",
		       "--vdev",
		       pcap_arg,
		       "--vdev",
		       "net_null0,no-rx=1",
		       "--log-level=lib.eal:error",
		       prefix};
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	ret = run(argv[2], atof(argv[4]), argc > 5 ? (unsigned int)atoi(argv[5]) : 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	return system(cmd) == 0 ? ret : 1;
}
