// SPDX-License-Identifier: MIT
/*
 * A simulator of openCryptoki's pkcshsm_mk_change for the tests: the
 * options, prompts, messages and refusals of the tool as the seed shows
 * them, over apsim's HSM and simulated tokens whose secure keys are
 * simkeys stores. The first two arguments, `--sim-dir DIR`, come from a
 * wrapper and say where the simulated system is:
 *
 *   DIR/hsm             the path of apsim's HSM directory
 *   DIR/slots           "<slot> <label> <cca|ep11> <present 0|1> <sha256 of the USER PIN>"
 *   DIR/token-<slot>/   the token's key objects (a simkeys store)
 *   DIR/HSM_MK_CHANGE/  the operations, one file each
 *   DIR/simkeys         the path of the simkeys program
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../apsim.h"

struct slot {
	int id;
	char label[33];
	bool ep11, present;
	char pin_sha[65];
};

static char dir[4096], hsm[4096], simkeys[4096];
static struct slot slots[16];
static int nslots;

static char *first_line(const char *name, char *buf, size_t size)
{
	char path[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	buf[0] = '\0';
	if (f && fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
	return buf;
}

static void load_slots(void)
{
	char path[8192], type[8];
	int present;
	FILE *f;

	snprintf(path, sizeof(path), "%s/slots", dir);
	f = fopen(path, "r");
	while (f && nslots < 16 &&
	       fscanf(f, "%d %32s %7s %d %64s", &slots[nslots].id, slots[nslots].label, type, &present,
		      slots[nslots].pin_sha) == 5) {
		slots[nslots].ep11 = strcmp(type, "ep11") == 0;
		slots[nslots].present = present;
		nslots++;
	}
	if (f)
		fclose(f);
}

/* Like getpass(): echo off (flushing what was typed ahead) before the
 * prompt, so an answer to the prompt is never lost. */
