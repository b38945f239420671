/* SPDX-License-Identifier: MIT */
/*
 * log.h - the one log facility: diagnostic messages filtered by the
 * -v levels of pkcshsm_mk_change, and the one-line answers a command
 * always gives (refusals, warnings), to stderr or syslog.
 */
#pragma once

#include <stdbool.h>

#include "core/macro.h"

enum log_level {
	LOG_LVL_NONE,
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEVEL,
	LOG_LVL_DEBUG,
};

/* -EINVAL for a name outside none|error|warn|info|devel|debug. */
int log_level_from_name(const char *name);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Send everything to syslog (the daemon) instead of stderr. */
void log_to_syslog(bool on);

void log_msg(enum log_level lvl, const char *fmt, ...) _printf_(2, 3);
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_devel(...) log_msg(LOG_LVL_DEVEL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* What a command answers whatever the level: `mkagent: <text>`. */
void say_error(const char *fmt, ...) _printf_(1, 2);
void say_warn(const char *fmt, ...) _printf_(1, 2);
