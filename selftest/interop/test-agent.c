// SPDX-License-Identifier: MIT
/*
 * test-agent.c - mkagent itself against the real openCryptoki 3.23 (ock.h):
 * a full change, the edges the helper used to guess at (no token affected,
 * bad PINs, a slot without token, pkcsslotd down), an early activation.
 * After each scenario every key of both tokens is used through PKCS#11
 * under the master keys of the moment. The kill -9 scenarios are
 * test-agent-kill's.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ock.h"

/* the real tool's own line, as the agent logs the helper's output */
#define TOOL_LOGIN_FAILED "reencipher: pkcshsm_mk_change: Error logging in for slot"

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
	reload_agent();
	ok(wait_state(id, "reenciphered", 60000, NULL),
	   "slot without token: with --continue-without-token=2 in the profile it goes on");
	ok(log_has("slots 2 have no token, as --continue-without-token allows: answering y"),
	   "slot without token: the helper says it answered y for slot 2");
	activate(MK_CCA_AES, MK_CCA_AES);
	ok(wait_state(id, "finalized", 60000, NULL), "slot without token: and finalized");
	install_profile(NULL);
	reload_agent();
	restart_slotd(false);
	keys_work("after the change with a slot without token", true);
	free(id);
}

/* (f) the new key activated while the tool waits at its PIN prompt. */
static void early_activation(void)
{
	struct run_result r;
	char *id;

	use_pin_helper(true);
	reload_agent();
	id = change(MK_CCA_AES, MK_CCA_AES, true);
	if (!ok(at_prompt(id), "early activation: the tool waits at its PIN prompt"))
		return;
	activate(MK_CCA_AES, MK_CCA_AES);
	release_pins();
	ok(wait_state(id, "error", 30000, NULL), "early activation: the operation is in error");
	/* the agent sees the activation, or the phase fails and the step reads
	 * the registers to say why: activated-early either way (no recover
	 * phase in this profile, so nothing is added to the reason) */
	is_string(op_field(id, "reason"), "activated-early", "early activation: one clear reason");
	ok(none_named("pkcshsm_mk_change", 30000) && none_named("mkagent-opencryptoki", 30000),
	   "early activation: the helper and the tool end");
	ok(none_stale(), "early activation: no operation of the tool is left stale");
	diag("the tool's operations after the early activation: %d", tool_ops());
	keys_work("after the early activation (the adapter takes keys under OLD)", false);
	mk(&r, "cancel", "--force", "-i", id, NULL);
	is_int(r.status, 0, "early activation: the operation is closed by cancel --force");
	run_result_free(&r);
	use_pin_helper(false);
	reload_agent();
	free(id);
}

static const struct scenario SCENARIOS[] = {
	{ "full_change", full_change },
	{ "no_token_affected", no_token_affected },
	{ "bad_pins", bad_pins },
	{ "slotd_down_at_finalize", slotd_down_at_finalize },
	{ "slot_without_token", slot_without_token },
	{ "early_activation", early_activation },
};

int main(int argc, char **argv)
{
	(void)argc;
	ock_setup(argv);
	return ock_run(SCENARIOS, sizeof(SCENARIOS) / sizeof(SCENARIOS[0]));
}
