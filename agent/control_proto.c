/* SPDX-License-Identifier: BSD-3-Clause */
/* The control protocol's decoding (control_proto.h): pure functions over
 * bytes and JSON, no socket, no daemon state. Everything a client or the
 * dataplane sends is checked here before agentd acts on it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dp_telemetry.h>

#include "control_proto.h"

long ctl_frame_need(const void *buf, size_t have, struct agent_req_hdr *h)
{
	if (have < sizeof(*h))
		return (long)sizeof(*h);
	memcpy(h, buf, sizeof(*h)); /* packed, and BUF need not be aligned */
	if (h->version != AGENT_PROTO_VERSION)
		return -EPROTO;
	if (h->len > CTL_MAX_REQ_PAYLOAD)
		return -EMSGSIZE;
	return (long)(sizeof(*h) + h->len);
}

int ctl_req_token(json_t *req, const char *key, const char *charset, size_t max, const char **out)
{
	json_t *v = json_object_get(req, key);
	const char *str;

	*out = "";
	if (v == NULL || json_is_null(v))
		return 0;
	str = json_string_value(v);
	/* (the length in bytes: a string with a NUL inside is refused too) */
	if (str == NULL || json_string_length(v) > max || strlen(str) != json_string_length(v) ||
	    str[strspn(str, charset)] != '\0')
		return -EINVAL;
	*out = str;
	return 0;
}

int ctl_req_parse(const char *payload, uint32_t len, json_t **req, json_t **resp)
{
	json_error_t jerr;

	*req = len ? json_loadb(payload, len, 0, &jerr) : json_object();
	if (*req == NULL || !json_is_object(*req)) {
		json_decref(*req);
		*req = NULL;
		*resp = json_pack("{s:s}", "error", "bad request: not a JSON object");
		return -EINVAL;
	}
	return 0;
}

json_t *ctl_entry_convert(json_t *e)
{
	json_t *nhs, *paths;
	char key[24];

	e = json_deep_copy(e);
	nhs = json_object_get(e, "nexthops");
	if (e == NULL || !json_is_object(nhs))
		return e;
	paths = json_array();
	for (size_t p = 0; paths != NULL && p < json_object_size(nhs); p++) {
		snprintf(key, sizeof(key), "%zu", p);
		json_t *ph = json_object_get(nhs, key);
		if (ph != NULL)
			json_array_append(paths, ph);
	}
	json_object_set_new(e, "nexthops", paths ? paths : json_null());
	return e;
}

int ctl_page_convert(json_t *page, const char *list, json_t **resp)
{
	json_int_t n = json_integer_value(json_object_get(page, "n"));
	json_t *out = json_object(), *arr = json_array(), *next = json_object_get(page, "next");
	json_t *not_shown = json_object_get(page, "not_shown");
	char key[24];

	if (out == NULL || arr == NULL)
		goto nomem;
	/* An older dataplane (adopted across an agentd upgrade) answers one
	 * unpaged reply without "n", capped, with "not_shown". */
	if (json_object_get(page, "n") == NULL)
		n = (json_int_t)json_object_size(page) - (not_shown != NULL);
	if (not_shown != NULL)
		json_object_set(out, "not_shown", not_shown);
	/* a page cannot hold more entries than it has keys: a bogus "n" is
	 * caught here, not after N failed lookups */
	if (n < 0 || n > (json_int_t)json_object_size(page))
		goto short_page;
	for (json_int_t k = 0; k < n; k++) {
		json_t *e;

		snprintf(key, sizeof(key), "%lld", (long long)k);
		e = json_object_get(page, key);
		if (!json_is_object(e))
			goto short_page;
		e = ctl_entry_convert(e);
		if (e == NULL || json_array_append_new(arr, e) < 0)
			goto nomem;
	}
	json_object_set_new(out, list, arr);
	if (json_is_string(next) && json_string_length(next) > 0)
		json_object_set(out, "next", next);
	*resp = out;
	return 0;
short_page:
	json_decref(out);
	json_decref(arr);
	*resp = json_pack("{s:s}", "error", "the dataplane's reply was cut short");
	return -EMSGSIZE;
nomem:
	json_decref(out);
	json_decref(arr);
	return -ENOMEM;
}

