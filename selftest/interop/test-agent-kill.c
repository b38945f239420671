// SPDX-License-Identifier: MIT
/*
 * test-agent-kill.c - kill -9 of the agent, of its helper
 * (mkagent-opencryptoki) and of pkcshsm_mk_change itself at every point of
 * a phase, against the real openCryptoki 3.23 (ock.h). After each kill the
 * agent is started again (or a person runs the step again, where a killed
 * helper put the operation in error): the tool's own operation is never
 * left stale and the change completes, or cancels; every key of both
 * tokens still works through PKCS#11.
 *
 * The points are held open from outside, never by a hook in the code under
 * test: pkcsslotd stopped (SIGSTOP) holds the helper in its first
 * `pkcshsm_mk_change list`, before the phase's tool starts; a PKCS#11
 * application stopped while it holds a key holds finalize and cancel after
 * the logins, where the tool waits for every process to take pkcsslotd's
 * event ("Finalizing, please wait..."), its operation file saved as
 * Finalizing or Canceling; the helper, or the agent's process that runs it,
 * stopped once the tool is there and the application let go holds the
 * point after the tool finished, before the result is recorded.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ock.h"

/* (f) kill -9 of the helper at the PIN prompt, where the tool's
 * operation file exists and the tool has not logged in. */
static void helper_killed(void)
{
	pid_t p[4];
	char *id;
	struct run_result r;

	use_pin_helper(true);
	reload_agent();
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	if (!ok(at_prompt(id), "helper killed: the tool waits at its PIN prompt"))
		return;
	is_int(tool_ops(), 1, "helper killed: the tool's operation file exists at the prompt");
	if (!ok(pids_named("mkagent-opencryptoki", p, 4) == 1, "helper killed: one helper runs"))
		return;
	kill(p[0], SIGKILL);
	release_pins();
	ok(none_named("pkcshsm_mk_change", 15000),
	   "helper killed: the tool, its pty closed, ends by itself (it ignores SIGHUP here)");
	is_int(tool_ops(), 0, "helper killed with kill -9: the tool's operation is not left stale");
	for (int i = 0; i < 200 && streq(op_field(id, "state"), "reenciphering"); i++)
		sleep_ms(50);
	diag("after the kill the operation is '%s': %s", op_field(id, "state"), op_field(id, "reason"));
	use_pin_helper(false);
	reload_agent();
	if (streq(op_field(id, "state"), "error")) {
		mk(&r, "reencipher", "-i", id, NULL);
		if (!ok(r.status == 0, "helper killed: a person runs the phase again (mkagent reencipher -i)"))
			diag("%s%s", r.out, r.err);
		run_result_free(&r);
	}
	ok(wait_state(id, "reenciphered", 60000, NULL), "helper killed: the phase run again completes");
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "finalized", 60000, NULL), "helper killed: and the change is finalized");
	is_int(tool_ops(), 0, "helper killed: the tool holds no operation at the end");
	keys_work("after the change whose helper was killed", true);
	free(id);
}

/* (f) kill -9 of the helper while the tool re-enciphers, after the
 * logins and before it printed its operation's ID. */
