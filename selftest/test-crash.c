// SPDX-License-Identifier: MIT
/*
 * Crash at every step: a whole change, CCA and EP11, with the agent built
 * with kill points (agent/mkagent-faults). Run N kills the process (agent
 * or worker) that first reaches its N-th point: a state write before or
 * after its rename, an audit line, a helper's start or reaping, a worker's
 * start or reaping. Then a clean agent is started, and the operation must
 * still reach finalized with every key verified. N goes up until a whole
 * cycle passes no point N.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char fault_log[4200], conf[4200], agent_log[4200];

static pid_t start(const char *binary, int kill_at)
{
	char n[16];
	pid_t pid;

	snprintf(n, sizeof(n), "%d", kill_at);
	if (kill_at) {
		setenv("MKAGENT_FAULT_KILL_AT", n, 1);
		setenv("MKAGENT_FAULT_LOG", fault_log, 1);
	}
	pid = agent_start(binary, agent_log, true, 200);
	unsetenv("MKAGENT_FAULT_KILL_AT");
	unsetenv("MKAGENT_FAULT_LOG");
	return pid;
}

static void stop(pid_t pid)
{
	agent_stop(pid, SIGTERM);
}

static bool died(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == pid;
}

/* Wait for @want; false when the agent died first (the kill struck it). */
static bool wait_or_death(const char *id, const char *want, pid_t pid, bool *dead)
{
	for (int i = 0; i < AGENT_WAIT_MS / 50; i++) {
		if (streq(op_field(id, "state"), want))
			return true;
		if (!*dead && died(pid)) {
			*dead = true;
			return false;
		}
		sleep_ms(50);
	}
	return false;
}

/* One cycle with a kill at point @n; whether a kill happened. */
static bool cycle(int n, const struct apqn *set, size_t count, enum mk_type t, const char *opt,
		  const char *apqns, const char *store, int *survived)
{
	struct apsim_key k;
	char hex[MKVP_STR_MAX], out[256], *id, *where;
	struct run_result r;
	bool dead = false, killed;
	pid_t pid;

	unlink(fault_log);
	apsim_random_key(t, &k);
	hex_of(t, &k, hex);
	mk(&r, "plan", "-a", apqns, opt, hex, "--profiles", t == MK_EP11 ? "simkeys-ep11" : "simkeys-cca",
	   NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	run_result_free(&r);
	if (!id)
		bail_out("plan");
	pid = start(build_path("agent/mkagent-faults"), n);
	load_all(set, count, t, &k);
	wait_or_death(id, "reenciphered", pid, &dead);
	if (dead) {
		/* the agent died: a clean one takes over before the officer goes on */
		pid = start(build_path("agent/mkagent"), 0);
		dead = false;
		wait_or_death(id, "reenciphered", pid, &dead);
	}
	activate_all(set, count, t);
	wait_or_death(id, "finalized", pid, &dead);
	if (!dead)
		stop(pid);
	killed = access(fault_log, F_OK) == 0;
	where = read_text(fault_log);
	/* a clean agent finishes what a killed one left */
	dead = false;
	pid = start(build_path("agent/mkagent"), 0);
	wait_or_death(id, "finalized", pid, &dead);
	stop(pid);
	if (!streq(op_field(id, "state"), "finalized")) {
		mk(&r, "cancel", "-i", id, NULL);
		run_result_free(&r);
	}
	if (killed) {
		bool fine = streq(op_field(id, "state"), "finalized") &&
			    verify_store(store, set[0], out, sizeof(out)) == 0;

		if (where)
			where[strcspn(where, "\n")] = '\0';
		ok(fine, "%s, kill at point %d (%s): finalized, %s", mk_type_name(t), n,
		   where ? strchr(where, ' ') + 1 : "?", out);
		*survived += fine;
	}
	free(where);
	free(id);
	return killed;
}

int main(int argc, char **argv)
{
	int tried = 0, survived = 0;

	(void)argc;
	fixture_setup(argv);
	snprintf(fault_log, sizeof(fault_log), "%s/fault.log", tmp);
	snprintf(agent_log, sizeof(agent_log), "%s/agent.log", tmp);
	snprintf(conf, sizeof(conf), "%s/crash.conf", tmp);
	write_text(conf, 0644, "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n", tmp);
	setenv("MKAGENT_CONFIG", conf, 1);
	for (int kind = 0; kind < 2; kind++) {
		for (int n = 1; n < 64; n++) {
			bool killed = kind ? cycle(n, EP11, 2, MK_EP11, "-e", "0a.0033,0c.0033", ep11_store, &survived) :
					     cycle(n, CCA, 3, MK_CCA_AES, "-A", "08.0033,09.0033,0b.0033", cca_store,
						   &survived);

			if (!killed)
				break;
			tried++;
		}
	}
	diag("kill points survived / tried: %d / %d", survived, tried);
	ok(tried >= 10, "at least ten kill points were tried (%d)", tried);
	apsim_free(sim);
	return done_testing();
}
