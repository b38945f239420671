// SPDX-License-Identifier: MIT
/*
 * zkeystage.c - the stage of the zkey helper tests: see zkeystage.h.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "zkeystage.h"
#include "tap.h"
#include "core/macro.h"

char zdir[4096], repo[4200], work[4200], other_work[4200];
static char bin[4200];
const char *wd = work;
char asked[4096];
char output[1 << 16];
char bin_zkey[4300], bin_zcs[4300];

/* The volumes' passphrases, by the label the helper asks for. */
static const struct {
	const char *label, *pass;
} passes[] = {
	{ "luks:dasdc1", "c1-passphrase" }, { "luks:dasdc2", "c2-passphrase" },
	{ "luks:dasde1", "e1-passphrase" }, { "luks:dasdd1", "d1-passphrase" },
	{ "luks:dasdf1", "f1-passphrase" },
};

void path_of(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

/* Answer the helper's complete "PIN label" lines; a line may come in
 * pieces, so what follows the last newline waits for the next read. */
static char pending[512];

static void serve(int sock)
{
	size_t have = strlen(pending);
	ssize_t n;
	char *r, *nl;

	if (have == sizeof(pending) - 1)
		bail_out("a PIN request of over %zu bytes without a newline", have);
	n = read(sock, pending + have, sizeof(pending) - 1 - have);
	if (n <= 0)
		return;
	pending[have + (size_t)n] = '\0';
	for (r = pending; (nl = strchr(r, '\n')); r = nl + 1) {
		const char *pass = NULL;

		*nl = '\0';
		if (strncmp(r, "PIN ", 4) == 0) {
			for (size_t i = 0; i < sizeof(passes) / sizeof(passes[0]); i++)
				if (!strcmp(r + 4, passes[i].label))
					pass = passes[i].pass;
			snprintf(asked + strlen(asked), sizeof(asked) - strlen(asked), "%s ", r + 4);
		}
		if (pass)
			dprintf(sock, "OK %s\n", pass);
		else
			dprintf(sock, "ERR no PIN for this label\n");
	}
	memmove(pending, r, strlen(r) + 1);
}

int helper(const char *apqns, const char *types, const char *name, ...)
{
	char *argv[32], hpath[4200], log[4300];
	const char *phase = NULL;
	int sv[2], status = -1, n = 0;
	va_list ap;
	pid_t pid;

	snprintf(hpath, sizeof(hpath), "%s", build_path(name));
	argv[n++] = hpath;
	va_start(ap, name);
	for (char *a; (a = va_arg(ap, char *)) && n < 30;) {
		argv[n++] = a;
		phase = a;
	}
	va_end(ap);
	argv[n] = NULL;
	asked[0] = '\0';
	pending[0] = '\0';
	snprintf(log, sizeof(log), "%s/helper.log", wd);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		bail_out("socketpair");
	pid = fork();
	if (pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600), null = open("/dev/null", O_RDONLY);
		char env_apqns[256], env_types[128], env_work[4300], env_phase[64];
		char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "MKAGENT_OP_ID=test-op",
				 env_phase, "MKAGENT_PROFILE=zkey", env_apqns, env_types, env_work, NULL };

		snprintf(env_apqns, sizeof(env_apqns), "MKAGENT_APQNS=%s", apqns);
		snprintf(env_types, sizeof(env_types), "MKAGENT_MK_TYPES=%s", types);
		snprintf(env_work, sizeof(env_work), "MKAGENT_WORK_DIR=%s", wd);
		snprintf(env_phase, sizeof(env_phase), "MKAGENT_PHASE=%s", phase);
		dup2(null, 0);
		dup2(out, 1);
		dup2(out, 2);
		dup2(sv[1], 3);
		if (chdir(wd) < 0)
			_exit(126);
		execve(hpath, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	for (int waited = 0; waited < 60000; waited += 20) {
		struct pollfd p = { sv[0], POLLIN, 0 };

		if (poll(&p, 1, 20) > 0)
			serve(sv[0]);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	close(sv[0]);
	if (!WIFEXITED(status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	{
		_cleanup_free_ char *text = read_text(log);

		snprintf(output, sizeof(output), "%s", text ? text : "");
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void store(const char *rel, struct apqn a, const char *type)
{
	char p[8400];

	path_of(p, sizeof(p), "%s/%s", zdir, rel);
	simkeys_init(p, a, type, 1, false);
}

void key(const char *name, struct apqn a, const char *type, const char *props)
{
	char p[8400];

	path_of(p, sizeof(p), "repo/%s.skey", name);
	store(p, a, type);
	path_of(p, sizeof(p), "%s/%s.info", repo, name);
	write_text(p, 0644, "%s", props);
}

void volume(const char *dev, struct apqn a, const char *type, const char *apqns, const char *pass)
{
	char p[8400];

	path_of(p, sizeof(p), "volumes/%s.skey", dev);
	store(p, a, type);
	path_of(p, sizeof(p), "%s/volumes/%s.apqns", zdir, dev);
	write_text(p, 0644, "%s\n", apqns);
	path_of(p, sizeof(p), "%s/volumes/%s.pass", zdir, dev);
	write_text(p, 0600, "%s\n", pass);
}

bool under(const char *rel, struct apqn a)
{
	char p[8400], out[256];

	path_of(p, sizeof(p), "%s/%s", zdir, rel);
	if (verify_store(p, a, out, sizeof(out)) == 0 && strstr(out, ", 0 staged"))
		return true;
	diag("%s: %s", rel, out);
	return false;
}

bool pass_leaked(void)
{
	char p[8400];
	_cleanup_free_ char *calls = NULL;
	bool leaked = false;

	path_of(p, sizeof(p), "%s/calls", zdir);
	calls = read_text(p);
	for (size_t i = 0; i < sizeof(passes) / sizeof(passes[0]); i++) {
		if (calls && strstr(calls, passes[i].pass))
			leaked = true, diag("%s is in a tool's argv or environment", passes[i].pass);
		if (dir_contains(work, passes[i].pass))
			leaked = true, diag("%s is in a file of the work directory", passes[i].pass);
	}
	return leaked;
}

void zkey_setup(void)
{
	char p[8400];

	path_of(zdir, sizeof(zdir), "%s/zkey", tmp);
	path_of(repo, sizeof(repo), "%s/repo", zdir);
	path_of(bin, sizeof(bin), "%s/bin", zdir);
	path_of(work, sizeof(work), "%s/work", tmp);
	mkdir(zdir, 0700);
	mkdir(repo, 0700);
	mkdir(bin, 0755);
	mkdir(work, 0700);
	path_of(other_work, sizeof(other_work), "%s/other-work", tmp);
	mkdir(other_work, 0700);
	path_of(p, sizeof(p), "%s/default-apqns", zdir);
	write_text(p, 0644, "%s,%s\n", CCA_APQNS, EP11_APQNS);
	path_of(p, sizeof(p), "%s/kms", zdir);
	mkdir(p, 0700);
	path_of(p, sizeof(p), "%s/volumes", zdir);
	mkdir(p, 0700);
	path_of(p, sizeof(p), "%s/hsm", zdir);
	write_text(p, 0644, "%s\n", apsim_hsm_dir(sim));
	path_of(p, sizeof(p), "%s/simkeys", zdir);
	write_text(p, 0644, "%s\n", simkeys);
	path_of(bin_zkey, sizeof(bin_zkey), "%s/zkey", bin);
	write_text(bin_zkey, 0755, "#!/bin/sh\nexec %s --sim-dir %s \"$@\"\n", build_path("selftest/tools/zkey"),
		   zdir);
	path_of(p, sizeof(p), "%s/zkey-cryptsetup", zdir);
	if (symlink(build_path("selftest/tools/zkey"), p) < 0)
		bail_out("symlink");
	path_of(bin_zcs, sizeof(bin_zcs), "%s/zkey-cryptsetup", bin);
	write_text(bin_zcs, 0755, "#!/bin/sh\nexec %s --sim-dir %s \"$@\"\n", p, zdir);

	/* two volumes of one key: the second on a continuation line of `zkey list` */
	key("vols", CCA[0], "cca-aes",
	    "apqns=" CCA_APQNS "\nvolumes=/dev/dasdc1:enc1,/dev/dasdc2:enc2\nvolume-type=luks2\n");
	key("plain", CCA[0], "cca-aes", "apqns=" CCA_APQNS "\nvolume-type=plain\n");
	key("noapqn", CCA[0], "cca-aes", "volumes=/dev/dasde1:enc3\nvolume-type=luks2\n");
	volume("_dev_dasdc1", CCA[0], "cca-aes", CCA_APQNS, "c1-passphrase");
	volume("_dev_dasdc2", CCA[0], "cca-aes", CCA_APQNS, "c2-passphrase");
	volume("_dev_dasde1", CCA[0], "cca-aes", CCA_APQNS, "e1-passphrase");
	store("kms/identity.skey", CCA[0], "cca-apka");
	store("kms/wrapping.skey", CCA[0], "cca-apka");
	path_of(p, sizeof(p), "%s/kms/apqns", zdir);
	write_text(p, 0644, "%s\n", CCA_APQNS);
}
