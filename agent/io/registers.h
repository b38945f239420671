/* SPDX-License-Identifier: MIT */
/*
 * registers.h - a snapshot of the registers of some APQNs: sysfs `mkvps`
 * of those queues only, plus the registers sysfs does not show (the MK
 * types marked `queried`, today cca-sym) from the configured query helper
 * (`helper <APQN> TYPE`, lines in the mkvps form).
 */
#pragma once

#include "core/guard.h"

/* Scan the bus and read the registers of @apqns. With @query_helper (may
 * be NULL or "") each queue also gets its queried types' registers. */
int view_read(struct view *out, const struct apqn_list *apqns, const char *query_helper,
	      struct errmsg *e);
