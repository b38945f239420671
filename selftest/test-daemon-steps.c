// SPDX-License-Identifier: MIT
/*
 * The agent as a real child process under umockdev, step by step where a
 * step does not simply succeed: a helper that fails, hangs or must wait
 * (exit 75, the back-off, during which an early activation is still
 * caught), a person's cancel beside the agent, a second agent, daemon
 * --once with an operation in error or a file it cannot read, and notify
 * and query helpers that take long. The full cycles and the bus events are
 * test-daemon.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentstage.h"
#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static void failing_helpers(void)
{
	char hex[MKVP_STR_MAX], *id;
	struct apsim_key k;

	script_profile("boom", "cca-apka",
		       "[ \"$1\" = reencipher ] || exit 0\necho 'the last word' >&2\nexit 3\n", NULL);
	script_profile("hang", "cca-apka", "[ \"$1\" = reencipher ] && exec sleep 600\nexit 0\n",
		       "timeout = 1\n");
	start_agent(conf_fast);
	for (int i = 0; i < 2; i++) {
		apsim_random_key(MK_CCA_APKA, &k);
		hex_of(MK_CCA_APKA, &k, hex);
		id = plan_op("0b.0033", "-p", hex, i ? "hang" : "boom");
		apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
		ok(wait_state(id, "error", AGENT_WAIT_MS, NULL), "a helper that %s: error", i ? "hangs" : "fails");
		is_string(op_field(id, "reason"), i ? "profile hang reencipher failed: timed out after 1 s" :
					     "profile boom reencipher failed: the last word",
			  "  with the reason");
		ok(notified("error", id), "  and notified error");
		{
			struct run_result r;

			mk(&r, "cancel", "-i", id, NULL);
			run_result_free(&r);
		}
		apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
		free(id);
	}
	stop_agent(SIGTERM);
}

/* A person's cancel beside the agent: the agent sees the operation in
 * canceling, but the person's step holds its lock: that cancel is not an
 * interrupted one, and the agent starts no worker that would find it busy. */
static void person_cancels_beside(void)
{
	char hex[MKVP_STR_MAX], *id;
	struct apsim_key k;
	pid_t person;
	int status = -1;
	char *log;

	char go[4200], script[4300];

	/* the person's cancel phase lasts until the test has seen the agent's answer */
	snprintf(go, sizeof(go), "%s/cancel-go", tmp);
	unlink(go);
	snprintf(script, sizeof(script),
		 "[ \"$1\" = cancel ] && while [ ! -e %s ]; do sleep 0.1; done\nexit 0\n", go);
	script_profile("slowcancel", "cca-apka", script, NULL);
	if (truncate(daemon_log, 0) < 0)
		bail_out("%s: %s", daemon_log, strerror(errno));
	start_agent(conf_fast);
	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	id = plan_op("0b.0033", "-p", hex, "slowcancel");
	apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL), "person's cancel: the agent re-enciphered");
	person = fork();
	if (person == 0) {
		struct run_result r;

		mk(&r, "cancel", "-i", id, NULL);
		_exit(r.status);
	}
	ok(wait_state(id, "canceling", AGENT_WAIT_MS, NULL), "  the person's cancel runs");
	ok(wait_log("another process runs its cancel phase now", AGENT_WAIT_MS),
	   "  the agent says another process runs the cancel phase");
	write_text(go, 0644, "go\n");
	waitpid(person, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "  the person's cancel succeeds");
	sleep_ms(500);
	log = read_text(daemon_log);
	ok(log && !strstr(log, "an interrupted cancel is run again") && !strstr(log, "is busy"),
	   "  the agent took it for no interrupted cancel and started no worker for it");
	free(log);
	stop_agent(SIGTERM);
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	free(id);
}

static int count_runs(const char *path)
{
	char *text = read_text(path);
	int n = count_lines(text);

	free(text);
	return n;
}

/* A step that must wait (exit 75) is retried with a doubling back-off;
 * the operation's registers are still read every poll meanwhile, so an
 * early activation is caught at once, not when the back-off ends. */
