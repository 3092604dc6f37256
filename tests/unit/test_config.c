/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the configuration loader (agent/config.c): the shipped files,
 * the defaults, and one fixture per kind of invalid input. Each bad fixture in
 * tests/unit/conf/ marks the line the error must point at with "# <- error"
 * (no marker: the message must have no line), so the tests check the file
 * name, the line and the key of every message, not just the return code. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include <agent_config.h>
#include <agent_log.h>

#ifndef CONF_FIXTURES_DIR
#error "CONF_FIXTURES_DIR must point at tests/unit/conf"
#endif
#ifndef CONF_SHIPPED_DIR
#error "CONF_SHIPPED_DIR must point at conf/"
#endif

#define ERROR_MARKER "# <- error"

static char err[512];

static const char *fixture(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", CONF_FIXTURES_DIR, name);
	return path;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL) {
		print_error("expected \"%s\" in message: %s\n", needle, haystack);
		fail();
	}
}

/* The line of PATH carrying the error marker; 0 if there is none. */
static int marker_line(const char *path)
{
	char buf[4096];
	int line = 0, found = 0, n_found = 0;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		line++;
		if (strstr(buf, ERROR_MARKER) != NULL) {
			found = line;
			n_found++;
		}
	}
	fclose(f);
	assert_true(n_found <= 1);
	return found;
}

static struct agent_config *load_ok(const char *path)
{
	struct agent_config *cfg = calloc(1, sizeof(*cfg));
	int ret;

	assert_non_null(cfg);
	ret = agent_config_load(path, cfg, err, sizeof(err));
	if (ret != 0)
		print_error("%s: %d: %s\n", path, ret, err);
	assert_int_equal(ret, 0);
	assert_string_equal(cfg->path, path);
	return cfg;
}

static void drop(struct agent_config *cfg)
{
	agent_config_free(cfg);
	free(cfg);
}

/* NAME must be rejected with -EINVAL and a one-line message
 * "PATH:LINE: ..." (LINE from the marker) naming KEY and saying TEXT;
 * the struct passed in must come back untouched. */
static void expect_invalid(const char *name, const char *key, const char *text)
{
	const char *path = fixture(name);
	struct agent_config *cfg = malloc(sizeof(*cfg));
	struct agent_config *before = malloc(sizeof(*before));
	int line = marker_line(path);
	char prefix[PATH_MAX + 32];
	int ret;

	assert_non_null(cfg);
	assert_non_null(before);
	memset(cfg, 0xa5, sizeof(*cfg));
	memcpy(before, cfg, sizeof(*cfg));
	memset(err, 0, sizeof(err));

	ret = agent_config_load(path, cfg, err, sizeof(err));
	print_message("%s\n", err);
	assert_int_equal(ret, -EINVAL);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	if (strncmp(err, prefix, strlen(prefix)) != 0) {
		print_error("expected the message to start with \"%s\": %s\n", prefix, err);
		fail();
	}
	if (key != NULL) {
		char quoted[128];

		snprintf(quoted, sizeof(quoted), "\"%s\"", key);
		assert_contains(err, quoted);
	}
	assert_contains(err, text);
	assert_null(strchr(err, '\n'));
	assert_memory_equal(cfg, before, sizeof(*cfg));
	free(cfg);
	free(before);
}

/* ---- the shipped files ---------------------------------------------------- */

