// SPDX-License-Identifier: MIT
/*
 * The openCryptoki consumer: mkagent-opencryptoki driving the
 * pkcshsm_mk_change simulator on a pseudo-terminal, with PINs over fd 3.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fixture.h"
#include "tap.h"
#include "../agent/macro.h"

static char ock[4096], slots_path[4200];

static void sha_hex(const char *s, char *out)
{
	unsigned char md[32];

	EVP_Digest(s, strlen(s), md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static void write_slots(bool spare_present, const char *cca_pin)
{
	char good[65], cca[65];

	sha_hex(PIN, good);
	sha_hex(cca_pin, cca);
	write_text(slots_path, 0644, "2 cca-token cca 1 %s\n4 ep11-token ep11 1 %s\n6 spare cca %d %s\n",
		   cca, good, spare_present, good);
}

static int sim_ops(void)
{
	char path[4200];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/HSM_MK_CHANGE", ock);
	d = opendir(path);
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static char *plan_ock(const char *apqns, const char *opt, const char *hex)
{
	struct run_result r;
	char *id;

	mk(&r, "plan", "-a", apqns, opt, hex, "--profiles", "ock", NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan: %s", r.err);
	run_result_free(&r);
	return id;
}

/* kill -9 of the helper right after the tool created its operation */
static void killed_helper(const char *wrapper)
{
	char hex[MKVP_STR_MAX], kept[4300], slow[4300], *id;
	struct apsim_key k;
	struct run_result r;
	pid_t pid;
	int waited;

	snprintf(slow, sizeof(slow), "%s.slow", wrapper);
	write_text(slow, 0755, "#!/bin/sh\nPKCSHSM_SIM_DELAY=10 exec %s \"$@\"\n", wrapper);
	{
		char exec[8400];

		_cleanup_free_ char *helper = installed("helpers/mkagent-opencryptoki");

		snprintf(exec, sizeof(exec), "%s --tool %s", helper, slow);
		write_profile("ockslow", "cca-apka", true, exec, NULL);
	}
	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	mk(&r, "plan", "-a", "08.0033,09.0033,0b.0033", "-p", hex, "--profiles", "ockslow", NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	run_result_free(&r);
	if (!id)
		bail_out("plan");
	load_all(CCA, 3, MK_CCA_APKA, &k);
	snprintf(kept, sizeof(kept), "%s/work/%s/ockslow/pkcshsm_mk_change.id", state, id);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(build_path("agent/mkagent"), "mkagent", "reencipher", "-i", id, NULL);
		_exit(127);
	}
	for (waited = 0; waited < 10000 && access(kept, F_OK) != 0; waited += 50)
		usleep(50000);
	ok(access(kept, F_OK) == 0, "kill -9: the tool created its operation and the helper kept its ID");
	if (system("pkill -9 -f 'mkagent-opencryptoki --tool .*[.]slow'") != 0)
		diag("pkill found nothing");
	waitpid(pid, NULL, 0);
	is_string(op_field(id, "state"), "error", "the helper killed mid-phase: the operation is in error");
	is_int(sim_ops(), 1, "with one pkcshsm_mk_change operation");
	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "re-running the step completes it");
	run_result_free(&r);
	is_int(sim_ops(), 1, "without a second pkcshsm_mk_change operation");
	mk(&r, "cancel", "-i", id, NULL);
	is_int(r.status, 0, "and it cancels");
	run_result_free(&r);
	for (size_t i = 0; i < 3; i++)
		apsim_clear_new(sim, CCA[i], MK_CCA_APKA);
	free(id);
}

