// SPDX-License-Identifier: MIT
/*
 * ecdsa.c - ECDSA signatures with the EC key tokens of ecc.c: the private
 * value under CURRENT (or OLD), signature generate (CSNDDSG) and verify
 * (CSNDDSV).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "csulcca.h"

/* The private value of an ECC token under CURRENT (or OLD). */
static int ec_private(const struct hsm *h, const unsigned char *tok, long len, uint8_t *d,
		      long *reason)
{
	const struct reg *r = &h->r[MK_APKA];
	const unsigned char *priv, *pub;
	bool old_ok = r->old_valid && !getenv("CSULCCA_REFUSE_OLD");
	int n;

	if (!ec_sections(tok, len, &priv, &pub)) {
		*reason = REASON_BAD_TOKEN;
		return -1;
	}
	if (!(r->cur_state == '2' && memcmp(priv + 16, r->cur_vp, MKVP_LEN) == 0) &&
	    !(old_ok && memcmp(priv + 16, r->old_vp, MKVP_LEN) == 0)) {
		*reason = REASON_MKVP_MISMATCH;
		return -1;
	}
	if (wrap(MK_APKA, priv + 16, false, priv + EC_PRIV_BLOB, get_be16(priv + 24), d, &n) < 0 ||
	    n != ((int)get_be16(priv + 12) + 7) / 8) {
		*reason = REASON_BAD_TOKEN;
		return -1;
	}
	return n;
}

/* An EVP_PKEY for the curve of @pub with Q, and d when given. */
static EVP_PKEY *ec_pkey(const unsigned char *pub, const uint8_t *d, int dlen)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *bn = d ? BN_bin2bn(d, dlen, NULL) : NULL;
	char curve[32];

	if (b && ctx && ec_curve_name(pub[8], get_be16(pub + 10), curve, sizeof(curve)) &&
	    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub + 14,
					     get_be16(pub + 12)) &&
	    (!bn || OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, bn)) &&
	    (params = OSSL_PARAM_BLD_to_param(b)) != NULL && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &key, bn ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	BN_clear_free(bn);
	return key;
}

/* Digital signature generate, ECDSA: r || s of the given hash. */
API void CSNDDSG(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *key_len, unsigned char *key,
		 long *hash_len, unsigned char *hash, long *sig_len, long *sig_bits,
		 unsigned char *sig)
{
	const unsigned char *priv, *pub, *p;
	unsigned char d[80], der[160];
	size_t der_len = sizeof(der);
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	EVP_PKEY *pk;
	struct hsm h;
	int dlen;
	bool good;

	(void)exit_len, (void)exit_data;
	if (!rule_has(*rule_count, rules, "ECDSA") || !ec_sections(key, *key_len, &priv, &pub))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (hsm_read(&h) < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	dlen = ec_private(&h, key, *key_len, d, reason);
	if (dlen < 0)
		return result(rc, reason, RC_ERROR, *reason);
	if (*sig_len < 2L * dlen)
		return result(rc, reason, RC_ERROR, REASON_LENGTH);
	pk = ec_pkey(pub, d, dlen);
	OPENSSL_cleanse(d, sizeof(d));
	good = pk && (ctx = EVP_PKEY_CTX_new(pk, NULL)) && EVP_PKEY_sign_init(ctx) > 0 &&
	       EVP_PKEY_sign(ctx, der, &der_len, hash, (size_t)*hash_len) > 0 &&
	       (p = der, es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) != NULL &&
	       BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, dlen) == dlen &&
	       BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + dlen, dlen) == dlen;
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	if (!good)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	*sig_len = 2L * dlen;
	*sig_bits = 16L * dlen;
	result(rc, reason, 0, 0);
}

/* Digital signature verify, ECDSA, with a public (or private) key token. */
API void CSNDDSV(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *key_len, unsigned char *key,
		 long *hash_len, unsigned char *hash, long *sig_len, unsigned char *sig)
{
	const unsigned char *priv, *pub;
	unsigned char *der = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	EVP_PKEY *pk = NULL;
	long half = *sig_len / 2;
	int der_len = -1, v = -1;

	(void)exit_len, (void)exit_data;
	if (!rule_has(*rule_count, rules, "ECDSA"))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (*key_len > EC_HDR + 14 && key[0] == 0x1e && key[EC_HDR] == 0x21)
		pub = key + EC_HDR;
	else if (!ec_sections(key, *key_len, &priv, &pub))
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (es && ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)half, NULL),
				 BN_bin2bn(sig + half, (int)half, NULL)))
		der_len = i2d_ECDSA_SIG(es, &der);
	pk = ec_pkey(pub, NULL, 0);
	if (der_len > 0 && pk && (ctx = EVP_PKEY_CTX_new(pk, NULL)) && EVP_PKEY_verify_init(ctx) > 0)
		v = EVP_PKEY_verify(ctx, der, (size_t)der_len, hash, (size_t)*hash_len);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	if (v < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	/* rc 4, reason 429: the signature does not verify. */
	result(rc, reason, v == 1 ? 0 : RC_WARNING, v == 1 ? 0 : 429);
}
