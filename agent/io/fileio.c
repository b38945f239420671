// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/macro.h"
#include "io/fd.h"
#include "io/fileio.h"
#include "io/trust.h"

int check_root_owned(const struct stat *st, const char *what, struct errmsg *e)
{
	if (geteuid() != 0)
		return 0;
	if (st->st_uid != 0)
		return errmsg_set(e, -EPERM, "%s is not owned by root", what);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return errmsg_set(e, -EPERM, "%s is writable by group or others", what);
	return 0;
}

int file_check_owner(int fd, const char *path, bool dir, struct errmsg *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errmsg_set(e, -errno, "%s: %s", path, strerror(errno));
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return errmsg_set(e, -EINVAL, "%s is not a %s", path, dir ? "directory" : "regular file");
	return check_root_owned(&st, path, e);
}

int read_fd_text(int fd, const char *path, char **text, size_t *len, struct errmsg *e)
{
	_cleanup_free_ char *buf = malloc(TEXT_FILE_MAX + 1);
	size_t n = 0;

	if (!buf)
		return errmsg_set(e, -ENOMEM, "out of memory");
	for (;;) {
		ssize_t r = read(fd, buf + n, TEXT_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errmsg_set(e, -errno, "%s: %s", path, strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > TEXT_FILE_MAX)
			return errmsg_set(e, -EFBIG, "%s: larger than %d bytes", path, TEXT_FILE_MAX);
	}
	buf[n] = '\0';
	*text = TAKE_PTR(buf);
	if (len)
		*len = n;
	return 0;
}

int read_config_file(const char *path, char **text, struct errmsg *e)
{
	_cleanup_close_ int fd = trust_open(path, TRUST_FILE, NULL, e);

	if (fd < 0)
		return fd;
	return read_fd_text(fd, path, text, NULL, e);
}
