// SPDX-License-Identifier: MIT
/*
 * The zkey helpers (mkagent-zkey, mkagent-zkey-cryptsetup, mkagent-zkey-kmip)
 * run phase by phase as the agent runs them (DESIGN §5: the environment, fd 3
 * a PIN socket served here), against the zkey simulator that behaves as the
 * s390-tools sources do (selftest/tools/README.md): the indented `zkey list`
 * records, LUKS2 passphrases over fd 3 and a pipe, phases run twice (a rerun
 * after a crash), no KMS binding, no key of the APQNs, keys with no APQNs, a
 * repository elsewhere, and an early EP11 activation. The keys are wrapped
 * blobs under apsim's master keys, so "nothing lost" is checked at the end.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

#define CCA_APQNS "08.0033,09.0033,0b.0033"
#define EP11_APQNS "0a.0033,0c.0033"

static char zdir[4096], repo[4200], bin[4200], work[4200], other_work[4200];
static const char *wd = work; /* the operation's work directory */
static char asked[4096]; /* the PIN labels asked in the last run */
static char output[1 << 16]; /* what the last helper printed, stdout and stderr */

static const struct {
	const char *label, *pass;
} passes[] = {
	{ "luks:dasdc1", "c1-passphrase" }, { "luks:dasdc2", "c2-passphrase" },
	{ "luks:dasde1", "e1-passphrase" }, { "luks:dasdd1", "d1-passphrase" },
	{ "luks:dasdf1", "f1-passphrase" },
};

