// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

#include "io/log.h"

static enum log_level level = LOG_LVL_NONE;
static bool use_syslog;

static const char *const names[] = {
	[LOG_LVL_NONE] = "none", [LOG_LVL_ERROR] = "error", [LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEVEL] = "devel", [LOG_LVL_DEBUG] = "debug",
};

static const int syslog_prio[] = {
	[LOG_LVL_NONE] = LOG_ERR,   [LOG_LVL_ERROR] = LOG_ERR, [LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,  [LOG_LVL_DEVEL] = LOG_DEBUG, [LOG_LVL_DEBUG] = LOG_DEBUG,
};

int log_level_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(names[i], name))
			return (int)i;
	return -EINVAL;
}

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

enum log_level log_get_level(void)
{
	return level;
}

void log_to_syslog(bool on)
{
	use_syslog = on;
	if (on)
		openlog("mkagent", LOG_PID, LOG_DAEMON);
}

static void emit(enum log_level lvl, const char *tag, const char *fmt, va_list ap)
{
	if (use_syslog) {
		vsyslog(syslog_prio[lvl], fmt, ap);
		return;
	}
	fputs("mkagent: ", stderr);
	if (tag)
		fputs(tag, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > level || lvl == LOG_LVL_NONE)
		return;
	va_start(ap, fmt);
	emit(lvl, lvl >= LOG_LVL_DEVEL ? "debug: " : NULL, fmt, ap);
	va_end(ap);
}

void say_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LVL_ERROR, NULL, fmt, ap);
	va_end(ap);
}

void say_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LVL_WARN, "warning: ", fmt, ap);
	va_end(ap);
}
