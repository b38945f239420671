// SPDX-License-Identifier: MIT
/*
 * The agent as a real child process under umockdev: after `plan` nobody
 * types; the simulated officer loads and activates, and mkagent daemon
 * re-enciphers and finalizes at the right moments, never at a wrong one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char conf_fast[4096], conf_slow[4096], notify_log[4096], daemon_log[4096];
static pid_t agent;

static void start_agent(const char *conf)
{
	setenv("MKAGENT_CONFIG", conf, 1);
	agent = agent_start(NULL, daemon_log, true, 300);
}

static void stop_agent(int sig)
{
	agent_stop(agent, sig);
	agent = 0;
	sleep_ms(100);
}

/* Whether the notify helper was run for @event (it runs in a worker after
 * the transition is written, so give it time). */
static bool notified(const char *event, const char *id)
{
	char want[128];

	snprintf(want, sizeof(want), "%s %s\n", event, id);
	for (int waited = 0; waited <= AGENT_WAIT_MS; waited += 50) {
		char *log = read_text(notify_log);
		bool found = log && strstr(log, want);

		free(log);
		if (found)
			return true;
		sleep_ms(50);
	}
	return false;
}

/* Wait until the agent's log has @text. */
static bool wait_log(const char *text, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		char *log = read_text(daemon_log);
		bool found = log && strstr(log, text);

		free(log);
		if (found)
			return true;
		sleep_ms(50);
	}
	return false;
}

static char *plan_op(const char *apqns, const char *opt, const char *pattern, const char *only)
{
	struct run_result r;
	char *id;

	if (only)
		mk(&r, "plan", "-a", apqns, opt, pattern, "--profiles", only, NULL);
	else
		mk(&r, "plan", "-a", apqns, opt, pattern, NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan failed: %s", r.err);
	run_result_free(&r);
	return id;
}

static void full_cycle(const char *what, const struct apqn *set, size_t n, enum mk_type t,
		       const char *opt, const char *apqns, const char *store)
{
	struct apsim_key k;
	char hex[MKVP_STR_MAX], out[256], *id;

	apsim_random_key(t, &k);
	hex_of(t, &k, hex);
	id = plan_op(apqns, opt, hex, NULL);
	load_all(set, n - 1, t, &k);
	sleep_ms(2500);
	is_string(op_field(id, "state"), "planned", "%s: with one APQN still to load, the agent waits", what);
	load_all(&set[n - 1], 1, t, &k);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL), "%s: the load of the last APQN is found by polling; every consumer re-enciphers", what);
	ok(notified("loaded", id) && notified("reenciphered", id), "%s: notified loaded and reenciphered", what);
	activate_all(set, n - 1, t);
	sleep_ms(2500);
	is_string(op_field(id, "state"), "reenciphered", "%s: activated on all but one, the agent waits", what);
	activate_all(&set[n - 1], 1, t);
	ok(wait_state(id, "finalized", AGENT_WAIT_MS, NULL), "%s: activated on the last: the agent finalizes", what);
	ok(notified("finalized", id), "%s: notified finalized", what);
	is_int(verify_store(store, set[0], out, sizeof(out)), 0, "%s: %s", what, out);
	free(id);
}

static void online_by_uevent(void)
{
	struct apsim_key k;
	char hex[MKVP_STR_MAX], out[256], *id;

	start_agent(conf_slow);
	apsim_random_key(MK_EP11, &k);
	hex_of(MK_EP11, &k, hex);
	apsim_set_online(sim, EP11[1], false);
	id = plan_op("0a.0033,0c.0033", "-e", hex, NULL);
	load_all(EP11, 2, MK_EP11, &k);
	sleep_ms(1000);
	is_string(op_field(id, "state"), "planned", "uevent: loaded but one APQN offline, the agent waits");
	apsim_set_online(sim, EP11[1], true);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL),
	   "uevent: the last APQN coming online (ONLINE=1) starts re-enciphering at once, poll-interval 3600");
	{
		char seen[64];

		/* the agent looks once more when a step ends; after that, nothing */
		snprintf(seen, sizeof(seen), "operation %s (reenciphered): wait", id);
		ok(wait_log(seen, AGENT_WAIT_MS) && wait_agent_quiet(agent, AGENT_WAIT_MS),
		   "uevent: the agent looks once more when the step ends, then waits");
	}
	activate_all(EP11, 2, MK_EP11);
	sleep_ms(1000);
	is_string(op_field(id, "state"), "reenciphered", "uevent: no poll, no event: the activation is not seen yet");
	apsim_bindings_complete(sim);
	ok(wait_state(id, "finalized", AGENT_WAIT_MS, NULL), "uevent: BINDINGS=complete re-reads the waiting APQNs: finalized");
	is_int(verify_store(ep11_store, EP11[0], out, sizeof(out)), 0, "uevent: %s", out);
	stop_agent(SIGTERM);
	free(id);
}

