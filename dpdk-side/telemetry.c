/* SPDX-License-Identifier: BSD-3-Clause */
/* Telemetry commands of agent-dataplane (contract: include/dp_telemetry.h).
 * They run on DPDK's telemetry thread: counters are read with relaxed atomic
 * loads, and dp.lock keeps the ports from being closed under a query. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include <dp_telemetry.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>

#include <linux/rtnetlink.h>

#include <rte_eth_bond.h>

#include "dataplane.h"
#include "explain.h"
#include "fib.h"
#include "mirror/nl_mirror.h"

RTE_LOG_REGISTER(dp_telemetry_logtype, agent.dp.telemetry, INFO);
#define RTE_LOGTYPE_DP_TEL dp_telemetry_logtype

static uint64_t uptime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - dp.start_ns) /
	       1000000000u;
}

static int health_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_fwd_counters sum;
	int fwd_lcore = -1;

	pthread_mutex_lock(&dp.lock);
	dp_lcore_counters_sum(dp.fwd, dp.n_fwd, &sum);
	if (dp.n_fwd > 0)
		fwd_lcore = (int)dp.fwd[0]->lcore_id;
	pthread_mutex_unlock(&dp.lock);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "state",
				     dp_state_name(__atomic_load_n(&dp.state, __ATOMIC_ACQUIRE)));
	rte_tel_data_add_dict_int(d, "pid", (int)getpid());
	rte_tel_data_add_dict_u64(d, "uptime_s", uptime_s());
	rte_tel_data_add_dict_u64(d, "heartbeat", sum.heartbeat);
	rte_tel_data_add_dict_string(d, "nic", dp.args.nic);
	rte_tel_data_add_dict_string(d, "exception", dp.args.exception);
	if (fwd_lcore >= 0)
		rte_tel_data_add_dict_int(d, "fwd_lcore", fwd_lcore);
	/* 1 when the FIB mirror runs: agentd turns eBPF steering on only then */
	rte_tel_data_add_dict_int(d, "fast_path", dp.fib != NULL);
	return 0;
}

/* One port's dict; eth stats only while the port is up. Caller holds dp.lock. */
static struct rte_tel_data *port_dict(const struct dp_port *port, uint64_t *rx_nombuf)
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	struct rte_eth_stats st = {0};
	struct rte_eth_link link = {0};

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", port->name);
	if (!port->found)
		return d;
	if (dp.ports_up) {
		rte_eth_link_get_nowait(port->port_id, &link);
		rte_eth_stats_get(port->port_id, &st);
	}
	dp_format_mac(&port->mac, mac, sizeof(mac));
	rte_tel_data_add_dict_int(d, "port_id", port->port_id);
	rte_tel_data_add_dict_string(d, "driver", port->driver);
	rte_tel_data_add_dict_string(d, "type", port->kind);
	rte_tel_data_add_dict_string(d, "mac", mac);
	if (port->kernel_ifname[0] != '\0') {
		struct dp_kernel_if kif;
		char kmac[RTE_ETHER_ADDR_FMT_SIZE];

		rte_tel_data_add_dict_string(d, "kernel_ifname", port->kernel_ifname);
		if (dp_kernel_if_get(port->kernel_ifname, &kif) == 0) {
			dp_format_mac(&kif.mac, kmac, sizeof(kmac));
			rte_tel_data_add_dict_string(d, "kernel_mac", kmac);
			rte_tel_data_add_dict_u64(d, "kernel_rx_dropped", kif.rx_dropped);
			rte_tel_data_add_dict_u64(d, "kernel_tx_dropped", kif.tx_dropped);
		}
	}
	rte_tel_data_add_dict_int(d, "mtu", port->mtu);
	if (port->configured) {
		char offl[RTE_TEL_MAX_STRING_LEN];
		dp_format_offloads(port->rx_offloads, true, offl, sizeof(offl));
		rte_tel_data_add_dict_string(d, "rx_offloads", offl);
		dp_format_offloads(port->tx_offloads, false, offl, sizeof(offl));
		rte_tel_data_add_dict_string(d, "tx_offloads", offl);
	}
	rte_tel_data_add_dict_int(d, "link_up", link.link_status == RTE_ETH_LINK_UP);
	rte_tel_data_add_dict_u64(
	    d, "speed_mbps", link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed);
	rte_tel_data_add_dict_u64(d, "rx_packets", st.ipackets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", st.ibytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", st.opackets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", st.obytes);
	rte_tel_data_add_dict_u64(d, "rx_missed", st.imissed);
	rte_tel_data_add_dict_u64(d, "rx_errors", st.ierrors);
	rte_tel_data_add_dict_u64(d, "tx_errors", st.oerrors);
	rte_tel_data_add_dict_u64(d, "rx_nombuf", st.rx_nombuf);
	*rx_nombuf += st.rx_nombuf;
	return d;
}

/* A bonded NIC: its mode and, member by member (arrays of one order: a
 * telemetry dict in a dict holds no arrays), name, link and use. */
