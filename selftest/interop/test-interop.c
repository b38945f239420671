// SPDX-License-Identifier: MIT
/*
 * test-interop.c - the real openCryptoki 3.23 on apsim's HSM.
 *
 * In the trixie root (stage.h): the real pkcsslotd, pkcsconf, p11sak, CCA
 * token and pkcshsm_mk_change, with libcsulcca.so (csulcca/) as the CCA
 * adapter and apsim's testbed as the root's /sys, so that a TKE action done
 * here through apsim is what the token sees.
 *
 * This first scenario proves the stage: two CCA tokens load and are
 * initialized, each makes an AES and an EC key, and pkcshsm_mk_change
 * re-enciphers them to new AES and APKA master keys and finalizes after the
 * activation, every key working throughout, also in a session held open by
 * another process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../apsim.h"
#include "../run.h"
#include "../tap.h"
#include "stage.h"

#define SO_PIN "63518207"
#define USER_PIN "40724915"
#define KEY_LABEL "interop aes key"
#define EC_LABEL "interop ec key"
#define PLAIN "thirty-two bytes of clear text!!"

/* Two CCA tokens: a label with blanks, and one of the full 32 characters. */
static const struct token {
	int slot;
	const char *label, *pin;
} TOKENS[] = {
	{ 0, "interop token", USER_PIN },
	{ 1, "a label of exactly 32 characters", "51806293" },
};
#define NTOKENS (sizeof(TOKENS) / sizeof(TOKENS[0]))

static const struct apqn Q = { .card = 0x01, .domain = 0x06 };

/* Only CCA slots, one token directory each. */
static void configure(void)
{
	stage_write("/etc/opencryptoki/opencryptoki.conf",
		    "version opencryptoki-3.23\n\n"
		    "slot 0\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokversion = 3.12\n}\n"
		    "slot 1\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokname = ccatok2\n"
		    "tokversion = 3.12\n}\n");
	/* No protected keys: there is no /dev/pkey and no CPACF here. */
	stage_write("/etc/opencryptoki/ccatok.conf", "version cca-0\nPKEY_MODE = DISABLED\n");
}

static void pattern_hex(enum mk_type t, const struct apsim_key *k, char *out)
{
	struct mkvp p;

	apsim_key_mkvp(t, k, &p);
	for (int i = 0; i < 8; i++)
		sprintf(out + 2 * i, "%02x", p.b[i]);
}

#define P11TOOL "pkcs11-tool --module $(echo /usr/lib/*/opencryptoki/libopencryptoki.so.0) " \
		"--slot %d --login --pin %s "
#define AES_CBC "--id a35a --mechanism AES-CBC --iv 000102030405060708090a0b0c0d0e0f "

/* Encrypt PLAIN with the token's AES key and decrypt it again. pkcs11-tool
 * picks the key to encrypt with by its ID, not its label. */
static bool key_works(const struct token *t, const char *when, bool refuse_old)
{
	struct result r = in_root(NULL, "%sprintf '%%s' '" PLAIN "' > /tmp/plain && "
				  P11TOOL AES_CBC "--encrypt --input-file /tmp/plain --output-file /tmp/ct && "
				  P11TOOL AES_CBC "--decrypt --input-file /tmp/ct --output-file /tmp/back && "
				  "cmp /tmp/plain /tmp/back && ! cmp -s /tmp/plain /tmp/ct",
				  refuse_old ? "export CSULCCA_REFUSE_OLD=1; " : "", t->slot, t->pin,
				  t->slot, t->pin);
	bool good = ok(r.status == 0,
		       "slot %d: the AES key encrypts and decrypts through PKCS#11 %s", t->slot, when);

	if (!good)
		show(&r);
	free(r.out);
	return good;
}

/* Sign a hash with the token's EC private key and verify it with its
 * public key. p11sak names the two halves LABEL:prv and LABEL:pub. */
static bool ec_key_works(const struct token *t, const char *when, bool refuse_old)
{
	struct result r = in_root(NULL, "%sprintf '%%s' '" PLAIN "' > /tmp/hash && "
				  P11TOOL "-m ECDSA --sign --label '" EC_LABEL ":prv' "
				  "--input-file /tmp/hash --output-file /tmp/sig && "
				  P11TOOL "-m ECDSA --verify --label '" EC_LABEL ":pub' "
				  "--input-file /tmp/hash --signature-file /tmp/sig",
				  refuse_old ? "export CSULCCA_REFUSE_OLD=1; " : "", t->slot, t->pin,
				  t->slot, t->pin);
	bool good = ok(r.status == 0, "slot %d: the EC key signs and verifies through PKCS#11 %s",
		       t->slot, when);

	if (!good)
		show(&r);
	free(r.out);
	return good;
}

