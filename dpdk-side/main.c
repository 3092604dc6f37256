/* SPDX-License-Identifier: BSD-3-Clause */
/* agent-dataplane: the DPDK process of the hybrid agent (docs/architecture.md).
 *
 *   agent-dataplane <EAL args> -- --nic <port> --exception <port>
 *                                 [--burst 32] [--mbufs 8191]
 *
 * Process structure (DPDK l3fwd style):
 *
 *   main lcore   setup, then the control loop (main.c): an epoll loop on a
 *                signalfd (SIGTERM/SIGINT, blocked in every thread before
 *                rte_eal_init so that EAL threads inherit the mask) with a 1 s
 *                tick that logs link changes. Issue 3 adds the netlink
 *                mirror's socket here: dp_ctl_watch_fd(nl_mirror_fd(m), ...)
 *                feeding fib.h; FIB updates then run on the main lcore.
 *   fwd lcore    the first worker lcore runs dp_lcore_main() (fwd.c): rx burst
 *                from each port, dp_process_burst() (process.h: today
 *                pass-through NIC <-> exception; issue 3: FIB lookup + L2
 *                rewrite), tx through rte_eth_tx_buffer, drained every 100 us.
 *                Its state (struct dp_lcore) is cache aligned and its own; no
 *                locks; counters are single-writer relaxed 64-bit stores, among
 *                them a heartbeat bumped every loop turn (agentd's hung-lcore
 *                check). Further worker lcores stay idle.
 *   telemetry    DPDK's own thread serves /agent/health and /agent/stats
 *                (telemetry.c, include/dp_telemetry.h) on
 *                <runtime dir>/<file-prefix>/dpdk_telemetry.v2.
 *
 * Life cycle: parse the app args (exit 2 if bad) -> rte_eal_init (exit 1) ->
 * register telemetry (state "init") -> find both ports (exit 2 if missing) ->
 * one mbuf pool -> configure + start ports (port.c) -> launch the fwd lcore ->
 * state "running" -> control loop. SIGTERM/SIGINT: state "stopping", stop the
 * lcore, stop and close both ports, free the pool, rte_eal_cleanup, exit 0. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <dp_telemetry.h>

#include "dataplane.h"
#include "fib.h"
#include "mirror/nl_mirror.h"

RTE_LOG_REGISTER(dp_logtype, agent.dp, INFO);
#define RTE_LOGTYPE_DP dp_logtype

#define EXIT_USAGE 2 /* bad arguments, port not found */

struct dataplane dp = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

const char *dp_state_name(int state)
{
	switch (state) {
	case DP_STATE_INIT:
		return "init";
	case DP_STATE_RUNNING:
		return "running";
	case DP_STATE_STOPPING:
		return "stopping";
	case DP_STATE_STANDBY:
		return "standby";
	}
	return "unknown";
}

static void set_state(enum dp_state state)
{
	__atomic_store_n(&dp.state, state, __ATOMIC_RELEASE);
}

/* ---- control loop ---- */

#define CTL_MAX_FDS 16

struct ctl_watch {
	int fd;
	dp_ctl_cb cb;
	void *arg;
};

static struct {
	int epfd;
	int sigfd;
	bool quit;
	bool failed; /* quit because of an error: exit code 1 */
	unsigned int n_watch;
	struct ctl_watch watch[CTL_MAX_FDS];
	struct rte_eth_link last_link[DP_PORT_COUNT];
} ctl = {.epfd = -1, .sigfd = -1};

int dp_ctl_watch_fd(int fd, dp_ctl_cb cb, void *arg)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct ctl_watch *w;

	if (ctl.epfd < 0)
		return -EBADF;
	if (ctl.n_watch >= CTL_MAX_FDS)
		return -ENOSPC;
	w = &ctl.watch[ctl.n_watch];
	*w = (struct ctl_watch){.fd = fd, .cb = cb, .arg = arg};
	ev.data.ptr = w;
	if (epoll_ctl(ctl.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	ctl.n_watch++;
	return 0;
}

static bool activate_requested;

static void on_signal(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			activate_requested = true;
			continue;
		}
		RTE_LOG(NOTICE, DP, "%s received, stopping\n", strsignal((int)si.ssi_signo));
		ctl.quit = true;
	}
}

