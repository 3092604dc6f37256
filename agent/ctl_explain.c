/* SPDX-License-Identifier: BSD-3-Clause */
/* `agentctl explain`: which path a flow takes right now, and why — the
 * question this project was born from ("why is my traffic going through
 * the kernel?"), answered without a packet capture. Each stage is asked of
 * the code that decides it, not modelled here:
 *   - agentd's mode (kernel fallback, forced, starting: the kernel routes
 *     everything);
 *   - from a VM: steer_vm_ingress, read from its pinned maps
 *     (steer_explain_vm, checked against the program by test_steer_progs);
 *   - the dataplane: /agent/explain, a frame of the flow decided by the
 *     forwarding code itself against the live FIB (asked without blocking
 *     the loop, dp_query.c);
 *   - from the wire, once DPDK routes it to a VM: steer_exc_ingress on the
 *     frame as DPDK rewrote it (steer_explain_exc).
 * The answer names the counters the flow's packets move (as `agentctl
 * stats` names them), so that it can be checked against real traffic. */
#define LOG_TYPE "control"
#include <agent_log.h>

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dp_telemetry.h>
#include <steer.h>

#include "agentd.h"
#include "control_proto.h"

#define EXPLAIN_TIMEOUT_MS 1000

/* a VM's MAC for the crafted frame: the programs read only the gateway's */
static const uint8_t vm_mac[6] = {0x02, 0, 0, 0, 0, 0x02};

struct explain_call {
	struct ctl_call call;
	struct ctl_explain_req req;
	json_t *resp; /* built so far */
};

static void add_counter(json_t *resp, const char *fmt, const char *name)
{
	char buf[128];

	snprintf(buf, sizeof(buf), fmt, name);
	json_array_append_new(json_object_get(resp, "counters"), json_string(buf));
}

