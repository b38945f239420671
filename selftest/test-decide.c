// SPDX-License-Identifier: MIT
/*
 * The decision, row by row: each state against each register situation;
 * then whether a phase may run (mayrun.h), the one check the agent and a
 * person's command share: state rules, the phase-to-guard mapping, the
 * cancel cases, recover, and when a judgement made before a step holds.
 */
#include <errno.h>

#include "core/decide.h"
#include "core/mayrun.h"
#include "tap.h"
#include "core/macro.h"

#define NEWP "7D10D17BC8A409C4"
#define OLDP "1111111111111111"
#define WRONG "2222222222222222"

enum sit {
	NOT_LOADED,	 /* NEW empty everywhere */
	PARTIAL,	 /* loaded on one, partial on the other */
	LOADED,		 /* NEW full with the pattern everywhere */
	WRONG_KEY,	 /* a different pattern full in NEW on one */
	ACTIVE_SOME,	 /* CUR new on one, NEW still loaded on the other */
	ACTIVE_ALL,	 /* CUR new everywhere, NEW empty */
	ACTIVE_NEW_FULL, /* CUR new everywhere, NEW not yet empty on one */
	MISSING,	 /* loaded, but one APQN is not on the bus */
	OFFLINE,
	CHKSTOP,
	DECONFIG,
	WRONG_NOT_READY, /* NEW empty on the first, a different pattern on the second */
	WRONG_OFFLINE,	 /* the first offline, a different pattern on the second */
	SIT_COUNT,
};

static const char *const sit_names[SIT_COUNT] = {
	"not loaded", "partially loaded", "loaded", "wrong key loaded", "activated on some",
	"activated on all", "activated, CCA NEW not yet empty", "APQN missing", "APQN offline",
	"APQN check-stopped", "APQN config off", "wrong key on one, the other not loaded",
	"wrong key on one, the other offline",
};

static void reg(struct mk_register *r, enum reg_state s, const char *hex)
{
	r->state = s;
	r->mkvp.len = 0;
	if (hex)
		mkvp_parse_hex(hex, 16, 8, &r->mkvp);
}

static struct view make_view(enum sit s, struct apqn_view *slots)
{
	for (int i = 0; i < 2; i++) {
		struct apqn_view *a = &slots[i];
		struct mk_register *r = a->regs.reg[MK_CCA_AES];
		bool loaded = s == LOADED || s == WRONG_KEY || s == MISSING || s == OFFLINE ||
			      s == CHKSTOP || s == DECONFIG || s == WRONG_OFFLINE || (s == PARTIAL && i == 0) ||
			      (s == ACTIVE_SOME && i == 1) || (s == ACTIVE_NEW_FULL && i == 1);
		bool active = s == ACTIVE_ALL || s == ACTIVE_NEW_FULL || (s == ACTIVE_SOME && i == 0);

		*a = (struct apqn_view){ .apqn = { 8 + i, 0x33 }, .present = true, .mode = AP_MODE_CCA,
					 .online = 1, .config = 1, .chkstop = 0, .regs_read = true };
		a->regs.has[MK_CCA_AES] = true;
		reg(&r[REG_NEW], loaded ? REG_FULL : REG_EMPTY, loaded ? NEWP : NULL);
		reg(&r[REG_CUR], REG_VALID, active ? NEWP : OLDP);
		reg(&r[REG_OLD], active ? REG_VALID : REG_INVALID, active ? OLDP : NULL);
		if (s == PARTIAL && i == 1)
			reg(&r[REG_NEW], REG_PARTIAL, NULL);
		if ((s == WRONG_KEY || s == WRONG_NOT_READY || s == WRONG_OFFLINE) && i == 1)
			reg(&r[REG_NEW], REG_FULL, WRONG);
		if (i == 1 && s == MISSING)
			a->present = false;
		if (i == 1 && s == OFFLINE)
			a->online = 0;
		if (i == 1 && s == CHKSTOP)
			a->chkstop = 1;
		if (i == 1 && s == DECONFIG)
			a->config = 0;
		if (i == 1 && s >= MISSING && s <= DECONFIG)
			a->regs_read = s == OFFLINE ? false : a->regs_read;
		if (i == 0 && s == WRONG_OFFLINE) {
			a->online = 0;
			a->regs_read = false;
		}
	}
	return (struct view){ .v = slots, .n = 2 };
}

