// SPDX-License-Identifier: MIT
/*
 * masterkey.c - keys under master keys: the master key behind a register's
 * pattern, AES key wrap under it, and between which registers a key token
 * change goes (RTNMK, RTCMK), for AES and EC tokens alike.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "csulcca.h"

/* The master key behind a pattern: what the HSM would hold. */
static void master_key(enum mk t, const uint8_t vp[MKVP_LEN], uint8_t key[32])
{
	static const char *const names[MK_COUNT] = { "SYM", "AES", "APKA" };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 32;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, "mkagent csulcca master key ", 27);
	EVP_DigestUpdate(md, names[t], strlen(names[t]));
	EVP_DigestUpdate(md, vp, MKVP_LEN);
	EVP_DigestFinal_ex(md, key, &len);
	EVP_MD_CTX_free(md);
}

/* AES key wrap (RFC 3394; RFC 5649 for the APKA keys, whose private
 * values need not be a multiple of 8 bytes) of @in under the master key
 * of @vp. */
int wrap(enum mk t, const uint8_t *vp, bool do_wrap, const uint8_t *in, int inlen,
	 uint8_t *out, int *outlen)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *how = t == MK_APKA ? EVP_aes_256_wrap_pad() : EVP_aes_256_wrap();
	uint8_t kek[32];
	int n = 0, m = 0, ok;

	master_key(t, vp, kek);
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_CipherInit_ex(c, how, NULL, kek, NULL, do_wrap) &&
	     EVP_CipherUpdate(c, out, &n, in, inlen) && EVP_CipherFinal_ex(c, out + n, &m);
	EVP_CIPHER_CTX_free(c);
	*outlen = n + m;
	return ok ? 0 : -1;
}

/* The test's pause in every RTNMK, from /etc/csulcca-rtnmk-delay-ms. */
static void rtnmk_pause(void)
{
	FILE *f = fopen("/etc/csulcca-rtnmk-delay-ms", "r");
	long ms = 0;

	if (!f)
		return;
	if (fscanf(f, "%ld", &ms) != 1)
		ms = 0;
	fclose(f);
	if (ms > 0 && ms < 60000)
		usleep((useconds_t)ms * 1000);
}

/*
 * From which register to which a key token change goes: RTNMK from CURRENT
 * to NEW (NEW must be full), RTCMK from OLD to CURRENT; 0, or the reason
 * code of a refusal.
 */
int direction(long count, const unsigned char *rules, const struct reg *r,
	      const uint8_t **from, const uint8_t **to)
{
	if (rule_has(count, rules, "RTNMK")) {
		rtnmk_pause();
		if (r->cur_state != '2' || r->new_state != '3')
			return REASON_MKVP_MISMATCH;
		*from = r->cur_vp;
		*to = r->new_vp;
	} else if (rule_has(count, rules, "RTCMK")) {
		if (!r->old_valid || r->cur_state != '2')
			return REASON_MKVP_MISMATCH;
		*from = r->old_vp;
		*to = r->cur_vp;
	} else {
		return REASON_BAD_KEYWORD;
	}
	return 0;
}
