/* SPDX-License-Identifier: BSD-3-Clause */
/* `agentctl status`: everything an operator needs at a glance, as one JSON
 * object — mode, dataplane, NIC and exception port counters, the bridge, the
 * underlay addresses, the configured routes and a sample of the runtime ones
 * (with their count), and the kernel's own forwarding counter
 * (IpForwDatagrams), which shows whether the kernel is doing the work. */
#define LOG_TYPE "status"
#include <agent_log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/rtnetlink.h>

#include <agent_proto.h>
#include <dp_telemetry.h>
#include <kernel_side.h>

#include "agentd.h"

/* CONTROL (REQ_STATUS, REQ_ROUTES...) handlers live here too. */

static json_t *addr_array(struct agentd *a, const char *ifname)
{
	struct ip_prefix addrs[32];
	json_t *arr = json_array();
	char buf[64];
	int n = ks_addr_list(a->nl, ifname, addrs, 32);

	for (int i = 0; i < n; i++)
		json_array_append_new(
		    arr, json_string(ip_prefix_fmt(&addrs[i], true, buf, sizeof(buf))));
	return arr;
}

static json_t *link_object(struct agentd *a, const char *ifname)
{
	struct ks_link_info li;
	char mac[24];

	if (ks_link_get(a->nl, ifname, &li) < 0)
		return json_pack("{s:s,s:b}", "name", ifname, "exists", 0);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", li.mac[0], li.mac[1], li.mac[2],
		 li.mac[3], li.mac[4], li.mac[5]);
	return json_pack("{s:s,s:b,s:i,s:s,s:i,s:b,s:b,s:o}", "name", ifname, "exists", 1,
			 "ifindex", li.ifindex, "mac", mac, "mtu", li.mtu, "up", li.admin_up,
			 "carrier", li.carrier, "addresses", addr_array(a, ifname));
}

/* A bonded uplink: its mode and each member, as DPDK's bond sees it
 * (dpdk: link, in use) and as the kernel does (its netdev: carrier, and
 * whether the kernel bond has it). The dataplane lists the members in the
 * order agentd passed them (slave=), the config's. */
static json_t *bond_object(struct agentd *a, json_t *stats)
{
	const struct agent_config *cfg = &a->cfg;
	json_t *names = stats ? json_object_get(stats, "bond_members") : NULL;
	json_t *up = stats ? json_object_get(stats, "bond_link_up") : NULL;
	json_t *use = stats ? json_object_get(stats, "bond_in_use") : NULL;
	json_t *members = json_array();
	int bond = ks_link_index(a->nl, cfg->nic.kernel_netdev), n_up = 0, n_use = 0;

	for (int i = 0; i < cfg->nic.n_members; i++) {
		const struct member_cfg *m = &cfg->nic.members[i];
		json_t *o =
		    json_pack("{s:s,s:s}", "device", m->device, "kernel_netdev", m->kernel_netdev);
		struct ks_link_info li;

		if (json_is_string(json_array_get(names, i))) {
			bool l = json_integer_value(json_array_get(up, i)) != 0;
			bool u = json_integer_value(json_array_get(use, i)) != 0;

			json_object_set_new(o, "dpdk",
					    json_pack("{s:O,s:b,s:b}", "port",
						      json_array_get(names, i), "link_up", l,
						      "in_use", u));
			n_up += l;
			n_use += u;
		}
		if (ks_link_get(a->nl, m->kernel_netdev, &li) == 0)
			json_object_set_new(o, "kernel",
					    json_pack("{s:b,s:b}", "carrier", li.carrier, "in_bond",
						      bond > 0 && li.master == bond));
		json_array_append_new(members, o);
	}
	json_t *b = json_pack("{s:s,s:s,s:o}", "mode", agent_bond_mode_name(cfg->nic.bond_mode),
			      "kernel_netdev", cfg->nic.kernel_netdev, "members", members);
	if (names != NULL) {
		json_object_set_new(b, "members_up", json_integer(n_up));
		json_object_set_new(b, "members_in_use", json_integer(n_use));
	}
	return b;
}