/* Expected: action, phase (or -1), event (or NULL), timer. */
struct row {
	enum action action;
	int phase;
	const char *event;
	bool timer;
};

#define W(ev) { ACT_WAIT, -1, ev, true }
#define RUN(ph, ev) { ACT_RUN, ph, ev, false }
#define EARLY { ACT_ACTIVATED_EARLY, -1, "activated-early", false }
#define NONE { ACT_NONE, -1, NULL, false }
#define WAIT_PERSON { ACT_WAIT, -1, NULL, false }

static const enum op_state states[] = { OP_PLANNED, OP_REENCIPHERING, OP_REENCIPHERED,
					OP_FINALIZING, OP_CANCELING, OP_ERROR, OP_FINALIZED,
					OP_CANCELED };

static const struct row table[][SIT_COUNT] = {
	/* planned */
	{ W(NULL), W(NULL), RUN(PHASE_REENCIPHER, "loaded"), W("unexpected-new-mkvp"), EARLY, EARLY,
	  EARLY, W("apqn-missing"), W(NULL), W(NULL), W(NULL), W("unexpected-new-mkvp"),
	  W("unexpected-new-mkvp") },
	/* reenciphering (a phase interrupted) */
	{ W(NULL), W(NULL), RUN(PHASE_REENCIPHER, NULL), W("unexpected-new-mkvp"), EARLY, EARLY,
	  EARLY, W("apqn-missing"), W(NULL), W(NULL), W(NULL), W("unexpected-new-mkvp"),
	  W("unexpected-new-mkvp") },
	/* reenciphered */
	{ W(NULL), W(NULL), W(NULL), W(NULL), W(NULL), RUN(PHASE_FINALIZE, NULL), W(NULL),
	  W("apqn-missing"), W(NULL), W(NULL), W(NULL), W(NULL), W(NULL) },
	/* finalizing (interrupted) */
	{ W(NULL), W(NULL), W(NULL), W(NULL), W(NULL), RUN(PHASE_FINALIZE, NULL),
	  RUN(PHASE_FINALIZE, NULL), W("apqn-missing"), W(NULL), W(NULL), W(NULL), W(NULL), W(NULL) },
	/* canceling (interrupted) */
	{ RUN(PHASE_CANCEL, NULL), RUN(PHASE_CANCEL, NULL), RUN(PHASE_CANCEL, NULL),
	  RUN(PHASE_CANCEL, NULL), RUN(PHASE_CANCEL, NULL), RUN(PHASE_CANCEL, NULL),
	  RUN(PHASE_CANCEL, NULL), RUN(PHASE_CANCEL, NULL), RUN(PHASE_CANCEL, NULL),
	  RUN(PHASE_CANCEL, NULL), RUN(PHASE_CANCEL, NULL), RUN(PHASE_CANCEL, NULL),
	  RUN(PHASE_CANCEL, NULL) },
	/* error, finalized, canceled: held or done */
	{ NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE },
	{ NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE },
	{ NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE },
};

/* One profile "p" of @op with its reencipher phase @re and cancel pending. */
static void one_profile(struct op *op, enum phase_status re)
{
	static const bool has[PHASE_COUNT] = { true, true, true, true };

	free(op->profiles);
	op->profiles = NULL;
	op->nprofiles = 0;
	op_add_profile(op, "p", has);
	for (int ph = 0; ph < PHASE_COUNT; ph++)
		op->profiles[0].phase[ph] = PS_PENDING;
	op->profiles[0].phase[PHASE_REENCIPHER] = re;
}

