// SPDX-License-Identifier: MIT
/*
 * bench - mkagent measured on the apsim testbed, side by side with what an
 * administrator would do otherwise: a shell poller (poller.sh) or a udev
 * RUN+= script (udev-run.sh). `bench SECTION` prints its figures as
 * Markdown; `make bench` runs every section. See selftest/bench/README.md.
 *
 *   latency   uevent to helper exec, 200 trials; the poller at 1 s
 *   reads     mkvps reads per event and per tick, 1 024 APQNs, one op of 8
 *   idle      wake-ups and CPU over 60 s, 1 024 APQNs
 *   scale N   status --json and a daemon start with N APQNs
 *   ops       the same with 1, 100 and 1 000 live operations
 *   phase     a full cycle of 10 000 simkeys keys: the agent's share
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

#include "../fixture.h"
#include "../tap.h"
#include "io/clock.h"
#include "core/macro.h"

#define TRIALS 200
#define POLLER_TRIALS 100

static char stamps[4200], plan_file[4200];

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : dflt;
}

/* ---- measuring processes ---- */

struct usage {
	long long wall_us, cpu_us;
	long maxrss_kb, switches;
};

/* Run @argv to its end, its output to @out (NULL: /dev/null). */
static int run_measured(char *const argv[], const char *out, struct usage *u)
{
	long long t0 = now_us();
	struct rusage ru;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		bail_out("cannot run %s", argv[0]);
	u->wall_us = now_us() - t0;
	u->cpu_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec +
		    ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
	u->maxrss_kb = ru.ru_maxrss;
	u->switches = ru.ru_nvcsw + ru.ru_nivcsw;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* CPU time (µs) and context switches (each one a wake-up after a sleep, or
 * a preemption) of a running process, from /proc. */
static struct usage proc_usage(pid_t pid)
{
	struct usage u = { 0 };
	char path[64], *text, *p;
	long long ns;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	text = read_text(path);
	if (text && sscanf(text, "%lld", &ns) == 1)
		u.cpu_us = ns / 1000;
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = read_text(path);
	for (const char *key = "voluntary_ctxt_switches:"; text && key;
	     key = streq(key, "voluntary_ctxt_switches:") ? "nonvoluntary_ctxt_switches:" : NULL)
		if ((p = strstr(text, key)))
			u.switches += atol(p + strlen(key));
	if (text && (p = strstr(text, "VmHWM:")))
		u.maxrss_kb = atol(p + 6);
	free(text);
	return u;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The @pct-th percentile of @n values (sorts them). */
static long long pctl(long long *v, int n, int pct)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	return v[(n - 1) * pct / 100];
}

static long long median_of(long long *v, int n)
{
	return pctl(v, n, 50);
}

/* ---- the stage ---- */

static struct apqn nth_apqn(int i)
{
	return (struct apqn){ .card = (unsigned int)i / 16, .domain = (unsigned int)i % 16 };
}

/* @napqns CCA queues (16 domains per card), the stamp profile, a
 * configuration with @conf, mkagent pointed at all of it. */
static void stage(char **argv, int napqns, const char *conf)
{
	char path[4300], cmd[8800];

	sim = apsim_new(argv);
	tmp = make_tmpdir("bench");
	if (asprintf(&state, "%s/state", tmp) < 0 || asprintf(&profiles, "%s/profiles", tmp) < 0)
		bail_out("out of memory");
	mkdir(profiles, 0755);
	for (int c = 0; c < (napqns + 15) / 16; c++)
		apsim_add_card(sim, (unsigned int)c, "CEX8C");
	for (int i = 0; i < napqns; i++)
		apsim_add_queue(sim, nth_apqn(i));
	/* helpers are root's and not writable by others */
	snprintf(cmd, sizeof(cmd), "install -m 0755 %s %s/stamp", build_path("selftest/bench/stamp"), tmp);
	if (system(cmd) != 0)
		bail_out("cannot copy stamp");
	snprintf(stamps, sizeof(stamps), "%s/stamps", tmp);
	snprintf(plan_file, sizeof(plan_file), "%s/plan", tmp);
	snprintf(cmd, sizeof(cmd), "%s/stamp %s", tmp, stamps);
	write_profile("stamp", "cca-aes", false, cmd, NULL);
	snprintf(path, sizeof(path), "%s/mkagent.conf", tmp);
	write_text(path, 0644, "%s", conf);
	setenv("MKAGENT_STATE_DIR", state, 1);
	setenv("MKAGENT_PROFILES", profiles, 1);
	setenv("MKAGENT_CONFIG", path, 1);
}

static void unstage(void)
{
	apsim_free(sim);
	remove_tree(tmp);
}

static void set_conf(const char *conf)
{
	write_text(getenv("MKAGENT_CONFIG"), 0644, "%s", conf);
}

/* `mkagent plan` of a CCA AES change to @k on @n APQNs; its ID. */
static char *plan_op(const struct apqn *a, size_t n, const struct apsim_key *k)
{
	char list[8192] = "", hex[MKVP_STR_MAX], name[APQN_STR_MAX];
	struct run_result r;
	char *id;

	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? "," : "",
			 apqn_sysname(a[i], name));
	hex_of(MK_CCA_AES, k, hex);
	run_mkagent(&r, "plan", "-a", list, "-A", hex, "--profiles", "stamp", NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan: %s", r.err);
	run_result_free(&r);
	return id;
}

/* Cancel @id; the agent's worker may still hold its lock for a moment
 * after writing the state the trial waited for. */
static void cancel(const char *id)
{
	struct run_result r;

	for (int i = 0;; i++) {
		run_mkagent(&r, "cancel", "-i", id, NULL);
		if (r.status == 0)
			break;
		if (!strstr(r.err, "is busy") || i == 500)
			bail_out("cancel %s: %s", id, r.err);
		run_result_free(&r);
		sleep_ms(10);
	}
	run_result_free(&r);
}

/* The plan file of the alternatives: "AES PATTERN APQN...". */
static void write_plan_file(const struct apqn *a, size_t n, const struct apsim_key *k)
{
	char text[8192], hex[MKVP_STR_MAX], name[APQN_STR_MAX];
	struct mkvp p;

	apsim_key_mkvp(MK_CCA_AES, k, &p);
	mkvp_format(&p, hex);
	for (char *c = hex; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	snprintf(text, sizeof(text), "AES 0x%s", hex); /* as sysfs shows it */
	for (size_t i = 0; i < n; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), " %s", apqn_sysname(a[i], name));
	write_text(plan_file, 0644, "%s\n", text);
}

static pid_t poller_start(int period_s, const char *ticks)
{
	char period[16];
	pid_t pid;

	snprintf(period, sizeof(period), "%d", period_s);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char stamp[4300], log[4300];
		int fd;

		snprintf(log, sizeof(log), "%s/poller.log", tmp);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		setpgid(0, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (ticks)
			setenv("POLLER_TICKS", ticks, 1);
		snprintf(stamp, sizeof(stamp), "%s/stamp", tmp);
		execl("/bin/sh", "sh", build_path("selftest/bench/poller.sh"), period, plan_file, stamp,
		      stamps, NULL);
		_exit(127);
	}
	return pid;
}

/* Stop the poller and its `sleep`; what it used. */
static struct usage poller_stop(pid_t pid)
{
	struct usage u = { 0 };
	struct rusage ru;

	kill(-pid, SIGTERM);
	wait4(pid, NULL, 0, &ru);
	u.cpu_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec +
		   ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
	u.switches = ru.ru_nvcsw + ru.ru_nivcsw;
	return u;
}

/* The first stamp the helper wrote, waiting up to @ms; -1 without one.
 * The stamp holds its own time: looking for it only every 2 ms leaves the
 * CPU to the agent without changing the figure. */
static long long wait_stamp(int ms)
{
	for (long long end = now_us() + ms * 1000LL; now_us() < end;) {
		char *text = read_text(stamps);
		long long v = text && *text ? atoll(text) : -1;

		free(text);
		if (v > 0)
			return v;
		usleep(2000);
	}
	return -1;
}

/* ---- latency ---- */

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

static void latency(char **argv)
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

static void reads(char **argv)
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

/* ---- idle ---- */

static void idle(char **argv)
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

static const char scale_head[] =
	"| | `status --json` | peak RSS | `daemon --once` | peak RSS | `list` | peak RSS |\n"
	"|---|---|---|---|---|---|---|\n";

static void scale(char **argv, int n)
{
	stage(argv, n, "[agent]\n");
	print_scale_row("APQNs:", n);
	unstage();
}

static void ops(char **argv)
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

static void phase(char **argv)
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

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (streq(what, "latency"))
		latency(argv);
	else if (streq(what, "reads"))
		reads(argv);
	else if (streq(what, "idle"))
		idle(argv);
	else if (streq(what, "scale-head"))
		printf("## Scale\n\nMedians of 5 runs each (`bench scale N`, `bench ops`).\n\n%s", scale_head);
	else if (streq(what, "scale") && argc > 2)
		scale(argv, atoi(argv[2]));
	else if (streq(what, "ops"))
		ops(argv);
	else if (streq(what, "phase"))
		phase(argv);
	else {
		fprintf(stderr, "Usage: bench latency|reads|idle|scale-head|scale N|ops|phase\n");
		return 2;
	}
	return 0;
}
