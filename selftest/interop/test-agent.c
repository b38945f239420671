// SPDX-License-Identifier: MIT
/*
 * test-agent.c - mkagent itself against the real openCryptoki 3.23.
 *
 * In the trixie root (stage.h) the real pkcsslotd, CCA token and
 * pkcshsm_mk_change run on the simulated CCA adapter whose registers are
 * apsim's. On the host, the real agent (`mkagent daemon`) follows the same
 * apsim HSM and runs the shipped profiles/opencryptoki.profile, changed
 * only in its paths (the helper's, and --tool pointed at stage_tool()),
 * with PINs from the shipped mkagent-pin-file by token label. After each
 * scenario every key of both tokens is used through PKCS#11 under the
 * master keys of the moment.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../apsim.h"
#include "../fixture.h"
#include "../run.h"
#include "../tap.h"
#include "stage.h"

#define SO_PIN "63518207"
#define KEY_LABEL "interop aes key"
#define EC_LABEL "interop ec key"
#define PLAIN "thirty-two bytes of clear text!!"
/* the real tool's own line, as the agent logs the helper's output */
#define TOOL_LOGIN_FAILED "reencipher: pkcshsm_mk_change: Error logging in for slot"

static const struct token {
	int slot;
	const char *label, *pin;
} TOKENS[] = {
	{ 0, "interop token", "40724915" },
	{ 1, "a label of exactly 32 characters", "51806293" },
};
#define NTOKENS (sizeof(TOKENS) / sizeof(TOKENS[0]))

static const struct apqn Q = { .card = 0x01, .domain = 0x06 };
static char pins[4200], agent_log[4200], helper[4200], pin_file[4200], conf[4400];
static pid_t agent;

static void configure(bool third_slot)
{
	stage_write("/etc/opencryptoki/opencryptoki.conf",
		    "version opencryptoki-3.23\n\n"
		    "slot 0\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokversion = 3.12\n}\n"
		    "slot 1\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokname = ccatok2\n"
		    "tokversion = 3.12\n}\n%s",
		    third_slot ? "slot 2\n{\nstdll = libpkcs11_ep11.so\ntokversion = 3.12\n}\n" : "");
	stage_write("/etc/opencryptoki/ccatok.conf", "version cca-0\nPKEY_MODE = DISABLED\n");
}

static void restart_slotd(bool third_slot)
{
	struct result r;

	slotd_stop();
	configure(third_slot);
	if (!slotd_start(&r))
		bail_out("pkcsslotd does not start: %s", r.out);
	free(r.out);
}

#define P11TOOL "pkcs11-tool --module $(echo /usr/lib/*/opencryptoki/libopencryptoki.so.0) " \
		"--slot %d --login --pin %s "
#define AES_CBC "--id a35a --mechanism AES-CBC --iv 000102030405060708090a0b0c0d0e0f "

/* Every key of both tokens, through PKCS#11: AES encrypt and decrypt, EC
 * sign and verify; with @refuse_old, keys under OLD are refused. */
static void keys_work(const char *when, bool refuse_old)
{
	for (size_t i = 0; i < NTOKENS; i++) {
		const struct token *t = &TOKENS[i];
		struct result r = in_root(
			NULL,
			"%sprintf '%%s' '" PLAIN "' > /tmp/plain && "
			P11TOOL AES_CBC "--encrypt --input-file /tmp/plain --output-file /tmp/ct && "
			P11TOOL AES_CBC "--decrypt --input-file /tmp/ct --output-file /tmp/back && "
			"cmp /tmp/plain /tmp/back && ! cmp -s /tmp/plain /tmp/ct && "
			P11TOOL "-m ECDSA --sign --label '" EC_LABEL ":prv' "
			"--input-file /tmp/plain --output-file /tmp/sig && "
			P11TOOL "-m ECDSA --verify --label '" EC_LABEL ":pub' "
			"--input-file /tmp/plain --signature-file /tmp/sig",
			refuse_old ? "export CSULCCA_REFUSE_OLD=1; " : "", t->slot, t->pin, t->slot,
			t->pin, t->slot, t->pin, t->slot, t->pin);

		if (!ok(r.status == 0, "slot %d: its AES and EC keys work through PKCS#11 %s", t->slot,
			when))
			show(&r);
		free(r.out);
	}
}