/* SIGUSR1 in standby: start the NIC port, then let the lcore poll it. A
 * failure ends the process: agentd sees it and stays on the kernel. */
static void activate_nic(void)
{
	int ret;

	if (__atomic_load_n(&dp.state, __ATOMIC_ACQUIRE) != DP_STATE_STANDBY)
		return;
	ret = dp_ports_setup_mask(dp.ports, dp.pool, 1, 1u << DP_PORT_NIC);
	if (ret < 0) {
		RTE_LOG(ERR, DP, "cannot start %s: %s\n", dp.args.nic, strerror(-ret));
		ctl.quit = true;
		ctl.failed = true;
		return;
	}
	for (unsigned int i = 0; i < dp.n_fwd; i++) {
		struct dp_lcore *lc = dp.fwd[i];
		lc->nic_mac = dp.ports[DP_PORT_NIC].mac; /* not read while n_active is 0 */
		__atomic_store_n(&lc->n_active, lc->n_rx, __ATOMIC_RELEASE);
	}
	set_state(DP_STATE_RUNNING);
	RTE_LOG(NOTICE, DP, "running: %s <-> %s (activated from standby)\n", dp.args.nic,
		dp.args.exception);
}

/* A bonded NIC: a member whose link or use changed is logged (the bond's
 * own link stays up while one member is). */
static void check_bond_members(void)
{
	static struct dp_bond_member last[DP_BOND_MAX_MEMBERS];
	static int n_last = -1;
	struct dp_bond_member m[DP_BOND_MAX_MEMBERS];
	int n, up = 0, use = 0;

	pthread_mutex_lock(&dp.lock);
	n = dp.ports_up && dp.ports[DP_PORT_NIC].started
		? dp_bond_members(&dp.ports[DP_PORT_NIC], m, DP_BOND_MAX_MEMBERS)
		: -1;
	pthread_mutex_unlock(&dp.lock);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		up += m[i].link_up;
		use += m[i].in_use;
	}
	for (int i = 0; i < n; i++) {
		if (n == n_last && m[i].link_up == last[i].link_up && m[i].in_use == last[i].in_use)
			continue;
		RTE_LOG(NOTICE, DP,
			"nic bond member %s: link %s%s (%d of %d members up, %d in use)\n",
			m[i].name, m[i].link_up ? "up" : "down", m[i].in_use ? ", in use" : "", up,
			n, use);
	}
	memcpy(last, m, sizeof(m[0]) * (size_t)n);
	n_last = n;
}

static void check_links(void)
{
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		const struct dp_port *port = &dp.ports[i];
		struct rte_eth_link link;
		char str[RTE_ETH_LINK_MAX_STR_LEN];

		if (rte_eth_link_get_nowait(port->port_id, &link) != 0)
			continue;
		if (link.link_status == ctl.last_link[i].link_status &&
		    link.link_speed == ctl.last_link[i].link_speed)
			continue;
		ctl.last_link[i] = link;
		rte_eth_link_to_str(str, sizeof(str), &link);
		RTE_LOG(NOTICE, DP, "%s %s: %s\n", port->role, port->name, str);
	}
	check_bond_members();
}

/* Every second: drops the forwarding lcore and the PMDs counted, logged
 * when they grow (rate-limited, drop_watch.c). Port stats only of started
 * ports (a standby NIC's PMD may complain when asked). */
