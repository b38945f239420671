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
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define EXIT_LATER 75
#define LINE_MAX_ 1024
#define MAX_SLOTS 1024
#define ECHO_WAIT_MS 30000

static const char *tool = "/usr/sbin/pkcshsm_mk_change";
static char id_path[4096], none_path[4096];
/* --continue-without-token */
static bool may_lack[MAX_SLOTS];
static volatile sig_atomic_t stopping;

/* The tokens' labels by slot, as the tool printed them: kept across runs,
 * since finalize and cancel print none and `list -i` does. */
static char labels[MAX_SLOTS][33];

/* What one run of the tool showed. */
static struct run {
	bool missing[MAX_SLOTS]; /* "WARNING: The following slots have no token present:" */
	bool in_missing_list;
	bool declined;      /* "Continue [y/N]?" answered N */
	bool no_pin;        /* fd 3 answered ERR: the tool was ended at its prompt */
	bool echo_stuck;    /* the tool did not turn echo off at its PIN prompt */
	char no_pin_why[400];
	long pin_slot;      /* the slot of the last PIN prompt */
	char created[16];   /* "Master key change operation 'ID' created." */
	char last[LINE_MAX_];
	int status;         /* the tool's exit status */
	int signal;         /* the signal that ended the tool, or 0 */
	char *text;         /* the whole transcript, lines joined by \n */
	size_t len;
} run;

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "mkagent-opencryptoki: %s is not set\n", name);
		exit(1);
	}
	return v;
}

static bool has(const char *needle)
{
	return run.text && strstr(run.text, needle);
}

/* The label of @slot as the PIN helper knows it: no trailing blanks. */
static const char *label_of(long slot, char *buf, size_t size)
{
	size_t n;

	snprintf(buf, size, "%s", slot >= 0 && slot < MAX_SLOTS ? labels[slot] : "");
	n = strlen(buf);
	while (n && buf[n - 1] == ' ')
		buf[--n] = '\0';
	if (!n)
		snprintf(buf, size, "slot-%ld", slot);
	return buf;
}

/* Ask mkagent for the PIN of @label over fd 3; false with the reason in run. */
static bool ask_pin(const char *label, char *pin, size_t size)
{
	char answer[320];
	size_t len = 0;
	struct stat st;
	char c;

	/* fd 3 must be mkagent's socket; anything else would get the request */
	if (fstat(3, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		snprintf(run.no_pin_why, sizeof(run.no_pin_why),
			 "no PIN channel on fd 3 (is pin = yes in the profile?)");
		return false;
	}
	if (dprintf(3, "PIN %s\n", label) < 0) {
		snprintf(run.no_pin_why, sizeof(run.no_pin_why), "no PIN channel on fd 3");
		return false;
	}
	while (len + 1 < sizeof(answer) && read(3, &c, 1) == 1 && c != '\n')
		answer[len++] = c;
	answer[len] = '\0';
	if (strncmp(answer, "OK ", 3) != 0 || !answer[3]) {
		snprintf(run.no_pin_why, sizeof(run.no_pin_why), "%s",
			 !strncmp(answer, "ERR ", 4) ? answer + 4 : "no answer from mkagent");
		wipe(answer, sizeof(answer));
		return false;
	}
	snprintf(pin, size, "%s", answer + 3);
	wipe(answer, sizeof(answer));
	return true;
}

static void keep(const char *path, const char *text)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", text) < 0 || fflush(f) || fsync(fileno(f)) || fclose(f) ||
	    rename(tmp, path)) {
		fprintf(stderr, "cannot keep %s in %s\n", text, path);
		exit(1);
	}
}

static void seen_line(const char *line)
{
	unsigned long slot;
	int at = -1;
	size_t n = strlen(line);
	char *grown = realloc(run.text, run.len + n + 2);

	printf("%s\n", line);
	if (grown) {
		run.text = grown;
		memcpy(run.text + run.len, line, n);
		run.len += n;
		run.text[run.len++] = '\n';
		run.text[run.len] = '\0';
	}
	if (n)
		snprintf(run.last, sizeof(run.last), "%s", line);
	/* "  Slot %lu: Label: %.32s" (reencipher), "        Slot: %lu Label: %.32s" (list) */
	if ((sscanf(line, " Slot %lu: Label:%n", &slot, &at) == 1 ||
	     sscanf(line, " Slot: %lu Label:%n", &slot, &at) == 1) && at > 0 && slot < MAX_SLOTS) {
		const char *l = line + at + (line[at] == ' ');

		snprintf(labels[slot], sizeof(labels[slot]), "%.32s", l);
	}
	if (!strcmp(line, "WARNING: The following slots have no token present:"))
		run.in_missing_list = true;
	else if (run.in_missing_list && sscanf(line, " Slot %lu%n", &slot, &at) == 1 &&
		 !line[at] && slot < MAX_SLOTS)
		run.missing[slot] = true;
	else
		run.in_missing_list = false;
	/* kept at once: a crash from here on must not lead to a second operation */
	if (sscanf(line, "Master key change operation '%15[A-Za-z0-9]' created.", run.created) == 1)
		keep(id_path, run.created);
}

