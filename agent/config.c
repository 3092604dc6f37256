/* SPDX-License-Identifier: BSD-3-Clause */
/* agentd configuration loader: libconfig file → struct agent_config.
 *
 * The schema is a set of tables (one per group) mapping each key to a parse
 * function and a place in struct agent_config, so that unknown keys, types,
 * ranges and string lengths are all checked in one place. Everything is
 * parsed into a scratch copy and checked as a whole (duplicates, conflicts
 * between sections) before the caller's struct is written, so an invalid file
 * never leaves a half-loaded configuration behind. Each error is one line,
 * "FILE:LINE: message", naming the offending key. See docs/config.md.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <grp.h>
#include <net/if.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_TYPE "config"
#include <agent_config.h>
#include <agent_log.h>

#include "config_source.h"

/* Longest key path in a message, e.g. "routes[255].metric". */
#define KEY_MAX 128

struct loader {
	const char *file;
	config_t *lc;
	struct cfg_source *src; /* the text libconfig parsed: lines → FILE:LINE */
	const struct agent_config_opts *opts;
	struct agent_config *cfg; /* scratch copy being filled */
	char *err;
	size_t errlen;
};

struct field;
typedef int (*field_parse_fn)(struct loader *ld, const config_setting_t *s, const char *key,
			      const struct field *f, void *base);

/* One key of a group. OFF is relative to BASE: struct agent_config for the
 * sections, struct route_cfg for the entries of "routes". */
struct field {
	const char *name;
	field_parse_fn parse;
	size_t off;
	size_t size;	  /* string buffer size, or max number of list entries */
	size_t count_off; /* lists: offset of the int entry count */
	long long min, max;
	unsigned flags;
	const struct field *sub; /* groups, lists of groups: their keys, NULL-terminated */
	/* lists of groups (parse_group_list): */
	size_t elem_size; /* bytes of one element */
	size_t line_off;  /* offset in an element of its int source line */
	const char *hint; /* an element as written, for messages */
	/* an element I (base: the whole config) against those before it */
	int (*check)(struct loader *ld, const config_setting_t *e, const char *ekey, void *base,
		     int i);
};

/* flags */
#define F_REQUIRED (1u << 0)
#define F_NONEMPTY (1u << 1) /* strings */
#define F_IFNAME   (1u << 2) /* strings: a valid Linux interface name */
#define F_NOSLASH  (1u << 3) /* strings: used as a file name component */
#define F_ABSPATH  (1u << 4) /* strings: absolute path */
#define F_SOCKPATH (1u << 5) /* strings: must fit sockaddr_un.sun_path */
#define F_CPULIST  (1u << 6) /* strings: EAL -l corelist */
#define F_POW2	   (1u << 7) /* ints: power of two */
#define F_NETWORK  (1u << 8) /* prefixes: host bits must be zero */
#define F_HOSTADDR (1u << 9) /* prefixes: plain address, no "/len" */
/* What a reload does with a changed key (agent_config_merge); neither flag:
 * the key names what agentd manages (its socket, the NIC, the exception
 * netdev, the bridge, the pins) and only an agentd restart changes it. */
#define F_LIVE	  (1u << 10) /* applied by the reload */
#define F_NEXT_DP (1u << 11) /* applied when the dataplane next starts */

static int fail_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The line of S in the text libconfig parsed or, for settings libconfig has
 * no line for (the root group), of the closest ancestor that has one. */
static unsigned int raw_line(const config_setting_t *s)
{
	unsigned int line = 0;

	for (const config_setting_t *t = s; t != NULL && line == 0; t = config_setting_parent(t))
		line = config_setting_source_line(t);
	return line;
}

/* The file and line S comes from (the text is the files expanded). */
static const char *where(const struct loader *ld, const config_setting_t *s, unsigned int *line)
{
	*line = 0;
	if (ld->src == NULL)
		return ld->file;
	return cfg_source_where(ld->src, raw_line(s), line);
}

static unsigned int line_of(const struct loader *ld, const config_setting_t *s)
{
	unsigned int line;

	if (s == NULL)
		return 0;
	where(ld, s, &line);
	return line;
}

/* Messages quote values from the file, which may hold newlines and other
 * control characters ("a\nb", or a string spanning lines): a message is one
 * line, whatever the file (found by the fuzzer). */
static void one_line(char *s)
{
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			*s = '?';
}

/* "FILE:LINE: message" (or "FILE: message" when there is no line). */
static void format_at(const struct loader *ld, const config_setting_t *s, char *out, size_t len,
		      const char *fmt, va_list ap)
{
	unsigned int line;
	const char *file = where(ld, s, &line);
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line != 0)
		snprintf(out, len, "%s:%u: %s", file, line, msg);
	else
		snprintf(out, len, "%s: %s", file, msg);
	one_line(out);
}

static int fail_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	if (ld->errlen == 0)
		return -EINVAL;
	va_start(ap, fmt);
	format_at(ld, s, ld->err, ld->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- addresses ---------------------------------------------------------- */

enum prefix_status {
	PFX_OK,
	PFX_BAD_ADDR,
	PFX_BAD_LEN,
	PFX_NEED_LEN,
	PFX_LEN_NOT_ALLOWED,
};

static enum prefix_status prefix_parse(const char *s, bool want_len, struct ip_prefix *out)
{
	char addr[INET6_ADDRSTRLEN];
	struct ip_prefix p;
	const char *slash;
	unsigned int max, len;
	size_t alen;

	memset(&p, 0, sizeof(p));
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return PFX_BAD_ADDR;
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	if (inet_pton(AF_INET, addr, &p.addr.v4) == 1) {
		p.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, &p.addr.v6) == 1) {
		p.family = AF_INET6;
		max = 128;
	} else {
		return PFX_BAD_ADDR;
	}

	if (slash == NULL) {
		if (want_len)
			return PFX_NEED_LEN;
		p.len = max;
		*out = p;
		return PFX_OK;
	}
	if (!want_len)
		return PFX_LEN_NOT_ALLOWED;
	/* Digits only: strtoul would take "+24", " 24" and "0x18". */
	len = 0;
	slash++;
	if (*slash == '\0' || strlen(slash) > 3)
		return PFX_BAD_LEN;
	for (const char *c = slash; *c != '\0'; c++) {
		if (!isdigit((unsigned char)*c))
			return PFX_BAD_LEN;
		len = len * 10 + (unsigned int)(*c - '0');
	}
	if (len > max)
		return PFX_BAD_LEN;
	p.len = (uint8_t)len;
	*out = p;
	return PFX_OK;
}

int ip_prefix_parse(const char *s, bool want_len, struct ip_prefix *p)
{
	if (s == NULL || p == NULL)
		return -EINVAL;
	return prefix_parse(s, want_len, p) == PFX_OK ? 0 : -EINVAL;
}

int listen_addr_parse(const char *s, struct ip_prefix *addr, uint16_t *port, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	struct ip_prefix a = {0};
	const char *colon, *h = s;
	size_t hlen;
	unsigned long p = 0;

	*why = "must be \"ADDRESS:PORT\" (\"127.0.0.1:9464\", \"[::1]:9464\")";
	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (*s == '[') {
		/* [IPv6]:port, as in URLs: the address's own colons are not the port's */
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL) {
			*why = "has an IPv6 address without brackets (\"[::1]:9464\")";
			return -EINVAL;
		}
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "has no valid address before the port";
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (s[0] != '[' && inet_pton(AF_INET, host, &a.addr.v4) == 1) {
		a.family = AF_INET;
		a.len = 32;
	} else if (s[0] == '[' && inet_pton(AF_INET6, host, &a.addr.v6) == 1) {
		a.family = AF_INET6;
		a.len = 128;
	} else {
		*why = s[0] == '[' ? "has no valid IPv6 address between the brackets"
				   : "has no valid IPv4 address (a number, not a name: no DNS "
				     "lookup)";
		return -EINVAL;
	}
	/* digits only, as prefix lengths: strtoul would take "+80" and " 80" */
	if (colon[1] == '\0' || strlen(colon + 1) > 5) {
		*why = "has no valid port (1-65535)";
		return -EINVAL;
	}
	for (const char *c = colon + 1; *c != '\0'; c++) {
		if (!isdigit((unsigned char)*c)) {
			*why = "has no valid port (1-65535)";
			return -EINVAL;
		}
		p = p * 10 + (unsigned long)(*c - '0');
	}
	if (p < 1 || p > 65535) {
		*why = "has no valid port (1-65535)";
		return -EINVAL;
	}
	*addr = a;
	*port = (uint16_t)p;
	*why = NULL;
	return 0;
}

const char *ip_prefix_fmt(const struct ip_prefix *p, bool with_len, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (buf == NULL || len == 0)
		return "";
	if (p == NULL || (p->family != AF_INET && p->family != AF_INET6) ||
	    inet_ntop(p->family, &p->addr, addr, sizeof(addr)) == NULL) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (with_len)
		snprintf(buf, len, "%s/%u", addr, p->len);
	else
		snprintf(buf, len, "%s", addr);
	return buf;
}

static int prefix_bytes(const struct ip_prefix *p)
{
	return p->family == AF_INET ? 4 : 16;
}

/* The network of P (host bits cleared). */
static struct ip_prefix prefix_network(const struct ip_prefix *p)
{
	struct ip_prefix n = *p;