static void backoff_still_watches(void)
{
	char hex[MKVP_STR_MAX], *id;
	struct apsim_key k;

	char runs[4200], body[4400];
	int tried, reads;

	/* each run of the reencipher phase leaves a line in @runs */
	snprintf(runs, sizeof(runs), "%s/later-runs", tmp);
	unlink(runs);
	snprintf(body, sizeof(body),
		 "[ \"$1\" = reencipher ] && { echo run >> %s; echo 'not yet' >&2; exit 75; }\nexit 0\n",
		 runs);
	script_profile("later", "cca-asym", body, NULL);
	start_agent(conf_fast);
	apsim_random_key(MK_CCA_ASYM, &k);
	hex_of(MK_CCA_ASYM, &k, hex);
	id = plan_op("0b.0033", "-S", hex, "later");
	apsim_load(sim, CCA[2], MK_CCA_ASYM, &k);
	ok(wait_log("trying again in 8 s", 20000 + AGENT_WAIT_MS),
	   "a helper that exits 75: the agent backs off, up to 8 s");
	tried = count_runs(runs);
	reads = apsim_mkvps_reads(sim, CCA[2]);
	for (int waited = 0; waited < AGENT_WAIT_MS && apsim_mkvps_reads(sim, CCA[2]) < reads + 2; waited += 50)
		sleep_ms(50);
	ok(apsim_mkvps_reads(sim, CCA[2]) >= reads + 2 && count_runs(runs) == tried,
	   "  while it backs off, the registers are still read at each poll");
	activate_all(&CCA[2], 1, MK_CCA_ASYM);
	ok(wait_state(id, "error", AGENT_WAIT_MS, NULL), "  an early activation during the back-off is seen");
	is_int(count_runs(runs), tried, "  at a poll, not when the back-off ends: the step was not tried again");
	ok(!strncmp(op_field(id, "reason"), "activated-early", 15), "  reason: %s", op_field(id, "reason"));
	stop_agent(SIGTERM);
	free(id);
}

/* A notify helper that takes long holds up no step: the loop hands it to
 * a notify worker and goes on. */
/* Whether the notify helper that @pids says runs for @event of @id still
 * runs (it writes "EVENT ID PID"). */
static bool notify_runs(const char *pids, const char *event, const char *id)
{
	char want[128], *text = read_text(pids), *p;
	int pid = 0;

	snprintf(want, sizeof(want), "%s %s ", event, id);
	p = text ? strstr(text, want) : NULL;
	if (p)
		pid = atoi(p + strlen(want));
	free(text);
	return pid > 1 && kill(pid, 0) == 0;
}

