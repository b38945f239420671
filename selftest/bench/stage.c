// SPDX-License-Identifier: MIT
/*
 * stage.c - bench's stage: the APQNs on apsim, the stamp profile that
 * records when a helper starts, mkagent's plan and cancel, and the
 * alternatives (the shell poller, the plan file they read).
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

char stamps[4200], plan_file[4200];

struct apqn nth_apqn(int i)
{
	return (struct apqn){ .card = (unsigned int)i / 16, .domain = (unsigned int)i % 16 };
}

/* @napqns CCA queues (16 domains per card), the stamp profile, a
 * configuration with @conf, mkagent pointed at all of it. */
void stage(char **argv, int napqns, const char *conf)
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

void unstage(void)
{
	apsim_free(sim);
	remove_tree(tmp);
}

void set_conf(const char *conf)
{
	write_text(getenv("MKAGENT_CONFIG"), 0644, "%s", conf);
}

/* `mkagent plan` of a CCA AES change to @k on @n APQNs; its ID. */
char *plan_op(const struct apqn *a, size_t n, const struct apsim_key *k)
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
void cancel(const char *id)
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
void write_plan_file(const struct apqn *a, size_t n, const struct apsim_key *k)
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

pid_t poller_start(int period_s, const char *ticks)
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
struct usage poller_stop(pid_t pid)
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
long long wait_stamp(int ms)
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