static void test_lab_config(void **state)
{
	struct agent_config *cfg = load_ok(CONF_SHIPPED_DIR "/agentd-lab.conf");
	char buf[64];

	assert_int_equal(cfg->log_level, AGENT_LOG_INFO);
	assert_string_equal(cfg->control.socket, "/run/agentd/lab.sock");

	assert_string_equal(cfg->dataplane.binary, "agent-dataplane");
	assert_string_equal(cfg->dataplane.lcores, "0-1");
	assert_string_equal(cfg->dataplane.file_prefix, "agentlab");
	assert_int_equal(cfg->dataplane.n_eal_args, 4);
	assert_string_equal(cfg->dataplane.eal_args[0], "--no-huge");
	assert_string_equal(cfg->dataplane.eal_args[1], "-m");
	assert_string_equal(cfg->dataplane.eal_args[2], "512");
	assert_string_equal(cfg->dataplane.eal_args[3], "--no-pci");
	assert_int_equal(cfg->dataplane.burst, 32);
	assert_int_equal(cfg->dataplane.mbufs, 8191);

	assert_string_equal(cfg->nic.device, "net_af_xdp0,iface=nic0");
	assert_string_equal(cfg->nic.kernel_netdev, "nic0");
	assert_string_equal(cfg->nic.kernel_driver, "");
	assert_int_equal(cfg->nic.n_addrs, 2);
	assert_string_equal(ip_prefix_fmt(&cfg->nic.addrs[0], true, buf, sizeof(buf)),
			    "192.168.100.1/24");
	assert_int_equal(cfg->nic.addrs[0].family, AF_INET);
	assert_string_equal(ip_prefix_fmt(&cfg->nic.addrs[1], true, buf, sizeof(buf)),
			    "fd00:100::1/64");
	assert_int_equal(cfg->nic.addrs[1].family, AF_INET6);
	assert_int_equal(cfg->nic.mtu, 1500);

	assert_int_equal(cfg->exception.type, EXC_AF_XDP);
	assert_string_equal(cfg->exception.ifname, "dp0");
	assert_int_equal(cfg->exception.queues, 1);
	assert_int_equal(cfg->exception.queue_size, 1024);

	assert_string_equal(cfg->bridge.name, "br-vm");
	assert_int_equal(cfg->bridge.n_addrs, 2);
	assert_string_equal(ip_prefix_fmt(&cfg->bridge.addrs[0], true, buf, sizeof(buf)),
			    "10.10.1.1/24");
	assert_string_equal(ip_prefix_fmt(&cfg->bridge.addrs[1], true, buf, sizeof(buf)),
			    "fd00:10::1/64");
	assert_int_equal(cfg->bridge.n_ports, 2);
	assert_string_equal(cfg->bridge.ports[0], "vm1p");
	assert_string_equal(cfg->bridge.ports[1], "vm2p");

	assert_int_equal(cfg->n_routes, 2);
	assert_string_equal(ip_prefix_fmt(&cfg->routes[0].dst, true, buf, sizeof(buf)),
			    "10.10.2.0/24");
	assert_true(cfg->routes[0].has_via);
	assert_string_equal(ip_prefix_fmt(&cfg->routes[0].via, false, buf, sizeof(buf)),
			    "192.168.100.2");
	assert_int_equal(cfg->routes[0].via.len, 32);
	assert_string_equal(cfg->routes[0].dev, "");
	assert_int_equal(cfg->routes[0].metric, 0);
	assert_true(cfg->routes[0].line > 0);
	assert_string_equal(ip_prefix_fmt(&cfg->routes[1].dst, true, buf, sizeof(buf)),
			    "fd00:20::/64");
	assert_true(cfg->routes[1].has_via);
	assert_string_equal(ip_prefix_fmt(&cfg->routes[1].via, false, buf, sizeof(buf)),
			    "fd00:100::2");
	assert_int_equal(cfg->routes[1].via.len, 128);

	assert_string_equal(cfg->bpf.bpffs, "/run/agentd/bpffs");
	assert_string_equal(cfg->bpf.pin_name, "lab");

	assert_int_equal(cfg->fib.n_tables, 0);
	assert_int_equal(cfg->fib.lpm_rules, 1048576);
	assert_int_equal(cfg->fib.lpm6_rules, 262144);
	assert_int_equal(cfg->fib.neighbours, 4096);

	assert_int_equal(cfg->fallback.heartbeat_ms, 100);
	assert_int_equal(cfg->fallback.heartbeat_misses, 3);
	assert_int_equal(cfg->fallback.holddown_ms, 3000);
	assert_int_equal(cfg->fallback.backoff_min_ms, 200);
	assert_int_equal(cfg->fallback.backoff_max_ms, 10000);
	assert_int_equal(cfg->fallback.crashloop_count, 5);
	assert_int_equal(cfg->fallback.crashloop_window_s, 60);
	drop(cfg);
}