static void bond_arrays(struct rte_tel_data *d)
{
	struct dp_bond_member m[DP_BOND_MAX_MEMBERS];
	struct rte_tel_data *names, *up, *use;
	int mode, n = -1;

	pthread_mutex_lock(&dp.lock);
	mode = dp_bond_mode(&dp.ports[DP_PORT_NIC]);
	if (mode >= 0 && dp.ports_up && dp.ports[DP_PORT_NIC].started)
		n = dp_bond_members(&dp.ports[DP_PORT_NIC], m, DP_BOND_MAX_MEMBERS);
	pthread_mutex_unlock(&dp.lock);
	if (mode < 0)
		return;
	rte_tel_data_add_dict_string(d, "bond_mode",
				     mode == BONDING_MODE_8023AD	  ? "802.3ad"
				     : mode == BONDING_MODE_ACTIVE_BACKUP ? "active-backup"
									  : "other");
	names = rte_tel_data_alloc();
	up = rte_tel_data_alloc();
	use = rte_tel_data_alloc();
	if (names == NULL || up == NULL || use == NULL) {
		rte_tel_data_free(names);
		rte_tel_data_free(up);
		rte_tel_data_free(use);
		return;
	}
	rte_tel_data_start_array(names, RTE_TEL_STRING_VAL);
	rte_tel_data_start_array(up, RTE_TEL_INT_VAL);
	rte_tel_data_start_array(use, RTE_TEL_INT_VAL);
	for (int i = 0; i < n; i++) {
		rte_tel_data_add_array_string(names, m[i].name);
		rte_tel_data_add_array_int(up, m[i].link_up);
		rte_tel_data_add_array_int(use, m[i].in_use);
	}
	rte_tel_data_add_dict_container(d, "bond_members", names, 0);
	rte_tel_data_add_dict_container(d, "bond_link_up", up, 0);
	rte_tel_data_add_dict_container(d, "bond_in_use", use, 0);
}

static int stats_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct rte_tel_data *nic, *exc, *fwd;
	struct dp_fwd_counters sum;
	uint64_t rx_nombuf = 0;

	fwd = rte_tel_data_alloc();
	if (fwd == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&dp.lock);
	nic = port_dict(&dp.ports[DP_PORT_NIC], &rx_nombuf);
	exc = port_dict(&dp.ports[DP_PORT_EXC], &rx_nombuf);
	dp_lcore_counters_sum(dp.fwd, dp.n_fwd, &sum);
	pthread_mutex_unlock(&dp.lock);
	if (nic == NULL || exc == NULL) {
		rte_tel_data_free(nic);
		rte_tel_data_free(exc);
		rte_tel_data_free(fwd);
		return -ENOMEM;
	}

	rte_tel_data_start_dict(fwd);
#define DP_X(name) rte_tel_data_add_dict_u64(fwd, #name, sum.name);
	DP_FWD_COUNTERS(DP_X)
#undef DP_X
	rte_tel_data_add_dict_u64(fwd, "drop_tx_full", sum.drop_tx_full_nic + sum.drop_tx_full_exc);
	rte_tel_data_add_dict_u64(fwd, "drop_no_mbuf", rx_nombuf);

	struct rte_tel_data *fibd = rte_tel_data_alloc();
	if (fibd != NULL) {
		struct fib_stats fs = {0};
		struct nl_mirror_stats ms = {0};
		rte_tel_data_start_dict(fibd);
		pthread_mutex_lock(&dp.lock);
		rte_tel_data_add_dict_int(fibd, "enabled", dp.fib != NULL);
		if (dp.fib != NULL)
			fib_get_stats(dp.fib, &fs);
		if (dp.mirror != NULL)
			ms = *nl_mirror_stats(dp.mirror);
		pthread_mutex_unlock(&dp.lock);
		rte_tel_data_add_dict_u64(fibd, "routes4", fs.routes4);
		rte_tel_data_add_dict_u64(fibd, "routes6", fs.routes6);
		rte_tel_data_add_dict_u64(fibd, "nexthops", fs.nexthops);
		rte_tel_data_add_dict_u64(fibd, "nhobjs", fs.nhobjs);
		rte_tel_data_add_dict_u64(fibd, "ecmp_routes", fs.ecmp_routes);
		rte_tel_data_add_dict_u64(fibd, "neighbours", fs.neighbours);
		rte_tel_data_add_dict_u64(fibd, "local_addresses", fs.locals);
		rte_tel_data_add_dict_u64(fibd, "route_errors", fs.route_errors);
		rte_tel_data_add_dict_u64(fibd, "neigh_errors", fs.neigh_errors);
		rte_tel_data_add_dict_u64(fibd, "resyncs", fs.resyncs);
		/* 1 while the fast path punts everything (punt_behind) */
		rte_tel_data_add_dict_u64(fibd, "behind", fs.behind);
		rte_tel_data_add_dict_u64(fibd, "full", fs.full);
		rte_tel_data_add_dict_u64(fibd, "mem_bytes", fs.mem_bytes);
		rte_tel_data_add_dict_u64(fibd, "netlink_events", ms.events);
		rte_tel_data_add_dict_u64(fibd, "netlink_dumps", ms.dumps);
		rte_tel_data_add_dict_u64(fibd, "netlink_dump_retries", ms.dump_retries);
		rte_tel_data_add_dict_u64(fibd, "netlink_overruns", ms.overruns);
		rte_tel_data_add_dict_u64(fibd, "netlink_parse_errors", ms.parse_errors);
		rte_tel_data_add_dict_u64(fibd, "netlink_foreign", ms.foreign);
		rte_tel_data_add_dict_u64(fibd, "netlink_resync_failures", ms.resync_failures);
		rte_tel_data_add_dict_u64(fibd, "netlink_drained", ms.drained);
	}

	rte_tel_data_start_dict(d);
	if (fibd != NULL)
		rte_tel_data_add_dict_container(d, "fib", fibd, 0);
	bond_arrays(d);
	/* keep = 0: d takes ownership and frees them */
	rte_tel_data_add_dict_container(d, "nic", nic, 0);
	rte_tel_data_add_dict_container(d, "exception", exc, 0);
	rte_tel_data_add_dict_container(d, "fwd", fwd, 0);
	return 0;
}

