/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the control protocol's decoding (agent/control_proto.c),
 * on what a client may send and on what a (broken) dataplane may answer.
 * The input is a byte stream of requests as agentd reads it from a socket:
 * each complete frame's payload goes through the decoder of its type, and
 * the same payload also as a telemetry page for the page conversion. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"

static void one_request(const struct agent_req_hdr *h, const char *payload)
{
	json_t *resp = NULL, *page;
	char cmd[256];
	bool exact;
	int family;

	switch (h->type) {
	case AGENT_REQ_ROUTES:
		if (ctl_routes_cmd(payload, h->len, cmd, sizeof(cmd), &family, &exact, &resp) ==
			0 &&
		    (strchr(cmd, '\n') != NULL || (family != 4 && family != 6)))
			abort(); /* only checked tokens reach the telemetry command */
		break;
	case AGENT_REQ_NEIGH:
		ctl_neigh_cmd(payload, h->len, cmd, sizeof(cmd), &resp);
		break;
	case AGENT_REQ_EXPLAIN: {
		struct ctl_explain_req xr;
		uint8_t frame[CTL_EXPLAIN_FRAME_MAX];
		static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
		if (ctl_explain_parse(payload, h->len, &xr, cmd, sizeof(cmd), &resp) == 0) {
			/* six parameters, all checked: nothing else reaches telemetry */
			int commas = 0;
			for (const char *c = cmd; *c; c++)
				commas += *c == ',';
			if (commas != 6 || strchr(cmd, '\n') != NULL ||
			    ctl_explain_frame(&xr, mac, mac, frame) > sizeof(frame))
				abort();
		}
		break;
	}
	default: {
		json_t *req = NULL;
		if (ctl_req_parse(payload, h->len, &req, &resp) == 0)
			json_decref(req);
	}
	}
	json_decref(resp);
	resp = NULL;
	/* the payload as a reply page from the dataplane */
	page = json_loadb(payload, h->len, 0, NULL);
	if (page != NULL) {
		ctl_page_convert(page, "routes", &resp);
		json_decref(resp);
		json_decref(page);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	/* frames back to back, as a client pipelines them */
	while (off < size) {
		struct agent_req_hdr h;
		long need = ctl_frame_need(data + off, size - off, &h);

		if (need < 0 || (size_t)need > size - off)
			break; /* agentd answers with an error, or waits for more */
		one_request(&h, (const char *)data + off + sizeof(h));
		off += (size_t)need;
	}
	return 0;
}
