/* SPDX-License-Identifier: MIT */
/*
 * mkvp.h - master key verification patterns: the hex values people type
 * (optional 0x, either case, 8 bytes for CCA and 16 for EP11), the longer
 * ones sysfs prints, and the rule that a register matches a given pattern
 * when its own pattern begins with it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/errmsg.h"
#include "core/mktype.h"

#define MKVP_STR_MAX (2 * MKVP_MAX_BYTES + 1)

struct mkvp {
	uint8_t len; /* bytes; 0 = no pattern */
	uint8_t b[MKVP_MAX_BYTES];
};

/* Exactly 2 * @nbytes hex digits, no prefix. -EINVAL otherwise. */
int mkvp_parse_hex(const char *s, size_t len, size_t nbytes, struct mkvp *out);
/* A pattern given for @t on the command line or in a state file. */
int mkvp_parse_cli(enum mk_type t, const char *s, struct mkvp *out, struct errmsg *e);
/* Upper-case hex without 0x into @buf (MKVP_STR_MAX bytes). */
char *mkvp_format(const struct mkvp *p, char *buf);
/* True when @reg begins with @want (both non-empty). */
bool mkvp_matches(const struct mkvp *reg, const struct mkvp *want);
bool mkvp_eq(const struct mkvp *a, const struct mkvp *b);
/* Cut to at most @nbytes, as state files keep CUR patterns. */
void mkvp_truncate(struct mkvp *p, size_t nbytes);
