// SPDX-License-Identifier: MIT
/*
 * fixture.c - the stage the operation and agent tests share: an apsim bus
 * with three CCA and two EP11 APQNs whose sets share master keys, simkeys
 * stores (CCA with a PIN), their profiles, a PIN helper and a
 * configuration, and ways to run mkagent and look at what it did.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"


struct apsim *sim;
char *tmp, *state, *profiles, *cca_store, *ep11_store, *simkeys;
char all_output[1 << 20];

const struct apqn CCA[] = { { 0x08, 0x33 }, { 0x09, 0x33 }, { 0x0b, 0x33 } };
const struct apqn EP11[] = { { 0x0a, 0x33 }, { 0x0c, 0x33 } };

/* Run mkagent, keep what it printed for the PIN search at the end. */
int mk(struct run_result *r, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;

	argv[n++] = strdup(build_path("agent/mkagent"));
	argv[n++] = "-v";
	argv[n++] = "debug"; /* every log line, for the PIN search */
	va_start(ap, r);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	run_argv(r, argv);
	free(argv[0]);
	if (strlen(all_output) + strlen(r->out) + strlen(r->err) + 1 < sizeof(all_output)) {
		strcat(all_output, r->out);
		strcat(all_output, r->err);
	}
	return r->status;
}

void hex_of(enum mk_type t, const struct apsim_key *k, char *out)
{
	struct mkvp p;

	apsim_key_mkvp(t, k, &p);
	mkvp_truncate(&p, mk_type_cli_bytes(t));
	mkvp_format(&p, out);
}

/* The same key into several APQNs' NEW registers. */
void load_all(const struct apqn *a, size_t n, enum mk_type t, const struct apsim_key *k)
{
	for (size_t i = 0; i < n; i++)
		apsim_load(sim, a[i], t, k);
}

void activate_all(const struct apqn *a, size_t n, enum mk_type t)
{
	for (size_t i = 0; i < n; i++)
		apsim_activate(sim, a[i], t);
}

char *created_id(const char *out)
{
	static char id[8];
	const char *p = strstr(out, "operation '");

	if (!p || sscanf(p, "operation '%6[A-Za-z0-9]'", id) != 1)
		return NULL;
	return id;
}