/* ---- FIB listings: agentctl routes / neigh, a page at a time ----
 *
 * A telemetry reply is at most 16 KiB of JSON (MAX_OUTPUT_LEN in DPDK 22.11)
 * and a dict holds at most RTE_TEL_MAX_DICT_ENTRIES; what does not fit is
 * silently left out. So a listing is paged: each reply holds at most
 * PAGE_MAX entries and PAGE_BUDGET bytes (estimated), plus "next", the
 * cursor to ask for the next page (absent at the end). "n" and "next" come
 * first, so a reply cut short still says how many entries it should hold. */

#define PAGE_MAX    100
#define PAGE_BUDGET (12 * 1024) /* of the 16 KiB reply: keys, quotes, margin */

static const char *kind_name(uint8_t kind)
{
	return kind == NH_VM ? "vm" : kind == NH_UNDERLAY ? "underlay" : "kernel";
}

/* Where a route leads for the fast path: "none" = no next hop slot, "kernel"
 * = the kernel's (blackhole, other device...), "mixed" = ECMP paths of
 * different kinds. */
static const char *nh_path(const struct fib_nexthop *nh)
{
	if (nh == NULL)
		return "none";
	if (nh->n == 0)
		return "kernel";
	for (unsigned int i = 1; i < nh->n; i++)
		if (nh->p[i].kind != nh->p[0].kind)
			return "mixed";
	return kind_name(nh->p[0].kind);
}

