// SPDX-License-Identifier: MIT
/*
 * decide.c - what the agent does next for an operation (decide.h): which
 * phase its state calls for (the phase table of mayrun.h), whether that
 * phase may run (mayrun.h, the same check a person's command makes), and
 * what the agent adds: early activation, auto-finalize, a CCA NEW register
 * not yet cleared, and the notifications worth sending.
 */
#include <errno.h>
#include <stdarg.h>

#include "core/decide.h"
#include "core/macro.h"
#include "core/mayrun.h"

const char *action_name(enum action a)
{
	static const char *const names[] = { "none", "wait", "run", "activated-early" };

	return names[a];
}

static void because(struct decision *d, const char *fmt, ...) _printf_(2, 3);

static void because(struct decision *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
}

/* Any APQN not on the bus at all. */
static bool apqn_missing(const struct op *op, const struct view *v, struct apqn *where)
{
	for (size_t i = 0; i < op->apqns.n; i++) {
		const struct apqn_view *a = view_find(v, op->apqns.v[i]);

		if (!a || !a->present) {
			*where = op->apqns.v[i];
			return true;
		}
	}
	return false;
}

/* CCA: after activation NEW is empty again; a NEW still full means the
 * officer's activation has not gone through on this APQN yet. */
static bool cca_new_cleared(const struct op *op, const struct view *v)
{
	for (size_t i = 0; i < op->apqns.n; i++) {
		const struct apqn_view *a = view_find(v, op->apqns.v[i]);

		for (int t = 0; a && t < MK_TYPE_COUNT; t++) {
			const struct mk_register *n = &a->regs.reg[t][REG_NEW];

			if (op->has_new[t] && mk_type_is_cca(t) && a->regs.has[t] &&
			    mk_register_holds(n, &op->new_mkvp[t]))
				return false;
		}
	}
	return true;
}

struct decision decide(const struct op *op, const struct view *v)
{
	struct decision d = { .action = ACT_WAIT };
	struct errmsg e;
	struct apqn where;
	char n[APQN_STR_MAX];
	int rc, ph = phase_called_for(op->state);
	const struct phase_states *ps;

	if (ph < 0) {
		d.action = ACT_NONE;
		because(&d, "%s", op_state_name(op->state));
		return d;
	}
	ps = phase_states(ph);
	switch (ph) {
	case PHASE_CANCEL:
		d.action = ACT_RUN;
		d.phase = PHASE_CANCEL;
		/* not judged here: the step checks I3 itself (and refuses) */
		because(&d, "an interrupted cancel is run again");
		return d;
	case PHASE_REENCIPHER:
		if (guard_activated(op, v, &where)) {
			d.action = ACT_ACTIVATED_EARLY;
			d.event = "activated-early";
			because(&d, "APQN %s has a new master key active before every consumer re-enciphered",
				apqn_format(where, n));
			return d;
		}
		rc = phase_may_run(op, PHASE_REENCIPHER, v, &e);
		if (rc == 0) {
			d.action = ACT_RUN;
			d.phase = PHASE_REENCIPHER;
			d.judged = true;
			d.event = op->state == ps->from ? "loaded" : NULL;
			because(&d, "the new master keys are loaded on every APQN");
			return d;
		}
		d.waits_on_hsm = true;
		if (rc == -EKEYREJECTED)
			d.event = "unexpected-new-mkvp";
		else if (apqn_missing(op, v, &where))
			d.event = "apqn-missing";
		because(&d, "%s", e.text);
		return d;
	case PHASE_FINALIZE:
		rc = phase_may_run(op, PHASE_FINALIZE, v, &e);
		if (rc == 0 && (op->state == ps->during || cca_new_cleared(op, v))) {
			if (op->state == ps->from && !op->auto_finalize) {
				d.action = ACT_WAIT;
				because(&d, "active everywhere; auto-finalize is off: waiting for 'mkagent finalize'");
				return d;
			}
			d.action = ACT_RUN;
			d.phase = PHASE_FINALIZE;
			d.judged = true;
			because(&d, "the new master keys are active on every APQN");
			return d;
		}
		d.waits_on_hsm = true;
		if (apqn_missing(op, v, &where))
			d.event = "apqn-missing";
		because(&d, "%s", rc < 0 ? e.text : "a CCA NEW register still holds the new key");
		return d;
	default:
		return d;
	}
}