	for (int i = 0; i < prefix_bytes(p); i++) {
		int bits = (int)p->len - i * 8;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		n.addr.bytes[i] &= mask;
	}
	return n;
}

static bool prefix_same_addr(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && memcmp(a->addr.bytes, b->addr.bytes, prefix_bytes(a)) == 0;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* ---- enums -------------------------------------------------------------- */

static const char *const exception_type_names[] = {
    [EXC_AUTO] = "auto",
    [EXC_TAP] = "tap",
    [EXC_VIRTIO_USER] = "virtio-user",
    [EXC_AF_XDP] = "af_xdp",
};

const char *exception_type_name(enum exception_type t)
{
	if ((unsigned int)t >= sizeof(exception_type_names) / sizeof(exception_type_names[0]))
		return "?";
	return exception_type_names[t];
}

static const char *const bond_mode_names[] = {
    [BOND_NONE] = "none",
    [BOND_8023AD] = "802.3ad",
    [BOND_ACTIVE_BACKUP] = "active-backup",
};

const char *agent_bond_mode_name(enum bond_mode m)
{
	if ((unsigned int)m >= sizeof(bond_mode_names) / sizeof(bond_mode_names[0]))
		return "?";
	return bond_mode_names[m];
}

/* ---- scalar checks ------------------------------------------------------ */

static bool valid_ifname(const char *name)
{
	size_t len = strlen(name);

	/* The kernel's dev_valid_name(). */
	if (len == 0 || len >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *c = name; *c != '\0'; c++)
		if (*c == '/' || *c == ':' || isspace((unsigned char)*c) ||
		    !isprint((unsigned char)*c))
			return false;
	return true;
}

#define CFG_MAX_CPUS  1024 /* (glibc's CPU_SETSIZE) */
#define CFG_MAX_LCORE 128  /* RTE_MAX_LCORE of DPDK 22.11 as Debian builds it */

/* EAL's -l list, checked as EAL would take it and for this machine: "N" or
 * "A-B" items (A <= B), no CPU twice, every CPU one this machine has (EAL
 * refuses the others, and the dataplane would never start), at least two
 * (the main lcore and the forwarding one). Returns NULL or what is wrong. */
static const char *cpulist_error(const char *v, char *why, size_t len)
{
	static unsigned char seen[CFG_MAX_CPUS];
	long n_cpus = sysconf(_SC_NPROCESSORS_CONF);
	int count = 0;
	const char *p = v;

	memset(seen, 0, sizeof(seen));
	if (n_cpus <= 0 || n_cpus > CFG_MAX_CPUS)
		n_cpus = CFG_MAX_CPUS;
	while (*p != '\0') {
		char *end;
		unsigned long a, b;

		if (!isdigit((unsigned char)*p))
			return "must be a CPU list such as \"0-1\" or \"0,2-3\"";
		a = strtoul(p, &end, 10);
		b = a;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return "must be a CPU list such as \"0-1\" or \"0,2-3\"";
			b = strtoul(end + 1, &end, 10);
		}
		if (*end != ',' && *end != '\0')
			return "must be a CPU list such as \"0-1\" or \"0,2-3\"";
		if (b < a) {
			snprintf(why, len, "has the range %lu-%lu, which is backwards", a, b);
			return why;
		}
		if (b >= (unsigned long)n_cpus) {
			snprintf(why, len, "names CPU %lu, and this machine has CPUs 0-%ld", b,
				 n_cpus - 1);
			return why;
		}
		/* a machine with more CPUs than EAL's RTE_MAX_LCORE */
		if (b >= CFG_MAX_LCORE) {
			snprintf(why, len, "names CPU %lu, and EAL supports CPUs 0-%d only", b,
				 CFG_MAX_LCORE - 1);
			return why;
		}
		for (unsigned long c = a; c <= b; c++, count++)
			if (seen[c]++) {
				snprintf(why, len, "names CPU %lu twice", c);
				return why;
			}
		p = *end == ',' ? end + 1 : end;
		if (*end == ',' && *p == '\0')
			return "must be a CPU list such as \"0-1\" or \"0,2-3\"";
	}
	if (count < 2)
		return "must name at least two CPUs (the dataplane's main lcore and its forwarding "
		       "lcore)";
	return NULL;
}

