// SPDX-License-Identifier: MIT
/*
 * simkeys - a simulated consumer of secure keys (DESIGN §9). Its keys are
 * real AES key-wrap blobs (RFC 3394, OpenSSL) under apsim's master keys,
 * so "nothing lost" is checked by unwrapping every key under the final
 * CUR key and comparing the clear value with the one kept at creation.
 *
 *   simkeys init --store D --hsm H --apqn A --type T --count N [--pin-file F]
 *   simkeys --store D --hsm H reencipher|finalize|cancel|recover|refresh   (a helper)
 *   simkeys verify --store D --hsm H --apqn A
 *   simkeys --store D --hsm H check PHASE VIOLATIONS-FILE   (the invariants, for tests)
 *
 * As a helper it follows DESIGN §5: the operation comes from MKAGENT_*,
 * reencipher stages a copy under NEW, finalize swaps it in and keeps the
 * old blob as a backup (like CKA_IBM_OPAQUE_OLD), cancel drops staged
 * copies, recover re-wraps keys from OLD to CUR (CCA only), refresh imports
 * them again under CUR as a KMIP server would. A store with
 * a PIN asks for it over fd 3 and fails on a wrong one. Every step is
 * idempotent.
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
#include <unistd.h>

#include "apsim.h"
#include "simkey.h"

#define CLEAR_LEN 32
#define BLOB_MAX SIMKEY_BLOB_MAX
#define PIN_LABEL "simkeys"

static const char *store, *hsm;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "simkeys: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static void to_hex(const uint8_t *b, int n, char *out)
{
	for (int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * (n > 0 ? n : 0)] = '\0';
}

static int from_hex(const char *s, uint8_t *b, int max)
{
	int n = (int)strlen(s) / 2;

	if (n > max)
		return -1;
	for (int i = 0; i < n; i++)
		if (sscanf(s + 2 * i, "%2hhx", &b[i]) != 1)
			return -1;
	return n;
}

static int wrap(const struct apsim_key *mk, const uint8_t *in, int inlen, uint8_t *out, bool enc)
{
	const EVP_CIPHER *c = mk->len == 24 ? EVP_aes_192_wrap() : EVP_aes_256_wrap();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0, ok;

	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_CipherInit_ex(ctx, c, NULL, mk->b, NULL, enc) == 1 &&
	     EVP_CipherUpdate(ctx, out, &len, in, inlen) == 1 &&
	     EVP_CipherFinal_ex(ctx, out + len, &fin) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? len + fin : -1;
}

/* ---- the store ---- */

static void key_path(const char *name, char *buf, size_t size, const char *sub)
{
	snprintf(buf, size, "%s/%s/%s", store, sub, name);
}

static bool key_load(const char *name, struct simkey *k)
{
	char path[4096];

	key_path(name, path, sizeof(path), "keys");
	return simkey_read(path, k) == 0;
}

static void key_save(const char *name, const struct simkey *k)
{
	char path[4096];

	key_path(name, path, sizeof(path), "keys");
	if (simkey_write(path, k) < 0)
		die("cannot write %s", path);
}

static int key_count(void)
{
	char path[4096];
	int n = 0;

	for (;; n++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/keys/%05d", store, n);
		if (stat(path, &st) < 0)
			return n;
	}
}

/* ---- the HSM, as apsim keeps it ---- */

/* The master key of @t whose pattern is @want, in any register of @apqns. */
static bool find_mk(const struct apqn_list *apqns, enum mk_type t, const struct mkvp *want,
		    enum mk_reg only, struct apsim_key *out)
{
	for (size_t i = 0; i < apqns->n; i++) {
		for (int r = 0; r < REG_COUNT; r++) {
			enum reg_state st = REG_UNKNOWN;
			struct apsim_key k;
			struct mkvp p;

			if ((only != REG_COUNT && r != (int)only) ||
			    apsim_hsm_read(hsm, apqns->v[i], t, r, &st, &k) < 0 ||
			    !reg_state_has_mkvp(st))
				continue;
			apsim_key_mkvp(t, &k, &p);
			if (mkvp_matches(&p, want)) {
				*out = k;
				return true;
			}
		}
	}
	return false;
}

static void reg_mkvp(const struct apqn_list *apqns, enum mk_type t, enum mk_reg r, struct mkvp *out)
{
	out->len = 0;
	for (size_t i = 0; i < apqns->n && !out->len; i++) {
		enum reg_state st = REG_UNKNOWN;
		struct apsim_key k;

		if (apsim_hsm_read(hsm, apqns->v[i], t, r, &st, &k) == 0 && reg_state_has_mkvp(st))
			apsim_key_mkvp(t, &k, out);
	}
}

