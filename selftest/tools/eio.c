// SPDX-License-Identifier: MIT
/*
 * eio.so - a failing disk for test-eio, preloaded into the agent. While the
 * file named by $EIO_SWITCH exists, fsync() and fdatasync() of any file
 * whose path starts with the text in it fail with EIO, the way Linux
 * reports a lost writeback. Everything else passes through to libc.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failing(int fd)
{
	const char *sw = getenv("EIO_SWITCH");
	char prefix[PATH_MAX] = "", link[64], path[PATH_MAX];
	ssize_t n;
	int sfd;

	if (!sw || (sfd = open(sw, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(sfd, prefix, sizeof(prefix) - 1);
	close(sfd);
	if (n <= 0)
		return 0;
	prefix[strcspn(prefix, "\n")] = '\0';
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strncmp(path, prefix, strlen(prefix)) == 0;
}

#define PASS_THROUGH(name)                                              \
	int name(int fd)                                                \
	{                                                               \
		static int (*real)(int);                                \
		if (failing(fd)) {                                      \
			errno = EIO;                                    \
			return -1;                                      \
		}                                                       \
		if (!real)                                              \
			real = (int (*)(int))dlsym(RTLD_NEXT, #name);   \
		return real(fd);                                        \
	}

PASS_THROUGH(fsync)
PASS_THROUGH(fdatasync)
