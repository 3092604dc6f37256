/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the configuration loader (agent/config.c): the shipped files,
 * the defaults, and one fixture per kind of invalid input. Each bad fixture in
 * tests/unit/conf/ marks the line the error must point at with "# <- error"
 * (no marker: the message must have no line), so the tests check the file
 * name, the line and the key of every message, not just the return code. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
	assert_string_equal(cfg->metrics.listen, ""); /* no listener unless asked */
	assert_int_equal(cfg->metrics.port, 0);
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
INVALID(test_unknown_top_key, "bad-unknown-top.conf", "bridgez", "unknown key")
INVALID(test_bridges_not_list, "bad-bridges-group.conf", "bridges", "must be a list of groups")
INVALID(test_bridges_port_twice, "bad-bridges-port-dup.conf", "bridges[0].ports[0]", "bridge port")
INVALID(test_bridges_addr_twice, "bad-bridges-addr-dup.conf", "bridges[0].addresses[0]", "address")
INVALID(test_bridges_name_missing, "bad-bridges-noname.conf", "bridges[0].name", "missing")
INVALID(test_vlans_id_twice, "bad-vlans-id-dup.conf", "vlans[1].id", "VLAN 100 is already vlans[0]")
INVALID(test_vlans_id_range, "bad-vlans-id-range.conf", "vlans[0].id", "4094")
INVALID(test_vlans_addr_twice, "bad-vlans-addr-dup.conf", "vlans[0].addresses[0]", "address")
INVALID(test_vlans_name_long, "bad-vlans-name-long.conf", "vlans[0]",
	"enp129s0f0np0.100 would be a name of over 15")
INVALID(test_vlans_id_missing, "bad-vlans-noid.conf", "vlans[0].id", "missing")
INVALID(test_bond_and_device, "bad-nic-bond-both.conf", "nic.device", "not both")
INVALID(test_bond_no_mode, "bad-nic-bond-nomode.conf", "nic.members", "needs \"nic.bond_mode\"")
INVALID(test_bond_bad_mode, "bad-nic-bond-mode.conf", "nic.bond_mode", "unknown bond mode")
INVALID(test_bond_mode_alone, "bad-nic-bond-mode-alone.conf", "nic.bond_mode", "a bond of which")
INVALID(test_bond_member_twice, "bad-nic-bond-member-dup.conf", "nic.members[1].device",
	"is already nic.members[0]")
INVALID(test_bond_netdev_twice, "bad-nic-bond-netdev-dup.conf", "nic.members[1].kernel_netdev",
	"interface")
INVALID(test_bond_too_many, "bad-nic-bond-too-many.conf", "nic.members", "at most 4")
INVALID(test_bond_member_af_xdp, "bad-nic-bond-af-xdp.conf", "nic.members[1].device",
	"af_xdp port cannot be a bond member")
INVALID(test_bond_member_nodev, "bad-nic-bond-member-nodev.conf", "nic.members[0].device",
	"missing")
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
INVALID(test_control_group, "bad-control-group.conf", "control.group",
	"no group \"agt-no-such-group\"")
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
INVALID(test_metrics_listen_name, "bad-metrics-listen.conf", "metrics.listen",
	"no valid IPv4 address")
INVALID(test_metrics_listen_v6, "bad-metrics-listen-v6.conf", "metrics.listen", "without brackets")
INVALID(test_metrics_listen_port, "bad-metrics-listen-port.conf", "metrics.listen",
	"no valid port (1-65535)")
INVALID(test_backoff_order, "bad-backoff.conf", "fallback.backoff_max_ms", "must not be below")
INVALID(test_fib_table_duplicate, "bad-fib-table-dup.conf", "fib.tables[2]", "duplicate value 100")
INVALID(test_fib_table_zero, "bad-fib-table-zero.conf", "fib.tables[0]", "between 1 and")

/* ---- hostile files ---------------------------------------------------------
 * Files no operator means to write (empty, binary, huge, nested without end,
 * integers libconfig would cut, @include of what is not a config file), each
 * loaded in a child with an alarm: a hang fails the test instead of hanging
 * it. Each must be refused in bounded time (generous: 2 s of CPU, which a
 * loaded machine does not stretch as it does wall-clock time; a 10 MB file
 * took 79 s before) with a one-line message carrying FILE:LINE where there
 * is a line. */

