/* SPDX-License-Identifier: MIT */
/*
 * run.h - run a program the way a person would, capturing what it
 * prints and how it ends, for the tests.
 */
#pragma once

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
/* Path of a file of the build tree, e.g. "agent/mkagent". */
const char *build_path(const char *rel);
/* Number of lines in @s. */
int count_lines(const char *s);
#include <string.h>
