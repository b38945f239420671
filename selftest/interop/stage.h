/* SPDX-License-Identifier: MIT */
/*
 * stage.h - the trixie root of `make interop` (mkroot.sh), mounted for one
 * test program: in a private mount namespace, an overlay on the cached root
 * ($MKAGENT_INTEROP_ROOT, never written), with /proc, /dev/shm, its own
 * /dev/pts, and an apsim testbed's sysfs as /sys; the simulated adapter
 * libcsulcca.so and p11app installed. Programs run in it by chroot with a
 * clean environment; the real pkcsslotd is started there and stopped by its
 * PID. Everything is undone at exit, also after bail_out().
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "../apsim.h"

struct result {
	int status; /* exit code, or 128 + signal */
	char *out;  /* stdout and stderr together, malloc'd */
};

/* Mount the root for @hsm, whose default AP domain becomes @domain. */
void stage_setup(struct apsim *hsm, unsigned int domain);
/* A script that runs the root's real pkcshsm_mk_change from outside it
 * (for mkagent-opencryptoki --tool), for this test's mount namespace. */
const char *stage_tool(void);
/* Undo it now rather than at exit. */
void stage_teardown(void);
/* Write a file in the root (in the overlay). */
void stage_write(const char *path_in_root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy a file of the build tree into the root, mode 0755. */
void stage_install(const char *rel, const char *dst_in_root);

/* Run a shell command in the root with @input on its stdin. */
struct result in_root(const char *input, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A command started in the root and left running: its shell execs the
 * command, so @pid is the program's own, to signal. */
struct bg {
	pid_t pid;
	int in;         /* its stdin */
	int status;     /* once reaped, else -1 */
	char out[4200]; /* where its stdout and stderr go */
};
void bg_start(struct bg *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether its output has @needle within @ms. */
bool bg_wait_output(struct bg *b, const char *needle, int ms);
/* -1 while it runs, else its exit status or 128 + signal. */
int bg_poll(struct bg *b);
/* Close its stdin, reap it: its exit status or 128 + signal; @out gets
 * its output (malloc'd) when not NULL. */
int bg_wait(struct bg *b, char **out);

/* The result as a TAP diagnostic. */
void show(const struct result *r);

/* Start the real pkcsslotd in the root: its PID, or 0 (see @r). */
pid_t slotd_start(struct result *r);
/* Stop it by its PID: SIGTERM, then SIGKILL after 5 s. */
void slotd_stop(void);
/* Send @sig to it (SIGSTOP, SIGCONT: hold it, let it go). */
void slotd_signal(int sig);
bool slotd_alive(void);
bool alive(pid_t pid);

/* p11app (p11app.c) in the root, logged in to @slot, holding the secret
 * key with CKA_ID @key_id (hex) in an open session. */
struct app {
	pid_t pid;
	FILE *in, *out;
};
void app_start(struct app *a, int slot, const char *pin, const char *key_id);
/* Send @cmd (NULL: none) and return the answer line, "" when p11app is gone. */
const char *app_ask(struct app *a, const char *cmd);
/* Close its stdin and reap it: its exit status. */
int app_stop(struct app *a);