#define HOSTILE_TIME_S 2.0

static char tmpdir[] = "/tmp/agt-test-config.XXXXXX";

static int hostile_setup(void **state)
{
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int hostile_teardown(void **state)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name)
{
	static char path[2][PATH_MAX];
	static int i;

	i ^= 1;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	return path[i];
}

/* Write LEN bytes of DATA (a string when LEN is 0) to tmpdir/NAME. */
static const char *tmp_file(const char *name, const void *data, size_t len)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len == 0)
		len = strlen(data);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

struct outcome {
	int ret;
	char err[512];
	double secs; /* CPU */
};

/* Load PATH in a child killed after a few seconds; OPTS may be NULL. */
static void load_bounded(const char *path, struct outcome *o)
{
	struct rusage ru;
	int fds[2], status;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct agent_config *cfg = calloc(1, sizeof(*cfg));

		alarm((unsigned int)HOSTILE_TIME_S + 8); /* a hang (wall-clock) */
		o->ret = agent_config_load(path, cfg, o->err, sizeof(o->err));
		_exit(write(fds[1], o, sizeof(*o)) == sizeof(*o) ? 0 : 1);
	}
	close(fds[1]);
	/* (a child killed by its alarm writes nothing: checked below) */
	if (read(fds[0], o, sizeof(*o)) != sizeof(*o))
		o->ret = 1;
	close(fds[0]);
	assert_int_equal(wait4(pid, &status, 0, &ru), pid);
	o->secs = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_error("%s: the loader did not return (status %#x)\n", path, status);
		fail();
	}
}

/* PATH is refused with RET in time, with "PREFIX" (FILE:LINE: or FILE:)
 * then a message containing TEXT. */
static void expect_refused_at(const char *path, int ret, const char *prefix, const char *text)
{
	struct outcome o;

	load_bounded(path, &o);
	print_message("%s (%.3f s CPU)\n", o.err, o.secs);
	assert_int_equal(o.ret, ret);
	if (strncmp(o.err, prefix, strlen(prefix)) != 0) {
		print_error("expected the message to start with \"%s\": %s\n", prefix, o.err);
		fail();
	}
	assert_contains(o.err, text);
	assert_null(strchr(o.err, '\n'));
	if (o.secs > HOSTILE_TIME_S) {
		print_error("%s: took %.2f s of CPU (bound %.1f s)\n", path, o.secs,
			    HOSTILE_TIME_S);
		fail();
	}
}

static void expect_refused(const char *path, int ret, int line, const char *text)
{
	char prefix[PATH_MAX + 32];

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	expect_refused_at(path, ret, prefix, text);
}

#define NIC "nic: { device = \"net_af_xdp0,iface=nic0\"; kernel_netdev = \"nic0\"; };\n"

static void test_hostile_empty(void **state)
{
	expect_refused(tmp_file("empty.conf", "", 0), -EINVAL, 0, "missing required section");
}

static void test_hostile_binary(void **state)
{
	unsigned char junk[4096];
	unsigned int seed = 42;

	/* NUL bytes: libconfig would stop reading at the first one */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand_r(&seed);
	memcpy(junk, NIC "\n", strlen(NIC "\n"));
	junk[strlen(NIC) + 1] = '\0';
	expect_refused(tmp_file("junk.bin", junk, sizeof(junk)), -EINVAL, 3, "NUL byte");
	/* no NUL: a syntax error, with its line */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = junk[i] == '\0' ? 'x' : junk[i];
	expect_refused_at(tmp_file("junk2.bin", junk, sizeof(junk)), -EINVAL, tmp_path("junk2.bin"),
			  ":");
}

/* Messages quote the file's values: still one line when those hold
 * newlines (an escape, or a string spanning lines). */
static void test_hostile_control_chars(void **state)
{
	expect_refused(tmp_file("nl.conf", NIC "log_level = \"a\\nb\";\n", 0), -EINVAL, 2,
		       "unknown level \"a?b\"");
	expect_refused(tmp_file("nl2.conf", NIC "log_level = \"a\nb\tc\";\n", 0), -EINVAL, 2,
		       "unknown level \"a?b?c\"");
}

/* A huge file is refused before parsing: libconfig 1.5 reads files in a
 * time quadratic in a token's length (10 MB: 79 s). */
