// SPDX-License-Identifier: MIT
/*
 * step.c - one step of an operation under its lock (step.h): the file
 * read once, the check of mayrun.h made once, the phase run and recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/macro.h"
#include "io/log.h"
#include "io/registers.h"
#include "io/runner.h"
#include "step/step.h"

#define LOCK_TRIES 20
#define LOCK_WAIT_US 10000

/*
 * Whether @id can be locked and read at once: ops/<ID>.ini is there, and
 * so is work/<ID>/, which the lock would make otherwise (plan makes it).
 * Else it is read first without the lock, to say why it cannot be stepped
 * while changing nothing; the file is read once only on the usual way.
 */
static bool lockable(const struct store *st, const char *id)
{
	char name[OP_ID_LEN + 8];
	struct stat sb;

	snprintf(name, sizeof(name), "%s.ini", id);
	return st->ops_fd >= 0 && fstatat(st->ops_fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(sb.st_mode) && st->work_fd >= 0 &&
	       fstatat(st->work_fd, id, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
}

/* Why @id cannot be stepped; 0 when it can after all. */
static int not_steppable(struct engine *en, const char *id, struct errmsg *e)
{
	struct op op;
	bool archived = false;
	int rc = store_load(&en->store, id, &op, &archived, e);

	if (rc < 0)
		return rc;
	rc = op_refuse_terminal(id, op.state, -ENOENT, e);
	op_free(&op);
	return rc;
}

int step_hold(struct step *s, struct engine *en, const char *id, struct errmsg *e)
{
	bool archived = false;
	int rc;

	*s = (struct step){ .en = en, .lock = -1, .started = s->started };
	if (!lockable(&en->store, id)) {
		rc = not_steppable(en, id, e);
		if (rc < 0)
			return rc;
	}
	/* The agent's loop takes a lock for an instant to see whether a step
	 * runs elsewhere (daemon/act.c): a lock held that briefly is waited for. */
	for (int i = 0; (rc = store_lock_op(&en->store, id)) == -EBUSY && i < LOCK_TRIES; i++)
		usleep(LOCK_WAIT_US);
	if (rc < 0)
		return errmsg_set(e, rc, "operation %s is busy: %s", id,
				  rc == -EBUSY ? "a phase is running" : strerror(-rc));
	s->lock = rc;
	/* what another process did before we got the lock counts */
	rc = store_load(&en->store, id, &s->op, &archived, e);
	if (rc < 0) {
		s->op = (struct op){ 0 };
	} else if (archived || op_state_terminal(s->op.state)) {
		rc = archived ? errmsg_set(e, -ENOENT, "the operation was just archived") :
				op_refuse_terminal(id, s->op.state, -ENOENT, e);
		op_free(&s->op);
		s->op = (struct op){ 0 };
	}
	if (rc < 0)
		step_unlock(s);
	return rc;
}

void step_adopt(struct step *s, struct engine *en, struct op *op, int lock)
{
	s->en = en;
	s->op = *op;
	s->lock = lock;
	*op = (struct op){ 0 };
}

void step_unlock(struct step *s)
{
	if (s->lock >= 0)
		close(s->lock);
	s->lock = -1;
}

void step_release(struct step *s)
{
	step_unlock(s);
	op_free(&s->op);
}

int step_read_view(struct engine *en, const struct op *op, const struct verdict *vd,
		   struct view *v, struct errmsg *e)
{
	if (vd && vd->view && view_merge(vd->view, &(struct view){ 0 }, &op->apqns, v) == 0)
		return 0;
	return view_read(v, &op->apqns, engine_query_helper(en, op), e);
}

int step_check(struct step *s, enum phase ph, const struct verdict *vd, struct errmsg *e)
{
	_cleanup_(view_free) struct view v = { 0 };
	struct errmsg why;
	int rc;

	if (!verdict_holds(vd, &s->op, ph)) {
		rc = phase_state_allows(&s->op, ph, e);
		if (rc < 0)
			return rc;
		if (phase_reads_registers(ph)) {
			rc = step_read_view(s->en, &s->op, vd, &v, e);
			if (rc < 0)
				return rc;
		}
		rc = phase_guard(&s->op, ph, &v, &why);
		if (rc < 0)
			return errmsg_set(e, rc, "operation %s: %s", s->op.id, why.text);
	}
	rc = engine_check_phase(s->en, &s->op, ph, NULL, &why);
	if (rc < 0)
		return errmsg_set(e, rc, "operation %s: %s", s->op.id, why.text);
	return 0;
}

/* After a new key went active too early: each profile's recover phase,
 * and a reason that says which consumers could and could not recover.
 * @e does not name the operation: the caller's line does. */
static int recover(struct step *s, struct errmsg *e)
{
	char ok_list[256] = "", bad_list[256] = "";
	struct op *op = &s->op;
	struct errmsg why;
	bool any = false;

	for (size_t i = 0; i < op->nprofiles; i++) {
		struct op_profile *p = &op->profiles[i];
		char *list;
		int rc;

		if (p->phase[PHASE_RECOVER] == PS_NONE || p->phase[PHASE_RECOVER] == PS_DONE)
			continue;
		any = true;
		rc = engine_run_phase(s->en, op, PHASE_RECOVER, p->name, &why);
		if (rc == -EINTR) /* pending again: the reason is not rewritten */
			return errmsg_set(e, rc, "%s", why.text);
		list = rc == 0 ? ok_list : bad_list;
		snprintf(list + strlen(list), 256 - strlen(list), " %s", p->name);
	}
	if (!any)
		return 0;
	op_set_reason(op, "activated-early, recovered:%s, not recovered:%s",
		      ok_list[0] ? ok_list : " none", bad_list[0] ? bad_list : " none");
	op->updated = time(NULL);
	store_write(&s->en->store, op, &why);
	store_audit(&s->en->store, op->id, "error", "error", op->reason);
	if (bad_list[0])
		return errmsg_set(e, -EIO, "%s", op->reason);
	return 0;
}

/* I5 while re-enciphering: the engine found the new key active after a
 * consumer failed (@why). With auto-recover the recover phases run at
 * once, under the lock the step holds; the line says where the operation
 * is, and what is left to a person. */
static int recover_after(struct step *s, const struct errmsg *why, struct errmsg *e)
{
	struct op *op = &s->op;
	struct errmsg rec;

	if (!s->en->cfg.auto_recover || !op_recover_pending(op))
		return errmsg_set(e, -EIO, "operation %s: %s; it is in error: %s", op->id, why->text,
				  op->reason);
	if (recover(s, &rec) == -EINTR)
		return errmsg_set(e, -EINTR,
				  "operation %s: %s; it is in error: activated-early, and %s: run the rest with 'mkagent helper PROFILE recover -i %s'",
				  op->id, why->text, rec.text, op->id);
	return errmsg_set(e, -EIO, "operation %s: %s; it is in error: %s", op->id, why->text,
			  op->reason);
}

static bool found_activated(const struct op *op, int rc, enum phase ph)
{
	return rc == -EIO && ph == PHASE_REENCIPHER && op->state == OP_ERROR &&
	       streq(op->reason, "activated-early");
}

/* Enter the state @ph runs in (unless there already), run @ph of every
 * profile, and on success move on to the state after it. */
static int run_through(struct step *s, enum phase ph, struct errmsg *e)
{
	const struct phase_states *ps = phase_states(ph);
	struct op *op = &s->op;
	struct errmsg why;
	int rc;

	if (op->state != ps->during) {
		engine_mark_first_running(op, ph); /* written with the new state: one write less */
		rc = engine_transition(s->en, op, ps->during, NULL, e);
		if (rc < 0)
			return rc;
	}
	if (s->started)
		s->started(s, ph);
	rc = engine_run_phase(s->en, op, ph, NULL, &why);
	if (rc == -EAGAIN)
		return errmsg_set(e, rc, "operation %s stays %s: %s; run it again later", op->id,
				  op_state_name(ps->during), why.text);
	if (found_activated(op, rc, ph))
		return recover_after(s, &why, e);
	if (rc < 0)
		return errmsg_set(e, rc, "operation %s: %s", op->id, why.text);
	return engine_transition(s->en, op, ps->after, NULL, e);
}

int step_phase(struct step *s, enum phase ph, struct errmsg *e)
{
	switch (ph) {
	case PHASE_REENCIPHER:
	case PHASE_FINALIZE:
		return run_through(s, ph, e);
	case PHASE_CANCEL:
		op_skip_untouched_cancels(&s->op);
		return run_through(s, ph, e);
	case PHASE_RECOVER: {
		struct errmsg why;
		int rc = recover(s, &why);

		return rc < 0 ? errmsg_set(e, rc, "operation %s: %s", s->op.id, why.text) : 0;
	}
	default:
		return errmsg_set(e, -EINVAL, "operation %s: no such phase", s->op.id);
	}
}

int step_force_cancel(struct step *s, struct errmsg *e)
{
	int rc = force_cancel_allowed(&s->op, e);

	return rc < 0 ? rc : engine_force_cancel(s->en, &s->op, e);
}

int step_one_profile(struct step *s, enum phase ph, const char *profile, struct errmsg *e)
{
	_cleanup_(view_free) struct view v = { 0 };
	struct op_profile *opp = op_find_profile(&s->op, profile);
	struct op *op = &s->op;
	struct errmsg why;
	int rc;

	if (!opp || opp->phase[ph] == PS_NONE)
		return errmsg_set(e, -ENOENT, "operation %s has %s", op->id,
				  opp ? "no such phase for this profile" : "no such profile");
	rc = step_read_view(s->en, op, NULL, &v, e);
	if (rc < 0)
		return rc;
	rc = phase_guard(op, ph, &v, &why);
	if (rc == 0)
		rc = engine_check_phase(s->en, op, ph, profile, &why);
	if (rc == 0) {
		opp->phase[ph] = PS_PENDING;
		rc = engine_run_phase(s->en, op, ph, profile, &why);
	}
	if (found_activated(op, rc, ph))
		return recover_after(s, &why, e);
	if (rc < 0)
		return errmsg_set(e, rc, "operation %s: %s", op->id, why.text);
	return 0;
}

int step_run(struct engine *en, const char *id, enum phase ph, const struct verdict *vd,
	     struct op *left, struct errmsg *e)
{
	struct step s = STEP_INIT;
	int rc = step_hold(&s, en, id, e);

	if (rc == 0)
		rc = step_check(&s, ph, vd, e);
	if (rc == 0)
		rc = step_phase(&s, ph, e);
	step_unlock(&s);
	if (left)
		*left = s.op;
	else
		op_free(&s.op);
	return rc;
}