static int check_string(struct loader *ld, const config_setting_t *s, const char *key,
			const char *v, unsigned int flags)
{
	char why[96];
	const char *err;

	if ((flags & (F_NONEMPTY | F_IFNAME | F_ABSPATH | F_CPULIST)) && v[0] == '\0')
		return fail_at(ld, s, "\"%s\" must not be empty", key);
	if ((flags & F_IFNAME) && !valid_ifname(v))
		return fail_at(ld, s,
			       "\"%s\": \"%s\" is not a valid interface name (1-%d characters, no "
			       "'/', ':' or spaces)",
			       key, v, IFNAMSIZ - 1);
	if ((flags & F_NOSLASH) &&
	    (strchr(v, '/') != NULL || strcmp(v, ".") == 0 || strcmp(v, "..") == 0))
		return fail_at(ld, s, "\"%s\": \"%s\" must be a plain name, not a path", key, v);
	if ((flags & F_ABSPATH) && v[0] != '/')
		return fail_at(ld, s, "\"%s\": \"%s\" must be an absolute path", key, v);
	if ((flags & F_SOCKPATH) && strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return fail_at(ld, s,
			       "\"%s\" is too long for a UNIX socket path (at most %zu characters)",
			       key, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	if ((flags & F_CPULIST) && (err = cpulist_error(v, why, sizeof(why))) != NULL)
		return fail_at(ld, s, "\"%s\": \"%s\" %s", key, v, err);
	return 0;
}

/* The string value of S, or an error if S is not a string. */
static int get_string(struct loader *ld, const config_setting_t *s, const char *key, const char **v)
{
	*v = "";
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(ld, s, "\"%s\" must be a string", key);
	*v = config_setting_get_string(s);
	return 0;
}

/* Bounded copy: an overlong value is an error, never a silent truncation. */
static int copy_string(struct loader *ld, const config_setting_t *s, const char *key, const char *v,
		       char *dst, size_t size)
{
	size_t len = strlen(v);

	if (len >= size)
		return fail_at(ld, s, "\"%s\" is too long (%zu characters, at most %zu)", key, len,
			       size - 1);
	memcpy(dst, v, len + 1);
	return 0;
}

static int get_int(struct loader *ld, const config_setting_t *s, const char *key, long long min,
		   long long max, long long *v)
{
	int type = config_setting_type(s);

	*v = 0;
	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
		return fail_at(ld, s, "\"%s\" must be an integer", key);
	*v = config_setting_get_int64(s);
	if (*v < min || *v > max)
		return fail_at(ld, s, "\"%s\" must be between %lld and %lld (got %lld)", key, min,
			       max, *v);
	return 0;
}

/* The aggregate S as a list of at most MAX entries ([ ... ] or ( ... )). */
static int get_list(struct loader *ld, const config_setting_t *s, const char *key, size_t max,
		    const char *what, int *n)
{
	int type = config_setting_type(s);

	*n = 0;
	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		return fail_at(ld, s, "\"%s\" must be a list of %s", key, what);
	*n = config_setting_length(s);
	if ((size_t)*n > max)
		return fail_at(ld, s, "\"%s\" has %d entries, at most %zu are allowed", key, *n,
			       max);
	return 0;
}

/* ---- field parsers ------------------------------------------------------ */

#define AT(base, off) ((char *)(base) + (off))

static int parse_string(struct loader *ld, const config_setting_t *s, const char *key,
			const struct field *f, void *base)
{
	const char *v;
	int ret;

	if ((ret = get_string(ld, s, key, &v)) < 0)
		return ret;
	if ((ret = copy_string(ld, s, key, v, AT(base, f->off), f->size)) < 0)
		return ret;
	return check_string(ld, s, key, v, f->flags);
}

static int parse_int(struct loader *ld, const config_setting_t *s, const char *key,
		     const struct field *f, void *base)
{
	long long v;
	int ret;

	if ((ret = get_int(ld, s, key, f->min, f->max, &v)) < 0)
		return ret;
	if ((f->flags & F_POW2) && (v & (v - 1)) != 0)
		return fail_at(ld, s, "\"%s\" must be a power of two (got %lld)", key, v);
	*(int *)AT(base, f->off) = (int)v;
	return 0;
}

static int parse_u32(struct loader *ld, const config_setting_t *s, const char *key,
		     const struct field *f, void *base)
{
	long long v;
	int ret;

	if ((ret = get_int(ld, s, key, f->min, f->max, &v)) < 0)
		return ret;
	*(uint32_t *)AT(base, f->off) = (uint32_t)v;
	return 0;
}

static int parse_log_level(struct loader *ld, const config_setting_t *s, const char *key,
			   const struct field *f, void *base)
{
	const char *v;
	int ret, level;

	if ((ret = get_string(ld, s, key, &v)) < 0)
		return ret;
	level = agent_log_level_parse(v);
	if (level < 0)
		return fail_at(ld, s,
			       "\"%s\": unknown level \"%s\" (err, warning, notice, info or debug)",
			       key, v);
	*(int *)AT(base, f->off) = level;
	return 0;
}

static int parse_exception_type(struct loader *ld, const config_setting_t *s, const char *key,
				const struct field *f, void *base)
{
	const char *v;
	int ret;

	if ((ret = get_string(ld, s, key, &v)) < 0)
		return ret;
	for (unsigned int t = 0; t < sizeof(exception_type_names) / sizeof(exception_type_names[0]);
	     t++) {
		if (strcmp(v, exception_type_names[t]) == 0) {
			*(enum exception_type *)AT(base, f->off) = (enum exception_type)t;
			return 0;
		}
	}
	return fail_at(ld, s, "\"%s\": unknown type \"%s\" (auto, af_xdp, virtio-user or tap)", key,
		       v);
}

static int parse_bond_mode(struct loader *ld, const config_setting_t *s, const char *key,
			   const struct field *f, void *base)
{
	const char *v;
	int ret;

	if ((ret = get_string(ld, s, key, &v)) < 0)
		return ret;
	for (unsigned int m = BOND_8023AD; m < sizeof(bond_mode_names) / sizeof(bond_mode_names[0]);
	     m++) {
		if (strcmp(v, bond_mode_names[m]) == 0) {
			*(enum bond_mode *)AT(base, f->off) = (enum bond_mode)m;
			return 0;
		}
	}
	return fail_at(ld, s, "\"%s\": unknown bond mode \"%s\" (802.3ad or active-backup)", key,
		       v);
}

/* metrics.listen: "" (off) or an address and port (listen_addr_parse). */
static int parse_listen(struct loader *ld, const config_setting_t *s, const char *key,
			const struct field *f, void *base)
{
	struct agent_config *cfg = base; /* (a section's key: BASE is the config) */
	const char *v, *why;
	int ret;

	if ((ret = get_string(ld, s, key, &v)) < 0)
		return ret;
	if ((ret = copy_string(ld, s, key, v, AT(base, f->off), f->size)) < 0)
		return ret;
	if (v[0] == '\0')
		return 0;
	if (listen_addr_parse(v, &cfg->metrics.addr, &cfg->metrics.port, &why) < 0)
		return fail_at(ld, s, "\"%s\": \"%s\" %s", key, v, why);
	return 0;
}

/* One address or prefix, as F_NETWORK / F_HOSTADDR say. */
static int parse_one_prefix(struct loader *ld, const config_setting_t *s, const char *key,
			    unsigned int flags, struct ip_prefix *p)
{
	bool want_len = !(flags & F_HOSTADDR);
	char buf[INET6_ADDRSTRLEN + 8];
	const char *v;
	int ret;

	if ((ret = get_string(ld, s, key, &v)) < 0)
		return ret;
	switch (prefix_parse(v, want_len, p)) {
	case PFX_OK:
		break;
	case PFX_BAD_ADDR:
		return fail_at(ld, s, "\"%s\": \"%s\" is not an IPv4 or IPv6 address", key, v);
	case PFX_BAD_LEN:
		return fail_at(
		    ld, s, "\"%s\": bad prefix length in \"%s\" (0-32 for IPv4, 0-128 for IPv6)",
		    key, v);
	case PFX_NEED_LEN:
		return fail_at(ld, s, "\"%s\": \"%s\" needs a prefix length, e.g. \"%s/%s\"", key,
			       v, v, strchr(v, ':') != NULL ? "64" : "24");
	case PFX_LEN_NOT_ALLOWED:
		return fail_at(ld, s, "\"%s\": \"%s\" must be a plain address, without \"/len\"",
			       key, v);
	}
	if (flags & F_NETWORK) {
		struct ip_prefix net = prefix_network(p);

		if (!prefix_same_addr(&net, p))
			return fail_at(ld, s,
				       "\"%s\": \"%s\" has host bits set (did you mean \"%s\"?)",
				       key, v, ip_prefix_fmt(&net, true, buf, sizeof(buf)));
	} else if (want_len && p->len == 0) {
		return fail_at(ld, s,
			       "\"%s\": \"%s\": an interface address needs a prefix length > 0",
			       key, v);
	}
	return 0;
}

static int parse_prefix(struct loader *ld, const config_setting_t *s, const char *key,
			const struct field *f, void *base)
{
	return parse_one_prefix(ld, s, key, f->flags, (struct ip_prefix *)AT(base, f->off));
}

static int parse_prefix_list(struct loader *ld, const config_setting_t *s, const char *key,
			     const struct field *f, void *base)
{
	struct ip_prefix *prefixes = (struct ip_prefix *)AT(base, f->off);
	char ekey[KEY_MAX];
	int ret, n;

	if ((ret = get_list(ld, s, key, f->size, "addresses, e.g. [ \"10.0.0.1/24\" ]", &n)) < 0)
		return ret;
	for (int i = 0; i < n; i++) {
		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i);
		ret = parse_one_prefix(ld, config_setting_get_elem(s, i), ekey, f->flags,
				       &prefixes[i]);
		if (ret < 0)
			return ret;
	}
	*(int *)AT(base, f->count_off) = n;
	return 0;
}

static int parse_ifname_list(struct loader *ld, const config_setting_t *s, const char *key,
			     const struct field *f, void *base)
{
	char(*names)[IFNAMSIZ] = (char(*)[IFNAMSIZ])AT(base, f->off);
	char ekey[KEY_MAX];
	const char *v;
	int ret, n;

	if ((ret = get_list(ld, s, key, f->size, "interface names, e.g. [ \"vm1p\" ]", &n)) < 0)
		return ret;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i);
		if ((ret = get_string(ld, e, ekey, &v)) < 0)
			return ret;
		if ((ret = check_string(ld, e, ekey, v, F_IFNAME)) < 0)
			return ret;
		memcpy(names[i], v, strlen(v) + 1); /* fits: checked by valid_ifname() */
	}
	*(int *)AT(base, f->count_off) = n;
	return 0;
}

static int parse_u32_list(struct loader *ld, const config_setting_t *s, const char *key,
			  const struct field *f, void *base)
{
	uint32_t *values = (uint32_t *)AT(base, f->off);
	char ekey[KEY_MAX];
	long long v;
	int ret, n;

	if ((ret = get_list(ld, s, key, f->size, "integers, e.g. [ 100 ]", &n)) < 0)
		return ret;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i);
		if ((ret = get_int(ld, e, ekey, f->min, f->max, &v)) < 0)
			return ret;
		for (int j = 0; j < i; j++)
			if (values[j] == (uint32_t)v)
				return fail_at(
				    ld, e, "\"%s\": duplicate value %lld (already in \"%s[%d]\")",
				    ekey, v, key, j);
		values[i] = (uint32_t)v;
	}
	*(int *)AT(base, f->count_off) = n;
	return 0;
}

/* EAL options that agentd sets itself from other keys. */
static const char *const eal_args_owned[][2] = {
    {"-l", "dataplane.lcores"},
    {"--lcores", "dataplane.lcores"},
    {"-c", "dataplane.lcores"},
    {"--file-prefix", "dataplane.file_prefix"},
    {"--", "nothing (agentd adds the application arguments itself)"},
};

static int parse_eal_args(struct loader *ld, const config_setting_t *s, const char *key,
			  const struct field *f, void *base)
{
	char **args = (char **)AT(base, f->off);
	int *count = (int *)AT(base, f->count_off);
	char ekey[KEY_MAX];
	const char *v;
	int ret, n;

	if ((ret = get_list(ld, s, key, f->size, "strings, e.g. [ \"--no-huge\" ]", &n)) < 0)
		return ret;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i);
		if ((ret = get_string(ld, e, ekey, &v)) < 0)
			return ret;
		if (v[0] == '\0')
			return fail_at(ld, e, "\"%s\" must not be empty", ekey);
		/* The dataplane's argv buffers hold AGENT_CFG_STR characters. */
		if (strlen(v) >= AGENT_CFG_STR)
			return fail_at(ld, e, "\"%s\" is too long (%zu characters, at most %d)",
				       ekey, strlen(v), AGENT_CFG_STR - 1);
		for (size_t o = 0; o < sizeof(eal_args_owned) / sizeof(eal_args_owned[0]); o++) {
			const char *opt = eal_args_owned[o][0];
			size_t len = strlen(opt);

			if (strcmp(v, opt) == 0 ||
			    (len > 2 && strncmp(v, opt, len) == 0 && v[len] == '='))
				return fail_at(ld, e, "\"%s\": \"%s\" is set by agentd; use %s",
					       ekey, v, eal_args_owned[o][1]);
		}
		args[i] = strdup(v);
		if (args[i] == NULL)
			return -ENOMEM;
		*count = i + 1; /* so that agent_config_free() frees what is there */
	}
	return 0;
}

static int parse_group(struct loader *ld, const config_setting_t *s, const char *key,
		       const struct field *f, void *base);
static int parse_routes(struct loader *ld, const config_setting_t *s, const char *key,
			const struct field *f, void *base);
static int parse_group_list(struct loader *ld, const config_setting_t *s, const char *key,
			    const struct field *f, void *base);
static int check_vlan(struct loader *ld, const config_setting_t *e, const char *ekey, void *base,
		      int i);
static int check_member(struct loader *ld, const config_setting_t *e, const char *ekey, void *base,
			int i);

/* ---- schema ------------------------------------------------------------- */