static void test_hostile_huge(void **state)
{
	size_t len = 10 << 20;
	char *big = malloc(len);
	const char *path;
	char want[64];

	assert_non_null(big);
	memset(big, 'a', len);
	memcpy(big, NIC "log_level = \"", strlen(NIC "log_level = \""));
	memcpy(big + len - 3, "\";\n", 3);
	path = tmp_file("huge.conf", big, len);
	snprintf(want, sizeof(want), "too large (%zu bytes, at most 1048576)", len);
	expect_refused(path, -EFBIG, 0, want);
	/* just below the limit, one token: parsed (and refused) in time */
	len = (1 << 20) - 16;
	memcpy(big + len - 3, "\";\n", 3);
	path = tmp_file("big.conf", big, len);
	expect_refused(path, -EINVAL, 2, "unknown level");
	free(big);
}

/* libconfig checks each new setting's name against its group's: 100k
 * settings in 1 MB took 63 s. */
static void test_hostile_many_settings(void **state)
{
	size_t cap = 1 << 20, len = 0;
	char *many = malloc(cap);
	int n = 0;

	assert_non_null(many);
	len = (size_t)snprintf(many, cap, "%s", NIC);
	while (len + 32 < cap - 64)
		len += (size_t)snprintf(many + len, cap - len, "k%d = 1;\n", n++);
	/* (NIC holds 3: line 4095 holds the 4097th) */
	expect_refused(tmp_file("many.conf", many, len), -EINVAL, 4095, "more than 4096 settings");
	free(many);
}

/* libconfig's parser recurses per level of nesting. */
static void test_hostile_nesting(void **state)
{
	size_t depth = 100000, len = 4 + 2 * depth + 2;
	char *deep = malloc(len + 1);

	assert_non_null(deep);
	memcpy(deep, "x =\n", 4);
	memset(deep + 4, '(', depth);
	memset(deep + 4 + depth, ')', depth);
	memcpy(deep + 4 + 2 * depth, ";\n", 3);
	expect_refused(tmp_file("deep.conf", deep, len), -EINVAL, 2, "nested more than 32 deep");
	free(deep);
	expect_refused(tmp_file("deepg.conf",
				NIC "a: { b: { c: { d: { e: { f: { g: { h: { i: { "
				    "j: { k: { l: { m: { n: { o: { p: { q: { r: { "
				    "s: { t: { u: { v: { w: { x: { y: { z: { A: { "
				    "B: { C: { D: { E: { F: { G: { } } } } } } } } "
				    "} } } } } } } } } } } } } } } } } } } } } } };",
				0),
		       -EINVAL, 2, "nested more than 32 deep");
}

/* libconfig 1.5 keeps an integer without "L" in a C int: 4294968796 would
 * silently read as 1500. */
static void test_hostile_integers(void **state)
{
	static const struct {
		const char *line, *text;
	} cases[] = {
	    {"nic: { mtu = 4294968796; };", "4294968796 does not fit in 32 bits"},
	    {"nic: { mtu = 0x1000005DC; };", "write it 0x1000005DCL"},
	    {"nic: { mtu = -2147483649; };", "does not fit in 32 bits"},
	    {"nic: { mtu = 99999999999999999999; };", "out of range"},
	    {"nic: { mtu = 0x1FFFFFFFFFFFFFFFFL; };", "out of range"},
	    {"routes = ( { dst = \"10.0.0.0/8\"; metric = 4294967295; } );",
	     "write it 4294967295L"},
	    {"fib: { tables = [ 100, 0x100000064 ]; };", "does not fit in 32 bits"},
	    /* a float is not an integer: never cut, refused by its type */
	    {"dataplane: { burst = 99999999999.5e10; };", "\"dataplane.burst\" must be an integer"},
	};
	char buf[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\n%s\n", NIC, cases[i].line);
		expect_refused(tmp_file("int.conf", buf, 0), -EINVAL, 3, cases[i].text);
	}
	/* with the L, in range: taken as written (and 2^31 - 1 needs none) */
	struct agent_config *cfg =
	    load_ok(tmp_file("int-ok.conf",
			     NIC "routes = ( { dst = \"10.0.0.0/8\"; metric = 4294967295L; },\n"
				 "  { dst = \"10.1.0.0/16\"; metric = 0xFFFFFFFFL; },\n"
				 "  { dst = \"10.2.0.0/16\"; metric = 2147483647; } );\n"
				 "fib: { tables = [ 0x64, 1000 ]; netlink_rcvbuf = 0x40000000 };\n",
			     0));
	drop(cfg);
}

