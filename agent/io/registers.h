/* SPDX-License-Identifier: MIT */
/*
 * registers.h - a snapshot of the registers of some APQNs: sysfs `mkvps`
 * of those queues only, plus the CCA SYM registers from the configured
 * query helper (`helper <APQN> cca-sym`, lines in the mkvps form).
 */
#pragma once

#include "core/guard.h"

/* Scan the bus and read the registers of @apqns. With @sym_helper (may
 * be NULL or "") CCA queues also get their cca-sym registers. */
int view_read(struct view *out, const struct apqn_list *apqns, const char *sym_helper,
	      struct errmsg *e);