/* Names as iproute2 prints them (rt_protos, rtnl_rtntype_n2a). */
static const char *proto_name(uint8_t proto, char *buf, size_t len)
{
	static const struct {
		uint8_t id;
		const char *name;
	} names[] = {
	    {RTPROT_UNSPEC, "unspec"},
	    {RTPROT_REDIRECT, "redirect"},
	    {RTPROT_KERNEL, "kernel"},
	    {RTPROT_BOOT, "boot"},
	    {RTPROT_STATIC, "static"},
	    {RTPROT_GATED, "gated"},
	    {RTPROT_RA, "ra"},
	    {RTPROT_MRT, "mrt"},
	    {RTPROT_ZEBRA, "zebra"},
	    {RTPROT_BIRD, "bird"},
	    {RTPROT_DNROUTED, "dnrouted"},
	    {RTPROT_XORP, "xorp"},
	    {RTPROT_NTK, "ntk"},
	    {RTPROT_DHCP, "dhcp"},
	    {RTPROT_MROUTED, "mrouted"},
	    {RTPROT_KEEPALIVED, "keepalived"},
	    {RTPROT_BABEL, "babel"},
	    {RTPROT_OPENR, "openr"},
	    {RTPROT_BGP, "bgp"},
	    {RTPROT_ISIS, "isis"},
	    {RTPROT_OSPF, "ospf"},
	    {RTPROT_RIP, "rip"},
	    {RTPROT_EIGRP, "eigrp"},
	};

	for (size_t i = 0; i < RTE_DIM(names); i++)
		if (names[i].id == proto)
			return names[i].name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

static const char *type_name(uint8_t type, char *buf, size_t len)
{
	static const char *const names[] = {
	    [RTN_UNSPEC] = "none",
	    [RTN_UNICAST] = "unicast",
	    [RTN_LOCAL] = "local",
	    [RTN_BROADCAST] = "broadcast",
	    [RTN_ANYCAST] = "anycast",
	    [RTN_MULTICAST] = "multicast",
	    [RTN_BLACKHOLE] = "blackhole",
	    [RTN_UNREACHABLE] = "unreachable",
	    [RTN_PROHIBIT] = "prohibit",
	    [RTN_THROW] = "throw",
	    [RTN_NAT] = "nat",
	    [RTN_XRESOLVE] = "xresolve",
	};

	if (type < RTE_DIM(names) && names[type] != NULL)
		return names[type];
	snprintf(buf, len, "%u", type);
	return buf;
}

/* if_indextoname() is a syscall: a page asks for the same few devices. */
struct ifname_cache {
	int idx[8];
	char name[8][IF_NAMESIZE];
	unsigned int n;
};

static const char *ifname(struct ifname_cache *c, int ifindex)
{
	unsigned int slot;

	if (ifindex <= 0)
		return "";
	for (unsigned int i = 0; i < c->n && i < RTE_DIM(c->idx); i++)
		if (c->idx[i] == ifindex)
			return c->name[i];
	slot = c->n++ % RTE_DIM(c->idx);
	c->idx[slot] = ifindex;
	if (if_indextoname((unsigned int)ifindex, c->name[slot]) == NULL)
		snprintf(c->name[slot], IF_NAMESIZE, "if%d", ifindex);
	return c->name[slot];
}

/* One route as rendered into a reply. Copied out during the walk: the
 * struct fib_nexthop is only guaranteed alive under the FIB's lock. */
struct route_row {
	char dst[INET6_ADDRSTRLEN + 4];
	char proto[8], type[12];
	uint32_t table, metric, nh_id;
	const char *path;
	unsigned int n; /* paths */
	struct {
		char via[INET6_ADDRSTRLEN];
		char dev[IF_NAMESIZE];
		unsigned int weight;
		const char *path;
	} p[FIB_ECMP_MAX];
	size_t size; /* estimated JSON bytes */
};

/* Upper bounds of the JSON bytes of "key":"value", and "key":<u32>, (with
 * separators; our strings need no escaping) */
#define STR_SIZE(k, v) (strlen(k) + strlen(v) + 6)
#define NUM_SIZE(k)    (strlen(k) + 14)

static void prefix_str(int family, const uint8_t *addr, uint8_t len, char *out, size_t size)
{
	size_t n;

	inet_ntop(family, addr, out, size);
	n = strlen(out);
	snprintf(out + n, size - n, "/%u", len);
}

static void route_render(const struct fib_route_info *r, struct ifname_cache *ic,
			 struct route_row *row)
{
	const struct fib_nexthop *nh = r->nh;
	char tmp[8];
	size_t sz = 16; /* "NN":{}, */

	prefix_str(r->family, r->dst, r->dst_len, row->dst, sizeof(row->dst));
	snprintf(row->proto, sizeof(row->proto), "%s", proto_name(r->protocol, tmp, sizeof(tmp)));
	snprintf(row->type, sizeof(row->type), "%s", type_name(r->type, tmp, sizeof(tmp)));
	row->table = r->table;
	row->metric = r->priority;
	row->nh_id = r->nh_id;
	row->path = nh_path(nh);
	row->n = nh != NULL ? RTE_MIN(nh->n, (unsigned int)FIB_ECMP_MAX) : 0;
	sz += STR_SIZE("dst", row->dst) + STR_SIZE("proto", row->proto) +
	      STR_SIZE("type", row->type) + STR_SIZE("path", row->path) + NUM_SIZE("table") +
	      NUM_SIZE("metric") + NUM_SIZE("nhid");
	for (unsigned int i = 0; i < row->n; i++) {
		const struct fib_nh_path *p = &nh->p[i];
		unsigned int w = 0;

		row->p[i].via[0] = '\0';
		if (p->has_gw)
			inet_ntop(p->gw_family ? p->gw_family : r->family, p->gw, row->p[i].via,
				  sizeof(row->p[i].via));
		snprintf(row->p[i].dev, IF_NAMESIZE, "%s", ifname(ic, p->oif));
		/* sel[] repeats each path by its weight (scaled to FIB_SEL_MAX) */
		for (unsigned int k = 0; k < nh->n_sel && k < FIB_SEL_MAX; k++)
			w += nh->sel[k] == i;
		row->p[i].weight = w ? w : 1;
		row->p[i].path = kind_name(p->kind);
		sz += STR_SIZE("via", row->p[i].via) + STR_SIZE("dev", row->p[i].dev) +
		      NUM_SIZE("weight") + STR_SIZE("path", row->p[i].path) + 10;
	}
	row->size = sz + (row->n > 1 ? NUM_SIZE("ecmp") + 16 : 0);
}

/* The entry's dict; ECMP paths as numbered sub-dicts under "nexthops"
 * (a string would exceed RTE_TEL_MAX_STRING_LEN). */
static struct rte_tel_data *route_dict(const struct route_row *row)
{
	struct rte_tel_data *e = rte_tel_data_alloc();
	char key[16];

	if (e == NULL)
		return NULL;
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_string(e, "dst", row->dst);
	rte_tel_data_add_dict_u64(e, "table", row->table);
	rte_tel_data_add_dict_u64(e, "metric", row->metric);
	rte_tel_data_add_dict_string(e, "proto", row->proto);
	rte_tel_data_add_dict_string(e, "type", row->type);
	if (row->nh_id != 0)
		rte_tel_data_add_dict_u64(e, "nhid", row->nh_id);
	rte_tel_data_add_dict_string(e, "path", row->path);
	if (row->n == 1) {
		if (row->p[0].via[0] != '\0')
			rte_tel_data_add_dict_string(e, "via", row->p[0].via);
		if (row->p[0].dev[0] != '\0')
			rte_tel_data_add_dict_string(e, "dev", row->p[0].dev);
	} else if (row->n > 1) {
		struct rte_tel_data *nhs = rte_tel_data_alloc();

		rte_tel_data_add_dict_u64(e, "ecmp", row->n);
		if (nhs == NULL)
			return e; /* "ecmp" without "nexthops": the client sees it */
		rte_tel_data_start_dict(nhs);
		for (unsigned int i = 0; i < row->n; i++) {
			struct rte_tel_data *p = rte_tel_data_alloc();

			if (p == NULL)
				break;
			rte_tel_data_start_dict(p);
			if (row->p[i].via[0] != '\0')
				rte_tel_data_add_dict_string(p, "via", row->p[i].via);
			if (row->p[i].dev[0] != '\0')
				rte_tel_data_add_dict_string(p, "dev", row->p[i].dev);
			rte_tel_data_add_dict_u64(p, "weight", row->p[i].weight);
			rte_tel_data_add_dict_string(p, "path", row->p[i].path);
			snprintf(key, sizeof(key), "%u", i);
			rte_tel_data_add_dict_container(nhs, key, p, 0);
		}
		rte_tel_data_add_dict_container(e, "nexthops", nhs, 0);
	}
	return e;
}

struct route_page {
	struct route_row *rows;
	int head;	    /* 1: rows[0] is the filter prefix's own route (see routes_cb) */
	uint8_t within_len; /* that prefix's length: a walked route of that length is it */
	int n;
	size_t size;
	bool over; /* a route did not fit in PAGE_BUDGET */
	struct ifname_cache ic;
};

static void route_collect(void *arg, const struct fib_route_info *r)
{
	struct route_page *pg = arg;
	struct route_row *row;

	if (pg->over || pg->n >= PAGE_MAX)
		return;
	/* the filter prefix itself is shown first on the first page (should
	 * the walk ever yield it, on whatever page) */
	if (r->dst_len == pg->within_len)
		return;
	row = &pg->rows[pg->n];
	route_render(r, &pg->ic, row);
	/* the first walked route is always taken: the cursor must move */
	if (pg->n > pg->head && pg->size + row->size > PAGE_BUDGET) {
		pg->over = true;
		return;
	}
	pg->size += row->size;
	pg->n++;
}

/* The cursor travels as hex: printable, without the ',' that separates
 * telemetry parameters. */
static void cursor_encode(const void *c, size_t len, char *out)
{
	const uint8_t *b = c;

	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * len] = '\0';
}