static void check_drops(void)
{
	static struct drop_watch watch;
	static uint64_t last;
	uint64_t now = rte_get_timer_cycles(), cur[DW_N] = {0}, delta[DW_N];
	struct dp_fwd_counters sum;
	unsigned int report;

	if (now - last < rte_get_timer_hz())
		return;
	last = now;
	pthread_mutex_lock(&dp.lock);
	dp_lcore_counters_sum(dp.fwd, dp.n_fwd, &sum);
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		struct rte_eth_stats st;

		if (dp.ports[i].started && rte_eth_stats_get(dp.ports[i].port_id, &st) == 0)
			cur[DW_NO_MBUF] += st.rx_nombuf;
	}
	pthread_mutex_unlock(&dp.lock);
	cur[DW_TX_FULL_NIC] = sum.drop_tx_full_nic;
	cur[DW_TX_FULL_EXC] = sum.drop_tx_full_exc;
	report = drop_watch_update(&watch, (double)now / rte_get_timer_hz(), cur, delta);
	for (int k = 0; k < DW_N; k++)
		if (report & (1u << k))
			RTE_LOG(WARNING, DP,
				"%s: %" PRIu64 " since the last report (%" PRIu64
				" in all; reported at most every %d s)\n",
				drop_watch_names[k], delta[k], cur[k], DROP_WATCH_INTERVAL_S);
}

static int ctl_open(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	ctl.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ctl.epfd < 0)
		return -errno;
	ctl.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ctl.sigfd < 0)
		return -errno;
	return dp_ctl_watch_fd(ctl.sigfd, on_signal, NULL);
}

static void ctl_close(void)
{
	if (ctl.sigfd >= 0)
		close(ctl.sigfd);
	if (ctl.epfd >= 0)
		close(ctl.epfd);
	ctl.sigfd = ctl.epfd = -1;
}

static void mirror_tick(void);