/* ---- PIN over fd 3 ---- */

static void check_pin(void)
{
	char path[4096], want[128] = "", line[256], got[65];
	unsigned char md[32];
	FILE *f, *sock;

	snprintf(path, sizeof(path), "%s/pin.sha256", store);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(want, sizeof(want), f))
		want[0] = '\0';
	fclose(f);
	want[strcspn(want, "\n")] = '\0';
	sock = fdopen(3, "r+");
	if (!sock)
		die("no PIN channel on fd 3%s", "");
	fprintf(sock, "PIN %s\n", PIN_LABEL);
	fflush(sock);
	if (!fgets(line, sizeof(line), sock))
		die("no answer to the PIN request%s", "");
	if (strncmp(line, "OK ", 3) != 0) {
		line[strcspn(line, "\n")] = '\0';
		die("no PIN: %s", line);
	}
	line[strcspn(line, "\n")] = '\0';
	EVP_Digest(line + 3, strlen(line + 3), md, NULL, EVP_sha256(), NULL);
	memset(line, 0, sizeof(line));
	to_hex(md, 32, got);
	if (strcmp(got, want) != 0)
		die("wrong PIN for %s", PIN_LABEL);
}

/* ---- phases ---- */

static void env_apqns(struct apqn_list *l)
{
	const char *s = getenv("MKAGENT_APQNS");

	if (!s || apqn_list_parse(s, l, NULL) < 0)
		die("MKAGENT_APQNS is not set right%s", "");
}

static bool op_has_type(enum mk_type t, struct mkvp *want)
{
	char var[64], up[16];
	const char *v;
	size_t i;

	for (i = 0; mk_type_name(t)[i]; i++)
		up[i] = mk_type_name(t)[i] == '-' ? '_' : (char)toupper((unsigned char)mk_type_name(t)[i]);
	up[i] = '\0';
	snprintf(var, sizeof(var), "MKAGENT_NEW_MKVP_%s", up);
	v = getenv(var);
	return v && mkvp_parse_cli(t, v, want, NULL) == 0;
}

static int run_phase(const char *phase)
{
	struct apqn_list apqns = { 0 };
	int n = key_count(), done = 0;
	char name[16];

	env_apqns(&apqns);
	check_pin();
	for (int i = 0; i < n; i++) {
		struct simkey k;
		struct apsim_key mk, nk;
		struct mkvp want, cur;
		uint8_t clear[BLOB_MAX];
		int len;

		snprintf(name, sizeof(name), "%05d", i);
		if (!key_load(name, &k) || !op_has_type(k.type, &want))
			continue;
		if (!strcmp(phase, "reencipher")) {
			if (k.staged_len && mkvp_matches(&k.staged_mkvp, &want))
				continue;
			if (mkvp_matches(&k.mkvp, &want))
				continue; /* already under the new key */
			if (!find_mk(&apqns, k.type, &want, REG_NEW, &nk))
				die("the new %s master key is not loaded", mk_type_name(k.type));
			if (!find_mk(&apqns, k.type, &k.mkvp, REG_COUNT, &mk))
				die("key %s: its master key is gone", name);
			len = wrap(&mk, k.blob, k.blob_len, clear, false);
			if (len != CLEAR_LEN)
				die("key %s does not unwrap", name);
			k.staged_len = wrap(&nk, clear, len, k.staged, true);
			apsim_key_mkvp(k.type, &nk, &k.staged_mkvp);
		} else if (!strcmp(phase, "finalize")) {
			reg_mkvp(&apqns, k.type, REG_CUR, &cur);
			if (!mkvp_matches(&cur, &want))
				die("the new %s master key is not active", mk_type_name(k.type));
			if (mkvp_matches(&k.mkvp, &want))
				continue;
			if (!k.staged_len || !mkvp_matches(&k.staged_mkvp, &want))
				die("key %s was not re-enciphered", name);
			memcpy(k.backup, k.blob, sizeof(k.backup));
			k.backup_len = k.blob_len;
			k.backup_mkvp = k.mkvp;
			memcpy(k.blob, k.staged, sizeof(k.blob));
			k.blob_len = k.staged_len;
			k.mkvp = k.staged_mkvp;
			k.staged_len = 0;
			k.staged_mkvp.len = 0;
		} else if (!strcmp(phase, "cancel")) {
			if (!k.staged_len)
				continue;
			k.staged_len = 0;
			k.staged_mkvp.len = 0;
		} else if (!strcmp(phase, "recover")) {
			reg_mkvp(&apqns, k.type, REG_CUR, &cur);
			if (mkvp_matches(&k.mkvp, &cur))
				continue;
			if (k.type == MK_EP11 || !find_mk(&apqns, k.type, &k.mkvp, REG_OLD, &mk))
				die("key %s cannot be recovered: its master key is gone", name);
			find_mk(&apqns, k.type, &cur, REG_CUR, &nk);
			len = wrap(&mk, k.blob, k.blob_len, clear, false);
			if (len != CLEAR_LEN)
				die("key %s does not unwrap", name);
			k.blob_len = wrap(&nk, clear, len, k.blob, true);
			k.mkvp = cur;
			k.staged_len = 0;
			k.staged_mkvp.len = 0;
		} else if (!strcmp(phase, "refresh")) {
			/* a KMIP server keeps the key: import it again under CUR */
			char path[4096], hex[2 * CLEAR_LEN + 2] = "";
			FILE *f;

			reg_mkvp(&apqns, k.type, REG_CUR, &cur);
			if (mkvp_matches(&k.mkvp, &cur) || !find_mk(&apqns, k.type, &cur, REG_CUR, &nk))
				continue;
			key_path(name, path, sizeof(path), "truth");
			f = fopen(path, "r");
			if (!f || !fgets(hex, sizeof(hex), f))
				die("key %s: the server has no such key", name);
			fclose(f);
			hex[strcspn(hex, "\n")] = '\0';
			len = from_hex(hex, clear, BLOB_MAX);
			k.blob_len = wrap(&nk, clear, len, k.blob, true);
			k.mkvp = cur;
			k.staged_len = 0;
			k.staged_mkvp.len = 0;
		} else {
			die("unknown phase %s", phase);
		}
		memset(clear, 0, sizeof(clear));
		key_save(name, &k);
		done++;
	}
	printf("%d keys %s\n", done,
	       !strcmp(phase, "reencipher") ? "re-enciphered" : !strcmp(phase, "finalize") ? "finalized" :
	       !strcmp(phase, "cancel")     ? "canceled" : !strcmp(phase, "recover") ? "recovered" :
					      "refreshed");
	apqn_list_free(&apqns);
	return 0;
}

