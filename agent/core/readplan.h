/* SPDX-License-Identifier: MIT */
/*
 * readplan.h - which APQNs the agent reads next, and why: every `mkvps`
 * read is a round trip to the HSM, so only the queues an operation waits
 * on are read, and only when something may have changed them: the
 * operation is new or changed state, its step's worker ended, a retry
 * is due, the poll timer fired, or a uevent named its queues (a queue's
 * bind/ONLINE/CONFIG, the bus's BINDINGS=complete, INITSCAN=done, or an
 * APMASK=/AQMASK= that gives its queues to the host or takes them away).
 * Pure: the agent keeps one struct read_track per live operation.
 */
#pragma once

#include "core/guard.h"
#include "core/op.h"
#include "core/uevent.h"

#define READ_RETRY_MAX_S 3600

struct read_track {
	enum op_state state;	    /* as last seen; OP_STATE_COUNT before */
	bool dirty;		    /* read all its registers in the next pass */
	struct apqn_list stale;	    /* or only these: a uevent named them */
	bool waits;		    /* its last decision waits on the HSM */
	bool reaped;		    /* its step's worker just ended */
	enum op_state spawned_in;   /* the state that worker started from */
	long long retry_at;	    /* ms, 0: none */
	int backoff_s;
};

#define READ_TRACK_INIT { .state = OP_STATE_COUNT, .dirty = true }

enum read_what {
	READ_NOTHING,
	READ_STALE, /* the APQNs uevents named (stale) */
	READ_ALL,   /* every APQN: fresh enough for a worker's checks */
};

struct read_next {
	enum read_what what;
	bool backed_off; /* its step could not go on: retried at retry_at */
};

/*
 * One pass over an operation whose file says @state, at @now (ms): take
 * in what happened since the last pass and say what to read. @read_before:
 * some of its registers were read already. @busy: a worker of it runs or
 * a read of its registers is under way, so nothing is read now.
 */
struct read_next read_plan(struct read_track *t, enum op_state state, long long now,
			   int poll_interval_s, bool read_before, bool busy);
/* The APQNs of @apqns that @what takes, added to @want once each. */
int read_plan_apqns(const struct read_track *t, enum read_what what, const struct apqn_list *apqns,
		    struct apqn_list *want);
/* Registers were read for @t as @what asked: it is clean again. */
void read_done(struct read_track *t);
/* A step of @t must wait and be tried again later, backing off. */
void read_retry_later(struct read_track *t, long long now, int poll_interval_s);

/* Whether the poll timer reads @t: it waits on the HSM, or its step backs
 * off and an early activation or a wrong key must still be seen. */
bool read_watched(const struct read_track *t);
/* The poll timer fired: every watched operation is read whole. */
void read_poll(struct read_track *t);

/*
 * The bus masks the agent saw last. Unknown until the first APMASK= or
 * AQMASK=: then every APQN counts as concerned.
 */
struct bus_masks {
	struct ap_mask ap, aq;
	bool ap_known, aq_known;
};

/*
 * What uevent @u asks to read of an operation on @apqns: the queues it
 * names (not on add: mkvps is read after bind), every APQN of a watched
 * operation on BINDINGS=complete or INITSCAN=done, every APQN of an
 * operation with a queue whose card (APMASK) or domain (AQMASK) changed
 * hands since @seen. Marks @t; returns whether it asked anything.
 */
bool read_mark_uevent(struct read_track *t, const struct apqn_list *apqns, const struct uevent *u,
		      const struct bus_masks *seen);
/* Remember the masks @u carries, after every operation was marked. */
void bus_masks_update(struct bus_masks *m, const struct uevent *u);

/*
 * After a uevent only the queues it named are read; the others' registers
 * are as last read, and the HSM changes them without a uevent. When the
 * queues just read (@named) are ready for the next step, what the others
 * still block on may be out of date: all are read again before deciding.
 */
bool read_all_again(const struct op *op, const struct apqn_list *named, const struct view *v);

void read_track_free(struct read_track *t);
