/* SPDX-License-Identifier: MIT */
/*
 * engine.h - what every step of an operation shares, whoever runs it (a
 * person's command or the agent): the configuration, profiles and store;
 * state transitions with their audit line, syslog and notification; and
 * running one phase of every profile through its helper.
 */
#pragma once

#include "io/config.h"
#include "core/op.h"
#include "io/profile.h"
#include "io/store.h"

struct engine {
	struct config cfg;
	struct profile_set profiles;
	struct store store;
	bool tty; /* a person at a terminal may be asked for PINs */
	bool echo; /* a person's command: helpers' lines also go to stdout */
	/* In the agent's loop: a notification is handed to @notify (which
	 * runs the helper in a worker) instead of waiting for the helper. */
	void (*notify)(void *ctx, const struct op *op, const char *event, const char *message);
	void *notify_ctx;
};

/* An engine that engine_close() may take before engine_open() ran. */
#define ENGINE_INIT { .store = { .fd = -1, .ops_fd = -1, .hist_fd = -1, .work_fd = -1 } }

/* Open the configuration, profiles and state directory named by @cli.
 * Without @create a missing state directory is left closed (fd -1). */
int engine_open(struct engine *en, const struct mk_paths *where, bool create, struct errmsg *e);
void engine_close(struct engine *en);

/* Move @op to @to: write it (history/ when terminal), audit, notify. */
int engine_transition(struct engine *en, struct op *op, enum op_state to, const char *reason,
		      struct errmsg *e);

/* Refuse before anything changes: each profile exists, its helper for
 * @ph passes the ownership checks. */
int engine_check_phase(struct engine *en, const struct op *op, enum phase ph,
		       const char *only_profile, struct errmsg *e);
/* Mark the first profile that @ph will run as running, in memory: the
 * transition into the step writes it. */
void engine_mark_first_running(struct op *op, enum phase ph);
/*
 * Run @ph of every profile of @op that has it pending (or only
 * @only_profile), recording each profile's status. 0 when all are done;
 * -EAGAIN when a helper exited 75 (its phase pending: try again later);
 * -EINTR when a signal came (I9: the helper is gone, its phase pending);
 * -EIO when a status could not be written (whatever the store's errno;
 * @e says why); else a failure, which moves the op to error with the
 * reason of DESIGN §5, also in @e: activated-early when a reencipher
 * helper failed before the operation was reenciphered and the registers
 * show a new key active (I5). A failed recover leaves the reason to the
 * caller: the operation is in error already.
 */
int engine_run_phase(struct engine *en, struct op *op, enum phase ph, const char *only_profile,
		     struct errmsg *e);
/* The query helper that reads registers of @op sysfs does not show (CCA
 * SYM); NULL when @op has none of them or no helper is configured. */
const char *engine_query_helper(const struct engine *en, const struct op *op);
/* Move to error with @reason, notifying @event instead of "error". */
int engine_fail(struct engine *en, struct op *op, const char *event, const char *reason,
		struct errmsg *e);
/* I11: an operation in error to history/ as canceled, no helper run (no
 * notification either); it keeps its reason, and the audit log says
 * which uid forced it. */
int engine_force_cancel(struct engine *en, struct op *op, struct errmsg *e);
/* Run the notify helper, if configured, for @event. */
void engine_notify(struct engine *en, const struct op *op, const char *event, const char *message);
