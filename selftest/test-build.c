// SPDX-License-Identifier: MIT
/*
 * The Makefile builds what a distribution asks for: every compile takes
 * CPPFLAGS, pkg-config is $(PKG_CONFIG), and objects follow the flags they
 * were built with (make check SANITIZE=1, then make bench, links). It runs
 * on a copy of the sources, so the build tree is left as it is.
 */
#include <stdio.h>
#include <stdlib.h>

#include "run.h"
#include "tap.h"

static char *copy;

/* make @args in the copy, without the flags of a make that runs the tests
 * (make passes its command line, SANITIZE=1 too, in the environment). */
static int make(struct run_result *r, const char *args)
{
	char cmd[8192];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd),
		 "cd %s && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u CFLAGS -u CPPFLAGS "
		 "-u LDFLAGS make %s 2>&1", copy, args);
	return run_argv(r, argv);
}

static bool compiles(const struct run_result *r, const char *object)
{
	char needle[256];

	snprintf(needle, sizeof(needle), "-c -o %s ", object);
	return r->out && strstr(r->out, needle);
}

/* Every command that compiles a .c file has @flag. */
static int every_compile_has(const char *out, const char *flag, int *compiles_seen)
{
	int missing = 0;

	*compiles_seen = 0;
	for (const char *l = out; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char line[8192];

		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		if (strncmp(line, "cc ", 3) == 0 && len > 2 && strcmp(line + len - 2, ".c") == 0) {
			(*compiles_seen)++;
			if (!strstr(line, flag) && !missing++)
				diag("no %s in: %s", flag, line);
		}
		l = end ? end + 1 : l + len;
	}
	return missing;
}

int main(void)
{
	char cmd[8192];
	struct run_result r;
	int n;

	copy = make_tmpdir("build");
	snprintf(cmd, sizeof(cmd),
		 "cp %2$s/Makefile %1$s/ && "
		 "(cd %2$s && find agent helpers -name '*.[ch]' ! -path 'agent/faults/*' "
		 "-exec cp --parents -t %1$s {} +) && "
		 "rm -f %1$s/agent/io/paths.h",
		 copy, build_path("."));
	if (system(cmd) != 0)
		bail_out("cannot copy the sources to %s", copy);

	make(&r, "-n -B all CC=cc CPPFLAGS=-DMKAGENT_CPPFLAGS_SEEN");
	is_int(every_compile_has(r.out, "-DMKAGENT_CPPFLAGS_SEEN", &n), 0,
	       "every compile of make all takes CPPFLAGS (Debian's -D_FORTIFY_SOURCE)");
	ok(n > 30, "(%d compiles seen)", n);
	ok(compiles(&r, "helpers/opencryptoki/main.o") && strstr(r.out, "-o helpers/mkagent-opencryptoki "),
	   "a helper that is a folder (helpers/opencryptoki/) is built as helpers/mkagent-opencryptoki");
	run_result_free(&r);
	make(&r, "-n -B agent/core/apqn.o CC=cc 'PKG_CONFIG=echo -DMKAGENT_FAKE_PKG_CONFIG'");
	ok(r.out && strstr(r.out, "-DMKAGENT_FAKE_PKG_CONFIG"), "pkg-config is $(PKG_CONFIG)");
	run_result_free(&r);

	make(&r, "agent/core/apqn.o");
	ok(r.status == 0 && compiles(&r, "agent/core/apqn.o"), "make agent/core/apqn.o builds it");
	run_result_free(&r);
	make(&r, "agent/core/apqn.o");
	ok(r.status == 0 && !compiles(&r, "agent/core/apqn.o"), "and again builds nothing");
	run_result_free(&r);
	make(&r, "agent/core/apqn.o SANITIZE=1");
	ok(r.status == 0 && compiles(&r, "agent/core/apqn.o") && strstr(r.out, "-fsanitize=address"),
	   "with SANITIZE=1 it is built again, with the sanitizers");
	run_result_free(&r);
	make(&r, "agent/core/apqn.o SANITIZE=1");
	ok(r.status == 0 && !compiles(&r, "agent/core/apqn.o"), "and again with SANITIZE=1 builds nothing");
	run_result_free(&r);
	make(&r, "agent/core/apqn.o");
	ok(r.status == 0 && compiles(&r, "agent/core/apqn.o") && !strstr(r.out, "-fsanitize"),
	   "without SANITIZE it is built again, without them");
	run_result_free(&r);
	make(&r, "agent/core/apqn.o CPPFLAGS=-D_FORTIFY_SOURCE=2");
	ok(r.status == 0 && compiles(&r, "agent/core/apqn.o"), "a change of CPPFLAGS builds it again");
	run_result_free(&r);

	remove_tree(copy);
	free(copy);
	return done_testing();
}