/*
 * The safety invariants at the moment a phase starts (DESIGN §3), as the
 * HSM shows them: I1 before reencipher, I2 before finalize, I3 before
 * cancel. A violation is appended to @file; the exit status says whether
 * there was one.
 */
static int check(const char *phase, const char *file)
{
	struct apqn_list apqns = { 0 };
	const char *types = getenv("MKAGENT_MK_TYPES");
	char buf[128], *save = NULL;
	int bad = 0;

	env_apqns(&apqns);
	snprintf(buf, sizeof(buf), "%s", types ? types : "");
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		int t = mk_type_from_name(w);
		struct mkvp want;

		if (t < 0 || !op_has_type(t, &want))
			continue;
		for (size_t i = 0; i < apqns.n; i++) {
			enum reg_state ns = REG_UNKNOWN, cs = REG_UNKNOWN;
			struct apsim_key nk = { 0 }, ck = { 0 };
			struct mkvp np = { 0 }, cp = { 0 };
			const char *why = NULL;
			char name[APQN_STR_MAX];

			apsim_hsm_read(hsm, apqns.v[i], t, REG_NEW, &ns, &nk);
			apsim_hsm_read(hsm, apqns.v[i], t, REG_CUR, &cs, &ck);
			if (reg_state_has_mkvp(ns))
				apsim_key_mkvp(t, &nk, &np);
			if (reg_state_has_mkvp(cs))
				apsim_key_mkvp(t, &ck, &cp);
			if (!strcmp(phase, "reencipher") && !mkvp_matches(&np, &want))
				why = "I1: reencipher while NEW does not hold the new key";
			else if (!strcmp(phase, "finalize") && !mkvp_matches(&cp, &want))
				why = "I2: finalize while CUR does not hold the new key";
			else if (!strcmp(phase, "cancel") && mkvp_matches(&cp, &want))
				why = "I3: cancel while CUR holds the new key";
			if (why) {
				FILE *f = fopen(file, "a");

				if (f) {
					fprintf(f, "%s %s on %s (%s)\n", getenv("MKAGENT_OP_ID"), why,
						apqn_format(apqns.v[i], name), w);
					fclose(f);
				}
				bad++;
			}
		}
	}
	apqn_list_free(&apqns);
	return bad ? 1 : 0;
}