/* Wait until the tool has turned echo off at its PIN prompt (pin_prompt.c:
 * the prompt, then TCSAFLUSH with ECHO cleared); false after a while. */
static bool echo_off(int master)
{
	struct termios t;

	for (int waited = 0; waited < ECHO_WAIT_MS; waited += 5) {
		if (tcgetattr(master, &t) == 0 && !(t.c_lflag & ECHO))
			return true;
		usleep(5000);
	}
	return false;
}

/* End-of-file at the tool's prompt: it says "Aborted by user." and cleans up. */
static void send_eof(int master)
{
	struct termios t;
	char eof = 4;

	if (tcgetattr(master, &t) == 0 && t.c_cc[VEOF])
		eof = (char)t.c_cc[VEOF];
	if (write(master, &eof, 1) < 0) {
		/* the tool is gone: nothing to end */
	}
}

static void on_prompt_pin(int master, long slot)
{
	char pin[400], label[40];

	run.pin_slot = slot;
	label_of(slot, label, sizeof(label));
	if (stopping) {
		snprintf(run.no_pin_why, sizeof(run.no_pin_why), "the phase was stopped");
		run.no_pin = true;
	} else if (!ask_pin(label, pin, sizeof(pin))) {
		run.no_pin = true;
	}
	if (!echo_off(master) && !run.no_pin) {
		/* a PIN written now would be echoed into the log: never */
		snprintf(run.no_pin_why, sizeof(run.no_pin_why), "the tool did not turn echo off");
		run.no_pin = run.echo_stuck = true;
	}
	if (stopping && !run.no_pin) {
		snprintf(run.no_pin_why, sizeof(run.no_pin_why), "the phase was stopped");
		run.no_pin = true;
	}
	/* written as it is, with no copy in a stdio buffer */
	if (run.no_pin || write(master, pin, strlen(pin)) < 0 || write(master, "\n", 1) < 0)
		send_eof(master); /* or the tool is gone; its output says why */
	wipe(pin, sizeof(pin));
}

static void on_prompt_continue(int master)
{
	bool all_allowed = true;
	char list[400] = "";
	size_t len = 0;

	for (int s = 0; s < MAX_SLOTS; s++)
		if (run.missing[s]) {
			all_allowed &= may_lack[s];
			if (len < sizeof(list))
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d",
							len ? "," : "", s);
		}
	if (all_allowed && list[0] && !stopping) {
		printf("slots %s have no token, as --continue-without-token allows: answering y\n", list);
		dprintf(master, "y\n");
	} else {
		run.declined = true;
		dprintf(master, "N\n");
	}
}

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Run the tool on a pty, answering its prompts; its exit status. */
static int run_tool(char **argv)
{
	char buf[4096], pending[LINE_MAX_ + 1];
	size_t plen = 0;
	int master, status;
	pid_t pid;

	free(run.text);
	memset(&run, 0, sizeof(run));
	run.pin_slot = -1;
	fflush(stdout);
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0) {
		fprintf(stderr, "cannot open a pseudo-terminal: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL };

		/*
		 * Ignored signals stay ignored across exec, and the tool catches
		 * only SIGINT and SIGTERM: with SIGHUP ignored, the pty closing
		 * (this helper killed) does not kill it; its reads then end, and
		 * it ends as "Aborted by user." or completes its work.
		 */
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execve(argv[0], argv, envp);
		/* async-signal-safe only, after fork() */
		if (write(STDERR_FILENO, "cannot run the tool\n", 20) < 0)
			_exit(127);
		_exit(127);
	}
	for (;;) {
		ssize_t n = read(master, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			long slot;

			if (c == '\r')
				continue;
			if (c == '\n' || plen == LINE_MAX_) {
				pending[plen] = '\0';
				seen_line(pending);
				plen = 0;
				if (c == '\n')
					continue;
			}
			pending[plen++] = c;
			pending[plen] = '\0';
			/* a prompt ends a read without a newline: act on it as it comes */
			if (sscanf(pending, "Enter the USER PIN for slot %ld:", &slot) == 1 && plen >= 2 &&
			    pending[plen - 2] == ':' && pending[plen - 1] == ' ') {
				seen_line(pending);
				plen = 0;
				on_prompt_pin(master, slot);
			} else if (!strcmp(pending, "Continue [y/N]? ")) {
				seen_line(pending);
				plen = 0;
				on_prompt_continue(master);
			}
		}
	}
	if (plen) {
		pending[plen] = '\0';
		seen_line(pending);
	}
	close(master);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fflush(stdout);
	run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	run.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return run.status;
}

static bool kept(const char *path, char *id, size_t size)
{
	char fmt[16];
	FILE *f = fopen(path, "r");
	bool ok;

	snprintf(fmt, sizeof(fmt), "%%%zus", size - 1);
	ok = f && fscanf(f, fmt, id) == 1;
	if (f)
		fclose(f);
	return ok;
}

