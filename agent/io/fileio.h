/* SPDX-License-Identifier: MIT */
/*
 * fileio.h - reading the files mkagent trusts: ownership checks for root,
 * bounded reads, and the line rules that keep libinih from misreading.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "core/errmsg.h"

#define TEXT_FILE_MAX (1 << 20)

/* As root: refuse what is not root's or is writable by group or others,
 * and what is not a directory (@dir) or regular file. */
int file_check_owner(int fd, const char *path, bool dir, struct errmsg *e);
/* Read a whole text file from @fd (at most TEXT_FILE_MAX bytes). */
int read_fd_text(int fd, const char *path, char **text, size_t *len, struct errmsg *e);
/* Read @path through the descriptor trust_open() checked. */
int read_config_file(const char *path, char **text, struct errmsg *e);
/*
 * Lines libinih would split (longer than INI_LINE_MAX), read as
 * continuations (leading blanks), stop at (NUL) or refuse (a section header
 * without ']', a line without '=') are errors. @strict files (those mkagent
 * writes) must also be non-empty and end in a newline.
 */
int ini_check_lines(const char *text, size_t len, bool strict, struct errmsg *e);
/* For libinih handlers: keep why this line is wrong, and return 0 so that
 * ini_parse_string() gives its number. inih goes on to the end and gives
 * the first wrong line's number: the first reason is kept. */
int ini_error(struct errmsg *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A number of seconds from 1 to a day for the INI key @name. */
int ini_seconds(struct errmsg *why, const char *name, const char *value, int *out);
/* As root, what mkagent runs or reads must be root's and not writable by
 * group or others; @what names it in the message ("helper /x"). */
int check_root_owned(const struct stat *st, const char *what, struct errmsg *e);
