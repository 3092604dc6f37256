/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the control protocol's decoding (agent/control_proto.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <dp_telemetry.h>

#include "control_proto.h"

static void test_frame_need(void **state)
{
	struct agent_req_hdr h = {.version = AGENT_PROTO_VERSION, .type = 2, .id = 7, .len = 5};
	struct agent_req_hdr out;
	char buf[sizeof(h) + 5];

	memcpy(buf, &h, sizeof(h));
	/* less than a header: a header is what is needed */
	for (size_t have = 0; have < sizeof(h); have++)
		assert_int_equal(ctl_frame_need(buf, have, &out), sizeof(h));
	assert_int_equal(ctl_frame_need(buf, sizeof(h), &out), sizeof(h) + 5);
	assert_int_equal(out.id, 7);
	assert_int_equal(out.type, 2);
	/* at an odd address (the header is packed) */
	{
		char odd[sizeof(h) + 1];
		memcpy(odd + 1, &h, sizeof(h));
		assert_int_equal(ctl_frame_need(odd + 1, sizeof(h), &out), sizeof(h) + 5);
	}
	h.version = 2;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(ctl_frame_need(buf, sizeof(h), &out), -EPROTO);
	h.version = AGENT_PROTO_VERSION;
	h.len = CTL_MAX_REQ_PAYLOAD;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(ctl_frame_need(buf, sizeof(h), &out), sizeof(h) + CTL_MAX_REQ_PAYLOAD);
	h.len = CTL_MAX_REQ_PAYLOAD + 1;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(ctl_frame_need(buf, sizeof(h), &out), -EMSGSIZE);
	h.len = UINT32_MAX; /* no overflow in header + len */
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(ctl_frame_need(buf, sizeof(h), &out), -EMSGSIZE);
}

static int routes(const char *payload, char *cmd, int *family, bool *exact)
{
	json_t *resp = NULL;
	int ret = ctl_routes_cmd(payload, strlen(payload), cmd, 256, family, exact, &resp);

	if (ret < 0)
		assert_non_null(json_object_get(resp, "error"));
	else
		assert_null(resp);
	json_decref(resp);
	return ret;
}

static void test_routes_cmd(void **state)
{
	char cmd[256];
	bool exact;
	int family;

	assert_int_equal(routes("", cmd, &family, &exact), 0);
	assert_string_equal(cmd, DP_TEL_ROUTES ",4,");
	assert_int_equal(family, 4);
	assert_int_equal(routes("{\"family\": 6, \"cursor\": \"ab12\"}", cmd, &family, &exact), 0);
	assert_string_equal(cmd, DP_TEL_ROUTES ",6,ab12");
	assert_int_equal(routes("{\"prefix\": \"fd00::/8\"}", cmd, &family, &exact), 0);
	assert_string_equal(cmd, DP_TEL_ROUTES ",6,,fd00::/8");
	assert_int_equal(family, 6);
	assert_int_equal(
	    routes("{\"prefix\": \"10.0.0.0/8\", \"exact\": true}", cmd, &family, &exact), 0);
	assert_true(exact);
	assert_string_equal(cmd, DP_TEL_ROUTE ",10.0.0.0/8");

	/* nothing reaches the telemetry command line but checked tokens */
	const char *bad[] = {
	    "[]",
	    "nonsense",
	    "{\"cursor\": 1}",
	    "{\"cursor\": \"1,2\"}",
	    "{\"cursor\": \"xyz\"}",
	    "{\"prefix\": \"10.0.0.0/33\"}",
	    "{\"prefix\": \"10.0.0.0/\"}",
	    "{\"prefix\": \"10.0.0.0/8,/agent/stats\"}",
	    "{\"prefix\": \"::1\", \"family\": 4}",
	    "{\"family\": 5}",
	    "{\"exact\": true}",
	    "{\"cursor\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\"}",
	    "{\"prefix\": \"1.2.3.4\\u0000\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(cmd, "untouched");
		if (routes(bad[i], cmd, &family, &exact) != -EINVAL)
			fail_msg("accepted: %s -> %s", bad[i], cmd);
	}
}

static void test_neigh_cmd(void **state)
{
	char cmd[128];
	json_t *resp = NULL;

	assert_int_equal(ctl_neigh_cmd("{\"cursor\": \"42\"}", 16, cmd, sizeof(cmd), &resp), 0);
	assert_string_equal(cmd, DP_TEL_NEIGH ",42");
	assert_int_equal(ctl_neigh_cmd("{\"cursor\": \"4a\"}", 16, cmd, sizeof(cmd), &resp),
			 -EINVAL);
	assert_non_null(resp);
	json_decref(resp);
}

/* explain: the request's fields checked, the telemetry command built from
 * them alone; the crafted frame. */