/* Whether the agent reads @a's mkvps within @ms. */
static bool read_within(struct apqn a, int before, int ms)
{
	for (int waited = 0; waited < ms; waited += 50, sleep_ms(50))
		if (apsim_mkvps_reads(sim, a) > before)
			return true;
	return false;
}

/*
 * APMASK=/AQMASK= (DESIGN §1): the root device says which cards and
 * domains the host keeps; the agent reads again the operations whose
 * queues changed hands, at once (poll-interval 3600).
 */
static void mask_by_uevent(void)
{
	struct apsim_key k;
	char hex[MKVP_STR_MAX], out[256], *id;
	int reads;

	start_agent(conf_slow);
	apsim_random_key(MK_EP11, &k);
	hex_of(MK_EP11, &k, hex);
	id = plan_op("0a.0033,0c.0033", "-e", hex, NULL);
	wait_agent_quiet(agent, AGENT_WAIT_MS); /* it has read the new operation */
	reads = apsim_mkvps_reads(sim, EP11[0]);
	apsim_set_mask(sim, APSIM_APMASK, 0x20, false);
	ok(read_within(EP11[0], reads, 3000),
	   "mask: the first APMASK= the agent sees (card 20 leaves the host) re-reads the waiting operation");
	/* done with that uevent, its burst settled: what follows is the next one's */
	wait_agent_quiet(agent, AGENT_WAIT_MS);
	reads = apsim_mkvps_reads(sim, EP11[0]);
	apsim_set_mask(sim, APSIM_APMASK, 0x21, false);
	ok(!read_within(EP11[0], reads, 1000), "mask: then card 21 leaves: not the operation's, nothing read");
	apsim_set_mask(sim, APSIM_AQMASK, 0x33, false);
	load_all(EP11, 2, MK_EP11, &k);
	apsim_bindings_complete(sim);
	sleep_ms(1000);
	is_string(op_field(id, "state"), "planned",
		  "mask: AQMASK takes domain 0033 to vfio_ap; loaded and read again, the agent waits");
	apsim_set_mask(sim, APSIM_AQMASK, 0x33, true);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL),
	   "mask: AQMASK gives domain 0033 back: re-enciphering starts at once");
	activate_all(EP11, 2, MK_EP11);
	apsim_bindings_complete(sim);
	ok(wait_state(id, "finalized", AGENT_WAIT_MS, NULL), "mask: and it finalizes");
	is_int(verify_store(ep11_store, EP11[0], out, sizeof(out)), 0, "mask: %s", out);
	apsim_set_mask(sim, APSIM_APMASK, 0x20, true);
	apsim_set_mask(sim, APSIM_APMASK, 0x21, true);
	stop_agent(SIGTERM);
	free(id);
}

static void early_and_wrong(void)
{
	struct apsim_key k, wrong;
	char hex[MKVP_STR_MAX], out[256], *id;

	start_agent(conf_fast);
	apsim_random_key(MK_CCA_AES, &k);
	apsim_random_key(MK_CCA_AES, &wrong);
	hex_of(MK_CCA_AES, &k, hex);
	id = plan_op("08.0033,09.0033,0b.0033", "-A", hex, NULL);
	load_all(CCA, 2, MK_CCA_AES, &k);
	apsim_load(sim, CCA[2], MK_CCA_AES, &wrong);
	sleep_ms(2500);
	is_string(op_field(id, "state"), "planned", "wrong key: the operation stays planned");
	ok(notified("unexpected-new-mkvp", id), "wrong key: notified unexpected-new-mkvp");
	apsim_load(sim, CCA[2], MK_CCA_AES, &k);
	activate_all(CCA, 1, MK_CCA_AES);
	ok(wait_state(id, "error", AGENT_WAIT_MS, NULL), "early activation: the operation goes to error");
	for (int waited = 0; waited < 8000 && strncmp(op_field(id, "reason"), "activated-early, recovered", 26) != 0; waited += 50)
		sleep_ms(50);
	is_string(op_field(id, "reason"), "activated-early, recovered: simkeys-cca, not recovered: none",
		  "early activation: the recover phase ran for every consumer");
	ok(notified("activated-early", id), "early activation: notified activated-early");
	is_int(verify_store(cca_store, CCA[0], out, sizeof(out)), 0,
	       "early activation: no key lost, recovered from OLD: %s", out);
	activate_all(&CCA[1], 2, MK_CCA_AES);
	{
		struct run_result r;

		mk(&r, "cancel", "-i", id, NULL);
		run_result_free(&r);
	}
	stop_agent(SIGTERM);
	free(id);
}

