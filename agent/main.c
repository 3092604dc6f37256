/* SPDX-License-Identifier: BSD-3-Clause */
/* agentd: the control plane of the split topology.
 *
 *   agentd -c FILE               run (foreground; systemd supervises it)
 *   agentd --check-config -c FILE validate FILE and exit (0 ok, 2 invalid)
 *
 * One epoll loop: signals (signalfd), the control socket, the dataplane's
 * pidfd. Start order: config (nothing touched if invalid) → bridge and VM
 * ports → dataplane → exception netdev takes over the underlay. */
#define LOG_TYPE "agentd"
#include <agent_log.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <agent_proto.h>
#include <dp_telemetry.h>
#include <kernel_side.h>

#include "agentd.h"

#define EXIT_CONFIG	2
#define EXIT_DP_UNCLEAN 3 /* the dataplane stopped did not exit with status 0 */

const char *agent_mode_name(enum agent_mode m)
{
	switch (m) {
	case MODE_STARTING:
		return "starting";
	case MODE_DPDK:
		return "dpdk";
	case MODE_KERNEL:
		return "kernel";
	case MODE_STOPPING:
		return "stopping";
	}
	return "?";
}

void agent_set_mode(struct agentd *a, enum agent_mode m, const char *why)
{
	if (a->mode == m)
		return;
	LOG(NOTICE, "mode %s -> %s (%s)", agent_mode_name(a->mode), agent_mode_name(m), why);
	a->mode = m;
	a->mode_since = time(NULL);
	svc_notify_status(a, why);
}

static void signal_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		json_t *resp = NULL;

		LOG(NOTICE, "SIGHUP: reloading %s", a->cfg.path);
		agent_reload(a, &resp); /* logs what it did */
		json_decref(resp);
		return;
	}
	LOG(NOTICE, "received %s", strsignal(si.ssi_signo));
	a->stop = true;
}

/* --check-config: what this host lacks is a warning, the file may be for
 * another host. */
static void config_warning(void *arg, const char *msg)
{
	fprintf(stderr, "agentd: %s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: agentd -c FILE [--check-config] [--log-level LEVEL]\n"
	       "  -c, --config FILE     configuration file (libconfig syntax, see agentd.conf(5))\n"
	       "  -n, --check-config    validate the configuration and exit (0 ok, 2 invalid)\n"
	       "  -L, --log-level LEVEL err|warning|notice|info|debug (overrides the file)\n"
	       "  -V, --version         print the version and exit\n"
	       "  -h, --help\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},	 {"check-config", no_argument, NULL, 'n'},
	    {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},	 {0},
	};
	static struct agentd agent = {.epfd = -1, .dp = {.pidfd = -1}};
	struct agentd *a = &agent;
	const char *config = NULL;
	int log_override = -1;
	bool check_only = false;
	struct agent_config_opts load_opts = {.warn = config_warning};
	char err[512];
	sigset_t sigs;
	int c, ret, sfd, dp_unclean = 0;

	while ((c = getopt_long(argc, argv, "c:nL:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'L':
			log_override = agent_log_level_parse(optarg);
			if (log_override < 0) {
				fprintf(stderr, "agentd: unknown log level '%s'\n", optarg);
				return EXIT_CONFIG;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("agentd %s\n", AGENT_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (config == NULL) {
		usage(stderr);
		return EXIT_CONFIG;
	}

	/* Validate everything before touching anything. */
	load_opts.check_host = check_only;
	ret = agent_config_load_ex(config, &load_opts, &a->cfg, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "agentd: %s\n", err);
		return EXIT_CONFIG;
	}
	if (check_only) {
		printf("%s: ok\n", config);
		agent_config_free(&a->cfg);
		return 0;
	}
	agent_log_level = log_override >= 0 ? log_override : a->cfg.log_level;
	a->log_level_override = log_override;

	if (ctl_check_free(a->cfg.control.socket) < 0)
		return 1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (loop_init(a) < 0 || sfd < 0 || loop_add_fd(a, sfd, signal_cb, NULL) < 0) {
		LOG(ERR, "event loop: %s", strerror(errno));
		return 1;
	}
	a->mode_since = time(NULL);
	LOG(INFO, "agentd %s starting with %s", AGENT_VERSION, config);
	ret = svc_notify_init(a);
	if (ret < 0) {
		LOG(ERR, "systemd watchdog: %s", strerror(-ret));
		return 1;
	}

	ret = ks_open(&a->nl);
	if (ret < 0) {
		LOG(ERR, "netlink: %s", strerror(-ret));
		return 1;
	}
	ret = kernel_setup_bridge(a);
	if (ret < 0) {
		LOG(ERR, "bridge setup failed: %s", strerror(-ret));
		goto out;
	}
	ret = steering_init(a);
	if (ret < 0) {
		LOG(ERR, "steering setup failed: %s", strerror(-ret));
		goto out;
	}
	ret = ctl_listen(a);
	if (ret < 0)
		goto out;
	ret = metrics_listen(a);
	if (ret < 0)
		goto out;

	ret = fallback_init(a);
	if (ret < 0) {
		LOG(ERR, "timers: %s", strerror(-ret));
		goto out;
	}
	fallback_start(a);

	loop_run(a);
	ret = 0;

out:
	svc_notify_stopping(a);
	/* Orderly stop: the kernel gets the underlay back, the exception
	 * netdev disappears with the dataplane. The bridge and VM ports stay:
	 * VMs keep talking to each other and to the host. Only an agentd that
	 * got as far as starting (or adopting) the dataplane does this: one that
	 * failed earlier must not pull the underlay from under a running
	 * dataplane it has not adopted. */
	if (a->managed) {
		agent_set_mode(a, MODE_STOPPING, "shutdown");
		steering_set_fast(a, false);
		dp_unclean = dataplane_stop(a, 5000);
		nic_to_kernel(a);
		kernel_setup_nic(a);
		steering_fini(a);
	}
	dpq_cancel_all(a); /* deferred replies go out (as errors) before the clients close */
	ctl_close(a);
	metrics_close(a);
	ks_close(a->nl);
	svc_notify_fini(a);
	loop_fini(a);
	agent_config_free(&a->cfg);
	reload_fini();
	if (ret >= 0 && dp_unclean) {
		LOG(ERR, "agentd stopped, but the dataplane did not exit cleanly");
		return EXIT_DP_UNCLEAN;
	}
	LOG(INFO, "agentd stopped");
	return ret < 0 ? 1 : 0;
}
