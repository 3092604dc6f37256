/* SPDX-License-Identifier: BSD-3-Clause */
/* agentctl: the operator's CLI for agentd.
 *
 *   agentctl [-s SOCKET] status [--json] [-q]
 *   agentctl [-s SOCKET] stats [--json|--prometheus] [--watch [SECS]] [--times N]
 *   agentctl [-s SOCKET] routes [PREFIX] [--exact] [--count] [--json]
 *   agentctl [-s SOCKET] neigh [--count] [--json]
 *   agentctl [-s SOCKET] mode dpdk|kernel
 *   agentctl [-s SOCKET] explain SRC DST [PROTO [SPORT [DPORT]]] [--from vm|wire] [--json]
 *   agentctl [-s SOCKET] version [--json]
 *
 * Exit codes: 0 ok, 1 agentd not reachable or request failed, 2 usage,
 * 3 degraded (status -q, explain: not on the DPDK fast path). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <agent_proto.h>

#include "agentctl.h"

#define DEFAULT_SOCKET "/run/agentd/agentd.sock"

static int read_full(int fd, void *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = read(fd, (char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		off += n;
	}
	return 0;
}

/* Connect to agentd; one connection serves every request of this run (a
 * listing is one request per page). Returns the fd or -1 (message printed). */
int ctl_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 10};
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "agentctl: cannot reach agentd at %s: %s (is agentd running?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, (const char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += n;
	}
	return 0;
}

/* Send one request, return the parsed JSON response (or NULL + message). */
json_t *ctl_request(int fd, uint16_t type, const char *payload, int *status)
{
	static uint32_t seq;
	struct agent_req_hdr req = {.version = AGENT_PROTO_VERSION, .type = type, .id = ++seq};
	struct agent_resp_hdr resp;
	json_error_t jerr;
	json_t *body = NULL;
	char *text = NULL;

	req.len = payload ? strlen(payload) : 0;
	if (write_full(fd, &req, sizeof(req)) < 0 ||
	    (req.len && write_full(fd, payload, req.len) < 0) ||
	    read_full(fd, &resp, sizeof(resp)) < 0 || resp.len > AGENT_PROTO_MAX_MSG) {
		fprintf(stderr, "agentctl: request to agentd failed: %s\n",
			errno ? strerror(errno) : "bad response");
		return NULL;
	}
	text = calloc(1, resp.len + 1);
	if (text && read_full(fd, text, resp.len) == 0)
		body = json_loads(text, 0, &jerr);
	free(text);
	if (body == NULL || resp.id != req.id) {
		fprintf(stderr, "agentctl: bad response from agentd\n");
		json_decref(body);
		return NULL;
	}
	*status = resp.status;
	return body;
}