static void test_example_config(void **state)
{
	struct agent_config *cfg = load_ok(CONF_SHIPPED_DIR "/agentd.conf.example");

	assert_string_equal(cfg->nic.device, "0000:03:00.0");
	assert_string_equal(cfg->nic.kernel_driver, "ixgbe");
	assert_int_equal(cfg->exception.type, EXC_AUTO);
	assert_int_equal(cfg->bridge.n_ports, 0);
	assert_int_equal(cfg->fib.n_tables, 1);
	assert_int_equal(cfg->fib.tables[0], 100);
	assert_true(cfg->n_routes >= 1);
	/* Hugepages on a real host. */
	for (int i = 0; i < cfg->dataplane.n_eal_args; i++)
		assert_string_not_equal(cfg->dataplane.eal_args[i], "--no-huge");
	drop(cfg);
}

static void test_minimal_defaults(void **state)
{
	struct agent_config *cfg = load_ok(fixture("minimal.conf"));

	assert_int_equal(cfg->log_level, AGENT_LOG_INFO);
	assert_string_equal(cfg->control.socket, "/run/agentd/agentd.sock");
	assert_string_equal(cfg->control.group, "");
	assert_int_equal(cfg->control.gid, -1);
	assert_int_equal(cfg->dataplane.idle_sleep_max_us, 500);
	assert_string_equal(cfg->dataplane.binary, "agent-dataplane");
	assert_string_equal(cfg->dataplane.lcores, "0-1");
	assert_string_equal(cfg->dataplane.file_prefix, "agent");
	assert_int_equal(cfg->dataplane.n_eal_args, 0);
	assert_int_equal(cfg->dataplane.burst, 32);
	assert_int_equal(cfg->dataplane.mbufs, 8191);
	assert_string_equal(cfg->nic.device, "net_af_xdp0,iface=nic0");
	assert_string_equal(cfg->nic.kernel_netdev, "nic0");
	assert_string_equal(cfg->nic.kernel_driver, "");
	assert_int_equal(cfg->nic.n_addrs, 0);
	assert_int_equal(cfg->nic.mtu, 1500);
	assert_int_equal(cfg->exception.type, EXC_AUTO);
	assert_string_equal(cfg->exception.ifname, "dp0");
	assert_int_equal(cfg->exception.queues, 1);
	assert_int_equal(cfg->exception.queue_size, 1024);
	assert_string_equal(cfg->bridge.name, "br-vm");
	assert_int_equal(cfg->bridge.n_addrs, 0);
	assert_int_equal(cfg->bridge.n_ports, 0);
	assert_int_equal(cfg->n_routes, 0);
	assert_string_equal(cfg->bpf.bpffs, "/sys/fs/bpf");
	assert_string_equal(cfg->bpf.pin_name, "agent");
	assert_int_equal(cfg->fib.n_tables, 0);
	assert_int_equal(cfg->fib.lpm_rules, 1048576);
	assert_int_equal(cfg->fib.lpm6_rules, 262144);
	assert_int_equal(cfg->fib.neighbours, 4096);
	assert_int_equal(cfg->fallback.heartbeat_ms, 100);
	assert_int_equal(cfg->fallback.heartbeat_misses, 3);
	assert_int_equal(cfg->fallback.holddown_ms, 3000);
	assert_int_equal(cfg->fallback.backoff_min_ms, 200);
	assert_int_equal(cfg->fallback.backoff_max_ms, 10000);
	assert_int_equal(cfg->fallback.crashloop_count, 5);
	assert_int_equal(cfg->fallback.crashloop_window_s, 60);
	drop(cfg);
}

