// SPDX-License-Identifier: MIT
/* Global options and usage errors: one line, exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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

/* --state-dir, --config and -v/--verbose also after the command; --profiles only before. */
static void global_options_after_the_command(void)
{
	char *state = make_tmpdir("cli"), ops[4096], op[4200], conf[4096];
	struct run_result r;

	snprintf(ops, sizeof(ops), "%s/ops", state);
	snprintf(op, sizeof(op), "%s/uNA5QP.ini", ops);
	snprintf(conf, sizeof(conf), "%s/missing.conf", state);
	if (mkdir(ops, 0755) < 0)
		bail_out("cannot create %s", ops);
	write_text(op, 0644,
		   "[operation]\nid = uNA5QP\nstate = planned\ncreated = 2026-11-22T10:00:00Z\n"
		   "updated = 2026-11-22T10:00:00Z\nauto-finalize = yes\nreason =\n[apqns]\n"
		   "apqn = 06.0033\n[new-mkvps]\ncca-aes = 7D10D17BC8A409C4\n");

	run_mkagent(&r, "list", "--state-dir", state, "-v", "debug", NULL);
	ok(r.status == 0 && strstr(r.out, "uNA5QP"), "list --state-dir DIR -v LEVEL: both taken after the command");
	run_result_free(&r);
	run_mkagent(&r, "list", "-vdebug", "--state-dir", state, NULL);
	ok(r.status == 0 && strstr(r.out, "uNA5QP"), "-vLEVEL too");
	run_result_free(&r);
	snprintf(op, sizeof(op), "--state-dir=%s", state);
	run_mkagent(&r, "list", "--verbose=info", op, NULL);
	ok(r.status == 0 && strstr(r.out, "uNA5QP"), "--verbose=LEVEL and --state-dir=DIR too");
	run_result_free(&r);
	usage_error("a bad -v level after the command",
		    "mkagent: -v/--verbose: 'loud' is not none, error, warn, info, devel or debug\n", "list",
		    "-v", "loud");
	usage_error("-v without a value after the command", "mkagent: option '-v' needs a value\n", "list",
		    "-v", NULL);
	run_mkagent(&r, "--state-dir", state, "finalize", "-i", "uNA5QP", "--config", conf, NULL);
	ok(r.status == 1 && strstr(r.err, conf), "finalize -i ID --config FILE: the missing FILE is named");
	run_result_free(&r);
	usage_error("--profiles DIR after list", "mkagent: list: option --profiles does not apply (see mkagent list --help)\n",
		    "list", "--profiles", "/etc");
	remove_tree(state);
	free(state);
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

	global_options_after_the_command();

	run_mkagent(&r, "--version", NULL);
	ok(r.status == 0 && strncmp(r.out, "mkagent ", 8) == 0, "--version prints the version");
	run_result_free(&r);
	return done_testing();
}