static void init_tokens(void)
{
	for (size_t i = 0; i < NTOKENS; i++) {
		const struct token *t = &TOKENS[i];
		char label[64];
		struct result r;

		snprintf(label, sizeof(label), "%s\n", t->label);
		r = in_root(label, "pkcsconf -I -c %d -S 87654321 && "
			    "pkcsconf -P -c %d -S 87654321 -n " SO_PIN " && "
			    "pkcsconf -u -c %d -S " SO_PIN " -n 12345678 && "
			    "pkcsconf -p -c %d -U 12345678 -n %s && "
			    "p11sak generate-key aes 256 --slot %d --pin %s --label '" KEY_LABEL
			    "' --id a35a && "
			    "p11sak generate-key ec prime256v1 --slot %d --pin %s --label '" EC_LABEL "'",
			    t->slot, t->slot, t->slot, t->slot, t->pin, t->slot, t->pin, t->slot, t->pin);
		if (r.status != 0)
			bail_out("slot %d: cannot initialize the token: %s", t->slot, r.out);
		free(r.out);
	}
}

/* The tool's operations: the files in /var/lib/opencryptoki/HSM_MK_CHANGE. */
static int tool_ops(void)
{
	struct result r = in_root(NULL, "ls -A /var/lib/opencryptoki/HSM_MK_CHANGE");
	int n = 0;

	/* ID is an operation, ID-SLOT the patterns of one of its tokens */
	for (char *p = r.out; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0'))
		n += strcspn(p, "\n") > 0 && memchr(p, '-', strcspn(p, "\n")) == NULL;
	if (r.status != 0)
		n = -1;
	free(r.out);
	return n;
}

static void set_pin(const struct token *t, const char *pin)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", pins, t->label);
	if (pin)
		write_text(path, 0600, "%s\n", pin);
	else
		unlink(path);
}

static int count_in_log(const char *needle)
{
	char *text = read_text(agent_log);
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(text);
	return n;
}

static bool log_has(const char *needle)
{
	return count_in_log(needle) > 0;
}

/* The shipped profile with the paths of this test, and @extra appended to
 * the helper's options (the profile's settings). */
static void install_profile(const char *extra)
{
	char cmd[16384];

	snprintf(cmd, sizeof(cmd),
		 "sed -e 's#/usr/libexec/mkagent/mkagent-opencryptoki#%s#g' "
		 "-e 's#--tool /usr/sbin/pkcshsm_mk_change#--tool %s%s%s#g' %s > %s/opencryptoki.profile",
		 helper, stage_tool(), extra ? " " : "", extra ? extra : "",
		 build_path("profiles/opencryptoki.profile"), profiles);
	if (system(cmd) != 0)
		bail_out("cannot install the profile");
}

static void start_agent(void)
{
	agent = agent_start(NULL, agent_log, true, 300);
}

/* Plan a change of @t1 (and @t2, when not MK_NONE) to new random keys,
 * and load them: the agent takes it from there. */
static char *change(enum mk_type t1, enum mk_type t2, bool load)
{
	static const char *const opt[] = { [MK_CCA_SYM] = "-s", [MK_CCA_ASYM] = "-S",
					   [MK_CCA_AES] = "-A", [MK_CCA_APKA] = "-p" };
	struct apsim_key k1, k2;
	char h1[MKVP_STR_MAX], h2[MKVP_STR_MAX], apqn[16];
	struct run_result r;
	char *id;

	snprintf(apqn, sizeof(apqn), "%02x.%04x", Q.card, Q.domain);
	apsim_random_key(t1, &k1);
	hex_of(t1, &k1, h1);
	if (t2 != t1) {
		apsim_random_key(t2, &k2);
		hex_of(t2, &k2, h2);
		mk(&r, "plan", "-a", apqn, opt[t1], h1, opt[t2], h2, "--profiles", "opencryptoki", NULL);
	} else {
		mk(&r, "plan", "-a", apqn, opt[t1], h1, "--profiles", "opencryptoki", NULL);
	}
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan: %s%s", r.out, r.err);
	run_result_free(&r);
	if (load) {
		apsim_load(sim, Q, t1, &k1);
		if (t2 != t1)
			apsim_load(sim, Q, t2, &k2);
	}
	return id;
}