static void helper_killed_mid_reencipher(void)
{
	struct run_result r;
	char needle[128], *id;
	pid_t p[4];

	stage_write("/etc/csulcca-rtnmk-delay-ms", "1500\n");
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	snprintf(needle, sizeof(needle), "operation %s: opencryptoki reencipher: Re-enciphering, "
		 "please wait...", id);
	for (int i = 0; i < 1200 && !log_has(needle); i++)
		sleep_ms(50);
	if (!ok(log_has(needle) && pids_named("mkagent-opencryptoki", p, 4) == 1,
		"mid-reencipher: the tool re-enciphers (each RTNMK made to take 1.5 s)"))
		return;
	kill(p[0], SIGKILL);
	ok(none_named("pkcshsm_mk_change", 30000),
	   "mid-reencipher: kill -9 of the helper; the tool, its pty gone, completes by itself");
	stage_write("/etc/csulcca-rtnmk-delay-ms", "0\n");
	ok(none_stale(), "mid-reencipher: its operation is re-enciphered, not stale");
	{
		char kept[4400];

		snprintf(kept, sizeof(kept), "%s/work/%s/opencryptoki/pkcshsm_mk_change.id", state, id);
		ok(tool_ops() == 1 && access(kept, F_OK) != 0,
		   "mid-reencipher: the tool holds one operation, whose ID the helper never kept");
	}
	for (int i = 0; i < 200 && streq(op_field(id, "state"), "reenciphering"); i++)
		sleep_ms(50);
	is_string(op_field(id, "state"), "error", "mid-reencipher: the operation is in error (killed)");
	mk(&r, "reencipher", "-i", id, NULL);
	if (!ok(r.status == 0 && (strstr(r.out, "was already re-enciphered") ||
				  strstr(r.err, "was already re-enciphered")),
		"mid-reencipher: run again, the helper finds the tool's operation by its patterns"))
		diag("%s%s", r.out, r.err);
	run_result_free(&r);
	is_int(tool_ops(), 1, "mid-reencipher: and starts no second one");
	ok(wait_state(id, "reenciphered", 30000, NULL), "mid-reencipher: the operation is re-enciphered");
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "finalized", 60000, NULL), "mid-reencipher: and finalized");
	is_int(tool_ops(), 0, "mid-reencipher: the tool holds no operation at the end");
	keys_work("after the change whose helper was killed mid-reencipher", true);
	free(id);
}

/* (f) kill -9 of the agent while its helper waits for a PIN. */
static void agent_killed(void)
{
	char *id;

	use_pin_helper(true);
	reload_agent();
	id = change(MK_CCA_AES, MK_CCA_APKA, true);
	if (!ok(at_prompt(id), "agent killed: the tool waits at its PIN prompt"))
		return;
	agent_stop(agent, SIGKILL);
	release_pins();
	ok(none_named("pkcshsm_mk_change", 20000) && none_named("mkagent-opencryptoki", 20000),
	   "agent killed with kill -9: its worker ends the helper, the helper ends the tool");
	ok(none_stale(), "agent killed: no operation of the tool is left stale");
	use_pin_helper(false);
	start_agent();
	ok(wait_state(id, "reenciphered", 60000, NULL),
	   "agent killed: after a restart the phase is run again and completes");
	is_int(tool_ops(), 1, "agent killed: the tool holds one operation");
	activate(MK_CCA_AES, MK_CCA_APKA);
	ok(wait_state(id, "finalized", 60000, NULL), "agent killed: and the change is finalized");
	is_int(tool_ops(), 0, "agent killed: the tool holds no operation at the end");
	keys_work("after the change whose agent was killed", true);
	free(id);
}

/* (f) kill -9 of the agent while the tool re-enciphers. */
static void agent_killed_mid_reencipher(void)
{
	char needle[128], *id;

	stage_write("/etc/csulcca-rtnmk-delay-ms", "1500\n");
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	snprintf(needle, sizeof(needle), "operation %s: opencryptoki reencipher: Re-enciphering, "
		 "please wait...", id);
	for (int i = 0; i < 1200 && !log_has(needle); i++)
		sleep_ms(50);
	if (!ok(log_has(needle), "agent killed mid-reencipher: the tool re-enciphers"))
		return;
	agent_stop(agent, SIGKILL);
	ok(none_named("pkcshsm_mk_change", 30000) && none_named("mkagent-opencryptoki", 30000),
	   "agent killed mid-reencipher: the helper is ended, the tool completes by itself");
	stage_write("/etc/csulcca-rtnmk-delay-ms", "0\n");
	ok(none_stale(), "agent killed mid-reencipher: the tool's operation is not stale");
	is_int(tool_ops(), 1, "agent killed mid-reencipher: the tool holds one operation");
	start_agent();
	ok(wait_state(id, "reenciphered", 60000, NULL),
	   "agent killed mid-reencipher: after a restart the phase is run again and is done");
	is_int(tool_ops(), 1, "agent killed mid-reencipher: with no second operation of the tool");
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "finalized", 60000, NULL), "agent killed mid-reencipher: and finalized");
	is_int(tool_ops(), 0, "agent killed mid-reencipher: the tool holds no operation at the end");
	keys_work("after the change whose agent was killed mid-reencipher", true);
	free(id);
}

