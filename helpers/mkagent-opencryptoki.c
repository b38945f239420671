// SPDX-License-Identifier: MIT
/*
 * mkagent-opencryptoki [--tool PATH] reencipher|finalize|cancel
 *
 * The openCryptoki consumer of mkagent.profile(5): it drives
 * pkcshsm_mk_change for the operation in MKAGENT_*, on a pseudo-terminal,
 * as a person would. Each "Enter the USER PIN for slot N:" is answered with
 * a PIN asked over fd 3 for the slot's token label; "Continue [y/N]?" (a
 * token is missing) is answered N and the helper exits 75, so that no
 * token's keys are risked. The ID of the pkcshsm_mk_change operation is
 * kept in the work directory; a phase run again after a crash checks it
 * with `pkcshsm_mk_change list -i` instead of starting a second one.
 * Written in C so that no PIN is ever in a shell variable.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define EXIT_LATER 75
#define LINE_MAX_ 1024

static const char *tool = "/usr/sbin/pkcshsm_mk_change";
static char labels[256][33];
static char last_line[LINE_MAX_];
static char created_id[8];
static bool token_missing;

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

/* Ask mkagent for the PIN of @label over fd 3; false with a reason. */
static bool ask_pin(const char *label, char *pin, size_t size)
{
	char answer[256];
	size_t len = 0;
	char c;

	dprintf(3, "PIN %s\n", label);
	while (len + 1 < sizeof(answer) && read(3, &c, 1) == 1 && c != '\n')
		answer[len++] = c;
	answer[len] = '\0';
	if (strncmp(answer, "OK ", 3) != 0) {
		fprintf(stderr, "no PIN for token %s: %s\n", label, len > 4 ? answer + 4 : "no answer");
		wipe(answer, sizeof(answer));
		return false;
	}
	snprintf(pin, size, "%s", answer + 3);
	wipe(answer, sizeof(answer));
	return true;
}

static char id_path[4096];

static void keep_id(const char *id)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", id_path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", id) < 0 || fflush(f) || fsync(fileno(f)) || fclose(f) ||
	    rename(tmp, id_path)) {
		fprintf(stderr, "cannot keep the operation ID %s in %s\n", id, id_path);
		exit(1);
	}
}

static void seen_line(const char *line)
{
	int slot;
	char label[64];

	printf("%s\n", line);
	snprintf(last_line, sizeof(last_line), "%s", line);
	if (sscanf(line, "Slot %d: Label: %32[^\n]", &slot, label) == 2 && slot >= 0 && slot < 256)
		snprintf(labels[slot], sizeof(labels[slot]), "%.32s", label);
	/* kept at once: a crash from here on must not lead to a second operation */
	if (sscanf(line, "Master key change operation '%6[A-Za-z0-9]' created.", created_id) == 1)
		keep_id(created_id);
}

