/* SPDX-License-Identifier: BSD-3-Clause */
/* agentd configuration, as read from a libconfig file (see agentd.conf(5)). */
#pragma once

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define AGENT_CFG_MAX_ADDRS    16
#define AGENT_CFG_MAX_PORTS    64
#define AGENT_CFG_MAX_ROUTES   256
#define AGENT_CFG_MAX_EAL_ARGS 32
#define AGENT_CFG_MAX_TABLES   8
#define AGENT_CFG_MAX_BRIDGES  8  /* "bridge" and up to 7 more in "bridges" */
#define AGENT_CFG_MAX_VLANS    16 /* tenant VLANs of the underlay */
#define AGENT_CFG_MAX_MEMBERS  4  /* NICs of a bonded uplink (nic.members) */
#define AGENT_CFG_STR	       256

/* An address with prefix length, IPv4 or IPv6 ("10.0.0.1/24", "fd00::1/64"). */
struct ip_prefix {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} addr;
	uint8_t len; /* prefix length */
};

/* nic.bond_mode: the kernel's names; DPDK's modes 4 and 1 */
enum bond_mode {
	BOND_NONE = 0,
	BOND_8023AD,	   /* "802.3ad": LACP */
	BOND_ACTIVE_BACKUP /* "active-backup" */
};

enum exception_type {
	EXC_AUTO = 0,	 /* virtio-user if /dev/vhost-net exists, else tap */
	EXC_TAP,	 /* DPDK TAP PMD */
	EXC_VIRTIO_USER, /* virtio-user + vhost-net */
	EXC_AF_XDP,	 /* a veth pair, DPDK's af_xdp PMD on the far end */
};

struct route_cfg {
	struct ip_prefix dst; /* len = prefix length */
	bool has_via;
	struct ip_prefix via; /* gateway (len = 32 or 128) */
	char dev[IFNAMSIZ];   /* optional; empty = via the exception netdev */
	uint32_t metric;      /* 0 = kernel default */
	uint8_t protocol;     /* RTPROT_*; 0 = static (routes from the config) */
	int line;	      /* source line, for messages */
};

struct agent_config {
	char path[PATH_MAX]; /* the file this was loaded from */
	int log_level;	     /* AGENT_LOG_* ("log_level", default "info") */

	struct {
		char socket[PATH_MAX]; /* "control.socket", default /run/agentd/agentd.sock */
		char group[64];	       /* "control.group": may read (status...), "" = root only */
		int gid;	       /* resolved at load, -1 when group is "" */
	} control;

	struct {
		/* "metrics.listen": HTTP listener serving GET /metrics, "A.B.C.D:PORT"
		 * or "[IPV6]:PORT"; "" = none (the default) */
		char listen[64];
		struct ip_prefix addr; /* parsed from listen (len 32 or 128) */
		uint16_t port;
	} metrics;

	struct {
		char binary[PATH_MAX]; /* default "agent-dataplane" (beside agentd) */
		char lcores[64];       /* EAL -l, default "0-1" */
		char file_prefix[64];  /* EAL --file-prefix, default "agent" */
		char *eal_args[AGENT_CFG_MAX_EAL_ARGS]; /* extra EAL args (strdup'ed) */
		int n_eal_args;
		int burst;	       /* rx burst size, default 32 */
		int mbufs;	       /* mbuf pool size, default 8191 */
		int idle_sleep_max_us; /* adaptive polling, default 500; 0 = busy */
	} dataplane;

