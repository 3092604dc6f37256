/* SPDX-License-Identifier: BSD-3-Clause */
/* The configuration text, read and expanded before libconfig parses it: see
 * config_source.h. The scan follows libconfig 1.5's scanner (lib/scanner.l)
 * closely enough to find what it would find: @include only at the start of
 * a line outside comments and strings, and the integer tokens as it cuts
 * them. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TYPE "config"
#include <agent_log.h>

#include "config_source.h"

/* Lines of src->text from OUT_LINE on come from line LINE of files[FILE]. */
struct cfg_segment {
	unsigned int out_line;
	int file;
	unsigned int line;
};

static int fail(struct cfg_source *src, const char *file, unsigned int line, int ret,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(struct cfg_source *src, const char *file, unsigned int line, int ret,
		const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	if (src->errlen == 0)
		return ret;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(src->err, src->errlen, "%s:%u: %s", file, line, msg);
	else
		snprintf(src->err, src->errlen, "%s: %s", file, msg);
	/* one line, whatever the file holds (a file name may too) */
	for (char *c = src->err; *c != '\0'; c++)
		if (iscntrl((unsigned char)*c))
			*c = '?';
	return ret;
}

static int add_file(struct cfg_source *src, const char *name)
{
	char **files = realloc(src->files, (src->n_files + 1) * sizeof(*files));

	if (files == NULL)
		return -ENOMEM;
	src->files = files;
	files[src->n_files] = strdup(name);
	if (files[src->n_files] == NULL)
		return -ENOMEM;
	return src->n_files++;
}

static int map_add(struct cfg_source *src, int file, unsigned int line)
{
	struct cfg_segment *s;

	/* a segment that holds no line yet is replaced */
	if (src->n_map > 0 && src->map[src->n_map - 1].out_line == src->out_line) {
		src->map[src->n_map - 1].file = file;
		src->map[src->n_map - 1].line = line;
		return 0;
	}
	if (src->n_map == src->cap_map) {
		int cap = src->cap_map ? src->cap_map * 2 : 8;

		s = realloc(src->map, cap * sizeof(*s));
		if (s == NULL)
			return -ENOMEM;
		src->map = s;
		src->cap_map = cap;
	}
	src->map[src->n_map++] = (struct cfg_segment){src->out_line, file, line};
	return 0;
}

static int out_put(struct cfg_source *src, const char *p, size_t n)
{
	if (src->len + n + 1 > src->cap) {
		size_t cap = src->cap ? src->cap : 4096;
		char *t;

		while (cap < src->len + n + 1)
			cap *= 2;
		t = realloc(src->text, cap);
		if (t == NULL)
			return -ENOMEM;
		src->text = t;
		src->cap = cap;
	}
	memcpy(src->text + src->len, p, n);
	src->len += n;
	src->text[src->len] = '\0';
	for (const char *nl = memchr(p, '\n', n); nl != NULL;
	     nl = memchr(nl + 1, '\n', n - (size_t)(nl + 1 - p)))
		src->out_line++;
	return 0;
}

/* Read the regular file open on FD (at most MAX bytes) into *BUF. */
static int read_fd(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t cap, n = 0;
	char *b;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	/* FIFOs, sockets and devices could block or never end */
	if (!S_ISREG(st.st_mode))
		return -ENOTSUP;
	if ((unsigned long long)st.st_size > max)
		return -EFBIG;
	/* the size may change under us: never trust it beyond MAX */
	cap = (size_t)st.st_size + 1;
	b = malloc(cap + 1);
	if (b == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *t;

			if (cap > max) {
				free(b);
				return -EFBIG;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			t = realloc(b, cap + 1);
			if (t == NULL) {
				free(b);
				return -ENOMEM;
			}
			b = t;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int ret = -errno;

			free(b);
			return ret;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(b);
		return -EFBIG;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* Open and read PATH; O_NONBLOCK so that opening a FIFO cannot hang. */
static int read_path(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int ret;

	if (fd < 0)
		return -errno;
	ret = read_fd(fd, max, buf, len);
	close(fd);
	return ret;
}

static const char *read_error(int ret)
{
	return ret == -ENOTSUP ? "not a regular file" : strerror(-ret);
}

static int scan(struct cfg_source *src, int file, const char *t, size_t n, int depth);

/* @include "PATH" (already unescaped), found at LINE of files[FILE]. */
static int include(struct cfg_source *src, int file, unsigned int line, const char *path, int depth)
{
	const char *name = src->files[file];
	char full[PATH_MAX];
	char *buf = NULL;
	size_t len;
	int ret, inc;

	if (src->dir == NULL)
		return fail(src, name, line, -EINVAL, "@include is not allowed here");
	/* The policy: a relative path inside the directory of the top file. */
	if (path[0] == '\0' || path[0] == '/')
		return fail(src, name, line, -EINVAL,
			    "@include \"%s\": must be a path relative to %s (the configuration's "
			    "directory)",
			    path, src->dir);
	for (const char *c = path; *c != '\0'; c = strchr(c, '/') ? strchr(c, '/') + 1 : "")
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			return fail(src, name, line, -EINVAL,
				    "@include \"%s\": \"..\" is not allowed (only files under %s)",
				    path, src->dir);
	if (depth >= CFG_MAX_DEPTH)
		return fail(src, name, line, -EINVAL,
			    "@include \"%s\": nested more than %d deep (does a file include "
			    "itself?)",
			    path, CFG_MAX_DEPTH);
	if (++src->n_includes > CFG_MAX_INCLUDES)
		return fail(src, name, line, -EINVAL, "more than %d @include directives",
			    CFG_MAX_INCLUDES);
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", src->dir, path) >= sizeof(full))
		return fail(src, name, line, -ENAMETOOLONG, "@include \"%s\": path too long", path);
	ret = read_path(full, CFG_MAX_SIZE - src->total, &buf, &len);
	if (ret == -EFBIG)
		return fail(
		    src, name, line, ret,
		    "@include \"%s\": the configuration is too large (at most %d bytes with "
		    "its @include files)",
		    path, CFG_MAX_SIZE);
	if (ret < 0)
		return fail(src, name, line, ret == -ENOMEM ? ret : -EINVAL,
			    "@include \"%s\": cannot read %s: %s", path, full, read_error(ret));
	src->total += len;
	inc = add_file(src, full);
	ret = inc < 0 ? inc : scan(src, inc, buf, len, depth + 1);
	free(buf);
	if (ret < 0)
		return ret;
	/* the including file goes on from a line of its own */
	if (src->len > 0 && src->text[src->len - 1] != '\n' && (ret = out_put(src, "\n", 1)) < 0)
		return ret;
	return map_add(src, file, line);
}

/* The length of an @include directive at T (the start of a line), up to the
 * opening quote included; 0 if there is none. */
static size_t include_open(const char *t, size_t n)
{
	size_t i = 0;

	while (i < n && (t[i] == ' ' || t[i] == '\t'))
		i++;
	if (n - i < 8 || memcmp(t + i, "@include", 8) != 0)
		return 0;
	i += 8;
	if (i >= n || (t[i] != ' ' && t[i] != '\t'))
		return 0;
	while (i < n && (t[i] == ' ' || t[i] == '\t'))
		i++;
	return i < n && t[i] == '"' ? i + 1 : 0;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '*';
}

/* The token T[0..LEN) for a message: cut, the file may hold anything. */
#define TOK_FMT	      "%.*s%s"
#define TOK_ARG(t, l) (int)((l) > 24 ? 24 : (l)), (t), (l) > 24 ? "..." : ""

/* A number at T (libconfig's integer, integer64, hex, hex64 and float
 * tokens). libconfig 1.5 stores an integer without an L suffix in a C int,
 * silently cut to 32 bits ("mtu = 4294968796" reads as 1500), and saturates
 * or wraps beyond 64 bits: refuse both. Returns its length or -EINVAL. */
static long number(struct cfg_source *src, const char *name, unsigned int line, const char *t,
		   size_t n)
{
	size_t i = 0, start, end;
	bool is_hex = false, is_long = false, neg = false;
	unsigned long long v = 0;

	if (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-';
		i++;
	}
	/* (a sign never starts a hex token: "-0x10" is "-0" and a name) */
	if (i == 0 && n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') &&
	    isxdigit((unsigned char)t[2])) {
		is_hex = true;
		i = 2;
	}
	start = i;
	while (i < n && (is_hex ? isxdigit((unsigned char)t[i]) : isdigit((unsigned char)t[i])))
		i++;
	end = i;
	if (!is_hex) {
		bool is_float = false;

		if (i < n && t[i] == '.') {
			is_float = true;
			for (i++; i < n && isdigit((unsigned char)t[i]);)
				i++;
		}
		if (i < n && (t[i] == 'e' || t[i] == 'E')) {
			size_t e = i + 1;

			if (e < n && (t[e] == '-' || t[e] == '+'))
				e++;
			if (e < n && isdigit((unsigned char)t[e])) {
				is_float = true;
				for (i = e; i < n && isdigit((unsigned char)t[i]);)
					i++;
			}
		}
		if (is_float)
			return (long)i; /* a float: never cut */
	}
	if (i < n && t[i] == 'L') {
		is_long = true;
		i++;
		if (i < n && t[i] == 'L')
			i++;
	}
	/* the value, saturated: leading zeros are allowed */
	for (size_t d = start; d < end; d++) {
		unsigned int digit = isdigit((unsigned char)t[d])
					 ? (unsigned int)(t[d] - '0')
					 : (unsigned int)(tolower((unsigned char)t[d]) - 'a' + 10);

		if (v > (ULLONG_MAX - digit) / (is_hex ? 16 : 10)) {
			v = ULLONG_MAX;
			break;
		}
		v = v * (is_hex ? 16 : 10) + digit;
	}
	/* hex is read unsigned, then stored signed */
	if (v > (unsigned long long)LLONG_MAX + (neg && !is_hex))
		return fail(src, name, line, -EINVAL,
			    "integer " TOK_FMT " is out of range (integers are at most 64 bits)",
			    TOK_ARG(t, i));
	if (!is_long && v > (unsigned long long)INT_MAX + neg)
		return fail(src, name, line, -EINVAL,
			    "integer " TOK_FMT " does not fit in 32 bits: write it " TOK_FMT
			    "L (without the L, libconfig would silently cut it)",
			    TOK_ARG(t, i), TOK_ARG(t, i));
	return (long)i;
}

/* Copy T[0..N) (files[FILE]) into src->text, expanding @include. */
static int scan(struct cfg_source *src, int file, const char *t, size_t n, int depth)
{
	const char *name = src->files[file];
	const char *nul = memchr(t, '\0', n);
	unsigned int line = 1, open_line = 0;
	size_t i = 0, copied = 0;
	bool bol = true;
	int ret;

	if (nul != NULL) {
		for (const char *c = t; c < nul; c++)
			line += *c == '\n';
		return fail(src, name, line, -EINVAL, "NUL byte: this is not a text file");
	}
	if ((ret = map_add(src, file, 1)) < 0)
		return ret;
	while (i < n) {
		char c = t[i];
		size_t k;

		if (bol && (k = include_open(t + i, n - i)) > 0) {
			char path[PATH_MAX];
			size_t plen = 0;

			if ((ret = out_put(src, t + copied, i - copied)) < 0)
				return ret;
			/* libconfig's INCLUDE state: \\ and \" escapes, up to '"' */
			for (i += k; i < n && t[i] != '"'; i++) {
				if (t[i] == '\\' && i + 1 < n &&
				    (t[i + 1] == '\\' || t[i + 1] == '"'))
					i++;
				else if (t[i] == '\\' || t[i] == '\n' ||
					 iscntrl((unsigned char)t[i]))
					return fail(src, name, line, -EINVAL,
						    "@include: bad character in the path");
				if (plen + 1 >= sizeof(path))
					return fail(src, name, line, -EINVAL,
						    "@include: path too long");
				path[plen++] = t[i];
			}
			if (i >= n)
				return fail(src, name, line, -EINVAL,
					    "@include: the path has no closing '\"'");
			path[plen] = '\0';
			if ((ret = include(src, file, line, path, depth)) < 0)
				return ret;
			copied = ++i;
			bol = false;
			continue;
		}
		bol = false;
		switch (c) {
		case '\n':
			line++;
			bol = true;
			i++;
			break;
		case '"': /* a string, which may span lines */
			open_line = line;
			for (i++; i < n && t[i] != '"'; i++) {
				if (t[i] == '\\' && i + 1 < n &&
				    (t[i + 1] == '\\' || t[i + 1] == '"'))
					i++;
				else if (t[i] == '\n')
					line++;
			}
			if (i >= n)
				return fail(src, name, open_line, -EINVAL,
					    "string not terminated (missing '\"')");
			i++;
			break;
		case '#':
			while (i < n && t[i] != '\n')
				i++;
			break;
		case '/':
			if (i + 1 < n && t[i + 1] == '/') {
				while (i < n && t[i] != '\n')
					i++;
			} else if (i + 1 < n && t[i + 1] == '*') {
				open_line = line;
				for (i += 2;
				     i < n && !(t[i] == '*' && i + 1 < n && t[i + 1] == '/'); i++)
					line += t[i] == '\n';
				if (i >= n)
					return fail(src, name, open_line, -EINVAL,
						    "comment not terminated (missing \"*/\")");
				i += 2;
			} else {
				i++;
			}
			break;
		case '{':
		case '(':
		case '[':
			/* libconfig's parser and its destructor recurse per level */
			if (++src->nesting > CFG_MAX_NESTING)
				return fail(src, name, line, -EINVAL,
					    "groups and lists nested more than %d deep",
					    CFG_MAX_NESTING);
			i++;
			break;
		case '=':
		case ':':
			/* one per setting: libconfig's check for a duplicate name
			 * makes a group of N settings cost N^2 */
			if (++src->n_settings > CFG_MAX_SETTINGS)
				return fail(src, name, line, -EINVAL, "more than %d settings",
					    CFG_MAX_SETTINGS);
			i++;
			break;
		case '}':
		case ')':
		case ']':
			if (src->nesting > 0)
				src->nesting--;
			i++;
			break;
		default:
			if (isalpha((unsigned char)c) || c == '*') {
				while (i < n && is_name_char(t[i]))
					i++;
			} else if (isdigit((unsigned char)c) || c == '.' ||
				   ((c == '-' || c == '+') && i + 1 < n &&
				    (isdigit((unsigned char)t[i + 1]) || t[i + 1] == '.'))) {
				long len = number(src, name, line, t + i, n - i);

				if (len < 0)
					return (int)len;
				i += len > 0 ? (size_t)len : 1;
			} else {
				i++;
			}
			break;
		}
	}
	return out_put(src, t + copied, n - copied);
}

static int start(struct cfg_source *src, const char *name, char *err, size_t errlen)
{
	static char no_err[1];

	memset(src, 0, sizeof(*src));
	src->err = err != NULL ? err : no_err;
	src->errlen = err != NULL ? errlen : 0;
	src->out_line = 1;
	return add_file(src, name);
}

int cfg_source_read_buffer(struct cfg_source *src, const char *name, const char *buf, size_t len,
			   const char *include_dir, char *err, size_t errlen)
{
	int ret = start(src, name, err, errlen);

	if (ret < 0)
		return ret;
	src->dir = include_dir;
	if (len > CFG_MAX_SIZE)
		return fail(src, name, 0, -EFBIG, "too large (%zu bytes, at most %d)", len,
			    CFG_MAX_SIZE);
	src->total = len;
	ret = scan(src, 0, buf, len, 0);
	if (ret == 0 && src->text == NULL)
		ret = out_put(src, "", 0);
	return ret;
}

int cfg_source_read_file(struct cfg_source *src, const char *file, char *err, size_t errlen)
{
	const char *slash = strrchr(file, '/');
	char dir[PATH_MAX];
	char *buf = NULL;
	size_t len;
	int ret = start(src, file, err, errlen);

	if (ret < 0)
		return ret;
	ret = read_path(file, CFG_MAX_SIZE, &buf, &len);
	if (ret == -EFBIG) {
		struct stat st;

		if (stat(file, &st) == 0)
			return fail(src, file, 0, ret, "too large (%lld bytes, at most %d)",
				    (long long)st.st_size, CFG_MAX_SIZE);
		return fail(src, file, 0, ret, "too large (at most %d bytes)", CFG_MAX_SIZE);
	}
	if (ret < 0)
		return fail(src, file, 0, ret == -ENOTSUP ? -EINVAL : ret, "cannot read: %s",
			    read_error(ret));
	/* @include paths are relative to the top file's directory (as
	 * libconfig's include_dir: nested ones too). */
	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
	} else if ((size_t)(slash - file) >= sizeof(dir)) {
		free(buf);
		return fail(src, file, 0, -ENAMETOOLONG, "path too long");
	} else {
		memcpy(dir, file, slash - file);
		dir[slash - file] = '\0';
		if (slash == file)
			snprintf(dir, sizeof(dir), "/");
	}
	src->dir = dir;
	src->total = len;
	ret = scan(src, 0, buf, len, 0);
	src->dir = NULL; /* (points to this stack frame) */
	free(buf);
	if (ret == 0 && src->text == NULL)
		ret = out_put(src, "", 0);
	return ret;
}

const char *cfg_source_where(const struct cfg_source *src, unsigned int line,
			     unsigned int *file_line)
{
	int lo = 0, hi = src->n_map - 1;

	*file_line = 0;
	if (src->n_files == 0)
		return "";
	if (line == 0 || src->n_map == 0)
		return src->files[0];
	/* the last segment starting at or before LINE */
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (src->map[mid].out_line <= line)
			lo = mid;
		else
			hi = mid - 1;
	}
	*file_line = src->map[lo].line + (line - src->map[lo].out_line);
	return src->files[src->map[lo].file];
}

void cfg_source_free(struct cfg_source *src)
{
	for (int i = 0; i < src->n_files; i++)
		free(src->files[i]);
	free(src->files);
	free(src->map);
	free(src->text);
	memset(src, 0, sizeof(*src));
}