static int init(const char *apqn, const char *type, int count, const char *pin_file)
{
	struct apqn_list apqns = { 0 };
	char path[4096], hex[2 * BLOB_MAX + 1];
	struct apsim_key mk;
	struct mkvp cur;
	int t = mk_type_from_name(type);
	FILE *f;

	if (t < 0 || apqn_list_parse(apqn, &apqns, NULL) < 0)
		die("bad --type or --apqn%s", "");
	reg_mkvp(&apqns, t, REG_CUR, &cur);
	if (!find_mk(&apqns, t, &cur, REG_CUR, &mk))
		die("no current %s master key", type);
	snprintf(path, sizeof(path), "%s/keys", store);
	mkdir(store, 0700);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/truth", store);
	mkdir(path, 0700);
	for (int i = key_count(), end = i + count; i < end; i++) {
		struct simkey k = { .type = t, .mkvp = cur };
		uint8_t clear[CLEAR_LEN];
		char name[16];

		snprintf(name, sizeof(name), "%05d", i);
		RAND_bytes(clear, CLEAR_LEN);
		k.blob_len = wrap(&mk, clear, CLEAR_LEN, k.blob, true);
		key_save(name, &k);
		key_path(name, path, sizeof(path), "truth");
		f = fopen(path, "w");
		to_hex(clear, CLEAR_LEN, hex);
		fprintf(f, "%s\n", hex);
		fclose(f);
	}
	if (pin_file) {
		char pin[256] = "";
		unsigned char md[32];

		f = fopen(pin_file, "r");
		if (!f || !fgets(pin, sizeof(pin), f))
			die("cannot read %s", pin_file);
		fclose(f);
		pin[strcspn(pin, "\n")] = '\0';
		EVP_Digest(pin, strlen(pin), md, NULL, EVP_sha256(), NULL);
		to_hex(md, 32, hex);
		snprintf(path, sizeof(path), "%s/pin.sha256", store);
		f = fopen(path, "w");
		fprintf(f, "%s\n", hex);
		fclose(f);
	}
	apqn_list_free(&apqns);
	return 0;
}

/* Every key unwraps under the CUR key of @apqn to its clear value. */
static int verify(const char *apqn)
{
	struct apqn_list apqns = { 0 };
	int n = key_count(), good = 0, staged = 0;

	if (apqn_list_parse(apqn, &apqns, NULL) < 0)
		die("bad --apqn %s", apqn);
	for (int i = 0; i < n; i++) {
		char name[16], path[4096], want[2 * CLEAR_LEN + 2] = "", got[2 * BLOB_MAX + 1];
		struct apsim_key mk;
		struct mkvp cur;
		uint8_t clear[BLOB_MAX];
		struct simkey k;
		FILE *f;
		int len;

		snprintf(name, sizeof(name), "%05d", i);
		if (!key_load(name, &k))
			continue;
		reg_mkvp(&apqns, k.type, REG_CUR, &cur);
		if (!find_mk(&apqns, k.type, &cur, REG_CUR, &mk) || !mkvp_eq(&k.mkvp, &cur))
			continue;
		len = wrap(&mk, k.blob, k.blob_len, clear, false);
		key_path(name, path, sizeof(path), "truth");
		f = fopen(path, "r");
		if (f && fgets(want, sizeof(want), f))
			want[strcspn(want, "\n")] = '\0';
		if (f)
			fclose(f);
		to_hex(clear, len > 0 ? len : 0, got);
		good += len == CLEAR_LEN && !strcmp(got, want);
		staged += k.staged_len > 0;
	}
	printf("%d of %d keys verified under the current master key, %d staged\n", good, n, staged);
	apqn_list_free(&apqns);
	return good == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' }, { "hsm", required_argument, NULL, 'H' },
		{ "apqn", required_argument, NULL, 'a' },  { "type", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' }, { "pin-file", required_argument, NULL, 'P' },
		{ 0 },
	};
	const char *apqn = NULL, *type = NULL, *pin_file = NULL, *cmd;
	int c, count = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store = optarg;
			break;
		case 'H':
			hsm = optarg;
			break;
		case 'a':
			apqn = optarg;
			break;
		case 't':
			type = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'P':
			pin_file = optarg;
			break;
		default:
			die("bad option%s", "");
		}
	}
	if (optind >= argc || !store || !hsm)
		die("usage: simkeys --store DIR --hsm DIR COMMAND%s", "");
	cmd = argv[optind];
	if (!strcmp(cmd, "init"))
		return init(apqn, type, count, pin_file);
	if (!strcmp(cmd, "verify"))
		return verify(apqn);
	if (!strcmp(cmd, "check"))
		return optind + 2 < argc ? check(argv[optind + 1], argv[optind + 2]) : 2;
	return run_phase(cmd);
}
