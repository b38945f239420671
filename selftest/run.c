// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include "tap.h"
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

struct buf {
	char *p;
	size_t len;
};

static int drain(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	char *p;

	if (n <= 0)
		return n < 0 && errno == EINTR ? 1 : 0;
	p = realloc(b->p, b->len + (size_t)n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, chunk, (size_t)n);
	b->len += (size_t)n;
	p[b->len] = '\0';
	b->p = p;
	return 1;
}

int run_argv(struct run_result *r, char *const argv[])
{
	int out[2], err[2], wstatus;
	struct buf bo = { 0 }, be = { 0 };
	struct pollfd pfd[2];
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	pfd[0] = (struct pollfd){ .fd = out[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = err[0], .events = POLLIN };
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd >= 0 && pfd[i].revents && !drain(pfd[i].fd, i ? &be : &bo)) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
		}
	}
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r->out = bo.p ? bo.p : strdup("");
	r->err = be.p ? be.p : strdup("");
	return 0;
}

int run_mkagent(struct run_result *r, ...)
{
	char *argv[64];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)build_path("agent/mkagent");
	va_start(ap, r);
	while (n < 63 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run_argv(r, argv);
}

void run_result_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* The test binaries live in selftest/ of the build tree, or below it. The
 * last four answers stay valid, so a call may take several. */
const char *build_path(const char *rel)
{
	static char top[PATH_MAX];
	static char path[4][PATH_MAX + 256];
	static unsigned int next;
	char *out = path[next++ % 4];

	if (!top[0]) {
		ssize_t n = readlink("/proc/self/exe", top, sizeof(top) - 1);
		char *cut = NULL;

		if (n < 0)
			return rel;
		top[n] = '\0';
		for (char *p = top; (p = strstr(p, "/selftest/")); p++)
			cut = p;
		if (cut)
			*cut = '\0';
	}
	snprintf(out, PATH_MAX + 256, "%s/%s", top, rel);
	return out;
}

char pid_state(pid_t pid)
{
	char path[64], *text, *p, st = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = read_text(path);
	p = text ? strrchr(text, ')') : NULL;
	if (p && p[1] == ' ')
		st = p[2];
	free(text);
	return st;
}

long pid_syscall(pid_t pid)
{
	char path[64], *text;
	long nr = -1;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	text = read_text(path);
	if (!text)
		return -2;
	if (text[0] >= '0' && text[0] <= '9')
		nr = strtol(text, NULL, 10);
	free(text);
	return nr;
}

bool wait_in_syscall(pid_t pid, long nr, int ms)
{
	for (int waited = 0; waited <= ms; waited += 10) {
		struct timespec ts = { 0, 10000000 };
		char st = pid_state(pid);

		if (!st || st == 'Z')
			return false;
		/* the call read on both sides of the state: one sleep in it */
		if (pid_syscall(pid) == nr && pid_state(pid) == 'S' && pid_syscall(pid) == nr)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int count_lines(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

char *make_tmpdir(const char *tag)
{
	const char *base = geteuid() == 0 ? TEST_TMP_ROOT : "/tmp";
	struct stat st;
	char *path;

	if (geteuid() == 0) {
		if (mkdir(base, 0755) < 0 && errno != EEXIST)
			bail_out("cannot make %s: %s", base, strerror(errno));
		if (lstat(base, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
		    (st.st_mode & (S_IWGRP | S_IWOTH)))
			bail_out("%s must be a directory of root's not writable by group or others", base);
	}
	if (asprintf(&path, "%s/%s%s.XXXXXX", base, geteuid() ? "mkagent-" : "", tag) < 0 ||
	    !mkdtemp(path))
		bail_out("cannot make a temporary directory");
	return path;
}

void write_text(const char *path, int mode, const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(path, "w");

	if (!f)
		bail_out("cannot write %s: %s", path, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	chmod(path, (mode_t)mode);
}

char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

struct listing {
	char **lines;
	size_t n;
};

static struct listing *walk_listing;
static const char *walk_root;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	unsigned char md[32];
	char hex[65] = "-", *line, *text;

	(void)ftw;
	if (flag == FTW_F) {
		text = read_text(path);
		SHA256((unsigned char *)(text ? text : ""), text ? strlen(text) : 0, md);
		for (int i = 0; i < 32; i++)
			sprintf(hex + 2 * i, "%02x", md[i]);
		free(text);
	}
	if (asprintf(&line, "%s %o %lld %s\n", path + strlen(walk_root), st->st_mode,
		     (long long)st->st_size, hex) < 0)
		return 1;
	walk_listing->lines = realloc(walk_listing->lines, (walk_listing->n + 1) * sizeof(char *));
	walk_listing->lines[walk_listing->n++] = line;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *snapshot_dir(const char *dir)
{
	struct listing l = { 0 };
	size_t len = 0;
	char *out;

	walk_listing = &l;
	walk_root = dir;
	nftw(dir, walk_one, 16, FTW_PHYS);
	if (l.n)
		qsort(l.lines, l.n, sizeof(char *), str_cmp);
	for (size_t i = 0; i < l.n; i++)
		len += strlen(l.lines[i]);
	out = calloc(1, len + 1);
	for (size_t i = 0; i < l.n; i++) {
		strcat(out, l.lines[i]);
		free(l.lines[i]);
	}
	free(l.lines);
	return out;
}

static const char *needle_sought;
static bool needle_found;

static int grep_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char *text;

	(void)st;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	text = read_text(path);
	if (text && strstr(text, needle_sought)) {
		needle_found = true;
		diag("found in %s", path);
	}
	free(text);
	return 0;
}

bool dir_contains(const char *dir, const char *needle)
{
	needle_sought = needle;
	needle_found = false;
	nftw(dir, grep_one, 16, FTW_PHYS);
	return needle_found;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	/* what another process removed meanwhile is gone all the same */
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

bool wait_file_has(const char *path, const char *text, int ms)
{
	for (int waited = 0;; waited += 50) {
		struct timespec ts = { 0, 50000000 };
		char *log = read_text(path);
		bool found = log && strstr(log, text);

		free(log);
		if (found || waited >= ms)
			return found;
		nanosleep(&ts, NULL);
	}
}

int remove_tree(const char *path)
{
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT)
		return 0;
	diag("cannot remove %s: %s", path, strerror(errno));
	return -1;
}
