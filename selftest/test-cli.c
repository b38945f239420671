// SPDX-License-Identifier: MIT
/* Global options and usage errors: one line, exit 2. */
#include "run.h"
#include "tap.h"

static void usage_error(const char *what, const char *want, char *a, char *b, char *c)
{
	struct run_result r;

	run_mkagent(&r, a, b, c, NULL);
	is_int(r.status, 2, "%s exits 2", what);
	is_string(r.err, want, "%s: one line naming it", what);
	is_string(r.out, "", "%s: nothing on stdout", what);
	run_result_free(&r);
}

int main(void)
{
	struct run_result r;

	usage_error("no command", "mkagent: no command given (see mkagent --help)\n", NULL, NULL, NULL);
	usage_error("an unknown command", "mkagent: unknown command 'frobnicate' (see mkagent --help)\n",
		    "frobnicate", NULL, NULL);
	usage_error("an unknown global option", "mkagent: unknown option '--nope' (see mkagent --help)\n",
		    "--nope", "status", NULL);
	usage_error("an unknown short option", "mkagent: unknown option '-q' (see mkagent --help)\n",
		    "-q", "status", NULL);
	usage_error("a bad -v level",
		    "mkagent: -v/--verbose: 'loud' is not none, error, warn, info, devel or debug\n", "-v",
		    "loud", "status");
	usage_error("--state-dir without a value", "mkagent: option '--state-dir' needs a value\n",
		    "--state-dir", NULL, NULL);
	usage_error("a stray argument to status", "mkagent: status: unexpected argument 'now'\n",
		    "status", "now", NULL);

	run_mkagent(&r, "--help", NULL);
	is_int(r.status, 0, "--help exits 0");
	ok(strstr(r.out, "Usage: mkagent [OPTIONS] COMMAND") && strstr(r.out, "  status "),
	   "--help shows usage and the commands");
	run_result_free(&r);

	run_mkagent(&r, "status", "--help", NULL);
	is_int(r.status, 0, "status --help exits 0");
	ok(strstr(r.out, "Usage: mkagent status [-a APQNS] [--json]") != NULL, "and shows its usage");
	run_result_free(&r);

	run_mkagent(&r, "--version", NULL);
	ok(r.status == 0 && strncmp(r.out, "mkagent ", 8) == 0, "--version prints the version");
	run_result_free(&r);
	return done_testing();
}
