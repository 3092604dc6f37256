/* SPDX-License-Identifier: BSD-3-Clause */
/* FIB apply benchmark: the dataplane's FIB alone (dpdk-side/fib.c fed
 * through its mirror interface, no kernel), with an Internet-like prefix
 * mix. Prints add / delete rates, the memory the tables take, and the
 * lookup cost. Used to size the defaults (docs/performance.md); the
 * end-to-end figure with the kernel and netlink is bench/fib_scale.sh.
 *
 *   fib_apply [V4_ROUTES [V6_ROUTES]]     (default 1000000 200000)
 *
 * Runs on one lcore (the control side is single-threaded); EAL without
 * hugepages, so RSS shows what the tables cost. */
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
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "fib.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xs(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* IPv4 DFZ-like mix: ~60 % /24, 10 % /23, 12 % /22, 15 % /16-/21, 2 %
 * /9-/15, 1 % /25-/32. */
static int v4_len(void)
{
	unsigned int r = xs() % 100;
	if (r < 60)
		return 24;
	if (r < 70)
		return 23;
	if (r < 82)
		return 22;
	if (r < 97)
		return 16 + (int)(xs() % 6);
	if (r < 99)
		return 9 + (int)(xs() % 7);
	return 25 + (int)(xs() % 8);
}

/* IPv6: ~50 % /48, 20 % /32, 20 % /36-/47, 10 % /29-/31 and /49-/64. */
static int v6_len(void)
{
	unsigned int r = xs() % 100;
	if (r < 50)
		return 48;
	if (r < 70)
		return 32;
	if (r < 90)
		return 36 + (int)(xs() % 12);
	if (r < 95)
		return 29 + (int)(xs() % 3);
	return 49 + (int)(xs() % 16);
}

