// SPDX-License-Identifier: MIT
/*
 * A step interrupted (issue 15): by SIGTERM, SIGHUP or SIGINT, by Ctrl-C
 * at a terminal or the terminal closed, it keeps its lock until its
 * helper (the stubborn one of stubborn.c, which ignores SIGTERM) is gone
 * (I9), then exits 1 saying why, its phase pending; killed outright, its
 * helper ends too; and a PIN prompt cut short at the terminal answers the
 * helper ERR, never the digits typed so far. The rest of issue 15:
 * test-safety.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "fixture.h"
#include "stubborn.h"
#include "tap.h"
#include "core/macro.h"

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
int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	stubborn_setup();
	interrupted_step(SIGTERM);
	interrupted_step(SIGHUP);
	interrupted_step(SIGINT);
	interrupted_at_terminal(false);
	interrupted_at_terminal(true);
	killed_outright();
	pin_prompt_interrupted();
	apsim_free(sim);
	remove_tree(tmp);
	return done_testing();
}
