/* SPDX-License-Identifier: BSD-3-Clause */
/* Application arguments of agent-dataplane (the part after "--"). Pure: no
 * EAL needed, so the unit tests call it directly. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"

void dp_args_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s <EAL args> -- --nic <port> --exception <port> [--burst N] [--mbufs N]\n"
		"  --nic <port>        DPDK port name of the NIC (vdev name before the first\n"
		"                      comma, e.g. net_af_xdp0, or a PCI address 0000:03:00.0)\n"
		"  --exception <port>  DPDK port name of the exception port to the kernel\n"
		"                      (e.g. net_tap0, virtio_user0)\n"
		"  --burst N           rx/tx burst size, 1..%d (default %d)\n"
		"  --mbufs N           mbufs in the packet pool, %u..%u (default %d)\n"
		"  --mtu N             MTU of both ports (default: each port's own); a port that\n"
		"                      cannot take it is an error, not a silent drop\n"
		"  --idle-sleep-max-us N  adaptive polling: when every queue is empty the\n"
		"                      forwarding lcore sleeps, up to N us at a time, 0..%d\n"
		"                      (default %d; 0: busy polling, 100%% of a core)\n"
		"fast path (netlink-mirrored FIB; without --bridge only the slow path runs):\n"
		"  --bridge NAME       a VM bridge: routes through it are wire->VM fast paths\n"
		"                      (repeatable, up to %d)\n"
		"  --exc-ifname NAME   kernel name of the exception netdev (default: from the\n"
		"                      port's devargs iface=): routes through it are VM->wire\n"
		"  --table N           also mirror routing table N (repeatable, up to %d)\n"
		"  --fib-rules N       IPv4 FIB size (default %d)\n"
		"  --fib6-rules N      IPv6 FIB size (default %d)\n"
		"  --neighbours N      neighbour table size (default %d)\n"
		"  --fib-tbl8s N       IPv4 tbl8 groups (/25../32 under distinct /24s)\n"
		"  --fib6-tbl8s N      IPv6 table groups (8-bit strides below /16)\n"
		"  --netlink-rcvbuf B  netlink event socket buffer, bytes (tests shrink it)\n"
		"  --error-file PATH   on a failure, write its reason and the last log lines\n"
		"                      there (agentd reads it into `agentctl status`)\n"
		"  --standby           start everything but the NIC port; SIGUSR1 starts it\n"
		"                      (agentd's failback hold-down: the kernel keeps the NIC)\n",
		prog, DP_MAX_BURST, DP_DEFAULT_BURST, DP_MIN_MBUFS, DP_MAX_MBUFS, DP_DEFAULT_MBUFS,
		DP_MAX_IDLE_SLEEP_US, DP_DEFAULT_IDLE_SLEEP_MAX_US, DP_MAX_BRIDGES, DP_MAX_TABLES,
		DP_DEFAULT_FIB_RULES, DP_DEFAULT_FIB6_RULES, DP_DEFAULT_NEIGHBOURS);
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (s == NULL || *s == '\0' || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int copy_name(char *dst, size_t len, const char *src)
{
	if (src[0] == '\0' || strlen(src) >= len)
		return -EINVAL;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int dp_args_parse(int argc, char **argv, struct dp_args *args, char *err, size_t err_len)
{
	enum {
		OPT_NIC = 256,
		OPT_EXC,
		OPT_BURST,
		OPT_MBUFS,
		OPT_BRIDGE,
		OPT_EXC_IFNAME,
		OPT_TABLE,
		OPT_FIB_RULES,
		OPT_FIB6_RULES,
		OPT_NEIGHBOURS,
		OPT_STANDBY,
		OPT_FIB_TBL8S,
		OPT_FIB6_TBL8S,
		OPT_NL_RCVBUF,
		OPT_IDLE_SLEEP,
		OPT_ERROR_FILE,
		OPT_MTU,
	};
	static const struct option opts[] = {
	    {"nic", required_argument, NULL, OPT_NIC},
	    {"exception", required_argument, NULL, OPT_EXC},
	    {"burst", required_argument, NULL, OPT_BURST},
	    {"mbufs", required_argument, NULL, OPT_MBUFS},
	    {"bridge", required_argument, NULL, OPT_BRIDGE},
	    {"exc-ifname", required_argument, NULL, OPT_EXC_IFNAME},
	    {"table", required_argument, NULL, OPT_TABLE},
	    {"fib-rules", required_argument, NULL, OPT_FIB_RULES},
	    {"fib6-rules", required_argument, NULL, OPT_FIB6_RULES},
	    {"neighbours", required_argument, NULL, OPT_NEIGHBOURS},
	    {"fib-tbl8s", required_argument, NULL, OPT_FIB_TBL8S},
	    {"fib6-tbl8s", required_argument, NULL, OPT_FIB6_TBL8S},
	    {"netlink-rcvbuf", required_argument, NULL, OPT_NL_RCVBUF},
	    {"standby", no_argument, NULL, OPT_STANDBY},
	    {"idle-sleep-max-us", required_argument, NULL, OPT_IDLE_SLEEP},
	    {"error-file", required_argument, NULL, OPT_ERROR_FILE},
	    {"mtu", required_argument, NULL, OPT_MTU},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	memset(args, 0, sizeof(*args));
	args->burst = DP_DEFAULT_BURST;
	args->mbufs = DP_DEFAULT_MBUFS;
	args->fib_rules = DP_DEFAULT_FIB_RULES;
	args->fib6_rules = DP_DEFAULT_FIB6_RULES;
	args->neighbours = DP_DEFAULT_NEIGHBOURS;
	args->idle_sleep_max_us = DP_DEFAULT_IDLE_SLEEP_MAX_US;
	err[0] = '\0';

	optind = 0; /* glibc: full re-initialisation (EAL or a test ran getopt before) */
	opterr = 0; /* we word the errors ourselves */
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_NIC:
			if (copy_name(args->nic, sizeof(args->nic), optarg) < 0)
				return fail(err, err_len, "bad --nic port name '%s'", optarg);
			break;
		case OPT_EXC:
			if (copy_name(args->exception, sizeof(args->exception), optarg) < 0)
				return fail(err, err_len, "bad --exception port name '%s'", optarg);
			break;
		case OPT_BURST:
			if (parse_uint(optarg, 1, DP_MAX_BURST, &args->burst) < 0)
				return fail(err, err_len, "--burst must be 1..%d, not '%s'",
					    DP_MAX_BURST, optarg);
			break;
		case OPT_MBUFS:
			if (parse_uint(optarg, DP_MIN_MBUFS, DP_MAX_MBUFS, &args->mbufs) < 0)
				return fail(err, err_len, "--mbufs must be %u..%u, not '%s'",
					    DP_MIN_MBUFS, DP_MAX_MBUFS, optarg);
			break;
		case OPT_BRIDGE:
			if (args->bridge[0] == '\0') {
				if (copy_name(args->bridge, sizeof(args->bridge), optarg) < 0)
					return fail(err, err_len, "bad --bridge name '%s'", optarg);
				break;
			}
			if (args->n_more_bridges >= DP_MAX_BRIDGES - 1)
				return fail(err, err_len, "at most %d --bridge", DP_MAX_BRIDGES);
			if (copy_name(args->more_bridges[args->n_more_bridges],
				      sizeof(args->more_bridges[0]), optarg) < 0)
				return fail(err, err_len, "bad --bridge name '%s'", optarg);
			args->n_more_bridges++;
			break;
		case OPT_EXC_IFNAME:
			if (copy_name(args->exc_ifname, sizeof(args->exc_ifname), optarg) < 0)
				return fail(err, err_len, "bad --exc-ifname name '%s'", optarg);
			break;
		case OPT_TABLE:
			if (args->n_tables >= DP_MAX_TABLES ||
			    parse_uint(optarg, 1, UINT32_MAX, &args->tables[args->n_tables]) < 0)
				return fail(err, err_len, "bad or too many --table '%s'", optarg);
			args->n_tables++;
			break;
		case OPT_FIB_RULES:
			if (parse_uint(optarg, 1, 1u << 24, &args->fib_rules) < 0)
				return fail(err, err_len, "--fib-rules must be 1..%u", 1u << 24);
			break;
		case OPT_FIB6_RULES:
			if (parse_uint(optarg, 1, 1u << 24, &args->fib6_rules) < 0)
				return fail(err, err_len, "--fib6-rules must be 1..%u", 1u << 24);
			break;
		case OPT_NEIGHBOURS:
			if (parse_uint(optarg, 8, 1u << 24, &args->neighbours) < 0)
				return fail(err, err_len, "--neighbours must be 8..%u", 1u << 24);
			break;
		case OPT_FIB_TBL8S:
			if (parse_uint(optarg, 1, 1u << 24, &args->fib_tbl8s) < 0)
				return fail(err, err_len, "--fib-tbl8s must be 1..%u", 1u << 24);
			break;
		case OPT_FIB6_TBL8S:
			if (parse_uint(optarg, 1, 1u << 23, &args->fib6_tbl8s) < 0)
				return fail(err, err_len, "--fib6-tbl8s must be 1..%u", 1u << 23);
			break;
		case OPT_ERROR_FILE:
			if (copy_name(args->error_file, sizeof(args->error_file), optarg) < 0)
				return fail(err, err_len, "--error-file path too long");
			break;
		case OPT_MTU:
			if (parse_uint(optarg, RTE_ETHER_MIN_MTU, UINT16_MAX, &args->mtu) < 0)
				return fail(err, err_len, "--mtu must be %d..%d", RTE_ETHER_MIN_MTU,
					    UINT16_MAX);
			break;
		case OPT_IDLE_SLEEP:
			if (parse_uint(optarg, 0, DP_MAX_IDLE_SLEEP_US, &args->idle_sleep_max_us) <
			    0)
				return fail(err, err_len, "--idle-sleep-max-us must be 0..%d",
					    DP_MAX_IDLE_SLEEP_US);
			break;
		case OPT_NL_RCVBUF:
			if (parse_uint(optarg, 4096, 1u << 30, &args->netlink_rcvbuf) < 0)
				return fail(err, err_len, "--netlink-rcvbuf must be 4096..%u",
					    1u << 30);
			break;
		case OPT_STANDBY:
			args->standby = true;
			break;
		case 'h':
			return 1;
		case ':':
			return fail(err, err_len, "option '%s' needs a value", argv[optind - 1]);
		default:
			return fail(err, err_len, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, err_len, "unexpected argument '%s'", argv[optind]);
	if (args->nic[0] == '\0')
		return fail(err, err_len, "--nic <port> is required");
	if (args->exception[0] == '\0')
		return fail(err, err_len, "--exception <port> is required");
	if (strcmp(args->nic, args->exception) == 0)
		return fail(err, err_len, "--nic and --exception are the same port '%s'",
			    args->nic);
	return 0;
}