static int cursor_decode(const char *s, size_t slen, void *c, size_t len)
{
	uint8_t *b = c;

	memset(c, 0, len);
	if (slen == 0)
		return 0; /* start */
	if (slen != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned int v;
		char hex[3] = {s[2 * i], s[2 * i + 1], '\0'};

		if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]) ||
		    sscanf(hex, "%x", &v) != 1)
			return -EINVAL;
		b[i] = (uint8_t)v;
	}
	return 0;
}

/* "addr/len" (or a bare address: a host prefix) of FAMILY, host bits
 * cleared. */
static int prefix_parse(int family, const char *s, uint8_t *addr, uint8_t *len)
{
	unsigned int max = family == AF_INET ? 32 : 128, l = max;
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		errno = 0;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end != '\0' || v > max)
			return -EINVAL;
		l = (unsigned int)v;
	}
	memset(addr, 0, 16);
	if (inet_pton(family, buf, addr) != 1)
		return -EINVAL;
	for (unsigned int bit = l; bit < max; bit++)
		addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	*len = (uint8_t)l;
	return 0;
}

static int family_parse(const char *s, size_t n)
{
	if (n == 1 && s[0] == '4')
		return AF_INET;
	if (n == 1 && s[0] == '6')
		return AF_INET6;
	return -EINVAL;
}

/* Add the numbered entries and the page header to D. */
static void page_start(struct rte_tel_data *d, int n, bool done, const char *next)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "n", (uint64_t)n);
	if (!done)
		rte_tel_data_add_dict_string(d, "next", next);
}