char *plan_ep11(const char *profile, struct apsim_key *k, char *hex)
{
	char pattern[MKVP_STR_MAX];
	struct run_result r;
	char *id;

	apsim_random_key(MK_EP11, k);
	hex_of(MK_EP11, k, pattern);
	if (hex)
		strcpy(hex, pattern);
	mk(&r, "plan", "-a", "0a.0033,0c.0033", "-e", pattern, "--profiles", profile, NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan: %s", r.err);
	run_result_free(&r);
	return id;
}

void use_config(const char *name, const char *fmt, ...)
{
	char path[4300], *text;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		bail_out("out of memory");
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	write_text(path, 0644, "%s", text);
	setenv("MKAGENT_CONFIG", path, 1);
	free(text);
}

/* A refusal: exit code, one line with @msg in it, nothing changed. */
void refused(int want_status, const char *msg, const char *what, ...)
{
	char *argv[32], *before = snapshot_dir(state), *after;
	struct run_result r;
	va_list ap;
	int n = 0;

	argv[n++] = strdup(build_path("agent/mkagent"));
	va_start(ap, what);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	run_argv(&r, argv);
	free(argv[0]);
	after = snapshot_dir(state);
	is_int(r.status, want_status, "refused: %s (exit %d)", what, want_status);
	if (!ok(strstr(r.err, msg) != NULL && count_lines(r.err) == 1, "  with one line: %s", msg))
		diag("stderr: %s", r.err);
	if (!ok(strcmp(before, after) == 0, "  and the state directory is unchanged"))
		diag("before:\n%s\nafter:\n%s", before, after);
	free(before);
	free(after);
	run_result_free(&r);
}

int verify_store(const char *store, struct apqn a, char *out, size_t size)
{
	char apqn[APQN_STR_MAX];
	char *argv[] = { simkeys, "--store", (char *)store, "--hsm", (char *)apsim_hsm_dir(sim),
			 "verify", "--apqn", apqn_sysname(a, apqn), NULL };
	struct run_result r;
	int rc;

	run_argv(&r, argv);
	snprintf(out, size, "%s", r.out);
	out[strcspn(out, "\n")] = '\0';
	rc = r.status;
	run_result_free(&r);
	return rc;
}

void simkeys_init(const char *store, struct apqn a, const char *type, int n, bool pin)
{
	char apqn[APQN_STR_MAX], count[16], pinfile[4096];
	char *argv[16] = { simkeys, "--store", (char *)store, "--hsm", (char *)apsim_hsm_dir(sim),
			   "init", "--apqn", apqn_sysname(a, apqn), "--type", (char *)type,
			   "--count", count, NULL };
	struct run_result r;

	snprintf(count, sizeof(count), "%d", n);
	snprintf(pinfile, sizeof(pinfile), "%s/pin", tmp);
	if (pin) {
		argv[12] = "--pin-file";
		argv[13] = pinfile;
		argv[14] = NULL;
	}
	run_argv(&r, argv);
	if (r.status)
		bail_out("simkeys init: %s", r.err);
	run_result_free(&r);
}

void write_profile(const char *name, const char *types, bool pin, const char *exec,
			  const char *extra)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.profile", profiles, name);
	write_text(path, 0644,
		   "[profile]\ndescription = test consumer %s\nmk-types = %s\npin = %s\n"
		   "[reencipher]\nexec = %s reencipher\n%s"
		   "[finalize]\nexec = %s finalize\n[cancel]\nexec = %s cancel\n"
		   "[recover]\nexec = %s recover\n",
		   name, types, pin ? "yes" : "no", exec, extra ? extra : "", exec, exec, exec);
}

char *installed(const char *rel)
{
	const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	char *path, cmd[12800];

	if (asprintf(&path, "%s/%s", tmp, name) < 0)
		bail_out("out of memory");
	snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -R %s %s && chmod -R go-w %s", path,
		 build_path(rel), path, path);
	if (system(cmd) != 0)
		bail_out("cannot install %s", rel);
	return path;
}

static pid_t owner;

/* A stage whose tests all passed is removed; a failing one is kept to be
 * looked at. Only by the test itself, not by a child that exits. */
static void fixture_cleanup(void)
{
	if (getpid() == owner && tmp && tap_exit_status() == 0)
		remove_tree(tmp);
}

