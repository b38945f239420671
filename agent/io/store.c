// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>

#include "io/fault.h"
#include "io/fileio.h"
#include "io/log.h"
#include "core/macro.h"
#include "io/fd.h"
#include "io/store.h"
#include "io/trust.h"

static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static int open_dir(int at, const char *name, const char *path, bool create, mode_t mode,
		    struct errmsg *e)
{
	int fd, rc;

	if (create && mkdirat(at, name, mode) < 0 && errno != EEXIST)
		return errmsg_set(e, -errno, "cannot create %s: %s", path, strerror(errno));
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP || rc == -ENOTDIR)
			return errmsg_set(e, rc, "%s is not a directory (a symlink?)", path);
		return errmsg_set(e, rc, "cannot open %s: %s", path, strerror(-rc));
	}
	rc = file_check_owner(fd, path, true, e);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int store_open(struct store *s, const char *dir, bool create, struct errmsg *e)
{
	static const struct {
		const char *name;
		mode_t mode;
		size_t off;
	} subdirs[] = {
		{ "ops", 0755, offsetof(struct store, ops_fd) },
		{ "history", 0755, offsetof(struct store, hist_fd) },
		{ "work", 0700, offsetof(struct store, work_fd) },
	};
	int fd;

	*s = (struct store){ .fd = -1, .ops_fd = -1, .hist_fd = -1, .work_fd = -1 };
	/* the directory and its parents up to "/" are trusted, as the files in it */
	fd = trust_open(dir, TRUST_DIR, NULL, e);
	if (fd == -ENOENT && create) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return errmsg_set(e, -errno, "cannot create %s: %s", dir, strerror(errno));
		fd = trust_open(dir, TRUST_DIR, NULL, e);
	}
	if (fd < 0)
		return fd;
	s->fd = fd;
	s->dir = strdup(dir);
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i].name);
		fd = open_dir(s->fd, subdirs[i].name, path, create, subdirs[i].mode, e);
		/* to read, work/ (helpers' private files, 0700) is not needed */
		if (!create && (fd == -ENOENT || (fd == -EACCES && subdirs[i].mode == 0700)))
			continue;
		if (fd < 0) {
			store_close(s);
			return fd;
		}
		*(int *)((char *)s + subdirs[i].off) = fd;
	}
	return 0;
}

bool store_complete(const struct store *s)
{
	return s->fd >= 0 && s->ops_fd >= 0 && s->hist_fd >= 0 && s->work_fd >= 0;
}

void store_close(struct store *s)
{
	int *fds[] = { &s->fd, &s->ops_fd, &s->hist_fd, &s->work_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	free(s->dir);
	s->dir = NULL;
}

static int read_at(int dirfd, const char *name, const char *path, char **text, size_t *len,
		   struct errmsg *e)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return errmsg_set(e, -errno, "%s: %s", path,
				  errno == ELOOP ? "is a symlink" : strerror(errno));
	rc = file_check_owner(fd, path, false, e);
	if (rc < 0)
		return rc;
	return read_fd_text(fd, path, text, len, e);
}

static int load_from(struct store *s, int dirfd, const char *sub, const char *id, struct op *op,
		     struct errmsg *e)
{
	char name[OP_ID_LEN + 8], path[4096];
	_cleanup_free_ char *text = NULL;
	struct errmsg pe;
	size_t len = 0;
	int rc;

	snprintf(name, sizeof(name), "%s.ini", id);
	snprintf(path, sizeof(path), "%s/%s/%s", s->dir, sub, name);
	rc = read_at(dirfd, name, path, &text, &len, e);
	if (rc < 0)
		return rc;
	rc = op_parse(text, len, op, &pe);
	if (rc < 0)
		return errmsg_set(e, rc, "%s: %s", path, pe.text);
	if (!streq(op->id, id)) {
		op_free(op);
		return errmsg_set(e, -EINVAL, "%s: id '%s' does not match the file name", path, op->id);
	}
	return 0;
}

int store_load(struct store *s, const char *id, struct op *op, bool *archived, struct errmsg *e)
{
	int rc = -ENOENT;

	if (s->ops_fd >= 0)
		rc = load_from(s, s->ops_fd, "ops", id, op, e);
	if (rc == -ENOENT && s->hist_fd >= 0) {
		rc = load_from(s, s->hist_fd, "history", id, op, e);
		if (archived)
			*archived = true;
	} else if (archived) {
		*archived = false;
	}
	if (rc == -ENOENT)
		return errmsg_set(e, rc, "operation %s does not exist", id);
	return rc;
}

static bool op_file_name(const char *name, char id[OP_ID_LEN + 1])
{
	if (strlen(name) != OP_ID_LEN + 4 || strcmp(name + OP_ID_LEN, ".ini") != 0)
		return false;
	memcpy(id, name, OP_ID_LEN);
	id[OP_ID_LEN] = '\0';
	return op_id_valid(id);
}

static int op_cmp(const void *a, const void *b)
{
	const struct op *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static bool listed(const struct op_list *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i].id, id))
			return true;
	return false;
}

