// SPDX-License-Identifier: MIT
/*
 * A whole master key change by hand: plan, TKE load, reencipher,
 * activate, finalize (and cancel), with simkeys as the consumer, and the
 * refusals met on the way with their message, exit code and the state
 * directory left byte for byte as it was; what a helper is given and how
 * its failures end (timeout, exit 75, a failure, a wrong PIN); and the PIN
 * in no file, output or helper environment. The refusals of bad input, the
 * creation lock and racing plans are test-ops-refusals.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

/*
 * A whole master key change by hand: plan, TKE load, reencipher,
 * activate, finalize (and cancel), with simkeys as the consumer, and
 * every refusal with its message, exit code and the state directory
 * left byte for byte as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static void cca_cycle(void)
{
	struct apsim_key aes, apka, wrong;
	char A[MKVP_STR_MAX], P[MKVP_STR_MAX], W[MKVP_STR_MAX], path[4096], out[256], *id, *audit;
	struct run_result r;

	apsim_random_key(MK_CCA_AES, &aes);
	apsim_random_key(MK_CCA_APKA, &apka);
	apsim_random_key(MK_CCA_AES, &wrong);
	hex_of(MK_CCA_AES, &aes, A);
	hex_of(MK_CCA_APKA, &apka, P);
	hex_of(MK_CCA_AES, &wrong, W);

	mk(&r, "plan", "-a", "08.0033,09.0033,0b.0033", "-A", A, "-p", P, NULL);
	is_int(r.status, 0, "plan a CCA AES and APKA change on three APQNs");
	id = created_id(r.out);
	ok(id != NULL, "plan prints: Master key change operation 'ID' created.");
	run_result_free(&r);
	if (!id)
		bail_out("no operation ID");
	id = strdup(id);

	refused(1, "cca-aes NEW is empty, not loaded with", "reencipher before the NEW register is loaded",
		"reencipher", "-i", id, NULL);
	for (size_t i = 0; i < 3; i++)
		apsim_load_part(sim, CCA[i], MK_CCA_AES, &aes);
	refused(1, "(the TKE is still loading it)", "reencipher while NEW is partial", "reencipher",
		"-i", id, NULL);
	for (size_t i = 0; i < 3; i++)
		apsim_commit(sim, CCA[i], MK_CCA_AES);
	load_all(CCA, 3, MK_CCA_APKA, &apka);
	apsim_load(sim, CCA[2], MK_CCA_AES, &wrong);
	snprintf(out, sizeof(out), "APQN 0B.0033: cca-aes NEW holds %s, not the planned %s", W, A);
	refused(1, out, "reencipher with a wrong NEW pattern", "reencipher", "-i", id, NULL);
	apsim_load(sim, CCA[2], MK_CCA_AES, &aes);
	apsim_set_online(sim, CCA[1], false);
	refused(1, "APQN 09.0033 is offline", "reencipher with an APQN offline", "reencipher", "-i", id,
		NULL);
	apsim_set_online(sim, CCA[1], true);
	apsim_set_chkstop(sim, CCA[1], true);
	refused(1, "APQN 09.0033 is check-stopped", "reencipher with an APQN check-stopped",
		"reencipher", "-i", id, NULL);
	apsim_set_chkstop(sim, CCA[1], false);

	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "reencipher -i once every APQN has NEW loaded");
	ok(strstr(r.out, "Re-enciphering, please wait...\nCompleted.") != NULL, "and says so as pkcshsm_mk_change does");
	run_result_free(&r);
	is_int(verify_store(cca_store, CCA[0], out, sizeof(out)), 0, "the keys still work under CUR");
	is_string(out, "100 of 100 keys verified under the current master key, 100 staged",
		  "and every key has a copy staged under NEW");

	refused(1, "not activated yet", "finalize before activation", "finalize", "-i", id, NULL);
	apsim_activate(sim, CCA[0], MK_CCA_AES);
	apsim_activate(sim, CCA[0], MK_CCA_APKA);
	apsim_activate(sim, CCA[1], MK_CCA_AES);
	apsim_activate(sim, CCA[1], MK_CCA_APKA);
	refused(1, "APQN 0B.0033: cca-aes CUR holds", "finalize before activation on every APQN",
		"finalize", "-i", id, NULL);
	refused(1, "APQN 08.0033: cca-aes CUR already holds the new", "cancel after activation",
		"cancel", "-i", id, NULL);
	activate_all(&CCA[2], 1, MK_CCA_AES);
	activate_all(&CCA[2], 1, MK_CCA_APKA);

	mk(&r, "finalize", "-i", id, NULL);
	is_int(r.status, 0, "finalize once activated everywhere");
	snprintf(out, sizeof(out), "Master key change operation '%s' successfully finalized.\n", id);
	ok(strstr(r.out, out) != NULL, "and says so");
	run_result_free(&r);
	is_int(verify_store(cca_store, CCA[2], out, sizeof(out)), 0, "nothing lost:");
	is_string(out, "100 of 100 keys verified under the current master key, 0 staged",
		  "every key unwraps under the new CUR key to its clear value");

	mk(&r, "list", NULL);
	snprintf(out, sizeof(out), "Operation: %s\nState: finalized", id);
	ok(r.status == 0 && strstr(r.out, out) != NULL, "list shows the operation finalized");
	run_result_free(&r);
	snprintf(path, sizeof(path), "%s/history/%s.ini", state, id);
	ok(access(path, F_OK) == 0, "its file is in history/");
	snprintf(path, sizeof(path), "%s/ops/%s.ini", state, id);
	ok(access(path, F_OK) != 0, "and no longer in ops/");
	snprintf(path, sizeof(path), "%s/work/%s", state, id);
	ok(access(path, F_OK) != 0, "its work directory is gone");

	mk(&r, "list", "-i", id, "--json", NULL);
	{
		json_object *o = json_tokener_parse(r.out), *ops, *op, *v;
		bool good = o && json_object_object_get_ex(o, "operations", &ops) &&
			    (op = json_object_array_get_idx(ops, 0));

		ok(good && json_object_object_get_ex(op, "state", &v) &&
			   streq(json_object_get_string(v), "finalized"),
		   "list --json: state finalized");
		ok(good && json_object_object_get_ex(op, "new_mkvps", &v) &&
			   json_object_object_get_ex(v, "cca-aes", &v) &&
			   streq(json_object_get_string(v), A),
		   "list --json: the new cca-aes pattern");
		ok(good && json_object_object_get_ex(op, "profiles", &v) &&
			   json_object_object_get_ex(v, "simkeys-cca", &v) &&
			   json_object_object_get_ex(v, "finalize", &v) &&
			   streq(json_object_get_string(v), "done"),
		   "list --json: the profile's finalize phase is done");
		ok(good && json_object_object_get_ex(op, "auto_finalize", &v) &&
			   json_object_get_boolean(v), "list --json: auto_finalize");
		json_object_put(o);
	}
	run_result_free(&r);

	snprintf(path, sizeof(path), "%s/audit.log", state);
	audit = read_text(path);
	snprintf(out, sizeof(out), "%s - planned\n", id);
	ok(audit && strstr(audit, out), "audit.log: created planned");
	snprintf(out, sizeof(out), "%s reenciphering reenciphered\n", id);
	ok(audit && strstr(audit, out), "audit.log: reenciphering -> reenciphered");
	snprintf(out, sizeof(out), "%s finalizing finalized\n", id);
	ok(audit && strstr(audit, out), "audit.log: finalizing -> finalized");
	free(audit);
	free(id);
}

static void ep11_cancel(void)
{
	struct apsim_key wk;
	char E[MKVP_STR_MAX], out[256], *id;
	struct run_result r;

	apsim_random_key(MK_EP11, &wk);
	hex_of(MK_EP11, &wk, E);
	load_all(EP11, 2, MK_EP11, &wk);
	mk(&r, "reencipher", "-a", "0a.0033,0c.0033", "-e", E, NULL);
	is_int(r.status, 0, "reencipher -a -e: plan an EP11 change and re-encipher at once");
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	run_result_free(&r);
	if (!id)
		bail_out("no operation ID");
	is_int(verify_store(ep11_store, EP11[0], out, sizeof(out)), 0, "EP11 keys still work");
	is_string(out, "100 of 100 keys verified under the current master key, 100 staged",
		  "with copies staged under the new wrapping key");

	mk(&r, "cancel", "-i", id, NULL);
	is_int(r.status, 0, "cancel after reencipher");
	snprintf(out, sizeof(out), "Master key change operation '%s' successfully canceled.\n", id);
	ok(strstr(r.out, out) != NULL, "and says so");
	run_result_free(&r);
	is_int(verify_store(ep11_store, EP11[1], out, sizeof(out)), 0, "after cancel:");
	is_string(out, "100 of 100 keys verified under the current master key, 0 staged",
		  "the keys are unchanged and usable, the staged copies dropped");
	mk(&r, "list", "-i", id, NULL);
	ok(strstr(r.out, "State: canceled") != NULL, "list shows it canceled");
	run_result_free(&r);
	for (size_t i = 0; i < 2; i++)
		apsim_clear_new(sim, EP11[i], MK_EP11);
	free(id);
}

/* A profile whose helper reports what it was given. */
static void helper_contract(void)
{
	char script[4096], exec[4200], dump[4096], A[MKVP_STR_MAX], want[8192], *id, *got;
	struct apsim_key k;
	struct mkvp old;
	struct run_result r;

	snprintf(dump, sizeof(dump), "%s/env.out", tmp);
	snprintf(script, sizeof(script), "%s/envdump", tmp);
	write_text(script, 0755,
		   "#!/bin/sh\n"
		   "{ tr '\\0' '\\n' < /proc/$$/environ | sort\n"
		   "  echo \"cwd=$(readlink /proc/$$/cwd)\"\n"
		   "  echo \"stdin=$(readlink /proc/$$/fd/0)\"\n"
		   "  readlink /proc/$$/fd/3 | sed 's/:.*//; s/^/fd3=/'\n"
		   "  echo \"args=$*\"\n"
		   "  printf 'PIN simkeys\\n' >&3; read -r answer <&3; echo \"pin=${answer%%%% *}\"\n"
		   "} > %s\n",
		   dump);
	snprintf(exec, sizeof(exec), "%s one two", script);
	write_profile("envdump", "cca-apka", true, exec, NULL);

	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, A);
	load_all(CCA, 1, MK_CCA_APKA, &k);
	mk(&r, "plan", "-a", "08.0033", "-p", A, "--profiles", "envdump", NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	run_result_free(&r);
	if (!id)
		bail_out("no operation ID");
	mk(&r, "helper", "envdump", "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "helper PROFILE PHASE -i ID runs one phase by hand");
	run_result_free(&r);

	{
		struct apsim_key cur;
		char oldhex[MKVP_STR_MAX];

		apsim_get_key(sim, CCA[0], MK_CCA_APKA, REG_CUR, &cur);
		apsim_key_mkvp(MK_CCA_APKA, &cur, &old);
		mkvp_truncate(&old, 8);
		mkvp_format(&old, oldhex);
		snprintf(want, sizeof(want),
			 "LANG=C\nMKAGENT_APQNS=08.0033\nMKAGENT_MK_TYPES=cca-apka\n"
			 "MKAGENT_NEW_MKVP_CCA_APKA=%s\nMKAGENT_OLD_MKVP_CCA_APKA=%s\n"
			 "MKAGENT_OP_ID=%s\nMKAGENT_PHASE=reencipher\nMKAGENT_PROFILE=envdump\n"
			 "MKAGENT_WORK_DIR=%s/work/%s/envdump\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
			 "cwd=%s/work/%s/envdump\nstdin=/dev/null\nfd3=socket\nargs=one two reencipher\npin=OK\n",
			 A, oldhex, id, state, id, state, id);
	}
	got = read_text(dump);
	is_string(got, want, "the helper gets exactly the contract's environment, work directory, stdin, fd 3 and arguments");
	free(got);
	{
		struct stat st;
		char wd[4096];

		snprintf(wd, sizeof(wd), "%s/work/%s/envdump", state, id);
		ok(stat(wd, &st) == 0 && (st.st_mode & 0777) == 0700, "the work directory is private (0700)");
	}
	mk(&r, "cancel", "-i", id, NULL);
	run_result_free(&r);
	apsim_clear_new(sim, CCA[0], MK_CCA_APKA);
	free(id);
}

/* Plan on 0B.0033 cca-apka for one profile and reencipher it. */
static char *run_profile(const char *profile, struct run_result *r)
{
	struct apsim_key k;
	char A[MKVP_STR_MAX], *id;

	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, A);
	apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
	mk(r, "plan", "-a", "0b.0033", "-p", A, "--profiles", profile, NULL);
	id = created_id(r->out) ? strdup(created_id(r->out)) : NULL;
	run_result_free(r);
	if (!id)
		bail_out("no operation ID");
	mk(r, "reencipher", "-i", id, NULL);
	return id;
}

