/* SPDX-License-Identifier: MIT */
/*
 * runner.h - running a helper program (DESIGN §5): no shell, exactly the
 * environment given, stdin /dev/null, stdout and stderr handed over line
 * by line, a timeout (SIGTERM to its process group, then SIGKILL), and
 * on request the fd-3 PIN channel (`PIN <label>` / `OK <pin>`).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "errmsg.h"

#define RUNNER_KILL_GRACE_MS 5000
#define RUNNER_LINE_MAX 1024
#define PIN_MAX 128

struct run_spec {
	char *const *argv; /* argv[0] is an absolute path */
	char *const *envp;
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
/* A configured helper ("/path [args]") with @extra arguments appended;
 * checks the program as runner_check_exec() does. */
int helper_argv(const char *cmdline, const char *const *extra, char ***argv, struct errmsg *e);
/* As root, a program run as a helper must be root's and not writable by
 * group or others. */
int runner_check_exec(const char *path, struct errmsg *e);
