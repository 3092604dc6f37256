/* SPDX-License-Identifier: BSD-3-Clause */
/* The text of a configuration, read before libconfig sees it (config.c).
 *
 * agentd reads the file and its @include files itself, into one buffer that
 * libconfig then parses from memory: so the size is bounded before parsing,
 * only regular files inside the configuration's directory are ever opened
 * (the @include policy, docs/config.md), nothing can block (FIFOs, devices)
 * and the scan is linear (libconfig 1.5's file scanner is quadratic in the
 * length of a token). The same pass refuses what libconfig would silently
 * get wrong or slowly: NUL bytes (it stops reading there), integers it would
 * cut to 32 bits, nesting deep enough to exhaust its parser, and more
 * settings than any configuration has (adding one to a group is linear in
 * the group's size: 100k settings in 1 MB took 63 s). A line map turns a line
 * of the buffer back into FILE:LINE for messages. */
#pragma once

#include <stddef.h>

/* Bounds of a configuration, with its @include files (docs/config.md). */
#define CFG_MAX_SIZE	 (1 << 20) /* bytes, all files together */
#define CFG_MAX_INCLUDES 64	   /* @include directives in all */
#define CFG_MAX_DEPTH	 10	   /* @include nesting (libconfig's own limit) */
#define CFG_MAX_NESTING	 32	   /* { ( [ nesting */
#define CFG_MAX_SETTINGS 4096	   /* "key = value" in all (~1100 at most used) */

struct cfg_segment;

struct cfg_source {
	char *text; /* every file expanded in place, NUL-terminated */
	size_t len, cap;
	size_t total;	       /* bytes read from files */
	unsigned int out_line; /* line of text being written (1-based) */
	struct cfg_segment *map;
	int n_map, cap_map;
	char **files; /* names in messages, owned */
	int n_files;
	int n_includes;
	int nesting;
	int n_settings;
	const char *dir; /* @include directory; NULL: @include refused */
	char *err;
	size_t errlen;
};

/* Read FILE and the files it includes (from FILE's directory). Returns 0, or
 * a negative errno with a one-line message in ERR: the errno of a file that
 * cannot be read, -EFBIG beyond CFG_MAX_SIZE, -EINVAL for the rest. */
int cfg_source_read_file(struct cfg_source *src, const char *file, char *err, size_t errlen);

/* The same from BUF (LEN bytes, NUL bytes refused), named NAME in messages;
 * @include from INCLUDE_DIR, or refused when it is NULL. */
int cfg_source_read_buffer(struct cfg_source *src, const char *name, const char *buf, size_t len,
			   const char *include_dir, char *err, size_t errlen);

/* The file and line of line LINE of src->text (LINE 0: the top file, 0). */
const char *cfg_source_where(const struct cfg_source *src, unsigned int line,
			     unsigned int *file_line);

void cfg_source_free(struct cfg_source *src);