bool ctl_prefix_valid(const char *prefix, int family)
{
	char addr[64];
	unsigned char buf[16];
	const char *slash = strchr(prefix, '/');
	size_t n = slash ? (size_t)(slash - prefix) : strlen(prefix);
	char *end;

	if (n >= sizeof(addr))
		return false;
	memcpy(addr, prefix, n);
	addr[n] = '\0';
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return false;
	if (slash == NULL)
		return true;
	errno = 0;
	unsigned long len = strtoul(slash + 1, &end, 10);
	return errno == 0 && end != slash + 1 && *end == '\0' && len <= (family == 6 ? 128u : 32u);
}

#define HEX_CHARS    "0123456789abcdefABCDEF"
#define PREFIX_CHARS HEX_CHARS ".:/"

int ctl_routes_cmd(const char *payload, uint32_t len, char *cmd, size_t cmdlen, int *family,
		   bool *exact, json_t **resp)
{
	const char *cursor, *prefix;
	json_int_t fam;
	json_t *req;
	int ret;

	ret = ctl_req_parse(payload, len, &req, resp);
	if (ret < 0)
		return ret;
	if (ctl_req_token(req, "cursor", HEX_CHARS, 64, &cursor) < 0 ||
	    ctl_req_token(req, "prefix", PREFIX_CHARS, 64, &prefix) < 0) {
		*resp = json_pack("{s:s}", "error", "bad request: cursor or prefix");
		ret = -EINVAL;
		goto out;
	}
	fam = json_integer_value(json_object_get(req, "family"));
	if (fam == 0)
		fam = strchr(prefix, ':') ? 6 : 4;
	if (fam != 4 && fam != 6) {
		*resp = json_pack("{s:s}", "error", "bad request: family");
		ret = -EINVAL;
		goto out;
	}
	if (prefix[0] != '\0' && !ctl_prefix_valid(prefix, (int)fam)) {
		*resp = json_pack("{s:s++}", "error", "not an IPv",
				  fam == 6 ? "6 prefix: " : "4 prefix: ", prefix);
		ret = -EINVAL;
		goto out;
	}
	*family = (int)fam;
	*exact = json_is_true(json_object_get(req, "exact"));
	if (*exact) {
		if (prefix[0] == '\0') {
			*resp = json_pack("{s:s}", "error", "bad request: exact needs a prefix");
			ret = -EINVAL;
			goto out;
		}
		snprintf(cmd, cmdlen, "%s,%s", DP_TEL_ROUTE, prefix);
	} else {
		snprintf(cmd, cmdlen, "%s,%d,%s%s%s", DP_TEL_ROUTES, (int)fam, cursor,
			 prefix[0] ? "," : "", prefix);
	}
	ret = 0;
out:
	json_decref(req); /* cursor and prefix pointed into it */
	return ret;
}

int ctl_neigh_cmd(const char *payload, uint32_t len, char *cmd, size_t cmdlen, json_t **resp)
{
	const char *cursor;
	json_t *req;
	int ret;

	ret = ctl_req_parse(payload, len, &req, resp);
	if (ret < 0)
		return ret;
	if (ctl_req_token(req, "cursor", "0123456789", 10, &cursor) < 0) {
		*resp = json_pack("{s:s}", "error", "bad request: cursor");
		ret = -EINVAL;
	} else {
		snprintf(cmd, cmdlen, "%s,%s", DP_TEL_NEIGH, cursor);
	}
	json_decref(req);
	return ret;
}

const char *ctl_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