static const char *s(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "-";
}
static long long i(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* telemetry booleans arrive as 0/1 integers */
static bool truthy(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
}

static long long cnt(json_t *steer, const char *name)
{
	return json_integer_value(
	    json_object_get(json_object_get(json_object_get(steer, "counters"), name), "packets"));
}

static void print_addrs(json_t *arr)
{
	size_t idx;
	json_t *v;
	if (json_array_size(arr) == 0)
		printf(" (none)");
	json_array_foreach(arr, idx, v) printf(" %s", json_string_value(v));
	printf("\n");
}

static void print_port_counters(const char *label, json_t *p)
{
	if (p == NULL)
		return;
	printf("  %-9s rx %" PRId64 " pkts %" PRId64 " bytes, tx %" PRId64 " pkts %" PRId64
	       " bytes, rx_missed %" PRId64 ", rx_nombuf %" PRId64 ", errors rx %" PRId64
	       " tx %" PRId64 "\n",
	       label, (int64_t)i(p, "rx_packets"), (int64_t)i(p, "rx_bytes"),
	       (int64_t)i(p, "tx_packets"), (int64_t)i(p, "tx_bytes"), (int64_t)i(p, "rx_missed"),
	       (int64_t)i(p, "rx_nombuf"), (int64_t)i(p, "rx_errors"), (int64_t)i(p, "tx_errors"));
}

static void print_port_offloads(json_t *p)
{
	if (p == NULL || json_object_get(p, "rx_offloads") == NULL)
		return;
	printf("  offloads: rx %s; tx %s\n", s(p, "rx_offloads"), s(p, "tx_offloads"));
}

/* agentctl ports: one object per port (agentctl(8), "JSON"): what the
 * dataplane reports of its DPDK side ("dpdk": null while none runs) and the
 * kernel netdev behind it ("kernel", "exists": false when absent: a
 * vfio-pci NIC under DPDK). */
static json_t *ports_of(json_t *st)
{
	json_t *nic = json_object_get(st, "nic"), *exc = json_object_get(st, "exception");
	json_t *arr = json_array(), *p;

	p = json_pack("{s:s,s:s,s:s}", "role", "nic", "device", s(nic, "device"), "kernel_netdev",
		      s(nic, "kernel_netdev"));
	json_object_set(p, "dpdk", json_object_get(nic, "dpdk") ?: json_null());
	json_object_set(p, "kernel", json_object_get(nic, "kernel") ?: json_null());
	json_array_append_new(arr, p);
	p = json_pack("{s:s,s:s,s:s,s:s}", "role", "exception", "type", s(exc, "type"), "why",
		      s(exc, "why"), "kernel_netdev", s(exc, "ifname"));
	json_object_set(p, "dpdk", json_object_get(exc, "dpdk") ?: json_null());
	json_object_set(p, "kernel", json_object_get(exc, "kernel") ?: json_null());
	json_array_append_new(arr, p);
	return arr;
}

static void print_ports(json_t *st)
{
	json_t *ports = ports_of(st), *p;
	size_t idx;

	json_array_foreach(ports, idx, p)
	{
		json_t *d = json_object_get(p, "dpdk"), *k = json_object_get(p, "kernel");
		printf("%-10s %s", s(p, "role"),
		       strcmp(s(p, "role"), "nic") == 0 ? s(p, "device") : s(p, "type"));
		if (json_is_object(d))
			printf(
			    ": port %lld, driver %s (%s), mac %s, mtu %lld, link %s, %lld Mb/s\n",
			    i(d, "port_id"), s(d, "driver"), s(d, "type"), s(d, "mac"), i(d, "mtu"),
			    truthy(d, "link_up") ? "up" : "down", i(d, "speed_mbps"));
		else
			printf(": no dataplane\n");
		print_port_offloads(d);
		print_port_counters("counters:", json_is_object(d) ? d : NULL);
		printf("  kernel netdev %s: ", s(p, "kernel_netdev"));
		if (json_is_true(json_object_get(k, "exists"))) {
			printf("mac %s, mtu %lld, %s", s(k, "mac"), i(k, "mtu"),
			       truthy(k, "up") ? "up" : "down");
			print_addrs(json_object_get(k, "addresses"));
		} else
			printf("absent (the port is DPDK's)\n");
	}
	json_decref(ports);
}

/* A bonded uplink: "bond: 802.3ad, 2 of 2 members in use" and a line each. */
static void print_bond(json_t *b)
{
	json_t *m;
	size_t k;

	if (b == NULL)
		return;
	printf("  bond:      %s", s(b, "mode"));
	if (json_object_get(b, "members_in_use"))
		printf(", %lld of %zu members in use (DPDK)", i(b, "members_in_use"),
		       json_array_size(json_object_get(b, "members")));
	printf("\n");
	json_array_foreach(json_object_get(b, "members"), k, m)
	{
		json_t *d = json_object_get(m, "dpdk"), *kn = json_object_get(m, "kernel");

		printf("    member %s (%s):", s(m, "device"), s(m, "kernel_netdev"));
		if (d)
			printf(" DPDK link %s%s", truthy(d, "link_up") ? "up" : "DOWN",
			       truthy(d, "in_use") ? ", in use" : "");
		if (kn)
			printf(" kernel carrier %s%s", truthy(kn, "carrier") ? "up" : "down",
			       truthy(kn, "in_bond") ? ", in the kernel bond" : "");
		printf("\n");
	}
}

static void print_status(json_t *st)
{
	json_t *dp = json_object_get(st, "dataplane"), *nic = json_object_get(st, "nic");
	json_t *exc = json_object_get(st, "exception"), *br = json_object_get(st, "bridge");
	json_t *fwd = json_object_get(st, "forwarding"), *kern = json_object_get(st, "kernel");
	json_t *health = json_object_get(dp, "health"), *v, *ndp = json_object_get(nic, "dpdk");
	time_t since = i(st, "mode_since");
	char when[64];
	const char *key;
	size_t idx;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&since));
	printf("mode:        %s (since %s)\n", s(st, "mode"), when);
	if (s(st, "last_failure")[0] && strcmp(s(st, "last_failure"), "-") != 0)
		printf("last failure: %s\n", s(st, "last_failure"));
	json_t *fb = json_object_get(st, "fallback");
	if (fb)
		printf(
		    "fallback:    %lld failover(s), %lld failback(s), %lld restart(s), %lld forced "
		    "switch(es)%s%s, phase %s; heartbeat checks taken for CPU contention %lld\n",
		    i(fb, "failovers"), i(fb, "failbacks"), i(fb, "restarts"),
		    i(fb, "forced_switches"),
		    truthy(fb, "forced") ? ", FORCED (agentctl mode kernel)" : "",
		    truthy(fb, "crash_loop") ? ", CRASH LOOP (agentctl mode dpdk to retry)" : "",
		    s(fb, "phase"), i(fb, "heartbeat_starved"));
	if (i(dp, "pid")) {
		printf("dataplane:   pid %lld, up %lld s, state %s, heartbeat %lld\n", i(dp, "pid"),
		       i(dp, "uptime_s"), s(health, "state"), i(health, "heartbeat"));
		/* adaptive polling: how much of its core the forwarding lcore gave back */
		if (fwd && i(fwd, "idle_sleeps") > 0)
			printf("  forwarding lcore: adaptive polling, slept %lld times, %.1f s "
			       "in all (%.0f %% of its uptime)\n",
			       i(fwd, "idle_sleeps"), i(fwd, "idle_sleep_us") / 1e6,
			       i(dp, "uptime_s") > 0
				   ? i(fwd, "idle_sleep_us") / 1e4 / (double)i(dp, "uptime_s")
				   : 0.0);
	} else
		printf("dataplane:   not running\n");

	printf("nic:         %s", s(nic, "device"));
	if (ndp)
		printf(" (driver %s, mac %s, link %s%s%lld Mb/s)", s(ndp, "driver"), s(ndp, "mac"),
		       truthy(ndp, "link_up") ? "up" : "down", ", ", i(ndp, "speed_mbps"));
	printf("\n");
	print_bond(json_object_get(nic, "bond"));
	print_port_offloads(ndp);
	print_port_counters("counters:", ndp);
	printf("  kernel netdev %s:", s(nic, "kernel_netdev"));
	print_addrs(json_object_get(json_object_get(nic, "kernel"), "addresses"));
	printf("  kernel netdev free of addresses: %s\n",
	       json_is_true(json_object_get(nic, "kernel_netdev_free_of_addresses")) ? "yes"
										     : "NO");

	printf("exception:   %s %s", s(exc, "type"), s(exc, "ifname"));
	if (json_object_get(exc, "dpdk"))
		printf(" (driver %s)", s(json_object_get(exc, "dpdk"), "driver"));
	printf(", %s\n", s(exc, "why"));
	print_port_offloads(json_object_get(exc, "dpdk"));
	print_port_counters("counters:", json_object_get(exc, "dpdk"));
	printf("  addresses:");
	print_addrs(json_object_get(json_object_get(exc, "kernel"), "addresses"));

	json_t *steer = json_object_get(st, "steering"), *fib = json_object_get(st, "fib");
	/* The split at a glance: is DPDK doing the work, or the kernel? */
	printf("traffic split (packets):\n");
	if (fwd) {
		printf("  forwarded by DPDK:     wire->VM %lld, VM->wire %lld",
		       i(fwd, "fast_wire_to_vm"), i(fwd, "fast_vm_to_wire"));
		if (i(fwd, "vlan_untagged") + i(fwd, "vlan_tagged") > 0)
			printf(" (tenant VLANs: %lld untagged, %lld tagged)",
			       i(fwd, "vlan_untagged"), i(fwd, "vlan_tagged"));
		printf(
		    "\n  handed to the kernel:  from wire %lld, from VMs %lld (bcast/mcast %lld, "
		    "not IP %lld, special %lld, ttl %lld, local %lld, no route %lld, "
		    "not fast %lld, unresolved %lld, FIB behind %lld, VLAN %lld)\n",
		    i(fwd, "kernel_from_wire"), i(fwd, "kernel_from_vm"), i(fwd, "punt_l2"),
		    i(fwd, "punt_not_ip"), i(fwd, "punt_ip_special"), i(fwd, "punt_ttl"),
		    i(fwd, "punt_local"), i(fwd, "punt_no_route"), i(fwd, "punt_not_fast"),
		    i(fwd, "punt_unresolved"), i(fwd, "punt_behind"), i(fwd, "punt_vlan"));
		printf("  sent by the kernel:    %lld\n", i(fwd, "from_kernel"));
		printf("  drops:                 tx full nic %lld exc %lld, no mbuf %lld, "
		       "unicast not for the NIC %lld, offload %lld\n",
		       i(fwd, "drop_tx_full_nic"), i(fwd, "drop_tx_full_exc"),
		       i(fwd, "drop_no_mbuf"), i(fwd, "drop_not_ours"), i(fwd, "drop_offload"));
		if (i(fwd, "offload_tso_hw") + i(fwd, "offload_tso_sw") +
			i(fwd, "offload_csum_hw") + i(fwd, "offload_csum_sw") >
		    0)
			printf("  kernel offloads:       TCP super-packets to the port's TSO %lld, "
			       "segmented here %lld (into %lld frames); checksums to the port "
			       "%lld, done here %lld\n",
			       i(fwd, "offload_tso_hw"), i(fwd, "offload_tso_sw"),
			       i(fwd, "offload_tso_sw_segs"), i(fwd, "offload_csum_hw"),
			       i(fwd, "offload_csum_sw"));
	}
	if (truthy(steer, "loaded"))
		printf("  eBPF steering (%s):  VM->dp0 %lld (GSO batches), dp0->VM %lld, "
		       "dp0->bridge %lld, passed on VM ports %lld\n",
		       s(steer, "mode"), cnt(steer, "vm_redirected"), cnt(steer, "exc_redirected"),
		       cnt(steer, "exc_to_bridge"),
		       cnt(steer, "vm_pass_not_gateway") + cnt(steer, "vm_pass_local") +
			   cnt(steer, "vm_pass_non_ip") + cnt(steer, "vm_pass_mode") +
			   cnt(steer, "vm_pass_other") + cnt(steer, "vm_pass_mtu"));
	printf("  kernel IP forwarding:  IpForwDatagrams %lld, Ip6OutForwDatagrams %lld\n",
	       i(kern, "IpForwDatagrams"), i(kern, "Ip6OutForwDatagrams"));
	if (fib && truthy(fib, "enabled")) {
		printf("fib mirror:  %lld IPv4 + %lld IPv6 routes (%lld ECMP), %lld next hops, "
		       "%lld nexthop objects, %lld neighbours, %lld local addresses; netlink %lld "
		       "events, %lld overruns, %lld errors\n",
		       i(fib, "routes4"), i(fib, "routes6"), i(fib, "ecmp_routes"),
		       i(fib, "nexthops"), i(fib, "nhobjs"), i(fib, "neighbours"),
		       i(fib, "local_addresses"), i(fib, "netlink_events"),
		       i(fib, "netlink_overruns"), i(fib, "route_errors") + i(fib, "neigh_errors"));
		/* the fast path punts everything while either holds */
		if (truthy(fib, "behind"))
			printf("  BEHIND: the mirror lost kernel events; everything goes to the "
			       "kernel until it has resynced\n");
		if (truthy(fib, "full"))
			printf("  FULL: some kernel routes did not fit (see fib lpm_rules); "
			       "everything goes to the kernel\n");
	}
	(void)key;

	/* every VM bridge (an older agentd: "bridge" only) */
	json_t *brs = json_object_get(st, "bridges"), *one = json_array();
	if (brs == NULL) {
		json_array_append(one, br);
		brs = one;
	}
	size_t bidx;
	json_array_foreach(brs, bidx, br)
	{
		size_t pidx;

		printf("bridge:      %s%s, addresses:", s(br, "name"),
		       json_is_true(json_object_get(br, "exists")) ? "" : " (missing)");
		print_addrs(json_object_get(br, "addresses"));
		printf("  ports:");
		if (json_array_size(json_object_get(br, "ports")) == 0)
			printf(" (none)");
		json_array_foreach(json_object_get(br, "ports"), pidx, v) printf(
		    " %s%s", s(v, "name"), json_is_true(json_object_get(v, "up")) ? "" : "(down)");
		printf("\n");
	}
	json_decref(one);
	/* tenant VLANs of the underlay */
	json_array_foreach(json_object_get(st, "vlans"), bidx, v)
	{
		printf("vlan:        %lld on %s%s, addresses:", i(v, "id"), s(v, "name"),
		       json_is_true(json_object_get(v, "exists")) ? "" : " (missing)");
		print_addrs(json_object_get(v, "addresses"));
	}

	printf("routes:\n");
	json_array_foreach(json_object_get(st, "routes"), idx, v)
	{
		printf("  %-24s", s(v, "dst"));
		if (json_object_get(v, "via"))
			printf(" via %s", s(v, "via"));
		printf(" dev %s\n", s(v, "dev"));
	}
	/* agentd itself: its clients and how long its loop was ever held */
	if ((v = json_object_get(st, "control")) != NULL) {
		json_t *lp = json_object_get(st, "loop");
		printf(
		    "agentd:      %lld control client(s) (max %lld; %lld evicted, %lld timed out, "
		    "%lld protocol errors); slowest loop step %.0f ms (%s), %lld over %lld ms\n",
		    i(v, "clients"), i(v, "max_clients"), i(v, "evicted"), i(v, "timed_out"),
		    i(v, "protocol_errors"),
		    json_real_value(json_object_get(lp, "max_callback_ms")), s(lp, "max_callback"),
		    i(lp, "slow_callbacks"), i(lp, "slow_ms"));
	}
}