static void activate(enum mk_type t1, enum mk_type t2)
{
	apsim_activate(sim, Q, t1);
	if (t2 != t1)
		apsim_activate(sim, Q, t2);
}

/* (a) and (b): a full AES and APKA change, two tokens, PINs by label. */
static void full_change(void)
{
	struct app app;
	char *id;
	int before = count_in_log("PIN helper");

	app_start(&app, TOKENS[0].slot, TOKENS[0].pin, "a35a");
	if (!ok(strcmp(app_ask(&app, NULL), "ready") == 0,
		"p11app logs in to slot 0 and holds its AES key in an open session"))
		bail_out("p11app did not start");

	id = change(MK_CCA_AES, MK_CCA_APKA, true);
	ok(wait_state(id, "reenciphered", 60000, NULL),
	   "full change: mkagent re-enciphers both tokens through the real pkcshsm_mk_change");
	ok(log_has("Slot 0: Label: interop token") &&
		   log_has("Slot 1: Label: a label of exactly 32 characters"),
	   "full change: the tool named both tokens, one label with blanks, one of 32 characters");
	ok(!log_has("slot-0") && !log_has("slot-1") && count_in_log("PIN helper") == before,
	   "full change: each PIN came from mkagent-pin-file by the token's label");
	is_int(tool_ops(), 1, "full change: the tool holds one operation, re-enciphered");
	keys_work("while the change is pending", false);
	ok(strcmp(app_ask(&app, "use"), "ok") == 0,
	   "full change: the application's session uses its key after reencipher");

	activate(MK_CCA_AES, MK_CCA_APKA);
	ok(wait_state(id, "finalized", 60000, NULL),
	   "full change: after activation mkagent finalizes (the tool logs in again, by label)");
	is_int(tool_ops(), 0, "full change: the tool's operation is finalized and gone");
	keys_work("under the new master keys, keys under OLD refused", true);
	app_ask(&app, "refuse-old");
	ok(strcmp(app_ask(&app, "use"), "ok") == 0,
	   "an application holding its key in one session through the whole change keeps working");
	is_int(app_stop(&app), 0, "the application logs out cleanly");
	free(id);
}

/* (e): the CCA token ignores ASYM; an ASYM-only change affects no token. */
static void no_token_affected(void)
{
	char *id = change(MK_CCA_ASYM, MK_CCA_ASYM, true);

	ok(wait_state(id, "reenciphered", 30000, NULL),
	   "ASYM only: `No token is affected` is the phase done, and the operation goes on");
	ok(log_has("notice: no openCryptoki token is affected by this change"),
	   "ASYM only: the helper says so in a notice line");
	is_int(tool_ops(), 0, "ASYM only: the tool keeps no operation");
	activate(MK_CCA_ASYM, MK_CCA_ASYM);
	ok(wait_state(id, "finalized", 30000, NULL),
	   "ASYM only: finalize has nothing to do and the operation is finalized");
	ok(log_has("nothing to finalize"), "ASYM only: finalize says there was nothing to do");
	keys_work("after the ASYM-only change", true);
	free(id);
}

