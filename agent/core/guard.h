/* SPDX-License-Identifier: MIT */
/*
 * guard.h - the safety invariants of DESIGN §3 as pure checks of an
 * operation against a snapshot of its APQNs' registers: I1 before
 * re-enciphering, I2 before finalizing, I3 before canceling.
 */
#pragma once

#include "core/op.h"
#include "core/queue.h"

/* One APQN of a register snapshot: the queue as the bus showed it. */
struct apqn_view {
	QUEUE_EMBED(queue);
	char read_error[160]; /* why regs_read is false, when read failed */
};

struct view {
	struct apqn_view *v;
	size_t n;
};

const struct apqn_view *view_find(const struct view *v, struct apqn a);
/* The APQNs of @apqns as @fresh saw them, else as @old did; -ENOENT when
 * one is in neither. */
int view_merge(const struct view *fresh, const struct view *old, const struct apqn_list *apqns,
	       struct view *out);
void view_free(struct view *v);

/* I1: every APQN present, online, not check-stopped, NEW loaded with the
 * operation's pattern for every type. I6: -EKEYREJECTED when some NEW
 * holds another loaded pattern, whatever the other APQNs' state. */
int guard_reencipher(const struct op *op, const struct view *v, struct errmsg *e);
/* I2: every APQN's CUR holds the new pattern of every type. */
int guard_finalize(const struct op *op, const struct view *v, struct errmsg *e);
/* I3: no APQN's CUR holds a new pattern. Unreadable APQNs are refused
 * unless @nothing_done (no consumer has re-enciphered anything). */
int guard_cancel(const struct op *op, const struct view *v, bool nothing_done, struct errmsg *e);
/* I5: whether a new pattern of @op is in the CUR register of an APQN
 * whose registers were read; @where: the first such APQN. */
bool guard_activated(const struct op *op, const struct view *v, struct apqn *where);
/* Whether @a can take part in a step at all (queue_usability()), and its
 * registers were read; names what is wrong. */
int guard_usable(const struct apqn_view *a, struct errmsg *e);