/* One route, the way `ip route` prints it, plus where DPDK sends it. */
static void print_route(json_t *r)
{
	const char *type = s(r, "type"), *path = s(r, "path"), *dst = s(r, "dst");
	bool v4 = strchr(dst, ':') == NULL;
	json_t *nhs = json_object_get(r, "nexthops"), *p;
	size_t idx;

	if (strcmp(type, "unicast") != 0)
		printf("%s ", type);
	printf("%s", dst);
	if (i(r, "table") != 254 /* RT_TABLE_MAIN */)
		printf(" table %lld", i(r, "table"));
	if (json_object_get(r, "nhid"))
		printf(" nhid %lld", i(r, "nhid"));
	if (json_object_get(r, "via"))
		printf(" via %s%s", v4 && strchr(s(r, "via"), ':') ? "inet6 " : "", s(r, "via"));
	if (json_object_get(r, "dev"))
		printf(" dev %s", s(r, "dev"));
	printf(" proto %s metric %lld", s(r, "proto"), i(r, "metric"));
	if (strcmp(path, "vm") == 0 || strcmp(path, "underlay") == 0 || strcmp(path, "mixed") == 0)
		printf(" [fast: %s]\n", path);
	else if (strcmp(path, "none") == 0)
		printf(" [kernel: no next hop]\n");
	else
		printf(" [kernel]\n");
	json_array_foreach(nhs, idx, p)
	{
		printf("\tnexthop");
		if (json_object_get(p, "via"))
			printf(" via %s%s", v4 && strchr(s(p, "via"), ':') ? "inet6 " : "",
			       s(p, "via"));
		if (json_object_get(p, "dev"))
			printf(" dev %s", s(p, "dev"));
		printf(" weight %lld", i(p, "weight"));
		if (strcmp(path, "mixed") == 0)
			printf(" [%s]", s(p, "path"));
		printf("\n");
	}
	if (i(r, "ecmp") > 1 && !json_is_array(nhs))
		printf("\t(%lld paths, not listed)\n", i(r, "ecmp"));
}

