// SPDX-License-Identifier: MIT
/*
 * The zkey helpers (mkagent-zkey, mkagent-zkey-cryptsetup, mkagent-zkey-kmip)
 * run phase by phase as the agent runs them (DESIGN §5: the environment, fd 3
 * a PIN socket served by zkeystage.c), against the zkey simulator that behaves
 * as the s390-tools sources do (selftest/tools/README.md): the indented `zkey
 * list` records, LUKS2 passphrases over fd 3 and a pipe, phases run twice (a
 * rerun after a crash), no KMS binding, no key of the APQNs, keys with no
 * APQNs and a repository elsewhere, in a full CCA change. The keys are
 * wrapped blobs under apsim's master keys, so "nothing lost" is checked at
 * the end. An early activation: test-zkey-early.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "zkeystage.h"
#include "tap.h"
#include "core/macro.h"

static bool exists(const char *fmt, const char *name)
{
	char p[8400];

	snprintf(p, sizeof(p), fmt, zdir, name);
	return access(p, F_OK) == 0;
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

int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	zkey_setup();
	simulator();
	cca_change();
	apsim_free(sim);
	return done_testing();
}
