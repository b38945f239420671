// SPDX-License-Identifier: MIT
/*
 * The zkey helpers' recover phase after an early activation (a master key
 * made current before every consumer re-enciphered), run as the agent runs
 * them on the stage of zkeystage.c: a CCA AES key, recovered from the OLD
 * register, each helper run twice (a rerun after a crash); and EP11, which
 * has no OLD register: what can be recovered (a volume staged before the
 * activation) is, what cannot is named with what to do and never reported
 * recovered. The keys are wrapped blobs under apsim's master keys, so
 * "nothing lost" is checked. A full change: test-zkey.
 */
#include <stdio.h>

#include "zkeystage.h"
#include "tap.h"

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
	char p[8400];

	(void)argc;
	fixture_setup(argv);
	zkey_setup();
	/* the repository bound to the KMIP plugin, as test-zkey's change leaves it */
	path_of(p, sizeof(p), "%s/kms.conf", repo);
	write_text(p, 0644, "kms=KMIP\n");
	cca_early();
	ep11_early();
	apsim_free(sim);
	return done_testing();
}
