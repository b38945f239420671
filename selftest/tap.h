/* SPDX-License-Identifier: MIT */
/*
 * tap.h - a tiny Test Anything Protocol library for the test programs:
 * plan, ok, is_int, is_string, diag, skip. `prove` reads the output.
 */
#pragma once

#include <stdbool.h>

void plan(int n);
void plan_skip_all(const char *why);
/* Print the plan at the end, for tests that count as they go. */
int done_testing(void);

bool tap_ok(const char *file, int line, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool tap_is_int(const char *file, int line, long got, long want, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
bool tap_is_string(const char *file, int line, const char *got, const char *want,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define ok(cond, ...) tap_ok(__FILE__, __LINE__, (cond), __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int(__FILE__, __LINE__, (got), (want), __VA_ARGS__)
#define is_string(got, want, ...) tap_is_string(__FILE__, __LINE__, (got), (want), __VA_ARGS__)

void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void skip(int n, const char *why);
/* Stop the whole run: the harness reports it. */
void bail_out(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* 0 when every test passed and the plan was met, else 1. */
int tap_exit_status(void);
