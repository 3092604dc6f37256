/* SPDX-License-Identifier: BSD-3-Clause */
/* Smoke test of the agent-dataplane binary on net_null ports (no netns, no
 * privileges beyond writing DPDK's runtime dir): exit codes for bad
 * arguments, telemetry over the real socket, counters that move, SIGTERM ->
 * exit 0. Usage: test_dp_smoke <path to agent-dataplane> */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <dp_telemetry.h>

static const char *binary;
static char prefix[64];
static char runtime_dir[80];
static pid_t running_pid; /* killed by the teardown if a test failed midway */

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Run the binary with EAL args + "--" + app args; returns its pid. */
static pid_t spawn(char *const *argv, bool quiet)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(binary, argv);
		_exit(127);
	}
	return pid;
}

/* Exit status of pid, waiting at most timeout_ms; SIGKILL and -1 past it. */
static int wait_exit(pid_t pid, int timeout_ms)
{
	int status;

	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

#define EAL_ARGS(pfx)                                                                              \
	"-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--file-prefix", pfx, "--log-level",    \
	    "pmd.net.null:error", "--vdev", "net_null0", "--vdev", "net_null1"

static void test_bad_args_exit_2(void **state)
{
	char *missing_nic[] = {(char *)binary, EAL_ARGS(prefix), "--",
			       "--exception",  "net_null1",	 NULL};
	char *bad_burst[] = {(char *)binary, "--", "--nic", "a", "--exception", "b",
			     "--burst",	     "0",  NULL};

	assert_int_equal(wait_exit(spawn(missing_nic, true), 10000), 2);
	assert_int_equal(wait_exit(spawn(bad_burst, true), 10000), 2);
}

static void test_port_not_found_exit_2(void **state)
{
	char *argv[] = {(char *)binary, EAL_ARGS(prefix), "--",	      "--nic",
			"net_null0",	"--exception",	  "net_tap9", NULL};

	assert_int_equal(wait_exit(spawn(argv, true), 20000), 2);
}

static void test_bad_eal_args_exit_1(void **state)
{
	char *argv[] = {
	    (char *)binary, "--no-such-eal-option", "--", "--nic", "a", "--exception", "b", NULL};

	assert_int_equal(wait_exit(spawn(argv, true), 10000), 1);
}

/* One telemetry command over the v2 socket, as agentd does it. */
static json_t *query(const char *cmd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	static char buf[64 * 1024];
	json_t *root, *val = NULL;
	ssize_t n;
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk_telemetry.v2", runtime_dir);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    recv(fd, buf, sizeof(buf), 0) <= 0 || send(fd, cmd, strlen(cmd), 0) < 0) {
		close(fd);
		return NULL;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	root = json_loads(buf, 0, NULL);
	if (root == NULL)
		return NULL;
	val = json_incref(json_object_get(root, cmd));
	json_decref(root);
	return val;
}

/* The health of a dataplane that reports state "running" (up to 15 s). */
static json_t *wait_running(void)
{
	for (int i = 0; i < 300; i++) {
		json_t *health = query(DP_TEL_HEALTH);
		const char *st =
		    health ? json_string_value(json_object_get(health, "state")) : NULL;

		if (st != NULL && strcmp(st, "running") == 0)
			return health;
		json_decref(health);
		sleep_ms(50);
	}
	fail_msg("dataplane never reported state running");
	return NULL;
}

static json_int_t get_int(json_t *obj, const char *path1, const char *path2)
{
	json_t *v = json_object_get(obj, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_runs_counts_and_stops(void **state)
{
	char *argv[] = {(char *)binary, EAL_ARGS(prefix), "--",	     "--nic", "net_null0",
			"--exception",	"net_null1",	  "--burst", "16",    NULL};
	json_t *health = NULL, *stats;
	pid_t pid = spawn(argv, true);

	running_pid = pid;
	health = wait_running();
	assert_int_equal(get_int(health, "pid", NULL), pid);
	assert_string_equal(json_string_value(json_object_get(health, "nic")), "net_null0");
	assert_string_equal(json_string_value(json_object_get(health, "exception")), "net_null1");
	json_int_t beat1 = get_int(health, "heartbeat", NULL);
	json_decref(health);

	sleep_ms(200);
	health = query(DP_TEL_HEALTH);
	assert_non_null(health);
	assert_true(get_int(health, "heartbeat", NULL) > beat1); /* the lcore turns */
	json_decref(health);

	stats = query(DP_TEL_STATS);
	assert_non_null(stats);
	/* net_null receives endlessly: both directions move, nothing is lost */
	assert_true(get_int(stats, "fwd", "nic_to_exc_packets") > 0);
	assert_true(get_int(stats, "fwd", "exc_to_nic_packets") > 0);
	assert_true(get_int(stats, "fwd", "nic_to_exc_bytes") > 0);
	assert_int_equal(get_int(stats, "fwd", "drop_verdict"), 0);
	assert_true(get_int(stats, "nic", "rx_packets") > 0);
	assert_true(get_int(stats, "exception", "tx_packets") > 0);
	assert_int_equal(get_int(stats, "nic", "port_id"), 0);
	assert_int_equal(get_int(stats, "nic", "link_up"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(stats, "nic"), "driver")),
	    "net_null");
	const char *mac =
	    json_string_value(json_object_get(json_object_get(stats, "exception"), "mac"));
	assert_non_null(mac);
	assert_int_equal(strlen(mac), 17);
	json_decref(stats);

	assert_int_equal(kill(pid, SIGTERM), 0);
	running_pid = 0;
	assert_int_equal(wait_exit(pid, 10000), 0);
}

/* The NIC a bond of two net_null ports under DPDK's bonding PMD: it
 * forwards, and the stats carry the bond's mode and members, in order. */
static void run_bond(const char *mode, int want_use0, int want_use1)
{
	char bond[128];
	snprintf(bond, sizeof(bond), "net_bonding0,mode=%s,slave=net_null2,slave=net_null3%s", mode,
		 strcmp(mode, "1") == 0 ? ",primary=net_null2" : "");
	char *argv[] = {(char *)binary, EAL_ARGS(prefix), "--vdev",    "net_null2", "--vdev",
			"net_null3",	"--vdev",	  bond,	       "--",	    "--nic",
			"net_bonding0", "--exception",	  "net_null1", NULL};
	json_t *stats = NULL;
	pid_t pid = spawn(argv, true);

	running_pid = pid;
	json_decref(wait_running());
	sleep_ms(300);
	stats = query(DP_TEL_STATS);
	assert_non_null(stats);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(stats, "nic"), "driver")),
	    "net_bonding");
	assert_string_equal(json_string_value(json_object_get(stats, "bond_mode")),
			    strcmp(mode, "1") == 0 ? "active-backup" : "802.3ad");
	json_t *names = json_object_get(stats, "bond_members");
	assert_int_equal(json_array_size(names), 2);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "net_null2");
	assert_string_equal(json_string_value(json_array_get(names, 1)), "net_null3");
	json_t *up = json_object_get(stats, "bond_link_up"),
	       *use = json_object_get(stats, "bond_in_use");
	assert_int_equal(json_integer_value(json_array_get(up, 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(up, 1)), 1);
	assert_int_equal(json_integer_value(json_array_get(use, 0)), want_use0);
	assert_int_equal(json_integer_value(json_array_get(use, 1)), want_use1);
	/* the exception port's endless frames go out through the bond */
	assert_true(get_int(stats, "fwd", "exc_to_nic_packets") > 0);
	json_decref(stats);

	assert_int_equal(kill(pid, SIGTERM), 0);
	running_pid = 0;
	assert_int_equal(wait_exit(pid, 10000), 0);
}

