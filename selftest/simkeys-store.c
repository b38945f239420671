// SPDX-License-Identifier: MIT
/*
 * simkeys-store.c - a simkeys store and the keys in it: the key files
 * (STORE/keys/NNNNN, selftest/simkey.c) and their clear values
 * (STORE/truth/NNNNN), the AES key wrap under a master key, and the
 * master keys found by their pattern in apsim's HSM directory.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "simkeys-internal.h"

void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "simkeys: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

void to_hex(const uint8_t *b, int n, char *out)
{
	for (int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * (n > 0 ? n : 0)] = '\0';
}

int from_hex(const char *s, uint8_t *b, int max)
{
	int n = (int)strlen(s) / 2;

	if (n > max)
		return -1;
	for (int i = 0; i < n; i++)
		if (sscanf(s + 2 * i, "%2hhx", &b[i]) != 1)
			return -1;
	return n;
}

int wrap(const struct apsim_key *mk, const uint8_t *in, int inlen, uint8_t *out, bool enc)
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

void key_path(const char *name, char *buf, size_t size, const char *sub)
{
	snprintf(buf, size, "%s/%s/%s", store, sub, name);
}

bool key_load(const char *name, struct simkey *k)
{
	char path[4096];

	key_path(name, path, sizeof(path), "keys");
	return simkey_read(path, k) == 0;
}

void key_save(const char *name, const struct simkey *k)
{
	char path[4096];

	key_path(name, path, sizeof(path), "keys");
	if (simkey_write(path, k) < 0)
		die("cannot write %s", path);
}

int key_count(void)
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
bool find_mk(const struct apqn_list *apqns, enum mk_type t, const struct mkvp *want,
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

void reg_mkvp(const struct apqn_list *apqns, enum mk_type t, enum mk_reg r, struct mkvp *out)
{
	out->len = 0;
	for (size_t i = 0; i < apqns->n && !out->len; i++) {
		enum reg_state st = REG_UNKNOWN;
		struct apsim_key k;

		if (apsim_hsm_read(hsm, apqns->v[i], t, r, &st, &k) == 0 && reg_state_has_mkvp(st))
			apsim_key_mkvp(t, &k, out);
	}
}
