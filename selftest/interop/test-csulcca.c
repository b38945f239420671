// SPDX-License-Identifier: MIT
/*
 * test-csulcca.c - the simulated CCA adapter (csulcca/) on its own: the
 * registers it reports are apsim's, and its keys are bound to the master
 * key they were made under. Runs under umockdev, which shows the library
 * apsim's testbed as /sys; no trixie root needed.
 */
#include <dlfcn.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../apsim.h"
#include "../run.h"
#include "../tap.h"

static const struct apqn Q = { .card = 0x02, .domain = 0x0b };

typedef void cfq_fn(long *, long *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *);
typedef void ktb_fn(long *, long *, long *, unsigned char *, unsigned char *, unsigned char *,
		    long *, unsigned char *);
typedef void kgn_fn(long *, long *, long *, unsigned char *, unsigned char *, unsigned char *,
		    unsigned char *, unsigned char *, unsigned char *, unsigned char *,
		    unsigned char *, unsigned char *);
typedef void ktc_fn(long *, long *, long *, unsigned char *, long *, unsigned char *,
		    unsigned char *);
typedef void sae_fn(long *, long *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *, long *, unsigned char *, long *, long *, unsigned char *,
		    long *, unsigned char *, long *, unsigned char *, long *, unsigned char *,
		    long *, unsigned char *);
typedef void pkb_fn(long *, long *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *, long *, unsigned char *);
typedef void pkg_fn(long *, long *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *, long *, unsigned char *, unsigned char *, long *,
		    unsigned char *);
typedef void pkx_fn(long *, long *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *, long *, unsigned char *);
typedef void dsg_fn(long *, long *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *, long *, unsigned char *, long *, long *, unsigned char *);
typedef void dsv_fn(long *, long *, long *, unsigned char *, long *, unsigned char *, long *,
		    unsigned char *, long *, unsigned char *, long *, unsigned char *);
typedef void pktc_fn(long *, long *, long *, unsigned char *, long *, unsigned char *, long *,
		     unsigned char *);
typedef void any_fn(long *, long *);

static cfq_fn *cfq;
static ktb_fn *ktb;
static kgn_fn *kgn;
static ktc_fn *ktc;
static sae_fn *sae, *sad;
static pkb_fn *pkb;
static pkg_fn *pkg;
static pkx_fn *pkx;
static dsg_fn *dsg;
static dsv_fn *dsv;
static pktc_fn *pktc;

struct ec {
	unsigned char priv[512], pub[512];
	long priv_len, pub_len;
};

/* A prime256v1 key pair: CSNDPKB, CSNDPKG, CSNDPKX. */
static long gen_ec(struct ec *k, long *reason)
{
	unsigned char rules[8] = "ECC-PAIR", master[8] = "MASTER  ", kvs[8] = { 0x00, 0, 0x01, 0x00 };
	unsigned char skel[512], regen[8], transport[64];
	long rc, one = 1, zero = 0, kvs_len = 8, skel_len = sizeof(skel);

	pkb(&rc, reason, NULL, NULL, &one, rules, &kvs_len, kvs, &zero, NULL, &zero, NULL, &zero,
	    NULL, &zero, NULL, &zero, NULL, &zero, NULL, &skel_len, skel);
	if (rc)
		return rc;
	k->priv_len = sizeof(k->priv);
	pkg(&rc, reason, NULL, NULL, &one, master, &zero, regen, &skel_len, skel, transport,
	    &k->priv_len, k->priv);
	if (rc)
		return rc;
	k->pub_len = sizeof(k->pub);
	pkx(&rc, reason, NULL, NULL, &zero, NULL, &k->priv_len, k->priv, &k->pub_len, k->pub);
	return rc;
}

static long ec_ktc(const char *how, struct ec *k, long *reason)
{
	unsigned char rules[16];
	long rc, count = 2;

	memcpy(rules, how, 8);
	memcpy(rules + 8, "ECC     ", 8);
	pktc(&rc, reason, NULL, NULL, &count, rules, &k->priv_len, k->priv);
	return rc;
}

