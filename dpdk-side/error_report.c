/* SPDX-License-Identifier: BSD-3-Clause */
/* The dataplane's last words, for agentd: when the process fails, the
 * reason has to reach `agentctl status`, not only its stderr (which is
 * agentd's log, or nothing after agentd restarted). DPDK's log stream is
 * teed: every line still goes to stderr, and the last ones are kept; on a
 * failure they are written, after a one-line summary, to the file agentd
 * named with --error-file, which agentd reads once the process is gone. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_log.h>

#include "dataplane.h"

#define KEEP_LINES   8
#define LINE_MAX_LEN 240

static char kept[KEEP_LINES][LINE_MAX_LEN];
static unsigned int n_kept;
static char cur[LINE_MAX_LEN];
static size_t cur_len;
static char summary[LINE_MAX_LEN];

static void keep_line(const char *s)
{
	if (s[strspn(s, " \t")] == '\0')
		return;
	snprintf(kept[n_kept % KEEP_LINES], LINE_MAX_LEN, "%s", s);
	n_kept++;
}

static ssize_t tee_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	if (write(STDERR_FILENO, buf, size) < 0) {
		/* no stderr (agentd gone): still keep the lines */
	}
	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n') {
			cur[cur_len] = '\0';
			keep_line(cur);
			cur_len = 0;
		} else if (cur_len < LINE_MAX_LEN - 1) {
			cur[cur_len++] = buf[i];
		}
	}
	return (ssize_t)size;
}

int dp_error_report_init(void)
{
	cookie_io_functions_t io = {.write = tee_write};
	FILE *f = fopencookie(NULL, "w", io);

	if (f == NULL)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	return rte_openlog_stream(f);
}

void dp_errorf(const char *fmt, ...)
{
	va_list ap;
	char line[LINE_MAX_LEN];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "agent-dataplane: %s\n", line);
	if (summary[0] == '\0') /* the first failure is the cause; the rest follows */
		snprintf(summary, sizeof(summary), "%s", line);
	keep_line(line);
}

void dp_error_report_write(const char *path)
{
	FILE *f;

	if (path == NULL || path[0] == '\0')
		return;
	f = fopen(path, "w");
	if (f == NULL)
		return;
	/* the summary: what dp_errorf said, else the last line logged */
	if (summary[0] != '\0')
		fprintf(f, "%s\n", summary);
	else if (n_kept > 0)
		fprintf(f, "%s\n", kept[(n_kept - 1) % KEEP_LINES]);
	for (unsigned int i = n_kept > KEEP_LINES ? n_kept - KEEP_LINES : 0; i < n_kept; i++)
		fprintf(f, "  %s\n", kept[i % KEEP_LINES]);
	fclose(f);
}
