/* SPDX-License-Identifier: BSD-3-Clause */
/* Start, supervise and query agent-dataplane.
 *
 * The dataplane is a child process (posix_spawn) watched through a pidfd, so
 * agentd learns of its death at once from epoll. It runs in its own process
 * group so that a ^C meant for agentd reaches it only through agentd's
 * orderly stop, and it survives agentd: a restarted agentd adopts it (found
 * through its telemetry socket) instead of interrupting traffic. */
#define LOG_TYPE "dataplane"
#include <agent_log.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <poll.h>
#include <spawn.h>
#include <sys/timerfd.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <dp_telemetry.h>
#include <kernel_side.h>

#include "agentd.h"

extern char **environ;

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static bool is_pci_address(const char *dev)
{
	unsigned d, b, s, f;
	char c;
	/* "0000:03:00.0" or "03:00.0", optionally followed by ",devargs" */
	if (sscanf(dev, "%x:%x:%x.%u%c", &d, &b, &s, &f, &c) >= 4)
		return true;
	return sscanf(dev, "%x:%x.%u%c", &b, &s, &f, &c) >= 3 && strchr(dev, '.') != NULL;
}

/* DPDK's port name for a device string: what precedes the first comma;
 * PCI addresses in their full domain form. */
static void port_name(const char *dev, char *out, size_t len)
{
	size_t n = strcspn(dev, ",");
	unsigned b, s, f;
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%.*s", (int)(n < sizeof(tmp) ? n : sizeof(tmp) - 1), dev);
	if (is_pci_address(dev) && sscanf(tmp, "%x:%x.%u", &b, &s, &f) == 3 &&
	    strchr(tmp, ':') == strrchr(tmp, ':'))
		snprintf(out, len, "0000:%s", tmp);
	else
		snprintf(out, len, "%s", tmp);
}

/* The exception port type to run, and why (agentctl status says it). */
static void resolve_exception_type(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	const char *t, *why;

	switch (cfg->exception.type) {
	case EXC_TAP:
		t = "tap", why = "configured";
		break;
	case EXC_VIRTIO_USER:
		t = "virtio-user", why = "configured";
		break;
	case EXC_AF_XDP:
		t = "af_xdp", why = "configured";
		break;
	case EXC_AUTO:
	default:
		/* virtio-user (vhost-net kernel thread, batched rings, offloads)
		 * first; then af_xdp on a veth pair, which moved 3.4x the TAP
		 * PMD's packet rate here (docs/performance.md); the TAP PMD last. */
		if (access("/dev/vhost-net", R_OK | W_OK) == 0)
			t = "virtio-user", why = "auto: /dev/vhost-net is there";
		else
			t = "af_xdp", why = "auto: no /dev/vhost-net, af_xdp on a veth pair";
		break;
	}
	snprintf(a->dp.exc_type, sizeof(a->dp.exc_type), "%s", t);
	snprintf(a->dp.exc_why, sizeof(a->dp.exc_why), "%s", why);
}

/* af_xdp exception port: the kernel keeps dp0 (exception.ifname), DPDK
 * drives its veth peer, named after it. */
static void exception_peer(const struct agent_config *cfg, char peer[IFNAMSIZ])
{
	snprintf(peer, IFNAMSIZ, "%.*s-dp", IFNAMSIZ - 4, cfg->exception.ifname);
}

/* The veth pair of an af_xdp exception port, made before the dataplane
 * starts: dp0 is born with the NIC's MAC (as the TAP PMD's mac= does) and
 * with tx checksum offload off, so that what the kernel sends out of it
 * reaches DPDK complete (veth leaves checksums to the receiver otherwise). */
static int exception_veth_create(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	char peer[IFNAMSIZ];
	int ret;

	exception_peer(cfg, peer);
	ret = ks_veth_ensure(a->nl, cfg->exception.ifname, peer,
			     a->nic_mac_known ? a->nic_mac : NULL, cfg->nic.mtu);
	if (ret == 0)
		ret = ks_link_tx_csum_off(cfg->exception.ifname);
	return ret;
}

/* Once the dataplane is gone its veth goes too, as a TAP PMD's netdev does
 * with its process: the kernel drops dp0's addresses and routes, and
 * nothing is sent into a peer no one reads. */
