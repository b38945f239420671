/* SPDX-License-Identifier: MIT */
/*
 * ini.h - INI text as Debian's libinih reads it: the line rules that keep
 * it from misreading, and the one parse used for operation files,
 * mkagent.conf and profiles, which names the first wrong line as
 * "FILE: line N: what". Pure: text in, values out; io/ reads the files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/errmsg.h"

/* libinih reads 200 bytes a line, newline and NUL included. */
#define INI_LINE_MAX 198

/*
 * Lines libinih would split (longer than INI_LINE_MAX), read as
 * continuations (leading blanks), stop at (NUL) or refuse (a section header
 * without ']', a line without '=') are errors. @strict files (those mkagent
 * writes) must also be non-empty and end in a newline.
 */
int ini_check_lines(const char *text, size_t len, bool strict, struct errmsg *e);

/* A libinih handler: 1 to go on, 0 (through ini_error()) for a wrong line. */
typedef int (*ini_key_fn)(void *user, const char *section, const char *name, const char *value);

struct ini_parse {
	const char *path; /* names the file in messages; NULL: they start at "line N" */
	bool strict;	  /* as ini_check_lines() */
	ini_key_fn key;
	void *user;
	const struct errmsg *why; /* where @key keeps why a line is wrong */
};

/*
 * Check the lines of @text (@len bytes, no NUL needed), then hand every
 * key to @p->key. The first wrong line is reported in @e as "PATH: line N:
 * what" (-EINVAL, or what the line check returned).
 */
int ini_parse_text(const char *text, size_t len, const struct ini_parse *p, struct errmsg *e);

/* For ini_key_fn: keep why this line is wrong, and return 0 so that
 * libinih gives its number. libinih goes on to the end and gives the first
 * wrong line's number: the first reason is kept. */
int ini_error(struct errmsg *why, const char *fmt, ...) _printf_(2, 3);
/* A number of seconds from 1 to a day for the INI key @name. */
int ini_seconds(struct errmsg *why, const char *name, const char *value, int *out);
