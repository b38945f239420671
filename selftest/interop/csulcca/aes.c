// SPDX-License-Identifier: MIT
/*
 * aes.c - AES data keys: the 64-byte internal key token, and the verbs that
 * build it (CSNBKTB), make a key under the CURRENT master key (CSNBKGN),
 * re-encipher it (CSNBKTC) and encipher and decipher with it (CSNBSAE,
 * CSNBSAD).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "csulcca.h"

/* The 64-byte internal AES data key token (version 4): pattern at 8,
 * the wrapped key at 16 (up to 40 bytes), its length in bits at 56. */
static unsigned int aes_token_bits(const unsigned char *tok)
{
	return get_be16(tok + 56);
}

static bool aes_token_ok(const unsigned char *tok)
{
	unsigned int bits = aes_token_bits(tok);

	return tok[0] == 0x01 && tok[4] == 0x04 && (bits == 128 || bits == 192 || bits == 256);
}

static int aes_token_unwrap(const struct hsm *h, const unsigned char *tok, uint8_t *key,
			    long *reason)
{
	const struct reg *r = &h->r[MK_AES];
	int keylen = (int)aes_token_bits(tok) / 8, n;

	if (!aes_token_ok(tok)) {
		*reason = REASON_BAD_TOKEN;
		return -1;
	}
	/* An adapter still uses keys under OLD; CSULCCA_REFUSE_OLD lets a test
	 * prove that a key was re-enciphered, not merely left under OLD. */
	bool old_ok = r->old_valid && !getenv("CSULCCA_REFUSE_OLD");

	if (!(r->cur_state == '2' && memcmp(tok + 8, r->cur_vp, MKVP_LEN) == 0) &&
	    !(old_ok && memcmp(tok + 8, r->old_vp, MKVP_LEN) == 0)) {
		*reason = REASON_MKVP_MISMATCH;
		return -1;
	}
	if (wrap(MK_AES, tok + 8, false, tok + 16, keylen + 8, key, &n) < 0 || n != keylen) {
		*reason = REASON_BAD_TOKEN;
		return -1;
	}
	return keylen;
}

static int aes_token_wrap(unsigned char *tok, const uint8_t *vp, const uint8_t *key, int keylen)
{
	uint8_t blob[40];
	int n;

	if (wrap(MK_AES, vp, true, key, keylen, blob, &n) < 0)
		return -1;
	memset(tok, 0, AES_TOKEN_LEN);
	tok[0] = 0x01;
	tok[4] = 0x04;
	memcpy(tok + 8, vp, MKVP_LEN);
	memcpy(tok + 16, blob, (size_t)n);
	put_be16(tok + 56, (unsigned int)keylen * 8);
	return 0;
}

static unsigned int keyln_bits(const unsigned char *kw)
{
	return kw_is(kw, "KEYLN16") ? 128 : kw_is(kw, "KEYLN24") ? 192 : kw_is(kw, "KEYLN32") ? 256 : 0;
}

/* Key token build: the skeleton of an AES data key, no key in it yet. */
API void CSNBKTB(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 unsigned char *token, unsigned char *key_type, long *rule_count, unsigned char *rules)
{
	unsigned int bits = 0;

	(void)exit_len;
	(void)exit_data;
	if (!rule_has(*rule_count, rules, "AES") || !rule_has(*rule_count, rules, "INTERNAL") ||
	    !kw_is(key_type, "DATA"))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	for (long i = 0; i < *rule_count; i++)
		if (keyln_bits(rules + i * KW))
			bits = keyln_bits(rules + i * KW);
	if (!bits)
		bits = 256;
	memset(token, 0, AES_TOKEN_LEN);
	token[0] = 0x01;
	token[4] = 0x04;
	put_be16(token + 56, bits);
	result(rc, reason, 0, 0);
}

