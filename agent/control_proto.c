/* SPDX-License-Identifier: BSD-3-Clause */
/* The control protocol's decoding (control_proto.h): pure functions over
 * bytes and JSON, no socket, no daemon state. Everything a client or the
 * dataplane sends is checked here before agentd acts on it. */
#include <arpa/inet.h>
#include <errno.h>
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