/* (f) kill -9 of the helper at finalize's PIN prompt. */
static void helper_killed_at_finalize(void)
{
	struct run_result r;
	char needle[128], *id;
	pid_t p[4];

	id = change(MK_CCA_AES, MK_CCA_APKA, true);
	if (!ok(wait_state(id, "reenciphered", 60000, NULL), "killed at finalize: re-enciphered"))
		return;
	use_pin_helper(true);
	reload_agent();
	activate(MK_CCA_AES, MK_CCA_APKA);
	snprintf(needle, sizeof(needle), "operation %s: opencryptoki finalize: Enter the USER PIN "
		 "for slot 0: ", id);
	for (int i = 0; i < 1200 && !log_has(needle); i++)
		sleep_ms(50);
	if (!ok(log_has(needle) && pids_named("mkagent-opencryptoki", p, 4) == 1,
		"killed at finalize: the tool waits at finalize's PIN prompt"))
		return;
	kill(p[0], SIGKILL);
	release_pins();
	ok(none_named("pkcshsm_mk_change", 15000), "killed at finalize: the tool ends by itself");
	ok(none_stale(), "killed at finalize: its operation is still re-enciphered, not stale");
	is_int(tool_ops(), 1, "killed at finalize: the tool holds its one operation");
	for (int i = 0; i < 200 && streq(op_field(id, "state"), "finalizing"); i++)
		sleep_ms(50);
	use_pin_helper(false);
	reload_agent();
	if (streq(op_field(id, "state"), "error")) {
		mk(&r, "finalize", "-i", id, NULL);
		if (!ok(r.status == 0, "killed at finalize: a person runs finalize again"))
			diag("%s%s", r.out, r.err);
		run_result_free(&r);
	}
	ok(wait_state(id, "finalized", 60000, NULL), "killed at finalize: the change is finalized");
	is_int(tool_ops(), 0, "killed at finalize: the tool holds no operation at the end");
	keys_work("after the change whose helper was killed at finalize", true);
	free(id);
}

/* ---- finalize and cancel: kill -9 at each point ---- */

enum who { AGENT, HELPER, TOOL };
enum point { BEFORE_TOOL, TOOL_WORKS, TOOL_DONE };
static const char *const WHO[] = { "the agent", "the helper", "pkcshsm_mk_change" };
static const char *const POINT[] = {
	"before the tool logs in or changes anything",
	"after the logins, while the tool works",
	"after the tool finished, before the result is recorded",
};

/* Whether @pid runs `pkcshsm_mk_change list`. */
/* The pkcshsm_mk_change that helper @helper runs (its child on the pty),
 * within @ms, or 0; a leftover of another process is not taken for it. */
static pid_t tool_of(pid_t helper, int ms)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		pid_t p[8], parent;
		int n = pids_named("pkcshsm_mk_change", p, 8);

		for (int i = 0; i < n; i++)
			if (proc_state(p[i], &parent) != 'Z' && parent == helper)
				return p[i];
		sleep_ms(20);
	}
	return 0;
}

static bool is_list(pid_t pid)
{
	char path[64], args[512] = "";
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "r");
	if (f) {
		n = fread(args, 1, sizeof(args) - 1, f);
		fclose(f);
	}
	for (size_t i = 0; i < n; i++)
		if (!args[i])
			args[i] = ' ';
	args[n] = '\0';
	if (strstr(args, " list ") || (n >= 5 && !strcmp(args + n - 5, "list ")))
		return true;
	diag("pkcshsm_mk_change %d runs as '%s'", (int)pid, args);
	return false;
}

/* `mkagent cancel -i ID`, as a person runs it, left running; its output
 * goes to the agent's log. */
static pid_t cancel_started(const char *id)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		FILE *log = fopen(agent_log, "a");

		if (!log)
			_exit(127);
		dup2(fileno(log), 1);
		dup2(fileno(log), 2);
		execl(build_path("agent/mkagent"), "mkagent", "-v", "debug", "cancel", "-i", id, NULL);
		_exit(127);
	}
	return pid;
}

