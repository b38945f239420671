// SPDX-License-Identifier: MIT
/*
 * csulcca.c - a simulated IBM CCA host library (libcsulcca.so) for the
 * real openCryptoki CCA token, so that `make interop` runs the real
 * pkcsslotd, CCA token and pkcshsm_mk_change without an s390.
 *
 * One HSM, not two: the master key registers are apsim's. Every verb reads
 * the `mkvps` file of the configured queue afresh (CSULCCA_MKVPS, else
 * /sys/devices/ap/cardCC/CC.DDDD/mkvps for the domain in
 * /sys/bus/ap/ap_domain and the first coprocessor card), so a TKE load or
 * activation done by apsim is seen at once by the token, as by mkagent.
 *
 * Secure keys are real AES key-wrap blobs (RFC 3394, OpenSSL) under a
 * master key derived from the register's pattern: a key token claiming a
 * pattern it was not wrapped under fails to unwrap, and a key left under a
 * master key that is no longer CURRENT or OLD is refused (rc 8, reason 48).
 * Environment: CSULCCA_MKVPS (the registers' file), CSULCCA_REFUSE_OLD
 * (refuse keys under OLD, to prove a re-encipherment). The file
 * /etc/csulcca-rtnmk-delay-ms, when it holds a number, makes every RTNMK
 * take that long (for programs run with a clean environment, such as
 * pkcshsm_mk_change under mkagent): time to kill a process in the middle of
 * a re-encipherment.
 *
 * The token resolves all 97 verbs at load (usr/lib/cca_stdll/cca_specific.c
 * of openCryptoki 3.23); the ones implemented are those the token calls to
 * load, make and use AES data keys, and re-encipher them. Every other verb
 * answers rc 12 (not available).
 */
#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#define KW 8 /* a CCA keyword: 8 blanks-padded characters */
#define MKVP_LEN 8
#define AES_TOKEN_LEN 64

/* Reason codes (CCA Basic Services, return code 8). */
#define RC_WARNING 4
#define RC_ERROR 8
#define RC_UNAVAILABLE 12
#define REASON_MKVP_MISMATCH 48 /* key not enciphered under the register's key */
#define REASON_BAD_TOKEN 72     /* the token cannot be used (integrity check) */
#define REASON_BAD_KEYWORD 33
#define REASON_LENGTH 12

#define SYSFS "/sys"

#define API __attribute__((visibility("default")))

enum mk { MK_SYM, MK_AES, MK_APKA, MK_COUNT };

struct reg {
	uint8_t new_vp[MKVP_LEN], cur_vp[MKVP_LEN], old_vp[MKVP_LEN];
	char new_state; /* CCA digits: '1' clear, '2' partial, '3' full */
	char cur_state; /* '1' clear, '2' full */
	bool old_valid;
};

struct hsm {
	struct reg r[MK_COUNT];
	char serial[16];
};

/* The SYM (DES) master key is not in the kernel's mkvps: it is always
 * loaded, with a fixed pattern, and never changed. */
static const uint8_t sym_vp[MKVP_LEN] = { 0x5a, 0x5a, 0x53, 0x59, 0x4d, 0x4d, 0x4b, 0x31 };

static bool kw_is(const unsigned char *kw, const char *word)
{
	char want[KW];

	memset(want, ' ', KW);
	memcpy(want, word, strnlen(word, KW));
	return memcmp(kw, want, KW) == 0;
}

static bool rule_has(long count, const unsigned char *rules, const char *word)
{
	for (long i = 0; rules && i < count; i++)
		if (kw_is(rules + i * KW, word))
			return true;
	return false;
}

static void set_kw(unsigned char *dst, const char *word)
{
	memset(dst, ' ', KW);
	memcpy(dst, word, strnlen(word, KW));
}

static uint16_t get_be16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static void put_be16(unsigned char *p, unsigned int v)
{
	uint16_t be = htobe16((uint16_t)v);

	memcpy(p, &be, 2);
}

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return -1;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The first coprocessor card (ap_functions bit 0x10000000), as the token
 * looks for it. */
static int find_card(unsigned int *card)
{
	DIR *d = opendir(SYSFS "/devices/ap");
	struct dirent *de;
	char path[512], buf[64];
	int rc = -1;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		unsigned int c;
		unsigned long funcs;

		if (sscanf(de->d_name, "card%x", &c) != 1)
			continue;
		snprintf(path, sizeof(path), SYSFS "/devices/ap/%s/ap_functions", de->d_name);
		if (read_line(path, buf, sizeof(buf)) < 0 || sscanf(buf, "%lx", &funcs) != 1 ||
		    !(funcs & 0x10000000UL))
			continue;
		if (rc < 0 || c < *card)
			*card = c;
		rc = 0;
	}
	closedir(d);
	return rc;
}