/* A counter from /proc/net/snmp ("Ip: ... ForwDatagrams") or snmp6. */
static long long snmp_counter(const char *file, const char *proto, const char *name)
{
	char hdr[4096], val[4096];
	long long result = -1;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return -1;
	if (strcmp(file, "/proc/net/snmp6") == 0) {
		/* "Ip6OutForwDatagrams   123" */
		while (fscanf(f, "%4095s %4095s", hdr, val) == 2)
			if (strcmp(hdr, name) == 0) {
				result = atoll(val);
				break;
			}
		fclose(f);
		return result;
	}
	while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
		char *hs, *vs, *h, *v;
		size_t plen = strlen(proto);
		if (strncmp(hdr, proto, plen) != 0 || hdr[plen] != ':')
			continue;
		h = strtok_r(hdr + plen + 1, " \n", &hs);
		v = strtok_r(val + plen + 1, " \n", &vs);
		while (h && v) {
			if (strcmp(h, name) == 0) {
				result = atoll(v);
				break;
			}
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(f);
	return result;
}

/* The routes agentd moves with the underlay: the configured ones, then a
 * sample of the remembered runtime ones — never the kernel's table, which
 * can hold a million routes (status must answer at once, whatever its
 * size). Same entry shape as before, plus "source". */
#define ROUTES_SAMPLE 20

static json_t *routes_array(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	const char *ul = a->mode == MODE_DPDK ? cfg->exception.ifname : cfg->nic.kernel_netdev;
	json_t *arr = json_array();
	char dst[64], via[64];

	for (int i = 0; i < cfg->n_routes; i++) {
		const struct route_cfg *rc = &cfg->routes[i];
		json_t *r = json_pack("{s:s,s:s,s:i,s:i,s:s}", "dst",
				      ip_prefix_fmt(&rc->dst, true, dst, sizeof(dst)), "dev",
				      rc->dev[0] ? rc->dev : ul, "protocol",
				      rc->protocol ? rc->protocol : RTPROT_STATIC, "metric",
				      (int)rc->metric, "source", "config");
		if (rc->has_via)
			json_object_set_new(
			    r, "via",
			    json_string(ip_prefix_fmt(&rc->via, false, via, sizeof(via))));
		json_array_append_new(arr, r);
	}
	underlay_routes_sample(arr, ROUTES_SAMPLE);
	return arr;
}

json_t *status_build(struct agentd *a, json_t *health, json_t *stats)
{
	const struct agent_config *cfg = &a->cfg;
	json_t *st = json_object(), *dp = json_object();
	json_t *nic, *exc, *br, *ports, *kern;
	char names[AGENT_CFG_MAX_PORTS][IFNAMSIZ];
	int nports;

	json_object_set_new(st, "version", json_string(AGENT_VERSION));
	json_object_set_new(st, "mode", json_string(agent_mode_name(a->mode)));
	json_object_set_new(st, "mode_since", json_integer(a->mode_since));
	json_object_set_new(st, "last_failure", json_string(a->last_failure));
	json_object_set_new(st, "fallback", fallback_status(a));
	json_object_set_new(st, "config", json_string(cfg->path));
	json_object_set_new(st, "reload", reload_status(a));

	/* dataplane */
	json_object_set_new(dp, "pid", json_integer(a->dp.pid));
	if (a->dp.pid) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		json_object_set_new(dp, "uptime_s",
				    json_integer(now.tv_sec - a->dp.started.tv_sec));
		if (health != NULL)
			json_object_set(dp, "health", health);
	}
	json_object_set_new(st, "dataplane", dp);

	/* NIC: DPDK port counters + the kernel netdev, which must carry no
	 * address while DPDK owns the NIC. */
	nic = json_pack("{s:s,s:s}", "device", cfg->nic.n_members ? DP_BOND_PORT : cfg->nic.device,
			"kernel_netdev", cfg->nic.kernel_netdev);
	if (stats && json_object_get(stats, "nic"))
		json_object_set(nic, "dpdk", json_object_get(stats, "nic"));
	{
		json_t *knd = link_object(a, cfg->nic.kernel_netdev);
		json_t *addrs = json_object_get(knd, "addresses");
		json_object_set_new(nic, "kernel_netdev_free_of_addresses",
				    json_boolean(addrs == NULL || json_array_size(addrs) == 0));
		json_object_set_new(nic, "kernel", knd);
	}
	if (cfg->nic.n_members > 0)
		json_object_set_new(nic, "bond", bond_object(a, stats));
	json_object_set_new(st, "nic", nic);

	exc = json_pack("{s:s,s:s,s:s}", "type", a->dp.exc_type[0] ? a->dp.exc_type : "none", "why",
			a->dp.exc_why[0] ? a->dp.exc_why : "-", "ifname", cfg->exception.ifname);
	if (stats && json_object_get(stats, "exception"))
		json_object_set(exc, "dpdk", json_object_get(stats, "exception"));
	json_object_set_new(exc, "kernel", link_object(a, cfg->exception.ifname));
	json_object_set_new(st, "exception", exc);
	if (stats && json_object_get(stats, "fwd"))
		json_object_set(st, "forwarding", json_object_get(stats, "fwd"));
	if (stats && json_object_get(stats, "fib"))
		json_object_set(st, "fib", json_object_get(stats, "fib"));

	/* bridge, and "bridges": the first one too, then the others */
	json_t *all = json_array();
	for (int b = 0; b <= cfg->n_bridges; b++) {
		const char *name = b == 0 ? cfg->bridge.name : cfg->bridges[b - 1].name;

		br = link_object(a, name);
		ports = json_array();
		nports = ks_bridge_ports(a->nl, name, names, AGENT_CFG_MAX_PORTS);
		for (int i = 0; i < nports; i++) {
			struct ks_link_info li;
			bool up = ks_link_get(a->nl, names[i], &li) == 0 && li.admin_up;
			json_array_append_new(ports,
					      json_pack("{s:s,s:b}", "name", names[i], "up", up));
		}
		json_object_set_new(br, "ports", ports);
		if (b == 0)
			json_object_set(st, "bridge", br);
		json_array_append_new(all, br);
	}
	json_object_set_new(st, "bridges", all);

	/* tenant VLANs: the netdev on the underlay's current side (dp0.<id> on
	 * DPDK, <nic>.<id> otherwise) */
	all = json_array();
	for (int k = 0; k < cfg->n_vlans; k++) {
		char name[IFNAMSIZ + 8];

		kernel_vlan_ifname(a->mode == MODE_DPDK ? cfg->exception.ifname
							: cfg->nic.kernel_netdev,
				   cfg->vlans[k].id, name, sizeof(name));
		json_t *v = link_object(a, name);
		json_object_set_new(v, "id", json_integer(cfg->vlans[k].id));
		json_array_append_new(all, v);
	}
	json_object_set_new(st, "vlans", all);

	json_object_set_new(st, "routes", routes_array(a));
	{
		size_t total = underlay_routes_count();
		size_t shown = json_array_size(json_object_get(st, "routes")) - cfg->n_routes;
		json_object_set_new(st, "underlay_routes_total", json_integer(total));
		json_object_set_new(st, "routes_not_shown", json_integer(total - shown));
		json_object_set_new(st, "underlay_routes", underlay_routes_status());
	}
	json_object_set_new(st, "steering", steering_status(a));
	json_object_set_new(st, "control", ctl_status());
	json_object_set_new(st, "metrics", metrics_status());
	json_object_set_new(st, "loop", loop_status());

	/* The kernel's own forwarding: should stay flat when the fast path works. */
	kern = json_object();
	json_object_set_new(kern, "IpForwDatagrams",
			    json_integer(snmp_counter("/proc/net/snmp", "Ip", "ForwDatagrams")));
	json_object_set_new(
	    kern, "Ip6OutForwDatagrams",
	    json_integer(snmp_counter("/proc/net/snmp6", "", "Ip6OutForwDatagrams")));
	json_object_set_new(st, "kernel", kern);
	return st;
}