/* (c): a wrong PIN, and a label the PIN helper does not know. */
static void bad_pins(void)
{
	char *id;
	int failed_before = count_in_log(TOOL_LOGIN_FAILED);

	set_pin(&TOKENS[1], "99999999");
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	ok(wait_state(id, "error", 30000, NULL), "wrong PIN: the phase fails, the operation is in error");
	ok(strstr(op_field(id, "reason"), "USER PIN of token 'a label of exactly 32 characters' "
					  "(slot 1) refused (CKR_PIN_INCORRECT)"),
	   "wrong PIN: one clear line names the token: %s", op_field(id, "reason"));
	is_int(count_in_log(TOOL_LOGIN_FAILED) - failed_before, 1,
	       "wrong PIN: one failed login, no retry");
	is_int(tool_ops(), 0, "wrong PIN: no HSM_MK_CHANGE operation is left");
	{
		struct run_result r;

		mk(&r, "cancel", "--force", "-i", id, NULL);
		is_int(r.status, 0, "wrong PIN: the operation is closed by cancel --force");
		run_result_free(&r);
	}
	apsim_clear_new(sim, Q, MK_CCA_AES);
	free(id);

	set_pin(&TOKENS[1], NULL);
	failed_before = count_in_log(TOOL_LOGIN_FAILED);
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	for (int i = 0; i < 600 && !log_has("no PIN for token 'a label of exactly 32 characters'");
	     i++)
		sleep_ms(50);
	ok(log_has("no PIN for token 'a label of exactly 32 characters' (slot 1)"),
	   "unknown label: one clear line names the token the PIN helper does not know");
	sleep_ms(500);
	is_string(op_field(id, "state"), "reenciphering",
		  "unknown label: the phase waits (exit 75), the operation is not in error");
	is_int(count_in_log(TOOL_LOGIN_FAILED) - failed_before, 0,
	       "unknown label: no failed login");
	ok(log_has("Aborted by user."), "unknown label: the tool was ended at its prompt");
	set_pin(&TOKENS[1], TOKENS[1].pin);
	ok(wait_state(id, "reenciphered", 60000, NULL),
	   "unknown label: once the PIN helper knows it, the agent goes on by itself");
	is_int(tool_ops(), 1, "unknown label: no stale operation was left: the tool holds just this one");
	{
		struct run_result r;

		mk(&r, "cancel", "-i", id, NULL);
		if (!ok(r.status == 0 && streq(op_field(id, "state"), "canceled"),
			"cancel runs the real `pkcshsm_mk_change cancel`, logging in by label"))
			diag("%s%s", r.out, r.err);
		run_result_free(&r);
	}
	is_int(tool_ops(), 0, "cancel: the tool's operation is gone");
	apsim_clear_new(sim, Q, MK_CCA_AES);
	keys_work("after the canceled change", false);
	free(id);
}

/* (g): pkcsslotd stopped during finalize. */
static void slotd_down_at_finalize(void)
{
	char *id = change(MK_CCA_AES, MK_CCA_AES, true);

	ok(wait_state(id, "reenciphered", 60000, NULL), "slotd down: the change is re-enciphered");
	slotd_stop();
	activate(MK_CCA_AES, MK_CCA_AES);
	for (int i = 0; i < 600 && !log_has("cannot finalize now (pkcsslotd down?)"); i++)
		sleep_ms(50);
	ok(log_has("cannot finalize now (pkcsslotd down?)"),
	   "slotd down: finalize says why it waits");
	sleep_ms(500);
	is_string(op_field(id, "state"), "finalizing",
		  "slotd down: finalize waits (exit 75), it is not counted done");
	restart_slotd(false);
	ok(wait_state(id, "finalized", 60000, NULL), "slotd down: once it is back, finalize completes");
	is_int(tool_ops(), 0, "slotd down: the tool's operation is finalized and gone");
	keys_work("after finalize with pkcsslotd restarted", true);
	free(id);
}

/* (d): a configured slot without a token: `Continue [y/N]?`. */
static void slot_without_token(void)
{
	char *id;

	restart_slotd(true);
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	for (int i = 0; i < 600 && !log_has("slot(s) 2 have no token"); i++)
		sleep_ms(50);
	ok(log_has("slot(s) 2 have no token: not risking their keys, waiting"),
	   "slot without token: by default the helper answers N and says why");
	sleep_ms(500);
	is_string(op_field(id, "state"), "reenciphering", "slot without token: the phase waits (exit 75)");
	install_profile("--continue-without-token=2");
	kill(agent, SIGHUP);
	ok(wait_state(id, "reenciphered", 60000, NULL),
	   "slot without token: with --continue-without-token=2 in the profile it goes on");
	ok(log_has("slots 2 have no token, as --continue-without-token allows: answering y"),
	   "slot without token: the helper says it answered y for slot 2");
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "finalized", 60000, NULL), "slot without token: and finalized");
	install_profile(NULL);
	kill(agent, SIGHUP);
	restart_slotd(false);
	keys_work("after the change with a slot without token", true);
	free(id);
}