static void print_neigh(json_t *n)
{
	printf("%s dev %s lladdr %s\n", s(n, "ip"), s(n, "dev"), s(n, "mac"));
}

struct listing {
	bool json, count_only;
	bool first; /* no JSON entry printed yet */
	unsigned long long n;
};

static void list_entry(struct listing *l, json_t *e, void (*print)(json_t *))
{
	l->n++;
	if (l->count_only)
		return;
	if (l->json) {
		/* streamed: a listing can hold a million entries */
		fputs(l->first ? "\n  " : ",\n  ", stdout);
		json_dumpf(e, stdout, JSON_COMPACT);
		l->first = false;
	} else {
		print(e);
	}
}

/* Every page of one listing (routes of one family, or neighbours):
 * REQ is the request payload, "cursor" updated from each page's "next". */
static int list_pages(int fd, uint16_t type, json_t *req, const char *key, struct listing *l,
		      void (*print)(json_t *))
{
	char *prev = strdup(""), *payload;
	json_t *resp, *e;
	int status = 0;
	size_t idx;

	for (;;) {
		const char *next;

		json_object_set_new(req, "cursor", json_string(prev));
		payload = json_dumps(req, JSON_COMPACT);
		resp = payload ? ctl_request(fd, type, payload, &status) : NULL;
		free(payload);
		if (resp == NULL) {
			free(prev);
			return -EIO;
		}
		if (status != 0) {
			fprintf(stderr, "agentctl: %s\n", s(resp, "error"));
			json_decref(resp);
			free(prev);
			return -status;
		}
		json_array_foreach(json_object_get(resp, key), idx, e) list_entry(l, e, print);
		if (i(resp, "not_shown"))
			fprintf(stderr,
				"agentctl: %lld more not shown (the dataplane is older than "
				"agentd and cannot page)\n",
				i(resp, "not_shown"));
		next = json_string_value(json_object_get(resp, "next"));
		if (next == NULL || next[0] == '\0') {
			json_decref(resp);
			break;
		}
		/* a cursor that does not move would loop forever */
		if (strcmp(next, prev) == 0) {
			fprintf(stderr, "agentctl: the dataplane's listing does not advance\n");
			json_decref(resp);
			free(prev);
			return -ELOOP;
		}
		free(prev);
		prev = strdup(next);
		json_decref(resp);
		if (prev == NULL)
			return -ENOMEM;
	}
	free(prev);
	return 0;
}