	struct {
		char device[AGENT_CFG_STR];   /* DPDK devargs: "0000:03:00.0" or
					       * "net_af_xdp0,iface=nic0" (required
					       * unless members) */
		char kernel_netdev[IFNAMSIZ]; /* kernel name of the NIC, or of the
					       * kernel bond of the members (required) */
		char kernel_driver[64];	      /* driver to rebind on fallback ("" = none) */
		struct ip_prefix addrs[AGENT_CFG_MAX_ADDRS]; /* underlay addresses */
		int n_addrs;
		int mtu; /* default 1500 */
		/* A bonded uplink: DPDK's bonding PMD over the members, a kernel
		 * bond (kernel_netdev) of their netdevs on the kernel path. */
		enum bond_mode bond_mode; /* "bond_mode", required with members */
		struct member_cfg {
			char device[AGENT_CFG_STR];   /* as nic.device */
			char kernel_netdev[IFNAMSIZ]; /* its netdev on the kernel path */
			int line;
		} members[AGENT_CFG_MAX_MEMBERS];
		int n_members; /* 0: a single NIC (nic.device) */
	} nic;

	struct {
		enum exception_type type; /* "auto" | "tap" | "virtio-user" */
		char ifname[IFNAMSIZ];	  /* default "dp0" */
		int queues;		  /* default 1 */
		int queue_size;		  /* default 1024 */
	} exception;

	/* The VM network: "bridge"; more of them in "bridges" (same keys,
	 * no default name). */
	struct bridge_cfg {
		char name[IFNAMSIZ]; /* default "br-vm" */
		struct ip_prefix addrs[AGENT_CFG_MAX_ADDRS];
		int n_addrs;
		char ports[AGENT_CFG_MAX_PORTS][IFNAMSIZ];
		int n_ports;
		int line; /* "bridges" entries: source line, for messages */
	} bridge;
	struct bridge_cfg bridges[AGENT_CFG_MAX_BRIDGES - 1];
	int n_bridges; /* entries of "bridges" (bridge is not counted) */

	/* Tenant VLANs of the underlay: an 802.1Q VLAN netdev <underlay>.<id>
	 * (dp0.100 on DPDK, <nic.kernel_netdev>.100 on the kernel path) with
	 * these addresses, moved with the underlay. */
	struct vlan_cfg {
		int id; /* 1..4094 */
		struct ip_prefix addrs[AGENT_CFG_MAX_ADDRS];
		int n_addrs;
		int line;
	} vlans[AGENT_CFG_MAX_VLANS];
	int n_vlans;

	struct route_cfg routes[AGENT_CFG_MAX_ROUTES];
	int n_routes;

	struct {
		char bpffs[PATH_MAX]; /* bpffs mount point, default /sys/fs/bpf */
		char pin_name[64];    /* pins under <bpffs>/<pin_name>, default "agent" */
	} bpf;

	struct {
		uint32_t tables[AGENT_CFG_MAX_TABLES]; /* extra routing tables mirrored */
		int n_tables;
		int lpm_rules;	    /* IPv4 FIB size, default 1048576 */
		int lpm6_rules;	    /* IPv6 FIB size, default 262144 */
		int tbl8s;	    /* IPv4 tbl8 groups, 0 = lpm_rules / 16 */
		int tbl8s6;	    /* IPv6 tbl8 groups, 0 = lpm6_rules */
		int netlink_rcvbuf; /* bytes, 0 = the dataplane's default (64 MiB) */
		int neighbours;	    /* neighbour table size, default 4096 */
	} fib;

	struct {
		int heartbeat_ms;	/* default 100 */
		int heartbeat_misses;	/* default 3 */
		int holddown_ms;	/* default 3000 */
		int backoff_min_ms;	/* default 200 */
		int backoff_max_ms;	/* default 10000 */
		int crashloop_count;	/* default 5 */
		int crashloop_window_s; /* default 60 */
	} fallback;
};

/* Load and validate FILE into CFG. Nothing outside CFG is touched.
 * Returns 0, or a negative errno with a one-line message "FILE:LINE: what"
 * (or "FILE: what" when there is no line) in ERR. */
int agent_config_load(const char *file, struct agent_config *cfg, char *err, size_t errlen);