/* Key generate: an operational AES data key under the CURRENT master key. */
API void CSNBKGN(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 unsigned char *form, unsigned char *length, unsigned char *type1,
		 unsigned char *type2, unsigned char *kek1, unsigned char *kek2,
		 unsigned char *key1, unsigned char *key2)
{
	struct hsm h;
	unsigned int bits;
	uint8_t clear[32];

	(void)exit_len;
	(void)exit_data;
	(void)type2;
	(void)kek1;
	(void)kek2;
	(void)key2;
	if (!kw_is(form, "OP") || !kw_is(type1, "AESTOKEN"))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	bits = aes_token_bits(key1);
	if (bits != 128 && bits != 192 && bits != 256)
		bits = keyln_bits(length) ? keyln_bits(length) : 256;
	if (hsm_read(&h) < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (h.r[MK_AES].cur_state != '2')
		return result(rc, reason, RC_ERROR, REASON_MKVP_MISMATCH);
	if (RAND_bytes(clear, (int)bits / 8) != 1 ||
	    aes_token_wrap(key1, h.r[MK_AES].cur_vp, clear, (int)bits / 8) < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	OPENSSL_cleanse(clear, sizeof(clear));
	result(rc, reason, 0, 0);
}

/*
 * Key token change: RTNMK re-enciphers a key from CURRENT to NEW (NEW must
 * be full), RTCMK from OLD to CURRENT. A key not under the source register
 * is refused with reason 48, as the adapter does.
 */
API void CSNBKTC(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, unsigned char *token)
{
	struct hsm h;
	const struct reg *r;
	const uint8_t *from, *to;
	uint8_t clear[32];
	int keylen, n, code;

	(void)exit_len;
	(void)exit_data;
	if (!rule_has(*rule_count, rules, "AES"))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (!aes_token_ok(token))
		return result(rc, reason, RC_ERROR, REASON_BAD_TOKEN);
	if (hsm_read(&h) < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	r = &h.r[MK_AES];
	code = direction(*rule_count, rules, r, &from, &to);
	if (code)
		return result(rc, reason, RC_ERROR, code);
	if (memcmp(token + 8, from, MKVP_LEN) != 0)
		return result(rc, reason, RC_ERROR, REASON_MKVP_MISMATCH);
	keylen = (int)aes_token_bits(token) / 8;
	if (wrap(MK_AES, from, false, token + 16, keylen + 8, clear, &n) < 0 || n != keylen)
		return result(rc, reason, RC_ERROR, REASON_BAD_TOKEN);
	n = aes_token_wrap(token, to, clear, keylen);
	OPENSSL_cleanse(clear, sizeof(clear));
	result(rc, reason, n < 0 ? RC_UNAVAILABLE : 0, 0);
}

/* Symmetric algorithm encipher/decipher with an AES data key: ECB or CBC,
 * optionally PKCS padded, the chaining vector carrying the last block. */
static void sym_crypt(bool enc, long *rc, long *reason, long *rule_count, unsigned char *rules,
		      long *key_len, unsigned char *key, long *iv_len, unsigned char *iv,
		      long *chain_len, unsigned char *chain, long *in_len, unsigned char *in,
		      long *out_len, unsigned char *out)
{
	struct hsm h;
	uint8_t clear[32], ivbuf[16] = { 0 };
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *c;
	bool ecb = rule_has(*rule_count, rules, "ECB");
	bool pad = rule_has(*rule_count, rules, "PKCS-PAD");
	int keylen, n = 0, m = 0, ok;

	if (!rule_has(*rule_count, rules, "AES") || *key_len < AES_TOKEN_LEN)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (hsm_read(&h) < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	keylen = aes_token_unwrap(&h, key, clear, reason);
	if (keylen < 0)
		return result(rc, reason, RC_ERROR, *reason);
	if (!ecb) {
		if (rule_has(*rule_count, rules, "CONTINUE") && chain && *chain_len >= 16)
			memcpy(ivbuf, chain, 16);
		else if (iv && *iv_len >= 16)
			memcpy(ivbuf, iv, 16);
	}
	cipher = keylen == 16 ? (ecb ? EVP_aes_128_ecb() : EVP_aes_128_cbc()) :
		 keylen == 24 ? (ecb ? EVP_aes_192_ecb() : EVP_aes_192_cbc()) :
				(ecb ? EVP_aes_256_ecb() : EVP_aes_256_cbc());
	if (*out_len < *in_len + (pad && enc ? 16 : 0))
		return result(rc, reason, RC_ERROR, REASON_LENGTH);
	c = EVP_CIPHER_CTX_new();
	ok = EVP_CipherInit_ex(c, cipher, NULL, clear, ecb ? NULL : ivbuf, enc) &&
	     EVP_CIPHER_CTX_set_padding(c, pad) &&
	     EVP_CipherUpdate(c, out, &n, in, (int)*in_len) && EVP_CipherFinal_ex(c, out + n, &m);
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(clear, sizeof(clear));
	if (!ok)
		return result(rc, reason, RC_ERROR, REASON_LENGTH);
	*out_len = n + m;
	if (!ecb && chain && *chain_len >= 16) {
		const unsigned char *last = enc ? out + *out_len - 16 : in + *in_len - 16;

		if (*in_len >= 16)
			memcpy(chain, last, 16);
	}
	result(rc, reason, 0, 0);
}

API void CSNBSAE(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *key_len, unsigned char *key,
		 long *params_len, unsigned char *params, long *block_size, long *iv_len,
		 unsigned char *iv, long *chain_len, unsigned char *chain, long *text_len,
		 unsigned char *text, long *cipher_len, unsigned char *ciphertext, long *opt_len,
		 unsigned char *opt)
{
	(void)exit_len;
	(void)exit_data;
	(void)params_len;
	(void)params;
	(void)block_size;
	(void)opt_len;
	(void)opt;
	sym_crypt(true, rc, reason, rule_count, rules, key_len, key, iv_len, iv, chain_len, chain,
		  text_len, text, cipher_len, ciphertext);
}

API void CSNBSAD(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *key_len, unsigned char *key,
		 long *params_len, unsigned char *params, long *block_size, long *iv_len,
		 unsigned char *iv, long *chain_len, unsigned char *chain, long *cipher_len,
		 unsigned char *ciphertext, long *text_len, unsigned char *text, long *opt_len,
		 unsigned char *opt)
{
	(void)exit_len;
	(void)exit_data;
	(void)params_len;
	(void)params;
	(void)block_size;
	(void)opt_len;
	(void)opt;
	sym_crypt(false, rc, reason, rule_count, rules, key_len, key, iv_len, iv, chain_len, chain,
		  cipher_len, ciphertext, text_len, text);
}