/* Run the tool on a pty, answering its prompts; its exit status. */
static int run_tool(char **argv)
{
	char buf[4096], pending[LINE_MAX_ + 1];
	size_t plen = 0;
	struct termios t;
	int master, status;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	if (pid < 0) {
		fprintf(stderr, "cannot open a pseudo-terminal: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL };

		execve(argv[0], argv, envp);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* no echo: a PIN written to the terminal never comes back out */
	if (tcgetattr(master, &t) == 0) {
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(master, TCSANOW, &t);
	}
	for (;;) {
		ssize_t n = read(master, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			int slot;

			if (c == '\r')
				continue;
			if (c == '\n' || plen == LINE_MAX_) {
				pending[plen] = '\0';
				if (plen)
					seen_line(pending);
				plen = 0;
				if (c == '\n')
					continue;
			}
			pending[plen++] = c;
			pending[plen] = '\0';
			if (sscanf(pending, "Enter the USER PIN for slot %d:", &slot) == 1 &&
			    plen >= 2 && pending[plen - 2] == ':' && pending[plen - 1] == ' ') {
				char pin[256], label[40];

				printf("%s\n", pending);
				plen = 0;
				snprintf(label, sizeof(label), "%s",
					 slot >= 0 && slot < 256 && labels[slot][0] ? labels[slot] : "");
				if (!label[0])
					snprintf(label, sizeof(label), "slot-%d", slot);
				if (!ask_pin(label, pin, sizeof(pin))) {
					kill(pid, SIGTERM);
					continue;
				}
				dprintf(master, "%s\n", pin);
				wipe(pin, sizeof(pin));
			} else if (strstr(pending, "Continue [y/N]?")) {
				printf("%s N\n", pending);
				plen = 0;
				token_missing = true;
				dprintf(master, "N\n");
			}
		}
	}
	if (plen) {
		pending[plen] = '\0';
		seen_line(pending);
	}
	close(master);
	waitpid(pid, &status, 0);
	fflush(stdout);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool kept_id(char *id)
{
	FILE *f = fopen(id_path, "r");
	bool ok = f && fscanf(f, "%6s", id) == 1;

	if (f)
		fclose(f);
	return ok;
}

/* Whether pkcshsm_mk_change still knows operation @id. */
static bool tool_knows(const char *id)
{
	char *argv[] = { (char *)tool, "list", "--id", (char *)id, NULL };

	return run_tool(argv) == 0;
}

static int fail(void)
{
	fprintf(stderr, "%s\n", last_line[0] ? last_line : "pkcshsm_mk_change failed");
	return 1;
}

static int reencipher(void)
{
	static const struct {
		const char *var, *opt;
	} types[] = {
		{ "MKAGENT_NEW_MKVP_CCA_SYM", "--cca-sym-mkvp" },   { "MKAGENT_NEW_MKVP_CCA_ASYM", "--cca-asym-mkvp" },
		{ "MKAGENT_NEW_MKVP_CCA_AES", "--cca-aes-mkvp" },   { "MKAGENT_NEW_MKVP_CCA_APKA", "--cca-apka-mkvp" },
		{ "MKAGENT_NEW_MKVP_EP11", "--ep11-wkvp" },
	};
	char *argv[16] = { (char *)tool, "reencipher", "--apqns", (char *)env("MKAGENT_APQNS") };
	char id[8];
	int n = 4, rc;

	if (kept_id(id) && tool_knows(id)) {
		printf("operation %s was already re-enciphered\n", id);
		return 0;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *v = getenv(types[i].var);

		if (v && *v) {
			argv[n++] = (char *)types[i].opt;
			argv[n++] = (char *)v;
		}
	}
	argv[n] = NULL;
	rc = run_tool(argv);
	if (token_missing) {
		fprintf(stderr, "a token is not present: not risking its keys, try again later\n");
		return EXIT_LATER;
	}
	return rc == 0 ? 0 : fail();
}

static int finish(const char *cmd)
{
	char *argv[] = { (char *)tool, (char *)cmd, "--id", NULL, NULL };
	char id[8];

	if (!kept_id(id)) {
		if (!strcmp(cmd, "cancel")) {
			printf("nothing was re-enciphered: nothing to cancel\n");
			return 0;
		}
		fprintf(stderr, "no pkcshsm_mk_change operation was kept in %s\n", id_path);
		return 1;
	}
	if (!tool_knows(id)) {
		printf("operation %s is already %s\n", id, !strcmp(cmd, "cancel") ? "canceled" : "finalized");
		return 0;
	}
	argv[3] = id;
	return run_tool(argv) == 0 ? 0 : fail();
}

int main(int argc, char **argv)
{
	const char *phase;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "--tool")) {
		tool = argv[2];
		phase = argv[3];
	} else if (argc == 2) {
		phase = argv[1];
	} else {
		fprintf(stderr, "usage: mkagent-opencryptoki [--tool PATH] reencipher|finalize|cancel\n");
		return 2;
	}
	snprintf(id_path, sizeof(id_path), "%s/pkcshsm_mk_change.id", env("MKAGENT_WORK_DIR"));
	if (!strcmp(phase, "reencipher"))
		return reencipher();
	if (!strcmp(phase, "finalize") || !strcmp(phase, "cancel"))
		return finish(phase);
	fprintf(stderr, "mkagent-opencryptoki: no %s phase\n", phase);
	return 2;
}
