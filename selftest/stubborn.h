/* SPDX-License-Identifier: MIT */
/*
 * stubborn.h - the stage of test-safety and test-interrupted: a reencipher
 * helper that, like pkcshsm_mk_change, ignores SIGTERM and runs until told
 * to stop, its profile "stubborn", the directory it works in, and an APKA
 * change of 0b.0033 planned and closed (stubborn.c).
 */
#pragma once

#include <stddef.h>

/* The helpers' directory: the stubborn helper notes there that it runs
 * ("running", its PID), that two ran at once ("overlap"), and stops once
 * "go" is there. */
extern char dir[4096];

/* @name in the helpers' directory. */
void path_in(char *buf, size_t size, const char *name);
/* The helpers' directory, the stubborn helper and its profile. */
void stubborn_setup(void);
/* Plan a change of 0b.0033's APKA master key for @profile and load its
 * new key; the operation's ID, malloc'd. */
char *plan_apka(const char *profile);
/* Let the stubborn helper finish ("go"), run the phase, cancel the
 * operation and clear the new APKA register of 0b.0033. */
void close_op(const char *id);