/*
 * kill -9 of @w at @pt of finalize (auto-finalize, in the agent's worker)
 * or of cancel (`mkagent cancel -i`, a person's command: it is the agent
 * that runs the phase there, so the daemon is stopped meanwhile and its
 * start is the restart).
 */
static void killed(bool cancel, enum who w, enum point pt)
{
	const char *phase = cancel ? "cancel" : "finalize", *final = cancel ? "canceled" : "finalized";
	/* the tool's line as the helper passes it on, not the command's own */
	const char *works = cancel ? "opencryptoki cancel: Canceling, please wait..." :
				     "opencryptoki finalize: Finalizing, please wait...";
	pid_t runner = 0, helper_pid = 0, tool = 0;
	const char *prompt = cancel ? "opencryptoki cancel: Enter the USER PIN for slot 0" :
				      "opencryptoki finalize: Enter the USER PIN for slot 0";
	int works_before = count_in_log(works), prompts_before = count_in_log(prompt);
	struct run_result r;
	struct app app;
	bool reached;
	char what[200], after[220], *id;

	snprintf(what, sizeof(what), "%s: kill -9 of %s %s", phase, WHO[w], POINT[pt]);
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	if (!ok(wait_state(id, "reenciphered", 60000, NULL), "%s: re-enciphered first", what)) {
		free(id);
		return;
	}
	/* an application holding a key in a session: pkcsslotd's events reach it */
	app_start(&app, TOKENS[0].slot, TOKENS[0].pin, "a35a");
	if (strcmp(app_ask(&app, NULL), "ready"))
		bail_out("p11app did not start");
	if (pt == BEFORE_TOOL) {
		slotd_signal(SIGSTOP);
	} else {
		/* a held PIN helper: the application is stopped at the prompt */
		use_pin_helper(true);
		reload_agent();
	}
	if (cancel) {
		agent_stop(agent, SIGTERM);
		runner = cancel_started(id);
	} else {
		activate(MK_CCA_AES, MK_CCA_AES);
	}
	if (pt == BEFORE_TOOL) {
		reached = one_named("pkcshsm_mk_change", 30000) != 0;
	} else {
		reached = seen_again(prompt, prompts_before, 30000);
		kill(app.pid, SIGSTOP);
		release_pins();
		reached = reached && seen_again(works, works_before, 30000);
	}
	helper_pid = one_named("mkagent-opencryptoki", 1000);
	tool = helper_pid ? tool_of(helper_pid, 1000) : 0;
	if (!cancel && helper_pid)
		proc_state(helper_pid, &runner); /* the agent's worker */
	if (!ok(reached && helper_pid && tool && runner, "%s: the point is reached", what)) {
		char *text = read_text(agent_log);

		diag("seen %d, helper %d, tool %d, its runner %d; the log ends:\n%s", (int)reached,
		     (int)helper_pid, (int)tool, (int)runner,
		     text && strlen(text) > 400 ? text + strlen(text) - 400 : text);
		free(text);
		reached = false;
	}
	if (reached && pt == BEFORE_TOOL)
		ok(is_list(tool), "%s: the one pkcshsm_mk_change is the helper's `list`, held by pkcsslotd",
		   what);
	else if (reached)
		diag("%s: the tool's operation is then: %s", what, tool_state());
	if (reached && pt == TOOL_DONE) {
		/* hold the process that waits for the one that finishes */
		kill(w == HELPER ? helper_pid : runner, SIGSTOP);
		kill(app.pid, SIGCONT);
		ok(ended(w == HELPER ? tool : helper_pid, 30000), "%s: the %s finished", what,
		   w == HELPER ? "tool" : "helper");
	}
	if (reached && w == AGENT) {
		if (cancel) {
			kill(runner, SIGKILL);
		} else {
			agent_stop(agent, SIGKILL);
			if (pt == TOOL_DONE)
				kill(runner, SIGKILL); /* the worker, which held the result */
		}
	} else if (reached) {
		kill(w == HELPER ? helper_pid : tool, SIGKILL);
	}
	slotd_signal(SIGCONT);
	kill(app.pid, SIGCONT);
	if (cancel)
		waitpid(runner, NULL, 0);
	ok(none_named("pkcshsm_mk_change", 30000) && none_named("mkagent-opencryptoki", 30000),
	   "%s: the helper and the tool end", what);
	ok(none_stale(), "%s: no operation of the tool is left stale", what);
	use_pin_helper(false);
	if (w == AGENT || cancel)
		start_agent();
	else
		reload_agent();
	for (int i = 0; i < 100 && streq(op_field(id, "state"), cancel ? "canceling" : "finalizing");
	     i++)
		sleep_ms(50);
	diag("%s: then the operation is '%s' %s", what, op_field(id, "state"), op_field(id, "reason"));
	if (w == TOOL)
		ok(log_has("pkcshsm_mk_change was killed by signal 9 (Killed)") &&
			   !streq(op_field(id, "state"), "error"),
		   "%s: the helper says so and the phase is tried again later (exit 75), not failed",
		   what);
	if (streq(op_field(id, "state"), "error")) {
		mk(&r, phase, "-i", id, NULL);
		if (!ok(r.status == 0, "%s: a person runs %s again", what, phase))
			diag("%s%s", r.out, r.err);
		run_result_free(&r);
	}
	ok(wait_state(id, final, 60000, NULL), "%s: the change is %s", what, final);
	is_int(tool_ops(), 0, "%s: the tool holds no operation at the end", what);
	if (cancel)
		apsim_clear_new(sim, Q, MK_CCA_AES);
	snprintf(after, sizeof(after), "after %s", what);
	keys_work(after, !cancel);
	ok(strcmp(app_ask(&app, "use"), "ok") == 0, "%s: the application's session still uses its key",
	   what);
	app_stop(&app);
	free(id);
}

