/* SPDX-License-Identifier: MIT */
/*
 * errmsg.h - the one-line explanation a parser or check leaves for its
 * caller, next to the negative errno it returns. Pure code never prints:
 * the command decides where the line goes.
 */
#pragma once

#include "core/macro.h"

#define ERRMSG_MAX 512

struct errmsg {
	char text[ERRMSG_MAX];
};

/* Fill @e (may be NULL) and return @err, so callers can write
 * `return errmsg_set(e, -EINVAL, "...")`. */
int errmsg_set(struct errmsg *e, int err, const char *fmt, ...) _printf_(3, 4);