static void ctl_run(void)
{
	struct epoll_event evs[CTL_MAX_FDS];

	for (int i = 0; i < DP_PORT_COUNT; i++)
		rte_eth_link_get_nowait(dp.ports[i].port_id, &ctl.last_link[i]);
	while (!ctl.quit) {
		/* 100 ms: a pending mirror resync is retried at that pace */
		int n = epoll_wait(ctl.epfd, evs, CTL_MAX_FDS, 100);

		if (n < 0 && errno != EINTR) {
			RTE_LOG(ERR, DP, "epoll_wait: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct ctl_watch *w = evs[i].data.ptr;
			w->cb(w->fd, evs[i].events, w->arg);
		}
		if (activate_requested) {
			activate_requested = false;
			activate_nic();
		}
		check_links();
		check_drops();
		mirror_tick();
	}
}

/* ---- fast path: netlink mirror -> FIB ---- */

static void on_netlink(int fd, uint32_t events, void *arg)
{
	int ret;

	ret = nl_mirror_process(dp.mirror);
	/* > 0: more queued; epoll (level-triggered) brings us back after the
	 * other fds had their turn */
	if (ret < 0)
		RTE_LOG(WARNING, DP, "netlink mirror: %s (resync pending, retried)\n",
			strerror(-ret));
}

/* A resync that failed, or a FIB that was full, is retried from here. */
static void mirror_tick(void)
{
	static uint64_t last;
	uint64_t now = rte_get_timer_cycles();
	int ret;

	if (dp.mirror == NULL || now - last < rte_get_timer_hz() / 10)
		return;
	last = now;
	if (fib_wants_resync(dp.fib))
		nl_mirror_request_resync(dp.mirror);
	ret = nl_mirror_tick(dp.mirror);
	if (ret < 0)
		RTE_LOG(WARNING, DP, "netlink resync: %s (retried)\n", strerror(-ret));
}

/* With --bridge: mirror the kernel's routes, neighbours, addresses and links
 * into the FIB, a full dump first (before the forwarding lcore starts, so it
 * never runs on an empty FIB), then events on the control loop. */
static int setup_fast_path(void)
{
	struct fib_config cfg = {
	    .lpm_rules = dp.args.fib_rules,
	    .lpm6_rules = dp.args.fib6_rules,
	    .tbl8s = dp.args.fib_tbl8s,
	    .tbl8s6 = dp.args.fib6_tbl8s,
	    .neighbours = dp.args.neighbours,
	    .bridge_ifname = dp.args.bridge,
	    .exc_ifname =
		dp.args.exc_ifname[0] ? dp.args.exc_ifname : dp.ports[DP_PORT_EXC].kernel_ifname,
	    .tables = dp.args.tables,
	    .n_tables = (int)dp.args.n_tables,
	    .n_more_bridges = (int)dp.args.n_more_bridges,
	};
	const struct nl_mirror_stats *st;
	int ret;

	if (dp.args.bridge[0] == '\0') {
		RTE_LOG(NOTICE, DP, "no --bridge: slow path only\n");
		return 0;
	}
	for (unsigned int i = 0; i < dp.args.n_more_bridges; i++)
		cfg.more_bridges[i] = dp.args.more_bridges[i];
	if (cfg.exc_ifname[0] == '\0') {
		RTE_LOG(ERR, DP, "exception netdev name unknown: pass --exc-ifname\n");
		return -EINVAL;
	}
	ret = fib_create(&dp.fib, &cfg, (int)rte_socket_id());
	if (ret < 0)
		return ret;
	ret = nl_mirror_open(&dp.mirror, &fib_mirror_ops, dp.fib, cfg.tables, cfg.n_tables);
	if (ret < 0) {
		RTE_LOG(ERR, DP, "netlink mirror: %s\n", strerror(-ret));
		return ret;
	}
	if (dp.args.netlink_rcvbuf)
		nl_mirror_set_rcvbuf(dp.mirror, (int)dp.args.netlink_rcvbuf);
	ret = nl_mirror_sync(dp.mirror);
	if (ret == -EAGAIN) {
		/* the kernel's tables kept changing under the dump: start with
		 * an untrusted FIB (everything to the kernel), the tick retries */
		RTE_LOG(WARNING, DP,
			"netlink dump interrupted: FIB untrusted until a resync completes\n");
	} else if (ret < 0) {
		RTE_LOG(ERR, DP, "netlink dump: %s\n", strerror(-ret));
		return ret;
	}
	ret = dp_ctl_watch_fd(nl_mirror_fd(dp.mirror), on_netlink, NULL);
	if (ret < 0)
		return ret;
	st = nl_mirror_stats(dp.mirror);
	struct fib_stats fs;
	fib_get_stats(dp.fib, &fs);
	RTE_LOG(INFO, DP,
		"fast path: bridge %s, exception netdev %s; FIB %" PRIu64 " IPv4 + %" PRIu64
		" IPv6 routes, %" PRIu64 " neighbours, %" PRIu64 " local addresses (%" PRIu64
		" dump retries)\n",
		cfg.bridge_ifname, cfg.exc_ifname, fs.routes4, fs.routes6, fs.neighbours, fs.locals,
		st->dump_retries);
	return 0;
}

/* ---- heartbeat page ---- */

static char hb_path[PATH_MAX];

/* A shared page in the runtime dir where the forwarding lcore publishes its
 * loop turns: agentd maps it read-only and checks it without a round trip. */
static void heartbeat_page_create(void)
{
	struct dp_heartbeat *hb;
	int fd;

	snprintf(hb_path, sizeof(hb_path), "%s/%s", rte_eal_get_runtime_dir(), DP_HEARTBEAT_FILE);
	fd = open(hb_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, DP_HEARTBEAT_SIZE) < 0) {
		RTE_LOG(WARNING, DP, "heartbeat page %s: %s (agentd falls back to telemetry)\n",
			hb_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		hb_path[0] = '\0';
		return;
	}
	hb = mmap(NULL, DP_HEARTBEAT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (hb == MAP_FAILED) {
		hb_path[0] = '\0';
		return;
	}
	hb->pid = (uint64_t)getpid();
	hb->turns = 0;
	__atomic_store_n(&hb->magic, DP_HEARTBEAT_MAGIC, __ATOMIC_RELEASE);
	dp.hb = hb;
}

static void heartbeat_page_remove(void)
{
	if (dp.hb != NULL)
		munmap(dp.hb, DP_HEARTBEAT_SIZE);
	dp.hb = NULL;
	if (hb_path[0] != '\0')
		unlink(hb_path);
}

/* ---- setup / teardown ---- */

static void list_ports(void)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t pid;
	int n = 0;

	RTE_ETH_FOREACH_DEV(pid)
	{
		if (rte_eth_dev_get_name_by_port(pid, name) == 0) {
			fprintf(stderr, "  port %u: %s\n", pid, name);
			n++;
		}
	}
	if (n == 0)
		fprintf(stderr, "  (no ports: check the --vdev / -a EAL arguments)\n");
}

static int find_ports(void)
{
	const char *names[DP_PORT_COUNT] = {dp.args.nic, dp.args.exception};
	const char *roles[DP_PORT_COUNT] = {"nic", "exception"};
	int ret;

	for (int i = 0; i < DP_PORT_COUNT; i++) {
		ret = dp_port_lookup(&dp.ports[i], roles[i], names[i]);
		if (ret == -ENODEV) {
			dp_errorf("%s port '%s' not found (see the EAL probe errors before)",
				  roles[i], names[i]);
			fprintf(stderr, "agent-dataplane: ports are:\n");
			list_ports();
			return ret;
		}
		if (ret < 0) {
			RTE_LOG(ERR, DP, "%s port %s: %s\n", roles[i], names[i], strerror(-ret));
			return ret;
		}
		RTE_LOG(INFO, DP, "%s port %s: driver %s (%s)%s%s\n", roles[i], names[i],
			dp.ports[i].driver, dp.ports[i].kind,
			dp.ports[i].kernel_ifname[0] ? ", kernel ifname " : "",
			dp.ports[i].kernel_ifname);
	}
	RTE_LOG(INFO, DP, "exception path: %s\n", dp.ports[DP_PORT_EXC].kind);
	return 0;
}

static int create_pool(void)
{
	unsigned int n = dp.args.mbufs;
	/* a per-lcore cache no larger than the pool can feed (n >= 1.5 x cache) */
	unsigned int cache = RTE_MIN(DP_MEMPOOL_CACHE, n * 2 / 3);
	unsigned int need = DP_PORT_COUNT * (DP_RX_DESC_DEFAULT + DP_TX_DESC_DEFAULT) +
			    DP_PORT_COUNT * dp.args.burst + dp.args.burst + 2 * cache;
	int socket = rte_eth_dev_socket_id(dp.ports[DP_PORT_NIC].port_id);

	cache = RTE_MIN(cache, RTE_MEMPOOL_CACHE_MAX_SIZE);
	if (n < need)
		RTE_LOG(WARNING, DP,
			"--mbufs %u is below the ~%u the rings, buffers and caches can hold: "
			"expect rx_nombuf drops\n",
			n, need);
	uint16_t buf = dp_mbuf_buf_size(dp.args.mtu);

	dp.pool = rte_pktmbuf_pool_create("dp_mbufs", n, cache, 0, buf,
					  socket < 0 ? SOCKET_ID_ANY : socket);
	if (dp.pool == NULL) {
		RTE_LOG(ERR, DP, "cannot create a pool of %u mbufs: %s\n", n,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	RTE_LOG(INFO, DP, "mbuf pool: %u mbufs of %u bytes, per-lcore cache %u\n", n, buf, cache);
	return 0;
}

static int launch_fwd_lcore(void)
{
	unsigned int lcore_id = rte_get_next_lcore(-1, 1, 0);
	struct dp_lcore *lc;
	int ret;

	lc = rte_zmalloc_socket("dp_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE,
				(int)rte_lcore_to_socket_id(lcore_id));
	if (lc == NULL)
		return -ENOMEM;
	ret = dp_lcore_init(lc, lcore_id, (uint16_t)dp.args.burst, dp.ports, 0);
	if (ret < 0) {
		dp_lcore_free(lc);
		rte_free(lc);
		return ret;
	}
	lc->fib = dp.fib;
	lc->idle_sleep_max_us = dp.args.idle_sleep_max_us;
	lc->nic_mac = dp.ports[DP_PORT_NIC].mac;
	lc->n_active = dp.args.standby ? 0 : lc->n_rx;
	lc->hb_shm = dp.hb != NULL ? &dp.hb->turns : NULL;
	pthread_mutex_lock(&dp.lock);
	dp.fwd[0] = lc;
	dp.n_fwd = 1;
	pthread_mutex_unlock(&dp.lock);
	ret = rte_eal_remote_launch(dp_lcore_main, lc, lcore_id);
	if (ret < 0) {
		RTE_LOG(ERR, DP, "cannot launch lcore %u: %s\n", lcore_id, strerror(-ret));
		return ret;
	}
	/* "running" only once the loop turns: agentd waits for it. */
	for (int i = 0; i < 1000 && !__atomic_load_n(&lc->running, __ATOMIC_ACQUIRE); i++)
		rte_delay_us_sleep(1000);
	for (unsigned int extra = rte_get_next_lcore(lcore_id, 1, 0); extra < RTE_MAX_LCORE;
	     extra = rte_get_next_lcore(extra, 1, 0))
		RTE_LOG(NOTICE, DP, "lcore %u unused: one forwarding lcore for now\n", extra);
	return 0;
}

static void teardown(void)
{
	for (unsigned int i = 0; i < dp.n_fwd; i++)
		__atomic_store_n(&dp.fwd[i]->quit, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();

	pthread_mutex_lock(&dp.lock);
	dp.ports_up = false;
	struct dp_lcore *fwd[DP_MAX_FWD_LCORES];
	unsigned int n_fwd = dp.n_fwd;
	memcpy(fwd, dp.fwd, sizeof(fwd));
	dp.n_fwd = 0;
	for (int i = 0; i < DP_PORT_COUNT; i++)
		dp_port_close(&dp.ports[i]);
	/* and what else EAL probed: a bond's members (closed or not, the bond
	 * releases them). Left open, a PCI member's interrupt handler (link
	 * state) outlived the memory EAL frees at cleanup: the dataplane
	 * crashed on exit (guest bed, virtio-net PCI members). */
	uint16_t pid;
	RTE_ETH_FOREACH_DEV(pid)
	{
		/* (a stop of a port never started logs a line, which would
		 * push the cause of a failed start out of the error report:
		 * only a started one is refused a close) */
		if (rte_eth_dev_close(pid) == -EINVAL) {
			rte_eth_dev_stop(pid);
			rte_eth_dev_close(pid);
		}
	}
	pthread_mutex_unlock(&dp.lock);

	for (unsigned int i = 0; i < n_fwd; i++) {
		dp_lcore_free(fwd[i]);
		rte_free(fwd[i]);
	}
	rte_mempool_free(dp.pool);
	dp.pool = NULL;
	/* the forwarding lcore is stopped: nothing reads the FIB any more */
	nl_mirror_close(dp.mirror);
	dp.mirror = NULL;
	pthread_mutex_lock(&dp.lock);
	struct fib *fib = dp.fib;
	dp.fib = NULL;
	pthread_mutex_unlock(&dp.lock);
	fib_destroy(fib);
	heartbeat_page_remove();
	ctl_close();
}

/* Split argv at "--": EAL args before, ours after (argv[0] kept for both). */
static int split_args(int argc, char **argv, int *app_argc, char ***app_argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			argv[i] = argv[0];
			*app_argc = argc - i;
			*app_argv = &argv[i];
			return i;
		}
	}
	*app_argc = 1;
	*app_argv = argv;
	return argc;
}

int main(int argc, char **argv)
{
	char err[256], **app_argv;
	int app_argc, eal_argc, ret;
	struct timespec now;
	sigset_t mask;

	eal_argc = split_args(argc, argv, &app_argc, &app_argv);
	if (app_argv == argv) {
		/* no "--": maybe a bare --help */
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				dp_args_usage(stdout, argv[0]);
				return 0;
			}
	}
	ret = dp_args_parse(app_argc, app_argv, &dp.args, err, sizeof(err));
	if (ret == 1) {
		dp_args_usage(stdout, argv[0]);
		return 0;
	}
	if (ret < 0) {
		fprintf(stderr, "agent-dataplane: %s\n", err);
		dp_args_usage(stderr, argv[0]);
		return EXIT_USAGE;
	}

	/* Signals go to the control loop's signalfd only: block them before
	 * EAL creates its threads. A closed telemetry client must not kill us. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (dp.args.error_file[0] != '\0')
		unlink(dp.args.error_file); /* a previous run's */
	if (dp_error_report_init() < 0)
		fprintf(stderr,
			"agent-dataplane: cannot tee the log: failures reach stderr only\n");
	clock_gettime(CLOCK_MONOTONIC, &now);
	dp.start_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;

	ret = rte_eal_init(eal_argc, argv);
	if (ret < 0) {
		dp_errorf("EAL initialisation failed: %s", rte_strerror(rte_errno));
		dp_error_report_write(dp.args.error_file);
		return EXIT_FAILURE;
	}
	set_state(DP_STATE_INIT);
	ret = dp_telemetry_register();
	if (ret < 0)
		RTE_LOG(WARNING, DP, "telemetry commands not registered: %s\n", strerror(-ret));
	RTE_LOG(INFO, DP, "agent-dataplane pid %d, main lcore %u, %u lcores, burst %u\n", getpid(),
		rte_get_main_lcore(), rte_lcore_count(), dp.args.burst);

	int code = EXIT_FAILURE;
	if (rte_get_next_lcore(-1, 1, 0) >= RTE_MAX_LCORE) {
		dp_errorf(
		    "need a worker lcore for forwarding besides the main lcore (e.g. -l 0-1)");
		code = EXIT_USAGE;
		goto out;
	}
	ret = ctl_open();
	if (ret < 0) {
		RTE_LOG(ERR, DP, "control loop: %s\n", strerror(-ret));
		goto out;
	}
	ret = find_ports();
	if (ret < 0) {
		code = ret == -ENODEV ? EXIT_USAGE : EXIT_FAILURE;
		goto out;
	}
	if (dp.args.mtu != 0 && dp_ports_set_mtu(dp.ports, dp.args.mtu) < 0) {
		code = EXIT_USAGE;
		goto out;
	}
	if (create_pool() < 0)
		goto out;
	/* --standby: the NIC stays the kernel's until agentd's hold-down ends */
	ret = dp_ports_setup_mask(dp.ports, dp.pool, 1,
				  dp.args.standby ? 1u << DP_PORT_EXC : (1u << DP_PORT_COUNT) - 1);
	if (ret < 0) {
		RTE_LOG(ERR, DP, "port setup failed: %s\n", strerror(-ret));
		goto out;
	}
	pthread_mutex_lock(&dp.lock);
	dp.ports_up = true;
	pthread_mutex_unlock(&dp.lock);
	heartbeat_page_create();
	ret = setup_fast_path();
	if (ret < 0) {
		RTE_LOG(ERR, DP, "fast path setup failed: %s\n", strerror(-ret));
		goto out;
	}
	if (launch_fwd_lcore() < 0)
		goto out;

	if (dp.args.standby) {
		set_state(DP_STATE_STANDBY);
		RTE_LOG(NOTICE, DP, "standby: %s not started until SIGUSR1\n", dp.args.nic);
	} else {
		set_state(DP_STATE_RUNNING);
		RTE_LOG(NOTICE, DP, "running: %s <-> %s on lcore %u\n", dp.args.nic,
			dp.args.exception, dp.fwd[0]->lcore_id);
	}
	ctl_run();
	code = ctl.failed ? EXIT_FAILURE : EXIT_SUCCESS;
out:
	set_state(DP_STATE_STOPPING);
	teardown();
	RTE_LOG(NOTICE, DP, "stopped (exit %d)\n", code);
	if (code != EXIT_SUCCESS)
		dp_error_report_write(dp.args.error_file);
	rte_eal_cleanup();
	return code;
}
