/* SPDX-License-Identifier: BSD-3-Clause */
/* agentctl: the operator's CLI for agentd.
 *
 *   agentctl [-s SOCKET] status|routes|neigh [--json]
 *
 * Exit codes: 0 ok, 1 agentd not reachable or request failed, 2 usage. */
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

/* Send one request, return the parsed JSON response (or NULL + message). */
static json_t *request(const char *path, uint16_t type, const char *payload, int *status)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct agent_req_hdr req = {.version = AGENT_PROTO_VERSION, .type = type, .id = getpid()};
	struct agent_resp_hdr resp;
	struct timeval tv = {.tv_sec = 10};
	json_error_t jerr;
	json_t *body = NULL;
	char *text = NULL;
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "agentctl: cannot reach agentd at %s: %s (is agentd running?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	req.len = payload ? strlen(payload) : 0;
	if (write(fd, &req, sizeof(req)) != sizeof(req) ||
	    (payload != NULL && req.len && write(fd, payload, req.len) != (ssize_t)req.len) ||
	    read_full(fd, &resp, sizeof(resp)) < 0 || resp.len > AGENT_PROTO_MAX_MSG) {
		fprintf(stderr, "agentctl: request to %s failed: %s\n", path, strerror(errno));
		close(fd);
		return NULL;
	}
	text = calloc(1, resp.len + 1);
	if (text && read_full(fd, text, resp.len) == 0)
		body = json_loads(text, 0, &jerr);
	free(text);
	close(fd);
	if (body == NULL) {
		fprintf(stderr, "agentctl: bad response from agentd\n");
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
		    "fallback:    %lld failover(s), %lld failback(s), %lld restart(s)%s%s, phase %s"
		    "%s\n",
		    i(fb, "failovers"), i(fb, "failbacks"), i(fb, "restarts"),
		    truthy(fb, "forced") ? ", FORCED (agentctl mode kernel)" : "",
		    truthy(fb, "crash_loop") ? ", CRASH LOOP (agentctl mode dpdk to retry)" : "",
		    s(fb, "phase"), "");
	if (i(dp, "pid"))
		printf("dataplane:   pid %lld, up %lld s, state %s, heartbeat %lld\n", i(dp, "pid"),
		       i(dp, "uptime_s"), s(health, "state"), i(health, "heartbeat"));
	else
		printf("dataplane:   not running\n");

	printf("nic:         %s", s(nic, "device"));
	if (ndp)
		printf(" (driver %s, mac %s, link %s%s%lld Mb/s)", s(ndp, "driver"), s(ndp, "mac"),
		       truthy(ndp, "link_up") ? "up" : "down", ", ", i(ndp, "speed_mbps"));
	printf("\n");
	print_port_counters("counters:", ndp);
	printf("  kernel netdev %s:", s(nic, "kernel_netdev"));
	print_addrs(json_object_get(json_object_get(nic, "kernel"), "addresses"));
	printf("  kernel netdev free of addresses: %s\n",
	       json_is_true(json_object_get(nic, "kernel_netdev_free_of_addresses")) ? "yes"
										     : "NO");

	printf("exception:   %s %s", s(exc, "type"), s(exc, "ifname"));
	if (json_object_get(exc, "dpdk"))
		printf(" (driver %s)", s(json_object_get(exc, "dpdk"), "driver"));
	printf("\n");
	print_port_counters("counters:", json_object_get(exc, "dpdk"));
	printf("  addresses:");
	print_addrs(json_object_get(json_object_get(exc, "kernel"), "addresses"));

	json_t *steer = json_object_get(st, "steering"), *fib = json_object_get(st, "fib");
	/* The split at a glance: is DPDK doing the work, or the kernel? */
	printf("traffic split (packets):\n");
	if (fwd) {
		printf("  forwarded by DPDK:     wire->VM %lld, VM->wire %lld\n",
		       i(fwd, "fast_wire_to_vm"), i(fwd, "fast_vm_to_wire"));
		printf("  handed to the kernel:  from wire %lld, from VMs %lld (bcast/mcast %lld, "
		       "not IP %lld, special %lld, ttl %lld, local %lld, no route %lld, "
		       "not fast %lld, unresolved %lld)\n",
		       i(fwd, "kernel_from_wire"), i(fwd, "kernel_from_vm"), i(fwd, "punt_l2"),
		       i(fwd, "punt_not_ip"), i(fwd, "punt_ip_special"), i(fwd, "punt_ttl"),
		       i(fwd, "punt_local"), i(fwd, "punt_no_route"), i(fwd, "punt_not_fast"),
		       i(fwd, "punt_unresolved"));
		printf("  sent by the kernel:    %lld\n", i(fwd, "from_kernel"));
		printf("  drops:                 tx full nic %lld exc %lld, no mbuf %lld, "
		       "unicast not for the NIC %lld\n",
		       i(fwd, "drop_tx_full_nic"), i(fwd, "drop_tx_full_exc"),
		       i(fwd, "drop_no_mbuf"), i(fwd, "drop_not_ours"));
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
	if (fib && truthy(fib, "enabled"))
		printf("fib mirror:  %lld IPv4 + %lld IPv6 routes, %lld neighbours, %lld local "
		       "addresses; netlink %lld events, %lld overruns, %lld errors\n",
		       i(fib, "routes4"), i(fib, "routes6"), i(fib, "neighbours"),
		       i(fib, "local_addresses"), i(fib, "netlink_events"),
		       i(fib, "netlink_overruns"), i(fib, "route_errors") + i(fib, "neigh_errors"));
	(void)key;

	printf("bridge:      %s%s, addresses:", s(br, "name"),
	       json_is_true(json_object_get(br, "exists")) ? "" : " (missing)");
	print_addrs(json_object_get(br, "addresses"));
	printf("  ports:");
	if (json_array_size(json_object_get(br, "ports")) == 0)
		printf(" (none)");
	json_array_foreach(json_object_get(br, "ports"), idx, v)
	    printf(" %s%s", s(v, "name"), json_is_true(json_object_get(v, "up")) ? "" : "(down)");
	printf("\n");

	printf("routes:\n");
	json_array_foreach(json_object_get(st, "routes"), idx, v)
	{
		printf("  %-24s", s(v, "dst"));
		if (json_object_get(v, "via"))
			printf(" via %s", s(v, "via"));
		printf(" dev %s\n", s(v, "dev"));
	}
}

