// SPDX-License-Identifier: MIT
/*
 * Safe in a person's hands (issue 15): a step interrupted by SIGINT,
 * SIGTERM or SIGHUP keeps its lock until its helper is gone (I9); plans
 * that could never be closed or never be seen loaded are refused (I10);
 * an operation in error can always be closed (I11); an empty state
 * directory, a group member with read access, and what a person sees.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

/* A reencipher helper that, like pkcshsm_mk_change, ignores SIGTERM,
 * notes when two of it run at once, and runs until told to stop. $d is
 * its directory ($0 is /dev/fd/N: it runs from the checked descriptor). */
static const char stubborn[] =
	"[ \"$1\" = reencipher ] || exit 0\n"
	"[ -e \"$d/running\" ] && { echo overlap >> \"$d/overlap\"; exit 1; }\n"
	"echo $$ > \"$d/running\"\n"
	"trap '' TERM\n"
	"echo 'working on the keys'\n"
	"while [ ! -e \"$d/go\" ]; do sleep 0.1; done\n"
	"rm -f \"$d/running\"\n"
	"echo done >> \"$d/done\"\n";

static char dir[4096];

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static bool exists(const char *name)
{
	char p[4200];

	path_in(p, sizeof(p), name);
	return access(p, F_OK) == 0;
}

static bool wait_for(const char *name, int ms)
{
	for (int t = 0; t < ms; t += 50) {
		if (exists(name))
			return true;
		sleep_ms(50);
	}
	return false;
}

/* `mkagent ARGS...` in the background, its output in @log. */
static pid_t start_mk(const char *log, ...)
{
	char *argv[16];
	int n = 0;
	va_list ap;
	pid_t pid;

	argv[n++] = (char *)build_path("agent/mkagent");
	va_start(ap, log);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		setpgid(0, 0); /* as a shell's job: signals reach it alone */
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *plan_apka(const char *profile)
{
	char hex[MKVP_STR_MAX], *id;
	struct apsim_key k;
	struct run_result r;

	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	mk(&r, "plan", "-a", "0b.0033", "-p", hex, "--profiles", profile, NULL);
	id = created_id(r.out);
	id = id ? strdup(id) : NULL;
	if (!id)
		bail_out("plan failed: %s", r.err);
	run_result_free(&r);
	apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
	return id;
}

static void close_op(const char *id)
{
	struct run_result r;
	char p[4200];

	path_in(p, sizeof(p), "go");
	write_text(p, 0644, "go\n");
	mk(&r, "reencipher", "-i", id, NULL);
	run_result_free(&r);
	mk(&r, "cancel", "-i", id, NULL);
	run_result_free(&r);
	if (!streq(op_field(id, "state"), "canceled"))
		diag("operation %s left %s", id, op_field(id, "state"));
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	unlink(p);
}

static void interrupted_step(int sig)
{
	char log[4200], pidfile[4200], *text, *audit, want[128], *id;
	struct run_result r;
	pid_t mkpid, helper;
	int status;

	id = plan_apka("stubborn");
	path_in(log, sizeof(log), "mk.log");
	mkpid = start_mk(log, "reencipher", "-i", id, NULL);
	if (!ok(wait_for("running", AGENT_WAIT_MS), "%s: reencipher -i has started its helper", sigabbrev_np(sig)))
		return;
	path_in(pidfile, sizeof(pidfile), "running");
	text = read_text(pidfile);
	helper = text ? atoi(text) : 0;
	free(text);
	kill(mkpid, sig);
	sleep_ms(300);
	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 1, "  run again at once while the first one's helper lives: refused");
	ok(strstr(r.err, "is busy") != NULL, "  as busy");
	run_result_free(&r);
	status = wait_exit(mkpid);
	is_int(status, 1, "  the interrupted command exits 1 (not killed by the signal)");
	ok(helper > 0 && kill(helper, 0) < 0 && errno == ESRCH,
	   "  and only once its helper (which ignores SIGTERM) is gone");
	ok(!exists("overlap"), "  no two helpers ever ran at once");
	text = read_text(log);
	snprintf(want, sizeof(want), "interrupted by SIG%s", sigabbrev_np(sig));
	ok(text && strstr(text, want), "  it says so: %s", want);
	free(text);
	is_string(op_field(id, "state"), "reenciphering", "  the operation stays reenciphering");
	snprintf(log, sizeof(log), "%s/ops/%s.ini", state, id);
	text = read_text(log);
	ok(text && strstr(text, "[profile stubborn]\nreencipher = pending\n"),
	   "  the interrupted phase is pending: it runs again");
	free(text);
	snprintf(log, sizeof(log), "%s/audit.log", state);
	audit = read_text(log);
	ok(audit && strstr(audit, want), "  the audit log records the interruption");
	free(audit);
	path_in(pidfile, sizeof(pidfile), "running");
	unlink(pidfile);
	close_op(id);
	free(id);
}

