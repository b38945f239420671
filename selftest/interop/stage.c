// SPDX-License-Identifier: MIT
/*
 * stage.c - the trixie root of `make interop`, mounted for one test: see
 * stage.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fixture.h"
#include "../run.h"
#include "../tap.h"
#include "stage.h"

static char *work, *mnt, *tool;
static pid_t slotd;

/*
 * Run @cmd with /bin/sh in the root, @input on its stdin, stdout and
 * stderr together in the result. The test itself runs under umockdev's
 * preload; the root's programs must not.
 */
struct result in_root(const char *input, const char *fmt, ...)
{
	struct result r = { .status = -1 };
	char cmd[4096], outpath[4200];
	int in[2], out, st;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(outpath, sizeof(outpath), "%s/out", work);
	out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0 || pipe(in) < 0)
		bail_out("in_root: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out, 1);
		dup2(out, 2);
		close(in[1]);
		if (chroot(mnt) < 0 || chdir("/") < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		clearenv();
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		setenv("HOME", "/root", 1);
		setenv("LC_ALL", "C", 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out);
	if (input && write(in[1], input, strlen(input)) < 0)
		diag("in_root: cannot write stdin: %s", strerror(errno));
	close(in[1]);
	if (waitpid(pid, &st, 0) == pid)
		r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = read_text(outpath);
	if (!r.out)
		r.out = strdup("");
	return r;
}

void bg_start(struct bg *b, const char *fmt, ...)
{
	static int n;
	char cmd[4096];
	int in[2], out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(b->out, sizeof(b->out), "%s/bg-%d", work, n++);
	out = open(b->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0 || pipe2(in, O_CLOEXEC) < 0)
		bail_out("bg_start: %s", strerror(errno));
	fflush(stdout);
	b->pid = fork();
	if (b->pid == 0) {
		char line[4200];

		dup2(in[0], 0);
		dup2(out, 1);
		dup2(out, 2);
		if (chroot(mnt) < 0 || chdir("/") < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		clearenv();
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		setenv("LC_ALL", "C", 1);
		snprintf(line, sizeof(line), "exec %s", cmd);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out);
	b->in = in[1];
	b->status = -1;
}

static int decode(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int bg_poll(struct bg *b)
{
	int st;

	if (b->status < 0 && waitpid(b->pid, &st, WNOHANG) == b->pid)
		b->status = decode(st);
	return b->status;
}

bool bg_wait_output(struct bg *b, const char *needle, int ms)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		char *text = read_text(b->out);
		bool seen = text && strstr(text, needle);

		free(text);
		if (seen)
			return true;
		usleep(20 * 1000);
	}
	return false;
}

int bg_wait(struct bg *b, char **out)
{
	int st = 0;

	if (b->in >= 0)
		close(b->in);
	b->in = -1;
	if (b->status < 0 && waitpid(b->pid, &st, 0) == b->pid)
		b->status = decode(st);
	if (out) {
		*out = read_text(b->out);
		if (!*out)
			*out = strdup("");
	}
	return b->status;
}

void show(const struct result *r)
{
	diag("exit %d, output:\n%s", r->status, r->out);
}

static void must_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		       const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		bail_out("mount %s on %s: %s", src ? src : type ? type : "-", dst, strerror(errno));
}

/* The root, through an overlay, with /proc, /dev/shm, /dev/pts and apsim's /sys. */
static void mount_root(const char *root, struct apsim *hsm)
{
	char upper[4200], wdir[4200], opts[13000], path[4200], sys[4200];

	if (unshare(CLONE_NEWNS) < 0)
		bail_out("unshare(CLONE_NEWNS): %s (make interop needs root)", strerror(errno));
	must_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (asprintf(&mnt, "%s/root", work) < 0)
		bail_out("out of memory");
	snprintf(upper, sizeof(upper), "%s/upper", work);
	snprintf(wdir, sizeof(wdir), "%s/overlay-work", work);
	mkdir(mnt, 0755);
	mkdir(upper, 0755);
	mkdir(wdir, 0755);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", root, upper, wdir);
	must_mount("overlay", mnt, "overlay", 0, opts);
	snprintf(path, sizeof(path), "%s/proc", mnt);
	must_mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	snprintf(path, sizeof(path), "%s/dev/shm", mnt);
	must_mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	/* Its own pseudo-terminals, for a helper that drives a tool on one. */
	snprintf(path, sizeof(path), "%s/dev/pts", mnt);
	must_mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
	snprintf(path, sizeof(path), "%s/dev/ptmx", mnt);
	snprintf(sys, sizeof(sys), "%s/dev/pts/ptmx", mnt);
	must_mount(sys, path, NULL, MS_BIND, NULL);
	snprintf(sys, sizeof(sys), "%s/sys", apsim_root(hsm));
	snprintf(path, sizeof(path), "%s/sys", mnt);
	must_mount(sys, path, NULL, MS_BIND | MS_REC, NULL);
}

/* Copy @rel of the build tree to @dst in the root. */
void stage_install(const char *rel, const char *dst_in_root)
{
	char dst[4200], buf[65536];
	const char *src = build_path(rel);
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	snprintf(dst, sizeof(dst), "%s%s", mnt, dst_in_root);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		bail_out("cannot install %s in the root: %s", src, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			bail_out("cannot write %s: %s", dst, strerror(errno));
	close(in);
	if (n < 0 || close(out) < 0)
		bail_out("cannot install %s in the root", src);
}

static void stop_slotd(pid_t pid);

static void unstage(void)
{
	static const char *const under[] = { "sys", "dev/ptmx", "dev/pts", "dev/shm", "proc", "" };
	char path[4200];

	for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", mnt, under[i]);
		if (umount2(path, MNT_DETACH) < 0)
			diag("umount %s: %s", path, strerror(errno));
	}
}