/* Each state against each phase: the rule of a person's command. */
static void state_rules(struct op *op)
{
	/* reencipher, finalize, cancel, recover; reencipher pending */
	static const bool allowed[OP_STATE_COUNT][PHASE_COUNT] = {
		[OP_PLANNED] = { true, false, true, false },
		[OP_REENCIPHERING] = { true, false, true, false },
		[OP_REENCIPHERED] = { false, true, true, false },
		[OP_FINALIZING] = { false, true, false, false },
		[OP_FINALIZED] = { false, false, false, false },
		[OP_CANCELING] = { false, false, true, false },
		[OP_CANCELED] = { false, false, false, false },
		[OP_ERROR] = { true, false, true, true },
	};
	struct errmsg e;

	one_profile(op, PS_PENDING);
	for (int s = 0; s < OP_STATE_COUNT; s++) {
		for (int ph = 0; ph < PHASE_COUNT; ph++) {
			int rc;

			op->state = s;
			rc = phase_state_allows(op, ph, &e);
			ok(allowed[s][ph] ? rc == 0 : rc == -EPERM, "%s: %s %s",
			   op_state_name(s), phase_name(ph), allowed[s][ph] ? "may run" : "refused");
		}
	}
	op->state = OP_ERROR;
	one_profile(op, PS_DONE);
	ok(phase_state_allows(op, PHASE_REENCIPHER, &e) == -EPERM &&
		   phase_state_allows(op, PHASE_FINALIZE, &e) == 0,
	   "error after every profile re-enciphered: finalize may run, reencipher not");
	op->state = OP_PLANNED;
	phase_state_allows(op, PHASE_FINALIZE, &e);
	is_string(e.text, "operation TEST01 is planned; finalize needs it reenciphered",
		  "finalize's refusal names the operation and its state");
	op->state = OP_REENCIPHERED;
	phase_state_allows(op, PHASE_REENCIPHER, &e);
	is_string(e.text, "operation TEST01 is reenciphered; there is nothing to re-encipher",
		  "reencipher's refusal");
	op->state = OP_FINALIZING;
	phase_state_allows(op, PHASE_CANCEL, &e);
	is_string(e.text, "operation TEST01 is finalizing; it cannot be canceled", "cancel's refusal");
	op->state = OP_PLANNED;
	phase_state_allows(op, PHASE_RECOVER, &e);
	is_string(e.text, "operation TEST01 is planned; recover is for operations in error",
		  "recover's refusal");
	ok(force_cancel_allowed(op, &e) == -EPERM &&
		   streq(e.text, "--force is only for an operation in error; operation TEST01 is planned"),
	   "cancel --force: refused but in error");
	op->state = OP_ERROR;
	ok(force_cancel_allowed(op, &e) == 0, "cancel --force: in error");
}

