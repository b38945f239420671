/* SPDX-License-Identifier: MIT */
/*
 * run.h - run a program the way a person would, capturing what it
 * prints and how it ends, for the tests.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct run_result {
	int status; /* exit code, or 128 + signal */
	char *out;
	char *err;
};

/* Run @argv (NULL terminated) with the test's environment. */
int run_argv(struct run_result *r, char *const argv[]);
/* Run agent/mkagent with the given arguments, NULL terminated. */
int run_mkagent(struct run_result *r, ...) __attribute__((sentinel));
void run_result_free(struct run_result *r);
/* Path of a file of the build tree, e.g. "agent/mkagent"; the last four
 * answers stay valid. */
const char *build_path(const char *rel);
/* The one-letter state of @pid in /proc ('S' sleeping, 'Z' zombie, ...),
 * 0 when it is gone. */
char pid_state(pid_t pid);
/* The system call @pid sleeps in (/proc/PID/syscall), -1 when it runs,
 * -2 when the file cannot be read: @pid is gone, or it is not dumpable
 * (mkagent makes itself so) and the caller lacks CAP_SYS_PTRACE. */
long pid_syscall(pid_t pid);
/* Wait up to @ms until @pid sleeps in system call @nr (SYS_read, ...);
 * false when it does not, or ends. */
bool wait_in_syscall(pid_t pid, long nr, int ms);
/* Number of lines in @s. */
int count_lines(const char *s);
#include <string.h>

/* Where root's tests work: mkagent as root trusts nothing under /tmp,
 * which anyone may write (DESIGN §5 "Trust"). */
#define TEST_TMP_ROOT "/run/mkagent-test"
/* A new directory, 0700, under TEST_TMP_ROOT as root and /tmp otherwise;
 * returns a malloc'd path. */
char *make_tmpdir(const char *tag);
/* Write @text to @path with @mode; bails out on failure. */
void write_text(const char *path, int mode, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Every file under @dir with its mode, size and SHA-256, sorted: two
 * snapshots are equal when nothing under @dir changed. */
char *snapshot_dir(const char *dir);
/* The whole content of @path, or NULL. */
char *read_text(const char *path);
/* Whether the file @path has @text, waiting up to @ms for it (0: look once). */
bool wait_file_has(const char *path, const char *text, int ms);
/* rm -rf @path, without a shell; 0 or -1 with a diagnostic. */
int remove_tree(const char *path);
/* Whether @needle occurs in any file under @dir. */
bool dir_contains(const char *dir, const char *needle);