static void conclude(json_t *resp, const char *path, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void conclude(json_t *resp, const char *path, const char *reason, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	json_object_set_new(resp, "path", json_string(path));
	json_object_set_new(resp, "reason", json_string(reason));
	json_object_set_new(resp, "why", json_string(why));
}

static const char *ifname_of(int ifindex, char *buf)
{
	if (ifindex <= 0 || if_indextoname((unsigned int)ifindex, buf) == NULL)
		snprintf(buf, IF_NAMESIZE, "if%d", ifindex);
	return buf;
}

/* The kernel routes the flow (fallback, steering pass): it forwards it,
 * unless it is for the host itself. */
static void kernel_routes(struct explain_call *ec)
{
	struct steer *s = steering_steer();

	if (s != NULL && steer_local_addr_has(s, ec->req.family, ec->req.dst) > 0)
		return; /* received, not forwarded */
	add_counter(ec->resp, "%s",
		    ec->req.family == AF_INET ? "kernel.IpForwDatagrams"
					      : "kernel.Ip6OutForwDatagrams");
}

/* steer_vm_ingress on a frame of the flow sent to the gateway MAC. 0: it
 * redirects to dp0 (the dataplane decides next); 1: concluded here. */
static int explain_vm_steering(struct agentd *a, struct explain_call *ec)
{
	struct steer *s = steering_steer();
	struct steer_settings set = {0};
	struct steer_explain x;
	uint8_t frame[CTL_EXPLAIN_FRAME_MAX];
	char ifn[IF_NAMESIZE];
	const char *dst = ec->req.dst_str;
	size_t len;
	json_t *st;

	if (s == NULL || steer_settings_get(s, &set) < 0) {
		conclude(ec->resp, "kernel", "no_steering",
			 "the steering programs are not loaded: nothing is redirected to DPDK, "
			 "the kernel routes every VM frame");
		kernel_routes(ec);
		return 1;
	}
	len = ctl_explain_frame(&ec->req, set.gateway_mac, vm_mac, frame);
	if (steer_explain_vm(s, frame, len, &x) < 0)
		return -EIO;
	st = json_pack("{s:s,s:s,s:s,s:s}", "program", "steer_vm_ingress", "mode",
		       set.mode == STEER_MODE_FAST ? "fast" : "pass", "counter",
		       steer_counter_name(x.counter), "verdict",
		       x.counter == STEER_CNT_VM_REDIRECTED ? "redirect" : "pass");
	if (x.counter == STEER_CNT_VM_REDIRECTED)
		json_object_set_new(st, "to", json_string(ifname_of(x.ifindex, ifn)));
	if (x.mtu)
		json_object_set_new(st, "mtu", json_integer(x.mtu));
	json_object_set_new(ec->resp, "steering", st);
	add_counter(ec->resp, "steering.counters.%s.packets", steer_counter_name(x.counter));

	switch (x.counter) {
	case STEER_CNT_VM_REDIRECTED:
		return 0;
	case STEER_CNT_VM_PASS_MODE:
		if (a->mode != MODE_DPDK)
			break; /* said by the caller */
		conclude(ec->resp, "kernel", "steering_pass",
			 "steering is in pass mode although agentd is in dpdk mode (dp0 or the "
			 "bridge not known to it yet): the kernel routes the flow");
		kernel_routes(ec);
		return 1;
	case STEER_CNT_VM_PASS_LOCAL:
		conclude(ec->resp, "kernel", "local",
			 "%s is one of the host's addresses (steering map local_addrs): "
			 "steer_vm_ingress passes it and the kernel receives it",
			 dst);
		return 1;
	case STEER_CNT_VM_PASS_MTU:
		conclude(ec->resp, "kernel", "mtu",
			 "the frame does not fit dp0 (MTU %u, or dp0 is gone): the kernel "
			 "routes it (and fragments it or answers packet too big)",
			 x.mtu);
		kernel_routes(ec);
		return 1;
	default:
		conclude(ec->resp, "kernel", "not_forwardable",
			 "%s is not forwardable as is by DPDK (multicast, broadcast, loopback, "
			 "link-local address, or an IPv6 protocol other than TCP, UDP and echo): "
			 "steer_vm_ingress passes it (%s) and the kernel handles it",
			 dst, steer_counter_name(x.counter));
		return 1;
	}
	return 1;
}

static int mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (s == NULL ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* From the wire, fast: DPDK sends the rewritten frame on dp0, where
 * steer_exc_ingress delivers it to the VM's port. False when it would not
 * (then the kernel gets a frame for another MAC, and drops it). */
static bool explain_exc_delivery(struct agentd *a, struct explain_call *ec, json_t *dp,
				 bool *to_kernel)
{
	struct steer *s = steering_steer();
	uint8_t dmac[6], smac[6], frame[CTL_EXPLAIN_FRAME_MAX];
	struct steer_explain x;
	char ifn[IF_NAMESIZE];
	const char *verdict;
	json_t *del;
	size_t len;

	if (s == NULL || mac_parse(json_string_value(json_object_get(dp, "out_dst_mac")), dmac) ||
	    mac_parse(json_string_value(json_object_get(dp, "out_src_mac")), smac))
		return true; /* not known: DPDK's verdict stands */
	len = ctl_explain_frame(&ec->req, dmac, smac, frame);
	if (steer_explain_exc(s, frame, len, a->nic_mac_known && memcmp(dmac, a->nic_mac, 6) == 0,
			      &x) < 0)
		return true;
	verdict = x.counter == STEER_CNT_EXC_REDIRECTED || x.counter == STEER_CNT_EXC_TO_BRIDGE
		      ? "redirect"
		  : x.to_host ? "to_kernel"
			      : "pass";
	*to_kernel = x.to_host;
	del = json_pack("{s:s,s:s,s:s}", "program", "steer_exc_ingress", "counter",
			steer_counter_name(x.counter), "verdict", verdict);
	if (x.ifindex > 0)
		json_object_set_new(del, "to", json_string(ifname_of(x.ifindex, ifn)));
	json_object_set_new(ec->resp, "delivery", del);
	add_counter(ec->resp, "steering.counters.%s.packets", steer_counter_name(x.counter));
	return strcmp(verdict, "redirect") == 0;
}

/* The dataplane's reasons, said for an operator. */
static void explain_dp_reason(struct explain_call *ec, json_t *dp, const char *reason)
{
	json_t *route = json_object_get(dp, "route"), *nh = json_object_get(dp, "nexthop");
	const char *rdst = json_string_value(json_object_get(route, "dst"));
	const char *rpath = json_string_value(json_object_get(route, "path"));
	const char *via = json_string_value(json_object_get(nh, "via"));
	const char *dev = json_string_value(json_object_get(nh, "dev"));
	const char *dst = ec->req.dst_str;
	bool vm = !ec->req.from_wire;

	if (strcmp(reason, "local") == 0)
		conclude(ec->resp, "kernel", reason,
			 "%s is one of the host's addresses: DPDK hands the packet to the kernel",
			 dst);
	else if (strcmp(reason, "no_route") == 0)
		conclude(ec->resp, "kernel", reason,
			 "the dataplane's FIB has no route to %s: DPDK hands the packet to the "
			 "kernel, which routes it by its own tables (a table the dataplane does "
			 "not mirror) or answers unreachable",
			 dst);
	else if (strcmp(reason, "not_fast") == 0)
		conclude(ec->resp, "kernel", reason,
			 "the route %s (path %s) does not lead %s: DPDK hands the packet to the "
			 "kernel",
			 rdst ? rdst : "?", rpath ? rpath : "none",
			 vm ? "out of the underlay (dp0)" : "to the VM bridge");
	else if (strcmp(reason, "unresolved") == 0)
		conclude(ec->resp, "kernel", reason,
			 "the next hop %s%s%s is not resolved yet: DPDK hands the packet to the "
			 "kernel, which resolves it; the flow turns fast once it has",
			 via ? via : dst, dev ? " dev " : "", dev ? dev : "");
	else if (strcmp(reason, "behind") == 0)
		conclude(ec->resp, "kernel", reason,
			 "the dataplane's FIB mirror is %s: every packet goes to the kernel until "
			 "it has resynced",
			 json_integer_value(json_object_get(dp, "fib_full"))
			     ? "full (some kernel routes did not fit)"
			     : "behind (it lost netlink events)");
	else if (strcmp(reason, "ttl") == 0)
		conclude(ec->resp, "kernel", reason,
			 "TTL/hop limit would expire: the kernel answers time exceeded");
	else if (strcmp(reason, "ip_special") == 0)
		conclude(ec->resp, "kernel", reason,
			 "%s is multicast, broadcast, reserved or link-local (or the header has "
			 "options): DPDK hands it to the kernel",
			 dst);
	else if (strcmp(reason, "no_fib") == 0)
		conclude(ec->resp, "kernel", reason,
			 "the dataplane runs without its FIB mirror: every packet crosses to the "
			 "kernel unchanged");
	else
		conclude(ec->resp, "kernel", reason, "DPDK hands the packet to the kernel (%s)",
			 reason);
}

static json_t *dp_convert(json_t *v)
{
	json_t *dp = json_deep_copy(v), *paths, *arr;
	char key[16];

	if (dp == NULL)
		return NULL;
	if (json_object_get(dp, "route"))
		json_object_set_new(dp, "route", ctl_entry_convert(json_object_get(dp, "route")));
	paths = json_object_get(dp, "paths");
	if (json_is_object(paths) && (arr = json_array()) != NULL) {
		for (size_t i = 0; i < json_object_size(paths); i++) {
			snprintf(key, sizeof(key), "%zu", i);
			if (json_object_get(paths, key))
				json_array_append(arr, json_object_get(paths, key));
		}
		json_object_set_new(dp, "paths", arr);
	}
	return dp;
}

static void explain_done(struct agentd *a, void *arg, const int *rets, json_t *const *vals, int n)
{
	struct explain_call *ec = arg;
	json_t *dp, *v;
	const char *verdict, *reason;
	size_t idx;

	if (rets[0] < 0) {
		json_object_set_new(ec->resp, "dataplane", json_null());
		conclude(ec->resp, "unknown", "dataplane_unanswered",
			 "the dataplane did not answer (%s)%s", strerror(-rets[0]),
			 rets[0] == -ENOENT ? ": an older dataplane without /agent/explain?" : "");
		ctl_reply(a, &ec->call, 0, ec->resp);
		free(ec);
		return;
	}
	dp = dp_convert(vals[0]);
	json_object_set_new(ec->resp, "dataplane", dp ? dp : json_null());
	json_array_foreach(json_object_get(dp, "counters"), idx, v)
	    add_counter(ec->resp, "forwarding.%s", json_string_value(v));
	verdict = json_string_value(json_object_get(dp, "verdict"));
	reason = json_string_value(json_object_get(dp, "reason"));
	if (verdict != NULL && strcmp(verdict, "fast") == 0) {
		json_t *nh = json_object_get(dp, "nexthop");
		const char *via = json_string_value(json_object_get(nh, "via"));
		const char *dev = json_string_value(json_object_get(nh, "dev"));
		const char *mac = json_string_value(json_object_get(nh, "mac"));
		const char *rdst =
		    json_string_value(json_object_get(json_object_get(dp, "route"), "dst"));

		bool to_kernel = false;
		bool delivered = !ec->req.from_wire || explain_exc_delivery(a, ec, dp, &to_kernel);

		if (!delivered && to_kernel) {
			conclude(
			    ec->resp, "kernel", "to_kernel",
			    "DPDK routes it to %s (%s), and steer_exc_ingress on dp0 hands it "
			    "to the kernel as the host's (%s: too big for the VM's port, or a "
			    "VM MAC not known yet with several VM bridges): the kernel routes it",
			    mac ? mac : "?", rdst ? rdst : "?",
			    json_string_value(
				json_object_get(json_object_get(ec->resp, "delivery"), "counter")));
			kernel_routes(ec);
			goto reply;
		}
		if (!delivered) {
			conclude(ec->resp, "drop", "not_delivered",
				 "DPDK routes it to %s (%s) but steer_exc_ingress on dp0 passes "
				 "it (%s): the kernel drops a frame for another host's MAC",
				 mac ? mac : "?", rdst ? rdst : "?",
				 json_string_value(json_object_get(
				     json_object_get(ec->resp, "delivery"), "counter")));
			goto reply;
		}
		conclude(ec->resp, "fast", "fast",
			 "route %s, next hop %s dev %s, neighbour %s: DPDK rewrites the frame and "
			 "sends it %s",
			 rdst ? rdst : "?", via ? via : ec->req.dst_str, dev ? dev : "?",
			 mac ? mac : "?",
			 ec->req.from_wire ? "on dp0, where steer_exc_ingress delivers it to the VM"
					   : "out of the NIC");
	} else if (verdict != NULL && strcmp(verdict, "drop") == 0) {
		conclude(ec->resp, "drop", reason ? reason : "drop",
			 "the dataplane drops it (unicast to another MAC on a promiscuous port)");
	} else {
		explain_dp_reason(ec, dp, reason ? reason : "unknown");
	}
reply:
	ctl_reply(a, &ec->call, 0, ec->resp);
	free(ec);
}

/* Why agentd's mode alone sends everything through the kernel. */
static bool explain_mode(struct agentd *a, struct explain_call *ec)
{
	json_t *fb;

	if (a->mode == MODE_DPDK)
		return false;
	fb = fallback_status(a);
	if (a->mode == MODE_KERNEL)
		conclude(ec->resp, "kernel", "mode_kernel",
			 "agentd is in kernel mode (%s): the NIC and the underlay are the "
			 "kernel's, steering passes everything, the kernel routes every packet",
			 json_is_true(json_object_get(fb, "forced"))
			     ? "forced by agentctl mode kernel"
			 : json_is_true(json_object_get(fb, "crash_loop"))
			     ? "crash loop: agentctl mode dpdk to retry"
			 : a->last_failure[0] ? a->last_failure
					      : "fallback");
	else
		conclude(ec->resp, "kernel",
			 a->mode == MODE_STARTING ? "mode_starting" : "mode_stopping",
			 "agentd is %s: the dataplane does not serve, the kernel routes every "
			 "packet",
			 a->mode == MODE_STARTING ? "starting" : "stopping");
	json_decref(fb);
	kernel_routes(ec);
	return true;
}

static int explain_handle(struct agentd *a, const char *payload, uint32_t len, json_t **resp,
			  const struct ctl_call *call)
{
	struct explain_call *ec;
	char cmd[256], pbuf[8];
	const char *cmds[1] = {cmd};
	int ret;

	ec = calloc(1, sizeof(*ec));
	if (ec == NULL)
		return -ENOMEM;
	ret = ctl_explain_parse(payload, len, &ec->req, cmd, sizeof(cmd), resp);
	if (ret < 0) {
		free(ec);
		return ret;
	}
	ec->call = *call;
	ec->resp = json_pack(
	    "{s:{s:s,s:s,s:s,s:i,s:i,s:s},s:s,s:[]}", "flow", "src", ec->req.src_str, "dst",
	    ec->req.dst_str, "proto", ctl_proto_name(ec->req.proto, pbuf, sizeof(pbuf)), "sport",
	    ec->req.sport, "dport", ec->req.dport, "from", ec->req.from_wire ? "wire" : "vm",
	    "mode", agent_mode_name(a->mode), "counters");
	if (ec->resp == NULL) {
		free(ec);
		return -ENOMEM;
	}
	if (!ec->req.from_wire) {
		ret = explain_vm_steering(a, ec);
		if (ret < 0)
			goto err;
		if (ret == 0 && a->mode == MODE_DPDK)
			goto ask;
	}
	if (explain_mode(a, ec) || !ec->req.from_wire)
		goto now;
ask:
	if (a->dp.pid == 0) {
		conclude(ec->resp, "kernel", "dataplane_down",
			 "no dataplane runs: the kernel routes every packet");
		goto now;
	}
	ret = dpq_start_client(a, cmds, 1, EXPLAIN_TIMEOUT_MS, explain_done, ec);
	if (ret == 0)
		return CTL_DEFERRED;
err:
	json_decref(ec->resp);
	free(ec);
	*resp = json_pack("{s:s,s:s}", "error", "cannot explain", "reason", strerror(-ret));
	return ret;
now:
	*resp = ec->resp;
	free(ec);
	return 0;
}
static struct ctl_handler explain_handler = {
    .type = AGENT_REQ_EXPLAIN,
    .name = "explain",
    .handle = explain_handle,
};
CTL_REGISTER(explain_handler);
