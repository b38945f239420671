/* SPDX-License-Identifier: MIT */
/*
 * config.h - mkagent.conf (DESIGN §4): every key optional, errors name
 * the file and line.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "core/errmsg.h"

/* LIBEXECDIR/mkagent-pin-file: where make install puts it (agent/io/paths.h). */
extern const char config_default_pin_helper[];

enum event_source {
	EVENT_SOURCE_UDEV,
	EVENT_SOURCE_KERNEL,
};

struct config {
	int poll_interval; /* seconds */
	enum event_source event_source;
	bool auto_finalize;
	bool auto_recover;
	char pin_helper[PATH_MAX];
	bool pin_helper_set; /* named in the file, not the default */
	char notify_helper[PATH_MAX];
	char query_helper[PATH_MAX];
	char metrics_textfile[PATH_MAX]; /* "": no metrics */
};

/* Where mkagent's configuration, profiles and state are: the command
 * line's --config, --profiles and --state-dir (or their environment). */
struct mk_paths {
	const char *state_dir;
	const char *config;
	bool config_given; /* by option or environment: it must exist */
	const char *profiles;
};

void config_defaults(struct config *c);
/* Parse @text of the file @path over the values already in @c. */
int config_parse(struct config *c, const char *path, const char *text, struct errmsg *e);
/* Read @path; a missing file is the defaults unless @must_exist. */
int config_load(struct config *c, const char *path, bool must_exist, struct errmsg *e);
