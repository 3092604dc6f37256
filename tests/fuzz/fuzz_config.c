/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the configuration loader (agent/config.c and
 * config_source.c) on arbitrary bytes, as agentd --check-config would read
 * them from a file. Either it loads, and the result holds what the loader
 * promises, or it fails with a one-line "NAME..." message; it never crashes,
 * leaks, hangs or leaves a partly written struct behind. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent_config.h>

/* @include "nic.inc" works from here; nothing else does. */
#define INCLUDE_DIR FUZZ_DIR "/include"
#define NAME	    "fuzz.conf"

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_loaded(const struct agent_config *cfg)
{
	if (strcmp(cfg->path, NAME) != 0 || !terminated(cfg->nic.device, sizeof(cfg->nic.device)) ||
	    cfg->nic.device[0] == '\0' || cfg->nic.kernel_netdev[0] == '\0' ||
	    !terminated(cfg->nic.kernel_netdev, sizeof(cfg->nic.kernel_netdev)))
		abort();
	if (cfg->nic.n_addrs < 0 || cfg->nic.n_addrs > AGENT_CFG_MAX_ADDRS ||
	    cfg->bridge.n_addrs < 0 || cfg->bridge.n_addrs > AGENT_CFG_MAX_ADDRS ||
	    cfg->bridge.n_ports < 0 || cfg->bridge.n_ports > AGENT_CFG_MAX_PORTS ||
	    cfg->n_routes < 0 || cfg->n_routes > AGENT_CFG_MAX_ROUTES ||
	    cfg->dataplane.n_eal_args < 0 || cfg->dataplane.n_eal_args > AGENT_CFG_MAX_EAL_ARGS ||
	    cfg->fib.n_tables < 0 || cfg->fib.n_tables > AGENT_CFG_MAX_TABLES)
		abort();
	for (int i = 0; i < cfg->dataplane.n_eal_args; i++)
		if (cfg->dataplane.eal_args[i] == NULL ||
		    strlen(cfg->dataplane.eal_args[i]) >= AGENT_CFG_STR)
			abort();
	for (int i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].dst.len > (cfg->routes[i].dst.family == AF_INET ? 32 : 128) ||
		    cfg->routes[i].line <= 0)
			abort();
	if (cfg->nic.mtu < 68 || cfg->nic.mtu > 65535 || cfg->exception.queue_size < 64 ||
	    (cfg->exception.queue_size & (cfg->exception.queue_size - 1)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent_config cfg, before;
	char err[512];
	int ret;

	memset(&cfg, 0x5a, sizeof(cfg));
	memcpy(&before, &cfg, sizeof(cfg));
	memset(err, 0, sizeof(err));
	ret = agent_config_load_buffer(NAME, data, size, INCLUDE_DIR, &cfg, err, sizeof(err));
	if (ret == 0) {
		check_loaded(&cfg);
		agent_config_free(&cfg);
		return 0;
	}
	/* failed: CFG untouched, one line that names the input */
	if (memcmp(&cfg, &before, sizeof(cfg)) != 0) {
		fprintf(stderr, "failed load (%d) changed the config: %s\n", ret, err);
		abort();
	}
	if (!terminated(err, sizeof(err)) || strchr(err, '\n') != NULL ||
	    (ret != -ENOMEM && strncmp(err, NAME, strlen(NAME)) != 0 &&
	     strncmp(err, INCLUDE_DIR, strlen(INCLUDE_DIR)) != 0)) {
		fprintf(stderr, "bad message (%d): \"%.*s\"\n", ret, (int)sizeof(err), err);
		abort();
	}
	return 0;
}