static void test_explain_parse(void **state)
{
	struct ctl_explain_req r;
	json_t *resp = NULL;
	char cmd[256];
	static const struct {
		const char *req, *cmd; /* cmd NULL: refused */
	} cases[] = {
	    {"{\"src\":\"10.10.1.11\",\"dst\":\"10.10.2.2\",\"proto\":\"tcp\",\"sport\":5000,"
	     "\"dport\":80}",
	     DP_TEL_EXPLAIN ",10.10.1.11,10.10.2.2,6,5000,80,vm"},
	    {"{\"src\":\"10.10.2.2\",\"dst\":\"10.10.1.11\",\"from\":\"wire\"}",
	     DP_TEL_EXPLAIN ",10.10.2.2,10.10.1.11,17,0,0,wire"},
	    {"{\"src\":\"fd00:10::11\",\"dst\":\"FD00:20:0::2\",\"proto\":\"icmp\"}",
	     DP_TEL_EXPLAIN ",fd00:10::11,fd00:20::2,58,0,0,vm"},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\",\"proto\":47}",
	     DP_TEL_EXPLAIN ",1.2.3.4,5.6.7.8,47,0,0,vm"},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\",\"proto\":\"icmp\"}",
	     DP_TEL_EXPLAIN ",1.2.3.4,5.6.7.8,1,0,0,vm"},
	    {"{\"src\":\"1.2.3.4\"}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"fd00::1\"}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8/24\"}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8,vm\"}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\",\"proto\":\"gre\"}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\",\"proto\":256}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\",\"sport\":65536}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\",\"dport\":-1}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\",\"dport\":\"80\"}", NULL},
	    {"{\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\",\"from\":\"nic\"}", NULL},
	    {"[1]", NULL},
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int ret = ctl_explain_parse(cases[k].req, strlen(cases[k].req), &r, cmd,
					    sizeof(cmd), &resp);
		if (cases[k].cmd == NULL) {
			if (ret != -EINVAL)
				fail_msg("accepted: %s", cases[k].req);
			assert_non_null(json_object_get(resp, "error"));
		} else {
			if (ret != 0)
				fail_msg("refused: %s", cases[k].req);
			assert_string_equal(cmd, cases[k].cmd);
		}
		json_decref(resp);
		resp = NULL;
	}
}

static void test_explain_frame(void **state)
{
	static const uint8_t d[6] = {2, 0, 0, 0, 0, 1}, sm[6] = {2, 0, 0, 0, 0, 2};
	uint8_t f[CTL_EXPLAIN_FRAME_MAX];
	struct ctl_explain_req r;
	json_t *resp = NULL;
	char cmd[256], pbuf[8];
	const char *req = "{\"src\":\"10.10.1.11\",\"dst\":\"10.10.2.2\",\"proto\":\"udp\","
			  "\"sport\":5000,\"dport\":6000}";
	uint32_t sum = 0;

	assert_int_equal(ctl_explain_parse(req, strlen(req), &r, cmd, sizeof(cmd), &resp), 0);
	assert_int_equal(ctl_explain_frame(&r, d, sm, f), 14 + 20 + 8);
	assert_memory_equal(f, d, 6);
	assert_memory_equal(f + 6, sm, 6);
	assert_int_equal(f[12] << 8 | f[13], 0x0800);
	assert_int_equal(f[14], 0x45);
	assert_int_equal(f[14 + 8], 64);
	assert_int_equal(f[14 + 9], 17);
	/* a valid header checksum: the one's complement sum is 0xffff */
	for (int k = 0; k < 20; k += 2)
		sum += (uint32_t)(f[14 + k] << 8 | f[14 + k + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
	assert_int_equal(f[34] << 8 | f[35], 5000);
	assert_int_equal(f[36] << 8 | f[37], 6000);

	req = "{\"src\":\"fd00:10::11\",\"dst\":\"fd00:20::2\",\"proto\":\"icmp\"}";
	assert_int_equal(ctl_explain_parse(req, strlen(req), &r, cmd, sizeof(cmd), &resp), 0);
	assert_int_equal(ctl_explain_frame(&r, d, sm, f), 14 + 40 + 8);
	assert_int_equal(f[12] << 8 | f[13], 0x86dd);
	assert_int_equal(f[14 + 6], 58);
	assert_int_equal(f[14 + 7], 64);
	assert_int_equal(f[54], 128); /* echo request */
	assert_string_equal(ctl_proto_name(58, pbuf, sizeof(pbuf)), "icmpv6");
	assert_string_equal(ctl_proto_name(47, pbuf, sizeof(pbuf)), "47");
}

static void test_page_convert(void **state)
{
	json_t *resp = NULL;
	json_t *page = json_loads("{\"n\": 2, \"next\": \"c1\", \"0\": {\"prefix\": \"a\"}, \"1\": "
				  "{\"prefix\": \"b\", \"nexthops\": {\"0\": {\"via\": \"x\"}, "
				  "\"1\": {\"via\": \"y\"}}}}",
				  0, NULL);

	assert_int_equal(ctl_page_convert(page, "routes", &resp), 0);
	assert_int_equal(json_array_size(json_object_get(resp, "routes")), 2);
	assert_string_equal(json_string_value(json_object_get(resp, "next")), "c1");
	assert_int_equal(json_array_size(json_object_get(
			     json_array_get(json_object_get(resp, "routes"), 1), "nexthops")),
			 2);
	json_decref(resp);
	json_decref(page);

	/* a page that claims more entries than it holds: refused at once, even
	 * when the claim is absurd (no billion lookups) */
	const char *short_pages[] = {"{\"n\": 3, \"0\": {}, \"1\": {}}", "{\"n\": 1000000000000}",
				     "{\"n\": -1}", "{\"n\": 1, \"0\": 5}"};
	for (size_t i = 0; i < sizeof(short_pages) / sizeof(short_pages[0]); i++) {
		page = json_loads(short_pages[i], 0, NULL);
		resp = NULL;
		assert_non_null(page);
		if (ctl_page_convert(page, "routes", &resp) != -EMSGSIZE)
			fail_msg("accepted: %s", short_pages[i]);
		assert_non_null(json_object_get(resp, "error"));
		json_decref(resp);
		json_decref(page);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_need),	  cmocka_unit_test(test_routes_cmd),
	    cmocka_unit_test(test_neigh_cmd),	  cmocka_unit_test(test_page_convert),
	    cmocka_unit_test(test_explain_parse), cmocka_unit_test(test_explain_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