/* The state of the tool's operation, from `list [-i ID]`. */
enum found { FOUND, GONE, UNKNOWN };

/* Whether the run's transcript shows a tool that could not start:
 * no pkcsslotd, no lock, no PKCS#11 library. Such a run says nothing. */
static bool tool_unavailable(void)
{
	return has("Error initializing the PKCS11 library") ||
	       has("Failed to connect to pkcsslotd's event socket") || has("Failed to obtain lock") ||
	       has("Error loading PKCS#11 library");
}

static enum found list_one(const char *id, char *state, size_t size)
{
	char *argv[] = { (char *)tool, "list", "--id", (char *)id, NULL };
	char gone[64];
	int rc = run_tool(argv);
	const char *p;

	snprintf(gone, sizeof(gone), "operation '%s' not found.", id);
	if (rc != 0)
		return has(gone) ? GONE : UNKNOWN;
	p = run.text ? strstr(run.text, "State:") : NULL;
	if (!p)
		return UNKNOWN;
	p += strlen("State:");
	p += strspn(p, " ");
	snprintf(state, size, "%.*s", (int)strcspn(p, "\n"), p);
	return FOUND;
}

/* Whether some pkcshsm_mk_change process runs on this system. */
static bool tool_running(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	while (d && !found && (de = readdir(d))) {
		char path[300], comm[64] = "";
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f))
			found = !strncmp(comm, "pkcshsm_mk_chan", 15);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

#define STATE_REENCIPHERED "Key objects have been re-enciphered,"
#define STATE_ERRORED "Finalizing or canceling has errored"

/* An operation in a state the tool cannot go on from by itself. */
static int stuck(const char *id, const char *state)
{
	if (tool_running()) {
		printf("pkcshsm_mk_change operation %s is '%s' and a pkcshsm_mk_change runs: "
		       "try again later\n", id, state);
		return EXIT_LATER;
	}
	fprintf(stderr, "pkcshsm_mk_change operation %s is stale: '%s' and no pkcshsm_mk_change runs "
		"(a killed tool); check it and remove /var/lib/opencryptoki/HSM_MK_CHANGE/%s\n",
		id, state, id);
	return 1;
}

static const struct {
	const char *var, *opt;
	size_t bytes;
} TYPES[] = {
	{ "MKAGENT_NEW_MKVP_EP11", "--ep11-wkvp", 16 },
	{ "MKAGENT_NEW_MKVP_CCA_SYM", "--cca-sym-mkvp", 8 },
	{ "MKAGENT_NEW_MKVP_CCA_ASYM", "--cca-asym-mkvp", 8 },
	{ "MKAGENT_NEW_MKVP_CCA_AES", "--cca-aes-mkvp", 8 },
	{ "MKAGENT_NEW_MKVP_CCA_APKA", "--cca-apka-mkvp", 8 },
};

/*
 * An operation of the tool for this change whose ID this helper never saw
 * (it was killed while the tool ran on): one in `list` with every
 * pattern of the change. UNKNOWN when list cannot say.
 */
static enum found find_ours(char *id, size_t size)
{
	char *argv[] = { (char *)tool, "list", NULL };
	const char *p;

	if (run_tool(argv) != 0)
		return UNKNOWN;
	for (p = run.text; p && (p = strstr(p, "Operation:")); p++) {
		const char *end = strstr(p + 1, "Operation:");
		size_t span = end ? (size_t)(end - p) : strlen(p);
		char *block = strndup(p, span);
		bool all = block != NULL;

		for (char *q = block; q && *q; q++)
			*q = (char)toupper((unsigned char)*q);
		for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++) {
			const char *v = getenv(TYPES[i].var);
			char want[80];

			if (!v || !*v)
				continue;
			snprintf(want, sizeof(want), "MKVP:    %.*s", (int)(2 * TYPES[i].bytes), v);
			for (char *q = want; *q; q++)
				*q = (char)toupper((unsigned char)*q);
			all = all && strstr(block, want) != NULL;
		}
		free(block);
		if (all && sscanf(p, "Operation: %15s", id) == 1 && size > strlen(id))
			return FOUND;
	}
	return GONE;
}

/* list could not say whether the operation is there: not 'gone'. */
static int cannot_tell(const char *what)
{
	if (run.status == 127) {
		fprintf(stderr, "%s\n", run.last[0] ? run.last : "cannot run pkcshsm_mk_change");
		return 1;
	}
	if (tool_unavailable())
		fprintf(stderr, "pkcshsm_mk_change cannot %s now (pkcsslotd down?): %s; try again "
			"later\n", what, run.last);
	else
		fprintf(stderr, "pkcshsm_mk_change list cannot tell whether the operation is there: "
			"%s; try again later\n", run.last);
	return EXIT_LATER;
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
	for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++) {
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