/* agentctl routes [PREFIX] [--exact]: both families unless PREFIX names one. */
static int cmd_routes(int fd, const char *prefix, bool exact, struct listing *l)
{
	unsigned long long counts[2] = {0, 0};
	int families[2] = {4, 6}, nfam = 2, ret = 0;

	if (prefix != NULL) {
		families[0] = strchr(prefix, ':') ? 6 : 4;
		nfam = 1;
	}
	if (l->json && !l->count_only)
		fputs("[", stdout);
	for (int f = 0; f < nfam && ret == 0; f++) {
		json_t *req = json_pack("{s:i}", "family", families[f]);

		if (req == NULL)
			return -ENOMEM;
		if (prefix != NULL)
			json_object_set_new(req, "prefix", json_string(prefix));
		if (exact)
			json_object_set_new(req, "exact", json_true());
		l->n = 0;
		ret = list_pages(fd, AGENT_REQ_ROUTES, req, "routes", l, print_route);
		json_decref(req);
		counts[families[f] == 6] = l->n;
	}
	if (ret < 0)
		return ret; /* JSON left unterminated: a partial listing must not parse */
	if (l->json && !l->count_only)
		fputs(l->first ? "]\n" : "\n]\n", stdout);
	if (l->count_only && l->json) {
		printf("{");
		for (int f = 0; f < nfam; f++)
			printf("%s\"ipv%d\": %llu", f ? ", " : "", families[f],
			       counts[families[f] == 6]);
		printf("}\n");
	} else if (l->count_only) {
		for (int f = 0; f < nfam; f++)
			printf("ipv%d %llu\n", families[f], counts[families[f] == 6]);
	}
	return 0;
}

static int cmd_neigh(int fd, struct listing *l)
{
	json_t *req = json_object();
	int ret;

	if (req == NULL)
		return -ENOMEM;
	if (l->json && !l->count_only)
		fputs("[", stdout);
	ret = list_pages(fd, AGENT_REQ_NEIGH, req, "neigh", l, print_neigh);
	json_decref(req);
	if (ret < 0)
		return ret;
	if (l->json && !l->count_only)
		fputs(l->first ? "]\n" : "\n]\n", stdout);
	if (l->count_only)
		printf(l->json ? "{\"neigh\": %llu}\n" : "neigh %llu\n", l->n);
	return 0;
}

static void print_mode(json_t *r)
{
	printf("mode %s (%s)\n", s(r, "mode"), s(r, "phase"));
}

static void print_keys(json_t *r, const char *field, const char *what, const char *hint)
{
	json_t *keys = json_object_get(r, field), *v;
	size_t i;

	if (json_array_size(keys) == 0)
		return;
	printf("%s", what);
	json_array_foreach(keys, i, v) printf("%s%s", i ? ", " : " ", json_string_value(v));
	printf("%s\n", hint);
}