/* /agent/routes,<4|6>,<cursor>[,<prefix/len>] */
static int routes_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct fib_cursor start, cur;
	struct route_page pg = {0};
	char next[2 * sizeof(cur) + 1], key[16];
	const char *p = params ? params : "", *c1, *c2;
	uint8_t within[16] = {0}, within_len = 0;
	int family, ret = 0, max = PAGE_MAX;
	bool done = true, have_fib;

	RTE_SET_USED(cmd);
	/* family, cursor (may be empty), optional filter */
	c1 = strchr(p, ',');
	family = family_parse(p, c1 ? (size_t)(c1 - p) : strlen(p));
	if (family < 0)
		return -EINVAL;
	if (c1 != NULL) {
		c2 = strchr(c1 + 1, ',');
		if (cursor_decode(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), &start,
				  sizeof(start)) < 0)
			return -EINVAL;
		if (c2 != NULL && c2[1] != '\0' &&
		    prefix_parse(family, c2 + 1, within, &within_len) < 0)
			return -EINVAL;
	} else {
		memset(&start, 0, sizeof(start));
	}

	pg.rows = calloc(PAGE_MAX, sizeof(*pg.rows));
	if (pg.rows == NULL)
		return -ENOMEM;
	cur = start;
	pg.within_len = within_len;
	pthread_mutex_lock(&dp.lock);
	have_fib = dp.fib != NULL;
	/* The walk (rte_rib_get_nxt) yields only prefixes strictly inside the
	 * filter: the filter prefix itself, or the default route when there is
	 * no filter, would never be listed. The first page shows it first. */
	if (have_fib && !start.started) {
		struct fib_route_info info;

		if (fib_route_get(dp.fib, family, within, within_len, &info) == 0) {
			route_render(&info, &pg.ic, &pg.rows[0]);
			pg.head = 1;
		}
	}
	/* A page whose routes do not all fit in the budget is walked again
	 * from the same cursor for as many as fitted, so that the cursor the
	 * client gets back points right after the last route it received. */
	for (int tries = 0; have_fib && tries < 8; tries++) {
		cur = start;
		pg.n = pg.head;
		pg.size = pg.head ? pg.rows[0].size : 0;
		pg.over = false;
		done = false;
		ret = fib_walk_routes_page(dp.fib, family, within, within_len, &cur, max - pg.head,
					   &done, route_collect, &pg);
		if (ret < 0 || !pg.over)
			break;
		max = pg.n;
	}
	pthread_mutex_unlock(&dp.lock);
	if (ret < 0 || pg.over) {
		free(pg.rows);
		return ret < 0 ? ret : -EAGAIN;
	}
	cursor_encode(&cur, sizeof(cur), next);
	page_start(d, pg.n, done || !have_fib, next);
	for (int i = 0; i < pg.n; i++) {
		struct rte_tel_data *e = route_dict(&pg.rows[i]);
		if (e == NULL) {
			free(pg.rows);
			return -ENOMEM;
		}
		snprintf(key, sizeof(key), "%d", i);
		rte_tel_data_add_dict_container(d, key, e, 0);
	}
	free(pg.rows);
	return 0;
}

/* /agent/route,<prefix/len>: the kernel's route for exactly that prefix. */
static int route_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct fib_route_info info;
	struct ifname_cache ic = {0};
	struct route_row *row;
	struct rte_tel_data *e;
	uint8_t addr[16];
	uint8_t len;
	int family, ret;

	RTE_SET_USED(cmd);
	if (params == NULL)
		return -EINVAL;
	family = strchr(params, ':') ? AF_INET6 : AF_INET;
	if (prefix_parse(family, params, addr, &len) < 0)
		return -EINVAL;
	row = calloc(1, sizeof(*row));
	if (row == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&dp.lock);
	ret = dp.fib != NULL ? fib_route_get(dp.fib, family, addr, len, &info) : -ENOENT;
	/* rendered (the next hop copied) right away, still under dp.lock */
	if (ret == 0)
		route_render(&info, &ic, row);
	pthread_mutex_unlock(&dp.lock);
	rte_tel_data_start_dict(d);
	if (ret == 0) {
		e = route_dict(row);
		if (e == NULL)
			ret = -ENOMEM;
		else
			rte_tel_data_add_dict_container(d, "route", e, 0);
	}
	free(row);
	/* not found: an empty dict (null would read as "no such command") */
	return ret == -ENOENT ? 0 : ret;
}

struct neigh_row {
	char ip[INET6_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE], dev[IF_NAMESIZE];
};

struct neigh_page {
	struct neigh_row rows[PAGE_MAX];
	int n;
	size_t size;
	bool over;
	struct ifname_cache ic;
};

static void neigh_collect(void *arg, const struct fib_neigh_key *k, const struct fib_neigh *nb)
{
	struct neigh_page *pg = arg;
	struct neigh_row *row;
	size_t sz;

	if (pg->over || pg->n >= PAGE_MAX)
		return;
	row = &pg->rows[pg->n];
	inet_ntop(k->family, k->addr, row->ip, sizeof(row->ip));
	dp_format_mac(&nb->mac, row->mac, sizeof(row->mac)); /* lower case, as ip neigh */
	snprintf(row->dev, sizeof(row->dev), "%s", ifname(&pg->ic, k->ifindex));
	sz = 16 + STR_SIZE("ip", row->ip) + STR_SIZE("mac", row->mac) + STR_SIZE("dev", row->dev);
	if (pg->n > 0 && pg->size + sz > PAGE_BUDGET) {
		pg->over = true;
		return;
	}
	pg->size += sz;
	pg->n++;
}

