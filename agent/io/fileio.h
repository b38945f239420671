/* SPDX-License-Identifier: MIT */
/*
 * fileio.h - reading the files mkagent trusts: ownership checks for root
 * and bounded reads. What the text says is parsed in core/ (core/ini.h).
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
/* As root, what mkagent runs or reads must be root's and not writable by
 * group or others; @what names it in the message ("helper /x"). */
int check_root_owned(const struct stat *st, const char *what, struct errmsg *e);