static void test_hostile_duplicate_key(void **state)
{
	expect_refused(tmp_file("dup.conf", NIC "nic: { mtu = 1400; };\n", 0), -EINVAL, 2,
		       "duplicate setting name");
	expect_refused(tmp_file("dup2.conf",
				"nic: { device = \"x\"; kernel_netdev = \"nic0\";\n"
				"  mtu = 1500;\n  mtu = 1400; };\n",
				0),
		       -EINVAL, 3, "duplicate setting name");
}

/* @include: a relative path under the configuration's directory, of a
 * regular file, not nested without end. */
static void test_hostile_include(void **state)
{
	const char *main_conf;
	char buf[PATH_MAX + 64];

	tmp_file("nic.inc", NIC, 0);
	main_conf = tmp_file("inc-abs.conf", "@include \"/etc/passwd\"\n", 0);
	expect_refused(main_conf, -EINVAL, 1, "must be a path relative to");
	main_conf = tmp_file("inc-up.conf", NIC "@include \"sub/../../x.inc\"\n", 0);
	expect_refused(main_conf, -EINVAL, 2, "\"..\" is not allowed");
	main_conf = tmp_file("inc-missing.conf", NIC "\n@include \"no-such.inc\"\n", 0);
	expect_refused(main_conf, -EINVAL, 3, "No such file or directory");
	/* a FIFO would block the reader forever, a device never end */
	assert_int_equal(mkfifo(tmp_path("fifo.inc"), 0600), 0);
	main_conf = tmp_file("inc-fifo.conf", NIC "@include \"fifo.inc\"\n", 0);
	expect_refused(main_conf, -EINVAL, 2, "not a regular file");
	assert_int_equal(symlink("/dev/zero", tmp_path("zero.inc")), 0);
	main_conf = tmp_file("inc-zero.conf", NIC "@include \"zero.inc\"\n", 0);
	expect_refused(main_conf, -EINVAL, 2, "not a regular file");
	main_conf = tmp_file("inc-self.conf", NIC "@include \"inc-self.conf\"\n", 0);
	expect_refused_at(main_conf, -EINVAL, "", "nested more than 10 deep");
	/* many small includes, or a large one twice */
	tmp_file("empty.inc", "# nothing\n", 0);
	buf[0] = '\0';
	{
		char many[65 * 24] = NIC;

		for (int i = 0; i < 65; i++)
			strcat(many, "@include \"empty.inc\"\n");
		main_conf = tmp_file("inc-many.conf", many, 0);
		expect_refused(main_conf, -EINVAL, 66, "more than 64 @include");
	}
	{
		size_t len = 700 << 10;
		char *big = malloc(len);

		assert_non_null(big);
		memset(big, '#', len);
		big[len - 1] = '\n';
		tmp_file("big.inc", big, len);
		free(big);
		main_conf =
		    tmp_file("inc-big.conf", NIC "@include \"big.inc\"\n@include \"big.inc\"\n", 0);
		expect_refused(main_conf, -EFBIG, 3, "too large");
	}
	/* what libconfig does not read as a directive is not one: in a comment */
	drop(load_ok(tmp_file("inc-comment.conf",
			      NIC "/*\n@include \"/etc/passwd\"\n*/\n# @include \"x\"\n", 0)));
	/* an error in an included file is reported there, and the including
	 * file's lines after the @include are its own */
	tmp_file("bad.inc", "\n\nmtu = 17;\n", 0);
	main_conf = tmp_file("inc-bad.conf",
			     "nic: { device = \"x\"; kernel_netdev = \"nic0\";\n"
			     "@include \"bad.inc\"\n};\n",
			     0);
	snprintf(buf, sizeof(buf), "%s:3: ", tmp_path("bad.inc"));
	expect_refused_at(main_conf, -EINVAL, buf, "\"nic.mtu\" must be between 68 and 65535");
	tmp_file("ok.inc", "\n# two lines\nlog_level = \"debug\";\n", 0);
	main_conf =
	    tmp_file("inc-after.conf", NIC "@include \"ok.inc\"\n\nbridge: { nme = 1; };\n", 0);
	expect_refused(main_conf, -EINVAL, 4, "unknown key \"bridge.nme\"");
}