static void slow_notify(void)
{
	char conf[4096], helper[4096], gate[4096], pids[4096], hex[MKVP_STR_MAX], *a, *b;
	struct apsim_key ka, kb;
	struct run_result r;

	/* it takes until the test is done: no worker's notification ends meanwhile */
	snprintf(gate, sizeof(gate), "%s/notify-done", tmp);
	unlink(gate);
	snprintf(helper, sizeof(helper), "%s/notify-slow", tmp);
	snprintf(pids, sizeof(pids), "%s/notify-pids", tmp);
	write_text(helper, 0700,
		   "#!/bin/sh\necho \"$1 $2\" >> %s\necho \"$1 $2 $$\" >> %s\nwhile [ ! -e %s ]; do sleep 0.1; done\n",
		   notify_log, pids, gate);
	snprintf(conf, sizeof(conf), "%s/slow-notify.conf", tmp);
	write_text(conf, 0644, "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n[notify]\nhelper = %s\n",
		   tmp, helper);
	script_profile("asym-ok", "cca-asym", "exit 0\n", NULL);
	script_profile("ep11-ok", "ep11", "exit 0\n", NULL);
	/* set up by hand, notified at once: @a loaded, @b re-enciphered and activated */
	setenv("MKAGENT_CONFIG", conf_fast, 1);
	apsim_random_key(MK_CCA_ASYM, &ka);
	hex_of(MK_CCA_ASYM, &ka, hex);
	a = plan_op("08.0033,09.0033", "-S", hex, "asym-ok");
	apsim_random_key(MK_EP11, &kb);
	hex_of(MK_EP11, &kb, hex);
	b = plan_op("0a.0033,0c.0033", "-e", hex, "ep11-ok");
	load_all(EP11, 2, MK_EP11, &kb);
	mk(&r, "reencipher", "-i", b, NULL);
	run_result_free(&r);
	is_string(op_field(b, "state"), "reenciphered", "slow notify: set up, one operation re-enciphered by hand");
	activate_all(EP11, 2, MK_EP11);
	load_all(CCA, 2, MK_CCA_ASYM, &ka);

	start_agent(conf);
	ok(wait_state(a, "reenciphered", AGENT_WAIT_MS, NULL),
	   "slow notify: with a notify helper that does not end, a loaded operation is re-enciphered");
	ok(wait_state(b, "finalized", AGENT_WAIT_MS, NULL), "  and an activated one is finalized");
	ok(notified("loaded", a) && notified("finalized", b), "  the helper still runs for each");
	/* the worker that re-enciphered @a still runs the notify helper */
	activate_all(CCA, 2, MK_CCA_ASYM);
	sleep_ms(500);
	ok(notify_runs(pids, "reenciphered", a), "  the worker's notify helper for reenciphered still runs");
	setenv("MKAGENT_CONFIG", conf_fast, 1);
	mk(&r, "finalize", "-i", a, NULL);
	is_int(r.status, 0, "  a step's worker does not hold the operation's lock while it notifies");
	run_result_free(&r);
	is_string(op_field(a, "state"), "finalized", "  a person's finalize goes through");
	write_text(gate, 0644, "done\n");
	stop_agent(SIGTERM);
	free(a);
	free(b);
}

/* A query helper that takes long holds up no other operation; its answer
 * is used when it comes. */
static void slow_query(void)
{
	char conf[4096], helper[4096], regs[4096], hang[4096], hex[MKVP_STR_MAX], *sym, *apka;
	const char *new_sym = "5a5a5a5a5a5a5a5a";
	struct apsim_key k;

	snprintf(regs, sizeof(regs), "%s/sym-regs", tmp);
	snprintf(hang, sizeof(hang), "%s/sym-slow", tmp);
	write_text(regs, 0644, "SYM NEW: empty 0x0000000000000000\nSYM CUR: valid 0x1111111111111111\n"
			       "SYM OLD: invalid 0x0000000000000000\n");
	snprintf(helper, sizeof(helper), "%s/query", tmp);
	/* the answer about the cca-sym operation's registers is held until the test lets it go */
	write_text(helper, 0700, "#!/bin/sh\nwhile [ -e %s ]; do sleep 0.1; done\nexec cat %s\n", hang,
		   regs);
	snprintf(conf, sizeof(conf), "%s/query.conf", tmp);
	write_text(conf, 0644, "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n"
			       "[notify]\nhelper = %s/notify\n[registers]\nquery-helper = %s\n",
		   tmp, tmp, helper);
	script_profile("sym-ok", "cca-sym", "exit 0\n", NULL);
	script_profile("apka-ok", "cca-apka", "exit 0\n", NULL);
	setenv("MKAGENT_CONFIG", conf, 1);
	sym = plan_op("08.0033", "-s", new_sym, "sym-ok");
	write_text(regs, 0644, "SYM NEW: full 0x%s\nSYM CUR: valid 0x1111111111111111\n"
			       "SYM OLD: invalid 0x0000000000000000\n", new_sym);
	write_text(hang, 0644, "slow\n");

	start_agent(conf);
	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	apka = plan_op("09.0033,0b.0033", "-p", hex, "apka-ok");
	load_all(&CCA[1], 2, MK_CCA_APKA, &k);
	ok(wait_state(apka, "reenciphered", AGENT_WAIT_MS, NULL),
	   "slow query: while the query helper holds its answer for a cca-sym operation, another is re-enciphered");
	is_string(op_field(sym, "state"), "planned", "  the cca-sym operation waits for the answer");
	unlink(hang);
	ok(wait_state(sym, "reenciphered", AGENT_WAIT_MS, NULL),
	   "  the answer comes: the cca-sym operation is re-enciphered");
	stop_agent(SIGTERM);
	free(sym);
	free(apka);
}

