/* SPDX-License-Identifier: BSD-3-Clause */
/* agent-dataplane: state shared by its modules (see main.c for the process
 * structure). One global `struct dataplane dp`; the forwarding lcore touches
 * only its own `struct dp_lcore`. */
#pragma once

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mempool.h>

struct fib;
struct dp_heartbeat;

/* Logging: each .c file registers its own log type ("agent.dp",
 * "agent.dp.port", "agent.dp.fwd", "agent.dp.telemetry") and uses RTE_LOG
 * through a RTE_LOGTYPE_<NAME> alias of it. */

#define DP_MAX_BURST	 256
#define DP_DEFAULT_BURST 32
#define DP_DEFAULT_MBUFS 8191
#define DP_MIN_MBUFS	 1023
#define DP_MAX_MBUFS	 (1u << 24)
/* 2048: with 1024, af_xdp on a veth dropped at the XDP socket under TCP
 * bursts (lab: ~30k retransmits in 10 s, none with 2048). */
#define DP_RX_DESC_DEFAULT 2048
#define DP_TX_DESC_DEFAULT 1024
#define DP_MEMPOOL_CACHE   256
#define DP_TX_DRAIN_US	   100
/* Adaptive polling: after DP_IDLE_SPIN_US without a packet on any queue the
 * forwarding lcore sleeps, DP_IDLE_SLEEP_MIN_US first and twice as long each
 * empty turn after, up to --idle-sleep-max-us (0: never sleep). */
#define DP_IDLE_SPIN_US		     50
#define DP_IDLE_SLEEP_MIN_US	     8
#define DP_DEFAULT_IDLE_SLEEP_MAX_US 500
#define DP_MAX_IDLE_SLEEP_US	     10000

/* The two ports every dataplane has. Issue 3 keeps these roles: the fast path
 * rewrites packets but still moves them between the NIC and the exception
 * port (see process.h). */
enum dp_port_role {
	DP_PORT_NIC = 0,
	DP_PORT_EXC = 1,
	DP_PORT_COUNT,
};

/* ---- command line (args.c) ---- */

#define DP_MAX_TABLES  8
#define DP_MAX_BRIDGES 8 /* --bridge, repeated */
/* A full Internet table (~1M IPv4, ~200k IPv6 routes) fits the defaults;
 * what they cost is in docs/performance.md ("FIB memory"). */
#define DP_DEFAULT_FIB_RULES  1048576
#define DP_DEFAULT_FIB6_RULES 262144
#define DP_DEFAULT_NEIGHBOURS 4096

struct dp_args {
	char nic[RTE_ETH_NAME_MAX_LEN];
	char exception[RTE_ETH_NAME_MAX_LEN];
	unsigned int burst;
	unsigned int mbufs;
	/* fast path: enabled by --bridge */
	char bridge[IF_NAMESIZE]; /* the first --bridge */
	char more_bridges[DP_MAX_BRIDGES - 1][IF_NAMESIZE];
	unsigned int n_more_bridges;
	char exc_ifname[IF_NAMESIZE];
	unsigned int tables[DP_MAX_TABLES];
	unsigned int n_tables;
	unsigned int fib_rules, fib6_rules, neighbours;
	unsigned int fib_tbl8s, fib6_tbl8s; /* 0: derived from the rules */
	unsigned int netlink_rcvbuf;	    /* bytes, 0: the mirror's default */
	unsigned int idle_sleep_max_us;	    /* adaptive polling; 0: busy polling */
	unsigned int mtu;		    /* both ports' MTU (nic.mtu); 0: their own */
	bool standby;			    /* leave the NIC alone until SIGUSR1 */
	char error_file[256];		    /* where the reason of a failure goes, "" = nowhere */
};

/* ---- error_report.c: the reason of a failure, for agentd ---- */

/* Tee DPDK's log (stderr) and keep its last lines. Before rte_eal_init. */
int dp_error_report_init(void);
/* A failure, to stderr; the first one becomes the report's summary. */
void dp_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write the summary and the last lines logged to PATH ("": nothing). */
void dp_error_report_write(const char *path);

/* Parse the application part of the command line (what follows "--"):
 * argv[0] is a program name, as for getopt. Returns 0, 1 when --help was
 * asked (usage printed), or -EINVAL with the reason written to err. */
int dp_args_parse(int argc, char **argv, struct dp_args *args, char *err, size_t err_len);
void dp_args_usage(FILE *out, const char *prog);