/* The file itself must be a regular file: `-c /dev/zero` or a FIFO. */
static void test_hostile_not_regular(void **state)
{
	assert_int_equal(mkfifo(tmp_path("fifo.conf"), 0600), 0);
	expect_refused(tmp_path("fifo.conf"), -EINVAL, 0, "not a regular file");
	expect_refused("/dev/zero", -EINVAL, 0, "not a regular file");
}

/* ---- this host ------------------------------------------------------------ */

struct warnings {
	int n;
	char msg[8][512];
};

static void collect(void *arg, const char *msg)
{
	struct warnings *w = arg;

	if (w->n < 8)
		snprintf(w->msg[w->n++], sizeof(w->msg[0]), "%s", msg);
}

/* What the file names and this host lacks: warnings, never errors. */
static void test_host_warnings(void **state)
{
	struct warnings w = {0};
	struct agent_config_opts opts = {.check_host = true, .warn = collect, .warn_arg = &w};
	struct agent_config *cfg = calloc(1, sizeof(*cfg));
	const char *path;
	char want[PATH_MAX + 64];

	assert_non_null(cfg);
	/* "lo" exists everywhere */
	path =
	    tmp_file("host-ok.conf",
		     "nic: { device = \"net_af_xdp0,iface=lo\"; kernel_netdev = \"lo\"; };\n", 0);
	assert_int_equal(agent_config_load_ex(path, &opts, cfg, err, sizeof(err)), 0);
	assert_int_equal(w.n, 0);
	agent_config_free(cfg);

	path = tmp_file("host-missing.conf",
			"nic: {\n  device = \"net_af_xdp0,iface=agt-nope0\";\n"
			"  kernel_netdev = \"agt-nope1\";\n};\n"
			"bridge: { ports = [ \"lo\", \"agt-nope2\" ]; };\n"
			"routes = ( { dst = \"10.0.0.0/8\"; dev = \"agt-nope3\"; },\n"
			"  { dst = \"10.1.0.0/16\"; dev = \"br-vm\"; } );\n",
			0);
	assert_int_equal(agent_config_load_ex(path, &opts, cfg, err, sizeof(err)), 0);
	for (int i = 0; i < w.n; i++)
		print_message("%s\n", w.msg[i]);
	assert_int_equal(w.n, 4);
	snprintf(want, sizeof(want),
		 "%s:3: warning: \"nic.kernel_netdev\": no interface \"agt-nope1\"", path);
	assert_contains(w.msg[0], want);
	snprintf(want, sizeof(want), "%s:2: warning: \"nic.device\": no interface \"agt-nope0\"",
		 path);
	assert_contains(w.msg[1], want);
	snprintf(want, sizeof(want), "%s:5: warning: \"bridge.ports[1]\"", path);
	assert_contains(w.msg[2], want);
	snprintf(want, sizeof(want), "%s:6: warning: \"routes[0].dev\"", path);
	assert_contains(w.msg[3], want);
	agent_config_free(cfg);

	/* a PCI address this host does not have */
	w.n = 0;
	path = tmp_file("host-pci.conf",
			"nic: { device = \"0000:fe:1f.7\"; kernel_netdev = \"lo\"; };\n", 0);
	assert_int_equal(agent_config_load_ex(path, &opts, cfg, err, sizeof(err)), 0);
	assert_int_equal(w.n, 1);
	assert_contains(w.msg[0], "no PCI device 0000:fe:1f.7 on this host");
	/* and without check_host, nothing is looked for */
	w.n = 0;
	opts.check_host = false;
	assert_int_equal(agent_config_load_ex(path, &opts, cfg, err, sizeof(err)), 0);
	assert_int_equal(w.n, 0);
	agent_config_free(cfg);
	free(cfg);
}

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