/* The PIN helper of mkagent.conf: mkagent-pin-file, after @delay_s. */
static void use_pin_helper(int delay_s)
{
	char slow[4400];

	snprintf(slow, sizeof(slow), "%s/slow-pin-file", tmp);
	write_text(slow, 0755, "#!/bin/sh\nsleep %d\nexec %s --dir '%s' \"$@\"\n", delay_s, pin_file,
		   pins);
	if (delay_s)
		write_text(conf, 0644, "[agent]\npoll-interval = 1\nauto-finalize = yes\n"
			   "[pin]\nhelper = %s\n", slow);
	else
		write_text(conf, 0644, "[agent]\npoll-interval = 1\nauto-finalize = yes\n"
			   "[pin]\nhelper = %s --dir %s\n", pin_file, pins);
}

/* The PIDs of processes named @comm (cut to 15 characters, as the kernel does). */
static int pids_named(const char *comm, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char path[300], *text;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		text = read_text(path);
		if (text && !strncmp(text, comm, 15) && text[strcspn(text, "\n")] == '\n' &&
		    strcspn(text, "\n") == (strlen(comm) < 15 ? strlen(comm) : 15) && n < max)
			out[n++] = (pid_t)atoi(de->d_name);
		free(text);
	}
	if (d)
		closedir(d);
	return n;
}

/* Wait until no process of that name is left; false after @ms. */
static bool none_named(const char *comm, int ms)
{
	pid_t p[8];

	for (int waited = 0; waited <= ms; waited += 50) {
		if (!pids_named(comm, p, 8))
			return true;
		sleep_ms(50);
	}
	return false;
}

/* Wait until the helper of @id is at the tool's first PIN prompt. */
static bool at_prompt(const char *id)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "operation %s: opencryptoki reencipher: Enter the USER PIN "
		 "for slot 0: ", id);
	for (int i = 0; i < 1200 && !log_has(needle); i++)
		sleep_ms(50);
	return log_has(needle);
}

/* No operation of the tool is in a state it cannot go on from. */
static bool none_stale(void)
{
	struct result r = in_root(NULL, "pkcshsm_mk_change list");
	bool good = r.status == 0 && !strstr(r.out, "State:       Initial") &&
		    !strstr(r.out, "Re-enciphering of key objects ongoing") &&
		    !strstr(r.out, "State:       Finalizing\n") && !strstr(r.out, "Canceling");

	if (!good)
		show(&r);
	free(r.out);
	return good;
}

/* (f) kill -9 of the helper at the PIN prompt, where the tool's
 * operation file exists and the tool has not logged in. */
static void helper_killed(void)
{
	pid_t p[4];
	char *id;
	struct run_result r;

	use_pin_helper(3);
	kill(agent, SIGHUP);
	sleep_ms(300);
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	if (!ok(at_prompt(id), "helper killed: the tool waits at its PIN prompt"))
		return;
	is_int(tool_ops(), 1, "helper killed: the tool's operation file exists at the prompt");
	if (!ok(pids_named("mkagent-opencryptoki", p, 4) == 1, "helper killed: one helper runs"))
		return;
	kill(p[0], SIGKILL);
	ok(none_named("pkcshsm_mk_change", 15000),
	   "helper killed: the tool, its pty closed, ends by itself (it ignores SIGHUP here)");
	is_int(tool_ops(), 0, "helper killed with kill -9: the tool's operation is not left stale");
	for (int i = 0; i < 200 && streq(op_field(id, "state"), "reenciphering"); i++)
		sleep_ms(50);
	diag("after the kill the operation is '%s': %s", op_field(id, "state"), op_field(id, "reason"));
	use_pin_helper(0);
	kill(agent, SIGHUP);
	sleep_ms(300);
	if (streq(op_field(id, "state"), "error")) {
		mk(&r, "reencipher", "-i", id, NULL);
		if (!ok(r.status == 0, "helper killed: a person runs the phase again (mkagent reencipher -i)"))
			diag("%s%s", r.out, r.err);
		run_result_free(&r);
	}
	ok(wait_state(id, "reenciphered", 60000, NULL), "helper killed: the phase run again completes");
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "finalized", 60000, NULL), "helper killed: and the change is finalized");
	is_int(tool_ops(), 0, "helper killed: the tool holds no operation at the end");
	keys_work("after the change whose helper was killed", true);
	free(id);
}