#define KILLED(name, cancel, who, point)   \
	static void name(void)               \
	{                                    \
		killed(cancel, who, point);  \
	}
KILLED(agent_killed_before_finalize, false, AGENT, BEFORE_TOOL)
KILLED(agent_killed_mid_finalize, false, AGENT, TOOL_WORKS)
KILLED(agent_killed_after_finalize, false, AGENT, TOOL_DONE)
KILLED(helper_killed_before_finalize, false, HELPER, BEFORE_TOOL)
KILLED(helper_killed_mid_finalize, false, HELPER, TOOL_WORKS)
KILLED(helper_killed_after_finalize, false, HELPER, TOOL_DONE)
KILLED(tool_killed_mid_finalize, false, TOOL, TOOL_WORKS)
KILLED(agent_killed_before_cancel, true, AGENT, BEFORE_TOOL)
KILLED(agent_killed_mid_cancel, true, AGENT, TOOL_WORKS)
KILLED(agent_killed_after_cancel, true, AGENT, TOOL_DONE)
KILLED(helper_killed_before_cancel, true, HELPER, BEFORE_TOOL)
KILLED(helper_killed_mid_cancel, true, HELPER, TOOL_WORKS)
KILLED(helper_killed_after_cancel, true, HELPER, TOOL_DONE)
KILLED(tool_killed_mid_cancel, true, TOOL, TOOL_WORKS)

#define S(f) { #f, f }
static const struct scenario SCENARIOS[] = {
	S(helper_killed),
	S(helper_killed_mid_reencipher),
	S(agent_killed),
	S(agent_killed_mid_reencipher),
	S(helper_killed_at_finalize),
	S(agent_killed_before_finalize),
	S(agent_killed_mid_finalize),
	S(agent_killed_after_finalize),
	S(helper_killed_before_finalize),
	S(helper_killed_mid_finalize),
	S(helper_killed_after_finalize),
	S(tool_killed_mid_finalize),
	S(agent_killed_before_cancel),
	S(agent_killed_mid_cancel),
	S(agent_killed_after_cancel),
	S(helper_killed_before_cancel),
	S(helper_killed_mid_cancel),
	S(helper_killed_after_cancel),
	S(tool_killed_mid_cancel),
};

int main(int argc, char **argv)
{
	(void)argc;
	ock_setup(argv);
	return ock_run(SCENARIOS, sizeof(SCENARIOS) / sizeof(SCENARIOS[0]));
}
