// SPDX-License-Identifier: MIT
/*
 * adapter.c - the verbs that ask the adapter about itself, as the CCA token
 * calls them at load: its version (CSUACFV), its status, serial number,
 * domains and master key registers (CSUACFQ), adapter allocation (CSUACRA,
 * CSUACRD), and random numbers (CSNBRNG, CSNBRNGL).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "csulcca.h"

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