/* (f) kill -9 of the helper while the tool re-enciphers, after the
 * logins and before it printed its operation's ID. */
static void helper_killed_mid_reencipher(void)
{
	struct run_result r;
	char needle[128], *id;
	pid_t p[4];

	stage_write("/etc/csulcca-rtnmk-delay-ms", "1500\n");
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	snprintf(needle, sizeof(needle), "operation %s: opencryptoki reencipher: Re-enciphering, "
		 "please wait...", id);
	for (int i = 0; i < 1200 && !log_has(needle); i++)
		sleep_ms(50);
	if (!ok(log_has(needle) && pids_named("mkagent-opencryptoki", p, 4) == 1,
		"mid-reencipher: the tool re-enciphers (each RTNMK made to take 1.5 s)"))
		return;
	kill(p[0], SIGKILL);
	ok(none_named("pkcshsm_mk_change", 30000),
	   "mid-reencipher: kill -9 of the helper; the tool, its pty gone, completes by itself");
	stage_write("/etc/csulcca-rtnmk-delay-ms", "0\n");
	ok(none_stale(), "mid-reencipher: its operation is re-enciphered, not stale");
	{
		char kept[4400];

		snprintf(kept, sizeof(kept), "%s/work/%s/opencryptoki/pkcshsm_mk_change.id", state, id);
		ok(tool_ops() == 1 && access(kept, F_OK) != 0,
		   "mid-reencipher: the tool holds one operation, whose ID the helper never kept");
	}
	for (int i = 0; i < 200 && streq(op_field(id, "state"), "reenciphering"); i++)
		sleep_ms(50);
	is_string(op_field(id, "state"), "error", "mid-reencipher: the operation is in error (killed)");
	mk(&r, "reencipher", "-i", id, NULL);
	if (!ok(r.status == 0 && (strstr(r.out, "was already re-enciphered") ||
				  strstr(r.err, "was already re-enciphered")),
		"mid-reencipher: run again, the helper finds the tool's operation by its patterns"))
		diag("%s%s", r.out, r.err);
	run_result_free(&r);
	is_int(tool_ops(), 1, "mid-reencipher: and starts no second one");
	ok(wait_state(id, "reenciphered", 30000, NULL), "mid-reencipher: the operation is re-enciphered");
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "finalized", 60000, NULL), "mid-reencipher: and finalized");
	is_int(tool_ops(), 0, "mid-reencipher: the tool holds no operation at the end");
	keys_work("after the change whose helper was killed mid-reencipher", true);
	free(id);
}

/* (f) kill -9 of the agent while its helper waits for a PIN. */
static void agent_killed(void)
{
	char *id;

	use_pin_helper(3);
	kill(agent, SIGHUP);
	sleep_ms(300);
	id = change(MK_CCA_AES, MK_CCA_APKA, true);
	if (!ok(at_prompt(id), "agent killed: the tool waits at its PIN prompt"))
		return;
	agent_stop(agent, SIGKILL);
	ok(none_named("pkcshsm_mk_change", 20000) && none_named("mkagent-opencryptoki", 20000),
	   "agent killed with kill -9: its worker ends the helper, the helper ends the tool");
	ok(none_stale(), "agent killed: no operation of the tool is left stale");
	use_pin_helper(0);
	start_agent();
	ok(wait_state(id, "reenciphered", 60000, NULL),
	   "agent killed: after a restart the phase is run again and completes");
	is_int(tool_ops(), 1, "agent killed: the tool holds one operation");
	activate(MK_CCA_AES, MK_CCA_APKA);
	ok(wait_state(id, "finalized", 60000, NULL), "agent killed: and the change is finalized");
	is_int(tool_ops(), 0, "agent killed: the tool holds no operation at the end");
	keys_work("after the change whose agent was killed", true);
	free(id);
}

