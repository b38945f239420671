/* SPDX-License-Identifier: MIT */
/*
 * fixture.h - the stage of the operation and agent tests (fixture.c).
 */
#pragma once

#include "apsim.h"
#include "run.h"

#include <sys/types.h>

#define PIN "7391-secret-PIN"

extern struct apsim *sim;
extern char *tmp, *state, *profiles, *cca_store, *ep11_store, *simkeys;
/* Everything mkagent printed through mk(), for the PIN search. */
extern char all_output[1 << 20];
extern const struct apqn CCA[3], EP11[2];

void fixture_setup(char **argv);
/* A copy of the build tree's @rel (a file or a directory) in the test
 * directory, not writable by group or others: as root mkagent runs only
 * what sits in root's directories up to "/", which a build tree need not
 * be. The path is malloc'd. */
char *installed(const char *rel);
/* Run mkagent -v debug with these arguments. */
int mk(struct run_result *r, ...) __attribute__((sentinel));
/* A refusal: exit code, one line with @msg in it, nothing changed. */
void refused(int want_status, const char *msg, const char *what, ...) __attribute__((sentinel));
void hex_of(enum mk_type t, const struct apsim_key *k, char *out);
void load_all(const struct apqn *a, size_t n, enum mk_type t, const struct apsim_key *k);
void activate_all(const struct apqn *a, size_t n, enum mk_type t);
char *created_id(const char *out);
/* Plan a change of both EP11 APQNs to a new random key @k (its pattern in
 * @hex when not NULL) for @profile; the operation's ID, malloc'd. */
char *plan_ep11(const char *profile, struct apsim_key *k, char *hex);
/* Write @name in the test directory and make it mkagent's configuration. */
void use_config(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int verify_store(const char *store, struct apqn a, char *out, size_t size);
void simkeys_init(const char *store, struct apqn a, const char *type, int n, bool pin);
void write_profile(const char *name, const char *types, bool pin, const char *exec, const char *extra);
/* How long a test waits for something the agent must do: long enough for
 * an ASan build on a loaded machine; a wait ends as soon as it is done. */
#define AGENT_WAIT_MS 60000
/* Start @binary (NULL: agent/mkagent) as `mkagent [-v debug] daemon`, its
 * output appended to @log (NULL: /dev/null); wait until it listens (it
 * sleeps in epoll_wait, its first pass made; or it died), then @settle_ms
 * more. */
pid_t agent_start(const char *binary, const char *log, bool debug, int settle_ms);
/* Whether agent @pid sleeps in epoll_wait: it listens, and has handled
 * every event that had come when it went to sleep. */
bool agent_idle(pid_t pid);
/* Wait up to @ms for agent_idle(); false, with a diagnostic (none when the
 * agent died), when it does not come. */
bool wait_agent_idle(pid_t pid, int ms);
/* When the timerfd of agent @pid fires, in ms from now: 0 when disarmed,
 * -1 when it has none (/proc/PID/fdinfo). */
long agent_timer_ms(pid_t pid);
/* Wait up to @ms until agent @pid is idle and its timer is disarmed or due
 * in more than a minute: no uevent burst left to settle, nothing to retry
 * soon (for a poll-interval above a minute). */
bool wait_agent_quiet(pid_t pid, int ms);
/* Send @sig to the agent and reap it. */
void agent_stop(pid_t pid, int sig);
/* Whether some process waits (blocked in flock or fcntl) for a lock of @path. */
bool lock_waited(const char *path);
void sleep_ms(int ms);
/* A key of [operation] (state, reason, ...) from the live or archived
 * file of @id, "" when none. */
const char *op_field(const char *id, const char *key);
/* Wait up to @ms for @id to reach @want, calling @tick (may be NULL) as it
 * waits; false, with a diagnostic, when it does not. */
bool wait_state(const char *id, const char *want, int ms, void (*tick)(void));