/* ---- ports (port.c) ---- */

struct dp_port {
	const char *role;		 /* "nic" or "exception" */
	char name[RTE_ETH_NAME_MAX_LEN]; /* DPDK port name */
	uint16_t port_id;
	bool found; /* port_id is valid and ours to close */
	bool configured;
	bool started;
	char driver[64];		 /* e.g. "net_af_xdp" */
	const char *kind;		 /* "af_xdp", "tap", "virtio-user", "pci", ... */
	char kernel_ifname[IF_NAMESIZE]; /* netdev behind the port, "" if none/unknown */
	struct rte_ether_addr mac;
	uint16_t mtu;
	uint16_t nb_rxd, nb_txd;
	uint64_t rx_offloads, tx_offloads;
};

/* ---- a bonded uplink (bond.c) ---- */

/* The bonding PMD's mode of PORT (BONDING_MODE_*), -1 if not a bond. */
int dp_bond_mode(const struct dp_port *port);
struct dp_bond_member {
	uint16_t port_id;
	char name[RTE_ETH_NAME_MAX_LEN];
	bool link_up;
	bool in_use; /* 802.3ad: distributing; active-backup: the active one */
};
/* The members of bond PORT (at most MAX), -1 if not a bond. */
int dp_bond_members(const struct dp_port *port, struct dp_bond_member *m, int max);
#define DP_BOND_MAX_MEMBERS 8

/* Find the port called `name`; fills id, driver, kind, MAC, kernel ifname.
 * -ENODEV if no such port. */
int dp_port_lookup(struct dp_port *port, const char *role, const char *name);
/* Both ports at MTU (--mtu), checked against what each driver takes: an
 * error (reported) rather than frames dropped. Before dp_ports_setup. */
int dp_ports_set_mtu(struct dp_port ports[DP_PORT_COUNT], unsigned int mtu);
/* The mbuf buffer size (headroom + data room) for MTU (0: the default). */
uint16_t dp_mbuf_buf_size(unsigned int mtu);

/* Choose the offloads of `self` given what it and the port it exchanges
 * packets with can do. Pure function: see the policy in port.c. */
void dp_port_choose_offloads(const struct rte_eth_dev_info *self,
			     const struct rte_eth_dev_info *peer, enum dp_port_role role,
			     bool self_rx_oversize, bool peer_rx_oversize, uint64_t *rx_offloads,
			     uint64_t *tx_offloads);
/* Can this exception port take the kernel's super-packets and partial
 * checksums and give them back (rx LRO + checksums, tx TSO + checksums)? */
bool dp_port_exc_gso(const struct rte_eth_dev_info *exc);
/* "TCP_TSO,MULTI_SEGS" (DPDK's names), or "none" */
void dp_format_offloads(uint64_t bits, bool rx, char *out, size_t len);

/* Configure `n_queues` rx and tx queues on each port, start both, promiscuous
 * on. Ports are set up as a pair because the offloads of one depend on the other. */
/* Only the ports whose bit (1 << role) is in MASK; offloads still account
 * for both. */
int dp_ports_setup_mask(struct dp_port ports[DP_PORT_COUNT], struct rte_mempool *pool,
			uint16_t n_queues, unsigned int mask);
int dp_ports_setup(struct dp_port ports[DP_PORT_COUNT], struct rte_mempool *pool,
		   uint16_t n_queues);
void dp_port_close(struct dp_port *port);

/* The kernel netdev name in a devargs string "iface=dp0,queues=1" (the part
 * after the device name), or "" if there is none. */
void dp_devargs_iface(const char *devargs, char *ifname, size_t len);
/* Short kind of a port from its driver name ("net_tap" -> "tap"). */
const char *dp_driver_kind(const char *driver);
/* The kernel's view of a port's netdev (in this process's netns): its MAC
 * (which agentd may change, e.g. dp0 takes the NIC's) and the drops that
 * happen before DPDK sees a packet (tap queue full, XDP socket ring full). */
struct dp_kernel_if {
	struct rte_ether_addr mac;
	uint64_t rx_dropped, tx_dropped;
};
int dp_kernel_if_get(const char *ifname, struct dp_kernel_if *out);
void dp_format_mac(const struct rte_ether_addr *mac, char *out, size_t len);

/* ---- forwarding counters (fwd.c, read by telemetry.c) ---- */

/* Written by one lcore only (relaxed atomic stores), read by any thread
 * (relaxed atomic loads). Adding a counter = one line here; telemetry
 * exports every entry by name. */