int store_list(struct store *s, enum store_which which, struct op_list *out,
	       void (*bad)(void *ctx, const char *path, const char *why), void *ctx)
{
	struct op_list l = { 0 };
	const struct {
		int fd;
		const char *sub;
	} dirs[] = { { s->ops_fd, "ops" }, { s->hist_fd, "history" } };

	for (size_t d = 0; d < (which == STORE_ALL ? ARRAY_SIZE(dirs) : 1); d++) {
		struct dirent *de;
		DIR *dir;
		int fd;

		if (dirs[d].fd < 0)
			continue;
		fd = openat(dirs[d].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		dir = fd >= 0 ? fdopendir(fd) : NULL;
		if (!dir) {
			if (fd >= 0)
				close(fd);
			op_list_free(&l);
			return -errno;
		}
		while ((de = readdir(dir))) {
			char id[OP_ID_LEN + 1];
			struct errmsg e;
			struct op op;
			struct op *v;

			/* an op in both is being archived: its live file is current */
			if (!op_file_name(de->d_name, id) || listed(&l, id))
				continue;
			if (load_from(s, dirs[d].fd, dirs[d].sub, id, &op, &e) < 0) {
				if (bad)
					bad(ctx, dirs[d].sub, e.text);
				continue;
			}
			v = realloc(l.v, (l.n + 1) * sizeof(*v));
			if (!v) {
				op_free(&op);
				closedir(dir);
				op_list_free(&l);
				return -ENOMEM;
			}
			l.v = v;
			l.v[l.n++] = op;
		}
		closedir(dir);
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), op_cmp);
	*out = l;
	return 0;
}

void op_list_free(struct op_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		op_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* temp file, fsync, rename, fsync of the directory */
static int write_atomic(int dirfd, const char *name, const char *text, size_t len)
{
	char tmp[64];
	_cleanup_close_ int fd = -1;
	size_t off = 0;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		off += (size_t)n;
	}
	fault_point("state write, before the rename");
	if (fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = -errno;
		goto fail;
	}
	if (fsync(dirfd) < 0)
		return -errno;
	fault_point("state write, after the rename");
	return 0;
fail:
	unlinkat(dirfd, tmp, 0);
	return rc;
}

static int write_op(struct store *s, int dirfd, const char *sub, const struct op *op,
		    struct errmsg *e)
{
	_cleanup_free_ char *text = NULL;
	char name[OP_ID_LEN + 8];
	int rc = op_format(op, &text);

	if (rc < 0)
		return errmsg_set(e, rc, "operation %s: cannot format its state", op->id);
	snprintf(name, sizeof(name), "%s.ini", op->id);
	rc = write_atomic(dirfd, name, text, strlen(text));
	if (rc < 0)
		return errmsg_set(e, rc, "cannot write %s/%s/%s: %s", s->dir, sub, name, strerror(-rc));
	return 0;
}

int store_write(struct store *s, const struct op *op, struct errmsg *e)
{
	return write_op(s, s->ops_fd, "ops", op, e);
}

static int rm_tree_at(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;

	if (fd < 0)
		return errno == ENOENT ? 0 : unlinkat(at, name, 0);
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(dir)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			rm_tree_at(dirfd(dir), de->d_name);
	closedir(dir);
	return unlinkat(at, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int store_archive(struct store *s, const struct op *op, struct errmsg *e)
{
	char name[OP_ID_LEN + 8];
	int rc = write_op(s, s->hist_fd, "history", op, e);

	if (rc < 0)
		return rc;
	snprintf(name, sizeof(name), "%s.ini", op->id);
	if (unlinkat(s->ops_fd, name, 0) < 0 && errno != ENOENT)
		return errmsg_set(e, -errno, "cannot remove %s/ops/%s: %s", s->dir, name,
				  strerror(errno));
	fsync(s->ops_fd);
	rm_tree_at(s->work_fd, op->id);
	return 0;
}

int store_new_id(struct store *s, char id[OP_ID_LEN + 1])
{
	for (int tries = 0; tries < 1000; tries++) {
		char name[OP_ID_LEN + 8];
		int i = 0;

		while (i < OP_ID_LEN) {
			unsigned char b;

			if (RAND_bytes(&b, 1) != 1)
				return -EIO;
			/* 248 = 4 * 62: no bias toward the first letters */
			if (b < 248)
				id[i++] = id_chars[b % 62];
		}
		id[OP_ID_LEN] = '\0';
		snprintf(name, sizeof(name), "%s.ini", id);
		if (faccessat(s->ops_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
		    faccessat(s->hist_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			return 0;
	}
	return -EEXIST;
}

int store_lock_create(struct store *s)
{
	return flock(s->ops_fd, LOCK_EX) < 0 ? -errno : 0;
}

int store_lock_op(struct store *s, const char *id)
{
	int fd;

	if (mkdirat(s->work_fd, id, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(s->work_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return rc;
	}
	return fd;
}

int store_work_dir(struct store *s, const char *id, const char *profile, char **path)
{
	char rel[OP_ID_LEN + PROFILE_NAME_MAX + 2];

	snprintf(rel, sizeof(rel), "%s", id);
	if (mkdirat(s->work_fd, rel, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(rel, sizeof(rel), "%s/%s", id, profile);
	if (mkdirat(s->work_fd, rel, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (asprintf(path, "%s/work/%s", s->dir, rel) < 0)
		return -ENOMEM;
	return 0;
}

int store_audit(struct store *s, const char *id, const char *from, const char *to,
		const char *reason)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *line = NULL;
	char now[21];
	int len;

	fault_point("audit line");
	syslog(LOG_NOTICE, "operation %s: %s -> %s%s%s", id, from ? from : "(new)", to,
	       reason && *reason ? ": " : "", reason ? reason : "");
	len = asprintf(&line, "%s %s %s %s%s%s\n", iso8601_format(time(NULL), now), id,
		       from ? from : "-", to, reason && *reason ? " " : "", reason ? reason : "");
	if (len < 0)
		return -ENOMEM;
	fd = openat(s->fd, "audit.log", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0644);
	if (fd < 0 || write(fd, line, (size_t)len) != len || fsync(fd) < 0)
		return -errno;
	return 0;
}
