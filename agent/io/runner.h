/* SPDX-License-Identifier: MIT */
/*
 * runner.h - running a helper program (DESIGN §5): the very file that was
 * checked (trust.h), started from its descriptor, no shell, an environment
 * of PATH and LANG (the same for every helper, set here only) and exactly
 * what the caller adds, stdin /dev/null, stdout and stderr handed over line
 * by line, a timeout (SIGTERM to its process group, then SIGKILL), and
 * on request the fd-3 PIN channel (`PIN <label>` / `OK <pin>`).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/errmsg.h"

#define RUNNER_KILL_GRACE_MS 5000
#define RUNNER_LINE_MAX 1024
#define PIN_MAX 128

struct run_spec {
	int exec_fd;	   /* the program, as runner_open_exec() checked it */
	char *const *argv; /* argv[0] is its absolute path */
	char *const *envp;   /* beside PATH and LANG, which every helper gets; may be NULL */
	const char *workdir; /* NULL: "/" */
	int timeout_s;	     /* 0: none */
	bool pin_channel;
	/* Fill @pin (PIN_MAX bytes) for @label; the runner wipes it. */
	int (*get_pin)(void *ctx, const char *label, char *pin, struct errmsg *e);
	void *pin_ctx;
	/* A line the helper printed, without its newline; @fd is 1 or 2. */
	void (*line)(void *ctx, int fd, const char *line);
	void *line_ctx;
};

struct run_outcome {
	int exit_code; /* -1 when killed by a signal */
	int signal;
	bool timed_out;
	int interrupted; /* the signal that ended it early (runner_catch_interrupts) */
	long long elapsed_us; /* from the fork to the reaping */
	char last_stderr[256];
};

int runner_run(const struct run_spec *spec, struct run_outcome *out, struct errmsg *e);
/*
 * I9: from now on SIGINT, SIGTERM and SIGHUP do not end this process.
 * They are noted; a helper running then is ended (SIGTERM to its process
 * group, SIGKILL after RUNNER_KILL_GRACE_MS) and reaped before
 * runner_run() returns with @interrupted set, so whoever holds the
 * operation's lock holds it until the helper is gone. SIGPIPE is ignored:
 * a closed pipe or a lost terminal makes writes fail, not the process die.
 */
int runner_catch_interrupts(void);
/* The signal caught since runner_catch_interrupts(), 0 when none. */
int runner_interrupted(void);

/* Split @exec on blanks into a NULL-terminated, malloc'd argv. */
int split_exec(const char *exec, char ***argv);
void argv_free(char **argv);
/* A program to run, checked: what runs is @fd, not a path looked up again. */
struct helper {
	char **argv;
	int fd; /* O_PATH */
};

/* A configured helper ("/path [args]") with @extra (may be NULL) appended,
 * its program checked and opened as runner_open_exec() does. */
int helper_open(const char *cmdline, const char *const *extra, struct helper *h,
		struct errmsg *e);
void helper_close(struct helper *h);
/* The O_PATH descriptor of the program @path, checked as DESIGN §5 says
 * (trust_open()), or a negative errno: "helper /x: ..." in @e. */
int runner_open_exec(const char *path, struct errmsg *e);
