/* SPDX-License-Identifier: MIT */
/*
 * store.h - the state directory of DESIGN §4: ops/<ID>.ini for live
 * operations, history/<ID>.ini for terminal ones, work/<ID>/<profile>/
 * for helpers, audit.log for transitions. Every write is atomic and
 * durable; files in it are opened without following symlinks; as root,
 * the directory and every one above it must be root's and not writable by
 * group or others (trust.h).
 */
#pragma once

#include <stdbool.h>

#include "core/errmsg.h"
#include "core/op.h"

struct store {
	char *dir;
	int fd, ops_fd, hist_fd, work_fd;
};

struct op_list {
	struct op *v;
	size_t n;
};

/* Open (and with @create, make) the state directory. Without @create a
 * missing directory is -ENOENT, and a missing subdirectory, or a work/
 * this user may not open, is left closed (fd -1). */
int store_open(struct store *s, const char *dir, bool create, struct errmsg *e);
/* Whether every directory is open: what writing needs. */
bool store_complete(const struct store *s);
void store_close(struct store *s);

/* Load operation @id from ops/ or history/. -ENOENT when in neither. */
int store_load(struct store *s, const char *id, struct op *op, bool *archived, struct errmsg *e);
enum store_which {
	STORE_LIVE, /* ops/ */
	STORE_ALL,  /* ops/ and history/ */
};

/* The operations of @which; a file that cannot be read is reported through
 * @bad (path and reason) and skipped. Sorted by creation time. */
int store_list(struct store *s, enum store_which which, struct op_list *out,
	       void (*bad)(void *ctx, const char *path, const char *why), void *ctx);
void op_list_free(struct op_list *l);

/* Atomically write the live file of @op. */
int store_write(struct store *s, const struct op *op, struct errmsg *e);
/* Move a terminal @op to history/ and drop its work directory. */
int store_archive(struct store *s, const struct op *op, struct errmsg *e);
/* A fresh random ID used by no file in ops/ or history/. */
int store_new_id(struct store *s, char id[OP_ID_LEN + 1]);

/* The directory lock held while an operation is created (blocks; -EINTR
 * when a signal came). */
int store_lock_create(struct store *s);
/* The lock of one operation, held while a phase runs; -EBUSY when taken.
 * Returns the fd to close for unlocking. */
int store_lock_op(struct store *s, const char *id);
/* work/<ID>/<profile>, made 0700; returns its path (malloc'd). */
int store_work_dir(struct store *s, const char *id, const char *profile, char **path);

/* One transition: audit.log and syslog. @from NULL when created. */
int store_audit(struct store *s, const char *id, const char *from, const char *to,
		const char *reason);
