/* SPDX-License-Identifier: MIT */
/*
 * decide.h - "what next for this operation, given these registers": the
 * agent's whole judgement as a pure function of an operation and a
 * snapshot of its APQNs (DESIGN §3, §6), kept apart from all I/O.
 */
#pragma once

#include "core/guard.h"
#include "core/op.h"

enum action {
	ACT_NONE,	    /* nothing to do: terminal, or held in error */
	ACT_WAIT,	    /* wait for the HSM or the APQNs */
	ACT_RUN,	    /* run @phase of every profile */
	ACT_ACTIVATED_EARLY, /* I5: to error, reason activated-early */
};

struct decision {
	enum action action;
	enum phase phase;   /* ACT_RUN */
	/* ACT_RUN: phase_may_run() passed on the view decided on, so a step
	 * started with it need not judge again (struct verdict) */
	bool judged;
	bool waits_on_hsm;  /* polling helps: planned or reenciphered */
	const char *event;  /* a notify event worth sending, or NULL */
	char why[256];	    /* for the log */
};

struct decision decide(const struct op *op, const struct view *v);
const char *action_name(enum action a);