/* Loading options. check_host: also look for what the file names on this
 * host (nic.kernel_netdev, nic.device, bridge.ports, routes.dev) and call
 * WARN with "FILE:LINE: warning: ..." for each one missing: warnings, not
 * errors (agentd --check-config, on a file that may be for another host). */
struct agent_config_opts {
	bool check_host;
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
};
int agent_config_load_ex(const char *file, const struct agent_config_opts *opts,
			 struct agent_config *cfg, char *err, size_t errlen);

/* The same from memory: BUF (LEN bytes) named NAME in messages, @include
 * relative to INCLUDE_DIR (NULL: @include refused). For the fuzzer. */
int agent_config_load_buffer(const char *name, const void *buf, size_t len, const char *include_dir,
			     struct agent_config *cfg, char *err, size_t errlen);

/* What a reload does with a key whose value changed. */
enum agent_cfg_apply {
	CFG_APPLY_LIVE,	     /* applied at once (bridge, routes, addresses, fallback...) */
	CFG_APPLY_DATAPLANE, /* applied when the dataplane next starts (EAL, FIB sizes) */
	CFG_APPLY_AGENTD,    /* what agentd manages (NIC, socket, pins): restart agentd */
};
const char *agent_cfg_apply_name(enum agent_cfg_apply how);

/* Every key the loader knows, from its own table: FN(section, key, how, ARG)
 * for each, section "" at the top level, "routes" for the keys of a route's
 * group, HOW what a reload does when its value changes. What the docs are
 * checked against (tests/unit/test_config_docs.c). */
void agent_config_keys(void (*fn)(const char *section, const char *key, enum agent_cfg_apply how,
				  void *arg),
		       void *arg);

/* Reload: NEXT (just loaded) against CUR (running). FN(key, how, ARG) for
 * each key whose value differs ("bridge.ports", "routes", "log_level"); the
 * CFG_APPLY_AGENTD ones get CUR's value back in NEXT, which is then what
 * agentd runs with. Returns the number of changed keys. */
int agent_config_merge(struct agent_config *next, const struct agent_config *cur,
		       void (*fn)(const char *key, enum agent_cfg_apply how, void *arg), void *arg);
/* The keys whose values differ between A and B, as above, nothing written. */
int agent_config_diff(const struct agent_config *a, const struct agent_config *b,
		      void (*fn)(const char *key, enum agent_cfg_apply how, void *arg), void *arg);
/* A deep copy (agent_config_free() it). 0 or -ENOMEM. */
int agent_config_dup(struct agent_config *dst, const struct agent_config *src);
/* The same route (destination and metric: what the kernel keys it by)... */
bool agent_route_same_key(const struct route_cfg *a, const struct route_cfg *b);
/* ...and the same in every configured attribute. */
bool agent_route_equal(const struct route_cfg *a, const struct route_cfg *b);

/* Free what agent_config_load allocated (eal_args). Safe on a zeroed struct. */
void agent_config_free(struct agent_config *cfg);

/* "10.0.0.1/24" → prefix. want_len: true = "/len" required; false = host
 * address (no "/", len set to 32/128). Returns 0 or -EINVAL. */
int ip_prefix_parse(const char *s, bool want_len, struct ip_prefix *p);
/* Format as "addr/len" (or "addr" when with_len is false). */
const char *ip_prefix_fmt(const struct ip_prefix *p, bool with_len, char *buf, size_t len);

const char *exception_type_name(enum exception_type t);
/* "802.3ad", "active-backup" ("none" for BOND_NONE) */
const char *agent_bond_mode_name(enum bond_mode m);

/* A listening address: "A.B.C.D:PORT" or "[IPV6]:PORT", numeric only (no
 * name lookup: a check must not wait on DNS), port 1-65535. Returns 0, or
 * -EINVAL with *WHY (a static string) saying what is wrong. */
int listen_addr_parse(const char *s, struct ip_prefix *addr, uint16_t *port, const char **why);