static void missing_midway(void)
{
	struct apsim_key k;
	char hex[MKVP_STR_MAX], out[256], *id;

	start_agent(conf_fast);
	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	id = plan_op("08.0033,09.0033,0b.0033", "-p", hex, "simkeys-cca");
	apsim_remove_queue(sim, CCA[2]);
	load_all(CCA, 2, MK_CCA_APKA, &k);
	ok(notified("apqn-missing", id), "an APQN goes missing: notified apqn-missing");
	sleep_ms(1500);
	is_string(op_field(id, "state"), "planned", "  and the operation waits for it");
	apsim_add_queue(sim, CCA[2]);
	apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL), "  it is back with the key loaded: re-enciphered");
	activate_all(CCA, 3, MK_CCA_APKA);
	ok(wait_state(id, "finalized", AGENT_WAIT_MS, NULL), "  activated everywhere: finalized");
	is_int(verify_store(cca_store, CCA[0], out, sizeof(out)), 0, "  no key lost: %s", out);
	stop_agent(SIGTERM);
	free(id);
}

/* Profile @name for @types, whose helper is the shell script @body. */
static void script_profile(const char *name, const char *types, const char *body, const char *extra)
{
	char script[4096];

	snprintf(script, sizeof(script), "%s/%s", tmp, name);
	write_text(script, 0755, "#!/bin/sh\n%s", body);
	write_profile(name, types, false, script, extra);
}

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

static void killed_mid_phase(void)
{
	char script[4096], exec[4200], hex[MKVP_STR_MAX], out[256], *id;
	struct apsim_key k;

	snprintf(script, sizeof(script), "%s/slowkeys", tmp);
	write_text(script, 0755, "#!/bin/sh\nsleep 1\nexec %s \"$@\"\n", simkeys);
	snprintf(exec, sizeof(exec), "%s --store %s --hsm %s", script, ep11_store, apsim_hsm_dir(sim));
	write_profile("slowkeys", "ep11", false, exec, NULL);
	start_agent(conf_fast);
	apsim_random_key(MK_EP11, &k);
	hex_of(MK_EP11, &k, hex);
	id = plan_op("0a.0033,0c.0033", "-e", hex, "slowkeys");
	load_all(EP11, 2, MK_EP11, &k);
	ok(wait_state(id, "reenciphering", AGENT_WAIT_MS, NULL), "kill -9: the reencipher phase is running");
	stop_agent(SIGKILL);
	start_agent(conf_fast);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL), "kill -9 during reencipher, restart: re-enciphered");
	activate_all(EP11, 2, MK_EP11);
	ok(wait_state(id, "finalizing", AGENT_WAIT_MS, NULL), "kill -9: the finalize phase is running");
	stop_agent(SIGKILL);
	start_agent(conf_fast);
	ok(wait_state(id, "finalized", AGENT_WAIT_MS, NULL), "kill -9 during finalize, restart: finalized");
	is_int(verify_store(ep11_store, EP11[1], out, sizeof(out)), 0, "kill -9: %s", out);
	stop_agent(SIGTERM);
	free(id);
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

static bool timer_disarmed(pid_t pid)
{
	return agent_timer_ms(pid) == 0;
}

/* Wait until the agent's timer is armed (@armed) or disarmed. */
static bool wait_timer(pid_t pid, bool armed)
{
	for (int waited = 0; waited <= AGENT_WAIT_MS; waited += 20, sleep_ms(20))
		if (armed ? agent_timer_ms(pid) > 0 : timer_disarmed(pid))
			return true;
	return false;
}

/* The mkvps reads of @a and of every other queue, taken together. */
static void reads_split(struct apqn a, int *mine, int *others)
{
	int before, total;

	do {
		before = apsim_mkvps_reads(sim, a);
		total = apsim_mkvps_reads_total(sim);
		*mine = apsim_mkvps_reads(sim, a);
	} while (*mine != before);
	*others = total - *mine;
}