/* ECDSA: sign a hash with the private token, verify with the public one. */
static long sign_verify(const struct ec *k, long *reason, bool *verified)
{
	unsigned char rules[8] = "ECDSA   ", hash[32] = "a hash of thirty-two bytes, ok!", sig[132];
	unsigned char priv[512], pub[512];
	long rc, one = 1, hlen = 32, slen = sizeof(sig), bits, plen = k->priv_len, qlen = k->pub_len;

	memcpy(priv, k->priv, sizeof(priv));
	memcpy(pub, k->pub, sizeof(pub));
	*verified = false;
	dsg(&rc, reason, NULL, NULL, &one, rules, &plen, priv, &hlen, hash, &slen, &bits, sig);
	if (rc)
		return rc;
	dsv(&rc, reason, NULL, NULL, &one, rules, &qlen, pub, &hlen, hash, &slen, sig);
	*verified = rc == 0;
	sig[0] ^= 1;
	dsv(&rc, reason, NULL, NULL, &one, rules, &qlen, pub, &hlen, hash, &slen, sig);
	if (rc != 4 || *reason != 429)
		*verified = false;
	return 0;
}

static void vp_of(enum mk_type t, const struct apsim_key *k, unsigned char *vp)
{
	struct mkvp p;

	apsim_key_mkvp(t, k, &p);
	memcpy(vp, p.b, 8);
}

/* STATAES: the state digits of NEW and CURRENT. */
static void stat_aes(char *new_state, char *cur_state)
{
	unsigned char rules[256] = "STATAES ";
	long rc, reason, count = 1, vlen = 0;

	cfq(&rc, &reason, NULL, NULL, &count, rules, &vlen, NULL);
	*new_state = rc == 0 ? (char)rules[0] : '?';
	*cur_state = rc == 0 ? (char)rules[8] : '?';
}

/* STATICSB: the AES patterns, CURRENT and NEW. */
static long icsb_aes(unsigned char *cur, unsigned char *new)
{
	unsigned char rules[256] = "STATICSB", vd[256];
	long rc, reason, count = 1, vlen = sizeof(vd);
	uint16_t id_cur, id_new;

	cfq(&rc, &reason, NULL, NULL, &count, rules, &vlen, vd);
	memcpy(&id_cur, vd + 182, 2);
	memcpy(&id_new, vd + 194, 2);
	if (be16toh(id_cur) != 0x0f0b || be16toh(id_new) != 0x0f0a)
		return -1;
	memcpy(cur, vd + 184, 8);
	memcpy(new, vd + 196, 8);
	return rc;
}

static long gen_aes(unsigned char *tok, long *reason)
{
	unsigned char rules[256] = "INTERNALAES     NO-KEY  KEYLN32 ", type[8] = "DATA    ";
	unsigned char form[8] = "OP      ", len[8] = "        ", t1[8] = "AESTOKEN", t2[8] = { 0 };
	unsigned char kek1[64] = { 0 }, kek2[64] = { 0 }, tok2[64] = { 0 };
	long rc, count = 4;

	ktb(&rc, reason, NULL, NULL, tok, type, &count, rules);
	if (rc)
		return rc;
	kgn(&rc, reason, NULL, NULL, form, len, t1, t2, kek1, kek2, tok, tok2);
	return rc;
}

static long reencipher(const char *how, unsigned char *tok, long *reason)
{
	unsigned char rules[16];
	long rc, count = 2;

	memcpy(rules, how, 8);
	memcpy(rules + 8, "AES     ", 8);
	ktc(&rc, reason, NULL, NULL, &count, rules, tok);
	return rc;
}

/* AES-ECB of one block with @tok; rc of CSNBSAE, or of CSNBSAD on the
 * result, and whether the round trip gave the block back. */
static long use(const unsigned char *tok, long *reason, bool *same)
{
	unsigned char rules[32] = "AES     ECB     KEYIDENTINITIAL ", key[64];
	unsigned char in[16] = "sixteen bytes!!", mid[16], out[16];
	long rc, count = 4, klen = 64, zero = 0, block = 16, n = 16, m = 16, k = 16;

	memcpy(key, tok, 64);
	*same = false;
	sae(&rc, reason, NULL, NULL, &count, rules, &klen, key, &zero, NULL, &block, &zero, NULL,
	    &zero, NULL, &n, in, &m, mid, &zero, NULL);
	if (rc)
		return rc;
	sad(&rc, reason, NULL, NULL, &count, rules, &klen, key, &zero, NULL, &block, &zero, NULL,
	    &zero, NULL, &m, mid, &k, out, &zero, NULL);
	*same = rc == 0 && k == 16 && memcmp(in, out, 16) == 0 && memcmp(in, mid, 16) != 0;
	return rc;
}