int main(int argc, char **argv)
{
	char path[4200], exec[8400], hex[MKVP_STR_MAX], out[256], store[4300], *id;
	_cleanup_free_ char *helper = NULL;
	struct apsim_key k;
	struct run_result r;

	(void)argc;
	fixture_setup(argv);
	snprintf(ock, sizeof(ock), "%s/ock", tmp);
	mkdir(ock, 0700);
	snprintf(path, sizeof(path), "%s/hsm", ock);
	write_text(path, 0644, "%s\n", apsim_hsm_dir(sim));
	snprintf(path, sizeof(path), "%s/simkeys", ock);
	write_text(path, 0644, "%s\n", simkeys);
	snprintf(slots_path, sizeof(slots_path), "%s/slots", ock);
	write_slots(true, PIN);
	snprintf(store, sizeof(store), "%s/token-2", ock);
	simkeys_init(store, CCA[0], "cca-aes", 30, false);
	snprintf(store, sizeof(store), "%s/token-6", ock);
	simkeys_init(store, CCA[0], "cca-aes", 5, false);
	snprintf(store, sizeof(store), "%s/token-4", ock);
	simkeys_init(store, EP11[0], "ep11", 30, false);
	snprintf(path, sizeof(path), "%s/pkcshsm_mk_change", tmp);
	write_text(path, 0755, "#!/bin/sh\nexec %s --sim-dir %s \"$@\"\n",
		   build_path("selftest/tools/pkcshsm_mk_change"), ock);
	helper = installed("helpers/mkagent-opencryptoki");
	snprintf(exec, sizeof(exec), "%s --tool %s", helper, path);
	write_profile("ock", "cca-sym cca-asym cca-aes cca-apka ep11", true, exec, NULL);

	/* the simulator refuses what the tool refuses */
	{
		char *args[] = { path, "reencipher", "--apqns", "08.0033", "--cca-aes-mkvp",
				 "0011223344556677", NULL };

		run_argv(&r, args);
		ok(r.status == 1 && strstr(r.err, "The new master key on APQN 08.0033 is not set"),
		   "simulator: reencipher while NEW is not loaded is refused");
		run_result_free(&r);
		args[1] = "finalize";
		args[2] = "--id";
		args[3] = "NOSUCH";
		args[4] = NULL;
		run_argv(&r, args);
		ok(r.status == 1 && strstr(r.err, "Operation 'NOSUCH' not found"),
		   "simulator: an unknown operation is refused");
		run_result_free(&r);
	}

	/* a CCA change by hand */
	apsim_random_key(MK_CCA_AES, &k);
	hex_of(MK_CCA_AES, &k, hex);
	id = plan_ock("08.0033,09.0033,0b.0033", "-A", hex);
	load_all(CCA, 3, MK_CCA_AES, &k);
	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "openCryptoki: reencipher answers every PIN prompt over fd 3");
	ok(strstr(r.err, "Enter the USER PIN for slot 2:") && strstr(r.err, "Slot 2: Label: cca-token"),
	   "the tool's prompts are logged");
	run_result_free(&r);
	is_int(sim_ops(), 1, "pkcshsm_mk_change created one operation");
	snprintf(store, sizeof(store), "%s/token-2", ock);
	verify_store(store, CCA[0], out, sizeof(out));
	is_string(out, "30 of 30 keys verified under the current master key, 30 staged",
		  "the token's keys are re-enciphered (staged)");

	/* a crash after the tool finished but before mkagent recorded it */
	mk(&r, "helper", "ock", "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "a rerun of the phase after a crash succeeds");
	ok(strstr(r.out, "") != NULL && strstr(r.err, "was already re-enciphered"),
	   "finding the kept operation with 'pkcshsm_mk_change list -i'");
	is_int(sim_ops(), 1, "and no second pkcshsm_mk_change operation is created");
	run_result_free(&r);

	{
		char tool_id[8] = "", kept[4300], *text;
		char *args[] = { path, "finalize", "--id", tool_id, NULL };

		snprintf(kept, sizeof(kept), "%s/work/%s/ock/pkcshsm_mk_change.id", state, id);
		text = read_text(kept);
		if (text)
			sscanf(text, "%6s", tool_id);
		free(text);
		run_argv(&r, args);
		ok(r.status == 1 && strstr(r.err, "not yet set/activated"),
		   "simulator: finalize before activation is refused");
		run_result_free(&r);
	}
	activate_all(CCA, 3, MK_CCA_AES);
	mk(&r, "finalize", "-i", id, NULL);
	is_int(r.status, 0, "finalize runs 'pkcshsm_mk_change finalize --id' with PINs");
	killed_helper(path);
	run_result_free(&r);
	is_int(sim_ops(), 0, "the tool's operation is finalized");
	verify_store(store, CCA[2], out, sizeof(out));
	is_string(out, "30 of 30 keys verified under the current master key, 0 staged",
		  "every key of the token works under the new master key");
	free(id);

	/* a token that is not there: wait, never risk its keys */
	write_slots(false, PIN);
	apsim_random_key(MK_CCA_AES, &k);
	hex_of(MK_CCA_AES, &k, hex);
	id = plan_ock("08.0033,09.0033,0b.0033", "-A", hex);
	load_all(CCA, 3, MK_CCA_AES, &k);
	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 1, "a missing token: the phase cannot go on");
	ok(strstr(r.err, "not possible yet (exit 75)") != NULL, "the helper answered N and exited 75");
	is_string(op_field(id, "state"), "reenciphering", "the operation stays in its phase");
	is_int(sim_ops(), 0, "and pkcshsm_mk_change started nothing");
	run_result_free(&r);
	write_slots(true, PIN);
	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "the token is back: the operation proceeds");
	run_result_free(&r);
	mk(&r, "cancel", "-i", id, NULL);
	is_int(r.status, 0, "cancel runs 'pkcshsm_mk_change cancel --id'");
	is_int(sim_ops(), 0, "and the tool's operation is gone");
	run_result_free(&r);
	snprintf(store, sizeof(store), "%s/token-2", ock);
	verify_store(store, CCA[0], out, sizeof(out));
	is_string(out, "30 of 30 keys verified under the current master key, 0 staged",
		  "after cancel the keys are as they were");
	for (size_t i = 0; i < 3; i++)
		apsim_clear_new(sim, CCA[i], MK_CCA_AES);
	free(id);

	/* a wrong PIN */
	write_slots(true, "another PIN");
	apsim_random_key(MK_CCA_AES, &k);
	hex_of(MK_CCA_AES, &k, hex);
	id = plan_ock("08.0033,09.0033,0b.0033", "-A", hex);
	load_all(CCA, 3, MK_CCA_AES, &k);
	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 1, "a wrong PIN fails the phase");
	is_string(op_field(id, "reason"),
		  "profile ock reencipher failed: Failed to login to slot 2: CKR_PIN_INCORRECT",
		  "the reason names the slot, not the PIN");
	run_result_free(&r);
	ok(!dir_contains(state, PIN) && !strstr(all_output, PIN), "the PIN is in no log or state file");
	free(id);
	apsim_free(sim);
	return done_testing();
}
