// SPDX-License-Identifier: MIT
/*
 * The agent as a real child process under umockdev: after `plan` nobody
 * types; the simulated officer loads and activates, and mkagent daemon
 * re-enciphers and finalizes at the right moments, never at a wrong one:
 * the full cycles, the bus events it acts on (ONLINE=, BINDINGS=, APMASK=,
 * AQMASK=), a wrong or early key, an APQN missing midway, kill -9 in a
 * phase, the idle agent's timer and SIGHUP. Its helpers' failures and
 * back-off, a person's cancel beside it, slow notify and query helpers, a
 * second agent and daemon --once are test-daemon-steps.c's.
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
	for (time_t end = time(NULL) + AGENT_WAIT_MS / 1000; time(NULL) < end && due <= 0;) {
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

int main(int argc, char **argv)
{
	(void)argc;
	agentstage_setup(argv);

	start_agent(conf_fast);
	full_cycle("CCA", CCA, 3, MK_CCA_AES, "-A", "08.0033,09.0033,0b.0033", cca_store);
	full_cycle("EP11", EP11, 2, MK_EP11, "-e", "0a.0033,0c.0033", ep11_store);
	stop_agent(SIGTERM);
	online_by_uevent();
	mask_by_uevent();
	early_and_wrong();
	missing_midway();
	killed_mid_phase();
	idle();
	if (tap_exit_status())
		diag("daemon log: %s", daemon_log);
	apsim_free(sim);
	return done_testing();
}