/* As at a terminal: Ctrl-C typed, or the terminal itself gone (its
 * master closed, as when an ssh session drops). */
static void interrupted_at_terminal(bool hangup)
{
	const char *what = hangup ? "the terminal closed" : "Ctrl-C at the terminal";
	char *id, out[8192] = "", path[4200];
	int master, status;
	size_t len = 0;
	pid_t pid;

	id = plan_apka("stubborn");
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid == 0) {
		execl(build_path("agent/mkagent"), "mkagent", "reencipher", "-i", id, (char *)NULL);
		_exit(127);
	}
	if (!ok(pid > 0 && wait_for("running", AGENT_WAIT_MS), "%s: reencipher -i has started its helper", what))
		return;
	if (hangup) {
		close(master);
	} else {
		if (write(master, "\003", 1) != 1)
			diag("cannot type Ctrl-C");
	}
	sleep_ms(300);
	ok(exists("running"), "  its helper (which ignores SIGTERM) still runs");
	refused(1, "is busy", "  a second reencipher -i meanwhile", "reencipher", "-i", id, NULL);
	if (!hangup) {
		ssize_t n;

		while ((n = read(master, out + len, sizeof(out) - 1 - len)) > 0)
			len += (size_t)n;
		out[len] = '\0';
		close(master);
	}
	status = wait_exit(pid);
	is_int(status, 1, "  the command exits 1 once its helper is gone");
	ok(!exists("overlap"), "  no two helpers ran at once");
	if (!hangup)
		ok(strstr(out, "interrupted by SIGINT") != NULL, "  and says on the terminal why");
	path_in(path, sizeof(path), "running");
	unlink(path);
	close_op(id);
	free(id);
}

/* SIGKILL cannot be caught: the helper is told to end by the kernel
 * (PR_SET_PDEATHSIG), so it does not run on without the lock. */
static void killed_outright(void)
{
	char log[4200], path[4200], *text, *id;
	pid_t mkpid, helper;
	bool gone = false;

	path_in(path, sizeof(path), "meek");
	write_text(path, 0755, "#!/bin/sh\nd=%s\n[ \"$1\" = reencipher ] || exit 0\n"
			       "echo $$ > \"$d/meek.pid\"\n"
			       "while [ ! -e \"$d/go\" ]; do sleep 0.1; done\n", dir);
	write_profile("meek", "cca-apka", false, path, NULL);
	id = plan_apka("meek");
	path_in(log, sizeof(log), "mk.log");
	mkpid = start_mk(log, "reencipher", "-i", id, NULL);
	if (!ok(wait_for("meek.pid", AGENT_WAIT_MS), "SIGKILL: reencipher -i has started its helper"))
		return;
	path_in(path, sizeof(path), "meek.pid");
	text = read_text(path);
	helper = text ? atoi(text) : 0;
	free(text);
	kill(mkpid, SIGKILL);
	wait_exit(mkpid);
	for (int t = 0; t < AGENT_WAIT_MS && !gone; t += 50) {
		gone = helper > 0 && kill(helper, 0) < 0 && errno == ESRCH;
		sleep_ms(50);
	}
	ok(gone, "  the command killed outright: its helper ends too");
	unlink(path);
	close_op(id);
	is_string(op_field(id, "state"), "canceled", "  and the operation can still be closed");
	path_in(path, sizeof(path), "meek.pid");
	unlink(path);
	free(id);
}

/* Wait until the terminal of @master has echo off. */
static bool echo_off(int master)
{
	struct termios t;

	for (int waited = 0; waited <= AGENT_WAIT_MS; waited += 10, sleep_ms(10))
		if (tcgetattr(master, &t) == 0 && !(t.c_lflag & ECHO))
			return true;
	return false;
}

/* A PIN cut short at the terminal (Ctrl-D twice after some digits: the
 * digits without a newline, then end of input) is no PIN: the helper is
 * answered ERR, never with the digits typed so far. (Ctrl-C flushes the
 * line itself.) */
