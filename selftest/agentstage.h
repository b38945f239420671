/* SPDX-License-Identifier: MIT */
/*
 * agentstage.h - the stage of the tests that run the agent as a child
 * process (agentstage.c): on top of the fixture, a notify helper that logs,
 * two configurations and ways to start, stop and watch the agent.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* poll-interval 1 and 3600; the notify helper's log; the agent's log */
extern char conf_fast[4096], conf_slow[4096], notify_log[4096], daemon_log[4096];
/* The running agent, 0 when none. */
extern pid_t agent;

/* fixture_setup(), then the notify helper and the two configurations. */
void agentstage_setup(char **argv);
void start_agent(const char *conf);
void stop_agent(int sig);
/* Whether the notify helper was run for @event (it runs in a worker after
 * the transition is written, so give it time). */
bool notified(const char *event, const char *id);
/* Wait until the agent's log has @text. */
bool wait_log(const char *text, int ms);
char *plan_op(const char *apqns, const char *opt, const char *pattern, const char *only);
/* Profile @name for @types, whose helper is the shell script @body. */
void script_profile(const char *name, const char *types, const char *body, const char *extra);