static void test_listen_addr_parse(void **state)
{
	static const char *const bad[] = {
	    "",
	    "9464",
	    ":9464",
	    "127.0.0.1",
	    "127.0.0.1:",
	    "127.0.0.1:0",
	    "127.0.0.1:65536",
	    "127.0.0.1:+80",
	    "127.0.0.1: 80",
	    "127.0.0.1:80x",
	    "localhost:80",
	    "::1:9464",
	    "[::1]9464",
	    "[::1]",
	    "[127.0.0.1]:80",
	    "[]:80",
	    "[::1:80",
	    "1.2.3:80",
	    "[::1]:123456",
	};
	struct ip_prefix a;
	const char *why;
	uint16_t port;
	char buf[64];

	(void)state;
	assert_int_equal(listen_addr_parse("127.0.0.1:9464", &a, &port, &why), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.len, 32);
	assert_int_equal(port, 9464);
	assert_null(why);
	assert_string_equal(ip_prefix_fmt(&a, false, buf, sizeof(buf)), "127.0.0.1");
	assert_int_equal(listen_addr_parse("[::1]:9464", &a, &port, &why), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.len, 128);
	assert_string_equal(ip_prefix_fmt(&a, false, buf, sizeof(buf)), "::1");
	assert_int_equal(listen_addr_parse("0.0.0.0:1", &a, &port, &why), 0);
	assert_int_equal(port, 1);
	assert_int_equal(listen_addr_parse("[::]:65535", &a, &port, &why), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(listen_addr_parse("[fd00:100::1]:80", &a, &port, &why), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 7;
		why = NULL;
		if (listen_addr_parse(bad[i], &a, &port, &why) != -EINVAL || why == NULL ||
		    port != 7) {
			print_error("\"%s\" accepted (or no reason given)\n", bad[i]);
			fail();
		}
	}
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

/* ---- reload: agent_config_merge ----------------------------------------- */

static struct agent_config *load_text(const char *text)
{
	struct agent_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	if (agent_config_load_buffer("t.conf", text, strlen(text), NULL, cfg, err, sizeof(err)) <
	    0) {
		print_error("%s\n", err);
		fail();
	}
	return cfg;
}

static char changes[1024];

static void note_change(const char *key, enum agent_cfg_apply how, void *arg)
{
	size_t off = strlen(changes);

	(void)arg;
	snprintf(changes + off, sizeof(changes) - off, "%s%s=%s", off ? " " : "", key,
		 agent_cfg_apply_name(how));
}

#define MERGE_BASE                                                                                 \
	"nic: { device = \"net_af_xdp0,iface=nic0\"; kernel_netdev = \"nic0\";\n"                  \
	"  addresses = [ \"192.168.1.1/24\" ]; };\n"                                               \
	"dataplane: { eal_args = [ \"--no-huge\" ]; };\n"                                          \
	"routes = ( { dst = \"10.2.0.0/24\"; via = \"192.168.1.2\"; } );\n"

static void test_merge_classifies(void **state)
{
	struct agent_config *cur = load_text(MERGE_BASE "bridge: { ports = [ \"vm1p\" ]; };\n");
	struct agent_config *next =
	    load_text("nic: { device = \"0000:03:00.0\"; kernel_netdev = \"nic0\";\n"
		      "  addresses = [ \"192.168.1.1/24\", \"192.168.1.9/24\" ]; };\n"
		      "dataplane: { eal_args = [ \"--no-huge\", \"-m\", \"512\" ]; burst = 16; };\n"
		      "routes = ( { dst = \"10.2.0.0/24\"; via = \"192.168.1.3\"; } );\n"
		      "bridge: { ports = [ \"vm1p\", \"vm2p\" ]; };\n"
		      "fallback: { holddown_ms = 100; };\n"
		      "bpf: { pin_name = \"other\"; };\n"
		      "log_level = \"debug\";\n");

	changes[0] = '\0';
	assert_int_equal(agent_config_merge(next, cur, note_change, NULL), 9);
	assert_string_equal(
	    changes, "log_level=live dataplane.eal_args=dataplane_restart "
		     "dataplane.burst=dataplane_restart nic.device=agentd_restart "
		     "nic.addresses=live bridge.ports=live routes=live bpf.pin_name=agentd_restart "
		     "fallback.holddown_ms=live");
	/* what only an agentd restart changes keeps the running value */
	assert_string_equal(next->nic.device, "net_af_xdp0,iface=nic0");
	assert_string_equal(next->bpf.pin_name, "agent");
	/* the rest is the new file's */
	assert_int_equal(next->nic.n_addrs, 2);
	assert_int_equal(next->dataplane.burst, 16);
	assert_int_equal(next->dataplane.n_eal_args, 3);
	assert_int_equal(next->bridge.n_ports, 2);
	assert_int_equal(next->fallback.holddown_ms, 100);
	/* merged again: only the restart-only keys... none left, they were kept */
	changes[0] = '\0';
	assert_int_equal(agent_config_diff(next, cur, note_change, NULL), 7);
	assert_null(strstr(changes, "agentd_restart"));
	drop(cur);
	drop(next);
}

/* "vlans": loaded as written; a change of the list needs an agentd restart
 * (the running list is kept) */
static void test_vlans_load_and_merge(void **state)
{
	struct agent_config *cur =
	    load_text(MERGE_BASE "vlans = ( { id = 100; addresses = [ \"192.168.110.1/24\",\n"
				 "  \"fd00:110::1/64\" ]; }, { id = 4094; } );\n");
	struct agent_config *next = load_text(
	    MERGE_BASE "vlans = ( { id = 100; addresses = [ \"192.168.110.1/24\" ]; } );\n");

	(void)state;
	assert_int_equal(cur->n_vlans, 2);
	assert_int_equal(cur->vlans[0].id, 100);
	assert_int_equal(cur->vlans[0].n_addrs, 2);
	assert_int_equal(cur->vlans[0].addrs[1].family, AF_INET6);
	assert_int_equal(cur->vlans[0].addrs[0].len, 24);
	assert_int_equal(cur->vlans[1].id, 4094);
	assert_int_equal(cur->vlans[1].n_addrs, 0);
	changes[0] = '\0';
	assert_int_equal(agent_config_merge(next, cur, note_change, NULL), 1);
	assert_string_equal(changes, "vlans=agentd_restart");
	assert_int_equal(next->n_vlans, 2);
	assert_int_equal(next->vlans[0].n_addrs, 2);
	drop(cur);
	drop(next);
}

/* A bonded uplink: members and mode loaded as written; changing them needs
 * an agentd restart (the running ones are kept). */
static void test_bond_load_and_merge(void **state)
{
	const char *bond =
	    "nic: { kernel_netdev = \"bond0\"; kernel_driver = \"virtio-pci\";\n"
	    "  bond_mode = \"802.3ad\"; addresses = [ \"192.168.1.1/24\" ];\n"
	    "  members = ( { device = \"0000:00:03.0\"; kernel_netdev = \"nic0\"; },\n"
	    "    { device = \"0000:00:05.0\"; kernel_netdev = \"nic1\"; } ); };\n";
	struct agent_config *cur = load_text(bond);
	struct agent_config *next = load_text(
	    "nic: { kernel_netdev = \"bond0\"; kernel_driver = \"virtio-pci\";\n"
	    "  bond_mode = \"active-backup\"; addresses = [ \"192.168.1.1/24\" ];\n"
	    "  members = ( { device = \"0000:00:03.0\"; kernel_netdev = \"nic0\"; } ); };\n");

	(void)state;
	assert_int_equal(cur->nic.bond_mode, BOND_8023AD);
	assert_string_equal(agent_bond_mode_name(cur->nic.bond_mode), "802.3ad");
	assert_int_equal(cur->nic.n_members, 2);
	assert_string_equal(cur->nic.members[1].device, "0000:00:05.0");
	assert_string_equal(cur->nic.members[1].kernel_netdev, "nic1");
	assert_string_equal(cur->nic.device, "");
	assert_int_equal(next->nic.bond_mode, BOND_ACTIVE_BACKUP);
	changes[0] = '\0';
	assert_int_equal(agent_config_merge(next, cur, note_change, NULL), 2);
	assert_string_equal(changes, "nic.bond_mode=agentd_restart nic.members=agentd_restart");
	assert_int_equal(next->nic.bond_mode, BOND_8023AD);
	assert_int_equal(next->nic.n_members, 2);
	assert_string_equal(next->nic.members[1].kernel_netdev, "nic1");
	/* the same members two lines further down: nothing changed (the
	 * source lines of the members are not their value) */
	drop(next);
	char shifted[1024];
	snprintf(shifted, sizeof(shifted), "# a comment\n\n%s", bond);
	next = load_text(shifted);
	assert_int_equal(next->nic.members[0].line, cur->nic.members[0].line + 2);
	assert_int_equal(agent_config_merge(next, cur, note_change, NULL), 0);
	drop(cur);
	drop(next);
}

static void test_merge_unchanged(void **state)
{
	struct agent_config *cur = load_text(MERGE_BASE);
	/* the same values written differently: no change */
	struct agent_config *next =
	    load_text("routes = ( { via = \"192.168.1.2\"; dst = \"10.2.0.0/24\"; } );\n"
		      "dataplane: { eal_args = [ \"--no-huge\" ]; burst = 32; };\n"
		      "nic: { kernel_netdev = \"nic0\"; device = \"net_af_xdp0,iface=nic0\";\n"
		      "  addresses = [ \"192.168.1.1/24\" ]; mtu = 1500; };\n");
	struct agent_config copy;

	changes[0] = '\0';
	assert_int_equal(agent_config_merge(next, cur, note_change, NULL), 0);
	assert_string_equal(changes, "");
	/* a deep copy compares equal, and owns its own strings */
	assert_int_equal(agent_config_dup(&copy, cur), 0);
	assert_ptr_not_equal(copy.dataplane.eal_args[0], cur->dataplane.eal_args[0]);
	assert_int_equal(agent_config_diff(&copy, cur, note_change, NULL), 0);
	agent_config_free(&copy);
	drop(cur);
	drop(next);
}

static void test_route_equality(void **state)
{
	struct agent_config *a = load_text(MERGE_BASE);
	struct agent_config *b =
	    load_text("nic: { device = \"x\"; kernel_netdev = \"nic0\"; };\n"
		      "routes = ( { dst = \"10.2.0.0/24\"; via = \"192.168.1.3\"; },\n"
		      "  { dst = \"10.2.0.0/24\"; via = \"192.168.1.2\"; metric = 5; } );\n");

	assert_true(agent_route_same_key(&a->routes[0], &b->routes[0]));
	assert_false(agent_route_equal(&a->routes[0], &b->routes[0]));
	assert_false(agent_route_same_key(&a->routes[0], &b->routes[1]));
	assert_true(agent_route_equal(&a->routes[0], &a->routes[0]));
	drop(a);
	drop(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lab_config),
	    cmocka_unit_test(test_merge_classifies),
	    cmocka_unit_test(test_merge_unchanged),
	    cmocka_unit_test(test_route_equality),
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
	    cmocka_unit_test(test_bridges_not_list),
	    cmocka_unit_test(test_bridges_port_twice),
	    cmocka_unit_test(test_bridges_addr_twice),
	    cmocka_unit_test(test_bridges_name_missing),
	    cmocka_unit_test(test_vlans_id_twice),
	    cmocka_unit_test(test_bond_and_device),
	    cmocka_unit_test(test_bond_no_mode),
	    cmocka_unit_test(test_bond_bad_mode),
	    cmocka_unit_test(test_bond_mode_alone),
	    cmocka_unit_test(test_bond_member_twice),
	    cmocka_unit_test(test_bond_netdev_twice),
	    cmocka_unit_test(test_bond_too_many),
	    cmocka_unit_test(test_bond_member_nodev),
	    cmocka_unit_test(test_bond_member_af_xdp),
	    cmocka_unit_test(test_bond_load_and_merge),
	    cmocka_unit_test(test_vlans_id_range),
	    cmocka_unit_test(test_vlans_addr_twice),
	    cmocka_unit_test(test_vlans_name_long),
	    cmocka_unit_test(test_vlans_id_missing),
	    cmocka_unit_test(test_vlans_load_and_merge),
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
	    cmocka_unit_test(test_metrics_listen_name),
	    cmocka_unit_test(test_metrics_listen_v6),
	    cmocka_unit_test(test_metrics_listen_port),
	    cmocka_unit_test(test_listen_addr_parse),
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

	const struct CMUnitTest hostile[] = {
	    cmocka_unit_test(test_hostile_empty),
	    cmocka_unit_test(test_hostile_binary),
	    cmocka_unit_test(test_hostile_control_chars),
	    cmocka_unit_test(test_hostile_many_settings),
	    cmocka_unit_test(test_hostile_huge),
	    cmocka_unit_test(test_hostile_nesting),
	    cmocka_unit_test(test_hostile_integers),
	    cmocka_unit_test(test_hostile_duplicate_key),
	    cmocka_unit_test(test_hostile_include),
	    cmocka_unit_test(test_hostile_not_regular),
	    cmocka_unit_test(test_host_warnings),
	};
	int failed = cmocka_run_group_tests_name("config", tests, NULL, NULL);

	return failed + cmocka_run_group_tests_name("config_hostile", hostile, hostile_setup,
						    hostile_teardown);
}