void fixture_setup(char **argv)
{
	char path[4096], exec[8192];
	struct apsim_key k;

	sim = apsim_new(argv);
	tmp = make_tmpdir("ops");
	owner = getpid();
	atexit(fixture_cleanup);
	if (asprintf(&state, "%s/state", tmp) < 0 || asprintf(&profiles, "%s/profiles", tmp) < 0 ||
	    asprintf(&cca_store, "%s/cca-store", tmp) < 0 ||
	    asprintf(&ep11_store, "%s/ep11-store", tmp) < 0 || asprintf(&simkeys, "%s/simkeys", tmp) < 0)
		bail_out("out of memory");
	mkdir(profiles, 0755);
	/* helpers are root's and not writable by others: a copy we may spoil */
	snprintf(exec, sizeof(exec), "cp %s %s && chmod 0755 %s", build_path("selftest/simkeys"),
		 simkeys, simkeys);
	if (system(exec) != 0)
		bail_out("cannot copy simkeys");

	for (size_t i = 0; i < 3; i++)
		apsim_add_card(sim, CCA[i].card, "CEX7C");
	for (size_t i = 0; i < 2; i++)
		apsim_add_card(sim, EP11[i].card, "CEX8P");
	for (size_t i = 0; i < 3; i++)
		apsim_add_queue(sim, CCA[i]);
	for (size_t i = 0; i < 2; i++)
		apsim_add_queue(sim, EP11[i]);
	/* APQNs that belong together share their current master keys */
	for (enum mk_type t = MK_CCA_ASYM; t <= MK_CCA_APKA; t++) {
		apsim_random_key(t, &k);
		load_all(CCA, 3, t, &k);
		activate_all(CCA, 3, t);
	}
	apsim_random_key(MK_EP11, &k);
	load_all(EP11, 2, MK_EP11, &k);
	activate_all(EP11, 2, MK_EP11);

	snprintf(path, sizeof(path), "%s/pin", tmp);
	write_text(path, 0600, "%s\n", PIN);
	simkeys_init(cca_store, CCA[0], "cca-aes", 50, true);
	simkeys_init(cca_store, CCA[0], "cca-apka", 50, true);
	simkeys_init(ep11_store, EP11[0], "ep11", 100, false);

	snprintf(exec, sizeof(exec), "%s --store %s --hsm %s", simkeys, cca_store, apsim_hsm_dir(sim));
	write_profile("simkeys-cca", "cca-aes cca-apka", true, exec, NULL);
	snprintf(exec, sizeof(exec), "%s --store %s --hsm %s", simkeys, ep11_store, apsim_hsm_dir(sim));
	write_profile("simkeys-ep11", "ep11", false, exec, NULL);

	snprintf(path, sizeof(path), "%s/pin-helper", tmp);
	write_text(path, 0700, "#!/bin/sh\nexec cat %s/pin\n", tmp);
	snprintf(exec, sizeof(exec), "%s/mkagent.conf", tmp);
	write_text(exec, 0644, "[agent]\nauto-finalize = yes\n[pin]\nhelper = %s\n", path);
	setenv("MKAGENT_STATE_DIR", state, 1);
	setenv("MKAGENT_PROFILES", profiles, 1);
	setenv("MKAGENT_CONFIG", exec, 1);
}

/* A key of [operation] in the live or archived file of @id, "" when none. */
const char *op_field(const char *id, const char *key)
{
	static char buf[4][256];
	static int next;
	char *out = buf[next++ % 4], path[4096], want[64], *text, *p;

	out[0] = '\0';
	snprintf(want, sizeof(want), "\n%s = ", key);
	for (int i = 0; i < 2 && !out[0]; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s.ini", state, i ? "history" : "ops", id);
		text = read_text(path);
		if (text && (p = strstr(text, want)))
			sscanf(p + strlen(want), "%255[^\n]", out);
		free(text);
	}
	return out;
}

bool wait_state(const char *id, const char *want, int ms, void (*tick)(void))
{
	for (int waited = 0; waited <= ms; waited += 50) {
		struct timespec ts = { 0, 50000000 };

		if (tick)
			tick();
		if (streq(op_field(id, "state"), want))
			return true;
		nanosleep(&ts, NULL);
	}
	diag("operation %s is '%s', not '%s'", id, op_field(id, "state"), want);
	return false;
}

