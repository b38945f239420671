// SPDX-License-Identifier: MIT
/* The decision, row by row: each state against each register situation. */
#include "core/decide.h"
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
	apqn_list_free(&op.apqns);
	return done_testing();
}