/* Which guard each phase takes, and cancel's special cases. */
static void guards(struct op *op, struct apqn_view *slots)
{
	struct view v;
	struct errmsg e;

	one_profile(op, PS_PENDING);
	v = make_view(LOADED, slots);
	ok(phase_guard(op, PHASE_REENCIPHER, &v, &e) == 0, "reencipher: I1 passes when loaded");
	v = make_view(NOT_LOADED, slots);
	ok(phase_guard(op, PHASE_REENCIPHER, &v, &e) == -EAGAIN, "reencipher: I1 waits when not loaded");
	v = make_view(WRONG_KEY, slots);
	ok(phase_guard(op, PHASE_REENCIPHER, &v, &e) == -EKEYREJECTED, "reencipher: I6, a wrong key");
	v = make_view(LOADED, slots);
	ok(phase_guard(op, PHASE_FINALIZE, &v, &e) == -EAGAIN, "finalize: I2 waits before activation");
	v = make_view(ACTIVE_ALL, slots);
	ok(phase_guard(op, PHASE_FINALIZE, &v, &e) == 0, "finalize: I2 passes once active everywhere");
	ok(phase_guard(op, PHASE_CANCEL, &v, &e) == -EPERM, "cancel: I3 refuses once a key is active");
	v = make_view(ACTIVE_SOME, slots);
	ok(phase_guard(op, PHASE_CANCEL, &v, &e) == -EPERM, "cancel: I3 refuses when active on one");
	ok(phase_guard(op, PHASE_RECOVER, &v, &e) == 0 && !phase_reads_registers(PHASE_RECOVER) &&
		   phase_reads_registers(PHASE_CANCEL),
	   "recover: no guard, no registers read");

	v = make_view(OFFLINE, slots);
	ok(op_nothing_reenciphered(op) && phase_guard(op, PHASE_CANCEL, &v, &e) == 0,
	   "cancel with an APQN unreadable: passes while nothing is re-enciphered");
	for (enum phase_status s = PS_RUNNING; s <= PS_FAILED; s++) {
		one_profile(op, s);
		ok(!op_nothing_reenciphered(op) && phase_guard(op, PHASE_CANCEL, &v, &e) == -EAGAIN,
		   "cancel with an APQN unreadable, a reencipher phase %s: refused",
		   phase_status_name(s));
	}
	one_profile(op, PS_NONE);
	ok(op_nothing_reenciphered(op), "a profile without a reencipher phase re-enciphered nothing");

	op->state = OP_FINALIZING;
	v = make_view(ACTIVE_ALL, slots);
	ok(phase_may_run(op, PHASE_CANCEL, &v, &e) == -EPERM &&
		   strstr(e.text, "it cannot be canceled"),
	   "phase_may_run: the state rule first");
	op->state = OP_REENCIPHERED;
	v = make_view(ACTIVE_SOME, slots);
	ok(phase_may_run(op, PHASE_FINALIZE, &v, &e) == -EAGAIN && strstr(e.text, "not activated yet"),
	   "phase_may_run: then the guard");
	v = make_view(ACTIVE_ALL, slots);
	ok(phase_may_run(op, PHASE_FINALIZE, &v, &e) == 0, "phase_may_run: both pass");
}

/* I5's question, asked by decide() and by a step whose consumer failed. */
static void activated(struct op *op, struct apqn_view *slots)
{
	static const struct {
		enum sit s;
		int where; /* the index of the APQN named, -1: none */
	} cases[] = {
		{ LOADED, -1 }, { ACTIVE_SOME, 0 }, { ACTIVE_ALL, 0 }, { ACTIVE_NEW_FULL, 0 },
		{ OFFLINE, -1 }, { MISSING, -1 },
	};
	char n[APQN_STR_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct view v = make_view(cases[i].s, slots);
		struct apqn where = { 0xff, 0xff };
		bool got = guard_activated(op, &v, &where);

		ok(got == (cases[i].where >= 0) &&
			   (!got || apqn_eq(where, op->apqns.v[cases[i].where])),
		   "guard_activated, %s: %s", sit_names[cases[i].s],
		   got ? apqn_format(where, n) : "no");
	}
	{
		struct view v = make_view(ACTIVE_SOME, slots);
		struct apqn where;

		slots[0].regs_read = false;
		ok(!guard_activated(op, &v, &where), "guard_activated: registers not read say nothing");
	}
	one_profile(op, PS_FAILED);
	ok(op_recover_pending(op), "a pending recover phase is pending");
	op->profiles[0].phase[PHASE_RECOVER] = PS_DONE;
	ok(!op_recover_pending(op), "a recover phase done is not");
	op->profiles[0].phase[PHASE_RECOVER] = PS_NONE;
	ok(!op_recover_pending(op), "nor is a profile without one");
	free(op->profiles);
	op->profiles = NULL;
	op->nprofiles = 0;
}