static bool read_line(const char *prompt, char *buf, size_t size, bool secret)
{
	struct termios old, quiet;
	bool tty = isatty(0) && tcgetattr(0, &old) == 0;

	if (secret && tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	fputs(prompt, stdout);
	fflush(stdout);
	if (!fgets(buf, (int)size, stdin))
		buf[0] = '\0';
	if (secret && tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		printf("\n");
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] != '\0';
}

static bool pin_ok(const struct slot *s, const char *pin)
{
	unsigned char md[32];
	char hex[65];

	EVP_Digest(pin, strlen(pin), md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	return strcmp(hex, s->pin_sha) == 0;
}

/* The operation as kept in HSM_MK_CHANGE: apqns, patterns, slots. */
struct op {
	char id[7];
	char apqns[1024];
	bool has[MK_TYPE_COUNT];
	struct mkvp mkvp[MK_TYPE_COUNT];
	char slotlist[256];
};

static const struct {
	int letter;
	enum mk_type t;
} pattern_opts[] = { { 'A', MK_CCA_AES }, { 'p', MK_CCA_APKA }, { 'S', MK_CCA_ASYM },
		     { 's', MK_CCA_SYM }, { 'e', MK_EP11 } };

static bool affects(const struct slot *s, const struct op *op)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (op->has[t] && (t == MK_EP11) == s->ep11)
			return true;
	return false;
}

static bool op_load(const char *id, struct op *op)
{
	char path[8192], line[1024];
	FILE *f;

	memset(op, 0, sizeof(*op));
	snprintf(path, sizeof(path), "%s/HSM_MK_CHANGE/%s", dir, id);
	f = fopen(path, "r");
	if (!f)
		return false;
	snprintf(op->id, sizeof(op->id), "%s", id);
	while (fgets(line, sizeof(line), f)) {
		char key[32], val[1000];

		if (sscanf(line, "%31s %999s", key, val) != 2)
			continue;
		if (!strcmp(key, "apqns"))
			snprintf(op->apqns, sizeof(op->apqns), "%s", val);
		else if (!strcmp(key, "slots"))
			snprintf(op->slotlist, sizeof(op->slotlist), "%.255s", val);
		else {
			int t = mk_type_from_name(key);

			if (t >= 0 && mkvp_parse_cli(t, val, &op->mkvp[t], NULL) == 0)
				op->has[t] = true;
		}
	}
	fclose(f);
	return true;
}

static void op_save(const struct op *op)
{
	char path[8192], hex[MKVP_STR_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/HSM_MK_CHANGE", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/HSM_MK_CHANGE/%s", dir, op->id);
	f = fopen(path, "w");
	fprintf(f, "apqns %s\nslots %s\n", op->apqns, op->slotlist);
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (op->has[t])
			fprintf(f, "%s %s\n", mk_type_name(t), mkvp_format(&op->mkvp[t], hex));
	fclose(f);
}

/* Whether register @r of every APQN holds the pattern of every type. */
static const char *check_regs(const struct op *op, enum mk_reg r, bool want)
{
	static char bad[APQN_STR_MAX];
	struct apqn_list l = { 0 };

	apqn_list_parse(op->apqns, &l, NULL);
	for (size_t i = 0; i < l.n; i++) {
		for (int t = 0; t < MK_TYPE_COUNT; t++) {
			enum reg_state st = REG_UNKNOWN;
			struct apsim_key k;
			struct mkvp p = { 0 };

			if (!op->has[t])
				continue;
			if (apsim_hsm_read(hsm, l.v[i], t, r, &st, &k) == 0 && reg_state_has_mkvp(st))
				apsim_key_mkvp(t, &k, &p);
			if (mkvp_matches(&p, &op->mkvp[t]) != want) {
				apqn_format(l.v[i], bad);
				apqn_list_free(&l);
				return bad;
			}
		}
	}
	apqn_list_free(&l);
	return NULL;
}

/* Run simkeys PHASE on a token's store, as the openCryptoki runtime would. */
static bool token_phase(const struct slot *s, const struct op *op, const char *phase)
{
	char store[8192], var[64], hex[MKVP_STR_MAX];
	pid_t pid;
	int status;

	snprintf(store, sizeof(store), "%s/token-%d", dir, s->id);
	pid = fork();
	if (pid == 0) {
		clearenv();
		setenv("MKAGENT_APQNS", op->apqns, 1);
		for (int t = 0; t < MK_TYPE_COUNT; t++) {
			char *p;

			if (!op->has[t])
				continue;
			snprintf(var, sizeof(var), "MKAGENT_NEW_MKVP_%s", mk_type_name(t));
			for (p = var; *p; p++)
				*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
			setenv(var, mkvp_format(&op->mkvp[t], hex), 1);
		}
		execl(simkeys, simkeys, "--store", store, "--hsm", hsm, phase, NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Prompt for each affected slot's USER PIN; refuse a wrong one. */
static bool login_all(const struct op *op)
{
	char pin[256];

	for (int i = 0; i < nslots; i++) {
		if (!slots[i].present || !affects(&slots[i], op))
			continue;
		char prompt[64];

		snprintf(prompt, sizeof(prompt), "Enter the USER PIN for slot %d: ", slots[i].id);
		read_line(prompt, pin, sizeof(pin), true);
		if (!pin_ok(&slots[i], pin)) {
			memset(pin, 0, sizeof(pin));
			fprintf(stderr, "Failed to login to slot %d: CKR_PIN_INCORRECT\n", slots[i].id);
			return false;
		}
		memset(pin, 0, sizeof(pin));
	}
	return true;
}

static bool all_tokens(const struct op *op, const char *phase)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].present && affects(&slots[i], op) && !token_phase(&slots[i], op, phase)) {
			fprintf(stderr, "Failed to %s the key objects of slot %d\n", phase, slots[i].id);
			return false;
		}
	return true;
}

static int reencipher(struct op *op)
{
	char answer[16];
	const char *bad;
	bool missing = false;
	size_t len = 0;

	if ((bad = check_regs(op, REG_NEW, true))) {
		fprintf(stderr, "The new master key on APQN %s is not set or has a different verification pattern\n",
			bad);
		return 1;
	}
	for (int i = 0; i < nslots; i++) {
		if (slots[i].present)
			continue;
		if (!missing)
			printf("WARNING: The following slots have no token present:\n");
		printf("Slot %d\n", slots[i].id);
		missing = true;
	}
	if (missing) {
		read_line("ATTENTION: If you start a concurrent master key change operation while not all "
			  "expected tokens are present, the key objects of those tokens may be lost, if the "
			  "token would be affected by the master key change. Continue [y/N]? ",
			  answer, sizeof(answer), false);
		if (answer[0] != 'y' && answer[0] != 'Y') {
			fprintf(stderr, "Operation aborted.\n");
			return 1;
		}
	}
	printf("The following tokens are affected by this master key change:\n");
	for (int i = 0; i < nslots; i++) {
		if (!slots[i].present || !affects(&slots[i], op))
			continue;
		printf("Slot %d: Label: %s\n", slots[i].id, slots[i].label);
		len += (size_t)snprintf(op->slotlist + len, sizeof(op->slotlist) - len, "%s%d",
					len ? "," : "", slots[i].id);
	}
	if (!len)
		snprintf(op->slotlist, sizeof(op->slotlist), "-");
	if (!login_all(op))
		return 1;
	printf("Re-enciphering, please wait...\n");
	fflush(stdout);
	if (!all_tokens(op, "reencipher"))
		return 1;
	for (int i = 0; i < 6;) {
		unsigned char b;
		static const char c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

		RAND_bytes(&b, 1);
		if (b < 248)
			op->id[i++] = c[b % 62];
	}
	op_save(op);
	printf("Completed.\nMaster key change operation '%s' created.\n", op->id);
	/* a slow tail, so that tests can kill the helper after the creation */
	if (getenv("PKCSHSM_SIM_DELAY"))
		sleep((unsigned int)atoi(getenv("PKCSHSM_SIM_DELAY")));
	printf("Once the new master keys have been set/activated:\n"
	       " - Run 'pkcshsm_mk_change finalize --id %s' when the new master keys have been set/activated.\n",
	       op->id);
	return 0;
}

static int finalize_or_cancel(struct op *op, bool finalize)
{
	char path[8192];
	const char *bad = check_regs(op, REG_CUR, finalize);

	if (bad) {
		fprintf(stderr,
			finalize ? "The new master key is not yet set/activated on APQN %s\n" :
				   "The new master key has already been set/activated on APQN %s: the operation can not be canceled\n",
			bad);
		return 1;
	}
	if (!login_all(op))
		return 1;
	printf(finalize ? "Finalizing, please wait...\n" : "Canceling, please wait...\n");
	fflush(stdout);
	if (!all_tokens(op, finalize ? "finalize" : "cancel"))
		return 1;
	snprintf(path, sizeof(path), "%s/HSM_MK_CHANGE/%s", dir, op->id);
	unlink(path);
	printf("Master key change operation '%s' successfully %s.\n", op->id,
	       finalize ? "finalized" : "canceled");
	return 0;
}

static int list(const struct op *op)
{
	char hex[MKVP_STR_MAX], *save = NULL, apqns[1024];

	printf("Operation: %s\nState: Key objects have been re-enciphered,\n"
	       "       new master key(s) can now be set/activated\nAPQNs:\n", op->id);
	snprintf(apqns, sizeof(apqns), "%s", op->apqns);
	for (char *a = strtok_r(apqns, ",", &save); a; a = strtok_r(NULL, ",", &save))
		printf("    %s\n", a);
	printf("New master key verification patterns:\n");
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (op->has[t])
			printf("    Type: %s\n    MKVP: %s\n", mk_type_name(t), mkvp_format(&op->mkvp[t], hex));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "apqns", required_argument, NULL, 'a' },	  { "ep11-wkvp", required_argument, NULL, 'e' },
		{ "cca-sym-mkvp", required_argument, NULL, 's' }, { "cca-asym-mkvp", required_argument, NULL, 'S' },
		{ "cca-aes-mkvp", required_argument, NULL, 'A' }, { "cca-apka-mkvp", required_argument, NULL, 'p' },
		{ "id", required_argument, NULL, 'i' },		  { "verbose", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },		  { 0 },
	};
	struct op op = { 0 };
	const char *cmd, *id = NULL;
	char buf[4096];
	int c;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 3 || strcmp(argv[1], "--sim-dir") != 0) {
		fprintf(stderr, "pkcshsm_mk_change (simulator): needs --sim-dir DIR first\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	snprintf(hsm, sizeof(hsm), "%s", first_line("hsm", buf, sizeof(buf)));
	snprintf(simkeys, sizeof(simkeys), "%s", first_line("simkeys", buf, sizeof(buf)));
	load_slots();
	argv += 2;
	argc -= 2;
	if (argc < 2) {
		fprintf(stderr, "Usage: pkcshsm_mk_change COMMAND [OPTIONS]\n");
		return 1;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "a:e:s:S:A:p:i:v:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			snprintf(op.apqns, sizeof(op.apqns), "%s", optarg);
			break;
		case 'i':
			id = optarg;
			break;
		case 'v':
		case 'h':
			break;
		default:
			for (size_t i = 0; i < sizeof(pattern_opts) / sizeof(pattern_opts[0]); i++) {
				if (pattern_opts[i].letter != c)
					continue;
				if (mkvp_parse_cli(pattern_opts[i].t, optarg, &op.mkvp[pattern_opts[i].t], NULL) < 0) {
					fprintf(stderr, "Invalid master key verification pattern: %s\n", optarg);
					return 1;
				}
				op.has[pattern_opts[i].t] = true;
			}
			if (c == '?')
				return 1;
		}
	}
	if (!strcmp(cmd, "reencipher")) {
		if (id || !op.apqns[0]) {
			fprintf(stderr, "Option --apqns is required, option --id is not allowed\n");
			return 1;
		}
		return reencipher(&op);
	}
	if (!strcmp(cmd, "finalize") || !strcmp(cmd, "cancel") || !strcmp(cmd, "list")) {
		if (!id) {
			fprintf(stderr, "Option --id is required\n");
			return 1;
		}
		if (!op_load(id, &op)) {
			fprintf(stderr, "Operation '%s' not found\n", id);
			return 1;
		}
		if (!strcmp(cmd, "list"))
			return list(&op);
		return finalize_or_cancel(&op, cmd[0] == 'f');
	}
	fprintf(stderr, "Unknown command: %s\n", cmd);
	return 1;
}