/* The netlink mirror's view of one route, as the kernel would send it. */
static struct mirror_route *route_common(struct mirror_route *r, int family, const uint8_t *dst,
					 uint8_t len)
{
	memset(r, 0, sizeof(*r));
	r->family = family;
	memcpy(r->dst, dst, family == AF_INET ? 4 : 16);
	r->dst_len = len;
	r->table = RT_TABLE_MAIN;
	r->type = RTN_UNICAST;
	r->protocol = 186; /* bgp */
	r->n_paths = 1;
	r->paths[0].oif = 20;
	r->paths[0].has_gw = true;
	r->paths[0].gw_family = (uint8_t)family;
	r->paths[0].weight = 1;
	return r;
}
static struct mirror_route *route4(struct mirror_route *r, const uint8_t *dst, uint8_t len,
				   uint8_t gw)
{
	route_common(r, AF_INET, dst, len);
	r->paths[0].gw[0] = 192, r->paths[0].gw[2] = 2, r->paths[0].gw[3] = gw;
	return r;
}
static struct mirror_route *route6(struct mirror_route *r, const uint8_t *dst, uint8_t len,
				   uint8_t gw)
{
	route_common(r, AF_INET6, dst, len);
	r->paths[0].gw[0] = 0xfe, r->paths[0].gw[1] = 0x80; /* link-local, as BGP announces */
	r->paths[0].gw[15] = gw;
	return r;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=fibapply%d", getpid());
	char *eal[] = {
	    "fib_apply", "-l",	     "0",	    "--no-huge",      "-m",
	    "3072",	 "--no-pci", "--no-shconf", "--no-telemetry", "--log-level=lib.eal:error",
	    prefix};
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	unsigned int n4 = argc > 1 ? (unsigned int)atoi(argv[1]) : 1000000;
	unsigned int n6 = argc > 2 ? (unsigned int)atoi(argv[2]) : 200000;
	struct fib_config cfg = {.lpm_rules = n4 + n4 / 8,
				 .lpm6_rules = n6 + n6 / 8,
				 .tbl8s6 = getenv("TBL8S6") ? (uint32_t)atoi(getenv("TBL8S6")) : 0,
				 .neighbours = 1024,
				 .exc_ifname = "dp0",
				 .bridge_ifname = "br-vm"};
	struct fib *f;
	struct fib_stats st;
	long rss0 = rss_kb();
	double t0 = now();

	if (fib_create(&f, &cfg, SOCKET_ID_ANY) < 0) {
		fprintf(stderr, "fib_create failed\n");
		return 1;
	}
	double t_create = now() - t0;
	long rss1 = rss_kb();
	struct mirror_link l = {.ifindex = 20, .has_mac = true, .up = true, .mac = {2, 0xdd}};
	snprintf(l.name, sizeof(l.name), "dp0");
	fib_mirror_ops.link(f, false, &l);

	/* prefixes: generated once (compactly: a mirror_route is ~450 bytes),
	 * duplicates simply replace */
	struct pfx4 {
		uint8_t dst[4], len, gw;
	} *p4 = calloc(n4, sizeof(*p4));
	struct pfx6 {
		uint8_t dst[16], len, gw;
	} *p6 = calloc(n6, sizeof(*p6));
	struct mirror_route rt = {0}, *r = &rt;
	if (p4 == NULL || p6 == NULL)
		return 1;
	for (unsigned int i = 0; i < n4; i++) {
		int len = v4_len();
		uint32_t ip = (uint32_t)(0x01000000u + xs() % 0xdf000000u); /* 1.0.0.0 - 223.x */
		ip &= len ? ~0u << (32 - len) : 0;
		ip = htonl(ip);
		memcpy(p4[i].dst, &ip, 4);
		p4[i].len = (uint8_t)len;
		p4[i].gw = (uint8_t)(1 + xs() % 4); /* 4 peers */
	}
	for (unsigned int i = 0; i < n6; i++) {
		int len = v6_len();
		memset(r, 0, sizeof(*r));
		/* clustered as allocated: 30000 holders' /32s under 4 RIR
		 * blocks, their more-specifics in two /40 "sites" each */
		uint64_t holder = xs() % 30000;
		r->dst[0] = 0x20;
		r->dst[1] = (uint8_t)(holder % 4 * 4); /* 2000 2400 2800 2c00 */
		r->dst[2] = (uint8_t)(holder / 4 / 32);
		r->dst[3] = (uint8_t)(holder / 4 % 32 * 8);
		r->dst[4] = (uint8_t)(xs() % 2);
		for (int b = 5; b < 16; b++)
			r->dst[b] = (uint8_t)xs();
		for (int b = 0; b < 16; b++) {
			int bits = len - b * 8;
			r->dst[b] &= bits >= 8	 ? 0xff
				     : bits <= 0 ? 0
						 : (uint8_t)(0xff << (8 - bits));
		}
		memcpy(p6[i].dst, r->dst, 16);
		p6[i].len = (uint8_t)len;
		p6[i].gw = (uint8_t)(1 + xs() % 4);
	}

	double a = now();
	for (unsigned int i = 0; i < n4; i++)
		fib_mirror_ops.route(f, false, route4(r, p4[i].dst, p4[i].len, p4[i].gw));
	double t_add4 = now() - a;
	a = now();
	for (unsigned int i = 0; i < n6; i++)
		fib_mirror_ops.route(f, false, route6(r, p6[i].dst, p6[i].len, p6[i].gw));
	double t_add6 = now() - a;
	fib_get_stats(f, &st);
	long rss2 = rss_kb();

	/* lookups: random destinations, the forwarding lcore's call */
	uint64_t c0 = rte_rdtsc();
	unsigned int hits = 0, n_lookup = 4000000;
	for (unsigned int i = 0; i < n_lookup; i++) {
		uint32_t ip = htonl((uint32_t)(0x01000000u + xs() % 0xdf000000u));
		const struct rte_ether_addr *d, *s;
		hits += fib_resolve(f, AF_INET, (const uint8_t *)&ip, (uint32_t)i, NH_UNDERLAY, &d,
				    &s) != FIB_PUNT_no_route;
	}
	double cyc = (double)(rte_rdtsc() - c0) / n_lookup;
	/* IPv6: destinations under the prefixes added (half), and random */
	c0 = rte_rdtsc();
	unsigned int hits6 = 0;
	for (unsigned int i = 0; i < n_lookup && n6 > 0; i++) {
		uint8_t d6[16];
		memcpy(d6, p6[xs() % n6].dst, 16);
		if (i & 1)
			d6[xs() % 16] ^= (uint8_t)xs();
		for (int b = 6; b < 16; b++)
			d6[b] |= (uint8_t)i;
		const struct rte_ether_addr *d, *s;
		hits6 += fib_resolve(f, AF_INET6, d6, (uint32_t)i, NH_UNDERLAY, &d, &s) !=
			 FIB_PUNT_no_route;
	}
	double cyc6 = (double)(rte_rdtsc() - c0) / n_lookup;

	printf("FIB apply benchmark (dpdk-side/fib.c alone, one thread, no kernel)\n");
	printf("  tables created for %u IPv4 + %u IPv6 routes in %.2f s, RSS +%ld MiB, "
	       "DPDK heap %.0f MiB\n",
	       cfg.lpm_rules, cfg.lpm6_rules, t_create, (rss1 - rss0) / 1024,
	       st.mem_bytes / 1048576.0);
	printf("  IPv4: %" PRIu64 " prefixes added in %.2f s (%.0f routes/s)\n", st.routes4, t_add4,
	       n4 / t_add4);
	printf("  IPv6: %" PRIu64 " prefixes added in %.2f s (%.0f routes/s)\n", st.routes6, t_add6,
	       n6 / t_add6);
	printf("  next hop slots: %" PRIu64 ", route errors: %" PRIu64 "\n", st.nexthops,
	       st.route_errors);
	printf("  RSS after adding: +%ld MiB over the empty tables; FIB memory %.0f MiB, of which "
	       "IPv4 (lookup table + prefix store) %.0f MiB, IPv6 (groups in use + prefix store) "
	       "%.0f MiB (%u groups)\n",
	       (rss2 - rss1) / 1024, st.mem_bytes / 1048576.0, st.mem4_bytes / 1048576.0,
	       st.mem6_bytes / 1048576.0, f->t6.n_used);
	printf("  lookup (fib_resolve, random IPv4, %u%% with a route): %.0f cycles\n",
	       n_lookup ? hits * 100 / n_lookup : 0, cyc);
	printf("  lookup (fib_resolve, IPv6 near the prefixes, %u%% with a route): %.0f cycles\n",
	       n_lookup ? hits6 * 100 / n_lookup : 0, cyc6);

	a = now();
	for (unsigned int i = 0; i < n4; i++)
		fib_mirror_ops.route(f, true, route4(r, p4[i].dst, p4[i].len, p4[i].gw));
	double t_del4 = now() - a;
	a = now();
	for (unsigned int i = 0; i < n6; i++)
		fib_mirror_ops.route(f, true, route6(r, p6[i].dst, p6[i].len, p6[i].gw));
	double t_del6 = now() - a;
	fib_get_stats(f, &st);
	printf("  delete: IPv4 %.2f s (%.0f/s), IPv6 %.2f s (%.0f/s); left: %" PRIu64
	       " routes, %" PRIu64 " slots\n",
	       t_del4, n4 / t_del4, t_del6, n6 / t_del6, st.routes4 + st.routes6, st.nexthops);
	fib_destroy(f);
	free(p4);
	free(p6);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	return system(cmd) == 0 ? 0 : 1;
}
