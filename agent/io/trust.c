// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "core/macro.h"
#include "io/fd.h"
#include "io/trust.h"

struct walk {
	char name[ERRMSG_MAX / 2]; /* "helper /x/y": what the caller asked for */
	char at[PATH_MAX];	   /* where the walk is, for messages */
	const char *path;
	bool root;
};

static void at_push(struct walk *w, const char *c)
{
	size_t n = strlen(w->at);

	snprintf(w->at + n, sizeof(w->at) - n, "%s%s", n > 1 ? "/" : "", c);
}

static void at_pop(struct walk *w)
{
	char *slash = strrchr(w->at, '/');

	if (slash)
		slash[slash == w->at ? 1 : 0] = '\0';
}

static const char *unsafe(const struct walk *w, const struct stat *st)
{
	if (!w->root)
		return NULL;
	if (st->st_uid != 0)
		return "is not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "is writable by group or others";
	return NULL;
}

/* A directory the walk goes through. */
static int check_dir(const struct walk *w, const struct stat *st, struct errmsg *e)
{
	const char *why = unsafe(w, st);

	if (!S_ISDIR(st->st_mode))
		return errmsg_set(e, -ENOTDIR, "%s: %s is not a directory", w->name, w->at);
	if (why)
		return errmsg_set(e, -EPERM, "%s: directory %s %s", w->name, w->at, why);
	return 0;
}

/* What the walk ends at; named alone when it is the path asked for. */
static int check_final(const struct walk *w, const struct stat *st, enum trust_kind kind,
		       struct errmsg *e)
{
	static const char *const not_a[] = {
		[TRUST_FILE] = "is not a regular file",
		[TRUST_DIR] = "is not a directory",
		[TRUST_PROGRAM] = "is not an executable file",
	};
	bool direct = streq(w->at, w->path);
	const char *why = unsafe(w, st);
	bool right = kind == TRUST_DIR ? S_ISDIR(st->st_mode) :
		     kind == TRUST_FILE ? S_ISREG(st->st_mode) :
					  S_ISREG(st->st_mode) && (st->st_mode & S_IXUSR);
	int rc = -EPERM;

	if (!right) {
		why = not_a[kind];
		rc = kind == TRUST_DIR ? -ENOTDIR : kind == TRUST_FILE ? -EINVAL : -EACCES;
	}
	if (!why)
		return 0;
	if (direct)
		return errmsg_set(e, rc, "%s %s", w->name, why);
	return errmsg_set(e, rc, "%s: %s %s", w->name, w->at, why);
}

/* Whether nothing but slashes and "." is left of the path. */
static bool at_end(const char *p)
{
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			return true;
		if (p[0] != '.' || (p[1] && p[1] != '/'))
			return false;
		p++;
	}
}

static int open_root(struct walk *w, int *cur, int *parent, struct stat *st, struct errmsg *e)
{
	if (*cur >= 0)
		close(*cur);
	if (*parent >= 0)
		close(*parent);
	*parent = -1;
	*cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(w->at, sizeof(w->at), "/");
	if (*cur < 0 || fstat(*cur, st) < 0)
		return errmsg_set(e, -errno, "%s: /: %s", w->name, strerror(errno));
	return check_dir(w, st, e);
}

/* The descriptor the caller reads, checked to be the file that was walked. */
static int reopen(const struct walk *w, int cur, int parent, const char *last,
		  const struct stat *st, enum trust_kind kind, struct errmsg *e)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
	struct stat now;
	int fd;

	flags |= kind == TRUST_DIR ? O_DIRECTORY : O_NONBLOCK; /* no waiting on a FIFO */
	fd = parent >= 0 ? openat(parent, last, flags) : openat(cur, ".", flags);
	if (fd < 0)
		return errmsg_set(e, -errno, "%s: %s", w->name, strerror(errno));
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		return errmsg_set(e, -EAGAIN, "%s: changed while it was checked", w->name);
	}
	if (kind == TRUST_FILE)
		fcntl(fd, F_SETFL, 0);
	return fd;
}

int trust_open(const char *path, enum trust_kind kind, const char *what, struct errmsg *e)
{
	_cleanup_free_ char *rest = NULL, *cwd = NULL;
	_cleanup_close_ int cur = -1, parent = -1;
	struct walk w = { .path = path, .root = geteuid() == 0 };
	char last[NAME_MAX + 1] = ".", target[PATH_MAX];
	struct stat st;
	int links = 0, rc;
	char *p;

	snprintf(w.name, sizeof(w.name), "%s%s%s", what ? what : "", what ? " " : "", path);
	if (path[0] != '/') {
		if (kind == TRUST_PROGRAM)
			return errmsg_set(e, -EINVAL, "%s: not an absolute path", w.name);
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return errmsg_set(e, -errno, "%s: %s", w.name, strerror(errno));
	}
	if (asprintf(&rest, "%s/%s", cwd ? cwd : "", path) < 0)
		return errmsg_set(e, -ENOMEM, "out of memory");
	rc = open_root(&w, &cur, &parent, &st, e);
	if (rc < 0)
		return rc;
	p = rest;
	for (;;) {
		struct stat cst;
		char c[NAME_MAX + 1];
		size_t len;
		int fd;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len > NAME_MAX)
			return errmsg_set(e, -ENAMETOOLONG, "%s: %s", w.name, strerror(ENAMETOOLONG));
		memcpy(c, p, len);
		c[len] = '\0';
		p += len;
		if (streq(c, "."))
			continue;
		fd = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &cst) < 0) {
			rc = -errno;
			if (fd >= 0)
				close(fd);
			return errmsg_set(e, rc, "%s: %s", w.name, strerror(-rc));
		}
		if (S_ISLNK(cst.st_mode)) {
			/* the link's directory is checked; now walk its target */
			ssize_t n;
			char *spliced;

			if (++links > TRUST_SYMLINKS_MAX) {
				close(fd);
				return errmsg_set(e, -ELOOP, "%s: more than %d symlinks", w.name,
						  TRUST_SYMLINKS_MAX);
			}
			n = readlinkat(fd, "", target, sizeof(target) - 1);
			rc = -errno;
			close(fd);
			if (n < 0)
				return errmsg_set(e, rc, "%s: %s", w.name, strerror(-rc));
			target[n] = '\0';
			if (asprintf(&spliced, "%s/%s", target, p) < 0)
				return errmsg_set(e, -ENOMEM, "out of memory");
			free(rest);
			rest = p = spliced;
			if (target[0] == '/') {
				rc = open_root(&w, &cur, &parent, &st, e);
				if (rc < 0)
					return rc;
			}
			continue;
		}
		if (streq(c, ".."))
			at_pop(&w);
		else
			at_push(&w, c);
		if (!at_end(p)) {
			rc = check_dir(&w, &cst, e);
			if (rc < 0) {
				close(fd);
				return rc;
			}
		}
		if (parent >= 0)
			close(parent);
		parent = cur;
		cur = fd;
		st = cst;
		snprintf(last, sizeof(last), "%s", c);
	}
	rc = check_final(&w, &st, kind, e);
	if (rc < 0)
		return rc;
	if (kind == TRUST_PROGRAM)
		return TAKE_FD(cur);
	return reopen(&w, cur, parent, last, &st, kind, e);
}