static void idle(void)
{
	struct apsim_key k;
	char hex[MKVP_STR_MAX], *id;
	int before, mine, others, now_mine, now_others;
	long due = -1;

	start_agent(conf_fast);
	ok(timer_disarmed(agent), "idle: with no waiting operation the timerfd is disarmed");
	before = apsim_mkvps_reads_total(sim);
	sleep_ms(2500);
	is_int(apsim_mkvps_reads_total(sim) - before, 0, "idle: and no mkvps is read");

	apsim_random_key(MK_CCA_ASYM, &k);
	hex_of(MK_CCA_ASYM, &k, hex);
	id = plan_op("09.0033", "-S", hex, "simkeys-cca");
	ok(wait_timer(agent, true), "one waiting operation: the timer is armed");
	reads_split(CCA[1], &mine, &others);
	/* two polls after this one: the timer, re-armed after each, is the poll's */
	for (int waited = 0; waited <= AGENT_WAIT_MS; waited += 10, sleep_ms(10)) {
		reads_split(CCA[1], &now_mine, &now_others);
		if (now_mine - mine >= 2)
			break;
	}
	/* asleep with its timer ticking (not just run out, which wakes it) */
	for (int tries = 0; tries < 100 && due <= 0; tries++) {
		wait_agent_idle(agent, AGENT_WAIT_MS);
		due = agent_timer_ms(agent);
		if (!agent_idle(agent))
			due = -1;
	}
	ok(now_mine - mine >= 2 && due > 0 && due <= 1100,
	   "it polls its APQN (%d reads), its timer due again within poll-interval 1 s and its 10%% jitter (%ld ms)",
	   now_mine - mine, due);
	reads_split(CCA[1], &now_mine, &now_others);
	is_int(now_others - others, 0, "and reads no other queue");
	{
		struct run_result r;

		mk(&r, "cancel", "-i", id, NULL);
		run_result_free(&r);
	}
	ok(wait_timer(agent, false), "canceled: the timer is disarmed again");
	kill(agent, SIGHUP);
	ok(wait_log("configuration and profiles reloaded", AGENT_WAIT_MS),
	   "SIGHUP reloads the configuration and profiles");
	stop_agent(SIGTERM);
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
	int tried;

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
	activate_all(&CCA[2], 1, MK_CCA_ASYM);
	ok(wait_state(id, "error", AGENT_WAIT_MS, NULL), "  an early activation during the back-off is seen");
	is_int(count_runs(runs), tried, "  at a poll, not when the back-off ends: the step was not tried again");
	ok(!strncmp(op_field(id, "reason"), "activated-early", 15), "  reason: %s", op_field(id, "reason"));
	stop_agent(SIGTERM);
	free(id);
}

/* A notify helper that takes long holds up no step: the loop hands it to
 * a notify worker and goes on. */
static void slow_notify(void)
{
	char conf[4096], helper[4096], gate[4096], hex[MKVP_STR_MAX], *a, *b;
	struct apsim_key ka, kb;
	struct run_result r;

	/* it takes until the test is done: no worker's notification ends meanwhile */
	snprintf(gate, sizeof(gate), "%s/notify-done", tmp);
	unlink(gate);
	snprintf(helper, sizeof(helper), "%s/notify-slow", tmp);
	write_text(helper, 0700, "#!/bin/sh\necho \"$1 $2\" >> %s\nwhile [ ! -e %s ]; do sleep 0.1; done\n",
		   notify_log, gate);
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
	char helper[4096];

	(void)argc;
	fixture_setup(argv);
	snprintf(notify_log, sizeof(notify_log), "%s/notify.log", tmp);
	snprintf(daemon_log, sizeof(daemon_log), "%s/daemon.log", tmp);
	snprintf(helper, sizeof(helper), "%s/notify", tmp);
	write_text(helper, 0700, "#!/bin/sh\necho \"$1 $2\" >> %s\n", notify_log);
	snprintf(conf_fast, sizeof(conf_fast), "%s/fast.conf", tmp);
	write_text(conf_fast, 0644, "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n[notify]\nhelper = %s\n", tmp, helper);
	snprintf(conf_slow, sizeof(conf_slow), "%s/slow.conf", tmp);
	write_text(conf_slow, 0644, "[agent]\npoll-interval = 3600\n[pin]\nhelper = %s/pin-helper\n[notify]\nhelper = %s\n", tmp, helper);

	start_agent(conf_fast);
	full_cycle("CCA", CCA, 3, MK_CCA_AES, "-A", "08.0033,09.0033,0b.0033", cca_store);
	full_cycle("EP11", EP11, 2, MK_EP11, "-e", "0a.0033,0c.0033", ep11_store);
	stop_agent(SIGTERM);
	online_by_uevent();
	mask_by_uevent();
	early_and_wrong();
	missing_midway();
	failing_helpers();
	killed_mid_phase();
	person_cancels_beside();
	idle();
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