#define CFG_OFF(member)	 offsetof(struct agent_config, member)
#define CFG_SIZE(member) sizeof(((struct agent_config *)0)->member)
#define CFG_NELEM(member)                                                                          \
	(sizeof(((struct agent_config *)0)->member) / sizeof(((struct agent_config *)0)->member[0]))

#define STR(key, member, fl)                                                                       \
	{                                                                                          \
		.name = key, .parse = parse_string, .off = CFG_OFF(member),                        \
		.size = CFG_SIZE(member), .flags = (fl)                                            \
	}
#define INT(key, member, lo, hi, fl)                                                               \
	{                                                                                          \
		.name = key, .parse = parse_int, .off = CFG_OFF(member), .min = (lo), .max = (hi), \
		.flags = (fl)                                                                      \
	}
#define LIST(key, fn, member, count, fl)                                                           \
	{                                                                                          \
		.name = key, .parse = fn, .off = CFG_OFF(member), .size = CFG_NELEM(member),       \
		.count_off = CFG_OFF(count), .flags = (fl)                                         \
	}
#define GROUP(key, fields, fl)                                                                     \
	{                                                                                          \
		.name = key, .parse = parse_group, .sub = fields, .flags = (fl)                    \
	}
/* A list of groups: MEMBER an array of TYPE, COUNT its int count. */
#define GROUP_LIST(key, member, count, type, fields, hint_, check_)                                \
	{                                                                                          \
		.name = key, .parse = parse_group_list, .off = CFG_OFF(member),                    \
		.size = CFG_NELEM(member), .count_off = CFG_OFF(count), .sub = fields,             \
		.elem_size = sizeof(type), .line_off = offsetof(type, line), .hint = hint_,        \
		.check = check_                                                                    \
	}

static const struct field control_fields[] = {
    STR("socket", control.socket, F_ABSPATH | F_SOCKPATH),
    STR("group", control.group, F_NOSLASH | F_LIVE),
    {0},
};

static const struct field metrics_fields[] = {
    {.name = "listen",
     .parse = parse_listen,
     .off = CFG_OFF(metrics.listen),
     .size = CFG_SIZE(metrics.listen),
     .flags = F_LIVE},
    {0},
};

static const struct field dataplane_fields[] = {
    STR("binary", dataplane.binary, F_NONEMPTY | F_NEXT_DP),
    STR("lcores", dataplane.lcores, F_CPULIST | F_NEXT_DP),
    STR("file_prefix", dataplane.file_prefix, F_NONEMPTY | F_NOSLASH),
    LIST("eal_args", parse_eal_args, dataplane.eal_args, dataplane.n_eal_args, F_NEXT_DP),
    INT("burst", dataplane.burst, 1, 64, F_NEXT_DP),
    INT("mbufs", dataplane.mbufs, 511, 16777215, F_NEXT_DP),
    INT("idle_sleep_max_us", dataplane.idle_sleep_max_us, 0, 10000, F_NEXT_DP),
    {0},
};

#define MEMBER_OFF(member) offsetof(struct member_cfg, member)

/* The entries of "nic.members": offsets relative to struct member_cfg. */
static const struct field members_fields[] = {
    {.name = "device",
     .parse = parse_string,
     .off = MEMBER_OFF(device),
     .size = sizeof(((struct member_cfg *)0)->device),
     .flags = F_REQUIRED | F_NONEMPTY},
    {.name = "kernel_netdev",
     .parse = parse_string,
     .off = MEMBER_OFF(kernel_netdev),
     .size = sizeof(((struct member_cfg *)0)->kernel_netdev),
     .flags = F_REQUIRED | F_IFNAME},
    {0},
};

static const struct field nic_fields[] = {
    STR("device", nic.device, F_NONEMPTY), /* required without members (check_nic) */
    STR("kernel_netdev", nic.kernel_netdev, F_REQUIRED | F_IFNAME),
    STR("kernel_driver", nic.kernel_driver, F_NOSLASH),
    LIST("addresses", parse_prefix_list, nic.addrs, nic.n_addrs, F_LIVE),
    INT("mtu", nic.mtu, 68, 65535, F_NEXT_DP),
    {.name = "bond_mode", .parse = parse_bond_mode, .off = CFG_OFF(nic.bond_mode)},
    GROUP_LIST("members", nic.members, nic.n_members, struct member_cfg, members_fields,
	       "{ device = \"0000:03:00.0\"; kernel_netdev = \"enp3s0f0\"; }", check_member),
    {0},
};

static const struct field exception_fields[] = {
    {.name = "type", .parse = parse_exception_type, .off = CFG_OFF(exception.type)},
    STR("ifname", exception.ifname, F_IFNAME),
    INT("queues", exception.queues, 1, 16, F_NEXT_DP),
    INT("queue_size", exception.queue_size, 64, 4096, F_POW2 | F_NEXT_DP),
    {0},
};

#define BR_OFF(member) offsetof(struct bridge_cfg, member)
#define BR_NELEM(member)                                                                           \
	(sizeof(((struct bridge_cfg *)0)->member) / sizeof(((struct bridge_cfg *)0)->member[0]))

/* The entries of "bridges": offsets relative to struct bridge_cfg. */
static const struct field bridges_fields[] = {
    {.name = "name",
     .parse = parse_string,
     .off = BR_OFF(name),
     .size = sizeof(((struct bridge_cfg *)0)->name),
     .flags = F_REQUIRED | F_IFNAME},
    {.name = "addresses",
     .parse = parse_prefix_list,
     .off = BR_OFF(addrs),
     .size = BR_NELEM(addrs),
     .count_off = BR_OFF(n_addrs)},
    {.name = "ports",
     .parse = parse_ifname_list,
     .off = BR_OFF(ports),
     .size = BR_NELEM(ports),
     .count_off = BR_OFF(n_ports)},
    {0},
};

#define VLAN_OFF(member) offsetof(struct vlan_cfg, member)

/* The entries of "vlans": offsets relative to struct vlan_cfg. */
static const struct field vlans_fields[] = {
    {.name = "id",
     .parse = parse_int,
     .off = VLAN_OFF(id),
     .min = 1,
     .max = 4094,
     .flags = F_REQUIRED},
    {.name = "addresses",
     .parse = parse_prefix_list,
     .off = VLAN_OFF(addrs),
     .size = sizeof(((struct vlan_cfg *)0)->addrs) / sizeof(struct ip_prefix),
     .count_off = VLAN_OFF(n_addrs)},
    {0},
};

static const struct field bridge_fields[] = {
    STR("name", bridge.name, F_IFNAME),
    LIST("addresses", parse_prefix_list, bridge.addrs, bridge.n_addrs, F_LIVE),
    LIST("ports", parse_ifname_list, bridge.ports, bridge.n_ports, F_LIVE),
    {0},
};

static const struct field bpf_fields[] = {
    STR("bpffs", bpf.bpffs, F_ABSPATH),
    STR("pin_name", bpf.pin_name, F_NONEMPTY | F_NOSLASH),
    {0},
};

static const struct field fib_fields[] = {
    {.name = "tables",
     .parse = parse_u32_list,
     .off = CFG_OFF(fib.tables),
     .size = CFG_NELEM(fib.tables),
     .count_off = CFG_OFF(fib.n_tables),
     .min = 1,
     .max = UINT32_MAX,
     .flags = F_NEXT_DP},
    INT("lpm_rules", fib.lpm_rules, 1, 1 << 24, F_NEXT_DP),
    INT("lpm6_rules", fib.lpm6_rules, 1, 1 << 24, F_NEXT_DP),
    INT("neighbours", fib.neighbours, 8, 1 << 24, F_NEXT_DP),
    INT("tbl8s", fib.tbl8s, 0, 1 << 24, F_NEXT_DP),
    INT("tbl8s6", fib.tbl8s6, 0, 1 << 23, F_NEXT_DP),
    INT("netlink_rcvbuf", fib.netlink_rcvbuf, 0, 1 << 30, F_NEXT_DP),
    {0},
};

static const struct field fallback_fields[] = {
    INT("heartbeat_ms", fallback.heartbeat_ms, 10, 60000, F_LIVE),
    INT("heartbeat_misses", fallback.heartbeat_misses, 1, 100, F_LIVE),
    INT("holddown_ms", fallback.holddown_ms, 0, 3600000, F_LIVE),
    INT("backoff_min_ms", fallback.backoff_min_ms, 10, 3600000, F_LIVE),
    INT("backoff_max_ms", fallback.backoff_max_ms, 10, 3600000, F_LIVE),
    INT("crashloop_count", fallback.crashloop_count, 1, 1000, F_LIVE),
    INT("crashloop_window_s", fallback.crashloop_window_s, 1, 86400, F_LIVE),
    {0},
};

#define ROUTE_OFF(member) offsetof(struct route_cfg, member)

/* Offsets relative to struct route_cfg. */
static const struct field route_fields[] = {
    {.name = "dst", .parse = parse_prefix, .off = ROUTE_OFF(dst), .flags = F_REQUIRED | F_NETWORK},
    {.name = "via", .parse = parse_prefix, .off = ROUTE_OFF(via), .flags = F_HOSTADDR},
    {.name = "dev",
     .parse = parse_string,
     .off = ROUTE_OFF(dev),
     .size = sizeof(((struct route_cfg *)0)->dev),
     .flags = F_IFNAME},
    {.name = "metric", .parse = parse_u32, .off = ROUTE_OFF(metric), .min = 0, .max = UINT32_MAX},
    {0},
};