static void exception_teardown(struct agentd *a)
{
	if (strcmp(a->dp.exc_type, "af_xdp") == 0)
		ks_link_delete(a->nl, a->cfg.exception.ifname);
}

/* After a dataplane died, its veth goes on a loop turn of its own once the
 * failover is over, not before: deleting a veth waits for the kernel's RCU
 * grace period (40 ms here), which the kernel path should not wait for, nor
 * a client. A start does what is pending. */
static int teardown_fd = -1;

static void teardown_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	exception_teardown(a);
	loop_del_fd(a, fd);
	close(fd);
	teardown_fd = -1;
}

static void exception_teardown_later(struct agentd *a)
{
	struct itimerspec its = {.it_value.tv_nsec = 1};

	if (teardown_fd >= 0)
		return;
	teardown_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (teardown_fd < 0 || loop_add_fd(a, teardown_fd, teardown_cb, NULL) < 0) {
		if (teardown_fd >= 0)
			close(teardown_fd);
		teardown_fd = -1;
		exception_teardown(a); /* now, then */
		return;
	}
	timerfd_settime(teardown_fd, 0, &its, NULL);
}

static void exception_teardown_pending(struct agentd *a)
{
	if (teardown_fd < 0)
		return;
	exception_teardown(a);
	loop_del_fd(a, teardown_fd);
	close(teardown_fd);
	teardown_fd = -1;
}

/* Where the dataplane writes why it failed (--error-file): beside the
 * control socket's default directory, one file per dataplane (file_prefix). */
#define ERROR_DIR "/run/agentd"
static void error_path(const struct agent_config *cfg, char *out, size_t len)
{
	snprintf(out, len, ERROR_DIR "/dataplane-%s.error", cfg->dataplane.file_prefix);
}

/* The dataplane's own account of its failure, appended to WHY: the summary
 * line and, when it names another line, the first logged line that reads
 * like a cause (the EAL's probe error behind "port not found"). */
static void error_read(struct agentd *a, char *why, size_t len)
{
	char path[PATH_MAX], line[256], summary[256] = "", cause[256] = "";
	FILE *f;

	error_path(&a->cfg, path, sizeof(path));
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		const char *l = line + strspn(line, " ");
		if (summary[0] == '\0')
			snprintf(summary, sizeof(summary), "%s", l);
		else if (cause[0] == '\0' && strcmp(l, summary) != 0 &&
			 (strstr(l, "ail") || strstr(l, "rror") || strstr(l, "annot")))
			snprintf(cause, sizeof(cause), "%s", l);
	}
	fclose(f);
	unlink(path);
	if (summary[0] != '\0')
		snprintf(why + strlen(why), len - strlen(why), ": %s%s%s", summary,
			 cause[0] ? "; " : "", cause);
}

static void telemetry_path(const struct agent_config *cfg, char *out, size_t len)
{
	/* DPDK's runtime dir for root; see eal_get_runtime_dir(). */
	snprintf(out, len, "/var/run/dpdk/%s/dpdk_telemetry.v2", cfg->dataplane.file_prefix);
}

