// SPDX-License-Identifier: MIT
/*
 * mkagent-opencryptoki where no pkcshsm_mk_change is needed: its command
 * line, and what it makes of the real tool's one-line answers (copied from
 * runs of openCryptoki 3.23 in `make interop`) when an operation is gone,
 * the tool cannot run or is killed. Everything that needs the tool itself (prompts,
 * PINs, labels, tokens) runs against the real one in `make interop`
 * (selftest/interop/test-agent*.c); the simulator this test once used was
 * removed because it agreed with the helper's wrong guesses, not with the
 * real tool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "tap.h"

static char *dir, helper[4200], tool[4200], work[4200];

/* A stand-in for pkcshsm_mk_change that prints @line and exits @status. */
static void tool_says(const char *line, int status)
{
	write_text(tool, 0755, "#!/bin/sh\ncat >&2 <<'EOF'\n%s\nEOF\nexit %d\n", line, status);
}

static int run(struct run_result *r, const char *extra, const char *phase)
{
	char *argv[] = { helper, "--tool", tool, (char *)extra, (char *)phase, NULL };

	if (!extra) {
		argv[3] = (char *)phase;
		argv[4] = NULL;
	}
	return run_argv(r, argv);
}

int main(void)
{
	struct run_result r;
	char path[4400];

	dir = make_tmpdir("ock");
	snprintf(helper, sizeof(helper), "%s", build_path("helpers/mkagent-opencryptoki"));
	snprintf(tool, sizeof(tool), "%s/pkcshsm_mk_change", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	mkdir(work, 0700);
	tool_says("unused", 1);

	run(&r, NULL, "recover");
	ok(r.status == 2 && strstr(r.err, "no recover phase"), "a phase it has not: exit 2");
	run_result_free(&r);
	run(&r, "--continue-without-token=2,x", "reencipher");
	ok(r.status == 2 && strstr(r.err, "--continue-without-token wants slot numbers"),
	   "--continue-without-token takes slot numbers only");
	run_result_free(&r);
	unsetenv("MKAGENT_WORK_DIR");
	run(&r, NULL, "finalize");
	ok(r.status == 1 && strstr(r.err, "MKAGENT_WORK_DIR is not set"), "no work directory: exit 1");
	run_result_free(&r);

	setenv("MKAGENT_WORK_DIR", work, 1);
	setenv("MKAGENT_APQNS", "01.0006", 1);
	setenv("MKAGENT_NEW_MKVP_CCA_AES", "0123456789ABCDEF", 1);
	snprintf(path, sizeof(path), "%s/pkcshsm_mk_change.id", work);
	write_text(path, 0600, "Ab12Cd\n");

	/* what the real list, finalize and cancel print without pkcsslotd */
	tool_says("pkcshsm_mk_change: Error initializing the PKCS11 library: 0x2 (CKR_HOST_MEMORY)", 1);
	run(&r, NULL, "finalize");
	ok(r.status == 75 && strstr(r.err, "cannot finalize now (pkcsslotd down?)"),
	   "a failing list is not 'operation gone': finalize waits (exit 75)");
	ok(!strstr(r.out, "already finalized"), "and does not count as done");
	run_result_free(&r);
	run(&r, NULL, "cancel");
	ok(r.status == 75, "and so does cancel");
	run_result_free(&r);
	run(&r, NULL, "reencipher");
	ok(r.status == 75, "and a rerun of reencipher that cannot check its operation");
	run_result_free(&r);

	tool_says("pkcshsm_mk_change: HSM master key change operation 'Ab12Cd' not found.", 1);
	run(&r, NULL, "finalize");
	ok(r.status == 0 && strstr(r.out, "operation Ab12Cd is already finalized"),
	   "\"operation 'ID' not found.\" is the only 'gone': finalize is done");
	run_result_free(&r);
	tool_says("pkcshsm_mk_change: HSM master key change operation 'Zz99Zz' not found.", 1);
	run(&r, NULL, "cancel");
	ok(r.status == 75, "another operation's 'not found' is not ours: exit 75");
	run_result_free(&r);

	/* list shows the operation re-enciphered until finalize ran: then as @after */
	{
		static const struct {
			const char *finalize, *after;
			int status;
			const char *says, *what;
		} CASES[] = {
			{ "kill -KILL $$", "", 75,
			  "pkcshsm_mk_change was killed by signal 9 (Killed) in finalize; trying again later",
			  "the tool killed by SIGKILL: said so, tried again later (exit 75)" },
			{ "kill -SEGV $$", "", 1, "pkcshsm_mk_change was killed by signal 11",
			  "the tool ended by another signal: a failure (exit 1)" },
			{ "echo \"pkcshsm_mk_change: The HSM master key change operation 'Ab12Cd' is in a "
			  "state where\"; echo 'it can not be finalized.'; exit 1",
			  "echo \"pkcshsm_mk_change: HSM master key change operation 'Ab12Cd' not found.\"; "
			  "exit 1", 0, "operation Ab12Cd is already finalized",
			  "refused as moved on, and list then finds it gone: done" },
		};

		for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
			char ran[4400];

			snprintf(ran, sizeof(ran), "%s/ran-%zu", dir, i);
			write_text(tool, 0755,
				   "#!/bin/sh\n"
				   "if [ \"$1\" = list ] && [ -e '%s' ]; then %s; fi\n"
				   "if [ \"$1\" = list ]; then echo 'Operation:       Ab12Cd'; "
				   "echo '    State:       Key objects have been re-enciphered,'; exit 0; fi\n"
				   "touch '%s'\n%s\n",
				   ran, CASES[i].after[0] ? CASES[i].after : ":", ran, CASES[i].finalize);
			run(&r, NULL, "finalize");
			if (!ok(r.status == CASES[i].status &&
					(strstr(r.err, CASES[i].says) || strstr(r.out, CASES[i].says)),
				"%s", CASES[i].what))
				diag("exit %d: %s%s", r.status, r.out, r.err);
			run_result_free(&r);
		}
	}

	/* an operation that affected no token (the reencipher phase said so) */
	unlink(path);
	snprintf(path, sizeof(path), "%s/pkcshsm_mk_change.no-token", work);
	write_text(path, 0600, "no token affected\n");
	tool_says("must not run", 1);
	run(&r, NULL, "reencipher");
	ok(r.status == 0, "no token affected: a rerun of reencipher is done");
	run_result_free(&r);
	run(&r, NULL, "finalize");
	ok(r.status == 0 && strstr(r.out, "nothing to finalize"), "and finalize has nothing to do");
	run_result_free(&r);
	run(&r, NULL, "cancel");
	ok(r.status == 0 && strstr(r.out, "nothing to cancel"), "and cancel has nothing to do");
	run_result_free(&r);

	remove_tree(dir);
	return done_testing();
}
