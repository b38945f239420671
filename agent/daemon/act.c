// SPDX-License-Identifier: MIT
/*
 * act.c - what the agent does with core/decide.c's decision for one
 * operation: start the step's worker, move an early activation to error
 * and recover, notify once per event, or wait.
 */
#include <errno.h>
#include <unistd.h>

#include "core/macro.h"
#include "daemon/agent.h"
#include "io/clock.h"
#include "io/log.h"

static void notify_once(struct agent *ag, struct tracked *t, const struct op *op,
			const struct decision *d)
{
	if (!d->event) {
		t->last_event[0] = '\0';
		return;
	}
	if (streq(t->last_event, d->event))
		return;
	snprintf(t->last_event, sizeof(t->last_event), "%s", d->event);
	engine_notify(&ag->en, op, d->event, d->why);
}

static void activated_early(struct agent *ag, struct tracked *t, const struct decision *d)
{
	int lock = store_lock_op(&ag->en.store, t->id);
	bool recover = false;
	struct errmsg e;
	struct op op;

	if (lock < 0)
		return; /* somebody is at it: look again next time */
	if (store_load(&ag->en.store, t->id, &op, NULL, &e) < 0) {
		close(lock);
		return;
	}
	if (op.state == OP_PLANNED || op.state == OP_REENCIPHERING) {
		log_warn("operation %s: %s", t->id, d->why);
		/* a notify worker forked now would hold the lock too */
		ag->en.notify = hold_back;
		engine_fail(&ag->en, &op, "activated-early", "activated-early", &e);
		ag->en.notify = notify_aside;
		t->rt.state = OP_ERROR;
		recover = ag->en.cfg.auto_recover && op_recover_pending(&op);
	}
	close(lock);
	send_held_back(ag, &op, true);
	if (recover)
		spawn(ag, t, &(struct verdict){ .phase = PHASE_RECOVER });
	op_free(&op);
}

void log_retry(const struct tracked *t)
{
	log_info("operation %s: trying again in %d s", t->id, t->rt.backoff_s);
}

void retry_later(struct agent *ag, struct tracked *t)
{
	read_retry_later(&t->rt, now_ms(), ag->en.cfg.poll_interval);
	log_retry(t);
}

/* Whether another process (a person's step) holds @id's lock now. Its
 * phase is not interrupted, and a worker would only find it busy. */
static bool held_elsewhere(struct agent *ag, const char *id)
{
	int fd = store_lock_op(&ag->en.store, id);

	if (fd >= 0)
		close(fd);
	return fd == -EBUSY;
}

void act(struct agent *ag, struct tracked *t, const struct op *op, const struct view *v, bool fresh)
{
	struct decision d = decide(op, v);
	bool held = d.action == ACT_RUN && held_elsewhere(ag, op->id);

	if (held) {
		d.action = ACT_WAIT;
		d.event = NULL;
		snprintf(d.why, sizeof(d.why), "another process runs its %s phase now",
			 phase_name(d.phase));
	}

	t->last_action = d.action;
	t->rt.waits = d.waits_on_hsm;
	if (!streq(t->last_why, d.why)) {
		log_info("operation %s (%s): %s: %s", op->id, op_state_name(op->state),
			 action_name(d.action), d.why);
		snprintf(t->last_why, sizeof(t->last_why), "%s", d.why);
	}
	switch (d.action) {
	case ACT_RUN:
		/* a step the agent already tried and that must wait stays waiting */
		if (t->rt.retry_at && now_ms() < t->rt.retry_at)
			return;
		notify_once(ag, t, op, &d);
		spawn(ag, t, &(struct verdict){ .phase = d.phase, .judged = fresh && d.judged ? op : NULL,
					       .view = fresh ? v : NULL });
		return;
	case ACT_ACTIVATED_EARLY:
		activated_early(ag, t, &d);
		return;
	case ACT_WAIT:
		if (held)
			retry_later(ag, t); /* look again if it ends without a word */
		else
			notify_once(ag, t, op, &d);
		return;
	case ACT_NONE:
		return;
	}
}