/* (f) kill -9 of the agent while the tool re-enciphers. */
static void agent_killed_mid_reencipher(void)
{
	char needle[128], *id;

	stage_write("/etc/csulcca-rtnmk-delay-ms", "1500\n");
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	snprintf(needle, sizeof(needle), "operation %s: opencryptoki reencipher: Re-enciphering, "
		 "please wait...", id);
	for (int i = 0; i < 1200 && !log_has(needle); i++)
		sleep_ms(50);
	if (!ok(log_has(needle), "agent killed mid-reencipher: the tool re-enciphers"))
		return;
	agent_stop(agent, SIGKILL);
	ok(none_named("pkcshsm_mk_change", 30000) && none_named("mkagent-opencryptoki", 30000),
	   "agent killed mid-reencipher: the helper is ended, the tool completes by itself");
	stage_write("/etc/csulcca-rtnmk-delay-ms", "0\n");
	ok(none_stale(), "agent killed mid-reencipher: the tool's operation is not stale");
	is_int(tool_ops(), 1, "agent killed mid-reencipher: the tool holds one operation");
	start_agent();
	ok(wait_state(id, "reenciphered", 60000, NULL),
	   "agent killed mid-reencipher: after a restart the phase is run again and is done");
	is_int(tool_ops(), 1, "agent killed mid-reencipher: with no second operation of the tool");
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "finalized", 60000, NULL), "agent killed mid-reencipher: and finalized");
	is_int(tool_ops(), 0, "agent killed mid-reencipher: the tool holds no operation at the end");
	keys_work("after the change whose agent was killed mid-reencipher", true);
	free(id);
}

/* (f) kill -9 of the helper at finalize's PIN prompt. */
static void helper_killed_at_finalize(void)
{
	struct run_result r;
	char needle[128], *id;
	pid_t p[4];

	id = change(MK_CCA_AES, MK_CCA_APKA, true);
	if (!ok(wait_state(id, "reenciphered", 60000, NULL), "killed at finalize: re-enciphered"))
		return;
	use_pin_helper(3);
	kill(agent, SIGHUP);
	sleep_ms(300);
	activate(MK_CCA_AES, MK_CCA_APKA);
	snprintf(needle, sizeof(needle), "operation %s: opencryptoki finalize: Enter the USER PIN "
		 "for slot 0: ", id);
	for (int i = 0; i < 1200 && !log_has(needle); i++)
		sleep_ms(50);
	if (!ok(log_has(needle) && pids_named("mkagent-opencryptoki", p, 4) == 1,
		"killed at finalize: the tool waits at finalize's PIN prompt"))
		return;
	kill(p[0], SIGKILL);
	ok(none_named("pkcshsm_mk_change", 15000), "killed at finalize: the tool ends by itself");
	ok(none_stale(), "killed at finalize: its operation is still re-enciphered, not stale");
	is_int(tool_ops(), 1, "killed at finalize: the tool holds its one operation");
	for (int i = 0; i < 200 && streq(op_field(id, "state"), "finalizing"); i++)
		sleep_ms(50);
	use_pin_helper(0);
	kill(agent, SIGHUP);
	sleep_ms(300);
	if (streq(op_field(id, "state"), "error")) {
		mk(&r, "finalize", "-i", id, NULL);
		if (!ok(r.status == 0, "killed at finalize: a person runs finalize again"))
			diag("%s%s", r.out, r.err);
		run_result_free(&r);
	}
	ok(wait_state(id, "finalized", 60000, NULL), "killed at finalize: the change is finalized");
	is_int(tool_ops(), 0, "killed at finalize: the tool holds no operation at the end");
	keys_work("after the change whose helper was killed at finalize", true);
	free(id);
}