int main(int argc, char **argv)
{
	struct apsim_key k1, k2, k3;
	unsigned char t1[64], t2[64], forged[64], vp1[8], vp2[8], cur[8], new[8];
	char ns, cs, path[64];
	long rc, reason;
	bool same;
	struct apsim *hsm;
	void *lib;
	any_fn *unused;
	(void)argc;

	hsm = apsim_new(argv);
	if (!hsm || apsim_add_card(hsm, Q.card, "CEX8C") < 0 || apsim_add_queue(hsm, Q) < 0)
		bail_out("apsim: cannot build the testbed");
	snprintf(path, sizeof(path), "/sys/devices/ap/card%02x/%02x.%04x/mkvps", Q.card, Q.card,
		 Q.domain);
	setenv("CSULCCA_MKVPS", path, 1);
	lib = dlopen(build_path("selftest/interop/libcsulcca.so"), RTLD_NOW);
	if (!lib)
		bail_out("dlopen libcsulcca.so: %s", dlerror());
	cfq = (cfq_fn *)dlsym(lib, "CSUACFQ");
	ktb = (ktb_fn *)dlsym(lib, "CSNBKTB");
	kgn = (kgn_fn *)dlsym(lib, "CSNBKGN");
	ktc = (ktc_fn *)dlsym(lib, "CSNBKTC");
	sae = (sae_fn *)dlsym(lib, "CSNBSAE");
	sad = (sae_fn *)dlsym(lib, "CSNBSAD");
	unused = (any_fn *)dlsym(lib, "CSNBPGN");
	pkb = (pkb_fn *)dlsym(lib, "CSNDPKB");
	pkg = (pkg_fn *)dlsym(lib, "CSNDPKG");
	pkx = (pkx_fn *)dlsym(lib, "CSNDPKX");
	dsg = (dsg_fn *)dlsym(lib, "CSNDDSG");
	dsv = (dsv_fn *)dlsym(lib, "CSNDDSV");
	pktc = (pktc_fn *)dlsym(lib, "CSNDKTC");
	if (!cfq || !ktb || !kgn || !ktc || !sae || !sad || !unused || !pkb || !pkg || !pkx ||
	    !dsg || !dsv || !pktc)
		bail_out("libcsulcca.so lacks a verb");

	apsim_get_key(hsm, Q, MK_CCA_AES, REG_CUR, &k1);
	vp_of(MK_CCA_AES, &k1, vp1);
	stat_aes(&ns, &cs);
	ok(ns == '1' && cs == '2', "STATAES: NEW clear, CURRENT full, as apsim's registers");
	ok(icsb_aes(cur, new) == 0 && memcmp(cur, vp1, 8) == 0,
	   "STATICSB: the AES CURRENT pattern is apsim's");

	ok(gen_aes(t1, &reason) == 0 && t1[0] == 0x01 && t1[4] == 0x04 &&
		   memcmp(t1 + 8, vp1, 8) == 0 && t1[56] == 0x01 && t1[57] == 0x00,
	   "CSNBKTB and CSNBKGN make a 64-byte AES token with the CURRENT pattern, 256 bits");
	rc = use(t1, &reason, &same);
	ok(rc == 0 && same, "the key encrypts and decrypts (CSNBSAE, CSNBSAD)");

	memcpy(t2, t1, 64);
	rc = reencipher("RTNMK   ", t2, &reason);
	is_int(rc * 1000 + reason, 8048, "RTNMK with NEW empty: rc 8, reason 48");

	apsim_random_key(MK_CCA_AES, &k2);
	vp_of(MK_CCA_AES, &k2, vp2);
	apsim_load_part(hsm, Q, MK_CCA_AES, &k2);
	stat_aes(&ns, &cs);
	ok(ns == '2', "a first key part loaded in apsim: STATAES NEW partial (2)");
	rc = reencipher("RTNMK   ", t2, &reason);
	is_int(rc * 1000 + reason, 8048, "RTNMK with NEW partial: rc 8, reason 48");
	apsim_commit(hsm, Q, MK_CCA_AES);
	stat_aes(&ns, &cs);
	ok(ns == '3' && icsb_aes(cur, new) == 0 && memcmp(new, vp2, 8) == 0,
	   "a TKE load in apsim is seen at once: NEW full, with its pattern");
	rc = reencipher("RTNMK   ", t2, &reason);
	ok(rc == 0 && memcmp(t2 + 8, vp2, 8) == 0 && memcmp(t2 + 16, t1 + 16, 40) != 0,
	   "RTNMK re-enciphers the key to NEW: new pattern, new blob");
	rc = reencipher("RTNMK   ", t2, &reason);
	is_int(rc * 1000 + reason, 8048, "RTNMK of a key already under NEW: rc 8, reason 48");
	rc = use(t2, &reason, &same);
	is_int(rc * 1000 + reason, 8048, "a key under NEW is not usable before the activation");

	memcpy(forged, t2, 64);
	memcpy(forged + 8, vp1, 8);
	rc = use(forged, &reason, &same);
	ok(rc == 8 && !same, "a key claiming CURRENT's pattern but wrapped under NEW fails to unwrap");

	apsim_activate(hsm, Q, MK_CCA_AES);
	rc = use(t2, &reason, &same);
	ok(rc == 0 && same, "after the activation the re-enciphered key works");
	rc = use(t1, &reason, &same);
	ok(rc == 0 && same, "the key left under the old master key still works from OLD");
	setenv("CSULCCA_REFUSE_OLD", "1", 1);
	rc = use(t1, &reason, &same);
	is_int(rc * 1000 + reason, 8048, "... and is refused with CSULCCA_REFUSE_OLD");
	unsetenv("CSULCCA_REFUSE_OLD");
	memcpy(forged, t1, 64);
	rc = reencipher("RTCMK   ", forged, &reason);
	ok(rc == 0 && memcmp(forged + 8, vp2, 8) == 0 && use(forged, &reason, &same) == 0 && same,
	   "RTCMK brings a key from OLD to CURRENT");

	apsim_random_key(MK_CCA_AES, &k3);
	apsim_load(hsm, Q, MK_CCA_AES, &k3);
	apsim_activate(hsm, Q, MK_CCA_AES);
	rc = use(t1, &reason, &same);
	is_int(rc * 1000 + reason, 8048, "two activations later the old key is refused: reason 48");

	{
		struct apsim_key a1, a2;
		unsigned char avp1[8], avp2[8];
		struct ec k;

		apsim_get_key(hsm, Q, MK_CCA_APKA, REG_CUR, &a1);
		vp_of(MK_CCA_APKA, &a1, avp1);
		ok(gen_ec(&k, &reason) == 0 && k.priv[0] == 0x1f && k.priv[8] == 0x20 &&
			   k.priv[8 + 4] == 0x01 && k.priv[8 + 10] == 0x08 &&
			   memcmp(k.priv + 8 + 16, avp1, 8) == 0 && k.pub[0] == 0x1e &&
			   k.pub[8] == 0x21 && k.pub[8 + 10] == 0x01 && k.pub[8 + 11] == 0x00,
		   "CSNDPKB, CSNDPKG, CSNDPKX make an ECC key pair under the APKA CURRENT key");
		ok(sign_verify(&k, &reason, &same) == 0 && same,
		   "ECDSA: CSNDDSG signs, CSNDDSV verifies, and refuses a bad signature (4/429)");
		rc = ec_ktc("RTNMK   ", &k, &reason);
		is_int(rc * 1000 + reason, 8048, "CSNDKTC RTNMK with NEW empty: rc 8, reason 48");
		apsim_random_key(MK_CCA_APKA, &a2);
		vp_of(MK_CCA_APKA, &a2, avp2);
		apsim_load(hsm, Q, MK_CCA_APKA, &a2);
		rc = ec_ktc("RTNMK   ", &k, &reason);
		ok(rc == 0 && memcmp(k.priv + 8 + 16, avp2, 8) == 0,
		   "CSNDKTC RTNMK re-enciphers the private key to the NEW APKA key");
		rc = sign_verify(&k, &reason, &same);
		is_int(rc * 1000 + reason, 8048, "it cannot sign before the activation");
		apsim_activate(hsm, Q, MK_CCA_APKA);
		setenv("CSULCCA_REFUSE_OLD", "1", 1);
		ok(sign_verify(&k, &reason, &same) == 0 && same,
		   "after the activation it signs under CURRENT, and the old public key verifies");
		unsetenv("CSULCCA_REFUSE_OLD");
	}

	unused(&rc, &reason);
	is_int(rc, 12, "a verb not simulated answers rc 12");

	dlclose(lib);
	apsim_free(hsm);
	return done_testing();
}
