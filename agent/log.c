/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <agent_log.h>

int agent_log_level = AGENT_LOG_INFO;

static const char *const level_names[] = {
    [AGENT_LOG_ERR] = "err",   [AGENT_LOG_WARNING] = "warning", [AGENT_LOG_NOTICE] = "notice",
    [AGENT_LOG_INFO] = "info", [AGENT_LOG_DEBUG] = "debug",
};

const char *agent_log_level_name(int level)
{
	if (level < AGENT_LOG_ERR || level > AGENT_LOG_DEBUG)
		return "?";
	return level_names[level];
}

int agent_log_level_parse(const char *name)
{
	for (int l = AGENT_LOG_ERR; l <= AGENT_LOG_DEBUG; l++)
		if (strcmp(name, level_names[l]) == 0)
			return l;
	return -EINVAL;
}

void agent_log(int level, const char *type, const char *fmt, ...)
{
	struct timespec ts;
	char line[1024];
	va_list ap;
	int n;

	if (level > agent_log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%ld.%03ld %s: %s: ", (long)ts.tv_sec,
		     ts.tv_nsec / 1000000, agent_log_level_name(level), type);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* One write per line so that lines from agentd and the dataplane,
	 * which share stderr, do not interleave. */
	n = strlen(line);
	if (n < (int)sizeof(line) - 1)
		line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		(void)0;
}