static const struct field root_fields[] = {
    {.name = "log_level", .parse = parse_log_level, .off = CFG_OFF(log_level), .flags = F_LIVE},
    GROUP("control", control_fields, 0),
    GROUP("metrics", metrics_fields, 0),
    GROUP("dataplane", dataplane_fields, 0),
    GROUP("nic", nic_fields, F_REQUIRED),
    GROUP("exception", exception_fields, 0),
    GROUP("bridge", bridge_fields, 0),
    GROUP_LIST("bridges", bridges, n_bridges, struct bridge_cfg, bridges_fields,
	       "{ name = \"...\"; ports = [ ... ]; }", NULL),
    GROUP_LIST("vlans", vlans, n_vlans, struct vlan_cfg, vlans_fields,
	       "{ id = 100; addresses = [ ... ]; }", check_vlan),
    {.name = "routes", .parse = parse_routes, .size = AGENT_CFG_MAX_ROUTES, .flags = F_LIVE},
    GROUP("bpf", bpf_fields, 0),
    GROUP("fib", fib_fields, 0),
    GROUP("fallback", fallback_fields, 0),
    {0},
};

static enum agent_cfg_apply field_apply(const struct field *f);
static void key_join(char *out, size_t len, const char *prefix, const char *name);

void agent_config_keys(void (*fn)(const char *section, const char *key, enum agent_cfg_apply how,
				  void *arg),
		       void *arg)
{
	for (const struct field *f = root_fields; f->name != NULL; f++) {
		fn("", f->name, field_apply(f), arg);
		const struct field *sub = f->parse == parse_routes ? route_fields : f->sub;
		/* (a route's or a bridge's keys: reloaded as the whole list) */
		for (; sub != NULL && sub->name != NULL; sub++) {
			fn(f->name, sub->name,
			   f->parse != parse_group ? field_apply(f) : field_apply(sub), arg);
			if (sub->parse != parse_group_list)
				continue;
			/* nic.members' keys: "nic.members" their section */
			char section[KEY_MAX];
			key_join(section, sizeof(section), f->name, sub->name);
			for (const struct field *e = sub->sub; e->name != NULL; e++)
				fn(section, e->name, field_apply(sub), arg);
		}
	}
}

static void set_defaults(struct agent_config *cfg)
{
	cfg->log_level = AGENT_LOG_INFO;
	snprintf(cfg->control.socket, sizeof(cfg->control.socket), "/run/agentd/agentd.sock");
	cfg->control.gid = -1;
	snprintf(cfg->dataplane.binary, sizeof(cfg->dataplane.binary), "agent-dataplane");
	snprintf(cfg->dataplane.lcores, sizeof(cfg->dataplane.lcores), "0-1");
	snprintf(cfg->dataplane.file_prefix, sizeof(cfg->dataplane.file_prefix), "agent");
	cfg->dataplane.burst = 32;
	cfg->dataplane.mbufs = 8191;
	cfg->dataplane.idle_sleep_max_us = 500;
	cfg->nic.mtu = 1500;
	cfg->exception.type = EXC_AUTO;
	snprintf(cfg->exception.ifname, sizeof(cfg->exception.ifname), "dp0");
	cfg->exception.queues = 1;
	cfg->exception.queue_size = 1024;
	snprintf(cfg->bridge.name, sizeof(cfg->bridge.name), "br-vm");
	snprintf(cfg->bpf.bpffs, sizeof(cfg->bpf.bpffs), "/sys/fs/bpf");
	snprintf(cfg->bpf.pin_name, sizeof(cfg->bpf.pin_name), "agent");
	cfg->fib.lpm_rules = 1048576;
	cfg->fib.lpm6_rules = 262144;
	cfg->fib.neighbours = 4096;
	cfg->fallback.heartbeat_ms = 100;
	cfg->fallback.heartbeat_misses = 3;
	cfg->fallback.holddown_ms = 3000;
	cfg->fallback.backoff_min_ms = 200;
	cfg->fallback.backoff_max_ms = 10000;
	cfg->fallback.crashloop_count = 5;
	cfg->fallback.crashloop_window_s = 60;
}

/* ---- groups ------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[KEY_MAX + 1];

	if (la > KEY_MAX || lb > KEY_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The known key closest to a misspelt NAME, if any is close enough. */
static const char *closest_key(const struct field *fields, const char *name)
{
	size_t best = (strlen(name) + 1) / 2 > 2 ? (strlen(name) + 1) / 2 : 2;
	const char *match = NULL;

	for (const struct field *f = fields; f->name != NULL; f++) {
		size_t d = edit_distance(name, f->name);

		if (d <= best) {
			best = d;
			match = f->name;
		}
	}
	return match;
}

static void key_join(char *out, size_t len, const char *prefix, const char *name)
{
	if (prefix == NULL || prefix[0] == '\0')
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "%s.%s", prefix, name);
}

/* Parse the members of the group S with FIELDS, in file order, so that the
 * first error in the file is the one reported. */
static int parse_members(struct loader *ld, const config_setting_t *s, const char *key,
			 const struct field *fields, void *base)
{
	char mkey[KEY_MAX];
	int ret;

	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, i);
		const char *name = config_setting_name(m);
		const struct field *f;

		for (f = fields; f->name != NULL; f++)
			if (strcmp(f->name, name) == 0)
				break;
		key_join(mkey, sizeof(mkey), key, name);
		if (f->name == NULL) {
			const char *hint = closest_key(fields, name);

			if (hint != NULL)
				return fail_at(ld, m, "unknown key \"%s\" (did you mean \"%s\"?)",
					       mkey, hint);
			return fail_at(ld, m, "unknown key \"%s\"", mkey);
		}
		if ((ret = f->parse(ld, m, mkey, f, base)) < 0)
			return ret;
	}
	for (const struct field *f = fields; f->name != NULL; f++) {
		if (!(f->flags & F_REQUIRED) || config_setting_get_member(s, f->name) != NULL)
			continue;
		key_join(mkey, sizeof(mkey), key, f->name);
		return fail_at(ld, s, "missing required %s \"%s\"",
			       f->parse == parse_group ? "section" : "key", mkey);
	}
	return 0;
}

static int parse_group(struct loader *ld, const config_setting_t *s, const char *key,
		       const struct field *f, void *base)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail_at(ld, s, "\"%s\" must be a group: %s: { ... };", key, key);
	return parse_members(ld, s, key, f->sub, base);
}

static bool route_same(const struct route_cfg *a, const struct route_cfg *b)
{
	return a->dst.len == b->dst.len && a->metric == b->metric &&
	       prefix_same_addr(&a->dst, &b->dst);
}

bool agent_route_same_key(const struct route_cfg *a, const struct route_cfg *b)
{
	return route_same(a, b);
}

bool agent_route_equal(const struct route_cfg *a, const struct route_cfg *b)
{
	return route_same(a, b) && a->has_via == b->has_via &&
	       (!a->has_via || prefix_same_addr(&a->via, &b->via)) && strcmp(a->dev, b->dev) == 0 &&
	       a->protocol == b->protocol;
}

static int parse_routes(struct loader *ld, const config_setting_t *s, const char *key,
			const struct field *f, void *base)
{
	struct agent_config *cfg = base;
	char ekey[KEY_MAX], buf[INET6_ADDRSTRLEN + 8], buf2[INET6_ADDRSTRLEN + 8];
	int ret, n;

	if ((ret = get_list(ld, s, key, f->size, "groups, e.g. ( { dst = ...; }, ... )", &n)) < 0)
		return ret;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		struct route_cfg *r = &cfg->routes[i];
		const config_setting_t *via;

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			return fail_at(ld, e,
				       "\"%s\" must be a group: { dst = \"...\"; via = \"...\"; }",
				       ekey);
		memset(r, 0, sizeof(*r));
		if ((ret = parse_members(ld, e, ekey, route_fields, r)) < 0)
			return ret;
		r->line = (int)line_of(ld, e);
		via = config_setting_get_member(e, "via");
		r->has_via = via != NULL;
		if (r->has_via && r->via.family != r->dst.family)
			return fail_at(ld, via, "\"%s.via\": %s gateway %s for %s destination %s",
				       ekey, family_name(r->via.family),
				       ip_prefix_fmt(&r->via, false, buf, sizeof(buf)),
				       family_name(r->dst.family),
				       ip_prefix_fmt(&r->dst, true, buf2, sizeof(buf2)));
		for (int j = 0; j < i; j++)
			if (route_same(&cfg->routes[j], r))
				return fail_at(
				    ld, e,
				    "\"%s\": duplicate route %s metric %u (already at line %d)",
				    ekey, ip_prefix_fmt(&r->dst, true, buf, sizeof(buf)), r->metric,
				    cfg->routes[j].line);
		cfg->n_routes = i + 1;
	}
	return 0;
}

/* A list of groups, ( { ... }, ... ): each element parsed with F's keys
 * (F->sub) into the array at F->off, its source line recorded, the count
 * kept up to date, and F->check run on it against those before it. */