/* Every key of every token works, under the master keys of the moment. */
static void keys_work(const char *when, bool refuse_old)
{
	for (size_t i = 0; i < NTOKENS; i++) {
		key_works(&TOKENS[i], when, refuse_old);
		ec_key_works(&TOKENS[i], when, refuse_old);
	}
}

/* p11app in the root, holding a token's AES key in an open session. */
static void app_uses(struct app *a, const char *when)
{
	const char *answer = app_ask(a, "use");

	if (!ok(strcmp(answer, "ok") == 0,
		"an application holding the AES key in one session uses it %s", when))
		diag("p11app: %s", answer);
}

static int count_matches(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static char *created_op(const char *out)
{
	const char *p = strstr(out, "Master key change operation '");
	char *id;

	if (!p)
		return NULL;
	p += strlen("Master key change operation '");
	id = strndup(p, strcspn(p, "'"));
	return id;
}

static bool no_operation_files(void)
{
	struct result r = in_root(NULL, "ls -A /var/lib/opencryptoki/HSM_MK_CHANGE");
	bool none = r.status == 0 && r.out[0] == '\0';

	if (!none)
		show(&r);
	free(r.out);
	return none;
}

/* Start reencipher and wait for its first PIN prompt. */
static bool at_pin_prompt(struct bg *tool, const char *aes_hex)
{
	bg_start(tool, "pkcshsm_mk_change reencipher -a %02x.%04x -A %s", Q.card, Q.domain,
		 aes_hex);
	if (bg_wait_output(tool, "Enter the USER PIN for slot 0: ", 10000))
		return true;
	kill(tool->pid, SIGKILL);
	bg_wait(tool, NULL);
	return false;
}

/*
 * Signals at the PIN prompt. The tool's SIGINT and SIGTERM handler does
 * nothing but is installed without SA_RESTART, so either signal breaks
 * the PIN's read: the tool ends as if the input had ended. SIGKILL (and so
 * SIGHUP, not caught) leaves its operation file behind, which blocks every
 * later change and which the tool's own cancel does not remove.
 */
static void signals_at_prompt(const char *aes_hex)
{
	struct result r;
	struct bg tool;
	char *out = NULL, id[16] = "";

	if (!ok(at_pin_prompt(&tool, aes_hex), "reencipher waits at `Enter the USER PIN for slot 0: `"))
		return;
	/* in the PIN's read: a SIGTERM before it would leave the read waiting */
	if (!wait_in_syscall(tool.pid, SYS_read, 60000))
		diag("the tool does not sleep in read(2) at its prompt");
	kill(tool.pid, SIGTERM);
	if (!ok(bg_wait(&tool, &out) == 1 && strstr(out, "Aborted by user."),
		"SIGTERM at the PIN prompt ends it: `Aborted by user.`, exit 1"))
		diag("exit %d, output:\n%s", tool.status, out);
	free(out);
	ok(no_operation_files(), "... and no operation is left in HSM_MK_CHANGE");

	if (!ok(at_pin_prompt(&tool, aes_hex), "reencipher waits at the PIN prompt again"))
		return;
	kill(tool.pid, SIGKILL);
	bg_wait(&tool, NULL);
	r = in_root(NULL, "ls -A /var/lib/opencryptoki/HSM_MK_CHANGE");
	sscanf(r.out, "%15s", id);
	if (!ok(r.status == 0 && id[0], "SIGKILL there leaves its operation file (%s)", id))
		show(&r);
	free(r.out);
	if (!id[0])
		return;

	r = in_root(USER_PIN "\n", "pkcshsm_mk_change reencipher -a %02x.%04x -A %s", Q.card,
		    Q.domain, aes_hex);
	if (!ok(r.status == 1 && strstr(r.out, "Intersecting master key operations are active"),
		"the stale file blocks the next reencipher: `Intersecting master key operations "
		"are active`"))
		show(&r);
	free(r.out);
	r = in_root(USER_PIN "\n" USER_PIN "\n", "pkcshsm_mk_change cancel -i '%s'", id);
	if (!ok(r.status == 1 && strstr(r.out, "is in a state where\nit can not be canceled"),
		"the tool's own cancel refuses it: `... is in a state where it can not be "
		"canceled`"))
		show(&r);
	free(r.out);
	r = in_root(NULL, "rm -f /var/lib/opencryptoki/HSM_MK_CHANGE/*");
	free(r.out);
}

/* What the real tool does where the shipped helper has guessed. */
static void edges(struct apsim *hsm)
{
	struct apsim_key k;
	struct result r;
	char hex[17];

	r = in_root(NULL, "pkcshsm_mk_change reencipher -a %02x.%04x -S 0123456789abcdef", Q.card,
		    Q.domain);
	if (!ok(r.status == 1 &&
			strstr(r.out, "No token is affected by this master key change, aborting"),
		"an ASYM-only change: `No token is affected by this master key change, aborting`, "
		"exit 1"))
		show(&r);
	free(r.out);
	ok(no_operation_files(), "... and no operation is left in HSM_MK_CHANGE");

	apsim_random_key(MK_CCA_AES, &k);
	apsim_load(hsm, Q, MK_CCA_AES, &k);
	pattern_hex(MK_CCA_AES, &k, hex);
	r = in_root("00000000\n", "pkcshsm_mk_change reencipher -a %02x.%04x -A %s", Q.card,
		    Q.domain, hex);
	if (!ok(r.status == 1 && strstr(r.out, "Error logging in for slot 0: 0xA0 (CKR_PIN_INCORRECT)"),
		"a wrong USER PIN: `Error logging in for slot 0: 0xA0 (CKR_PIN_INCORRECT)`, exit 1"))
		show(&r);
	free(r.out);
	ok(no_operation_files(), "... and no operation is left in HSM_MK_CHANGE");

	signals_at_prompt(hex);

	/* A third slot whose token cannot load: EP11 needs IBM's libep11. */
	slotd_stop();
	stage_write("/etc/opencryptoki/opencryptoki.conf",
		    "version opencryptoki-3.23\n\n"
		    "slot 0\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokversion = 3.12\n}\n"
		    "slot 1\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokname = ccatok2\n"
		    "tokversion = 3.12\n}\n"
		    "slot 2\n{\nstdll = libpkcs11_ep11.so\ntokversion = 3.12\n}\n");
	if (!slotd_start(&r))
		bail_out("pkcsslotd does not start again: %s", r.out);
	free(r.out);
	r = in_root("n\n", "pkcshsm_mk_change reencipher -a %02x.%04x -A %s", Q.card, Q.domain,
		    hex);
	if (!ok(r.status == 1 &&
			strstr(r.out, "WARNING: The following slots have no token present:") &&
			strstr(r.out, "Continue [y/N]?") && strstr(r.out, "Aborted by user."),
		"a configured slot without a token: `Continue [y/N]?`; `n` is `Aborted by user.`, "
		"exit 1"))
		show(&r);
	free(r.out);
	ok(no_operation_files(), "... and no operation is left in HSM_MK_CHANGE");
	apsim_clear_new(hsm, Q, MK_CCA_AES);
}

int main(int argc, char **argv)
{
	struct apsim_key newkey, newapka;
	struct app app;
	struct result r;
	struct apsim *hsm;
	char hex[17], apka_hex[17], pins[64], *id;
	pid_t slotd;
	(void)argc;

	hsm = apsim_new(argv);
	if (!hsm || apsim_add_card(hsm, Q.card, "CEX8C") < 0 || apsim_add_queue(hsm, Q) < 0)
		bail_out("apsim: cannot build the testbed");
	stage_setup(hsm, Q.domain);
	configure();

	slotd = slotd_start(&r);
	if (!ok(slotd > 0, "the real pkcsslotd starts in the root (pid %d)", (int)slotd)) {
		show(&r);
		bail_out("no pkcsslotd, nothing else can run");
	}
	free(r.out);

	r = in_root(NULL, "script -qec tty /dev/null");
	if (!ok(r.status == 0 && strstr(r.out, "/dev/pts/"), "a pseudo-terminal opens in the root"))
		show(&r);
	free(r.out);

	r = in_root(NULL, "pkcsconf -t");
	if (!ok(r.status == 0 && count_matches(r.out, "Model: CCA") == (int)NTOKENS,
		"pkcsconf -t lists %zu CCA tokens, loaded on the simulated adapter", NTOKENS))
		show(&r);
	free(r.out);

	for (size_t i = 0; i < NTOKENS; i++) {
		const struct token *t = &TOKENS[i];
		char label[64];

		snprintf(label, sizeof(label), "%s\n", t->label);
		r = in_root(label, "pkcsconf -I -c %d -S 87654321 && "
			    "pkcsconf -P -c %d -S 87654321 -n " SO_PIN " && "
			    "pkcsconf -u -c %d -S " SO_PIN " -n 12345678 && "
			    "pkcsconf -p -c %d -U 12345678 -n %s", t->slot, t->slot, t->slot, t->slot,
			    t->pin);
		if (!ok(r.status == 0, "slot %d: pkcsconf initializes the token '%s' and sets "
			"the SO and user PINs", t->slot, t->label))
			show(&r);
		free(r.out);
		r = in_root(NULL, "p11sak generate-key aes 256 --slot %d --pin %s --label '"
			    KEY_LABEL "' --id a35a && "
			    "p11sak generate-key ec prime256v1 --slot %d --pin %s --label '"
			    EC_LABEL "'", t->slot, t->pin, t->slot, t->pin);
		if (!ok(r.status == 0, "slot %d: p11sak generates an AES 256 key and an EC "
			"prime256v1 key pair", t->slot))
			show(&r);
		free(r.out);
	}
	keys_work("under the first master keys", false);
	app_start(&app, TOKENS[0].slot, TOKENS[0].pin, "a35a");
	if (!ok(strcmp(app_ask(&app, NULL), "ready") == 0,
		"p11app logs in to slot 0 and finds the AES key, and keeps its session open"))
		bail_out("p11app did not start");
	app_uses(&app, "before the change");

	apsim_random_key(MK_CCA_AES, &newkey);
	apsim_random_key(MK_CCA_APKA, &newapka);
	if (apsim_load(hsm, Q, MK_CCA_AES, &newkey) < 0 ||
	    apsim_load(hsm, Q, MK_CCA_APKA, &newapka) < 0)
		bail_out("apsim: cannot load the new master keys");
	pattern_hex(MK_CCA_AES, &newkey, hex);
	pattern_hex(MK_CCA_APKA, &newapka, apka_hex);
	snprintf(pins, sizeof(pins), "%s\n%s\n", TOKENS[0].pin, TOKENS[1].pin);
	r = in_root(pins, "pkcshsm_mk_change reencipher -a %02x.%04x -A %s -p %s", Q.card,
		    Q.domain, hex, apka_hex);
	id = created_op(r.out);
	if (!ok(r.status == 0 && id,
		"pkcshsm_mk_change reencipher to the NEW AES key %s and APKA key %s succeeds, "
		"one USER PIN per slot", hex, apka_hex))
		show(&r);
	ok(strstr(r.out, "  Slot 0: Label: interop token                   \n") &&
		   strstr(r.out, "  Slot 1: Label: a label of exactly 32 characters\n"),
	   "it names each affected token as `  Slot N: Label: ` and the label padded to 32");
	ok(strstr(r.out, "Enter the USER PIN for slot 0: ") &&
		   strstr(r.out, "Enter the USER PIN for slot 1: "),
	   "it asks `Enter the USER PIN for slot N: ` for each");
	free(r.out);

	r = in_root(NULL, "pkcshsm_mk_change list -i '%s'", id ? id : "-");
	if (!ok(r.status == 0 && strstr(r.out, "Key objects have been re-enciphered"),
		"list shows the operation re-enciphered"))
		show(&r);
	free(r.out);
	{
		/* The same from outside the root, as mkagent's helper will run it. */
		char *const argv_list[] = { (char *)stage_tool(), "list", "-i", id ? id : "-", NULL };
		struct run_result rr;

		run_argv(&rr, argv_list);
		if (!ok(rr.status == 0 && strstr(rr.out, "Key objects have been re-enciphered"),
			"stage_tool() runs the real tool in the root from outside it"))
			diag("exit %d: %s%s", rr.status, rr.out, rr.err);
		run_result_free(&rr);
	}
	keys_work("while the change is pending", false);
	app_uses(&app, "after reencipher, in the same session");

	r = in_root(NULL, "pkcshsm_mk_change finalize -i '%s'", id ? id : "-");
	if (!ok(r.status != 0 && strstr(r.out, "NEW CCA AES master key register must be empty"),
		"finalize before activation is refused"))
		show(&r);
	free(r.out);

	if (apsim_activate(hsm, Q, MK_CCA_AES) < 0 || apsim_activate(hsm, Q, MK_CCA_APKA) < 0)
		bail_out("apsim: cannot activate the new master keys");
	/* Finalize logs in to every affected token, like reencipher. */
	r = in_root(pins, "pkcshsm_mk_change finalize -i '%s'", id ? id : "-");
	if (!ok(r.status == 0, "finalize succeeds after the activation"))
		show(&r);
	free(r.out);
	keys_work("under the new master keys after finalize, with keys under OLD refused", true);
	app_ask(&app, "refuse-old");
	app_uses(&app, "after finalize, in the same session, with keys under OLD refused");
	is_int(app_stop(&app), 0, "p11app logs out and ends cleanly");

	r = in_root(NULL, "pkcshsm_mk_change list");
	if (!ok(r.status == 0 && (!id || !strstr(r.out, id)), "the operation is gone from list"))
		show(&r);
	free(r.out);

	edges(hsm);

	slotd_stop();
	ok(!alive(slotd), "pkcsslotd stops by its PID");
	r = in_root(NULL, "pkcshsm_mk_change list");
	if (!ok(r.status == 1, "without pkcsslotd, list exits 1: a failing list does not mean "
		"an operation is gone"))
		show(&r);
	free(r.out);
	free(id);
	stage_teardown();
	apsim_free(hsm);
	return done_testing();
}
