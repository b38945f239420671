// SPDX-License-Identifier: MIT
/*
 * mkagent-opencryptoki [--tool PATH] [--continue-without-token=SLOT[,SLOT...]]
 *                      reencipher|finalize|cancel
 *
 * The openCryptoki consumer of mkagent.profile(5): it drives openCryptoki's
 * pkcshsm_mk_change (3.23, usr/sbin/pkcshsm_mk_change) for the operation in
 * MKAGENT_*, on a pseudo-terminal, as a person would. What the real tool
 * does, and so what this helper expects (REAL-TOOLS.md §3):
 *
 * - reencipher names each affected token as "  Slot N: Label: L", L padded
 *   with blanks to 32 characters; `list` names them "Slot: N Label: L";
 *   finalize and cancel name none, so their labels come from `list -i ID`.
 *   The PIN of slot N is asked over fd 3 as `PIN <L without its trailing
 *   blanks>` ("slot-N" when no label is known).
 * - "Enter the USER PIN for slot N: " is printed first; then the tool
 *   flushes pending input (TCSAFLUSH) and turns echo off. The PIN is
 *   written only once echo is seen off, so it is neither discarded nor
 *   echoed. Finalize and cancel log in too.
 * - The tool ignores SIGTERM and SIGINT, and a SIGKILL (or SIGHUP, which it
 *   does not catch) between creating its operation file and logging in
 *   leaves a stale file that blocks every later change. So the tool is
 *   never signalled: it runs with SIGHUP ignored (the helper's death closes
 *   the pty without killing it), and to stop it at a prompt the helper
 *   sends end-of-file (VEOF): the tool says "Aborted by user." and removes
 *   its file. An empty line would not do: the tool asks again. A tool
 *   killed by SIGKILL from elsewhere is exit 75: run again, the phase goes
 *   on from the state the kill left (finalize and cancel, killed after
 *   their logins, leave it re-enciphered) or calls it stale.
 * - "No token is affected by this master key change, aborting" (exit 1,
 *   e.g. any ASYM-only change: the CCA token ignores ASYM): nothing to do,
 *   the phase is done (exit 0) with a notice; finalize and cancel then have
 *   nothing to do either.
 * - "Continue [y/N]?" is asked when any configured slot has no token. It
 *   is answered y only when every such slot is named by
 *   --continue-without-token; otherwise N, and the helper exits 75 (try
 *   again later) naming the slots.
 * - A failing `list -i ID` means the operation is gone only when it says
 *   "operation 'ID' not found."; any other failure (pkcsslotd down, ...) is
 *   exit 75.
 * - finalize and cancel accept only the states "Key objects have been
 *   re-enciphered" and "Finalizing or canceling has errored"; refused as
 *   "in a state where it can not be ..." (another tool moved it on since
 *   list), the helper looks again: gone is done.
 * - A wrong PIN: the tool stops at the first failed login; the helper exits
 *   1 with one line. A label the PIN helper does not know (fd 3 answers
 *   ERR): the tool is ended at its prompt, nothing is logged in, exit 75.
 *
 * The ID of the tool's operation is kept in the work directory as soon as
 * the tool prints it. A phase run again (I7) checks it with `list -i`; a
 * run whose helper was killed before it saw the ID finds the tool's
 * operation by its APQNs and patterns in `list` rather than start a second
 * one. Written in C so that no PIN is ever in a shell variable.
 *
 * main.c (this file): the command line, the signals, and the phases
 * (reencipher, finalize, cancel) with their exit codes. The dialogue with
 * the tool on its pty is pty.c; its operation as `list` shows it and the
 * IDs kept in the work directory are state.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ock.h"

const char *tool = "/usr/sbin/pkcshsm_mk_change";
/* --continue-without-token */
bool may_lack[MAX_SLOTS];
volatile sig_atomic_t stopping;

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "mkagent-opencryptoki: %s is not set\n", name);
		exit(1);
	}
	return v;
}

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The last thing to say about a failed run, on stderr: mkagent's reason. */
static int failed(const char *what)
{
	char label[40];

	if (run.echo_stuck) {
		fprintf(stderr, "pkcshsm_mk_change did not turn echo off at its PIN prompt: no PIN "
			"given, the tool was ended there\n");
		return 1;
	}
	if (run.signal) {
		/*
		 * SIGKILL comes from outside (a person, the OOM killer): the
		 * phase run again finds the tool's operation as the kill left
		 * it, and goes on or calls it stale. Any other signal is the
		 * tool failing by itself.
		 */
		fprintf(stderr, "pkcshsm_mk_change was killed by signal %d (%s) in %s%s\n",
			run.signal, strsignal(run.signal), what,
			run.signal == SIGKILL ? "; trying again later" : "");
		return run.signal == SIGKILL ? EXIT_LATER : 1;
	}
	if (run.no_pin) {
		fprintf(stderr, "no PIN for token '%s' (slot %ld): %s; the tool was ended at its "
			"prompt, nothing logged in; try again later\n",
			label_of(run.pin_slot, label, sizeof(label)), run.pin_slot, run.no_pin_why);
		return EXIT_LATER;
	}
	if (run.declined) {
		char list[400] = "";
		size_t len = 0;

		for (int s = 0; s < MAX_SLOTS; s++)
			if (run.missing[s] && !may_lack[s])
				if (len < sizeof(list))
					len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d",
								len ? "," : "", s);
		fprintf(stderr, "slot(s) %s have no token: not risking their keys, waiting "
			"(--continue-without-token=SLOTS allows named slots)\n", list);
		return EXIT_LATER;
	}
	if (has("Error logging in for slot")) {
		const char *ckr = strstr(run.text, "(CKR_");
		int len = ckr ? (int)strcspn(ckr + 1, ")\n") : 0;

		/* short: mkagent keeps the start of this line as the reason */
		fprintf(stderr, "USER PIN of token '%s' (slot %ld) refused (%.*s), not tried again\n",
			label_of(run.pin_slot, label, sizeof(label)), run.pin_slot, len,
			ckr ? ckr + 1 : "");
		return 1;
	}
	if (tool_unavailable()) {
		fprintf(stderr, "pkcshsm_mk_change cannot %s now (pkcsslotd down?): %s; try again "
			"later\n", what, run.last);
		return EXIT_LATER;
	}
	if (has("At least one token failed to perform the key re-encryption")) {
		/* the tool canceled and removed its operation; the reason is in syslog */
		fprintf(stderr, "a token failed to re-encipher its keys (NEW register changed, or "
			"activated early?); the tool canceled its operation, see syslog\n");
		return 1;
	}
	if (stopping) {
		fprintf(stderr, "the phase was stopped: %s\n", run.last);
		return EXIT_LATER;
	}
	fprintf(stderr, "%s\n", run.last[0] ? run.last : "pkcshsm_mk_change failed");
	return 1;
}

