/* SPDX-License-Identifier: BSD-3-Clause */
/* Telemetry commands of agent-dataplane (contract: include/dp_telemetry.h).
 * They run on DPDK's telemetry thread: counters are read with relaxed atomic
 * loads, and dp.lock keeps the ports from being closed under a query. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include <dp_telemetry.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>

#include <linux/rtnetlink.h>

#include "dataplane.h"
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
		rte_tel_data_add_dict_u64(fibd, "neighbours", fs.neighbours);
		rte_tel_data_add_dict_u64(fibd, "local_addresses", fs.locals);
		rte_tel_data_add_dict_u64(fibd, "route_errors", fs.route_errors);
		rte_tel_data_add_dict_u64(fibd, "neigh_errors", fs.neigh_errors);
		rte_tel_data_add_dict_u64(fibd, "resyncs", fs.resyncs);
		rte_tel_data_add_dict_u64(fibd, "netlink_events", ms.events);
		rte_tel_data_add_dict_u64(fibd, "netlink_dumps", ms.dumps);
		rte_tel_data_add_dict_u64(fibd, "netlink_dump_retries", ms.dump_retries);
		rte_tel_data_add_dict_u64(fibd, "netlink_overruns", ms.overruns);
		rte_tel_data_add_dict_u64(fibd, "netlink_parse_errors", ms.parse_errors);
	}

	rte_tel_data_start_dict(d);
	if (fibd != NULL)
		rte_tel_data_add_dict_container(d, "fib", fibd, 0);
	/* keep = 0: d takes ownership and frees them */
	rte_tel_data_add_dict_container(d, "nic", nic, 0);
	rte_tel_data_add_dict_container(d, "exception", exc, 0);
	rte_tel_data_add_dict_container(d, "fwd", fwd, 0);
	return 0;
}

/* ---- FIB listings: agentctl routes / neigh ---- */

static const char *nh_path(const struct fib_nexthop *nh)
{
	if (nh == NULL)
		return "none";
	return nh->kind == NH_VM ? "vm" : nh->kind == NH_UNDERLAY ? "underlay" : "kernel";
}

struct walk {
	struct rte_tel_data *arr;
	unsigned int n, dropped;
};

/* Telemetry dict keys allow only [A-Za-z0-9_/]: entries are numbered and
 * carry the prefix / address as a value. */
static const char *walk_key(const struct walk *w, char *buf)
{
	snprintf(buf, 16, "%u", w->n);
	return buf;
}

static void route_one(void *arg, const struct mirror_route *r, const struct fib_nexthop *nh)
{
	struct walk *w = arg;
	char dst[INET6_ADDRSTRLEN + 8], gw[INET6_ADDRSTRLEN], dev[IF_NAMESIZE] = "", key[16];
	struct rte_tel_data *e;
	size_t n;

	/* telemetry arrays and replies are bounded: count what does not fit */
	if (w->n >= 250 || (e = rte_tel_data_alloc()) == NULL) {
		w->dropped++;
		return;
	}
	inet_ntop(r->family, r->dst, dst, INET6_ADDRSTRLEN);
	n = strlen(dst);
	snprintf(dst + n, sizeof(dst) - n, "/%u", r->dst_len);
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_string(e, "dst", dst);
	if (r->has_gw) {
		inet_ntop(r->family, r->gw, gw, sizeof(gw));
		rte_tel_data_add_dict_string(e, "via", gw);
	}
	if (r->oif && if_indextoname((unsigned int)r->oif, dev) != NULL)
		rte_tel_data_add_dict_string(e, "dev", dev);
	rte_tel_data_add_dict_u64(e, "table", r->table);
	rte_tel_data_add_dict_u64(e, "metric", r->priority);
	rte_tel_data_add_dict_string(e, "path", nh_path(nh));
	rte_tel_data_add_dict_container(w->arr, walk_key(w, key), e, 0);
	w->n++;
}

static void neigh_one(void *arg, const struct fib_neigh_key *k, const struct fib_neigh *nb)
{
	struct walk *w = arg;
	char ip[INET6_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE], dev[IF_NAMESIZE] = "";
	char key[16];
	struct rte_tel_data *e;

	if (w->n >= 250 || (e = rte_tel_data_alloc()) == NULL) {
		w->dropped++;
		return;
	}
	inet_ntop(k->family, k->addr, ip, sizeof(ip));
	rte_ether_format_addr(mac, sizeof(mac), &nb->mac);
	if_indextoname((unsigned int)k->ifindex, dev);
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_string(e, "ip", ip);
	rte_tel_data_add_dict_string(e, "mac", mac);
	rte_tel_data_add_dict_string(e, "dev", dev);
	rte_tel_data_add_dict_container(w->arr, walk_key(w, key), e, 0);
	w->n++;
}

/* The reply is a dict of numbered dicts (telemetry 22.11 nests dicts in
 * dicts, not in arrays); "not_shown" counts what did not fit in a reply. */
static int walk_cb(struct rte_tel_data *d, bool routes)
{
	struct walk w = {.arr = d};

	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&dp.lock);
	if (dp.fib != NULL) {
		if (routes)
			fib_walk_routes(dp.fib, route_one, &w);
		else
			fib_walk_neigh(dp.fib, neigh_one, &w);
	}
	pthread_mutex_unlock(&dp.lock);
	if (w.dropped)
		rte_tel_data_add_dict_u64(d, "not_shown", w.dropped);
	return 0;
}

static int routes_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	return walk_cb(d, true);
}

static int neigh_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	return walk_cb(d, false);
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
	    "The FIB mirrored from the kernel (first 256). No parameters.");
	if (ret < 0)
		return ret;
	ret = rte_telemetry_register_cmd(DP_TEL_NEIGH, neigh_cb,
					 "Neighbours mirrored from the kernel (first 256).");
	if (ret < 0)
		return ret;
	RTE_LOG(DEBUG, DP_TEL, "registered %s, %s, %s, %s\n", DP_TEL_HEALTH, DP_TEL_STATS,
		DP_TEL_ROUTES, DP_TEL_NEIGH);
	return 0;
}