/* The dataplane's part of status comes from its telemetry, asked without
 * blocking the loop; the rest is agentd's own and the kernel's, read when the
 * answer (or the deadline) is there, so that it is as fresh. Short deadline,
 * and no question at all once heartbeats are missing (or it is being killed):
 * a stopped dataplane only costs its own fields, and an operator polling
 * status never delays anything else. The deadline is extended (up to
 * STATUS_DP_MAX_MS) while the forwarding lcore keeps turning: a telemetry
 * thread slow to be scheduled on a loaded host (CI: a TCG guest took over
 * 50 ms) is not a reason to answer without the DPDK counters. */
#define STATUS_DP_TIMEOUT_MS 50
#define STATUS_DP_MAX_MS     1000

struct status_req {
	status_done_t done;
	void *arg;
	pid_t pid; /* the dataplane asked */
};

static void status_tel_done(struct agentd *a, void *arg, const int *rets, json_t *const *vals,
			    int n)
{
	struct status_req *r = arg;
	bool same = a->dp.pid == r->pid; /* not a dataplane since replaced */
	json_t *st = status_build(a, same && rets[0] == 0 ? vals[0] : NULL,
				  same && rets[1] == 0 ? vals[1] : NULL);

	if (st != NULL && (rets[0] < 0 || rets[1] < 0))
		json_object_set_new(json_object_get(st, "dataplane"), "telemetry",
				    json_string(strerror(-(rets[0] < 0 ? rets[0] : rets[1]))));
	r->done(a, r->arg, st);
	free(r);
}

int status_collect(struct agentd *a, status_done_t done, void *arg)
{
	static const char *const cmds[] = {DP_TEL_HEALTH, DP_TEL_STATS};
	struct status_req *r;
	int ret;

	if (!a->dp.pid || a->dp.killed || fallback_heartbeat_misses() != 0)
		return -ENOTCONN;
	if ((r = malloc(sizeof(*r))) == NULL)
		return -ENOMEM;
	*r = (struct status_req){.done = done, .arg = arg, .pid = a->dp.pid};
	ret = dpq_start_client_patient(a, cmds, 2, STATUS_DP_TIMEOUT_MS, STATUS_DP_MAX_MS,
				       status_tel_done, r);
	if (ret < 0)
		free(r);
	return ret;
}

static void status_reply(struct agentd *a, void *arg, json_t *st)
{
	ctl_reply(a, arg, st ? 0 : -ENOMEM, st);
	free(arg);
}

static int status_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp,
			 const struct ctl_call *call)
{
	struct ctl_call *c = malloc(sizeof(*c));

	if (c != NULL) {
		*c = *call;
		if (status_collect(a, status_reply, c) == 0)
			return CTL_DEFERRED;
		free(c);
	}
	*resp = status_build(a, NULL, NULL);
	return *resp ? 0 : -ENOMEM;
}
static struct ctl_handler status_handler = {
    .type = AGENT_REQ_STATUS,
    .name = "status",
    .handle = status_handle,
};
CTL_REGISTER(status_handler);
