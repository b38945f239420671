/* SPDX-License-Identifier: MIT */
/*
 * stepcmd.h - what the commands that change operations share (plan.c,
 * stepcmd.c): the checks every one makes before anything, the refusal in
 * one line, and the words of re-enciphering, which `plan`'s sibling
 * `reencipher -a` ends with too.
 */
#pragma once

#include "cmd/cli.h"
#include "cmd/opargs.h"
#include "step/step.h"

/* "@cmd: <the line of @e>" on stderr; returns EXIT_REFUSED. */
int refuse(const char *cmd, const struct errmsg *e);
/* -EACCES when this user cannot write the state directory (a group member
 * with read access may list, not step). */
int need_write(const struct engine *en, struct errmsg *e);
/* I9: from here on a signal ends the helper, and this process keeps the
 * operation's lock until the helper is gone. */
int catch_interrupts(struct errmsg *e);
/* What a person sees once a phase starts: "Re-enciphering, please wait...". */
void say_wait(const struct step *s, enum phase ph);
/* Check @s's operation on registers read now (I1), and re-encipher it,
 * saying what comes next. */
int reencipher(const char *cmd, struct step *s);

/* plan.c: plan the change of @a; with @now re-encipher it at once. */
int create_op(const char *cmd, const struct cli *cli, struct op_args *a, bool now);
