// SPDX-License-Identifier: MIT
/*
 * reconcile.c - one pass of the agent: list the live operations, read
 * the registers core/readplan.c says are due (one scan for all of
 * them), and act on each operation's decision. A pass that read only
 * the queues a uevent named, and found them ready, is followed by one
 * more that reads every queue of those operations.
 */
#include <errno.h>
#include <unistd.h>

#include "core/exposition.h"
#include "core/macro.h"
#include "daemon/agent.h"
#include "io/clock.h"
#include "io/log.h"
#include "io/metrics.h"
#include "io/registers.h"

struct tracked *agent_track(struct agent *ag, const char *id)
{
	struct tracked *t;

	for (size_t i = 0; i < ag->nops; i++)
		if (streq(ag->ops[i].id, id))
			return &ag->ops[i];
	t = realloc(ag->ops, (ag->nops + 1) * sizeof(*t));
	if (!t)
		return NULL;
	ag->ops = t;
	t += ag->nops++;
	*t = (struct tracked){ .rt = READ_TRACK_INIT, .worker_status = -1, .query_fd = -1 };
	snprintf(t->id, sizeof(t->id), "%s", id);
	return t;
}

void agent_untrack(struct tracked *t)
{
	apqn_list_free(&t->apqns);
	read_track_free(&t->rt);
	view_free(&t->last);
	view_free(&t->answer);
	free(t->query_buf);
	if (t->query_fd >= 0)
		close(t->query_fd);
}

bool tracked_busy(const struct tracked *t)
{
	return t->worker || t->query || t->query_fd >= 0 || t->answered;
}

static void bad_file(void *ctx, const char *sub, const char *why)
{
	struct agent *ag = ctx;

	if (!streq(sub, "ops"))
		return;
	if (ag->opts->once)
		say_error("daemon: %s", why);
	else
		log_warn("%s", why);
	ag->bad_file = true;
}

/* The node_exporter textfile, after every pass: the operations' states as
 * their files say, their registers as last read. */
static void write_metrics(struct agent *ag, const struct op_list *ops)
{
	_cleanup_free_ struct metrics_op *m = calloc(ops->n ? ops->n : 1, sizeof(*m));
	_cleanup_free_ char *text = NULL;
	size_t n = 0;
	int rc;

	if (!ag->en.cfg.metrics_textfile[0])
		return;
	for (size_t i = 0; m && i < ops->n; i++) {
		struct tracked *t = op_state_terminal(ops->v[i].state) ? NULL :
									agent_track(ag, ops->v[i].id);

		if (t)
			m[n++] = (struct metrics_op){ &ops->v[i], &t->last };
	}
	rc = m ? metrics_format(m, n, &text) : -ENOMEM;
	if (rc == 0)
		rc = metrics_write(ag->en.cfg.metrics_textfile, text);
	if (rc < 0)
		log_warn("cannot write %s: %s", ag->en.cfg.metrics_textfile, strerror(-rc));
}

/* Take in what changed for each live operation of @ops; the APQNs due for
 * a read go to @want (a query worker reads those of a cca-sym op). */
static void plan_reads(struct agent *ag, const struct op_list *ops, struct apqn_list *want)
{
	long long now = now_ms();

	for (size_t i = 0; i < ag->nops; i++)
		ag->ops[i].seen = false;
	for (size_t i = 0; i < ops->n; i++) {
		const struct op *op = &ops->v[i];
		struct read_next next;
		struct tracked *t;

		if (op_state_terminal(op->state) || !(t = agent_track(ag, op->id)))
			continue;
		t->seen = true;
		if (!t->apqns.n)
			for (size_t j = 0; j < op->apqns.n; j++)
				apqn_list_add(&t->apqns, op->apqns.v[j]);
		next = read_plan(&t->rt, op->state, now, ag->en.cfg.poll_interval, t->last.n > 0,
				 tracked_busy(t));
		if (next.backed_off)
			log_retry(t);
		if (next.what == READ_NOTHING)
			continue;
		if (asks_helper(ag, op))
			start_query(ag, t, op);
		else
			read_plan_apqns(&t->rt, next.what, &op->apqns, want);
	}
}

/* Forget operations that ended or went away; an answer nobody will take
 * is dropped with them. */
static void forget_gone(struct agent *ag)
{
	for (size_t i = 0; i < ag->nops;) {
		const struct tracked *t = &ag->ops[i];

		if (!t->seen && !t->worker && !t->query && t->query_fd < 0) {
			agent_untrack(&ag->ops[i]);
			ag->ops[i] = ag->ops[--ag->nops];
		} else {
			i++;
		}
	}
}

/* Act on @op with the registers of @v, read in this pass. Returns whether
 * the operation's other queues must be read too before deciding. */
static bool act_on_read(struct agent *ag, struct tracked *t, const struct op *op,
			const struct view *v)
{
	bool fresh = t->rt.dirty;
	struct view seen;

	if (view_merge(v, &t->last, &op->apqns, &seen) < 0) {
		t->rt.dirty = true;
		return false;
	}
	view_free(&t->last);
	t->last = seen;
	if (!fresh && read_all_again(op, &t->rt.stale, &t->last)) {
		read_done(&t->rt);
		t->rt.dirty = true;
		return true;
	}
	read_done(&t->rt);
	act(ag, t, op, &t->last, fresh);
	return false;
}

/* One pass; returns whether another must follow at once. */
static bool pass(struct agent *ag)
{
	_cleanup_(op_list_free) struct op_list ops = { 0 };
	_cleanup_(apqn_list_free) struct apqn_list want = { 0 };
	_cleanup_(view_free) struct view v = { 0 };
	bool again = false;
	struct errmsg e;

	ag->passes++;
	if (store_list(&ag->en.store, STORE_LIVE, &ops, bad_file, ag) < 0) {
		log_error("cannot list the operations in %s", ag->en.store.dir);
		return false;
	}
	plan_reads(ag, &ops, &want);
	forget_gone(ag);
	if (want.n && view_read(&v, &want, NULL, &e) < 0)
		log_error("%s", e.text);
	for (size_t i = 0; i < ops.n; i++) {
		const struct op *op = &ops.v[i];
		struct tracked *t;

		if (op_state_terminal(op->state) || !(t = agent_track(ag, op->id)))
			continue;
		/* an answer is used even when a reload dropped the query helper */
		if (asks_helper(ag, op) || t->answered)
			take_answer(ag, t, op);
		else if ((t->rt.dirty || t->rt.stale.n) && !t->worker && v.v)
			again |= act_on_read(ag, t, op, &v);
	}
	write_metrics(ag, &ops);
	return again;
}

void reconcile(struct agent *ag)
{
	/* the second pass reads every queue of the operations it is for, so
	 * it never asks for a third */
	while (pass(ag))
		;
}
