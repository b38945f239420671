/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - the agent (`mkagent daemon`) as the commands start it: where
 * things are and how long to run. The command line is cmd/daemon.c's.
 */
#pragma once

#include <stdbool.h>

#include "core/decide.h"
#include "core/errmsg.h"
#include "io/config.h"

struct agent_opts {
	struct mk_paths paths;
	bool once; /* one pass over every operation, its workers awaited, then return */
};

/* What a --once pass did to one operation it looked at, as it left it. */
struct pass_op {
	char id[OP_ID_LEN + 1];
	enum op_state state;
	char reason[OP_REASON_MAX + 1];
	enum action action; /* the last decision, and why */
	char why[256];
	int worker_status; /* of the last worker, -1: none ran */
};

/* What a --once pass did, for the command to say; agent_pass_free() it. */
struct agent_pass {
	struct pass_op *v;
	size_t n;
	bool bad_file; /* an operation file could not be read (each was named on stderr) */
};

/*
 * Run the agent until SIGTERM or SIGINT (or, with @once, for one pass,
 * which @pass then describes; may be NULL without @once). 0 when it
 * stopped cleanly; a negative errno, with @e, when it could not start.
 */
int agent_run(const struct agent_opts *o, struct agent_pass *pass, struct errmsg *e);
void agent_pass_free(struct agent_pass *pass);