bool lock_waited(const char *path)
{
	char *text = read_text("/proc/locks"), *save = NULL;
	bool waited = false;
	struct stat st;

	if (!text || stat(path, &st) < 0) {
		free(text);
		return false;
	}
	/* "1: -> FLOCK  ADVISORY  WRITE 1234 fe:00:2040918 0 EOF" */
	for (char *l = strtok_r(text, "\n", &save); l && !waited; l = strtok_r(NULL, "\n", &save)) {
		unsigned int maj, min;
		unsigned long ino;
		char *tok, *tsave = NULL;

		if (!strstr(l, "->"))
			continue;
		for (tok = strtok_r(l, " ", &tsave); tok; tok = strtok_r(NULL, " ", &tsave))
			if (sscanf(tok, "%x:%x:%lu", &maj, &min, &ino) == 3 && ino == st.st_ino &&
			    maj == major(st.st_dev) && min == minor(st.st_dev))
				waited = true;
	}
	free(text);
	return waited;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool in_epoll_wait(pid_t pid)
{
	long nr = pid_syscall(pid);

	return nr == SYS_epoll_pwait
#ifdef SYS_epoll_wait
	       || nr == SYS_epoll_wait
#endif
#ifdef SYS_epoll_pwait2
	       || nr == SYS_epoll_pwait2
#endif
		;
}

/*
 * Whether the agent's system calls can be seen at all: not without
 * CAP_SYS_PTRACE (mkagent is not dumpable), as in a container that drops
 * it or for a user other than root. Then the waits below fall back to a
 * fixed pause, said once, and prove less.
 */
static bool cannot_see(pid_t pid, int pause_ms)
{
	static bool said;
	char st = pid_state(pid);

	if (!st || st == 'Z' || pid_syscall(pid) != -2)
		return false;
	if (!said)
		diag("cannot read /proc/%d/syscall (no CAP_SYS_PTRACE?): fixed pauses instead of waiting for the agent to be idle",
		     (int)pid);
	said = true;
	sleep_ms(pause_ms);
	return true;
}

bool agent_idle(pid_t pid)
{
	/* the system call read on both sides of the state: one sleep */
	return in_epoll_wait(pid) && pid_state(pid) == 'S' && in_epoll_wait(pid);
}

long agent_timer_ms(pid_t pid)
{
	char dir[64], path[4200], link[256];
	struct dirent *de;
	long ms = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		long sec, nsec;
		ssize_t n;
		char *info, *v;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (!strstr(link, "timerfd"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, de->d_name);
		info = read_text(path);
		v = info ? strstr(info, "it_value: (") : NULL;
		if (v && sscanf(v, "it_value: (%ld, %ld)", &sec, &nsec) == 2)
			ms = sec * 1000 + (nsec + 999999) / 1000000;
		free(info);
	}
	if (d)
		closedir(d);
	return ms;
}

bool wait_agent_idle(pid_t pid, int ms)
{
	if (cannot_see(pid, 1000))
		return true;
	for (int waited = 0; waited <= ms; waited += 10) {
		char st = pid_state(pid);

		if (!st || st == 'Z')
			return false;
		if (agent_idle(pid))
			return true;
		sleep_ms(10);
	}
	diag("agent %d is not idle after %d ms", (int)pid, ms);
	return false;
}

bool wait_agent_quiet(pid_t pid, int ms)
{
	if (cannot_see(pid, 3000))
		return true;
	for (int waited = 0; waited <= ms; waited += 10) {
		long due = agent_timer_ms(pid);
		char st = pid_state(pid);

		if (!st || st == 'Z')
			return false;
		if ((due == 0 || due > 60000) && agent_idle(pid) && labs(agent_timer_ms(pid) - due) < 1000)
			return true;
		sleep_ms(10);
	}
	diag("agent %d is not quiet after %d ms", (int)pid, ms);
	return false;
}

pid_t agent_start(const char *binary, const char *log, bool debug, int settle_ms)
{
	char path[4096];
	pid_t pid;

	snprintf(path, sizeof(path), "%s", binary ? binary : build_path("agent/mkagent"));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0600) : open("/dev/null", O_WRONLY);

		/* a test that bails out leaves no agent behind */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fd, 1);
		dup2(fd, 2);
		if (debug)
			execl(path, "mkagent", "-v", "debug", "daemon", NULL);
		else
			execl(path, "mkagent", "daemon", NULL);
		_exit(127);
	}
	/* it listens once it first waits in epoll, its first pass made (or it died) */
	wait_agent_idle(pid, AGENT_WAIT_MS);
	sleep_ms(settle_ms);
	return pid;
}

void agent_stop(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	waitpid(pid, NULL, 0);
}