static void print_reload(json_t *r)
{
	json_t *v;
	size_t i;

	printf("reloaded %s: %lld key(s) changed\n", s(r, "config"),
	       (long long)json_integer_value(json_object_get(r, "changed")));
	print_keys(r, "applied", "applied:", "");
	print_keys(r, "dataplane_restart", "at the next dataplane start:",
		   " (agentctl mode kernel, then agentctl mode dpdk)");
	print_keys(r, "agentd_restart",
		   "NOT applied, restart agentd for:", " (systemctl restart agentd)");
	json_array_foreach(json_object_get(r, "errors"), i, v)
	    printf("error: %s\n", json_string_value(v));
}

static void print_version(json_t *st)
{
	printf("agentctl %s\nagentd %s\n", AGENT_VERSION, s(st, "version"));
}

/* ---- explain ---- */

/* The request payload of `explain SRC DST [PROTO [SPORT [DPORT]]]`; NULL
 * (message printed) on a usage error. */
static json_t *explain_request(int argc, char **argv, const char *from)
{
	json_t *req;
	char *end;

	if (argc < 2 || argc > 5) {
		fprintf(stderr,
			"agentctl: explain SRC DST [PROTO [SPORT [DPORT]]] [--from vm|wire]\n");
		return NULL;
	}
	req = json_pack("{s:s,s:s,s:s}", "src", argv[0], "dst", argv[1], "from", from);
	if (argc > 2) {
		long v = strtol(argv[2], &end, 10);
		if (*end == '\0' && end != argv[2])
			json_object_set_new(req, "proto", json_integer(v));
		else
			json_object_set_new(req, "proto", json_string(argv[2]));
	}
	for (int k = 3; k < argc; k++) {
		long v = strtol(argv[k], &end, 10);
		if (*end != '\0' || end == argv[k] || v < 0 || v > 65535) {
			fprintf(stderr, "agentctl: explain: a port is 0 to 65535: '%s'\n", argv[k]);
			json_decref(req);
			return NULL;
		}
		json_object_set_new(req, k == 3 ? "sport" : "dport", json_integer(v));
	}
	return req;
}

/* The stages the flow goes through, as one line. */
static void print_explain_path(json_t *r)
{
	json_t *flow = json_object_get(r, "flow"), *dp = json_object_get(r, "dataplane");
	const char *path = s(r, "path"), *reason = s(r, "reason");
	bool wire = strcmp(s(flow, "from"), "wire") == 0;
	json_t *del = json_object_get(r, "delivery");

	if (strcmp(path, "fast") == 0) {
		if (wire)
			printf("path:     fast (DPDK): NIC -> DPDK -> dp0 -> steer_exc_ingress -> "
			       "%s\n",
			       s(del, "to"));
		else
			printf("path:     fast (DPDK): VM -> steer_vm_ingress -> dp0 -> DPDK -> "
			       "NIC\n");
		return;
	}
	if (strncmp(reason, "mode_", 5) == 0 || strcmp(reason, "dataplane_down") == 0)
		printf("path:     kernel (%s): %s -> kernel -> %s\n", s(r, "mode"),
		       wire ? "NIC" : "VM", wire ? "VM" : "NIC");
	else if (json_is_object(dp))
		printf("path:     kernel (slow path): %s -> kernel\n",
		       wire ? "NIC -> DPDK -> dp0"
			    : "VM -> steer_vm_ingress -> dp0 -> DPDK -> dp0");
	else if (strcmp(path, "kernel") == 0)
		printf("path:     kernel: VM -> steer_vm_ingress (pass) -> kernel\n");
	else
		printf("path:     %s\n", path);
}