static void pin_prompt_interrupted(void)
{
	char path[4200], conf[4300], *id, *reply, buf[4096];
	int master;
	pid_t pid;

	path_in(path, sizeof(path), "asker");
	write_text(path, 0755, "#!/bin/sh\nd=%s\n[ \"$1\" = reencipher ] || exit 0\n"
			       "echo 'PIN some token' >&3\nIFS= read -r r <&3\n"
			       "echo \"$r\" > \"$d/reply\"\nexit 1\n", dir);
	write_profile("asker", "cca-apka", true, path, NULL);
	snprintf(conf, sizeof(conf), "%s", getenv("MKAGENT_CONFIG"));
	use_config("nopin.conf", "[agent]\nauto-finalize = yes\n"); /* no PIN helper: ask */
	id = plan_apka("asker");
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid == 0) {
		execl(build_path("agent/mkagent"), "mkagent", "reencipher", "-i", id, (char *)NULL);
		_exit(127);
	}
	/* wait for the prompt, type part of a PIN, then Ctrl-D twice */
	for (int t = 0, len = 0; t < 10000; t += 50) {
		ssize_t n = read(master, buf + len, sizeof(buf) - 1 - (size_t)len);

		if (n > 0)
			len += (int)n;
		buf[len] = '\0';
		if (strstr(buf, "Enter the PIN for some token"))
			break;
		sleep_ms(50);
	}
	ok(strstr(buf, "Enter the PIN for some token") != NULL, "a PIN asked at the terminal");
	/* after the prompt mkagent flushes the input and turns echo off
	 * (TCSAFLUSH): what is typed before that is thrown away */
	ok(echo_off(master), "  echo is off");
	if (write(master, "12\004\004", 4) != 4)
		diag("cannot type");
	wait_exit(pid);
	close(master);
	path_in(path, sizeof(path), "reply");
	reply = read_text(path);
	ok(reply && !strncmp(reply, "ERR", 3), "  cut short by Ctrl-D: the helper gets ERR, not the digits (%s)",
	   reply ? strtok(reply, "\n") : "no reply");
	free(reply);
	unlink(path);
	setenv("MKAGENT_CONFIG", conf, 1);
	close_op(id);
	free(id);
}

static void empty_state_dir(void)
{
	struct run_result r;
	char *id;

	remove_tree(state);
	mkdir(state, 0755); /* what systemd's StateDirectory= leaves */
	mk(&r, "list", NULL);
	is_int(r.status, 0, "an empty state directory: list works");
	run_result_free(&r);
	id = plan_apka("stubborn");
	ok(id != NULL, "  and plan creates what is missing");
	close_op(id);
	free(id);
}

static void never_closable(void)
{
	char cur[MKVP_STR_MAX], conf[4200];
	struct mkvp p;
	struct apsim_key k;

	if (apsim_get_key(sim, CCA[0], MK_CCA_APKA, REG_CUR, &k) < 0)
		bail_out("no APKA CUR key");
	apsim_key_mkvp(MK_CCA_APKA, &k, &p);
	mkvp_truncate(&p, mk_type_cli_bytes(MK_CCA_APKA));
	mkvp_format(&p, cur);
	refused(1, "cca-apka CUR already holds", "I10: plan to the pattern CUR holds already", "plan",
		"-a", "08.0033,09.0033", "-p", cur, NULL);
	refused(1, "cca-apka CUR already holds", "I10: reencipher -a to the pattern CUR holds",
		"reencipher", "-a", "08.0033", "-p", cur, NULL);
	apsim_set_asym_lines(sim, false);
	refused(1, "no ASYM lines in mkvps", "I10: plan -S where mkvps has no ASYM lines", "plan", "-a",
		"08.0033", "-S", "0123456789ABCDEF", NULL);
	apsim_set_asym_lines(sim, true);
	refused(1, "needs [registers] query-helper", "I10: plan -s without a query helper", "plan",
		"-a", "08.0033", "-s", "0123456789ABCDEF", NULL);
	refused(2, "'stubborn' is named twice", "--profiles naming a profile twice", "plan", "-a",
		"08.0033", "-p", "0123456789ABCDEF", "--profiles", "stubborn,stubborn", NULL);
	(void)conf;
}