#define DP_FWD_COUNTERS(X)                                                                         \
	X(heartbeat)	      /* every loop turn: agentd's hung-lcore detector */                  \
	X(nic_to_exc_packets) /* handed to the exception port, incl. drop_tx_full_exc */           \
	X(nic_to_exc_bytes)                                                                        \
	X(exc_to_nic_packets) /* handed to the NIC, incl. drop_tx_full_nic */                      \
	X(exc_to_nic_bytes)                                                                        \
	X(hairpin_packets)  /* sent back out of the port they came in on (issue 3) */              \
	X(drop_tx_full_nic) /* NIC tx ring full: dropped by the tx buffer callback */              \
	X(drop_tx_full_exc)                                                                        \
	X(drop_verdict) /* dp_process_burst() said drop */                                         \
	/* fast path: forwarded by DPDK, never seen by kernel IP forwarding */                     \
	X(fast_wire_to_vm) /* NIC -> exception, rewritten for a VM (tc delivers it) */             \
	X(fast_vm_to_wire) /* exception -> NIC, a VM frame routed by DPDK */                       \
	/* to the kernel: NIC frames passed unchanged / VM frames handed back for routing */       \
	X(kernel_from_wire)                                                                        \
	X(kernel_from_vm)                                                                          \
	X(from_kernel) /* exception -> NIC unchanged: what the kernel sent (and frames < 14 B) */  \
	/* why a frame went to the kernel (one reason each) */                                     \
	X(punt_l2)	   /* NIC: broadcast or multicast: the kernel's */                         \
	X(drop_not_ours)   /* NIC (promiscuous): unicast to another MAC, dropped as a NIC would */ \
	X(punt_not_ip)	   /* ARP, ..., and NIC frames shorter than an Ethernet header */          \
	X(punt_ip_special) /* IPv4 options, multicast/link-local destination, short frame */       \
	X(punt_ttl)	   /* TTL / hop limit <= 1: the kernel sends the ICMP error */             \
	X(punt_vlan)	   /* NIC: tagged, not a VID of the underlay's VLANs; exc: no headroom */  \
	X(punt_local)	   /* to one of the host's addresses */                                    \
	X(punt_no_route)                                                                           \
	X(punt_not_fast)   /* the route leads elsewhere (not bridge / not underlay) */             \
	X(punt_unresolved) /* next hop not resolved yet: the kernel resolves it */                 \
	X(punt_behind)	   /* the FIB mirror lost events or is full: the kernel decides */         \
	/* tenant VLANs of the underlay, on the fast path (in software) */                         \
	X(vlan_untagged) /* wire -> VM: the tag taken off (counted in fast_wire_to_vm too) */      \
	X(vlan_tagged)	 /* VM -> wire: a tag put on (counted in fast_vm_to_wire too) */           \
	/* offload work a packet brought from its rx port (tx_offload.h) */                        \
	X(offload_tso_hw)      /* TCP super-packets handed to the out port's TSO */                \
	X(offload_tso_sw)      /* ... segmented in software (the port has no TSO) */               \
	X(offload_tso_sw_segs) /* the frames those became */                                       \
	X(offload_csum_hw)     /* partial checksums left to the out port */                        \
	X(offload_csum_sw)     /* ... completed in software */                                     \
	X(drop_offload)	       /* could not be finished: headers not IP/TCP/UDP, no mbuf */        \
	/* adaptive polling: sleeps when every queue was empty, and their length */                \
	X(idle_sleeps)                                                                             \
	X(idle_sleep_us)

struct dp_fwd_counters {
#define DP_X(name) uint64_t name;
	DP_FWD_COUNTERS(DP_X)
#undef DP_X
};