static int reencipher(void)
{
	char *argv[16] = { (char *)tool, "reencipher", "--apqns", (char *)env("MKAGENT_APQNS") };
	char id[16], state[128];
	int n = 4, rc;
	enum found f = GONE;

	if (kept(id_path, id, sizeof(id)))
		f = list_one(id, state, sizeof(state));
	else if (access(none_path, F_OK) == 0) {
		printf("no openCryptoki token is affected by this change: nothing to re-encipher\n");
		return 0;
	} else {
		f = find_ours(id, sizeof(id));
		if (f == FOUND)
			f = list_one(id, state, sizeof(state));
	}
	if (f == UNKNOWN)
		return cannot_tell("re-encipher");
	if (f == FOUND) {
		if (!strcmp(state, STATE_REENCIPHERED)) {
			keep(id_path, id);
			printf("pkcshsm_mk_change operation %s was already re-enciphered\n", id);
			return 0;
		}
		return stuck(id, state);
	}
	for (size_t i = 0; i < TYPES_COUNT; i++) {
		const char *v = getenv(TYPES[i].var);

		if (v && *v) {
			argv[n++] = (char *)TYPES[i].opt;
			argv[n++] = (char *)v;
		}
	}
	argv[n] = NULL;
	rc = run_tool(argv);
	if (rc == 0 && run.created[0])
		return 0;
	if (has("No token is affected by this master key change, aborting") && !run.created[0]) {
		keep(none_path, "no token affected");
		printf("notice: no openCryptoki token is affected by this change (the CCA token "
		       "ignores ASYM): nothing to re-encipher, the phase is done\n");
		return 0;
	}
	return failed("re-encipher");
}