static void skip_cancels(struct op *op)
{
	static const enum phase_status re[] = { PS_NONE, PS_PENDING, PS_RUNNING, PS_DONE, PS_FAILED };
	static const enum phase_status want[] = { PS_DONE, PS_DONE, PS_PENDING, PS_PENDING,
						  PS_PENDING };

	for (size_t i = 0; i < ARRAY_SIZE(re); i++) {
		one_profile(op, re[i]);
		op_skip_untouched_cancels(op);
		ok(op->profiles[0].phase[PHASE_CANCEL] == want[i],
		   "cancel of a profile whose reencipher is %s: %s", phase_status_name(re[i]),
		   want[i] == PS_DONE ? "nothing to undo, done" : "runs");
	}
}

static void verdicts(struct op *op, struct apqn_view *slots)
{
	struct view v = make_view(LOADED, slots);
	struct op judged = *op;
	struct op_profile jp[1];
	struct verdict vd = { .phase = PHASE_REENCIPHER, .judged = &judged, .view = &v };

	one_profile(op, PS_PENDING);
	op->state = OP_PLANNED;
	judged = *op;
	memcpy(jp, op->profiles, sizeof(jp));
	judged.profiles = jp;
	ok(verdict_holds(&vd, op, PHASE_REENCIPHER), "a verdict holds for the operation it judged");
	ok(!verdict_holds(NULL, op, PHASE_REENCIPHER), "no verdict: judge");
	ok(!verdict_holds(&vd, op, PHASE_FINALIZE), "a verdict for another phase: judge");
	vd.view = NULL;
	ok(!verdict_holds(&vd, op, PHASE_REENCIPHER), "a verdict without registers: judge");
	vd.view = &v;
	vd.judged = NULL;
	ok(!verdict_holds(&vd, op, PHASE_REENCIPHER), "registers only, nothing judged: judge");
	vd.judged = &judged;
	op->state = OP_REENCIPHERING;
	ok(!verdict_holds(&vd, op, PHASE_REENCIPHER), "the state moved meanwhile: judge again");
	op->state = OP_PLANNED;
	op->profiles[0].phase[PHASE_REENCIPHER] = PS_DONE;
	ok(!verdict_holds(&vd, op, PHASE_REENCIPHER),
	   "a profile moved meanwhile (mkagent helper): judge again");
	op->profiles[0].phase[PHASE_REENCIPHER] = PS_PENDING;
	op->new_mkvp[MK_CCA_AES].b[0] ^= 1;
	ok(!verdict_holds(&vd, op, PHASE_REENCIPHER), "another pattern: judge again");
	op->new_mkvp[MK_CCA_AES].b[0] ^= 1;
	snprintf(judged.id, sizeof(judged.id), "OTHER1");
	ok(!verdict_holds(&vd, op, PHASE_REENCIPHER), "another operation: judge again");
}

static void may_run_tests(struct op *op, struct apqn_view *slots)
{
	state_rules(op);
	guards(op, slots);
	skip_cancels(op);
	verdicts(op, slots);
	free(op->profiles);
	op->profiles = NULL;
	op->nprofiles = 0;
}