static void path_of(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void path_of(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

static bool exists(const char *fmt, const char *name)
{
	char p[8400];

	snprintf(p, sizeof(p), fmt, zdir, name);
	return access(p, F_OK) == 0;
}

/* Answer the helper's complete "PIN label" lines; a line may come in
 * pieces, so what follows the last newline waits for the next read. */
static char pending[512];

static void serve(int sock)
{
	size_t have = strlen(pending);
	ssize_t n = read(sock, pending + have, sizeof(pending) - 1 - have);
	char *r, *nl;

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

/* Run helper @name (its arguments NULL terminated) in phase @phase, as the agent does. */
static int helper(const char *apqns, const char *types, const char *name, ...)
	__attribute__((sentinel));
static int helper(const char *apqns, const char *types, const char *name, ...)
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

#define ZKEY(apqns, types, phase, unassigned)                                                       \
	helper(apqns, types, "helpers/mkagent-zkey", "--tool", bin_zkey, "--repository", repo,        \
	       "--unassigned", unassigned, phase, NULL)
#define ZCS(apqns, types, phase, unassigned)                                                        \
	helper(apqns, types, "helpers/mkagent-zkey-cryptsetup", "--zkey", bin_zkey, "--tool", bin_zcs, \
	       "--repository", repo, "--unassigned", unassigned, phase, NULL)
#define KMIP(apqns, types, phase)                                                                   \
	helper(apqns, types, "helpers/mkagent-zkey-kmip", "--tool", bin_zkey, "--repository", repo,   \
	       phase, NULL)

static char bin_zkey[4300], bin_zcs[4300];

static void store(const char *rel, struct apqn a, const char *type)
{
	char p[8400];

	path_of(p, sizeof(p), "%s/%s", zdir, rel);
	simkeys_init(p, a, type, 1, false);
}

static void key(const char *name, struct apqn a, const char *type, const char *props)
{
	char p[8400];

	path_of(p, sizeof(p), "repo/%s.skey", name);
	store(p, a, type);
	path_of(p, sizeof(p), "%s/%s.info", repo, name);
	write_text(p, 0644, "%s", props);
}

static void volume(const char *dev, struct apqn a, const char *type, const char *apqns, const char *pass)
{
	char p[8400];

	path_of(p, sizeof(p), "volumes/%s.skey", dev);
	store(p, a, type);
	path_of(p, sizeof(p), "%s/volumes/%s.apqns", zdir, dev);
	write_text(p, 0644, "%s\n", apqns);
	path_of(p, sizeof(p), "%s/volumes/%s.pass", zdir, dev);
	write_text(p, 0600, "%s\n", pass);
}

static bool under(const char *rel, struct apqn a)
{
	char p[8400], out[256];

	path_of(p, sizeof(p), "%s/%s", zdir, rel);
	if (verify_store(p, a, out, sizeof(out)) == 0 && strstr(out, ", 0 staged"))
		return true;
	diag("%s: %s", rel, out);
	return false;
}

static void setup(void)
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

/* What the simulator does, as the sources say (README.md cites them). */
static void simulator(void)
{
	struct run_result r;
	char *zcs_validate[] = { bin_zcs, "validate", "/dev/dasdc1", NULL };
	char *zcs_complete[] = { bin_zcs, "reencipher", "/dev/dasdc1", "--complete", NULL };
	char *kms_complete[] = { bin_zkey, "kms", "reencipher", "--complete", NULL };
	char *zkey_complete[] = { bin_zkey, "reencipher", "--complete", "--name", "plain", NULL };
	char *zkey_list[] = { bin_zkey, "list", NULL };

	setenv("ZKEY_REPOSITORY", repo, 1);
	run_argv(&r, zkey_list);
	ok(strstr(r.out, "        Volumes              : /dev/dasdc1:enc1\n"
			 "                               /dev/dasdc2:enc2\n") != NULL,
	   "sim: zkey list prints the long record format, a second volume on a continuation line");
	ok(strstr(r.out, "        APQNs                : (none)\n") != NULL, "sim: a key with no APQNs shows (none)");
	run_result_free(&r);
	run_argv(&r, zcs_validate);
	is_int(r.status, 1, "sim: zkey-cryptsetup with stdin not a terminal and empty fails ...");
	ok(strstr(r.err, "Nothing read on input") != NULL, "... 'Nothing read on input'");
	run_result_free(&r);
	run_argv(&r, zcs_complete);
	is_int(r.status, 1, "sim: zkey-cryptsetup reencipher --complete with nothing staged fails ...");
	ok(strstr(r.err, "Staged volume key re-enciphering is not pending for device '/dev/dasdc1'") != NULL,
	   "... as zkey-cryptsetup.c says");
	run_result_free(&r);
	run_argv(&r, zkey_complete);
	is_int(r.status, 0, "sim: zkey reencipher --complete with nothing staged succeeds ...");
	ok(strstr(r.err, "Staged re-enciphering is not pending for key 'plain', skipping") != NULL,
	   "... with keystore.c's warning");
	run_result_free(&r);
	run_argv(&r, kms_complete);
	is_int(r.status, 1, "sim: zkey kms reencipher on a repository not bound to a KMS plugin fails ...");
	ok(strstr(r.err, "The repository is not bound to a KMS plugin") != NULL, "... as kms.c says");
	run_result_free(&r);
	unsetenv("ZKEY_REPOSITORY");
	run_argv(&r, zkey_list);
	ok(!strstr(r.out, "Key "), "sim: without ZKEY_REPOSITORY zkey reads its default repository, not ours");
	run_result_free(&r);
}

static bool pass_leaked(void)
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

static void cca_change(void)
{
	struct apsim_key aes, apka;
	char p[8400];
	_cleanup_free_ char *calls = NULL;

	apsim_random_key(MK_CCA_AES, &aes);
	apsim_random_key(MK_CCA_APKA, &apka);
	load_all(CCA, 3, MK_CCA_AES, &aes);
	load_all(CCA, 3, MK_CCA_APKA, &apka);

	/* the zkey repository, found through --repository */
	is_int(ZKEY(CCA_APQNS, "cca-aes cca-apka", "reencipher", "skip"), 0, "zkey reencipher: done");
	ok(exists("%s/repo/%s.renc", "vols") && exists("%s/repo/%s.renc", "plain"),
	   "zkey reencipher: the keys of the repository given by --repository are staged");
	ok(!exists("%s/repo/%s.renc", "noapqn"), "--unassigned skip: a key with no APQNs is left ...");
	ok(strstr(output, "keys with no APQNs, not re-enciphered (--unassigned skip): noapqn") != NULL,
	   "... and named");
	is_int(ZKEY(CCA_APQNS, "cca-aes cca-apka", "reencipher", "include"), 0, "zkey reencipher, run again: done");
	ok(exists("%s/repo/%s.renc", "noapqn"), "--unassigned include: the key with no APQNs is staged too");
	wd = other_work; /* another operation */
	is_int(ZKEY("01.0001", "cca-aes", "reencipher", "skip"), 0, "zkey: no key of the APQNs: done ...");
	wd = work;
	ok(strstr(output, "notice: no zkey key") != NULL, "... with a notice");

	/* LUKS2 volumes; one staged before this operation (by hand, its passphrase on stdin) */
	path_of(p, sizeof(p), "%s/calls", zdir);
	{
		char cmd[9000];

		snprintf(cmd, sizeof(cmd), "echo c2-passphrase | %s reencipher /dev/dasdc2 --staged >/dev/null", bin_zcs);
		is_int(system(cmd), 0, "a volume staged before the operation");
		unlink(p);
	}
	is_int(ZCS(CCA_APQNS, "cca-aes cca-apka", "reencipher", "skip"), 0, "zkey-cryptsetup reencipher: done");
	ok(strstr(output, "(yes implied because '--batch-mode'") != NULL,
	   "the volume staged before the operation is staged again, --batch-mode answering [y/N]");
	ok(exists("%s/volumes/%s.renc", "_dev_dasdc1") && exists("%s/volumes/%s.renc", "_dev_dasdc2"),
	   "both volumes of the key are staged, the second from a continuation line of zkey list");
	is_string(asked, "luks:dasdc1 luks:dasdc2 ", "their passphrases are asked over fd 3, one label per volume");
	ok(!exists("%s/volumes/%s.renc", "_dev_dasde1") &&
		   strstr(output, "volumes of keys with no APQNs, not re-enciphered (--unassigned skip): /dev/dasde1"),
	   "--unassigned skip: the volume of a key with no APQNs is left and named");
	path_of(p, sizeof(p), "%s/calls", zdir);
	calls = read_text(p);
	ok(calls && strstr(calls, "reencipher /dev/dasdc1 --staged --key-file /dev/fd/4"),
	   "the passphrase reaches zkey-cryptsetup through --key-file on a pipe");
	ok(!pass_leaked(), "no passphrase in a tool's argv, environment or a file");
	is_int(ZCS(CCA_APQNS, "cca-aes cca-apka", "reencipher", "include"), 0,
	       "zkey-cryptsetup reencipher, run again: done ...");
	ok(!strstr(output, "[y/N]") && strstr(output, "volume /dev/dasdc1: already staged by this operation"),
	   "... without the [y/N] question: what is pending was read first");
	ok(exists("%s/volumes/%s.renc", "_dev_dasde1"), "--unassigned include: that volume is staged too");
	wd = other_work;
	is_int(ZCS("01.0001", "cca-aes", "reencipher", "skip"), 0, "zkey-cryptsetup: no volume of the APQNs: done ...");
	wd = work;
	ok(strstr(output, "notice: no LUKS2 volume") != NULL, "... with a notice");
	wd = other_work;
	is_int(helper(CCA_APQNS, "cca-aes", "helpers/mkagent-zkey-cryptsetup", "--zkey", bin_zkey, "--tool",
		      bin_zcs, "--repository", "/nonexistent/zkey", "--unassigned", "skip", "reencipher", NULL),
	       1, "zkey-cryptsetup: zkey list fails: the phase fails ...");
	wd = work;
	ok(strstr(output, "zkey list: ") && !strstr(output, "nothing to do"),
	   "... saying why, never 'nothing to do'");

	/* the KMIP plugin */
	is_int(KMIP(CCA_APQNS, "cca-aes cca-apka", "reencipher"), 0, "zkey-kmip: a repository not bound: done ...");
	ok(strstr(output, "notice: the zkey repository") && strstr(output, "is not bound to a KMS plugin"),
	   "... with a notice");
	path_of(p, sizeof(p), "%s/kms.conf", repo);
	write_text(p, 0644, "kms=KMIP\n");
	is_int(KMIP(CCA_APQNS, "cca-aes cca-apka", "reencipher"), 0, "zkey-kmip reencipher: done");
	ok(exists("%s/kms/%s", "identity.renc"), "the plugin's keys are staged");
	is_int(KMIP(CCA_APQNS, "cca-aes cca-apka", "reencipher"), 0, "zkey-kmip reencipher, run again: done");
	is_int(KMIP(EP11_APQNS, "ep11", "reencipher"), 0, "zkey-kmip: the plugin on other APQNs: done ...");
	ok(strstr(output, "are not in the operation") != NULL, "... with a notice");

	activate_all(CCA, 3, MK_CCA_AES);
	activate_all(CCA, 3, MK_CCA_APKA);
	for (int i = 0; i < 2; i++) {
		is_int(ZKEY(CCA_APQNS, "cca-aes cca-apka", "finalize", "include"), 0, "zkey finalize, run %d: done", i + 1);
		is_int(ZCS(CCA_APQNS, "cca-aes cca-apka", "finalize", "include"), 0,
		       "zkey-cryptsetup finalize, run %d: done", i + 1);
		is_int(KMIP(CCA_APQNS, "cca-aes cca-apka", "finalize"), 0, "zkey-kmip finalize, run %d: done", i + 1);
	}
	ok(strstr(output, "already completed") != NULL, "a second finalize reads that nothing is pending");
	ok(under("repo/vols.skey", CCA[2]) && under("repo/plain.skey", CCA[2]) && under("repo/noapqn.skey", CCA[2]),
	   "the repository's keys are under the new master key, nothing lost");
	ok(under("volumes/_dev_dasdc1.skey", CCA[2]) && under("volumes/_dev_dasdc2.skey", CCA[2]) &&
		   under("volumes/_dev_dasde1.skey", CCA[2]),
	   "the volume keys are under the new master key, nothing lost");
	ok(under("kms/identity.skey", CCA[2]) && under("kms/wrapping.skey", CCA[2]),
	   "the plugin's keys are under the new master key, nothing lost");
	ok(!pass_leaked(), "still no passphrase in argv, environment or a file");
}

/* A CCA AES key activated before any consumer re-enciphered: recover, twice. */
static void cca_early(void)
{
	struct apsim_key aes;

	apsim_random_key(MK_CCA_AES, &aes);
	load_all(CCA, 3, MK_CCA_AES, &aes);
	activate_all(CCA, 3, MK_CCA_AES);
	for (int i = 0; i < 2; i++) {
		is_int(ZKEY(CCA_APQNS, "cca-aes", "recover", "include"), 0, "CCA early, zkey recover run %d: done", i + 1);
		ok(strstr(output, i ? "key 'vols': under the CURRENT master key"
				    : "key 'vols': recovered, re-enciphered from the OLD to the CURRENT master key"),
		   "... %s", i ? "the rerun finds it recovered" : "from OLD");
		is_int(ZCS(CCA_APQNS, "cca-aes", "recover", "include"), 0,
		       "CCA early, zkey-cryptsetup recover run %d: done", i + 1);
		ok(strstr(output, i ? "volume /dev/dasdc1: its volume key is under the CURRENT master key"
				    : "volume /dev/dasdc1: recover done"),
		   "... %s", i ? "the rerun finds it recovered" : "in place from OLD");
		is_int(KMIP(CCA_APQNS, "cca-aes", "recover"), 0, "CCA early, zkey-kmip recover run %d: done", i + 1);
		ok(strstr(output, "no cca-apka or ep11 master key") != NULL, "... its keys are not of an AES change");
	}
	ok(under("repo/vols.skey", CCA[1]) && under("repo/plain.skey", CCA[1]) && under("repo/noapqn.skey", CCA[1]) &&
		   under("volumes/_dev_dasdc1.skey", CCA[1]) && under("volumes/_dev_dasdc2.skey", CCA[1]) &&
		   under("volumes/_dev_dasde1.skey", CCA[1]),
	   "CCA early: every key and volume key recovered under the new CURRENT key, nothing lost");
}

/* EP11 activated before every consumer re-enciphered: no OLD register. */
static void ep11_early(void)
{
	struct apsim_key wk;
	char p[8400];
	struct run_result r;
	char *stage[] = { bin_zcs, "reencipher", "/dev/dasdd1", "--staged", "--key-file", p, NULL };

	key("ep11vol", EP11[0], "ep11",
	    "apqns=" EP11_APQNS "\nvolumes=/dev/dasdd1:enc4,/dev/dasdf1:enc5\nvolume-type=luks2\nkms=KMIP\n");
	volume("_dev_dasdd1", EP11[0], "ep11", EP11_APQNS, "d1-passphrase");
	volume("_dev_dasdf1", EP11[0], "ep11", EP11_APQNS, "f1-passphrase");
	for (int i = 0; i < 2; i++) {
		path_of(p, sizeof(p), "%s/kms/%s", zdir, i ? "wrapping.skey" : "identity.skey");
		remove_tree(p);
	}
	store("kms/identity.skey", EP11[0], "ep11");
	store("kms/wrapping.skey", EP11[0], "ep11");
	path_of(p, sizeof(p), "%s/kms/apqns", zdir);
	write_text(p, 0644, "%s\n", EP11_APQNS);

	apsim_random_key(MK_EP11, &wk);
	load_all(EP11, 2, MK_EP11, &wk);
	/* one volume staged (by hand, its passphrase in a file), the other not */
	path_of(p, sizeof(p), "%s/volumes/_dev_dasdd1.pass", zdir);
	run_argv(&r, stage);
	is_int(r.status, 1, "a key file with the passphrase's newline is not the passphrase (read whole)");
	run_result_free(&r);
	path_of(p, sizeof(p), "%s/d1", tmp);
	write_text(p, 0600, "d1-passphrase");
	run_argv(&r, stage);
	is_int(r.status, 0, "one volume staged before the early activation");
	run_result_free(&r);
	activate_all(EP11, 2, MK_EP11);

	is_int(ZCS(EP11_APQNS, "ep11", "recover", "skip"), 1, "zkey-cryptsetup recover: not all recovered: fails");
	ok(strstr(output, "volume /dev/dasdd1: recover done") != NULL && under("volumes/_dev_dasdd1.skey", EP11[1]),
	   "the staged volume is recovered: its staged key is completed under the new wrapping key");
	ok(strstr(output, "volume /dev/dasdf1: NOT recovered") && strstr(output, "copy it") &&
		   !strstr(output, "volume /dev/dasdf1: recover done"),
	   "the other is named as not recovered, with what to do, and never reported recovered");

	is_int(ZKEY(EP11_APQNS, "ep11", "recover", "skip"), 1, "zkey recover: an EP11 key not recoverable: fails ...");
	ok(strstr(output, "key 'ep11vol': NOT recovered") && strstr(output, "zkey kms refresh") &&
		   !strstr(output, "key 'ep11vol': recovered"),
	   "... naming the key and what to do, never claiming it recovered");

	is_int(KMIP(EP11_APQNS, "ep11", "recover"), 1, "zkey-kmip recover after an early EP11 activation: fails ...");
	ok(strstr(output, "NOT recovered") && strstr(output, "--gen-identity-key") &&
		   !strstr(output, "imported again under"),
	   "... saying the identity key is lost and how to make a new one, claiming no refresh");
}

int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	setup();
	simulator();
	cca_change();
	cca_early();
	ep11_early();
	apsim_free(sim);
	return done_testing();
}
