// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static int planned = -1, run, failed;

void plan(int n)
{
	planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

void plan_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

int done_testing(void)
{
	if (planned < 0) {
		planned = run;
		printf("1..%d\n", run);
	}
	return tap_exit_status();
}

static bool result(bool cond, const char *file, int line, const char *fmt, va_list ap)
{
	run++;
	if (!cond)
		failed++;
	printf("%sok %d - ", cond ? "" : "not ", run);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond)
		printf("#   Failed at %s line %d.\n", file, line);
	fflush(stdout);
	return cond;
}

bool tap_ok(const char *file, int line, bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result(cond, file, line, fmt, ap);
	va_end(ap);
	return cond;
}

bool tap_is_int(const char *file, int line, long got, long want, const char *fmt, ...)
{
	bool cond = got == want;
	va_list ap;

	va_start(ap, fmt);
	result(cond, file, line, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("     got: %ld\n    expected: %ld", got, want);
	return cond;
}

bool tap_is_string(const char *file, int line, const char *got, const char *want,
		   const char *fmt, ...)
{
	bool cond = got && want ? strcmp(got, want) == 0 : got == want;
	va_list ap;

	va_start(ap, fmt);
	result(cond, file, line, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("     got: '%s'\n    expected: '%s'", got ? got : "(null)",
		     want ? want : "(null)");
	return cond;
}

void diag(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	char *line, *save = NULL;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
	fflush(stdout);
}

void skip(int n, const char *why)
{
	for (int i = 0; i < n; i++) {
		run++;
		printf("ok %d # skip %s\n", run, why);
	}
	fflush(stdout);
}

void bail_out(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(255);
}

int tap_exit_status(void)
{
	if (failed || (planned >= 0 && planned != run))
		return 1;
	return 0;
}