/* (f) the new key activated while the tool waits at its PIN prompt. */
static void early_activation(void)
{
	struct run_result r;
	char *id;

	use_pin_helper(3);
	kill(agent, SIGHUP);
	sleep_ms(300);
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	if (!ok(at_prompt(id), "early activation: the tool waits at its PIN prompt"))
		return;
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "error", 30000, NULL), "early activation: the operation is in error");
	/* the agent reads the registers while it waits on the HSM, not during a
	 * phase: whichever it sees first, the activation or the phase failing */
	ok(!strncmp(op_field(id, "reason"), "activated-early", 15) ||
		   strstr(op_field(id, "reason"), "a token failed to re-encipher its keys (NEW register "
						  "changed, or activated early?)"),
	   "early activation: one clear reason: %s", op_field(id, "reason"));
	ok(none_named("pkcshsm_mk_change", 30000) && none_named("mkagent-opencryptoki", 30000),
	   "early activation: the helper and the tool end");
	ok(none_stale(), "early activation: no operation of the tool is left stale");
	diag("the tool's operations after the early activation: %d", tool_ops());
	keys_work("after the early activation (the adapter takes keys under OLD)", false);
	mk(&r, "cancel", "--force", "-i", id, NULL);
	is_int(r.status, 0, "early activation: the operation is closed by cancel --force");
	run_result_free(&r);
	use_pin_helper(0);
	kill(agent, SIGHUP);
	sleep_ms(300);
	free(id);
}

static const struct {
	const char *name;
	void (*run)(void);
} SCENARIOS[] = {
	{ "full_change", full_change },
	{ "no_token_affected", no_token_affected },
	{ "bad_pins", bad_pins },
	{ "slotd_down_at_finalize", slotd_down_at_finalize },
	{ "slot_without_token", slot_without_token },
	{ "helper_killed", helper_killed },
	{ "helper_killed_mid_reencipher", helper_killed_mid_reencipher },
	{ "agent_killed", agent_killed },
	{ "agent_killed_mid_reencipher", agent_killed_mid_reencipher },
	{ "helper_killed_at_finalize", helper_killed_at_finalize },
	{ "early_activation", early_activation },
};

int main(int argc, char **argv)
{
	struct result r;
	(void)argc;

	sim = apsim_new(argv);
	if (!sim || apsim_add_card(sim, Q.card, "CEX8C") < 0 || apsim_add_queue(sim, Q) < 0)
		bail_out("apsim: cannot build the testbed");
	stage_setup(sim, Q.domain);
	configure(false);
	if (!slotd_start(&r))
		bail_out("pkcsslotd does not start: %s", r.out);
	free(r.out);
	init_tokens();
	keys_work("under the first master keys", false);

	tmp = make_tmpdir("ock");
	if (asprintf(&state, "%s/state", tmp) < 0 || asprintf(&profiles, "%s/profiles", tmp) < 0)
		bail_out("out of memory");
	mkdir(profiles, 0755);
	snprintf(pins, sizeof(pins), "%s/pins", tmp);
	mkdir(pins, 0700);
	for (size_t i = 0; i < NTOKENS; i++)
		set_pin(&TOKENS[i], TOKENS[i].pin);
	snprintf(helper, sizeof(helper), "%s", installed("helpers/mkagent-opencryptoki"));
	snprintf(pin_file, sizeof(pin_file), "%s", installed("helpers/mkagent-pin-file"));
	install_profile(NULL);
	snprintf(conf, sizeof(conf), "%s/mkagent.conf", tmp);
	use_pin_helper(0);
	snprintf(agent_log, sizeof(agent_log), "%s/agent.log", tmp);
	setenv("MKAGENT_STATE_DIR", state, 1);
	setenv("MKAGENT_PROFILES", profiles, 1);
	setenv("MKAGENT_CONFIG", conf, 1);
	start_agent();

	/* MKAGENT_INTEROP_ONLY=name,name runs only those scenarios */
	for (size_t i = 0; i < sizeof(SCENARIOS) / sizeof(SCENARIOS[0]); i++) {
		const char *only = getenv("MKAGENT_INTEROP_ONLY");

		if (!only || strstr(only, SCENARIOS[i].name))
			SCENARIOS[i].run();
	}

	agent_stop(agent, SIGTERM);
	if (tap_exit_status() == 0)
		remove_tree(tmp);
	else
		diag("the agent's log: %s", agent_log);
	stage_teardown();
	apsim_free(sim);
	return done_testing();
}