static void test_include_relative(void **state)
{
	struct agent_config *cfg = load_ok(fixture("include-main.conf"));

	assert_int_equal(cfg->log_level, AGENT_LOG_DEBUG);
	assert_string_equal(cfg->nic.device, "0000:03:00.0");
	assert_string_equal(cfg->nic.kernel_netdev, "eth9");
	drop(cfg);
}

/* ---- files that cannot be read --------------------------------------------- */

static void test_missing_file(void **state)
{
	struct agent_config cfg = {0};
	const char *path = fixture("does-not-exist.conf");
	int ret;

	ret = agent_config_load(path, &cfg, err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	assert_contains(err, path);
	assert_null(strchr(err, '\n'));
	/* No error buffer: still a clean failure. */
	assert_int_equal(agent_config_load(path, &cfg, NULL, 0), -ENOENT);
}

static void test_directory(void **state)
{
	struct agent_config cfg = {0};

	assert_int_equal(agent_config_load(CONF_FIXTURES_DIR, &cfg, err, sizeof(err)), -EISDIR);
	assert_contains(err, CONF_FIXTURES_DIR);
}

/* A failed reload leaves the loaded configuration as it was. */
static void test_failed_load_keeps_config(void **state)
{
	struct agent_config *cfg = load_ok(CONF_SHIPPED_DIR "/agentd-lab.conf");
	struct agent_config *copy = malloc(sizeof(*copy));

	assert_non_null(copy);
	memcpy(copy, cfg, sizeof(*cfg));
	assert_int_equal(agent_config_load(fixture("bad-route-dup.conf"), cfg, err, sizeof(err)),
			 -EINVAL);
	assert_memory_equal(cfg, copy, sizeof(*cfg));
	assert_int_equal(agent_config_load(fixture("bad-type-eal-arg.conf"), cfg, NULL, 0),
			 -EINVAL);
	assert_memory_equal(cfg, copy, sizeof(*cfg));
	free(copy);
	drop(cfg);
}

/* ---- invalid content, one kind per test ------------------------------------ */

#define INVALID(test, file, key, text)                                                             \
	static void test(void **state)                                                             \
	{                                                                                          \
		expect_invalid(file, key, text);                                                   \
	}

INVALID(test_syntax_error, "bad-syntax.conf", NULL, "syntax error")
INVALID(test_unknown_key, "bad-unknown-key.conf", "nic.adress", "unknown key")
INVALID(test_unknown_key_hint, "bad-unknown-key.conf", "addresses", "did you mean")
INVALID(test_unknown_top_key, "bad-unknown-top.conf", "bridges", "unknown key")
INVALID(test_unknown_route_key, "bad-unknown-route-key.conf", "routes[1].gateway", "unknown key")
INVALID(test_type_int, "bad-type-int.conf", "nic.mtu", "must be an integer")
INVALID(test_type_float, "bad-type-float.conf", "dataplane.burst", "must be an integer")
INVALID(test_type_string, "bad-type-string.conf", "nic.device", "must be a string")
INVALID(test_type_group, "bad-type-group.conf", "exception", "must be a group")
INVALID(test_type_list, "bad-type-list.conf", "bridge.ports", "must be a list")
INVALID(test_type_eal_arg, "bad-type-eal-arg.conf", "dataplane.eal_args[2]", "must be a string")
INVALID(test_type_route, "bad-type-route.conf", "routes[0]", "must be a group")
INVALID(test_bad_address, "bad-address.conf", "nic.addresses[1]", "192.168.300.1/24")
INVALID(test_bad_prefix_len, "bad-prefix-len.conf", "bridge.addresses[0]", "bad prefix length")
INVALID(test_bad_prefix_len6, "bad-prefix-len6.conf", "bridge.addresses[1]", "bad prefix length")
INVALID(test_missing_prefix_len, "bad-prefix-missing.conf", "bridge.addresses[0]",
	"needs a prefix length")
INVALID(test_route_host_bits, "bad-route-host-bits.conf", "routes[0].dst", "10.10.2.0/24")
INVALID(test_route_family, "bad-route-family.conf", "routes[1].via", "IPv4 gateway")
INVALID(test_route_via_len, "bad-route-via-len.conf", "routes[0].via", "without \"/len\"")
INVALID(test_route_duplicate, "bad-route-dup.conf", "routes[2]", "duplicate route 10.10.2.0/24")
INVALID(test_route_missing_dst, "bad-route-no-dst.conf", "routes[0].dst", "missing required key")
INVALID(test_missing_section, "bad-missing-nic.conf", "nic", "missing required section")
INVALID(test_missing_key, "bad-missing-device.conf", "nic.device", "missing required key")
INVALID(test_mtu_range, "bad-mtu.conf", "nic.mtu", "between 68 and 65535")
INVALID(test_mtu_int64, "bad-mtu-int64.conf", "nic.mtu", "between 68 and 65535")
INVALID(test_mtu_ipv6, "bad-mtu-ipv6.conf", "nic.mtu", "at least 1280")
INVALID(test_queues_range, "bad-queues.conf", "exception.queues", "between 1 and 16")
INVALID(test_queue_size_pow2, "bad-queue-size-pow2.conf", "exception.queue_size", "power of two")
INVALID(test_queue_size_range, "bad-queue-size-range.conf", "exception.queue_size",
	"between 64 and 4096")
INVALID(test_burst_range, "bad-burst.conf", "dataplane.burst", "between 1 and 64")
INVALID(test_lcores_empty, "bad-lcores-empty.conf", "dataplane.lcores", "must not be empty")
INVALID(test_lcores_syntax, "bad-lcores-syntax.conf", "dataplane.lcores", "CPU list")
INVALID(test_lcores_beyond, "bad-lcores-beyond.conf", "dataplane.lcores", "this machine has CPUs")
INVALID(test_lcores_twice, "bad-lcores-twice.conf", "dataplane.lcores", "names CPU 1 twice")
INVALID(test_lcores_backwards, "bad-lcores-backwards.conf", "dataplane.lcores", "backwards")
INVALID(test_lcores_one, "bad-lcores-two.conf", "dataplane.lcores", "at least two CPUs")
INVALID(test_control_group, "bad-control-group.conf", "control.group", "no group \"agt-no-such-group\"")
INVALID(test_idle_sleep_heartbeat, "bad-idle-sleep.conf", "dataplane.idle_sleep_max_us",
	"at most a quarter of")
INVALID(test_ifname_too_long, "bad-ifname-long.conf", "exception.ifname", "too long")
INVALID(test_ifname_invalid, "bad-ifname-chars.conf", "bridge.ports[1]",
	"not a valid interface name")
INVALID(test_log_level, "bad-log-level.conf", "log_level", "unknown level \"verbose\"")
INVALID(test_exception_type, "bad-exception-type.conf", "exception.type", "unknown type \"vhost\"")
INVALID(test_too_many_addresses, "bad-too-many-addresses.conf", "bridge.addresses",
	"17 entries, at most 16")
INVALID(test_too_many_ports, "bad-too-many-ports.conf", "bridge.ports", "65 entries, at most 64")
INVALID(test_too_many_eal_args, "bad-too-many-eal-args.conf", "dataplane.eal_args",
	"33 entries, at most 32")
INVALID(test_duplicate_port, "bad-dup-port.conf", "bridge.ports[2]",
	"duplicate bridge port vm1p, already used by \"bridge.ports[0]\" (line 4)")
INVALID(test_port_is_nic, "bad-port-is-nic.conf", "bridge.ports[1]", "\"nic.kernel_netdev\"")
INVALID(test_duplicate_address, "bad-dup-address.conf", "bridge.addresses[1]",
	"duplicate address fd00:100::1, already used by \"nic.addresses[1]\"")
INVALID(test_duplicate_address_same_list, "bad-dup-address-same-list.conf", "nic.addresses[2]",
	"duplicate address 192.168.100.1")
INVALID(test_string_too_long, "bad-string-too-long.conf", "nic.device", "too long")
INVALID(test_socket_too_long, "bad-socket-too-long.conf", "control.socket", "UNIX socket path")
INVALID(test_eal_arg_owned, "bad-eal-owned.conf", "dataplane.eal_args[1]",
	"use dataplane.file_prefix")
INVALID(test_backoff_order, "bad-backoff.conf", "fallback.backoff_max_ms", "must not be below")
INVALID(test_fib_table_duplicate, "bad-fib-table-dup.conf", "fib.tables[2]", "duplicate value 100")
INVALID(test_fib_table_zero, "bad-fib-table-zero.conf", "fib.tables[0]", "between 1 and")

/* ---- helpers -------------------------------------------------------------- */

static void test_prefix_parse(void **state)
{
	struct ip_prefix p;
	char buf[64];

	assert_int_equal(ip_prefix_parse("10.0.0.1/24", true, &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 24);
	assert_int_equal(ntohl(p.addr.v4.s_addr), 0x0a000001);
	assert_string_equal(ip_prefix_fmt(&p, true, buf, sizeof(buf)), "10.0.0.1/24");
	assert_string_equal(ip_prefix_fmt(&p, false, buf, sizeof(buf)), "10.0.0.1");

	assert_int_equal(ip_prefix_parse("fd00::1/64", true, &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 64);
	assert_int_equal(p.addr.v6.s6_addr[0], 0xfd);
	assert_int_equal(p.addr.v6.s6_addr[15], 1);
	assert_string_equal(ip_prefix_fmt(&p, true, buf, sizeof(buf)), "fd00::1/64");

	assert_int_equal(ip_prefix_parse("0.0.0.0/0", true, &p), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(ip_prefix_parse("::/0", true, &p), 0);
	assert_int_equal(ip_prefix_parse("::ffff:10.0.0.1/128", true, &p), 0);
	assert_int_equal(p.family, AF_INET6);

	/* Host addresses: no "/", full length. */
	assert_int_equal(ip_prefix_parse("192.168.100.2", false, &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(ip_prefix_parse("fd00:100::2", false, &p), 0);
	assert_int_equal(p.len, 128);

	const char *bad_with_len[] = {
	    "10.0.0.1",
	    "10.0.0.1/",
	    "10.0.0.1/33",
	    "10.0.0.1/+24",
	    "10.0.0.1/ 24",
	    "10.0.0.1/24x",
	    "10.0.0.1/0x18",
	    "10.0.0.1/0024",
	    "fd00::1/129",
	    "/24",
	    "10.0.0/24",
	    "10.0.0.256/24",
	    "fd00:::1/64",
	    "host/24",
	    "",
	    "10.0.0.1/24/1",
	    "fe80::1%eth0/64",
	    "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001/64",
	};
	for (size_t i = 0; i < sizeof(bad_with_len) / sizeof(bad_with_len[0]); i++) {
		if (ip_prefix_parse(bad_with_len[i], true, &p) != -EINVAL) {
			print_error("accepted \"%s\"\n", bad_with_len[i]);
			fail();
		}
	}
	assert_int_equal(ip_prefix_parse("10.0.0.1/32", false, &p), -EINVAL);
	assert_int_equal(ip_prefix_parse("", false, &p), -EINVAL);
	assert_int_equal(ip_prefix_parse(NULL, false, &p), -EINVAL);
}

static void test_prefix_fmt_bounds(void **state)
{
	struct ip_prefix p;
	char small[8];

	assert_int_equal(ip_prefix_parse("192.168.100.1/24", true, &p), 0);
	/* Truncated, but terminated and within the buffer. */
	assert_string_equal(ip_prefix_fmt(&p, true, small, sizeof(small)), "192.168");
	memset(&p, 0, sizeof(p));
	assert_string_equal(ip_prefix_fmt(&p, true, small, sizeof(small)), "?");
}

static void test_exception_type_name(void **state)
{
	assert_string_equal(exception_type_name(EXC_AUTO), "auto");
	assert_string_equal(exception_type_name(EXC_TAP), "tap");
	assert_string_equal(exception_type_name(EXC_VIRTIO_USER), "virtio-user");
	assert_string_equal(exception_type_name(EXC_AF_XDP), "af_xdp");
	assert_string_equal(exception_type_name((enum exception_type)42), "?");
}

static void test_free_zeroed(void **state)
{
	struct agent_config cfg = {0};

	agent_config_free(&cfg);
	agent_config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lab_config),
	    cmocka_unit_test(test_example_config),
	    cmocka_unit_test(test_minimal_defaults),
	    cmocka_unit_test(test_include_relative),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_directory),
	    cmocka_unit_test(test_failed_load_keeps_config),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_unknown_key_hint),
	    cmocka_unit_test(test_unknown_top_key),
	    cmocka_unit_test(test_unknown_route_key),
	    cmocka_unit_test(test_type_int),
	    cmocka_unit_test(test_type_float),
	    cmocka_unit_test(test_type_string),
	    cmocka_unit_test(test_type_group),
	    cmocka_unit_test(test_type_list),
	    cmocka_unit_test(test_type_eal_arg),
	    cmocka_unit_test(test_type_route),
	    cmocka_unit_test(test_bad_address),
	    cmocka_unit_test(test_bad_prefix_len),
	    cmocka_unit_test(test_bad_prefix_len6),
	    cmocka_unit_test(test_missing_prefix_len),
	    cmocka_unit_test(test_route_host_bits),
	    cmocka_unit_test(test_route_family),
	    cmocka_unit_test(test_route_via_len),
	    cmocka_unit_test(test_route_duplicate),
	    cmocka_unit_test(test_route_missing_dst),
	    cmocka_unit_test(test_missing_section),
	    cmocka_unit_test(test_missing_key),
	    cmocka_unit_test(test_mtu_range),
	    cmocka_unit_test(test_mtu_int64),
	    cmocka_unit_test(test_mtu_ipv6),
	    cmocka_unit_test(test_queues_range),
	    cmocka_unit_test(test_queue_size_pow2),
	    cmocka_unit_test(test_queue_size_range),
	    cmocka_unit_test(test_burst_range),
	    cmocka_unit_test(test_lcores_empty),
	    cmocka_unit_test(test_lcores_syntax),
	    cmocka_unit_test(test_lcores_beyond),
	    cmocka_unit_test(test_lcores_twice),
	    cmocka_unit_test(test_lcores_backwards),
	    cmocka_unit_test(test_lcores_one),
	    cmocka_unit_test(test_control_group),
	    cmocka_unit_test(test_idle_sleep_heartbeat),
	    cmocka_unit_test(test_ifname_too_long),
	    cmocka_unit_test(test_ifname_invalid),
	    cmocka_unit_test(test_log_level),
	    cmocka_unit_test(test_exception_type),
	    cmocka_unit_test(test_too_many_addresses),
	    cmocka_unit_test(test_too_many_ports),
	    cmocka_unit_test(test_too_many_eal_args),
	    cmocka_unit_test(test_duplicate_port),
	    cmocka_unit_test(test_port_is_nic),
	    cmocka_unit_test(test_duplicate_address),
	    cmocka_unit_test(test_duplicate_address_same_list),
	    cmocka_unit_test(test_string_too_long),
	    cmocka_unit_test(test_socket_too_long),
	    cmocka_unit_test(test_eal_arg_owned),
	    cmocka_unit_test(test_backoff_order),
	    cmocka_unit_test(test_fib_table_duplicate),
	    cmocka_unit_test(test_fib_table_zero),
	    cmocka_unit_test(test_prefix_parse),
	    cmocka_unit_test(test_prefix_fmt_bounds),
	    cmocka_unit_test(test_exception_type_name),
	    cmocka_unit_test(test_free_zeroed),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
