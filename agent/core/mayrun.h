/* SPDX-License-Identifier: MIT */
/*
 * mayrun.h - whether a phase of an operation may run now: the one answer
 * that a person's command and the agent both ask (DESIGN §3). First the
 * operation's state, then the guard of the phase on its APQNs' registers:
 * the one mapping from phase to guard, with cancel's special cases.
 * Pure: an operation and a view in, 0 or a refusal out.
 */
#pragma once

#include "core/guard.h"
#include "core/op.h"

/*
 * The states of each phase, the one table of them: the state it starts
 * from (OP_STATE_COUNT: cancel starts from any but finalize's @during),
 * the one it runs in, the one it moves to once every profile did it.
 * Recover runs in error and leaves the operation there.
 */
struct phase_states {
	enum op_state from, during, after;
};

const struct phase_states *phase_states(enum phase ph);
/* The phase the agent takes up for an operation in state @s: the one that
 * starts from @s or runs in it; -1 for none (finalized, canceled, error:
 * a person decides). */
int phase_called_for(enum op_state s);
/* "operation ID is STATE", with @err, for a finalized or canceled
 * operation; 0 for one in another state. */
int op_refuse_terminal(const char *id, enum op_state s, int err, struct errmsg *e);

/* Whether every profile of @op has @ph done (or has no such phase). */
bool op_phase_done(const struct op *op, enum phase ph);
/* Whether some profile of @op has its recover phase still to run. */
bool op_recover_pending(const struct op *op);
/* Whether no profile of @op has started re-enciphering. */
bool op_nothing_reenciphered(const struct op *op);
/* Cancel phases undo what re-enciphering did: those of the profiles whose
 * reencipher phase never started have nothing to undo, and are done. */
void op_skip_untouched_cancels(struct op *op);

/*
 * Whether @op's state lets @ph run: reencipher from planned or
 * reenciphering, or from error before every profile re-enciphered;
 * finalize from reenciphered or finalizing, or from error after; cancel
 * from anything but finalizing; recover only from error; nothing once
 * the operation is finalized or canceled. The refusal
 * names the operation: "operation ID is STATE; ...".
 */
int phase_state_allows(const struct op *op, enum phase ph, struct errmsg *e);
/* The same for a cancel without helpers (I11): only from error. */
int force_cancel_allowed(const struct op *op, struct errmsg *e);
/*
 * The guard of @ph on @v: I1 for reencipher, I2 for finalize, I3 for
 * cancel (an APQN whose registers cannot be read passes while nothing is
 * re-enciphered); recover has none. The refusal is the guard's own line.
 */
int phase_guard(const struct op *op, enum phase ph, const struct view *v, struct errmsg *e);
/* Whether phase_guard() of @ph reads the registers (recover's does not). */
bool phase_reads_registers(enum phase ph);
/* Both, in that order: whether @ph of @op may run now, given @v. A step
 * that reads the registers only once the state allows it calls the two
 * in turn. */
int phase_may_run(const struct op *op, enum phase ph, const struct view *v, struct errmsg *e);

/*
 * A judgement made before a step ran (the agent's, in the pass that
 * started the worker): phase_may_run() passed for @phase on @judged, as it
 * was read then, given @view. @judged NULL: nothing was judged, @view
 * only saves reading the registers again; @view NULL: nothing was read.
 */
struct verdict {
	enum phase phase;
	const struct op *judged;
	const struct view *view;
};

/* Whether @vd still answers for @ph of @op as the step re-read it under its
 * lock: judged for @ph on an operation in the same state, with the same
 * APQNs, patterns and profiles' progress. Else the step judges again. */
bool verdict_holds(const struct verdict *vd, const struct op *op, enum phase ph);
