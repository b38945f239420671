/* SPDX-License-Identifier: MIT */
/*
 * pin.h - where token PINs come from: the PIN helper (`helper <label>`,
 * the PIN on its first stdout line) or, for a person at a terminal, a
 * prompt without echo. A PIN is never logged and is wiped after use.
 */
#pragma once

#include <stdbool.h>

#include "core/errmsg.h"

struct pin_source {
	const char *helper; /* NULL or "": none */
	bool tty;	    /* may ask on /dev/tty */
	const char *op_id;  /* the operation asking, for the log */
};

/* The get_pin callback of struct run_spec; @ctx is a struct pin_source. */
int pin_get(void *ctx, const char *label, char *pin, struct errmsg *e);