static int finish(const char *cmd)
{
	bool cancel = !strcmp(cmd, "cancel");
	const char *done = cancel ? "canceled" : "finalized";
	char *argv[] = { (char *)tool, (char *)cmd, "--id", NULL, NULL };
	char id[16], state[128], gone[64];
	enum found f;

	if (!kept(id_path, id, sizeof(id))) {
		if (access(none_path, F_OK) == 0) {
			printf("no openCryptoki token was affected by this change: nothing to %s\n", cmd);
			return 0;
		}
		f = find_ours(id, sizeof(id));
		if (f == UNKNOWN)
			return cannot_tell(cmd);
		if (f == GONE) {
			if (cancel) {
				printf("nothing was re-enciphered: nothing to cancel\n");
				return 0;
			}
			fprintf(stderr, "no pkcshsm_mk_change operation of this change: none was kept "
				"in %s and list shows none\n", id_path);
			return 1;
		}
		keep(id_path, id);
	}
	f = list_one(id, state, sizeof(state));
	if (f == UNKNOWN)
		return cannot_tell(cmd);
	if (f == GONE) {
		printf("pkcshsm_mk_change operation %s is already %s\n", id, done);
		return 0;
	}
	if (strcmp(state, STATE_REENCIPHERED) && strcmp(state, STATE_ERRORED))
		return stuck(id, state);
	/* finalize and cancel print no labels: the PINs are asked by those list showed */
	argv[3] = id;
	if (run_tool(argv) == 0)
		return 0;
	snprintf(gone, sizeof(gone), "operation '%s' not found.", id);
	if (has(gone)) {
		printf("pkcshsm_mk_change operation %s is already %s\n", id, done);
		return 0;
	}
	if (has("is in a state where")) {
		/* another pkcshsm_mk_change (a killed helper's) moved it on since list */
		f = list_one(id, state, sizeof(state));
		if (f == GONE) {
			printf("pkcshsm_mk_change operation %s is already %s\n", id, done);
			return 0;
		}
		if (f == UNKNOWN)
			return cannot_tell(cmd);
		if (!strcmp(state, STATE_REENCIPHERED) || !strcmp(state, STATE_ERRORED)) {
			printf("pkcshsm_mk_change operation %s changed state meanwhile: try again later\n",
			       id);
			return EXIT_LATER;
		}
		return stuck(id, state);
	}
	if (!cancel && has("unable to perform the finalize action")) {
		fprintf(stderr, "a token cannot finalize yet: %s; try again later\n", run.last);
		return EXIT_LATER;
	}
	return failed(cmd);
}

static bool parse_slots(const char *list)
{
	char *copy = strdup(list), *save = NULL;
	bool good = copy && *copy;

	for (char *s = copy ? strtok_r(copy, ",", &save) : NULL; s; s = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(s, &end, 10);

		if (*end || end == s || v < 0 || v >= MAX_SLOTS)
			good = false;
		else
			may_lack[v] = true;
	}
	free(copy);
	return good;
}

static int usage(void)
{
	fprintf(stderr, "usage: mkagent-opencryptoki [--tool PATH] [--continue-without-token=SLOT,...] "
		"reencipher|finalize|cancel\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	const char *phase = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* no SA_RESTART: a SIGTERM from mkagent ends the tool at its next prompt */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--tool") && i + 1 < argc)
			tool = argv[++i];
		else if (!strncmp(argv[i], "--tool=", 7))
			tool = argv[i] + 7;
		else if (!strncmp(argv[i], "--continue-without-token=", 25)) {
			if (!parse_slots(argv[i] + 25)) {
				fprintf(stderr, "mkagent-opencryptoki: --continue-without-token wants slot "
					"numbers separated by commas, not '%s'\n", argv[i] + 25);
				return 2;
			}
		} else if (!phase && argv[i][0] != '-')
			phase = argv[i];
		else
			return usage();
	}
	if (!phase)
		return usage();
	/* keep fd 3 taken, so that no pty or file of ours ever becomes fd 3;
	 * the PIN channel is ours, not the tool's */
	if (fcntl(3, F_GETFD) < 0 && open("/dev/null", O_RDONLY) != 3) {
		fprintf(stderr, "mkagent-opencryptoki: cannot keep fd 3: %s\n", strerror(errno));
		return 1;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	if (strcmp(phase, "reencipher") && strcmp(phase, "finalize") && strcmp(phase, "cancel")) {
		fprintf(stderr, "mkagent-opencryptoki: no %s phase\n", phase);
		return 2;
	}
	snprintf(id_path, sizeof(id_path), "%s/pkcshsm_mk_change.id", env("MKAGENT_WORK_DIR"));
	snprintf(none_path, sizeof(none_path), "%s/pkcshsm_mk_change.no-token", env("MKAGENT_WORK_DIR"));
	return !strcmp(phase, "reencipher") ? reencipher() : finish(phase);
}
