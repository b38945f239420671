// SPDX-License-Identifier: MIT
/*
 * pty.c - the dialogue with pkcshsm_mk_change: the tool runs on a
 * pseudo-terminal with a clean environment and SIGHUP ignored; its output
 * is echoed line by line and kept as the run's transcript (labels by slot,
 * slots without a token, the ID it created); its PIN prompts are answered
 * with PINs asked over fd 3, written only once the tool has turned echo
 * off, and its "Continue [y/N]?" by --continue-without-token. A prompt it
 * must not answer is ended with VEOF, never a signal.
 */
#include <errno.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ock.h"

#define ECHO_WAIT_MS 30000

/* The tokens' labels by slot, as the tool printed them: kept across runs,
 * since finalize and cancel print none and `list -i` does. */
static char labels[MAX_SLOTS][33];

struct run run;

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

bool has(const char *needle)
{
	return run.text && strstr(run.text, needle);
}

/* The label of @slot as the PIN helper knows it: no trailing blanks. */
const char *label_of(long slot, char *buf, size_t size)
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

/* Run the tool on a pty, answering its prompts; its exit status. */
int run_tool(char **argv)
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