/* An integer field in 0..MAX (absent: DFLT). */
static int int_field(json_t *req, const char *key, long long max, long long dflt, long long *out)
{
	json_t *v = json_object_get(req, key);

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

int ctl_explain_parse(const char *payload, uint32_t len, struct ctl_explain_req *r, char *cmd,
		      size_t cmdlen, json_t **resp)
{
	const char *src, *dst, *from, *what = NULL;
	long long sport, dport, pnum;
	json_t *req, *proto;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = ctl_req_parse(payload, len, &req, resp);
	if (ret < 0)
		return ret;
	if (ctl_req_token(req, "src", PREFIX_CHARS, 45, &src) < 0 || src[0] == '\0')
		what = "src: an IPv4 or IPv6 address";
	else if (ctl_req_token(req, "dst", PREFIX_CHARS, 45, &dst) < 0 || dst[0] == '\0')
		what = "dst: an IPv4 or IPv6 address";
	if (what != NULL)
		goto bad;
	r->family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	if (strchr(src, '/') || strchr(dst, '/') || inet_pton(r->family, src, r->src) != 1 ||
	    inet_pton(r->family, dst, r->dst) != 1) {
		what = "src and dst: two addresses of one family";
		goto bad;
	}
	inet_ntop(r->family, r->src, r->src_str, sizeof(r->src_str));
	inet_ntop(r->family, r->dst, r->dst_str, sizeof(r->dst_str));
	proto = json_object_get(req, "proto");
	if (proto == NULL || json_is_null(proto)) {
		r->proto = IPPROTO_UDP;
	} else if (json_is_string(proto)) {
		const char *p = json_string_value(proto);
		if (strcasecmp(p, "tcp") == 0)
			r->proto = IPPROTO_TCP;
		else if (strcasecmp(p, "udp") == 0)
			r->proto = IPPROTO_UDP;
		else if (strcasecmp(p, "sctp") == 0)
			r->proto = IPPROTO_SCTP;
		else if (strcasecmp(p, "icmp") == 0 || strcasecmp(p, "icmpv6") == 0)
			r->proto = r->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		else
			what = "proto: tcp, udp, sctp, icmp or a number";
	} else if (int_field(req, "proto", 255, 0, &pnum) == 0) {
		r->proto = (uint8_t)pnum;
	} else {
		what = "proto: tcp, udp, sctp, icmp or a number";
	}
	if (what == NULL && (int_field(req, "sport", 65535, 0, &sport) < 0 ||
			     int_field(req, "dport", 65535, 0, &dport) < 0))
		what = "sport, dport: 0 to 65535";
	if (what == NULL && ctl_req_token(req, "from", "abcdefghijklmnopqrstuvwxyz", 8, &from) < 0)
		what = "from: vm or wire";
	if (what != NULL)
		goto bad;
	if (from[0] == '\0' || strcmp(from, "vm") == 0) {
		r->from_wire = false;
	} else if (strcmp(from, "wire") == 0) {
		r->from_wire = true;
	} else {
		what = "from: vm or wire";
		goto bad;
	}
	r->sport = (uint16_t)sport;
	r->dport = (uint16_t)dport;
	snprintf(cmd, cmdlen, "%s,%s,%s,%u,%u,%u,%s", DP_TEL_EXPLAIN, r->src_str, r->dst_str,
		 r->proto, r->sport, r->dport, r->from_wire ? "wire" : "vm");
	json_decref(req);
	return 0;
bad:
	*resp = json_pack("{s:s+}", "error", "bad request: ", what);
	json_decref(req);
	return -EINVAL;
}

size_t ctl_explain_frame(const struct ctl_explain_req *req, const uint8_t dst_mac[6],
			 const uint8_t src_mac[6], uint8_t *buf)
{
	uint8_t *l4;
	size_t off = 14;

	memset(buf, 0, CTL_EXPLAIN_FRAME_MAX);
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	if (req->family == AF_INET) {
		uint32_t sum = 0;

		buf[12] = 0x08, buf[13] = 0x00;
		buf[off] = 0x45;
		buf[off + 3] = 28; /* total length: 20 + 8 */
		buf[off + 8] = 64; /* TTL */
		buf[off + 9] = req->proto;
		memcpy(buf + off + 12, req->src, 4);
		memcpy(buf + off + 16, req->dst, 4);
		for (int k = 0; k < 20; k += 2)
			sum += (uint32_t)(buf[off + k] << 8 | buf[off + k + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		buf[off + 10] = (uint8_t)(~sum >> 8);
		buf[off + 11] = (uint8_t)~sum;
		l4 = buf + off + 20;
	} else {
		buf[12] = 0x86, buf[13] = 0xdd;
		buf[off] = 0x60;
		buf[off + 5] = 8; /* payload length */
		buf[off + 6] = req->proto;
		buf[off + 7] = 64; /* hop limit */
		memcpy(buf + off + 8, req->src, 16);
		memcpy(buf + off + 24, req->dst, 16);
		l4 = buf + off + 40;
	}
	if (req->proto == IPPROTO_ICMP || req->proto == IPPROTO_ICMPV6) {
		l4[0] = req->proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
	} else {
		l4[0] = (uint8_t)(req->sport >> 8);
		l4[1] = (uint8_t)req->sport;
		l4[2] = (uint8_t)(req->dport >> 8);
		l4[3] = (uint8_t)req->dport;
	}
	return (size_t)(l4 + 8 - buf);
}