/* Also on bail_out: no pkcsslotd, mount or directory outlives the test. */
static void cleanup(void)
{
	if (!work)
		return;
	stop_slotd(slotd);
	if (mnt)
		unstage();
	remove_tree(work);
	free(work);
	free(mnt);
	free(tool);
	work = mnt = tool = NULL;
}

static pid_t slotd_pid(void)
{
	char path[4200], *text;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/run/opencryptoki/pkcsslotd.pid", mnt);
	text = read_text(path);
	if (text)
		pid = strtol(text, NULL, 10);
	free(text);
	return (pid_t)pid;
}

bool alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

static void stop_slotd(pid_t pid)
{
	int i;

	if (!alive(pid))
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 100 && alive(pid); i++)
		usleep(50 * 1000);
	if (alive(pid))
		kill(pid, SIGKILL);
}

void app_start(struct app *a, int slot, const char *pin, const char *key_id)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		bail_out("pipe: %s", strerror(errno));
	fflush(stdout);
	a->pid = fork();
	if (a->pid == 0) {
		char cmd[256];

		dup2(in[0], 0);
		dup2(out[1], 1);
		if (chroot(mnt) < 0 || chdir("/") < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		clearenv();
		setenv("PATH", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
		snprintf(cmd, sizeof(cmd), "exec p11app $(echo /usr/lib/*/opencryptoki/"
			 "libopencryptoki.so.0) %d %s %s", slot, pin, key_id);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	a->in = fdopen(in[1], "w");
	a->out = fdopen(out[0], "r");
}

/* Send @cmd, return its answer line (static) or "" when the app is gone. */
const char *app_ask(struct app *a, const char *cmd)
{
	static char line[128];

	if (cmd) {
		fprintf(a->in, "%s\n", cmd);
		fflush(a->in);
	}
	if (!fgets(line, sizeof(line), a->out))
		return "";
	line[strcspn(line, "\n")] = '\0';
	return line;
}

int app_stop(struct app *a)
{
	int st = 0;

	fclose(a->in);
	fclose(a->out);
	waitpid(a->pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * A test killed by a signal runs no atexit handler, and pkcsslotd, a
 * daemon, would outlive it and keep its mount namespace alive: kill it
 * first. The mounts go with the namespace; the test's directory stays.
 */
static void on_fatal_signal(int sig)
{
	if (slotd > 0)
		kill(slotd, SIGKILL);
	raise(sig);
}

static void catch_fatal_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGSEGV, SIGBUS };
	struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void stage_setup(struct apsim *hsm, unsigned int domain)
{
	const char *root = getenv("MKAGENT_INTEROP_ROOT");
	char path[4200];

	if (!root || !*root)
		bail_out("MKAGENT_INTEROP_ROOT is not set: run `make interop`, which builds the root");
	snprintf(path, sizeof(path), "%s/usr/sbin/pkcshsm_mk_change", root);
	if (access(path, X_OK) != 0)
		bail_out("%s: no pkcshsm_mk_change in it (%s)", root, strerror(errno));
	/* The AP bus's default domain, which the token reads and apsim lacks. */
	snprintf(path, sizeof(path), "%s/sys/bus/ap/ap_domain", apsim_root(hsm));
	write_text(path, 0644, "%u\n", domain);
	/* A program that ends before reading its input must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	catch_fatal_signals();
	work = make_tmpdir("interop");
	atexit(cleanup);
	mount_root(root, hsm);
	/*
	 * The root's pkcshsm_mk_change for callers outside it, such as
	 * mkagent-opencryptoki --tool: the path is written in, since that
	 * helper gives the tool only PATH and LANG. The caller must be in this
	 * test's mount namespace, as its children are.
	 */
	if (asprintf(&tool, "%s/pkcshsm_mk_change", work) < 0)
		bail_out("out of memory");
	write_text(tool, 0755,
		   "#!/bin/sh\n"
		   "# The real pkcshsm_mk_change in the root test-interop mounted.\n"
		   "exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \\\n"
		   "\tchroot '%s' /usr/sbin/pkcshsm_mk_change \"$@\"\n", mnt);
	stage_install("selftest/interop/libcsulcca.so", "/usr/lib/libcsulcca.so");
	stage_install("selftest/interop/p11app", "/usr/local/bin/p11app");
}

const char *stage_tool(void)
{
	return tool;
}

void stage_write(const char *path_in_root, const char *fmt, ...)
{
	char path[4200], text[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s%s", mnt, path_in_root);
	write_text(path, 0644, "%s", text);
}

pid_t slotd_start(struct result *r)
{
	*r = in_root(NULL, "pkcsslotd");
	slotd = slotd_pid();
	return alive(slotd) ? slotd : 0;
}

void slotd_stop(void)
{
	stop_slotd(slotd);
}

void slotd_signal(int sig)
{
	if (slotd > 0)
		kill(slotd, sig);
}

bool slotd_alive(void)
{
	return alive(slotd);
}

void stage_teardown(void)
{
	cleanup();
}