static int parse_group_list(struct loader *ld, const config_setting_t *s, const char *key,
			    const struct field *f, void *base)
{
	char ekey[KEY_MAX], what[160];
	int ret, n;

	snprintf(what, sizeof(what), "groups, e.g. ( %s )", f->hint);
	if ((ret = get_list(ld, s, key, f->size, what, &n)) < 0)
		return ret;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		char *elem = AT(base, f->off + (size_t)i * f->elem_size);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			return fail_at(ld, e, "\"%s\" must be a group: %s", ekey, f->hint);
		memset(elem, 0, f->elem_size);
		if ((ret = parse_members(ld, e, ekey, f->sub, elem)) < 0)
			return ret;
		*(int *)(elem + f->line_off) = (int)line_of(ld, e);
		*(int *)AT(base, f->count_off) = i + 1;
		if (f->check != NULL && (ret = f->check(ld, e, ekey, base, i)) < 0)
			return ret;
	}
	return 0;
}

static int check_vlan(struct loader *ld, const config_setting_t *e, const char *ekey, void *base,
		      int i)
{
	struct agent_config *cfg = base;
	const struct vlan_cfg *v = &cfg->vlans[i];

	for (int j = 0; j < i; j++)
		if (cfg->vlans[j].id == v->id)
			return fail_at(ld, config_setting_get_member(e, "id"),
				       "\"%s.id\": VLAN %d is already vlans[%d] (line %d)", ekey,
				       v->id, j, cfg->vlans[j].line);
	/* its netdevs: <exception.ifname>.<id>, <nic.kernel_netdev>.<id> */
	const char *parents[] = {cfg->exception.ifname, cfg->nic.kernel_netdev};
	for (int j = 0; j < 2; j++)
		if (strlen(parents[j]) + 1 + snprintf(NULL, 0, "%d", v->id) >= IFNAMSIZ)
			return fail_at(ld, e,
				       "\"%s\": the VLAN netdev %s.%d would be a name of over "
				       "%d characters (shorten %s)",
				       ekey, parents[j], v->id, IFNAMSIZ - 1,
				       j == 0 ? "exception.ifname" : "nic.kernel_netdev");
	return 0;
}

static int check_member(struct loader *ld, const config_setting_t *e, const char *ekey, void *base,
			int i)
{
	struct agent_config *cfg = base;
	const struct member_cfg *m = &cfg->nic.members[i];

	/* DPDK 22.11's bonding PMD sets its MAC on every member, which the
	 * af_xdp PMD cannot take: the bond would not start (EPERM) */
	if (strncmp(m->device, "net_af_xdp", 10) == 0)
		return fail_at(ld, config_setting_get_member(e, "device"),
			       "\"%s.device\": an af_xdp port cannot be a bond member (DPDK's "
			       "bonding PMD sets the bond's MAC on its members, which af_xdp "
			       "cannot take): a PCI NIC",
			       ekey);
	for (int j = 0; j < i; j++)
		if (strcmp(cfg->nic.members[j].device, m->device) == 0)
			return fail_at(ld, config_setting_get_member(e, "device"),
				       "\"%s.device\": %s is already nic.members[%d] (line %d)",
				       ekey, m->device, j, cfg->nic.members[j].line);
	return 0;
}

/* ---- checks across keys ------------------------------------------------- */

/* One configured item with where it came from (S is NULL for a default). */
struct origin {
	const char *name;
	const struct ip_prefix *prefix;
	const config_setting_t *s;
	char key[KEY_MAX];
};

/* A setting by path, or its I-th element when I >= 0. */
static const config_setting_t *lookup(struct loader *ld, const char *path, int i)
{
	const config_setting_t *s = config_lookup(ld->lc, path);

	if (s != NULL && i >= 0)
		s = config_setting_get_elem(s, i);
	return s;
}

static void origin_set(struct origin *o, struct loader *ld, const char *path, int i)
{
	o->s = lookup(ld, path, i);
	if (i >= 0)
		snprintf(o->key, sizeof(o->key), "%s[%d]", path, i);
	else
		snprintf(o->key, sizeof(o->key), "%s", path);
}

/* "LIST[K].MEMBER[I]" (I -1: the member itself). */
static void origin_set_elem(struct origin *o, struct loader *ld, const char *list, int k,
			    const char *member, int i)
{
	const config_setting_t *s = lookup(ld, list, k);

	s = s != NULL ? config_setting_get_member(s, member) : NULL;
	if (s != NULL && i >= 0)
		s = config_setting_get_elem(s, i);
	o->s = s;
	if (i >= 0)
		snprintf(o->key, sizeof(o->key), "%s[%d].%s[%d]", list, k, member, i);
	else
		snprintf(o->key, sizeof(o->key), "%s[%d].%s", list, k, member);
}

static void origin_set_bridges(struct origin *o, struct loader *ld, int k, const char *member,
			       int i)
{
	origin_set_elem(o, ld, "bridges", k, member, i);
}
/* Report the pair at the later of the two lines, naming the other. */
static int fail_pair(struct loader *ld, const struct origin *a, const struct origin *b,
		     const char *what, const char *value)
{
	unsigned int la, lb;
	const char *fa, *fb;
	char at[PATH_MAX + 32];

	/* (lines of the parsed text: the order in the files, includes expanded) */
	if ((a->s != NULL ? raw_line(a->s) : 0) > (b->s != NULL ? raw_line(b->s) : 0)) {
		const struct origin *t = a;
		a = b;
		b = t;
	}
	fa = where(ld, a->s, &la);
	fb = where(ld, b->s, &lb);
	if (a->s == NULL)
		snprintf(at, sizeof(at), "default");
	else if (strcmp(fa, fb) != 0)
		snprintf(at, sizeof(at), "%s:%u", fa, la);
	else
		snprintf(at, sizeof(at), "line %u", la);
	return fail_at(ld, b->s, "\"%s\": duplicate %s %s, already used by \"%s\" (%s)", b->key,
		       what, value, a->key, at);
}

/* No address may be configured twice, on the NIC or the bridge: the kernel
 * would refuse the second one and the two roles would fight over it. */
static int check_addresses(struct loader *ld)
{
	const struct agent_config *cfg = ld->cfg;
	struct origin all[(1 + AGENT_CFG_MAX_BRIDGES + AGENT_CFG_MAX_VLANS) * AGENT_CFG_MAX_ADDRS];
	char buf[INET6_ADDRSTRLEN + 8];
	int n = 0;

	for (int i = 0; i < cfg->nic.n_addrs; i++) {
		all[n].prefix = &cfg->nic.addrs[i];
		origin_set(&all[n++], ld, "nic.addresses", i);
	}
	for (int i = 0; i < cfg->bridge.n_addrs; i++) {
		all[n].prefix = &cfg->bridge.addrs[i];
		origin_set(&all[n++], ld, "bridge.addresses", i);
	}
	for (int k = 0; k < cfg->n_bridges; k++)
		for (int i = 0; i < cfg->bridges[k].n_addrs; i++) {
			all[n].prefix = &cfg->bridges[k].addrs[i];
			origin_set_bridges(&all[n++], ld, k, "addresses", i);
		}
	for (int k = 0; k < cfg->n_vlans; k++)
		for (int i = 0; i < cfg->vlans[k].n_addrs; i++) {
			all[n].prefix = &cfg->vlans[k].addrs[i];
			origin_set_elem(&all[n++], ld, "vlans", k, "addresses", i);
		}
	for (int j = 1; j < n; j++)
		for (int i = 0; i < j; i++)
			if (prefix_same_addr(all[i].prefix, all[j].prefix))
				return fail_pair(
				    ld, &all[i], &all[j], "address",
				    ip_prefix_fmt(all[j].prefix, false, buf, sizeof(buf)));
	return 0;
}

/* Each interface agentd manages has one role: a bridge port that is also the
 * NIC or the exception netdev would loop traffic. */
static int check_ifnames(struct loader *ld)
{
	const struct agent_config *cfg = ld->cfg;
	struct origin
	    all[2 + AGENT_CFG_MAX_MEMBERS + AGENT_CFG_MAX_BRIDGES * (1 + AGENT_CFG_MAX_PORTS)];
	int n_named, n = 0;

	all[n].name = cfg->nic.kernel_netdev;
	origin_set(&all[n++], ld, "nic.kernel_netdev", -1);
	for (int k = 0; k < cfg->nic.n_members; k++) {
		all[n].name = cfg->nic.members[k].kernel_netdev;
		origin_set_elem(&all[n++], ld, "nic.members", k, "kernel_netdev", -1);
	}
	all[n].name = cfg->exception.ifname;
	origin_set(&all[n++], ld, "exception.ifname", -1);
	all[n].name = cfg->bridge.name;
	origin_set(&all[n++], ld, "bridge.name", -1);
	for (int k = 0; k < cfg->n_bridges; k++) {
		all[n].name = cfg->bridges[k].name;
		origin_set_bridges(&all[n++], ld, k, "name", -1);
	}
	n_named = n;
	for (int i = 0; i < cfg->bridge.n_ports; i++) {
		all[n].name = cfg->bridge.ports[i];
		origin_set(&all[n++], ld, "bridge.ports", i);
	}
	for (int k = 0; k < cfg->n_bridges; k++)
		for (int i = 0; i < cfg->bridges[k].n_ports; i++) {
			all[n].name = cfg->bridges[k].ports[i];
			origin_set_bridges(&all[n++], ld, k, "ports", i);
		}
	for (int j = 1; j < n; j++)
		for (int i = 0; i < j; i++)
			if (strcmp(all[i].name, all[j].name) == 0)
				return fail_pair(ld, &all[i], &all[j],
						 j >= n_named && i >= n_named ? "bridge port"
									      : "interface",
						 all[j].name);
	return 0;
}

