/* SPDX-License-Identifier: MIT */
/*
 * trust.h - what mkagent may trust as root (DESIGN §5), as OpenSSH's
 * safe_path and sudo judge it: the file and every directory on its path up
 * to "/" are root's and not writable by group or others; a symlink counts
 * as its target, both chains checked. The path is walked one component at
 * a time without following symlinks by name, and the caller gets a
 * descriptor of the very file that was checked, to read or execveat().
 * Without root nothing is checked but the kind of file.
 */
#pragma once

#include "core/errmsg.h"

enum trust_kind {
	TRUST_FILE,    /* a regular file, opened O_RDONLY */
	TRUST_DIR,     /* a directory, opened O_RDONLY | O_DIRECTORY */
	TRUST_PROGRAM, /* an executable regular file, opened O_PATH for execveat() */
};

/* Symlinks followed in one walk before it is -ELOOP, as the kernel does. */
#define TRUST_SYMLINKS_MAX 40

/*
 * The checked descriptor (O_CLOEXEC) of @path, or a negative errno with @e
 * saying in one line what is wrong and where, prefixed by @what (may be
 * NULL) and @path: "helper /x/y: directory /x is writable by group or
 * others". A relative @path starts at the working directory, itself walked
 * from "/"; a TRUST_PROGRAM must be absolute.
 */
int trust_open(const char *path, enum trust_kind kind, const char *what, struct errmsg *e);
