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
		"  --mbufs N           mbufs in the packet pool, %u..%u (default %d)\n",
		prog, DP_MAX_BURST, DP_DEFAULT_BURST, DP_MIN_MBUFS, DP_MAX_MBUFS, DP_DEFAULT_MBUFS);
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
	enum { OPT_NIC = 256, OPT_EXC, OPT_BURST, OPT_MBUFS };
	static const struct option opts[] = {
	    {"nic", required_argument, NULL, OPT_NIC},
	    {"exception", required_argument, NULL, OPT_EXC},
	    {"burst", required_argument, NULL, OPT_BURST},
	    {"mbufs", required_argument, NULL, OPT_MBUFS},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	memset(args, 0, sizeof(*args));
	args->burst = DP_DEFAULT_BURST;
	args->mbufs = DP_DEFAULT_MBUFS;
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