/* active-backup: the primary carries it all */
static void test_bond_active_backup(void **state)
{
	run_bond("1", 1, 0);
}

/* 802.3ad: no LACP partner behind net_null, so no member distributes */
static void test_bond_8023ad(void **state)
{
	run_bond("4", 0, 0);
}

static int kill_leftover(void **state)
{
	if (running_pid > 0) {
		kill(running_pid, SIGKILL);
		waitpid(running_pid, NULL, 0);
		running_pid = 0;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int cleanup(void **state)
{
	nftw(runtime_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_args_exit_2),
	    cmocka_unit_test(test_bad_eal_args_exit_1),
	    cmocka_unit_test(test_port_not_found_exit_2),
	    cmocka_unit_test_teardown(test_runs_counts_and_stops, kill_leftover),
	    cmocka_unit_test_teardown(test_bond_active_backup, kill_leftover),
	    cmocka_unit_test_teardown(test_bond_8023ad, kill_leftover),
	};
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (argc != 2) {
		fprintf(stderr, "usage: %s <agent-dataplane binary>\n", argv[0]);
		return 2;
	}
	binary = argv[1];
	snprintf(prefix, sizeof(prefix), "dpsmoke%d", (int)getpid());
	/* DPDK's runtime dir, see eal_create_runtime_dir() */
	if (geteuid() == 0)
		snprintf(runtime_dir, sizeof(runtime_dir), "/var/run/dpdk/%s", prefix);
	else
		snprintf(runtime_dir, sizeof(runtime_dir), "%s/dpdk/%s", xdg ? xdg : "/tmp",
			 prefix);
	return cmocka_run_group_tests_name("dataplane-smoke", tests, NULL, cleanup);
}