static void print_explain(json_t *r)
{
	json_t *flow = json_object_get(r, "flow"), *dp = json_object_get(r, "dataplane");
	json_t *st = json_object_get(r, "steering"), *nh = json_object_get(dp, "nexthop"), *v;
	bool v6 = strchr(s(flow, "dst"), ':') != NULL, ports = i(flow, "sport") || i(flow, "dport");
	size_t idx;

	printf("flow:     %s %s%s%s%.0lld -> %s%s%s%.0lld, from %s\n", s(flow, "proto"),
	       v6 && ports ? "[" : "", s(flow, "src"),
	       v6 && ports ? "]:"
	       : ports	   ? ":"
			   : "",
	       ports ? i(flow, "sport") : 0, v6 && ports ? "[" : "", s(flow, "dst"),
	       v6 && ports ? "]:"
	       : ports	   ? ":"
			   : "",
	       ports ? i(flow, "dport") : 0,
	       strcmp(s(flow, "from"), "wire") == 0 ? "the wire" : "a VM");
	print_explain_path(r);
	printf("why:      %s\n", s(r, "why"));
	printf("mode:     %s", s(r, "mode"));
	if (st)
		printf("; steering %s: %s (%s)", s(st, "mode"), s(st, "verdict"), s(st, "counter"));
	if (json_is_object(dp) && (i(dp, "fib_behind") || i(dp, "fib_full")))
		printf("; FIB %s", i(dp, "fib_full") ? "FULL" : "BEHIND");
	printf("\n");
	if (json_is_object(json_object_get(dp, "route"))) {
		printf("route:    ");
		print_route(json_object_get(dp, "route"));
	}
	if (json_is_object(nh)) {
		printf("next hop: %s%s dev %s", json_object_get(nh, "via") ? "via " : "",
		       json_object_get(nh, "via") ? s(nh, "via") : "direct", s(nh, "dev"));
		if (strcmp(s(nh, "neigh"), "resolved") == 0)
			printf(", neighbour %s", s(nh, "mac"));
		else
			printf(", neighbour %s", s(nh, "neigh"));
		if (json_array_size(json_object_get(dp, "paths")) > 1)
			printf(" (ECMP path %lld of %zu; the flow hash 0x%08llx picks path %lld)",
			       i(nh, "index"), json_array_size(json_object_get(dp, "paths")),
			       i(dp, "flow_hash"), i(dp, "ecmp_first"));
		printf("\n");
	}
	if (json_object_get(r, "delivery"))
		printf("delivery: steer_exc_ingress %s (%s) to %s\n",
		       s(json_object_get(r, "delivery"), "verdict"),
		       s(json_object_get(r, "delivery"), "counter"),
		       s(json_object_get(r, "delivery"), "to"));
	printf("counters:");
	json_array_foreach(json_object_get(r, "counters"), idx, v)
	    printf(" %s", json_string_value(v));
	printf("\n");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: agentctl [-s SOCKET] COMMAND [--json]\n"
		"commands:\n"
		"  status [-q]       mode, dataplane, NIC, exception port, traffic split,\n"
		"                    steering, bridge, routes (-q: print nothing; exit 0 on\n"
		"                    the DPDK fast path, 3 if not, 1 if agentd is unreachable)\n"
		"  stats [--prometheus] [--watch [SECS]] [--times N]\n"
		"                    every counter and gauge, one per line; --watch: refresh\n"
		"                    every SECS (1) with rates per second; --prometheus:\n"
		"                    OpenMetrics text (node_exporter's textfile collector)\n"
		"  routes [PREFIX] [--exact] [--count]\n"
		"                    the dataplane's mirror of the kernel FIB, every route\n"
		"                    (PREFIX: only the routes inside it; --exact: only\n"
		"                    PREFIX itself; --count: the number per family)\n"
		"  neigh [--count]   the dataplane's mirror of the neighbour table\n"
		"  ports             the NIC and the exception port: DPDK's side (driver,\n"
		"                    link, MTU, offloads, counters) and the kernel netdev\n"
		"  explain SRC DST [PROTO [SPORT [DPORT]]] [--from vm|wire]\n"
		"                    which path such a flow takes now and why: steering,\n"
		"                    the dataplane's route, next hop and neighbour, or the\n"
		"                    reason it goes through the kernel (PROTO: tcp, udp,\n"
		"                    sctp, icmp or a number; from a VM by default)\n"
		"  mode kernel       force the kernel path (maintenance); no restarts\n"
		"  mode dpdk         back to DPDK (also clears a crash loop)\n"
		"  reload            re-read agentd's configuration file and apply what\n"
		"                    changed (as SIGHUP); an invalid file changes nothing\n"
		"  version           agentctl's version and the running agentd's\n"
		"options:\n"
		"  -s, --socket PATH control socket (default $AGENTD_SOCKET or %s)\n"
		"  -j, --json        print JSON (routes, neigh: one array of every entry)\n"
		"exit status: 0 ok, 1 agentd unreachable or the request failed, 2 usage,\n"
		"  3 degraded (status -q; explain: the flow is not on the DPDK fast path)\n",
		DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *sock = getenv("AGENTD_SOCKET") ? getenv("AGENTD_SOCKET") : DEFAULT_SOCKET;
	struct listing l = {.first = true};
	const char *prefix = NULL;
	bool json = false, count = false, exact = false, quiet = false;
	struct stats_opts so = {0};
	json_t *resp;
	int c, fd, ret, status = 0;

	while ((c = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind++];
	char payload[64] = "";
	if (strcmp(cmd, "mode") == 0) {
		if (optind >= argc ||
		    (strcmp(argv[optind], "dpdk") != 0 && strcmp(argv[optind], "kernel") != 0)) {
			fprintf(stderr, "agentctl: mode dpdk|kernel\n");
			return 2;
		}
		snprintf(payload, sizeof(payload), "{\"mode\":\"%s\"}", argv[optind++]);
	}
	json_t *explain_req = NULL;
	if (strcmp(cmd, "explain") == 0) {
		const char *from = "vm";
		char *pos[8];
		int npos = 0;
		for (; optind < argc; optind++) {
			const char *arg = argv[optind];
			if (strcmp(arg, "--json") == 0 || strcmp(arg, "-j") == 0) {
				json = true;
			} else if (strcmp(arg, "--from") == 0 && optind + 1 < argc &&
				   (strcmp(argv[optind + 1], "vm") == 0 ||
				    strcmp(argv[optind + 1], "wire") == 0)) {
				from = argv[++optind];
			} else if (arg[0] != '-' && npos < 8) {
				pos[npos++] = argv[optind];
			} else {
				fprintf(stderr, "agentctl: explain: unexpected '%s'\n", arg);
				return 2;
			}
		}
		explain_req = explain_request(npos, pos, from);
		if (explain_req == NULL)
			return 2;
	}
	bool listing = strcmp(cmd, "routes") == 0 || strcmp(cmd, "neigh") == 0;
	bool stats = strcmp(cmd, "stats") == 0;
	for (int k = optind; k < argc; k++) {
		char *end;
		if (strcmp(argv[k], "--json") == 0 || strcmp(argv[k], "-j") == 0)
			json = true;
		else if (strcmp(cmd, "status") == 0 &&
			 (strcmp(argv[k], "-q") == 0 || strcmp(argv[k], "--quiet") == 0))
			quiet = true;
		else if (stats && strcmp(argv[k], "--prometheus") == 0)
			so.prometheus = true;
		else if (stats && strcmp(argv[k], "--watch") == 0) {
			so.watch_s = 1;
			if (k + 1 < argc && argv[k + 1][0] != '-') {
				so.watch_s = strtod(argv[++k], &end);
				if (*end != '\0' || !(so.watch_s >= 0.1 && so.watch_s <= 3600)) {
					fprintf(stderr, "agentctl: --watch SECS: 0.1 to 3600\n");
					return 2;
				}
			}
		} else if (stats && strcmp(argv[k], "--times") == 0 && k + 1 < argc) {
			long n = strtol(argv[++k], &end, 10);
			if (*end != '\0' || n < 1 || n > 1000000) {
				fprintf(stderr, "agentctl: --times N: a positive number\n");
				return 2;
			}
			so.times = (int)n;
		} else if (listing && strcmp(argv[k], "--count") == 0)
			count = true;
		else if (strcmp(cmd, "routes") == 0 && strcmp(argv[k], "--exact") == 0)
			exact = true;
		else if (strcmp(cmd, "routes") == 0 && prefix == NULL && argv[k][0] != '-')
			prefix = argv[k];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (exact && prefix == NULL) {
		fprintf(stderr, "agentctl: routes --exact needs a PREFIX\n");
		return 2;
	}
	if (so.prometheus && json) {
		fprintf(stderr, "agentctl: stats: --json or --prometheus, not both\n");
		return 2;
	}
	uint16_t type = 0;
	void (*print)(json_t *) = NULL;
	if (strcmp(cmd, "version") == 0) {
		type = AGENT_REQ_STATUS;
		print = print_version;
	} else if (stats) {
		type = AGENT_REQ_STATUS;
	} else if (strcmp(cmd, "status") == 0) {
		type = AGENT_REQ_STATUS;
		print = print_status;
	} else if (strcmp(cmd, "ports") == 0) {
		type = AGENT_REQ_STATUS;
		print = print_ports;
	} else if (strcmp(cmd, "mode") == 0) {
		type = AGENT_REQ_MODE;
		print = print_mode;
	} else if (strcmp(cmd, "reload") == 0) {
		type = AGENT_REQ_RELOAD;
		print = print_reload;
	} else if (explain_req != NULL) {
		type = AGENT_REQ_EXPLAIN;
		print = print_explain;
	} else if (!listing) {
		fprintf(stderr, "agentctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if (stats) {
		so.json = json;
		return cmd_stats(sock, &so);
	}
	fd = ctl_connect(sock);
	if (fd < 0) {
		if (strcmp(cmd, "version") == 0 && !json)
			printf("agentctl %s\n", AGENT_VERSION);
		return 1;
	}
	if (listing) {
		l.json = json;
		l.count_only = count;
		if (strcmp(cmd, "routes") == 0)
			ret = cmd_routes(fd, prefix, exact, &l);
		else
			ret = cmd_neigh(fd, &l);
		close(fd);
		if (fflush(stdout) != 0 || ferror(stdout))
			ret = -EIO;
		return ret < 0 ? 1 : 0;
	}
	if (explain_req != NULL) {
		char *p = json_dumps(explain_req, JSON_COMPACT);
		json_decref(explain_req);
		resp = p ? ctl_request(fd, type, p, &status) : NULL;
		free(p);
	} else {
		resp = ctl_request(fd, type, payload[0] ? payload : NULL, &status);
	}
	close(fd);
	if (resp == NULL)
		return 1;
	if (status != 0) {
		fprintf(stderr, "agentctl: %s: %s\n", cmd, s(resp, "error"));
		json_decref(resp);
		return 1;
	}
	if (quiet) {
		/* for monitoring checks: the fast path, or not */
		ret = strcmp(s(resp, "mode"), "dpdk") == 0 ? AGENTCTL_OK : AGENTCTL_DEGRADED;
		json_decref(resp);
		return ret;
	}
	if (strcmp(cmd, "version") == 0 && json) {
		json_t *v =
		    json_pack("{s:s,s:s}", "agentctl", AGENT_VERSION, "agentd", s(resp, "version"));
		json_decref(resp);
		resp = v;
	} else if (strcmp(cmd, "ports") == 0 && json) {
		json_t *v = ports_of(resp);
		json_decref(resp);
		resp = v;
	}
	/* explain: 3 when the flow is not on the DPDK fast path */
	ret = type == AGENT_REQ_EXPLAIN && strcmp(s(resp, "path"), "fast") != 0 ? AGENTCTL_DEGRADED
										: AGENTCTL_OK;
	if (json) {
		json_dumpf(resp, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		print(resp);
	}
	/* a reload that could not apply everything failed, for scripts */
	if (type == AGENT_REQ_RELOAD && json_array_size(json_object_get(resp, "errors")) > 0)
		ret = 1;
	json_decref(resp);
	return ret;
}