static void resolve_binary(const char *bin, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;

	if (strchr(bin, '/') != NULL) {
		snprintf(out, len, "%s", bin);
		return;
	}
	/* A bare name: beside agentd first (build tree, /usr/bin), then $PATH. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(out, len, "%s/%s", self, bin);
			if (access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, len, "%s", bin);
}

#define MAX_ARGS (AGENT_CFG_MAX_EAL_ARGS + 80) /* ours: at most 76 (a bond of 4) */

static int build_argv(struct agentd *a, char **argv, char storage[][PATH_MAX + 64])
{
	const struct agent_config *cfg = &a->cfg;
	int n = 0, s = 0;

#define ARG(...)                                                                                   \
	do {                                                                                       \
		snprintf(storage[s], sizeof(storage[s]), __VA_ARGS__);                             \
		argv[n++] = storage[s++];                                                          \
	} while (0)

	resolve_binary(cfg->dataplane.binary, storage[s], sizeof(storage[s]));
	argv[n++] = storage[s++];
	ARG("-l");
	ARG("%s", cfg->dataplane.lcores);
	ARG("--file-prefix");
	ARG("%s", cfg->dataplane.file_prefix);
	bool huge = true;
	for (int i = 0; i < cfg->dataplane.n_eal_args; i++) {
		ARG("%s", cfg->dataplane.eal_args[i]);
		if (strncmp(cfg->dataplane.eal_args[i], "--no-huge", 9) == 0 ||
		    strncmp(cfg->dataplane.eal_args[i], "--in-memory", 11) == 0 ||
		    strncmp(cfg->dataplane.eal_args[i], "--huge-unlink", 13) == 0)
			huge = false;
	}
	/* Hugepage files unlinked once mapped: the pages go back to the system
	 * when the dataplane exits, however it exits (a killed one included),
	 * instead of staying allocated in files under /dev/hugepages until
	 * the next start. Nothing here uses DPDK's secondary processes. */
	if (huge)
		ARG("--huge-unlink");
	if (cfg->nic.n_members == 0) {
		ARG(is_pci_address(cfg->nic.device) ? "-a" : "--vdev");
		ARG("%s", cfg->nic.device);
		port_name(cfg->nic.device, a->dp.nic_port, sizeof(a->dp.nic_port));
	} else {
		/* a bonded uplink: the members, then DPDK's bonding PMD over them
		 * (22.11 devargs "slave="), which is the NIC port */
		char bond[AGENT_CFG_STR * AGENT_CFG_MAX_MEMBERS], member[64];
		size_t used = 0;

		used += (size_t)snprintf(bond, sizeof(bond), "%s,mode=%d", DP_BOND_PORT,
					 cfg->nic.bond_mode == BOND_8023AD ? 4 : 1);
		for (int i = 0; i < cfg->nic.n_members; i++) {
			const char *dev = cfg->nic.members[i].device;

			ARG(is_pci_address(dev) ? "-a" : "--vdev");
			ARG("%s", dev);
			port_name(dev, member, sizeof(member));
			if (used < sizeof(bond))
				used += (size_t)snprintf(bond + used, sizeof(bond) - used,
							 ",slave=%s", member);
			/* active-backup: the first member is the one used while up */
			if (i == 0 && cfg->nic.bond_mode == BOND_ACTIVE_BACKUP &&
			    used < sizeof(bond))
				used += (size_t)snprintf(bond + used, sizeof(bond) - used,
							 ",primary=%s", member);
		}
		/* LACP: flows spread by addresses and ports, as the kernel bond's
		 * layer3+4 on the kernel path */
		if (cfg->nic.bond_mode == BOND_8023AD && used < sizeof(bond))
			snprintf(bond + used, sizeof(bond) - used, ",xmit_policy=l34");
		ARG("--vdev");
		ARG("%s", bond);
		snprintf(a->dp.nic_port, sizeof(a->dp.nic_port), "%s", DP_BOND_PORT);
	}
	ARG("--vdev");
	if (strcmp(a->dp.exc_type, "virtio-user") == 0) {
		/* with the NIC's MAC, as the TAP port below (else a random one) */
		char mac[32] = "";
		if (a->nic_mac_known)
			snprintf(mac, sizeof(mac), ",mac=%02x:%02x:%02x:%02x:%02x:%02x",
				 a->nic_mac[0], a->nic_mac[1], a->nic_mac[2], a->nic_mac[3],
				 a->nic_mac[4], a->nic_mac[5]);
		ARG("virtio_user0,path=/dev/vhost-net,iface=%s,queues=%d,queue_size=%d%s",
		    cfg->exception.ifname, cfg->exception.queues, cfg->exception.queue_size, mac);
		snprintf(a->dp.exc_port, sizeof(a->dp.exc_port), "virtio_user0");
	} else if (strcmp(a->dp.exc_type, "af_xdp") == 0) {
		char peer[IFNAMSIZ];
		exception_peer(cfg, peer);
		ARG("net_af_xdp_exc,iface=%s,start_queue=0,queue_count=1", peer);
		snprintf(a->dp.exc_port, sizeof(a->dp.exc_port), "net_af_xdp_exc");
	} else {
		/* Born with the NIC's MAC: frames the new dataplane hands to the
		 * kernel are accepted from its first packet on. */
		if (a->nic_mac_known)
			ARG("net_tap0,iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x",
			    cfg->exception.ifname, a->nic_mac[0], a->nic_mac[1], a->nic_mac[2],
			    a->nic_mac[3], a->nic_mac[4], a->nic_mac[5]);
		else
			ARG("net_tap0,iface=%s", cfg->exception.ifname);
		snprintf(a->dp.exc_port, sizeof(a->dp.exc_port), "net_tap0");
	}
	ARG("--");
	ARG("--nic");
	ARG("%s", a->dp.nic_port);
	ARG("--exception");
	ARG("%s", a->dp.exc_port);
	ARG("--burst");
	ARG("%d", cfg->dataplane.burst);
	ARG("--idle-sleep-max-us");
	ARG("%d", cfg->dataplane.idle_sleep_max_us);
	ARG("--error-file");
	error_path(cfg, storage[s], sizeof(storage[s]));
	argv[n++] = storage[s++];
	ARG("--mbufs");
	ARG("%d", cfg->dataplane.mbufs);
	/* the underlay's MTU on both ports, as on dp0 and the NIC netdev */
	ARG("--mtu");
	ARG("%d", cfg->nic.mtu);
	if (a->dp.standby)
		ARG("--standby");
	/* fast path: the FIB mirror needs to know which routes lead where */
	ARG("--bridge");
	ARG("%s", cfg->bridge.name);
	for (int i = 0; i < cfg->n_bridges; i++) {
		ARG("--bridge");
		ARG("%s", cfg->bridges[i].name);
	}
	ARG("--exc-ifname");
	ARG("%s", cfg->exception.ifname);
	ARG("--fib-rules");
	ARG("%d", cfg->fib.lpm_rules);
	ARG("--fib6-rules");
	ARG("%d", cfg->fib.lpm6_rules);
	ARG("--neighbours");
	ARG("%d", cfg->fib.neighbours);
	if (cfg->fib.tbl8s) {
		ARG("--fib-tbl8s");
		ARG("%d", cfg->fib.tbl8s);
	}
	if (cfg->fib.tbl8s6) {
		ARG("--fib6-tbl8s");
		ARG("%d", cfg->fib.tbl8s6);
	}
	if (cfg->fib.netlink_rcvbuf) {
		ARG("--netlink-rcvbuf");
		ARG("%d", cfg->fib.netlink_rcvbuf);
	}
	for (int i = 0; i < cfg->fib.n_tables; i++) {
		ARG("--table");
		ARG("%u", cfg->fib.tables[i]);
	}
#undef ARG
	argv[n] = NULL;
	return n;
}

static int stop_status(struct agentd *a, const siginfo_t *si, bool killed, bool deliberate);

static void dataplane_exited(struct agentd *a, int fd, uint32_t events, void *arg)
{
	siginfo_t si = {0};
	char why[512];

	if (waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0) {
		return; /* our child, still running: not this pidfd's event */
	} else if (si.si_pid == 0) {
		/* Adopted (not our child, ECHILD): a pidfd is readable once the
		 * process is gone; make sure of it before failing over. */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 0) != 1)
			return;
		snprintf(why, sizeof(why), "dataplane pid %d exited", a->dp.pid);
	} else if (si.si_code == CLD_EXITED) {
		snprintf(why, sizeof(why), "dataplane pid %d exited with status %d", a->dp.pid,
			 si.si_status);
	} else {
		snprintf(why, sizeof(why), "dataplane pid %d killed by signal %d (%s)", a->dp.pid,
			 si.si_status, strsignal(si.si_status));
	}
	if (a->dp.killed) {
		/* killed on purpose: its end is no news (and no error file) */
		stop_status(a, &si, true, true);
	} else {
		error_read(a, why, sizeof(why));
	}
	loop_del_fd(a, fd);
	close(fd);
	a->dp.pidfd = -1;
	a->dp.pid = 0;
	dataplane_remove_runtime_dir(a);
	if (a->mode == MODE_STOPPING) {
		a->dp.killed = false;
		exception_teardown(a);
		return;
	}
	/* (its veth goes once the failover has moved the underlay off it:
	 * dataplane_exception_release()) */
	if (a->dp.killed) {
		/* a failover is waiting for it to be gone (fallback.c) */
		a->dp.killed = false;
		fallback_reaped(a);
		return;
	}
	if (a->dp.handover) {
		/* stopped on purpose: the kernel has the underlay already */
		exception_teardown_later(a);
		a->dp.handover = false;
		LOG(INFO, "%s (handover)", why);
		fallback_handover_done(a);
		return;
	}
	/* The NIC is no longer served: the kernel takes over (fallback.c). */
	fallback_failover(a, why);
}

