/* SPDX-License-Identifier: BSD-3-Clause */
/* The control protocol's decoding, apart from any socket or daemon state so
 * that it can be unit-tested and fuzzed (tests/fuzz/fuzz_ctl_proto.c): the
 * framing of requests, their JSON payloads, and the conversion of the
 * dataplane's telemetry pages into responses. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <agent_proto.h>

/* Requests are small JSON objects: anything larger is refused. */
#define CTL_MAX_REQ_PAYLOAD (64u * 1024)

/* How many bytes the request at BUF (HAVE received so far) needs in all,
 * header + payload: sizeof(struct agent_req_hdr) until its header is there,
 * then its full length. -EPROTO for another protocol version, -EMSGSIZE for
 * a payload over CTL_MAX_REQ_PAYLOAD. *H gets the header once complete. */
long ctl_frame_need(const void *buf, size_t have, struct agent_req_hdr *h);

/* A payload as a JSON object (empty: {}); else -EINVAL and *resp = {"error"}. */
int ctl_req_parse(const char *payload, uint32_t len, json_t **req, json_t **resp);

/* A request's string field, checked against CHARSET and MAX (they are pasted
 * into a telemetry command line, where ',' separates parameters); absent or
 * null: "". */
int ctl_req_token(json_t *req, const char *key, const char *charset, size_t max, const char **out);

/* "address/length" (or a bare address) of FAMILY (4|6)? */
bool ctl_prefix_valid(const char *prefix, int family);

/* The telemetry command a routes request asks for: {"family", "cursor",
 * "prefix", "exact"}. 0 and CMD set, *FAMILY and *EXACT too; else -EINVAL
 * and *resp = {"error"}. */
int ctl_routes_cmd(const char *payload, uint32_t len, char *cmd, size_t cmdlen, int *family,
		   bool *exact, json_t **resp);
/* Likewise for a neighbours request: {"cursor"}. */
int ctl_neigh_cmd(const char *payload, uint32_t len, char *cmd, size_t cmdlen, json_t **resp);

/* A telemetry entry copied, its ECMP paths (numbered dicts) as an array. */
json_t *ctl_entry_convert(json_t *e);

/* A telemetry page {"n": N, "next": c, "0": {...}, ...} as {LIST: [...],
 * "next": c}; -EMSGSIZE (and *resp = {"error"}) if it holds fewer entries
 * than it says. */
int ctl_page_convert(json_t *page, const char *list, json_t **resp);

/* An explain request: {"src", "dst" (addresses of one family), "proto"
 * (tcp, udp, sctp, icmp or a number 0-255; default udp), "sport", "dport"
 * (0-65535, default 0), "from" ("vm", default, or "wire")}. */
struct ctl_explain_req {
	int family; /* AF_INET, AF_INET6 */
	uint8_t src[16], dst[16];
	char src_str[46], dst_str[46];
	uint8_t proto;
	uint16_t sport, dport;
	bool from_wire;
};
/* 0 with REQ filled and CMD the telemetry command that asks the dataplane
 * (DP_TEL_EXPLAIN); else -EINVAL and *resp = {"error"}. */
int ctl_explain_parse(const char *payload, uint32_t len, struct ctl_explain_req *req, char *cmd,
		      size_t cmdlen, json_t **resp);
/* "tcp", "udp", "sctp", "icmp", "icmpv6" or the number. */
const char *ctl_proto_name(uint8_t proto, char *buf, size_t len);
/* A frame of REQ's flow from DST_MAC/SRC_MAC (IP with TTL 64, then the 8
 * bytes of L4 the programs and the flow hash read: the ports, or an echo
 * request) in BUF (CTL_EXPLAIN_FRAME_MAX bytes); returns its length. */
#define CTL_EXPLAIN_FRAME_MAX 128
size_t ctl_explain_frame(const struct ctl_explain_req *req, const uint8_t dst_mac[6],
			 const uint8_t src_mac[6], uint8_t *buf);