/* /agent/neigh,<cursor> (decimal, empty or 0 = start) */
static int neigh_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct neigh_page *pg;
	uint32_t start = 0, cur = 0;
	char next[16], key[16], *end;
	int ret = 0, max = PAGE_MAX;
	bool done = true, have_fib;

	RTE_SET_USED(cmd);
	if (params != NULL && params[0] != '\0') {
		errno = 0;
		unsigned long v = strtoul(params, &end, 10);
		if (errno || *end != '\0' || v > UINT32_MAX)
			return -EINVAL;
		start = (uint32_t)v;
	}
	pg = calloc(1, sizeof(*pg));
	if (pg == NULL)
		return -ENOMEM;
	cur = start;
	pthread_mutex_lock(&dp.lock);
	have_fib = dp.fib != NULL;
	for (int tries = 0; dp.fib != NULL && tries < 8; tries++) {
		cur = start;
		pg->n = 0;
		pg->size = 0;
		pg->over = false;
		done = false;
		ret = fib_walk_neigh_page(dp.fib, &cur, max, &done, neigh_collect, pg);
		if (ret < 0 || !pg->over)
			break;
		max = pg->n;
	}
	pthread_mutex_unlock(&dp.lock);
	if (ret < 0 || pg->over) {
		free(pg);
		return ret < 0 ? ret : -EAGAIN;
	}
	snprintf(next, sizeof(next), "%u", cur);
	page_start(d, pg->n, done || !have_fib, next);
	for (int i = 0; i < pg->n; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();
		if (e == NULL) {
			free(pg);
			return -ENOMEM;
		}
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "ip", pg->rows[i].ip);
		rte_tel_data_add_dict_string(e, "mac", pg->rows[i].mac);
		rte_tel_data_add_dict_string(e, "dev", pg->rows[i].dev);
		snprintf(key, sizeof(key), "%d", i);
		rte_tel_data_add_dict_container(d, key, e, 0);
	}
	free(pg);
	return 0;
}

/* ---- /agent/explain ---- */

static void explain_counter(void *arg, const char *name)
{
	rte_tel_data_add_array_string(arg, name);
}

static const char *path_state_name(uint8_t st)
{
	return st == FIB_TP_TAKEN	 ? "taken"
	       : st == FIB_TP_UNRESOLVED ? "unresolved"
	       : st == FIB_TP_OTHER_KIND ? "other_direction"
					 : "not_tried";
}

/* One path of the next hop the lookup found, and what happened to it. */
static struct rte_tel_data *explain_path(const struct dp_explain_res *res, int k, int family,
					 struct ifname_cache *ic)
{
	const struct fib_nh_path *p = &res->nh.p[k];
	struct rte_tel_data *d = rte_tel_data_alloc();
	char buf[INET6_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE];

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "index", k);
	if (p->has_gw && inet_ntop(p->gw_family ? p->gw_family : family, p->gw, buf, sizeof(buf)))
		rte_tel_data_add_dict_string(d, "via", buf);
	rte_tel_data_add_dict_string(d, "dev", ifname(ic, p->oif));
	rte_tel_data_add_dict_string(d, "path", kind_name(p->kind));
	rte_tel_data_add_dict_string(d, "state", path_state_name(res->tr.path[k]));
	if (res->tr.path[k] == FIB_TP_TAKEN && res->has_neigh) {
		dp_format_mac(&res->neigh_mac, mac, sizeof(mac));
		rte_tel_data_add_dict_string(d, "neigh", "resolved");
		rte_tel_data_add_dict_string(d, "mac", mac);
	} else if (res->tr.path[k] == FIB_TP_UNRESOLVED) {
		rte_tel_data_add_dict_string(d, "neigh", "unresolved");
	}
	return d;
}

/* The reason of a verdict that is not the fast path: the punt counter the
 * frame moved, without its prefix ("no_route", "ttl", "not_ours"...). */