/* The phases' states, in the one table, and what each state calls for. */
static void phase_table(void)
{
	static const struct {
		enum phase ph;
		enum op_state from, during, after;
	} want[] = {
		{ PHASE_REENCIPHER, OP_PLANNED, OP_REENCIPHERING, OP_REENCIPHERED },
		{ PHASE_FINALIZE, OP_REENCIPHERED, OP_FINALIZING, OP_FINALIZED },
		{ PHASE_CANCEL, OP_STATE_COUNT, OP_CANCELING, OP_CANCELED },
		{ PHASE_RECOVER, OP_ERROR, OP_ERROR, OP_ERROR },
	};
	static const int called[OP_STATE_COUNT] = {
		[OP_PLANNED] = PHASE_REENCIPHER, [OP_REENCIPHERING] = PHASE_REENCIPHER,
		[OP_REENCIPHERED] = PHASE_FINALIZE, [OP_FINALIZING] = PHASE_FINALIZE,
		[OP_FINALIZED] = -1, [OP_CANCELING] = PHASE_CANCEL,
		[OP_CANCELED] = -1, [OP_ERROR] = -1,
	};
	struct errmsg e = { "" };
	bool others = false;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct phase_states *ps = phase_states(want[i].ph);

		ok(ps->from == want[i].from && ps->during == want[i].during &&
			   ps->after == want[i].after,
		   "%s: runs in %s, moves to %s", phase_name(want[i].ph),
		   op_state_name(want[i].during), op_state_name(want[i].after));
	}
	for (int st = 0; st < OP_STATE_COUNT; st++)
		is_int(phase_called_for(st), called[st], "%s calls for %s", op_state_name(st),
		       called[st] < 0 ? "no phase" : phase_name(called[st]));
	is_int(op_refuse_terminal("TEST01", OP_FINALIZED, -ENOENT, &e), -ENOENT,
	       "a finalized operation is refused with the errno asked for");
	is_string(e.text, "operation TEST01 is finalized", "saying its state");
	is_int(op_refuse_terminal("TEST01", OP_CANCELED, -EPERM, &e), -EPERM, "so is a canceled one");
	for (int st = 0; st < OP_STATE_COUNT; st++)
		others |= st != OP_FINALIZED && st != OP_CANCELED &&
			  op_refuse_terminal("TEST01", st, -EPERM, &e) != 0;
	ok(!others, "no other state is refused as terminal");
}

int main(void)
{
	struct op op = { .id = "TEST01", .auto_finalize = true };
	struct apqn_view slots[2];

	apqn_list_parse("08.0033,09.0033", &op.apqns, NULL);
	op.has_new[MK_CCA_AES] = true;
	mkvp_parse_cli(MK_CCA_AES, NEWP, &op.new_mkvp[MK_CCA_AES], NULL);

	for (size_t si = 0; si < sizeof(states) / sizeof(states[0]); si++) {
		for (int s = 0; s < SIT_COUNT; s++) {
			struct view v = make_view(s, slots);
			const struct row *want = &table[si][s];
			struct decision d;

			op.state = states[si];
			d = decide(&op, &v);
			ok(d.action == want->action &&
				   (want->phase < 0 || (int)d.phase == want->phase) &&
				   (want->event ? d.event && streq(d.event, want->event) : !d.event) &&
				   d.waits_on_hsm == want->timer,
			   "%s, %s: %s%s%s%s", op_state_name(states[si]), sit_names[s],
			   action_name(want->action),
			   want->phase >= 0 ? " " : "", want->phase >= 0 ? phase_name(want->phase) : "",
			   want->event ? " + notify" : "");
			if (!(d.action == want->action))
				diag("got %s (%s)", action_name(d.action), d.why);
		}
	}

	op.state = OP_REENCIPHERED;
	op.auto_finalize = false;
	{
		struct view v = make_view(ACTIVE_ALL, slots);
		struct decision d = decide(&op, &v);

		ok(d.action == ACT_WAIT && !d.waits_on_hsm,
		   "reenciphered, active everywhere, auto-finalize off: wait for a person, no polling");
	}
	{
		struct view v = make_view(LOADED, slots);
		struct decision d;

		op.state = OP_PLANNED;
		d = decide(&op, &v);
		ok(d.action == ACT_RUN && d.judged, "planned, loaded: run reencipher, judged");
		op.state = OP_FINALIZING;
		v = make_view(ACTIVE_ALL, slots);
		d = decide(&op, &v);
		ok(d.action == ACT_RUN && d.judged, "finalizing, active: run finalize, judged");
		op.state = OP_CANCELING;
		d = decide(&op, &v);
		ok(d.action == ACT_RUN && !d.judged,
		   "canceling: run cancel, not judged (the step checks I3 itself)");
	}
	may_run_tests(&op, slots);
	activated(&op, slots);
	phase_table();
	apqn_list_free(&op.apqns);
	return done_testing();
}
