/* SPDX-License-Identifier: MIT */
/*
 * create.h - a new operation, as `plan` and `reencipher -a` make it:
 * checked against the registers of its APQNs before anything is written,
 * then written under the creation lock. Each call returns 0 or a negative
 * errno with one line; warnings go, a line each, where the caller says.
 */
#pragma once

#include "step/step.h"

/* Where a warning goes (a command: stderr); NULL drops them. */
typedef void create_warn_fn(const char *line);

/* I10: -EOPNOTSUPP for a type whose registers nothing could read (CCA SYM
 * without a query helper, named in @config). */
int create_check_types(const struct engine *en, const struct op *op, const char *config,
		       struct errmsg *e);
/* Each name of @names (--profiles, NULL-terminated, each a profile name;
 * NULL when not given): -ENOENT when no such profile exists. */
int create_check_profile_names(const struct engine *en, const char *const *names,
			       struct errmsg *e);
/*
 * The profiles @names lists, or every one that covers a type of @op; every
 * APQN on the bus, of the right kind, with readable registers and not the
 * new pattern in CUR already (I10); the current patterns kept as the old
 * ones where the APQNs agree; with @now, whether reencipher may run at
 * once (its guard and helpers' checks).
 */
int create_check(struct engine *en, struct op *op, const char *const *names, bool now,
		 create_warn_fn *say, struct errmsg *e);
/*
 * Make what the state directory @state_dir lacks, take the creation lock,
 * refuse an overlap with a live operation (I4; @who names unreadable files
 * in warnings), give @op a free ID and write it, planned, with @lock its
 * operation's lock taken.
 */
int create_write(struct engine *en, struct op *op, const char *state_dir, const char *who,
		 create_warn_fn *say, int *lock, struct errmsg *e);
