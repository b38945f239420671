// SPDX-License-Identifier: MIT
/*
 * cost.c - what mkagent costs: bench idle (wake-ups and CPU at rest),
 * scale and ops (status and a daemon start by APQNs and by operations),
 * phase (the agent's share of a full cycle).
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

void idle(char **argv)
{
	int seconds = env_int("BENCH_IDLE_SECONDS", 60);
	struct usage a0, a1, b0, b1, p;
	struct apsim_key k;
	struct apqn op[8];
	pid_t none, one, poller;
	char *id, *state2;

	for (int i = 0; i < 8; i++)
		op[i] = nth_apqn(i * 16 * 8);
	stage(argv, 1024, "[agent]\n");
	none = agent_start(NULL, NULL, false, 0);
	if (asprintf(&state2, "%s/state2", tmp) < 0)
		bail_out("out of memory");
	setenv("MKAGENT_STATE_DIR", state2, 1);
	apsim_random_key(MK_CCA_AES, &k);
	id = plan_op(op, 8, &k);
	one = agent_start(NULL, NULL, false, 2000);
	write_plan_file(op, 8, &k);
	a0 = proc_usage(none);
	b0 = proc_usage(one);
	poller = poller_start(1, NULL);
	sleep_ms(seconds * 1000);
	a1 = proc_usage(none);
	b1 = proc_usage(one);
	p = poller_stop(poller);
	agent_stop(none, SIGTERM);
	agent_stop(one, SIGTERM);

	printf("## Idle cost\n\n"
	       "Over %d s on 1 024 APQNs, the three side by side (`bench idle`). Wake-ups are\n"
	       "context switches (/proc/PID/status); CPU is /proc/PID/schedstat, or the\n"
	       "poller's rusage with its children.\n\n"
	       "| | wake-ups | CPU time | CPU share |\n|---|---|---|---|\n", seconds);
	printf("| mkagent daemon, nothing waiting | %ld | %.1f ms | %.4f %% |\n", a1.switches - a0.switches,
	       (a1.cpu_us - a0.cpu_us) / 1000.0, (a1.cpu_us - a0.cpu_us) / (seconds * 1e4));
	printf("| mkagent daemon, one operation waiting (poll-interval 30 s) | %ld | %.1f ms | %.4f %% |\n",
	       b1.switches - b0.switches, (b1.cpu_us - b0.cpu_us) / 1000.0,
	       (b1.cpu_us - b0.cpu_us) / (seconds * 1e4));
	printf("| shell poller, 1 s period | %ld | %.0f ms | %.2f %% |\n\n", p.switches, p.cpu_us / 1000.0,
	       p.cpu_us / (seconds * 1e4));
	free(id);
	free(state2);
	unstage();
}

/* ---- scale ---- */

struct measured {
	long long ms_x1000; /* median wall time, µs */
	long maxrss_kb;
};

static struct measured measure(char *const argv[], int reps)
{
	long long t[16];
	struct measured m = { 0 };
	struct usage u;

	for (int i = 0; i < reps; i++) {
		if (run_measured(argv, NULL, &u) != 0)
			bail_out("%s %s failed", argv[0], argv[1]);
		t[i] = u.wall_us;
		if (u.maxrss_kb > m.maxrss_kb)
			m.maxrss_kb = u.maxrss_kb;
	}
	m.ms_x1000 = median_of(t, reps);
	return m;
}

static void print_scale_row(const char *what, int n)
{
	char *status[] = { (char *)build_path("agent/mkagent"), "status", "--json", NULL };
	char *once[] = { (char *)build_path("agent/mkagent"), "daemon", "--once", NULL };
	char *list[] = { (char *)build_path("agent/mkagent"), "list", NULL };
	struct measured s = measure(status, 5), d = measure(once, 5), l = measure(list, 5);

	printf("| %s %d | %.1f ms | %.1f MiB | %.1f ms | %.1f MiB | %.1f ms | %.1f MiB |\n", what, n,
	       s.ms_x1000 / 1000.0, s.maxrss_kb / 1024.0, d.ms_x1000 / 1000.0, d.maxrss_kb / 1024.0,
	       l.ms_x1000 / 1000.0, l.maxrss_kb / 1024.0);
	fflush(stdout);
}

const char scale_head[] =
	"| | `status --json` | peak RSS | `daemon --once` | peak RSS | `list` | peak RSS |\n"
	"|---|---|---|---|---|---|---|\n";

void scale(char **argv, int n)
{
	stage(argv, n, "[agent]\n");
	print_scale_row("APQNs:", n);
	unstage();
}

void ops(char **argv)
{
	struct apsim_key k;
	int planned = 0;

	stage(argv, 1024, "[agent]\n");
	for (const int *want = (const int[]){ 1, 100, 1000, 0 }; *want; want++) {
		for (; planned < *want; planned++) {
			struct apqn a = nth_apqn(planned);

			apsim_random_key(MK_CCA_AES, &k);
			free(plan_op(&a, 1, &k));
		}
		print_scale_row("live operations (1 024 APQNs):", *want);
	}
	printf("\n");
	unstage();
}

/* ---- phase ---- */

/* The helper's own time from the agent's "ended (exit 0) after X ms". */
static double helper_ms(const char *log)
{
	char *text = read_text(log), *p;
	double ms = -1;

	if (text && (p = strstr(text, ") after ")))
		ms = atof(p + strlen(") after "));
	free(text);
	return ms;
}

void phase(char **argv)
{
	int keys = env_int("BENCH_KEYS", 10000);
	char exec[8192], store[4300], log[4300], hex[MKVP_STR_MAX];
	struct apsim_key k;
	double total = 0, helpers = 0;
	char *id;

	fixture_setup(argv);
	snprintf(store, sizeof(store), "%s/big-store", tmp);
	simkeys_init(store, EP11[0], "ep11", keys, false);
	snprintf(exec, sizeof(exec), "%s --store %s --hsm %s", simkeys, store, apsim_hsm_dir(sim));
	write_profile("simkeys-big", "ep11", false, exec, NULL);
	id = plan_ep11("simkeys-big", &k, hex);
	load_all(EP11, 2, MK_EP11, &k);
	snprintf(log, sizeof(log), "%s/phase.log", tmp);
	printf("## Throughput of a phase\n\n"
	       "A full cycle of %d simkeys EP11 keys on 2 APQNs, each step by hand (`bench phase`).\n"
	       "The helper's time is the agent's own measure, from fork to reaping.\n\n"
	       "| step | total | helper | the agent's own | share |\n|---|---|---|---|---|\n", keys);
	for (int step = 0; step < 2; step++) {
		char *args[] = { (char *)build_path("agent/mkagent"), "-v", "info",
				 step ? "finalize" : "reencipher", "-i", id, NULL };
		struct usage u;
		double h;

		if (step)
			activate_all(EP11, 2, MK_EP11);
		if (run_measured(args, log, &u) != 0 || (h = helper_ms(log)) < 0)
			bail_out("%s failed", args[3]);
		total += u.wall_us / 1000.0;
		helpers += h;
		printf("| %s | %.1f ms | %.1f ms | %.1f ms | %.2f %% |\n", args[3], u.wall_us / 1000.0, h,
		       u.wall_us / 1000.0 - h, 100.0 * (u.wall_us / 1000.0 - h) / (u.wall_us / 1000.0));
	}
	printf("| **cycle** | %.1f ms | %.1f ms | %.1f ms | %.2f %% |\n\n", total, helpers, total - helpers,
	       100.0 * (total - helpers) / total);
	free(id);
	apsim_free(sim);
	remove_tree(tmp);
}
