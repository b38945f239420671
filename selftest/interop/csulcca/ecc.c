// SPDX-License-Identifier: MIT
/*
 * ecc.c - elliptic curve keys (APKA): the internal ECC key tokens, and the
 * verbs that build a key pair's skeleton (CSNDPKB), make the pair under
 * the CURRENT APKA master key (CSNDPKG), extract its public key (CSNDPKX)
 * and re-encipher it (CSNDKTC).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "csulcca.h"

/* The OpenSSL name of a curve by its CCA type and size. */
bool ec_curve_name(unsigned int type, unsigned int bits, char *name, size_t size)
{
	if (type == 0x00 && (bits == 192 || bits == 224 || bits == 256 || bits == 384 || bits == 521))
		snprintf(name, size, "P-%u", bits);
	else if (type == 0x01 && (bits == 160 || bits == 192 || bits == 224 || bits == 256 ||
				  bits == 320 || bits == 384 || bits == 512))
		snprintf(name, size, "brainpoolP%ur1", bits);
	else
		return false;
	return true;
}

/* The sections of a private token; false when it is not one of ours. */
bool ec_sections(const unsigned char *tok, long len, const unsigned char **priv,
		 const unsigned char **pub)
{
	unsigned int plen;

	if (len < EC_HDR + EC_PRIV_BLOB || tok[0] != 0x1f || tok[EC_HDR] != 0x20)
		return false;
	*priv = tok + EC_HDR;
	plen = get_be16(*priv + 2);
	if (EC_HDR + plen + 14 > (unsigned long)len || (*priv)[plen] != 0x21)
		return false;
	*pub = *priv + plen;
	return EC_HDR + plen + 14 + get_be16(*pub + 12) <= (unsigned long)len;
}

static long ec_token(unsigned char *tok, unsigned int type, unsigned int bits,
		     const uint8_t *vp, const uint8_t *blob, int blob_len, const uint8_t *q,
		     size_t q_len)
{
	unsigned char *priv = tok + EC_HDR, *pub;
	unsigned int plen = EC_PRIV_BLOB + (unsigned int)blob_len;
	long total = EC_HDR + plen + 14 + (long)q_len;

	memset(tok, 0, (size_t)total);
	tok[0] = 0x1f;
	put_be16(tok + 2, (unsigned int)total);
	priv[0] = 0x20;
	put_be16(priv + 2, plen);
	priv[4] = 0x01;
	priv[9] = (unsigned char)type;
	priv[10] = 0x08;
	put_be16(priv + 12, bits);
	if (vp)
		memcpy(priv + 16, vp, MKVP_LEN);
	put_be16(priv + 24, (unsigned int)blob_len);
	if (blob_len)
		memcpy(priv + EC_PRIV_BLOB, blob, (size_t)blob_len);
	pub = priv + plen;
	pub[0] = 0x21;
	put_be16(pub + 2, 14 + (unsigned int)q_len);
	pub[8] = (unsigned char)type;
	put_be16(pub + 10, bits);
	put_be16(pub + 12, (unsigned int)q_len);
	if (q_len)
		memcpy(pub + 14, q, q_len);
	return total;
}

/* PKA key token build: the skeleton of an ECC key pair. */
API void CSNDPKB(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *kvs_len, unsigned char *kvs,
		 long *name_len, unsigned char *name, long *r1l, unsigned char *r1, long *r2l,
		 unsigned char *r2, long *r3l, unsigned char *r3, long *r4l, unsigned char *r4,
		 long *r5l, unsigned char *r5, long *tok_len, unsigned char *tok)
{
	char curve[32];
	unsigned int bits;

	(void)exit_len, (void)exit_data, (void)name_len, (void)name, (void)r1l, (void)r1;
	(void)r2l, (void)r2, (void)r3l, (void)r3, (void)r4l, (void)r4, (void)r5l, (void)r5;
	if (!rule_has(*rule_count, rules, "ECC-PAIR") || *kvs_len < 4)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	bits = get_be16(kvs + 2);
	if (!ec_curve_name(kvs[0], bits, curve, sizeof(curve)))
		return result(rc, reason, RC_ERROR, REASON_BAD_KEYWORD);
	if (*tok_len < EC_HDR + EC_PRIV_BLOB + 14)
		return result(rc, reason, RC_ERROR, REASON_LENGTH);
	*tok_len = ec_token(tok, kvs[0], bits, NULL, NULL, 0, NULL, 0);
	result(rc, reason, 0, 0);
}