static int mkvps_path(char *path, size_t size, char *serial_path, size_t ssize)
{
	const char *env = getenv("CSULCCA_MKVPS");
	unsigned int card = 0, domain;
	char buf[64];

	if (env) {
		snprintf(path, size, "%s", env);
		serial_path[0] = '\0';
		return 0;
	}
	if (read_line(SYSFS "/bus/ap/ap_domain", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%u", &domain) != 1 || find_card(&card) < 0)
		return -1;
	snprintf(path, size, SYSFS "/devices/ap/card%02x/%02x.%04x/mkvps", card, card, domain);
	snprintf(serial_path, ssize, SYSFS "/devices/ap/card%02x/serialnr", card);
	return 0;
}

static int parse_vp(const char *hex, uint8_t *vp)
{
	if (strncmp(hex, "0x", 2) == 0)
		hex += 2;
	for (int i = 0; i < MKVP_LEN; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &vp[i]) != 1)
			return -1;
	return 0;
}

/* The registers as zcrypt prints them: "AES NEW: full 0x0123456789abcdef". */
static int hsm_read(struct hsm *h)
{
	char path[512], serial_path[512], line[256];
	FILE *f;

	memset(h, 0, sizeof(*h));
	for (int t = 0; t < MK_COUNT; t++) {
		h->r[t].new_state = '1';
		h->r[t].cur_state = '1';
	}
	h->r[MK_SYM].cur_state = '2';
	memcpy(h->r[MK_SYM].cur_vp, sym_vp, MKVP_LEN);
	snprintf(h->serial, sizeof(h->serial), "93AADFK7");
	if (mkvps_path(path, sizeof(path), serial_path, sizeof(serial_path)) < 0)
		return -1;
	if (serial_path[0] && read_line(serial_path, line, sizeof(line)) == 0)
		snprintf(h->serial, sizeof(h->serial), "%.8s", line);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char type[8], reg[8], state[16], hex[64];
		struct reg *r;
		uint8_t vp[MKVP_LEN] = { 0 };

		if (sscanf(line, "%7s %7[A-Z]: %15s %63s", type, reg, state, hex) != 4)
			continue;
		if (strcmp(type, "AES") != 0 && strcmp(type, "APKA") != 0)
			continue;
		r = &h->r[strcmp(type, "AES") == 0 ? MK_AES : MK_APKA];
		if (parse_vp(hex, vp) < 0)
			memset(vp, 0, sizeof(vp));
		if (strcmp(reg, "NEW") == 0) {
			r->new_state = strcmp(state, "full") == 0    ? '3' :
				       strcmp(state, "partial") == 0 ? '2' :
								       '1';
			memcpy(r->new_vp, vp, MKVP_LEN);
		} else if (strcmp(reg, "CUR") == 0) {
			r->cur_state = strcmp(state, "valid") == 0 ? '2' : '1';
			memcpy(r->cur_vp, vp, MKVP_LEN);
		} else if (strcmp(reg, "OLD") == 0) {
			r->old_valid = strcmp(state, "valid") == 0;
			memcpy(r->old_vp, vp, MKVP_LEN);
		}
	}
	fclose(f);
	return 0;
}

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
static int wrap(enum mk t, const uint8_t *vp, bool do_wrap, const uint8_t *in, int inlen,
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

static void result(long *rc, long *reason, long r, long why)
{
	*rc = r;
	*reason = why;
}

/* ---- the verbs the token uses ---- */

API void CSUACFV(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *version_len, unsigned char *version)
{
	static const char v[] = "8.4.10z20261130";

	(void)exit_len;
	(void)exit_data;
	if (*version_len < (long)sizeof(v))
		return result(rc, reason, RC_ERROR, REASON_LENGTH);
	memcpy(version, v, sizeof(v));
	*version_len = sizeof(v) - 1;
	result(rc, reason, 0, 0);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put_icsb(unsigned char *vd, unsigned int off, uint16_t id, const uint8_t *vp)
{
	uint16_t be = htobe16(id);

	memcpy(vd + off, &be, 2);
	memcpy(vd + off + 2, vp, MKVP_LEN);
}

API void CSUACFQ(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 long *rule_count, unsigned char *rules, long *verb_len, unsigned char *verb_data)
{
	struct hsm h;
	const struct reg *r = NULL;

	(void)exit_len;
	(void)exit_data;
	if (*rule_count < 1)
		return result(rc, reason, RC_ERROR, REASON_BAD_KEYWORD);
	if (hsm_read(&h) < 0)
		return result(rc, reason, RC_UNAVAILABLE, 0);
	if (kw_is(rules, "STATCRD2")) {
		memset(rules, ' ', 15 * KW);
		set_kw(rules, "1");
		memcpy(rules + 112, h.serial, strnlen(h.serial, KW));
		*rule_count = 15;
		*verb_len = 0;
		return result(rc, reason, 0, 0);
	}
	if (kw_is(rules, "DOM-NUMS") || kw_is(rules, "DOM-USAG")) {
		char buf[32];
		unsigned int domain = 0;

		if (!verb_data || *verb_len < 4)
			return result(rc, reason, RC_ERROR, REASON_LENGTH);
		if (read_line(SYSFS "/bus/ap/ap_domain", buf, sizeof(buf)) == 0)
			sscanf(buf, "%u", &domain);
		put_be32(verb_data, kw_is(rules, "DOM-NUMS") ? 1 : domain);
		*verb_len = 4;
		return result(rc, reason, 0, 0);
	}
	if (kw_is(rules, "STATCCAE"))
		r = &h.r[MK_SYM];
	else if (kw_is(rules, "STATAES"))
		r = &h.r[MK_AES];
	else if (kw_is(rules, "STATAPKA"))
		r = &h.r[MK_APKA];
	if (r) {
		memset(rules, ' ', 8 * KW);
		rules[0] = (unsigned char)r->new_state;
		rules[8] = (unsigned char)r->cur_state;
		rules[16] = r->old_valid ? '2' : '1';
		*rule_count = 8;
		*verb_len = 0;
		return result(rc, reason, 0, 0);
	}
	if (kw_is(rules, "STATICSB")) {
		if (!verb_data || *verb_len < 256)
			return result(rc, reason, RC_ERROR, REASON_LENGTH);
		memset(verb_data, 0, 256);
		put_icsb(verb_data, 134, 0x0f07, h.r[MK_SYM].cur_vp);
		put_icsb(verb_data, 146, 0x0f06, h.r[MK_SYM].new_vp);
		put_icsb(verb_data, 182, 0x0f0b, h.r[MK_AES].cur_vp);
		put_icsb(verb_data, 194, 0x0f0a, h.r[MK_AES].new_vp);
		put_icsb(verb_data, 218, 0x0f0e, h.r[MK_APKA].cur_vp);
		put_icsb(verb_data, 230, 0x0f0d, h.r[MK_APKA].new_vp);
		*verb_len = 256;
		return result(rc, reason, 0, 0);
	}
	if (kw_is(rules, "STATCCA")) {
		memset(rules, ' ', 8 * KW);
		memcpy(rules + 24, "8.4.10", 6);
		*rule_count = 8;
		*verb_len = 0;
		return result(rc, reason, 0, 0);
	}
	result(rc, reason, RC_ERROR, REASON_BAD_KEYWORD);
}

/* Adapter allocation: there is one adapter and one domain. */
API void CSUACRA(long *rc, long *reason)
{
	result(rc, reason, 0, 0);
}

API void CSUACRD(long *rc, long *reason)
{
	result(rc, reason, 0, 0);
}

API void CSNBRNG(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		 unsigned char *form, unsigned char *random)
{
	(void)exit_len;
	(void)exit_data;
	(void)form;
	result(rc, reason, RAND_bytes(random, 8) == 1 ? 0 : RC_UNAVAILABLE, 0);
}

API void CSNBRNGL(long *rc, long *reason, long *exit_len, unsigned char *exit_data,
		  long *rule_count, unsigned char *rules, long *seed_len, unsigned char *seed,
		  long *len, unsigned char *random)
{
	(void)exit_len;
	(void)exit_data;
	(void)rule_count;
	(void)rules;
	(void)seed_len;
	(void)seed;
	if (*len < 0 || *len > 8192)
		return result(rc, reason, RC_ERROR, REASON_LENGTH);
	result(rc, reason, RAND_bytes(random, (int)*len) == 1 ? 0 : RC_UNAVAILABLE, 0);
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
static int direction(long count, const unsigned char *rules, const struct reg *r,
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

/* ---- elliptic curve keys (APKA) ---- */

/*
 * The internal ECC private key token: an 8-byte header (0x1f, total length
 * at 2), the private section 0x20 at 8 (wrapping method 0x01 at +4, curve
 * type at +9, key format 0x08 at +10, curve bits at +12, the pattern at +16,
 * then the wrapped private value: its length at +24, itself at +26), then
 * the public section 0x21 (curve type at +8, bits at +10, the length of Q
 * at +12, Q at +14). The public key token is the header 0x1e and the same
 * public section. These are the offsets openCryptoki's CCA token reads.
 */
#define EC_HDR 8
#define EC_PRIV_BLOB 26
#define EC_MAX_TOKEN 512

static bool ec_curve_name(unsigned int type, unsigned int bits, char *name, size_t size)
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
static bool ec_sections(const unsigned char *tok, long len, const unsigned char **priv,
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

/* ---- every other verb the token resolves: not available ---- */

/* Every CCA verb begins with the return and reason codes; the callee
 * ignores the rest of the arguments, which the caller cleans up. */
#define UNAVAILABLE(verb)                          \
	API void verb(long *rc, long *reason);     \
	API void verb(long *rc, long *reason)      \
	{                                          \
		result(rc, reason, RC_UNAVAILABLE, 0); \
	}

/* Variable-length AES CIPHER and HMAC keys. */
UNAVAILABLE(CSNBKTB2)
UNAVAILABLE(CSNBKGN2)
UNAVAILABLE(CSNBKTC2)

UNAVAILABLE(CSNBCKI) UNAVAILABLE(CSNBCKM) UNAVAILABLE(CSNBDKX) UNAVAILABLE(CSNBDKM)
UNAVAILABLE(CSNBMKP) UNAVAILABLE(CSNBKEX) UNAVAILABLE(CSNBKIM) UNAVAILABLE(CSNBKPI)
UNAVAILABLE(CSNBKPI2) UNAVAILABLE(CSNBKSI) UNAVAILABLE(CSNBKRC) UNAVAILABLE(CSNBAKRC)
UNAVAILABLE(CSNBKRD) UNAVAILABLE(CSNBKRL) UNAVAILABLE(CSNBKRR) UNAVAILABLE(CSNBKRW)
UNAVAILABLE(CSNDKRC) UNAVAILABLE(CSNDKRD) UNAVAILABLE(CSNDKRL) UNAVAILABLE(CSNDKRR)
UNAVAILABLE(CSNDKRW) UNAVAILABLE(CSNBKYT) UNAVAILABLE(CSNBKYTX) UNAVAILABLE(CSNBKTR)
UNAVAILABLE(CSNBDEC) UNAVAILABLE(CSNBENC) UNAVAILABLE(CSNBMGN) UNAVAILABLE(CSNBMVR)
UNAVAILABLE(CSNBOWH) UNAVAILABLE(CSNDPKI)
UNAVAILABLE(CSNDSYI) UNAVAILABLE(CSNDSYX) UNAVAILABLE(CSUACFC) UNAVAILABLE(CSNDSBC)
UNAVAILABLE(CSNDSBD) UNAVAILABLE(CSUALCT) UNAVAILABLE(CSUAACM) UNAVAILABLE(CSUAACI)
UNAVAILABLE(CSNDPKH) UNAVAILABLE(CSNDPKR) UNAVAILABLE(CSUAMKD) UNAVAILABLE(CSNDRKD)
UNAVAILABLE(CSNDRKL) UNAVAILABLE(CSNDSYG) UNAVAILABLE(CSNBPTR) UNAVAILABLE(CSNBCPE)
UNAVAILABLE(CSNBCPA) UNAVAILABLE(CSNBPGN) UNAVAILABLE(CSNBPVR) UNAVAILABLE(CSNBDKG)
UNAVAILABLE(CSNBEPG) UNAVAILABLE(CSNBCVE) UNAVAILABLE(CSNBCSG) UNAVAILABLE(CSNBCSV)
UNAVAILABLE(CSNBCVG) UNAVAILABLE(CSNBKTP) UNAVAILABLE(CSNDPKE) UNAVAILABLE(CSNDPKD)
UNAVAILABLE(CSNBPEX) UNAVAILABLE(CSNBPEXX) UNAVAILABLE(CSUARNT) UNAVAILABLE(CSNBCVT)
UNAVAILABLE(CSNBMDG) UNAVAILABLE(CSNBTRV) UNAVAILABLE(CSNBSKY) UNAVAILABLE(CSNBSPN)
UNAVAILABLE(CSNBPCU) UNAVAILABLE(CSUAPCV) UNAVAILABLE(CSUAPRB) UNAVAILABLE(CSUADHK)
UNAVAILABLE(CSUADHQ) UNAVAILABLE(CSNDTBC) UNAVAILABLE(CSNDRKX) UNAVAILABLE(CSNBKET)
UNAVAILABLE(CSNBHMG) UNAVAILABLE(CSNBHMV) UNAVAILABLE(CSNBCTT2)