static int watch_pid(struct agentd *a, pid_t pid)
{
	int fd = pidfd_open(pid);

	if (fd < 0)
		return -errno;
	int ret;

	a->dp.pid = pid;
	a->dp.pidfd = fd;
	a->dp.killed = false;
	clock_gettime(CLOCK_MONOTONIC, &a->dp.started);
	a->dp.started_wall = time(NULL);
	ret = loop_add_fd(a, fd, dataplane_exited, NULL);
	if (ret < 0) {
		/* not watched: the caller kills and reaps it; nothing here may
		 * point at it afterwards */
		close(fd);
		a->dp.pid = 0;
		a->dp.pidfd = -1;
	}
	return ret;
}

/* A dataplane left running by a previous agentd (killed, upgraded): adopt it
 * rather than interrupt traffic. Returns 1 if adopted. */
static int dataplane_adopt(struct agentd *a)
{
	json_t *health = NULL;
	json_int_t pid;
	int ret;

	if (dataplane_query(a, DP_TEL_HEALTH, &health) < 0)
		return 0;
	pid = json_integer_value(json_object_get(health, "pid"));
	json_decref(health);
	if (pid <= 0 || kill(pid, 0) < 0)
		return 0;
	ret = watch_pid(a, pid);
	if (ret < 0)
		return ret;
	LOG(NOTICE, "adopted running dataplane pid %lld", (long long)pid);
	return 1;
}