/* PKA key generate: an ECC key pair, the private value wrapped under the
 * CURRENT APKA master key. */
API void CSNDPKG(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *regen_len, unsigned char *regen,
		 long *skel_len, unsigned char *skel, unsigned char *transport, long *tok_len,
		 unsigned char *tok)
{
	const unsigned char *priv, *pub;
	unsigned char d[80], q[160], blob[96];
	unsigned int type, bits;
	size_t q_len = 0;
	char curve[32];
	EVP_PKEY *key = NULL;
	BIGNUM *bn = NULL;
	struct hsm h;
	int n, dlen;
	bool good;

	(void)exit_len, (void)exit_data, (void)regen_len, (void)regen, (void)transport;
	if (!rule_has(*rule_count, rules, "MASTER") || !ec_sections(skel, *skel_len, &priv, &pub))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	type = priv[9];
	bits = get_be16(priv + 12);
	if (!ec_curve_name(type, bits, curve, sizeof(curve)))
		return result(rc, reason, RC_ERROR, REASON_BAD_KEYWORD);
	if (hsm_read(&h) < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (h.r[MK_APKA].cur_state != '2')
		return result(rc, reason, RC_ERROR, REASON_MKVP_MISMATCH);
	dlen = ((int)bits + 7) / 8;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	good = key && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &bn) &&
	       BN_bn2binpad(bn, d, dlen) == dlen &&
	       EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &q_len) &&
	       wrap(MK_APKA, h.r[MK_APKA].cur_vp, true, d, dlen, blob, &n) == 0;
	BN_clear_free(bn);
	EVP_PKEY_free(key);
	OPENSSL_cleanse(d, sizeof(d));
	if (!good)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (*tok_len < EC_HDR + EC_PRIV_BLOB + n + 14 + (long)q_len)
		return result(rc, reason, RC_ERROR, REASON_LENGTH);
	*tok_len = ec_token(tok, type, bits, h.r[MK_APKA].cur_vp, blob, n, q, q_len);
	result(rc, reason, 0, 0);
}

/* PKA public key extract: the public key token of a private one. */
API void CSNDPKX(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *src_len, unsigned char *src,
		 long *tok_len, unsigned char *tok)
{
	const unsigned char *priv, *pub;
	long len;

	(void)exit_len, (void)exit_data, (void)rule_count, (void)rules;
	if (!ec_sections(src, *src_len, &priv, &pub))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	len = EC_HDR + get_be16(pub + 2);
	if (*tok_len < len)
		return result(rc, reason, RC_ERROR, REASON_LENGTH);
	memset(tok, 0, EC_HDR);
	tok[0] = 0x1e;
	put_be16(tok + 2, (unsigned int)len);
	memcpy(tok + EC_HDR, pub, (size_t)(len - EC_HDR));
	*tok_len = len;
	result(rc, reason, 0, 0);
}

/* PKA key token change: RTNMK (CURRENT to NEW) or RTCMK (OLD to CURRENT)
 * of an ECC private key; the wrapped value keeps its length. */
API void CSNDKTC(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *tok_len, unsigned char *tok)
{
	const unsigned char *priv, *pub;
	const uint8_t *from, *to;
	unsigned char d[80], blob[96];
	const struct reg *r;
	struct hsm h;
	int n, m, code;

	(void)exit_len, (void)exit_data;
	if (!rule_has(*rule_count, rules, "ECC"))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (!ec_sections(tok, *tok_len, &priv, &pub))
		return result(rc, reason, RC_ERROR, REASON_BAD_TOKEN);
	if (hsm_read(&h) < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	r = &h.r[MK_APKA];
	code = direction(*rule_count, rules, r, &from, &to);
	if (code)
		return result(rc, reason, RC_ERROR, code);
	if (memcmp(priv + 16, from, MKVP_LEN) != 0)
		return result(rc, reason, RC_ERROR, REASON_MKVP_MISMATCH);
	if (wrap(MK_APKA, from, false, priv + EC_PRIV_BLOB, get_be16(priv + 24), d, &n) < 0)
		return result(rc, reason, RC_ERROR, REASON_BAD_TOKEN);
	m = wrap(MK_APKA, to, true, d, n, blob, &n) < 0 ? -1 : n;
	OPENSSL_cleanse(d, sizeof(d));
	if (m != get_be16(priv + 24))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	memcpy(tok + EC_HDR + EC_PRIV_BLOB, blob, (size_t)m);
	memcpy(tok + EC_HDR + 16, to, MKVP_LEN);
	result(rc, reason, 0, 0);
}
