/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging for agentd, agentctl and kernel-side (the dataplane uses RTE_LOG).
 *
 * Usage, grout style: each .c file defines its log type before including:
 *     #define LOG_TYPE "netlink"
 *     #include <agent_log.h>
 *     LOG(ERR, "cannot create %s: %s", name, strerror(-ret));
 */
#pragma once

#include <stdarg.h>

enum agent_log_level {
	AGENT_LOG_ERR = 3,
	AGENT_LOG_WARNING = 4,
	AGENT_LOG_NOTICE = 5,
	AGENT_LOG_INFO = 6,
	AGENT_LOG_DEBUG = 7,
};

#ifndef LOG_TYPE
#define LOG_TYPE "agent"
#endif

/* Current threshold; messages above it are dropped. Default INFO. */
extern int agent_log_level;

void agent_log(int level, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse "err", "warning", "notice", "info", "debug". Returns level or -EINVAL. */
int agent_log_level_parse(const char *name);
const char *agent_log_level_name(int level);

#define LOG(level, ...) agent_log(AGENT_LOG_##level, LOG_TYPE, __VA_ARGS__)