static const char *explain_reason(const struct dp_burst_tally *t)
{
#define DP_P(name)                                                                                 \
	if (t->punt[FIB_PUNT_##name])                                                              \
		return #name;
	FIB_PUNT_REASONS(DP_P)
#undef DP_P
	if (t->punt_l2)
		return "l2";
	if (t->drop_not_ours)
		return "not_ours";
	if (t->punt_not_ip)
		return "not_ip";
	if (t->punt_ip_special)
		return "ip_special";
	if (t->punt_ttl)
		return "ttl";
	if (t->punt_vlan)
		return "vlan";
	if (t->from_kernel)
		return "from_kernel";
	return NULL;
}

/* /agent/explain,<src>,<dst>,<proto>,<sport>,<dport>,<vm|wire> */
static int explain_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_explain_req req;
	struct dp_explain_res *res;
	struct route_row *row;
	struct ifname_cache ic = {0};
	struct fib_stats fs = {0};
	struct rte_ether_addr nic_mac;
	struct rte_tel_data *cnt, *e;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	const struct rte_ether_hdr *eth;
	const char *reason;
	bool have_fib;
	int ret = 0;

	RTE_SET_USED(cmd);
	if (dp_explain_parse(params, &req) < 0)
		return -EINVAL;
	res = calloc(1, sizeof(*res));
	row = calloc(1, sizeof(*row));
	cnt = rte_tel_data_alloc();
	if (res == NULL || row == NULL || cnt == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&dp.lock);
	have_fib = dp.fib != NULL && dp.n_fwd > 0;
	if (have_fib) {
		nic_mac = dp.fwd[0]->nic_mac;
		fib_get_stats(dp.fib, &fs);
		ret = dp_explain_run(dp.fib, &nic_mac, &req, res);
		if (ret == 0 && res->has_route)
			route_render(&res->route, &ic, row);
	}
	pthread_mutex_unlock(&dp.lock);
	if (ret < 0)
		goto out;

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "from", req.in == DP_PORT_NIC ? "wire" : "vm");
	rte_tel_data_add_dict_int(d, "fib", have_fib);
	if (!have_fib) {
		/* no FIB mirror (no --bridge), or no forwarding lcore yet:
		 * everything crosses unchanged */
		rte_tel_data_add_dict_string(d, "verdict", "kernel");
		rte_tel_data_add_dict_string(d, "reason", "no_fib");
		goto out;
	}
	rte_tel_data_add_dict_u64(d, "fib_behind", fs.behind);
	rte_tel_data_add_dict_u64(d, "fib_full", fs.full);
	reason = explain_reason(&res->t);
	rte_tel_data_add_dict_string(d, "verdict",
				     res->t.fast_wire_to_vm || res->t.fast_vm_to_wire ? "fast"
				     : res->verdict == DP_VERDICT_DROP		      ? "drop"
				     : res->t.from_kernel			      ? "as_is"
										      : "kernel");
	rte_tel_data_add_dict_string(d, "out",
				     res->verdict == DP_PORT_NIC   ? "nic"
				     : res->verdict == DP_PORT_EXC ? "exception"
								   : "drop");
	if (reason != NULL)
		rte_tel_data_add_dict_string(d, "reason", reason);
	rte_tel_data_start_array(cnt, RTE_TEL_STRING_VAL);
	dp_explain_counters(&res->t, explain_counter, cnt);
	rte_tel_data_add_dict_container(d, "counters", cnt, 0);
	cnt = NULL;
	if (res->has_route && (e = route_dict(row)) != NULL)
		rte_tel_data_add_dict_container(d, "route", e, 0);
	if (res->has_nh && res->nh.n > 1) {
		rte_tel_data_add_dict_u64(d, "flow_hash", res->tr.flow_hash);
		rte_tel_data_add_dict_int(d, "ecmp_first", res->tr.first);
	}
	if (res->has_nh && res->nh.n > 0) {
		/* the path taken; else the first one skipped as unresolved */
		int k = res->tr.chosen;
		for (int i = 0; k < 0 && i < res->nh.n; i++)
			if (res->tr.path[(res->tr.first + i) % res->nh.n] == FIB_TP_UNRESOLVED)
				k = (res->tr.first + i) % res->nh.n;
		if (k >= 0 && (e = explain_path(res, k, req.family, &ic)) != NULL)
			rte_tel_data_add_dict_container(d, "nexthop", e, 0);
		if (res->nh.n > 1) {
			struct rte_tel_data *paths = rte_tel_data_alloc();
			char key[8];
			if (paths != NULL) {
				rte_tel_data_start_dict(paths);
				for (int i = 0; i < res->nh.n && i < FIB_ECMP_MAX; i++) {
					e = explain_path(res, i, req.family, &ic);
					if (e == NULL)
						break;
					snprintf(key, sizeof(key), "%d", i);
					rte_tel_data_add_dict_container(paths, key, e, 0);
				}
				rte_tel_data_add_dict_container(d, "paths", paths, 0);
			}
		}
	}
	/* the frame as it leaves: the fast path's rewrite (the next hop's MAC,
	 * the out port's), or what the kernel gets */
	eth = (const struct rte_ether_hdr *)res->frame;
	dp_format_mac(&eth->dst_addr, mac, sizeof(mac));
	rte_tel_data_add_dict_string(d, "out_dst_mac", mac);
	dp_format_mac(&eth->src_addr, mac, sizeof(mac));
	rte_tel_data_add_dict_string(d, "out_src_mac", mac);
out:
	rte_tel_data_free(cnt);
	free(row);
	free(res);
	return ret;
}

int dp_telemetry_register(void)
{
	int ret;

	ret = rte_telemetry_register_cmd(DP_TEL_HEALTH, health_cb,
					 "Dataplane health: state, pid, uptime_s, heartbeat. No "
					 "parameters.");
	if (ret < 0)
		return ret;
	ret = rte_telemetry_register_cmd(DP_TEL_STATS, stats_cb,
					 "Port and forwarding counters. No parameters.");
	if (ret < 0)
		return ret;
	ret = rte_telemetry_register_cmd(
	    DP_TEL_ROUTES, routes_cb,
	    "FIB mirror, paged. Params: 4|6,<cursor from \"next\", empty to start>[,<prefix/len>]");
	if (ret < 0)
		return ret;
	ret = rte_telemetry_register_cmd(DP_TEL_ROUTE, route_cb,
					 "The FIB mirror's route for exactly one prefix. Params: "
					 "<prefix/len>");
	if (ret < 0)
		return ret;
	ret = rte_telemetry_register_cmd(DP_TEL_NEIGH, neigh_cb,
					 "Neighbours mirrored from the kernel, paged. Params: "
					 "<cursor from \"next\", empty to start>");
	if (ret < 0)
		return ret;
	ret = rte_telemetry_register_cmd(DP_TEL_EXPLAIN, explain_cb,
					 "Which path a flow takes and why. Params: "
					 "<src>,<dst>,<proto>,<sport>,<dport>,<vm|wire>");
	if (ret < 0)
		return ret;
	RTE_LOG(DEBUG, DP_TEL, "registered %s, %s, %s, %s, %s, %s\n", DP_TEL_HEALTH, DP_TEL_STATS,
		DP_TEL_ROUTES, DP_TEL_ROUTE, DP_TEL_NEIGH, DP_TEL_EXPLAIN);
	return 0;
}