/* control.group: a group of this machine (name, or a number). */
static int check_group(struct loader *ld)
{
	struct agent_config *cfg = ld->cfg;
	const char *g = cfg->control.group;
	struct group *gr;
	char *end;
	unsigned long n;

	cfg->control.gid = -1;
	if (g[0] == '\0')
		return 0;
	n = strtoul(g, &end, 10);
	if (isdigit((unsigned char)g[0]) && *end == '\0' && n < 0x7fffffff) {
		cfg->control.gid = (int)n;
		return 0;
	}
	gr = getgrnam(g);
	if (gr == NULL)
		return fail_at(ld, lookup(ld, "control.group", -1),
			       "\"control.group\": no group \"%s\" on this machine", g);
	cfg->control.gid = (int)gr->gr_gid;
	return 0;
}

/* nic.device, or nic.members with nic.bond_mode: one NIC or a bond. */
static int check_nic(struct loader *ld)
{
	const struct agent_config *cfg = ld->cfg;
	const config_setting_t *dev = lookup(ld, "nic.device", -1);

	if (cfg->nic.n_members == 0) {
		if (dev == NULL)
			return fail_at(ld, lookup(ld, "nic", -1),
				       "missing required key \"nic.device\" (or \"nic.members\" "
				       "and \"nic.bond_mode\" for a bonded uplink)");
		if (cfg->nic.bond_mode != BOND_NONE)
			return fail_at(ld, lookup(ld, "nic.bond_mode", -1),
				       "\"nic.bond_mode\" without \"nic.members\": a bond of "
				       "which NICs?");
		return 0;
	}
	if (dev != NULL)
		return fail_at(ld, dev,
			       "\"nic.device\" and \"nic.members\": one NIC or a bond of "
			       "members, not both");
	if (cfg->nic.bond_mode == BOND_NONE)
		return fail_at(ld, lookup(ld, "nic.members", -1),
			       "\"nic.members\" needs \"nic.bond_mode\" (\"802.3ad\" or "
			       "\"active-backup\")");
	return 0;
}

static int check_cross(struct loader *ld)
{
	const struct agent_config *cfg = ld->cfg;
	int ret;

	if ((ret = check_group(ld)) < 0)
		return ret;
	if ((ret = check_nic(ld)) < 0)
		return ret;

	if ((ret = check_addresses(ld)) < 0)
		return ret;
	if ((ret = check_ifnames(ld)) < 0)
		return ret;
	/* IPv6 needs a link MTU of at least 1280 (RFC 8200). */
	for (int i = 0; i < cfg->nic.n_addrs; i++) {
		if (cfg->nic.addrs[i].family == AF_INET6 && cfg->nic.mtu < 1280) {
			const config_setting_t *s = lookup(ld, "nic.mtu", -1);

			return fail_at(
			    ld, s != NULL ? s : lookup(ld, "nic", -1),
			    "\"nic.mtu\" must be at least 1280 when \"nic.addresses\" has "
			    "IPv6 addresses (got %d)",
			    cfg->nic.mtu);
		}
	}
	/* a sleeping lcore still turns many times per heartbeat */
	if ((long)cfg->dataplane.idle_sleep_max_us * 4 > (long)cfg->fallback.heartbeat_ms * 1000) {
		const config_setting_t *s = lookup(ld, "dataplane.idle_sleep_max_us", -1);

		return fail_at(ld, s != NULL ? s : lookup(ld, "fallback.heartbeat_ms", -1),
			       "\"dataplane.idle_sleep_max_us\" (%d) must be at most a quarter of "
			       "\"fallback.heartbeat_ms\" (%d ms)",
			       cfg->dataplane.idle_sleep_max_us, cfg->fallback.heartbeat_ms);
	}
	if (cfg->fallback.backoff_max_ms < cfg->fallback.backoff_min_ms) {
		const config_setting_t *s = lookup(ld, "fallback.backoff_max_ms", -1);

		return fail_at(ld, s != NULL ? s : lookup(ld, "fallback.backoff_min_ms", -1),
			       "\"fallback.backoff_max_ms\" (%d) must not be below "
			       "\"fallback.backoff_min_ms\" (%d)",
			       cfg->fallback.backoff_max_ms, cfg->fallback.backoff_min_ms);
	}
	return 0;
}

/* ---- this host (warnings) ---------------------------------------------- */

static void warn_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	char msg[PATH_MAX + 512];
	va_list ap;

	va_start(ap, fmt);
	format_at(ld, s, msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ld->opts->warn(ld->opts->warn_arg, msg);
}

/* nic.device as a PCI address in sysfs form ("0000:03:00.0"), as agentd
 * hands it to EAL with -a; false for vdev arguments. */
static bool device_pci_address(const char *dev, char *addr, size_t len)
{
	unsigned int d, b, s, f;

	if (sscanf(dev, "%x:%x:%x.%u", &d, &b, &s, &f) == 4) {
		snprintf(addr, len, "%04x:%02x:%02x.%u", d, b, s, f);
		return true;
	}
	if (sscanf(dev, "%x:%x.%u", &b, &s, &f) == 3) {
		snprintf(addr, len, "0000:%02x:%02x.%u", b, s, f);
		return true;
	}
	return false;
}

/* The netdev a vdev's "iface=NAME" argument names ("net_af_xdp0,iface=nic0"). */
static bool device_iface(const char *dev, char *name, size_t len)
{
	for (const char *arg = strchr(dev, ','); arg != NULL; arg = strchr(arg + 1, ',')) {
		if (strncmp(arg + 1, "iface=", 6) == 0) {
			snprintf(name, len, "%.*s", (int)strcspn(arg + 7, ","), arg + 7);
			return name[0] != '\0';
		}
	}
	return false;
}

/* Interfaces and devices the file names that this host does not have: only
 * warnings, the file may be meant for another host (--check-config). What
 * agentd creates (the bridge, the exception netdev) is not looked for. */
static void check_host(struct loader *ld)
{
	const struct agent_config *cfg = ld->cfg;
	char name[AGENT_CFG_STR], path[PATH_MAX];
	struct stat st;

	/* (a bond's kernel_netdev is agentd's to make) */
	if (cfg->nic.n_members == 0 && if_nametoindex(cfg->nic.kernel_netdev) == 0)
		warn_at(ld, lookup(ld, "nic.kernel_netdev", -1),
			"warning: \"nic.kernel_netdev\": no interface \"%s\" on this host",
			cfg->nic.kernel_netdev);
	for (int k = -1; k < cfg->nic.n_members; k++) {
		const char *dev = k < 0 ? cfg->nic.device : cfg->nic.members[k].device;
		const config_setting_t *s =
		    k < 0 ? lookup(ld, "nic.device", -1) : lookup(ld, "nic.members", k);
		char key[32];

		if (k < 0 && cfg->nic.n_members > 0)
			continue;
		if (k < 0)
			snprintf(key, sizeof(key), "nic.device");
		else
			snprintf(key, sizeof(key), "nic.members[%d].device", k);
		if (device_pci_address(dev, name, sizeof(name))) {
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", name);
			if (stat(path, &st) < 0)
				warn_at(ld, s, "warning: \"%s\": no PCI device %s on this host",
					key, name);
		} else if (device_iface(dev, name, sizeof(name)) &&
			   (strlen(name) >= IFNAMSIZ || if_nametoindex(name) == 0)) {
			warn_at(ld, s, "warning: \"%s\": no interface \"%s\" (iface=) on this host",
				key, name);
		}
	}
	for (int i = 0; i < cfg->bridge.n_ports; i++)
		if (if_nametoindex(cfg->bridge.ports[i]) == 0)
			warn_at(ld, lookup(ld, "bridge.ports", i),
				"warning: \"bridge.ports[%d]\": no interface \"%s\" on this host",
				i, cfg->bridge.ports[i]);
	for (int i = 0; i < cfg->n_routes; i++) {
		const char *dev = cfg->routes[i].dev;

		if (dev[0] == '\0' || strcmp(dev, cfg->exception.ifname) == 0 ||
		    strcmp(dev, cfg->bridge.name) == 0 || if_nametoindex(dev) != 0)
			continue;
		warn_at(ld, lookup(ld, "routes", i),
			"warning: \"routes[%d].dev\": no interface \"%s\" on this host", i, dev);
	}
}

/* ---- entry points ------------------------------------------------------- */

/* ---- reload: what changed and what applies -------------------------------- */

static bool routes_equal(const struct agent_config *a, const struct agent_config *b)
{
	if (a->n_routes != b->n_routes)
		return false;
	for (int i = 0; i < a->n_routes; i++)
		if (!agent_route_equal(&a->routes[i], &b->routes[i]))
			return false;
	return true;
}

static bool eal_args_equal(const struct agent_config *a, const struct agent_config *b)
{
	if (a->dataplane.n_eal_args != b->dataplane.n_eal_args)
		return false;
	for (int i = 0; i < a->dataplane.n_eal_args; i++)
		if (strcmp(a->dataplane.eal_args[i], b->dataplane.eal_args[i]) != 0)
			return false;
	return true;
}

