/* SPDX-License-Identifier: MIT */
/*
 * csulcca.h - a simulated IBM CCA host library (libcsulcca.so) for the
 * real openCryptoki CCA token, so that `make interop` runs the real
 * pkcsslotd, CCA token and pkcshsm_mk_change without an s390. This header
 * holds what its pieces share: the CCA calling convention (keywords, rule
 * arrays, big-endian fields, return and reason codes), the registers, the
 * wrapping under master keys and the EC token's sections.
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
 *
 *   registers.c    the registers, read from apsim's mkvps
 *   masterkey.c    the master key behind a pattern, wrapping under it, and
 *                  between which registers a key token change goes
 *   adapter.c      the adapter: version, status queries, allocation, random
 *   aes.c          AES data keys: build, generate, change, encipher, decipher
 *   ecc.c          EC key tokens: build, generate, extract, change
 *   ecdsa.c        ECDSA signatures: generate, verify
 *   unavailable.c  every other verb the token resolves
 */
#ifndef CSULCCA_H
#define CSULCCA_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

static inline bool kw_is(const unsigned char *kw, const char *word)
{
	char want[KW];

	memset(want, ' ', KW);
	memcpy(want, word, strnlen(word, KW));
	return memcmp(kw, want, KW) == 0;
}

static inline bool rule_has(long count, const unsigned char *rules, const char *word)
{
	for (long i = 0; rules && i < count; i++)
		if (kw_is(rules + i * KW, word))
			return true;
	return false;
}

static inline void set_kw(unsigned char *dst, const char *word)
{
	memset(dst, ' ', KW);
	memcpy(dst, word, strnlen(word, KW));
}

static inline uint16_t get_be16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static inline void put_be16(unsigned char *p, unsigned int v)
{
	uint16_t be = htobe16((uint16_t)v);

	memcpy(p, &be, 2);
}

static inline void result(long *rc, long *reason, long r, long why)
{
	*rc = r;
	*reason = why;
}

/* registers.c */
int read_line(const char *path, char *buf, size_t size);
int hsm_read(struct hsm *h);

/* masterkey.c */
int wrap(enum mk t, const uint8_t *vp, bool do_wrap, const uint8_t *in, int inlen,
	 uint8_t *out, int *outlen);
int direction(long count, const unsigned char *rules, const struct reg *r,
	      const uint8_t **from, const uint8_t **to);

/*
 * ecc.c, ecdsa.c. The internal ECC private key token: an 8-byte header
 * (0x1f, total length at 2), the private section 0x20 at 8 (wrapping method
 * 0x01 at +4, curve type at +9, key format 0x08 at +10, curve bits at +12,
 * the pattern at +16, then the wrapped private value: its length at +24,
 * itself at +26), then the public section 0x21 (curve type at +8, bits at
 * +10, the length of Q at +12, Q at +14). The public key token is the
 * header 0x1e and the same public section. These are the offsets
 * openCryptoki's CCA token reads.
 */
#define EC_HDR 8
#define EC_PRIV_BLOB 26
#define EC_MAX_TOKEN 512

bool ec_curve_name(unsigned int type, unsigned int bits, char *name, size_t size);
bool ec_sections(const unsigned char *tok, long len, const unsigned char **priv,
		 const unsigned char **pub);

#endif
