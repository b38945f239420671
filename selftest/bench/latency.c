// SPDX-License-Identifier: MIT
/*
 * latency.c - bench latency (uevent to helper exec, mkagent against the
 * shell poller) and bench reads (mkvps reads per event and per tick).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "../tap.h"
#include "io/clock.h"
#include "core/macro.h"

static const struct apqn PAIR[2] = { { 0, 0 }, { 0, 1 } };

/* Both APQNs hold a new key in NEW, the second is offline: bringing it
 * online is the uevent that makes the change ready. */
static void ready_but_offline(struct apsim_key *k)
{
	apsim_random_key(MK_CCA_AES, k);
	apsim_set_online(sim, PAIR[1], false);
	load_all(PAIR, 2, MK_CCA_AES, k);
	truncate(stamps, 0);
}

static long long trial_agent(void)
{
	int before = apsim_mkvps_reads(sim, PAIR[0]);
	long long t1;
	struct apsim_key k;
	char *id;

	ready_but_offline(&k);
	id = plan_op(PAIR, 2, &k);
	/* the agent has seen the plan when it read the online APQN; then let
	 * the burst of the offline event settle, so that the online event
	 * starts its own, as it does when an APQN comes back after a while */
	for (int i = 0; i < 5000 && apsim_mkvps_reads(sim, PAIR[0]) == before; i++)
		usleep(200);
	sleep_ms(100);
	apsim_set_online(sim, PAIR[1], true);
	t1 = wait_stamp(5000);
	if (t1 < 0 || !wait_state(id, "reenciphered", 5000, NULL))
		bail_out("the agent did not run the helper");
	cancel(id);
	free(id);
	for (size_t i = 0; i < 2; i++)
		apsim_clear_new(sim, PAIR[i], MK_CCA_AES);
	return t1 - apsim_last_uevent_us(sim);
}

static long long trial_poller(void)
{
	struct apsim_key k;
	long long t1;

	ready_but_offline(&k);
	write_plan_file(PAIR, 2, &k);
	sleep_ms(rand() % 1000); /* anywhere in the poller's period */
	apsim_set_online(sim, PAIR[1], true);
	t1 = wait_stamp(3000);
	if (t1 < 0) {
		char log[4300];

		snprintf(log, sizeof(log), "%s/poller.log", tmp);
		bail_out("the poller did not run the helper: %s", read_text(log) ?: "");
	}
	for (size_t i = 0; i < 2; i++)
		apsim_clear_new(sim, PAIR[i], MK_CCA_AES);
	return t1 - apsim_last_uevent_us(sim);
}

void latency(char **argv)
{
	int trials = env_int("BENCH_TRIALS", TRIALS), ptrials = env_int("BENCH_POLLER_TRIALS", POLLER_TRIALS);
	long long *a = calloc((size_t)trials, sizeof(*a)), *p = calloc((size_t)ptrials, sizeof(*p));
	long long am, pm;
	pid_t pid;

	stage(argv, 16, "[agent]\n");
	srand(20261122);
	pid = agent_start(NULL, NULL, false, 500);
	for (int i = 0; i < trials; i++)
		a[i] = trial_agent();
	agent_stop(pid, SIGTERM);
	pid = poller_start(1, NULL);
	for (int i = 0; i < ptrials; i++)
		p[i] = trial_poller();
	poller_stop(pid);
	am = median_of(a, trials);
	pm = median_of(p, ptrials);
	printf("## Reaction latency\n\n"
	       "From the uevent that makes an operation ready (its last APQN comes online with the\n"
	       "new key in NEW) to the reencipher helper's first instruction (`bench latency`).\n\n"
	       "| | trials | median | 95th percentile | max |\n|---|---|---|---|---|\n");
	printf("| mkagent daemon | %d | %.2f ms | %.2f ms | %.2f ms |\n", trials, am / 1000.0,
	       pctl(a, trials, 95) / 1000.0, a[trials - 1] / 1000.0);
	printf("| shell poller, 1 s period | %d | %.0f ms | %.0f ms | %.0f ms |\n\n", ptrials,
	       pm / 1000.0, pctl(p, ptrials, 95) / 1000.0, p[ptrials - 1] / 1000.0);
	printf("mkagent reacts %.0f times faster (ratio of the medians).\n\n", (double)pm / (double)am);
	free(a);
	free(p);
	unstage();
}

/* ---- reads ---- */

static int reads_of(const struct apqn *a, size_t n)
{
	int sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += apsim_mkvps_reads(sim, a[i]);
	return sum;
}