/* Start ARGV as a process of its own group, signals unblocked (agentd
 * blocks them for its signalfd), with libxdp's environment. posix_spawn:
 * glibc spawns with CLONE_VM|CLONE_VFORK, so nothing of agentd's address
 * space is copied (a fork of an ASan build costs tens of ms in the loop). */
static int spawn(struct agentd *a, char *const argv[], pid_t *pid)
{
	/* libxdp (af_xdp PMD) pins under a bpffs; /sys/fs/bpf may be hidden
	 * (ip netns exec remounts /sys), so point it at ours. libxdp's
	 * multi-prog dispatcher is refused on some kernels; the af_xdp PMD
	 * needs only its single program. (Unless the operator set them.) */
	static char bpffs[PATH_MAX + 16];
	static char skip[] = "LIBXDP_SKIP_DISPATCHER=1";
	posix_spawnattr_t attr;
	size_t n = 0;
	char **envp;
	sigset_t none;
	int ret;

	while (environ[n] != NULL)
		n++;
	envp = calloc(n + 3, sizeof(*envp));
	if (envp == NULL)
		return -ENOMEM;
	memcpy(envp, environ, n * sizeof(*envp));
	snprintf(bpffs, sizeof(bpffs), "LIBXDP_BPFFS=%s", a->cfg.bpf.bpffs);
	if (getenv("LIBXDP_BPFFS") == NULL)
		envp[n++] = bpffs;
	if (getenv("LIBXDP_SKIP_DISPATCHER") == NULL)
		envp[n++] = skip;
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setpgroup(&attr, 0);
	ret = posix_spawn(pid, argv[0], NULL, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	free(envp);
	return -ret;
}

int dataplane_start(struct agentd *a)
{
	static char storage[MAX_ARGS][PATH_MAX + 64];
	char *argv[MAX_ARGS + 1];
	char cmdline[4096] = "";
	int argc, ret;
	pid_t pid;

	exception_teardown_pending(a); /* the last dataplane's veth, first */
	resolve_exception_type(a);
	telemetry_path(&a->cfg, a->dp.telemetry_path, sizeof(a->dp.telemetry_path));
	argc = build_argv(a, argv, storage);

	ret = dataplane_adopt(a);
	if (ret > 0)
		reload_dataplane_started(a); /* (its options are not known: the file's) */
	if (ret != 0)
		return ret < 0 ? ret : 0;
	/* Not adopted: a vfio-pci NIC must be bound to vfio-pci before EAL
	 * probes it (never while a running dataplane holds it). */
	if (!a->dp.standby) {
		ret = nic_to_dpdk(a);
		if (ret < 0)
			return ret;
	}
	/* A NIC that keeps its netdev under DPDK (af_xdp, a bifurcated driver)
	 * receives through it: at nic.mtu, as the DPDK port (--mtu), or the
	 * kernel drops the larger frames before DPDK sees them. */
	if (a->cfg.nic.mtu > 0 && ks_link_index(a->nl, a->cfg.nic.kernel_netdev) > 0 &&
	    (ret = ks_link_set_mtu(a->nl, a->cfg.nic.kernel_netdev, a->cfg.nic.mtu)) < 0)
		return ret;
	mkdir(ERROR_DIR, 0755); /* (the dataplane's --error-file goes there) */
	if (strcmp(a->dp.exc_type, "af_xdp") == 0 && (ret = exception_veth_create(a)) < 0) {
		if (a->cfg.exception.type != EXC_AUTO)
			return ret;
		/* auto: the TAP PMD needs nothing from the kernel but tun */
		snprintf(a->dp.exc_type, sizeof(a->dp.exc_type), "tap");
		snprintf(a->dp.exc_why, sizeof(a->dp.exc_why),
			 "auto: no /dev/vhost-net, no veth pair (%s): TAP PMD", strerror(-ret));
		LOG(WARNING, "exception port: %s", a->dp.exc_why);
		argc = build_argv(a, argv, storage);
	}

	for (int i = 0, off = 0; i < argc && off < (int)sizeof(cmdline) - 1; i++)
		off += snprintf(cmdline + off, sizeof(cmdline) - off, "%s ", argv[i]);
	LOG(INFO, "exception port: %s (%s)", a->dp.exc_type, a->dp.exc_why);
	LOG(INFO, "starting %s", cmdline);
	reload_dataplane_started(a);

	ret = spawn(a, argv, &pid);
	if (ret < 0) {
		LOG(ERR, "cannot execute %s: %s", argv[0], strerror(-ret));
		return ret;
	}
	ret = watch_pid(a, pid);
	if (ret < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return ret;
	}
	return 0;
}

/* How a dataplane we stopped ended, logged: 0 for a clean exit (status 0),
 * 1 otherwise (a non-zero status — a sanitizer's report ends with one —, a
 * signal, or the SIGKILL it needed). KILLED: it got a SIGKILL; DELIBERATE:
 * on purpose (a hung dataplane, timeout 0), which is not worth an error. */
static int stop_status(struct agentd *a, const siginfo_t *si, bool killed, bool deliberate)
{
	int level = deliberate ? AGENT_LOG_NOTICE : AGENT_LOG_ERR;

	if (si->si_pid == 0) {
		/* adopted, not our child: gone, with an exit status we cannot read */
		if (!killed) {
			LOG(INFO, "dataplane pid %d stopped (adopted: exit status unknown)",
			    a->dp.pid);
			return 0;
		}
		agent_log(level, LOG_TYPE, "dataplane pid %d killed by SIGKILL (adopted)",
			  a->dp.pid);
		return 1;
	}
	if (si->si_code == CLD_EXITED && si->si_status == 0) {
		LOG(INFO, "dataplane pid %d stopped, exit status 0", a->dp.pid);
		return 0;
	}
	if (si->si_code == CLD_EXITED)
		agent_log(level, LOG_TYPE, "dataplane pid %d stopped with exit status %d",
			  a->dp.pid, si->si_status);
	else
		agent_log(level, LOG_TYPE, "dataplane pid %d stopped by signal %d (%s)", a->dp.pid,
			  si->si_status, strsignal(si->si_status));
	return 1;
}

int dataplane_stop(struct agentd *a, int timeout_ms)
{
	struct timespec ts = {.tv_nsec = 10 * 1000000};
	siginfo_t si = {0};
	int ret;

	if (timeout_ms > 0)
		exception_teardown_pending(a); /* agentd stops: nothing left for later */
	if (a->dp.pid == 0)
		return 0;
	LOG(INFO, "stopping dataplane pid %d", a->dp.pid);
	kill(a->dp.pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PIDFD, a->dp.pidfd, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD) {
			/* adopted, not our child: poll for its disappearance */
			if (kill(a->dp.pid, 0) < 0)
				goto gone;
		} else if (si.si_pid != 0) {
			goto gone;
		}
		nanosleep(&ts, NULL);
	}
	if (timeout_ms > 0)
		LOG(WARNING, "dataplane pid %d did not stop in %d ms, killing it", a->dp.pid,
		    timeout_ms);
	kill(a->dp.pid, SIGKILL);
	/* our child: reap it; adopted: the pidfd turns readable once it is gone */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, a->dp.pidfd, &si, WEXITED) < 0 && errno == ECHILD) {
		struct pollfd pfd = {.fd = a->dp.pidfd, .events = POLLIN};
		if (poll(&pfd, 1, 5000) <= 0)
			LOG(WARNING, "dataplane pid %d still there 5 s after SIGKILL", a->dp.pid);
	}
	ret = stop_status(a, &si, true, timeout_ms == 0 || a->dp.killed);
	goto out;
