/* SPDX-License-Identifier: MIT */
/*
 * exposition.h - the agent's state as a Prometheus text exposition, for
 * node_exporter's textfile collector ([metrics] textfile): the state of
 * each live operation, whether it is ready for activation or was
 * activated early, and the registers of its APQNs as last read. Pure:
 * io/metrics.h writes the file.
 */
#pragma once

#include "core/guard.h"
#include "core/op.h"

struct metrics_op {
	const struct op *op;
	const struct view *regs; /* as last read; NULL or empty when none */
};

/* The exposition text for @n operations; malloc'd into @text. */
int metrics_format(const struct metrics_op *ops, size_t n, char **text);
