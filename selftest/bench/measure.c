// SPDX-License-Identifier: MIT
/*
 * measure.c - measuring processes for bench: a run to its end (wall and
 * CPU time, peak memory, context switches), a running process from /proc,
 * and percentiles.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "../tap.h"
#include "io/clock.h"
#include "core/macro.h"

int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : dflt;
}

/* Run @argv to its end, its output to @out (NULL: /dev/null). */
int run_measured(char *const argv[], const char *out, struct usage *u)
{
	long long t0 = now_us();
	struct rusage ru;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		bail_out("cannot run %s", argv[0]);
	u->wall_us = now_us() - t0;
	u->cpu_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec +
		    ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
	u->maxrss_kb = ru.ru_maxrss;
	u->switches = ru.ru_nvcsw + ru.ru_nivcsw;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* CPU time (µs) and context switches (each one a wake-up after a sleep, or
 * a preemption) of a running process, from /proc. */
struct usage proc_usage(pid_t pid)
{
	struct usage u = { 0 };
	char path[64], *text, *p;
	long long ns;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	text = read_text(path);
	if (text && sscanf(text, "%lld", &ns) == 1)
		u.cpu_us = ns / 1000;
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = read_text(path);
	for (const char *key = "voluntary_ctxt_switches:"; text && key;
	     key = streq(key, "voluntary_ctxt_switches:") ? "nonvoluntary_ctxt_switches:" : NULL)
		if ((p = strstr(text, key)))
			u.switches += atol(p + strlen(key));
	if (text && (p = strstr(text, "VmHWM:")))
		u.maxrss_kb = atol(p + 6);
	free(text);
	return u;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The @pct-th percentile of @n values (sorts them). */
long long pctl(long long *v, int n, int pct)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	return v[(n - 1) * pct / 100];
}

long long median_of(long long *v, int n)
{
	return pctl(v, n, 50);
}
