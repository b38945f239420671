// SPDX-License-Identifier: MIT
/*
 * mayrun.c - whether a phase may run now (mayrun.h): the states of each
 * phase and its state rules, the one phase-to-guard mapping, and when a judgement made
 * before a step still holds for it.
 */
#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "core/mayrun.h"

static const struct phase_states states[PHASE_COUNT] = {
	[PHASE_REENCIPHER] = { OP_PLANNED, OP_REENCIPHERING, OP_REENCIPHERED },
	[PHASE_FINALIZE] = { OP_REENCIPHERED, OP_FINALIZING, OP_FINALIZED },
	[PHASE_CANCEL] = { OP_STATE_COUNT, OP_CANCELING, OP_CANCELED },
	[PHASE_RECOVER] = { OP_ERROR, OP_ERROR, OP_ERROR },
};

const struct phase_states *phase_states(enum phase ph)
{
	return &states[ph];
}

int phase_called_for(enum op_state s)
{
	if (op_state_terminal(s) || s == OP_ERROR)
		return -1;
	for (int ph = 0; ph < PHASE_COUNT; ph++)
		if (s == states[ph].from || s == states[ph].during)
			return ph;
	return -1;
}

int op_refuse_terminal(const char *id, enum op_state s, int err, struct errmsg *e)
{
	if (!op_state_terminal(s))
		return 0;
	return errmsg_set(e, err, "operation %s is %s", id, op_state_name(s));
}

bool op_phase_done(const struct op *op, enum phase ph)
{
	for (size_t i = 0; i < op->nprofiles; i++) {
		enum phase_status s = op->profiles[i].phase[ph];

		if (s != PS_NONE && s != PS_DONE)
			return false;
	}
	return true;
}

bool op_recover_pending(const struct op *op)
{
	for (size_t i = 0; i < op->nprofiles; i++)
		if (op->profiles[i].phase[PHASE_RECOVER] == PS_PENDING)
			return true;
	return false;
}

static bool untouched(enum phase_status reencipher)
{
	return reencipher == PS_PENDING || reencipher == PS_NONE;
}

bool op_nothing_reenciphered(const struct op *op)
{
	for (size_t i = 0; i < op->nprofiles; i++)
		if (!untouched(op->profiles[i].phase[PHASE_REENCIPHER]))
			return false;
	return true;
}

void op_skip_untouched_cancels(struct op *op)
{
	for (size_t i = 0; i < op->nprofiles; i++) {
		struct op_profile *p = &op->profiles[i];

		if (p->phase[PHASE_CANCEL] == PS_PENDING && untouched(p->phase[PHASE_REENCIPHER]))
			p->phase[PHASE_CANCEL] = PS_DONE;
	}
}

int phase_state_allows(const struct op *op, enum phase ph, struct errmsg *e)
{
	const struct phase_states *ps;
	enum op_state s = op->state;
	const char *name = op_state_name(s);
	int rc = op_refuse_terminal(op->id, s, -EPERM, e);

	if (rc < 0)
		return rc;
	if ((unsigned int)ph >= PHASE_COUNT)
		return errmsg_set(e, -EINVAL, "operation %s: no such phase", op->id);
	ps = &states[ph];
	switch (ph) {
	case PHASE_REENCIPHER:
		/* an error while re-enciphering may be taken up again */
		if (s == ps->from || s == ps->during ||
		    (s == OP_ERROR && !op_phase_done(op, PHASE_REENCIPHER)))
			return 0;
		return errmsg_set(e, -EPERM, "operation %s is %s; there is nothing to re-encipher",
				  op->id, name);
	case PHASE_FINALIZE:
		if (s == ps->from || s == ps->during ||
		    (s == OP_ERROR && op_phase_done(op, PHASE_REENCIPHER)))
			return 0;
		return errmsg_set(e, -EPERM, "operation %s is %s; finalize needs it reenciphered",
				  op->id, name);
	case PHASE_CANCEL:
		if (s != states[PHASE_FINALIZE].during)
			return 0;
		return errmsg_set(e, -EPERM, "operation %s is %s; it cannot be canceled", op->id,
				  name);
	case PHASE_RECOVER:
		if (s == ps->from)
			return 0;
		return errmsg_set(e, -EPERM, "operation %s is %s; recover is for operations in error",
				  op->id, name);
	default:
		return 0;
	}
}

int force_cancel_allowed(const struct op *op, struct errmsg *e)
{
	if (op->state == OP_ERROR)
		return 0;
	return errmsg_set(e, -EPERM, "--force is only for an operation in error; operation %s is %s",
			  op->id, op_state_name(op->state));
}

int phase_guard(const struct op *op, enum phase ph, const struct view *v, struct errmsg *e)
{
	switch (ph) {
	case PHASE_REENCIPHER:
		return guard_reencipher(op, v, e);
	case PHASE_FINALIZE:
		return guard_finalize(op, v, e);
	case PHASE_CANCEL:
		return guard_cancel(op, v, op_nothing_reenciphered(op), e);
	case PHASE_RECOVER:
		return 0; /* the registers already say what went wrong */
	default:
		return errmsg_set(e, -EINVAL, "no such phase");
	}
}

bool phase_reads_registers(enum phase ph)
{
	return ph != PHASE_RECOVER;
}

int phase_may_run(const struct op *op, enum phase ph, const struct view *v, struct errmsg *e)
{
	int rc = phase_state_allows(op, ph, e);

	return rc < 0 ? rc : phase_guard(op, ph, v, e);
}

static bool same_profiles(const struct op *a, const struct op *b)
{
	if (a->nprofiles != b->nprofiles)
		return false;
	for (size_t i = 0; i < a->nprofiles; i++)
		if (!streq(a->profiles[i].name, b->profiles[i].name) ||
		    memcmp(a->profiles[i].phase, b->profiles[i].phase, sizeof(a->profiles[i].phase)))
			return false;
	return true;
}

static bool same_apqns(const struct apqn_list *a, const struct apqn_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!apqn_eq(a->v[i], b->v[i]))
			return false;
	return true;
}

bool verdict_holds(const struct verdict *vd, const struct op *op, enum phase ph)
{
	const struct op *j = vd ? vd->judged : NULL;

	if (!j || !vd->view || vd->phase != ph || !streq(j->id, op->id) || j->state != op->state ||
	    !same_apqns(&j->apqns, &op->apqns) || !same_profiles(j, op))
		return false;
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (j->has_new[t] != op->has_new[t] ||
		    (op->has_new[t] && !mkvp_eq(&j->new_mkvp[t], &op->new_mkvp[t])))
			return false;
	return true;
}