gone:
	ret = stop_status(a, &si, a->dp.killed, a->dp.killed);
out:
	if (a->dp.killed)
		ret = 0; /* killed by us as hung: what agentd stops now is nothing */
	a->dp.killed = false;
	loop_del_fd(a, a->dp.pidfd);
	close(a->dp.pidfd);
	a->dp.pidfd = -1;
	a->dp.pid = 0;
	dataplane_remove_runtime_dir(a);
	if (timeout_ms == 0)
		exception_teardown_later(a); /* a kill in a failover: the kernel first */
	else
		exception_teardown(a);
	return ret;
}

void dataplane_kill(struct agentd *a)
{
	if (a->dp.pid == 0)
		return;
	kill(a->dp.pid, SIGKILL);
	a->dp.killed = true;
}

void dataplane_forget(struct agentd *a)
{
	if (a->dp.pid == 0)
		return;
	LOG(WARNING, "dataplane pid %d still there 5 s after SIGKILL: no longer watched",
	    a->dp.pid);
	loop_del_fd(a, a->dp.pidfd);
	close(a->dp.pidfd);
	a->dp.pidfd = -1;
	a->dp.pid = 0;
	a->dp.killed = false;
	dataplane_remove_runtime_dir(a);
}

void dataplane_exception_release(struct agentd *a)
{
	if (a->dp.pid == 0)
		exception_teardown_later(a);
}

