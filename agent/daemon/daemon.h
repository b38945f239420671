/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - the agent (`mkagent daemon`) as the commands start it: where
 * things are and how long to run. The command line is cmd/daemon.c's.
 */
#pragma once

#include <stdbool.h>

#include "core/errmsg.h"
#include "io/config.h"

struct agent_opts {
	struct mk_paths paths;
	bool once; /* one pass over every operation, its workers awaited, then return */
	bool json; /* with @once: what the pass did, as JSON on stdout */
};

/*
 * Run the agent until SIGTERM or SIGINT (or, with @once, for one pass).
 * 0 when it stopped cleanly; -EBADMSG when, with @once, an operation file
 * could not be read (each was reported on stderr); another negative errno,
 * with @e, when it could not start.
 */
int agent_run(const struct agent_opts *o, struct errmsg *e);