/* Bytes of F's value at its offset (the lists: every slot, unused ones are
 * zero: the loader starts from a zeroed struct). */
static size_t value_size(const struct field *f)
{
	if (f->parse == parse_string || f->parse == parse_listen)
		return f->size; /* (listen: addr and port follow from it) */
	if (f->parse == parse_prefix_list)
		return f->size * sizeof(struct ip_prefix);
	if (f->parse == parse_ifname_list)
		return f->size * IFNAMSIZ;
	if (f->parse == parse_u32_list)
		return f->size * sizeof(uint32_t);
	if (f->parse == parse_exception_type)
		return sizeof(enum exception_type);
	if (f->parse == parse_bond_mode)
		return sizeof(enum bond_mode);
	if (f->parse == parse_group_list)
		return f->size * f->elem_size;
	return sizeof(int); /* parse_int, parse_log_level */
}

/* A list of groups, element by element (their source lines aside). */
static bool group_list_equal(const struct field *f, const struct agent_config *a,
			     const struct agent_config *b)
{
	int n = *(const int *)AT(a, f->count_off);

	if (n != *(const int *)AT(b, f->count_off))
		return false;
	for (int i = 0; i < n; i++) {
		const char *x = AT(a, f->off + (size_t)i * f->elem_size);
		const char *y = AT(b, f->off + (size_t)i * f->elem_size);

		if (memcmp(x, y, f->line_off) != 0 ||
		    memcmp(x + f->line_off + sizeof(int), y + f->line_off + sizeof(int),
			   f->elem_size - f->line_off - sizeof(int)) != 0)
			return false;
	}
	return true;
}

static bool field_equal(const struct field *f, const struct agent_config *a,
			const struct agent_config *b)
{
	if (f->parse == parse_routes)
		return routes_equal(a, b);
	if (f->parse == parse_group_list)
		return group_list_equal(f, a, b);
	if (f->parse == parse_eal_args)
		return eal_args_equal(a, b);
	if (f->count_off != 0 && memcmp(AT(a, f->count_off), AT(b, f->count_off), sizeof(int)) != 0)
		return false;
	return memcmp(AT(a, f->off), AT(b, f->off), value_size(f)) == 0;
}

/* NEXT's value of F becomes CUR's (never for routes and eal_args: both are
 * live or next-start keys). */
static void field_keep(const struct field *f, struct agent_config *next,
		       const struct agent_config *cur)
{
	if (f->count_off != 0)
		memcpy(AT(next, f->count_off), AT(cur, f->count_off), sizeof(int));
	memcpy(AT(next, f->off), AT(cur, f->off), value_size(f));
}

static enum agent_cfg_apply field_apply(const struct field *f)
{
	return f->flags & F_LIVE      ? CFG_APPLY_LIVE
	       : f->flags & F_NEXT_DP ? CFG_APPLY_DATAPLANE
				      : CFG_APPLY_AGENTD;
}

typedef void (*change_fn)(const char *key, enum agent_cfg_apply how, void *arg);

/* KEEP: NEXT gets CUR's value of the keys only a restart of agentd changes. */
static int merge_field(const struct field *k, const char *section, struct agent_config *next,
		       const struct agent_config *cur, bool keep, change_fn fn, void *arg)
{
	char key[KEY_MAX];

	if (field_equal(k, next, cur))
		return 0;
	key_join(key, sizeof(key), section, k->name);
	if (fn != NULL)
		fn(key, field_apply(k), arg);
	if (keep && field_apply(k) == CFG_APPLY_AGENTD)
		field_keep(k, next, cur);
	return 1;
}

static int merge(struct agent_config *next, const struct agent_config *cur, bool keep, change_fn fn,
		 void *arg)
{
	int changed = 0;

	for (const struct field *f = root_fields; f->name != NULL; f++) {
		if (f->parse != parse_group) {
			changed += merge_field(f, "", next, cur, keep, fn, arg);
			continue;
		}
		for (const struct field *k = f->sub; k->name != NULL; k++)
			changed += merge_field(k, f->name, next, cur, keep, fn, arg);
	}
	return changed;
}

int agent_config_merge(struct agent_config *next, const struct agent_config *cur, change_fn fn,
		       void *arg)
{
	return merge(next, cur, true, fn, arg);
}

int agent_config_diff(const struct agent_config *a, const struct agent_config *b, change_fn fn,
		      void *arg)
{
	/* (nothing is written without KEEP) */
	return merge((struct agent_config *)a, b, false, fn, arg);
}

int agent_config_dup(struct agent_config *dst, const struct agent_config *src)
{
	memcpy(dst, src, sizeof(*dst));
	for (int i = 0; i < src->dataplane.n_eal_args; i++) {
		dst->dataplane.eal_args[i] = strdup(src->dataplane.eal_args[i]);
		if (dst->dataplane.eal_args[i] == NULL) {
			dst->dataplane.n_eal_args = i;
			agent_config_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

const char *agent_cfg_apply_name(enum agent_cfg_apply how)
{
	switch (how) {
	case CFG_APPLY_LIVE:
		return "live";
	case CFG_APPLY_DATAPLANE:
		return "dataplane_restart";
	case CFG_APPLY_AGENTD:
		return "agentd_restart";
	}
	return "?";
}

void agent_config_free(struct agent_config *cfg)
{
	if (cfg == NULL)
		return;
	for (int i = 0; i < cfg->dataplane.n_eal_args && i < AGENT_CFG_MAX_EAL_ARGS; i++) {
		free(cfg->dataplane.eal_args[i]);
		cfg->dataplane.eal_args[i] = NULL;
	}
	cfg->dataplane.n_eal_args = 0;
}

/* Parse and check the text of SRC (named NAME) into CFG. */
static int load(struct cfg_source *src, const char *name, const struct agent_config_opts *opts,
		struct agent_config *cfg, char *err, size_t errlen)
{
	struct loader ld = {
	    .file = name, .src = src, .opts = opts, .err = err, .errlen = err ? errlen : 0};
	config_t lc;
	int ret;

	ld.cfg = calloc(1, sizeof(*ld.cfg));
	if (ld.cfg == NULL)
		return -ENOMEM;
	set_defaults(ld.cfg);
	snprintf(ld.cfg->path, sizeof(ld.cfg->path), "%s", name);

	config_init(&lc);
	ld.lc = &lc;
	/* Every @include was expanded in SRC: one libconfig still finds would
	 * be one the scan missed, and must not be opened (from the cwd). */
	config_set_include_dir(&lc, "/dev/null");
	if (!config_read_string(&lc, src->text)) {
		unsigned int line;
		const char *file =
		    cfg_source_where(src, (unsigned int)config_error_line(&lc), &line);
		const char *text = config_error_text(&lc) ? config_error_text(&lc) : "syntax error";

		ret = -EINVAL;
		if (ld.errlen > 0 && line > 0)
			snprintf(ld.err, ld.errlen, "%s:%u: %s", file, line, text);
		else if (ld.errlen > 0)
			snprintf(ld.err, ld.errlen, "%s: %s", file, text);
		if (ld.errlen > 0)
			one_line(ld.err);
		goto out;
	}
	ret = parse_members(&ld, config_root_setting(&lc), "", root_fields, ld.cfg);
	if (ret == 0)
		ret = check_cross(&ld);
	if (ret == -ENOMEM && ld.errlen > 0)
		snprintf(ld.err, ld.errlen, "%s: out of memory", name);
	if (ret == 0 && opts != NULL && opts->check_host && opts->warn != NULL)
		check_host(&ld);
	if (ret == 0) {
		memcpy(cfg, ld.cfg, sizeof(*cfg));
		ld.cfg->dataplane.n_eal_args = 0; /* now owned by CFG */
	}
out:
	config_destroy(&lc);
	agent_config_free(ld.cfg);
	free(ld.cfg);
	return ret;
}

int agent_config_load_ex(const char *file, const struct agent_config_opts *opts,
			 struct agent_config *cfg, char *err, size_t errlen)
{
	struct cfg_source src;
	int ret;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (file == NULL || cfg == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "no configuration file given");
		return -EINVAL;
	}
	if (strlen(file) >= sizeof(cfg->path)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: path too long", file);
		return -ENAMETOOLONG;
	}
	ret = cfg_source_read_file(&src, file, err, errlen);
	if (ret == 0)
		ret = load(&src, file, opts, cfg, err, errlen);
	cfg_source_free(&src);
	return ret;
}

/* On success CFG is overwritten (its previous eal_args are not freed: free
 * them first when reloading into the same struct); on failure it is left
 * exactly as it was. */
int agent_config_load(const char *file, struct agent_config *cfg, char *err, size_t errlen)
{
	return agent_config_load_ex(file, NULL, cfg, err, errlen);
}

int agent_config_load_buffer(const char *name, const void *buf, size_t len, const char *include_dir,
			     struct agent_config *cfg, char *err, size_t errlen)
{
	struct cfg_source src;
	int ret;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (name == NULL || buf == NULL || cfg == NULL || strlen(name) >= sizeof(cfg->path)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "bad arguments");
		return -EINVAL;
	}
	ret = cfg_source_read_buffer(&src, name, buf, len, include_dir, err, errlen);
	if (ret == 0)
		ret = load(&src, name, NULL, cfg, err, errlen);
	cfg_source_free(&src);
	return ret;
}