static inline void dp_counter_add(uint64_t *counter, uint64_t n)
{
	/* Single writer: a load + relaxed store is enough for readers to see
	 * whole 64-bit values, and costs nothing on x86. */
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t dp_counter_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* ---- per-lcore state (fwd.c) ---- */

#define DP_MAX_RX_PER_LCORE 8

struct dp_rx_queue {
	uint16_t port_id;
	uint16_t queue_id;
	enum dp_port_role role;
};

struct dp_lcore {
	/* read-mostly, set up before launch */
	unsigned int lcore_id;
	uint16_t burst;
	uint16_t n_rx;
	uint32_t idle_sleep_max_us; /* 0: busy polling */
	uint16_t n_active;	    /* rx[0..n_active) are polled; atomic (standby: 0) */
	struct dp_rx_queue rx[DP_MAX_RX_PER_LCORE];
	uint16_t tx_port[DP_PORT_COUNT];
	uint16_t tx_queue[DP_PORT_COUNT];
	uint64_t tx_offloads[DP_PORT_COUNT]; /* what each port finishes itself (tx_offload.h) */
	struct rte_eth_dev_tx_buffer *tx_buf[DP_PORT_COUNT];
	/* Fast path: the FIB (NULL = slow path only) this lcore reads, reporting
	 * quiescence as RCU thread 0; and the NIC's MAC (frames to it are ours;
	 * dp0 carries it too, so it is also where VM frames are handed back). */
	struct fib *fib;
	struct rte_ether_addr nic_mac;
	struct fib_ncache *ncache; /* this lcore's neighbour cache (fib.h) */
	uint64_t *hb_shm;	   /* heartbeat published for agentd (dp_heartbeat.turns) */
	bool nic_tx_kick;	   /* NIC is an 802.3ad bond: it sends LACPDUs from tx_burst */
	bool quit;		   /* set by the main lcore, read (relaxed) every loop turn */
	bool running;
	/* counters on their own cache line: the telemetry thread reads them */
	struct dp_fwd_counters counters __rte_cache_aligned;
} __rte_cache_aligned;

int dp_lcore_init(struct dp_lcore *lc, unsigned int lcore_id, uint16_t burst,
		  const struct dp_port ports[DP_PORT_COUNT], uint16_t queue_id);
void dp_lcore_free(struct dp_lcore *lc);
/* lcore_function_t: the forwarding loop; returns when lc->quit is set. */
int dp_lcore_main(void *lc);
/* Sum of the counters of the given lcores. */
void dp_lcore_counters_sum(struct dp_lcore *const *lcores, unsigned int n,
			   struct dp_fwd_counters *sum);

/* ---- drops reported from the control loop (drop_watch.c) ---- */

enum drop_watch_kind { DW_TX_FULL_NIC, DW_TX_FULL_EXC, DW_NO_MBUF, DW_N };
#define DROP_WATCH_INTERVAL_S 10
struct drop_watch {
	uint64_t reported[DW_N]; /* the value last reported */
	double next_at[DW_N];	 /* no report before (seconds, caller's clock) */
};
extern const char *const drop_watch_names[DW_N];
void drop_watch_init(struct drop_watch *w);
/* CUR: the counters now. Returns a bit per kind to report (1 << kind), with
 * DELTA[kind] the drops since its last report; a kind that grew is reported
 * at once, then at most every DROP_WATCH_INTERVAL_S. */
unsigned int drop_watch_update(struct drop_watch *w, double now, const uint64_t cur[DW_N],
			       uint64_t delta[DW_N]);

/* ---- the process ---- */

enum dp_state {
	DP_STATE_INIT = 0,
	DP_STATE_RUNNING,
	DP_STATE_STOPPING,
	DP_STATE_STANDBY, /* --standby: everything but the NIC is up (failback hold-down) */
};

#define DP_MAX_FWD_LCORES 1 /* issue 2/3: one forwarding lcore */

struct dataplane {
	struct dp_heartbeat *hb;  /* shared page read by agentd; NULL if unavailable */
	struct fib *fib;	  /* NULL: slow path only (no --bridge) */
	struct nl_mirror *mirror; /* feeds fib from the kernel */
	struct dp_args args;
	struct dp_port ports[DP_PORT_COUNT];
	struct rte_mempool *pool;
	struct dp_lcore *fwd[DP_MAX_FWD_LCORES];
	unsigned int n_fwd;
	int state;	      /* enum dp_state, atomic */
	uint64_t start_ns;    /* CLOCK_MONOTONIC */
	bool ports_up;	      /* under lock: telemetry may query the ports */
	pthread_mutex_t lock; /* telemetry callbacks vs port teardown */
};

extern struct dataplane dp;

const char *dp_state_name(int state);

/* telemetry.c */
int dp_telemetry_register(void);

/* Control loop of the main lcore (main.c): an epoll loop. Issue 3 adds its
 * netlink socket here; the callback runs on the main lcore. */
typedef void (*dp_ctl_cb)(int fd, uint32_t events, void *arg);
int dp_ctl_watch_fd(int fd, dp_ctl_cb cb, void *arg);