void reads(char **argv)
{
	struct apqn op[8], other[8];
	struct apsim_key k;
	int r0, ticks, agent_ticks, total, mine;
	double per_event, other_events, none, per_tick, poller_tick, script_event;
	long long agent_cpu;
	char tickfile[4300], dev[128], name[APQN_STR_MAX];
	struct usage u, before, after;
	long long script_cpu = 0;
	char *id, *text;
	pid_t pid;

	for (int i = 0; i < 8; i++) {
		op[i] = nth_apqn(i * 16 * 8); /* one domain on each of 8 cards */
		other[i] = nth_apqn(i * 16 * 8 + 1);
	}
	stage(argv, 1024, "[agent]\n");
	pid = agent_start(NULL, NULL, false, 800);

	/* nothing waits: events read nothing */
	r0 = apsim_mkvps_reads_total(sim);
	for (int i = 0; i < 100; i++) {
		apsim_change_uevent(sim, nth_apqn(rand() % 1024));
		sleep_ms(20);
	}
	sleep_ms(200);
	none = apsim_mkvps_reads_total(sim) - r0;

	/* one operation on 8 APQNs waits for its key */
	apsim_random_key(MK_CCA_AES, &k);
	id = plan_op(op, 8, &k);
	sleep_ms(300);
	r0 = apsim_mkvps_reads_total(sim);
	before = proc_usage(pid);
	for (int i = 0; i < 100; i++) {
		apsim_change_uevent(sim, op[i % 8]);
		sleep_ms(80); /* each event its own burst */
	}
	after = proc_usage(pid);
	per_event = (apsim_mkvps_reads_total(sim) - r0) / 100.0;
	agent_cpu = (after.cpu_us - before.cpu_us) / 100;
	r0 = apsim_mkvps_reads_total(sim);
	for (int i = 0; i < 100; i++) {
		apsim_change_uevent(sim, other[i % 8]);
		sleep_ms(20);
	}
	sleep_ms(200);
	other_events = (apsim_mkvps_reads_total(sim) - r0) / 100.0;
	agent_stop(pid, SIGTERM);

	/* the same at a poll interval of 1 s */
	set_conf("[agent]\npoll-interval = 1\n");
	pid = agent_start(NULL, NULL, false, 500);
	r0 = apsim_mkvps_reads_total(sim);
	mine = reads_of(op, 8);
	sleep_ms(env_int("BENCH_TICK_SECONDS", 10) * 1000);
	total = apsim_mkvps_reads_total(sim) - r0;
	agent_ticks = (reads_of(op, 8) - mine) / 8;
	per_tick = agent_ticks ? (double)total / agent_ticks : 0;
	agent_stop(pid, SIGTERM);
	cancel(id);
	free(id);

	/* the shell poller */
	write_plan_file(op, 8, &k);
	snprintf(tickfile, sizeof(tickfile), "%s/ticks", tmp);
	r0 = apsim_mkvps_reads_total(sim);
	pid = poller_start(1, tickfile);
	for (ticks = 0; ticks < 3; sleep_ms(20)) { /* stopped in its sleep after 3 passes */
		text = read_text(tickfile);
		ticks = text ? count_lines(text) : 0;
		free(text);
	}
	poller_stop(pid);
	poller_tick = ticks ? (double)(apsim_mkvps_reads_total(sim) - r0) / ticks : 0;

	/* the udev RUN+= script, once per event of a planned APQN */
	r0 = apsim_mkvps_reads_total(sim);
	for (int i = 0; i < 100; i++) {
		char stamp[4300];
		char *args[] = { "/bin/sh", (char *)build_path("selftest/bench/udev-run.sh"), plan_file,
				 stamp, stamps, NULL };

		snprintf(stamp, sizeof(stamp), "%s/stamp", tmp);
		snprintf(dev, sizeof(dev), "/devices/ap/card%02x/%s", op[i % 8].card,
			 apqn_sysname(op[i % 8], name));
		setenv("DEVPATH", dev, 1);
		run_measured(args, NULL, &u);
		script_cpu += u.cpu_us;
	}
	unsetenv("DEVPATH");
	script_event = (apsim_mkvps_reads_total(sim) - r0) / 100.0;

	printf("## HSM requests\n\n"
	       "`mkvps` reads on 1 024 APQNs (64 CEX8C cards, 16 domains each) while one operation\n"
	       "covers 8 of them (`bench reads`).\n\n"
	       "| | per event of a waiting APQN | per event of another APQN | per poll tick | with nothing waiting |\n"
	       "|---|---|---|---|---|\n");
	printf("| mkagent daemon | %.2f | %.2f | %.2f (%d ticks at 1 s) | %.0f (100 events) |\n",
	       per_event, other_events, per_tick, agent_ticks, none);
	printf("| shell poller, 1 s period | - | - | %.0f (%d ticks) | %.0f per tick |\n", poller_tick,
	       ticks, poller_tick);
	printf("| udev RUN+= script | %.2f | 0 | - (no uevent comes when a key is loaded) | 0 |\n\n",
	       script_event);
	printf("CPU per event: mkagent %lld µs, the RUN+= script %lld µs (a shell started per event).\n\n",
	       agent_cpu, script_cpu / 100);
	unstage();
}