/* A second agent on the same state directory refuses to start. */
static void second_agent(void)
{
	char *argv[] = { "/usr/bin/timeout", "10", (char *)build_path("agent/mkagent"), "daemon", NULL };
	char want[128];
	struct run_result r;

	start_agent(conf_fast);
	run_argv(&r, argv);
	snprintf(want, sizeof(want), "mkagent: daemon: another agent is running (pid %d)\n", (int)agent);
	is_int(r.status, 1, "a second agent: exit 1");
	is_string(r.err, want, "  one line naming the running one");
	run_result_free(&r);
	{
		char *once[] = { (char *)build_path("agent/mkagent"), "daemon", "--once", NULL };

		run_argv(&r, once);
		is_int(r.status, 1, "  daemon --once as well");
		run_result_free(&r);
	}
	stop_agent(SIGTERM);
}

/* daemon --once prints why an operation in error is there. */
static void once_error(void)
{
	char hex[MKVP_STR_MAX], want[256], *id;
	struct apsim_key k;
	struct run_result r;

	setenv("MKAGENT_CONFIG", conf_fast, 1);
	script_profile("boom", "cca-apka",
		       "[ \"$1\" = reencipher ] || exit 0\necho 'the last word' >&2\nexit 3\n", NULL);
	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	id = plan_op("08.0033", "-p", hex, "boom");
	apsim_load(sim, CCA[0], MK_CCA_APKA, &k);
	mk(&r, "daemon", "--once", NULL);
	run_result_free(&r);
	is_string(op_field(id, "state"), "error", "daemon --once: a failing helper, the operation is in error");
	mk(&r, "daemon", "--once", NULL);
	snprintf(want, sizeof(want),
		 "Operation %s: error (reason: profile boom reencipher failed: the last word)\n", id);
	ok(r.status == 0 && strstr(r.out, want), "  the next pass prints its reason");
	run_result_free(&r);
	mk(&r, "daemon", "--once", "--json", NULL);
	ok(strstr(r.out, "\"reason\": \"profile boom reencipher failed: the last word\""),
	   "  and so does --json");
	run_result_free(&r);
	mk(&r, "cancel", "--force", "-i", id, NULL);
	run_result_free(&r);
	free(id);
}

/* daemon --once with an operation file it cannot read: as list, exit 1. */
static void once_bad_file(void)
{
	char bad[4200];
	struct run_result r;

	setenv("MKAGENT_CONFIG", conf_fast, 1);
	snprintf(bad, sizeof(bad), "%s/ops/ZZZZZZ.ini", state);
	write_text(bad, 0644, "[operation]\nthis is not an operation\n");
	run_mkagent(&r, "-v", "none", "daemon", "--once", NULL);
	is_int(r.status, 1, "daemon --once with an operation file it cannot read: exit 1");
	ok(count_lines(r.err) == 1 && strstr(r.err, "mkagent: daemon: ") && strstr(r.err, "ZZZZZZ.ini"),
	   "  one line naming the file: %s", r.err);
	run_result_free(&r);
	unlink(bad);
}

int main(int argc, char **argv)
{
	(void)argc;
	agentstage_setup(argv);

	failing_helpers();
	person_cancels_beside();
	backoff_still_watches();
	second_agent();
	once_error();
	once_bad_file();
	slow_notify();
	slow_query();
	if (tap_exit_status())
		diag("daemon log: %s", daemon_log);
	apsim_free(sim);
	return done_testing();
}
