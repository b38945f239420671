/* SPDX-License-Identifier: MIT */
/*
 * mkvps.h - the parser of the `mkvps` text the zcrypt driver prints for a
 * CCA or EP11 queue (DESIGN §1), and of the same line form a register
 * query helper prints for registers sysfs does not show (CCA SYM).
 * Pure: text in, registers out.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/errmsg.h"
#include "core/mktype.h"
#include "core/mkvp.h"

struct mk_register {
	enum reg_state state;
	struct mkvp mkvp; /* len 0 unless reg_state_has_mkvp(state) */
};

struct mkvps {
	bool has[MK_TYPE_COUNT];
	struct mk_register reg[MK_TYPE_COUNT][REG_COUNT];
};

/*
 * Parse @len bytes of @text. Lines are matched by their prefix
 * (`AES NEW:` ...); lines with no known prefix are ignored. A known line
 * that is malformed, repeated, or a type with missing lines is an error:
 * -EINVAL and a message that quotes the line.
 */
int mkvps_parse(const char *text, size_t len, struct mkvps *out, struct errmsg *e);

/* Copy the types @src has into @dst (query helper lines into sysfs ones). */
void mkvps_merge(struct mkvps *dst, const struct mkvps *src);

/* True when @r's pattern holds @want: NEW full/committed, CUR/OLD valid. */
bool mk_register_holds(const struct mk_register *r, const struct mkvp *want);