static void print_routes(json_t *r)
{
	const char *key;
	json_t *v;

	printf("%-28s %-26s %-10s %-6s %s\n", "prefix", "via", "dev", "table", "path");
	json_object_foreach(r, key, v)
	{
		if (json_is_object(v))
			printf("%-28s %-26s %-10s %-6lld %s\n", s(v, "dst"), s(v, "via"),
			       s(v, "dev"), i(v, "table"), s(v, "path"));
	}
	if (i(r, "not_shown"))
		printf("(%lld more not shown)\n", i(r, "not_shown"));
}

static void print_neigh(json_t *r)
{
	const char *key;
	json_t *v;

	printf("%-28s %-18s %s\n", "address", "mac", "dev");
	json_object_foreach(r, key, v)
	{
		if (json_is_object(v))
			printf("%-28s %-18s %s\n", s(v, "ip"), s(v, "mac"), s(v, "dev"));
	}
	if (i(r, "not_shown"))
		printf("(%lld more not shown)\n", i(r, "not_shown"));
}

static void print_mode(json_t *r)
{
	printf("mode %s (%s)\n", s(r, "mode"), s(r, "phase"));
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: agentctl [-s SOCKET] COMMAND [--json]\n"
		"commands:\n"
		"  status            mode, dataplane, NIC, exception port, traffic split,\n"
		"                    steering, bridge, routes\n"
		"  routes            the dataplane's mirror of the kernel FIB\n"
		"  neigh             the dataplane's mirror of the neighbour table\n"
		"  mode kernel       force the kernel path (maintenance); no restarts\n"
		"  mode dpdk         back to DPDK (also clears a crash loop)\n"
		"options:\n"
		"  -s, --socket PATH control socket (default $AGENTD_SOCKET or %s)\n"
		"  -j, --json        print the raw JSON\n",
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
	bool json = false;
	json_t *resp;
	int c, status = 0;

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
	for (int k = optind; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0 || strcmp(argv[k], "-j") == 0)
			json = true;
		else {
			usage(stderr);
			return 2;
		}
	}
	uint16_t type;
	void (*print)(json_t *);
	if (strcmp(cmd, "status") == 0) {
		type = AGENT_REQ_STATUS;
		print = print_status;
	} else if (strcmp(cmd, "routes") == 0) {
		type = AGENT_REQ_ROUTES;
		print = print_routes;
	} else if (strcmp(cmd, "neigh") == 0) {
		type = AGENT_REQ_NEIGH;
		print = print_neigh;
	} else if (strcmp(cmd, "mode") == 0) {
		type = AGENT_REQ_MODE;
		print = print_mode;
	} else {
		fprintf(stderr, "agentctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	resp = request(sock, type, payload[0] ? payload : NULL, &status);
	if (resp == NULL)
		return 1;
	if (status != 0) {
		fprintf(stderr, "agentctl: %s: %s\n", cmd, s(resp, "error"));
		json_decref(resp);
		return 1;
	}
	if (json) {
		json_dumpf(resp, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		print(resp);
	}
	json_decref(resp);
	return 0;
}
