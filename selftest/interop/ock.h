/* SPDX-License-Identifier: MIT */
/*
 * ock.h - the stage of test-agent and test-agent-kill: mkagent itself
 * against the real openCryptoki 3.23. In the trixie root (stage.h) the real
 * pkcsslotd, CCA token and pkcshsm_mk_change run on the simulated CCA
 * adapter whose registers are apsim's. On the host, the real agent
 * (`mkagent daemon`) follows the same apsim HSM and runs the shipped
 * profiles/opencryptoki.profile, changed only in its paths (the helper's,
 * and --tool pointed at stage_tool()), with PINs from the shipped
 * mkagent-pin-file by token label. Two CCA tokens, each with an AES and an
 * EC key; the agent polls at 1 s and finalizes by itself.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "../apsim.h"
#include "../fixture.h"
#include "../run.h"
#include "../tap.h"
#include "stage.h"

struct token {
	int slot;
	const char *label, *pin;
};
extern const struct token TOKENS[2];
#define NTOKENS 2
extern const struct apqn Q;
extern char agent_log[4200];
extern pid_t agent;

/* Mount the root, start pkcsslotd, make both tokens and their keys, start
 * the agent. */
void ock_setup(char **argv);
/* Run the scenarios MKAGENT_INTEROP_ONLY=name,... names (all without it),
 * stop the agent, undo the stage: the exit status. */
struct scenario {
	const char *name;
	void (*run)(void);
};
int ock_run(const struct scenario *s, size_t n);

/* opencryptoki.conf: two CCA slots, and an EP11 slot 2 with @third_slot. */
void configure(bool third_slot);
void restart_slotd(bool third_slot);
/* Every key of both tokens, through PKCS#11: AES encrypt and decrypt, EC
 * sign and verify; with @refuse_old, keys under OLD are refused. */
void keys_work(const char *when, bool refuse_old);
/* The tool's operations: the files in /var/lib/opencryptoki/HSM_MK_CHANGE. */
int tool_ops(void);
/* No operation of the tool is in a state it cannot go on from. */
bool none_stale(void);
/* The PIN of @t in the PIN helper's directory; NULL: none. */
void set_pin(const struct token *t, const char *pin);
int count_in_log(const char *needle);
bool log_has(const char *needle);
/* The shipped profile with the paths of this test, and @extra appended to
 * the helper's options (the profile's settings). */
void install_profile(const char *extra);
void start_agent(void);
/* SIGHUP to the agent; return once it says it reloaded its configuration. */
void reload_agent(void);
/* Plan a change of @t1 (and @t2) to new random keys, and load them when
 * @load: the agent takes it from there. The operation's ID, malloc'd. */
char *change(enum mk_type t1, enum mk_type t2, bool load);
void activate(enum mk_type t1, enum mk_type t2);
/* The PIN helper of mkagent.conf: mkagent-pin-file, held until
 * release_pins() when @held: the tool waits at its prompt meanwhile. */
void use_pin_helper(bool held);
void release_pins(void);
/* The PIDs of this run's processes named @comm (cut to 15 characters, as
 * the kernel does): those in the test's own mount namespace. */
int pids_named(const char *comm, pid_t *out, int max);
/* Wait until no process of that name is left; false after @ms. */
bool none_named(const char *comm, int ms);
/* Wait until the helper of @id is at the tool's first PIN prompt. */
bool at_prompt(const char *id);
/* The state letter of @pid (R, S, T, Z, ...) and its parent; '\0' when gone. */
char proc_state(pid_t pid, pid_t *ppid);
/* The one live process named @comm within @ms, or 0. */
pid_t one_named(const char *comm, int ms);
/* Wait until @pid is a zombie or gone. */
bool ended(pid_t pid, int ms);
/* The State: line of the tool's one operation (static). */
const char *tool_state(void);
/* Wait up to @ms for the count of @needle in the log to exceed @before. */
bool seen_again(const char *needle, int before, int ms);