static void helper_outcomes(void)
{
	char script[4096], *id;
	struct run_result r;
	struct timespec t0, t1;

	snprintf(script, sizeof(script), "%s/hang", tmp);
	write_text(script, 0755, "#!/bin/sh\n[ \"$1\" = reencipher ] && exec sleep 600\nexit 0\n");
	write_profile("hang", "cca-apka", false, script, "timeout = 1\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	id = run_profile("hang", &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	is_int(r.status, 1, "a hanging helper fails the command");
	/* The helper alone would take 600 s: returning well before is its
	 * timeout (the reason below says which); how soon is the machine's. */
	ok(t1.tv_sec - t0.tv_sec < 300, "it is killed at its timeout (%ld s)", (long)(t1.tv_sec - t0.tv_sec));
	is_string(op_field(id, "state"), "error", "the operation goes to error");
	is_string(op_field(id, "reason"), "profile hang reencipher failed: timed out after 1 s", "with the reason");
	run_result_free(&r);
	mk(&r, "cancel", "-i", id, NULL);
	is_int(r.status, 0, "an operation in error can be canceled");
	run_result_free(&r);
	free(id);

	snprintf(script, sizeof(script), "%s/later", tmp);
	write_text(script, 0755, "#!/bin/sh\n[ \"$1\" = reencipher ] || exit 0\necho 'token cca-1 is not present' >&2\nexit 75\n");
	write_profile("later", "cca-apka", false, script, NULL);
	id = run_profile("later", &r);
	is_int(r.status, 1, "exit 75 ends the command with 1");
	ok(strstr(r.err, "not possible yet (exit 75): token cca-1 is not present") != NULL,
	   "saying the step is not possible yet");
	is_string(op_field(id, "state"), "reenciphering", "the operation stays in its phase");
	{
		char path[4096], *text;

		snprintf(path, sizeof(path), "%s/ops/%s.ini", state, id);
		text = read_text(path);
		ok(text && strstr(text, "[profile later]\nreencipher = pending\n"),
		   "and the profile's phase stays pending");
		free(text);
	}
	run_result_free(&r);
	mk(&r, "cancel", "-i", id, NULL);
	run_result_free(&r);
	free(id);

	snprintf(script, sizeof(script), "%s/boom", tmp);
	write_text(script, 0755, "#!/bin/sh\n[ \"$1\" = reencipher ] || exit 0\necho 'first problem' >&2\necho 'the last word' >&2\nexit 3\n");
	write_profile("boom", "cca-apka", false, script, NULL);
	id = run_profile("boom", &r);
	is_int(r.status, 1, "a failing helper fails the command");
	is_string(op_field(id, "reason"), "profile boom reencipher failed: the last word",
		  "the reason names the profile, the phase and the last stderr line");
	run_result_free(&r);
	mk(&r, "cancel", "-i", id, NULL);
	run_result_free(&r);
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	free(id);
}

static void wrong_pin(void)
{
	char path[4096], conf[4096], *id;
	struct run_result r;

	snprintf(path, sizeof(path), "%s/wrong-pin-helper", tmp);
	write_text(path, 0700, "#!/bin/sh\necho not-the-pin\n");
	snprintf(conf, sizeof(conf), "%s/wrong.conf", tmp);
	write_text(conf, 0644, "[pin]\nhelper = %s\n", path);
	setenv("MKAGENT_CONFIG", conf, 1);
	id = run_profile("simkeys-cca", &r);
	is_int(r.status, 1, "a wrong PIN fails the phase");
	is_string(op_field(id, "reason"), "profile simkeys-cca reencipher failed: simkeys: wrong PIN for simkeys",
		  "the reason names the token, not the PIN");
	run_result_free(&r);
	snprintf(path, sizeof(path), "%s/mkagent.conf", tmp);
	setenv("MKAGENT_CONFIG", path, 1);
	mk(&r, "cancel", "-i", id, NULL);
	run_result_free(&r);
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	free(id);
}

/* A PIN helper that fails with a long reason: the ERR answer on fd 3,
 * cut to fit, still ends its line, so a helper reading it does not hang. */
static void long_pin_error(void)
{
	char path[4096], conf[4096], script[4096], got[4200], *id, *text;
	struct run_result r;

	snprintf(path, sizeof(path), "%s/failing-pin-helper", tmp);
	write_text(path, 0700, "#!/bin/sh\necho \"no PIN file for $1, and a reason long enough to "
		   "fill the answer: $1 $1 $1 $1\" >&2\nexit 1\n");
	snprintf(conf, sizeof(conf), "%s/failing.conf", tmp);
	write_text(conf, 0644, "[pin]\nhelper = %s\n", path);
	setenv("MKAGENT_CONFIG", conf, 1);
	snprintf(got, sizeof(got), "%s/err.out", tmp);
	snprintf(script, sizeof(script), "%s/askpin", tmp);
	write_text(script, 0755,
		   "#!/bin/sh\n[ \"$1\" = reencipher ] || exit 0\n"
		   "printf 'PIN a label of exactly 32 characters\\n' >&3\n"
		   "answer=$(timeout 10 head -n 1 <&3)\necho \"line=${answer%%%% *}\" > %s\nexit 1\n",
		   got);
	write_profile("askpin", "cca-apka", true, script, NULL);
	id = run_profile("askpin", &r);
	run_result_free(&r);
	text = read_text(got);
	is_string(text ? text : "", "line=ERR\n",
		  "a long PIN helper failure comes back as one whole ERR line");
	free(text);
	snprintf(path, sizeof(path), "%s/mkagent.conf", tmp);
	setenv("MKAGENT_CONFIG", path, 1);
	mk(&r, "cancel", "-i", id, NULL);
	run_result_free(&r);
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	free(id);
}

static void pin_nowhere(void)
{
	ok(!dir_contains(state, PIN), "the PIN is in no file of the state directory");
	ok(strstr(all_output, "simkeys-cca reencipher: 100 keys re-enciphered") != NULL,
	   "(the captured output has the helpers' logged lines)");
	ok(!strstr(all_output, PIN), "nor in anything mkagent printed or logged at debug level");
	{
		char dump[4096], *text;

		snprintf(dump, sizeof(dump), "%s/env.out", tmp);
		text = read_text(dump);
		ok(text && !strstr(text, PIN), "nor in a helper's environment or arguments");
		free(text);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	cca_cycle();
	ep11_cancel();
	helper_contract();
	helper_outcomes();
	wrong_pin();
	long_pin_error();
	pin_nowhere();
	apsim_free(sim);
	remove_tree(tmp);
	return done_testing();
}