/* DPDK leaves its runtime directory (config, fbarrays, sockets, our
 * heartbeat page) behind, and a killed dataplane cannot clean anything: once
 * the process is gone, agentd removes it. */
void dataplane_remove_runtime_dir(struct agentd *a)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d;

	if (a->dp.pid != 0)
		return;
	snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", a->cfg.dataplane.file_prefix);
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	if (rmdir(dir) < 0)
		LOG(WARNING, "cannot remove %s: %s", dir, strerror(errno));
}

/* DPDK telemetry v2: connect, read the greeting, send the command, read one
 * JSON reply {"<cmd>": value}. Short timeouts: this runs in the event loop. */
int dataplane_query(struct agentd *a, const char *cmd, json_t **out)
{
	return dataplane_query_timeout(a, cmd, 300, out);
}

int dataplane_telemetry_addr(struct agentd *a, struct sockaddr_un *sun)
{
	if (a->dp.telemetry_path[0] == '\0')
		telemetry_path(&a->cfg, a->dp.telemetry_path, sizeof(a->dp.telemetry_path));
	if (strlen(a->dp.telemetry_path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", a->dp.telemetry_path);
	return 0;
}

int dataplane_query_timeout(struct agentd *a, const char *cmd, int timeout_ms, json_t **out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	static char buf[256 * 1024];
	json_t *root, *val;
	json_error_t jerr;
	ssize_t n;
	int fd, ret;

	*out = NULL;
	ret = dataplane_telemetry_addr(a, &sun);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		goto out;
	}
	if (recv(fd, buf, sizeof(buf), 0) <= 0 || send(fd, cmd, strlen(cmd), 0) < 0) {
		ret = errno ? -errno : -EIO;
		goto out;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		ret = n == 0 ? -ECONNRESET : -errno;
		goto out;
	}
	buf[n] = '\0';
	root = json_loads(buf, 0, &jerr);
	if (root == NULL) {
		LOG(WARNING, "telemetry %s: bad JSON: %s", cmd, jerr.text);
		ret = -EBADMSG;
		goto out;
	}
	/* the reply is keyed by the command without its parameters */
	val = json_object_getn(root, cmd, strcspn(cmd, ","));
	if (val == NULL || json_is_null(val)) {
		json_decref(root);
		ret = -ENOENT;
		goto out;
	}
	*out = json_incref(val);
	json_decref(root);
	ret = 0;
out:
	close(fd);
	return ret;
}
