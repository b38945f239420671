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
 * idempotent. Its files are listed in simkeys-internal.h.
 */
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "simkeys-internal.h"

const char *store, *hsm;

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