static void force_cancel(void)
{
	char hex[MKVP_STR_MAX], path[4200], *id, *audit, *calls, want[160];
	struct apsim_key k;
	struct run_result r;

	path_in(path, sizeof(path), "failing");
	write_text(path, 0755, "#!/bin/sh\necho \"$1\" >> %s/failing.calls\n"
			       "[ \"$1\" = reencipher ] && { echo 'the HSM said no' >&2; exit 3; }\nexit 0\n",
		   dir);
	write_profile("failing", "cca-apka", false, path, NULL);
	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	mk(&r, "plan", "-a", "0b.0033", "-p", hex, "--profiles", "failing", NULL);
	id = strdup(created_id(r.out) ?: "none");
	run_result_free(&r);
	refused(1, "--force is only for an operation in error", "I11: cancel --force of a planned op",
		"cancel", "--force", "-i", id, NULL);
	apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
	mk(&r, "reencipher", "-i", id, NULL);
	run_result_free(&r);
	is_string(op_field(id, "state"), "error", "I11: a failed helper leaves the operation in error");
	path_in(path, sizeof(path), "failing.calls");
	unlink(path);
	{
		char notify[4200], conf[4300];

		path_in(notify, sizeof(notify), "notify");
		write_text(notify, 0755, "#!/bin/sh\necho \"$1\" >> %s/failing.calls\n", dir);
		snprintf(conf, sizeof(conf), "%s", getenv("MKAGENT_CONFIG"));
		use_config("safety.conf", "[pin]\nhelper = %s/pin-helper\n[notify]\nhelper = %s\n", tmp,
			   notify);
		mk(&r, "cancel", "--force", "-i", id, NULL);
		setenv("MKAGENT_CONFIG", conf, 1);
	}
	is_int(r.status, 0, "  cancel --force closes it");
	run_result_free(&r);
	snprintf(path, sizeof(path), "%s/history/%s.ini", state, id);
	ok(access(path, F_OK) == 0, "  to history/");
	is_string(op_field(id, "state"), "canceled", "  as canceled");
	is_string(op_field(id, "reason"), "profile failing reencipher failed: the HSM said no",
		  "  keeping the error's reason");
	path_in(path, sizeof(path), "failing.calls");
	calls = read_text(path);
	ok(calls == NULL, "  running no helper, not even the notify helper");
	free(calls);
	snprintf(path, sizeof(path), "%s/audit.log", state);
	audit = read_text(path);
	snprintf(want, sizeof(want), "%s error canceled forced by uid %u", id, (unsigned)getuid());
	ok(audit && strstr(audit, want), "  the audit log says who: %s", want);
	free(audit);
	refused(1, "is canceled", "cancel --force of a closed operation", "cancel", "--force", "-i", id,
		NULL);
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	free(id);
}

/* What a person sees of the helper's progress without -v. */
static void progress_shown(void)
{
	char go[4200], *id;
	struct run_result r;

	id = plan_apka("stubborn");
	path_in(go, sizeof(go), "go");
	write_text(go, 0644, "go\n");
	run_mkagent(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "reencipher -i by hand");
	ok(strstr(r.out, "  stubborn: working on the keys\n") != NULL,
	   "  shows what the helper prints, without -v");
	run_result_free(&r);
	unlink(go);
	apsim_activate(sim, CCA[2], MK_CCA_APKA);
	mk(&r, "finalize", "-i", id, NULL);
	run_result_free(&r);
	free(id);
}

/* The package's group recipe: chgrp GROUP state; chmod 0750. */
static void group_reader(void)
{
	char *argv[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			 (char *)build_path("agent/mkagent"), "list", NULL };
	char *plan[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			 (char *)build_path("agent/mkagent"), "plan", "-a", "08.0033", "-p",
			 "0123456789ABCDEF", NULL };
	struct run_result r;

	if (geteuid() != 0) {
		skip(3, "needs root to act as another user");
		return;
	}
	chmod(tmp, 0711);
	chown(state, 0, 65534);
	chmod(state, 0750);
	run_argv(&r, argv);
	is_int(r.status, 0, "a member of the state directory's group: list works");
	if (r.status)
		diag("%s", r.err);
	run_result_free(&r);
	run_argv(&r, plan);
	is_int(r.status, 1, "  plan is refused");
	ok(strstr(r.err, "needs root") && count_lines(r.err) == 1, "  in one line: needs root");
	run_result_free(&r);
	chown(state, 0, 0);
	chmod(state, 0755);
	chmod(tmp, 0700);
}

int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	snprintf(dir, sizeof(dir), "%s/safety", tmp);
	mkdir(dir, 0755);
	{
		char path[4200];

		path_in(path, sizeof(path), "stubborn");
		write_text(path, 0755, "#!/bin/sh\nd=%s\n%s", dir, stubborn);
		write_profile("stubborn", "cca-apka", false, path, NULL);
	}
	empty_state_dir();
	interrupted_step(SIGTERM);
	interrupted_step(SIGHUP);
	interrupted_step(SIGINT);
	interrupted_at_terminal(false);
	interrupted_at_terminal(true);
	killed_outright();
	pin_prompt_interrupted();
	never_closable();
	force_cancel();
	progress_shown();
	group_reader();
	apsim_free(sim);
	remove_tree(tmp);
	return done_testing();
}
