/* SPDX-License-Identifier: MIT */
/*
 * step.h - one step of an operation, whoever takes it (a person's command
 * or the agent's worker): hold the operation's lock and load its file
 * once, judge whether the phase may run (mayrun.h) unless a judgement
 * that still holds came with the step, run the phase of every profile,
 * record. Each call returns 0 or a negative errno with one line in @e
 * ("operation ID ..."); the commands turn that into words and an exit
 * status, the agent into a log line.
 */
#pragma once

#include "core/mayrun.h"
#include "step/engine.h"

struct step {
	struct engine *en;
	struct op op; /* loaded under the lock; then as the step leaves it */
	int lock;     /* the operation's lock; -1: not held */
	/* Called once the phase's state is entered, before any helper runs
	 * (a person's command says to wait); may be NULL. */
	void (*started)(const struct step *s, enum phase ph);
};

#define STEP_INIT { .lock = -1 }

/* Take the lock of operation @id and load it. Refused when it does not
 * exist, is archived or terminal, or a phase of it runs (-EBUSY). */
int step_hold(struct step *s, struct engine *en, const char *id, struct errmsg *e);
/* Hold @op, just created and locked by @lock: @s takes both over. */
void step_adopt(struct step *s, struct engine *en, struct op *op, int lock);
/* Let go of the lock; @s->op stays for the caller's words. */
void step_unlock(struct step *s);
/* Let go of the lock and the operation. */
void step_release(struct step *s);

/* The registers of @op's APQNs: those of @vd (may be NULL) when it has
 * them all, else read now (the CCA SYM ones through the query helper). */
int step_read_view(struct engine *en, const struct op *op, const struct verdict *vd,
		   struct view *v, struct errmsg *e);
/*
 * Whether @ph may run now, changing nothing: the state rule, then (unless
 * @vd holds for the operation as loaded, see verdict_holds()) the guard on
 * the registers of @vd, or read now when @vd has none of them; then the
 * ownership checks of the helpers that will run.
 */
int step_check(struct step *s, enum phase ph, const struct verdict *vd, struct errmsg *e);
/*
 * Run @ph, once step_check() passed. Reencipher, finalize and cancel
 * enter their state, run every profile and move on (-EAGAIN: a helper
 * asked to be run again later, the operation stays). Recover runs each
 * profile's recover phase and says in the reason which recovered (-EIO
 * when one did not).
 */
int step_phase(struct step *s, enum phase ph, struct errmsg *e);
/* I11: an operation in error to history/ as canceled; no helper runs. */
int step_force_cancel(struct step *s, struct errmsg *e);
/*
 * `mkagent helper`: the guard of @ph (not its state rule: a person may run
 * one profile's phase again), then @ph of @profile alone, even when done
 * (helpers are idempotent).
 */
int step_one_profile(struct step *s, enum phase ph, const char *profile, struct errmsg *e);

/*
 * The whole step @ph of @id, as the agent's worker takes it: hold, check
 * (with what the agent saw and judged, @vd, may be NULL), run, let go.
 * @left (may be NULL) gets the operation as the step left it, after the
 * lock is gone, for the notifications held back meanwhile; op_free() it.
 * It is empty (no ID) when the operation could not be loaded.
 */
int step_run(struct engine *en, const char *id, enum phase ph, const struct verdict *vd,
	     struct op *left, struct errmsg *e);
