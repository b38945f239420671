// SPDX-License-Identifier: MIT
/* Patterns on the command line and the prefix match rule. */
#include <errno.h>

#include "core/mkvp.h"
#include "tap.h"

static void good(enum mk_type t, const char *in, const char *want)
{
	struct mkvp p = { 0 };
	char buf[MKVP_STR_MAX];

	is_int(mkvp_parse_cli(t, in, &p, NULL), 0, "%s '%s' parses", mk_type_name(t), in);
	is_string(mkvp_format(&p, buf), want, "%s '%s' prints upper-case", mk_type_name(t), in);
}

static void bad(enum mk_type t, const char *in, const char *msg)
{
	struct mkvp p = { .len = 3 };
	struct errmsg e = { "" };

	is_int(mkvp_parse_cli(t, in, &p, &e), -EINVAL, "%s '%s' is refused", mk_type_name(t), in);
	is_string(e.text, msg, "%s '%s': message", mk_type_name(t), in);
	is_int(p.len, 3, "%s '%s': output untouched", mk_type_name(t), in);
}

int main(void)
{
	struct mkvp reg, want;


	good(MK_CCA_AES, "7D10D17BC8A409C4", "7D10D17BC8A409C4");
	good(MK_CCA_APKA, "0x82a5e2cd5030d5ec", "82A5E2CD5030D5EC");
	good(MK_CCA_SYM, "0X130E2053F18E5F4C", "130E2053F18E5F4C");
	good(MK_CCA_ASYM, "f8ae2acf8bfc57f0", "F8AE2ACF8BFC57F0");
	good(MK_EP11, "ef92899ebe57291ec8e8716d850ee2f7", "EF92899EBE57291EC8E8716D850EE2F7");

	bad(MK_CCA_AES, "7D10D17BC8A409",
	    "pattern '7D10D17BC8A409' for cca-aes must be 8 bytes (16 hex digits), not 14 digits");
	bad(MK_CCA_AES, "7D10D17BC8A409C4AA",
	    "pattern '7D10D17BC8A409C4AA' for cca-aes must be 8 bytes (16 hex digits), not 18 digits");
	bad(MK_EP11, "7D10D17BC8A409C4",
	    "pattern '7D10D17BC8A409C4' for ep11 must be 16 bytes (32 hex digits), not 16 digits");
	bad(MK_CCA_ASYM, "f8ae2acf8bfc57f0f8ae2acf8bfc57f0",
	    "pattern 'f8ae2acf8bfc57f0f8ae2acf8bfc57f0' for cca-asym must be 8 bytes (16 hex digits), not 32 digits");
	bad(MK_CCA_SYM, "", "pattern '' for cca-sym must be 8 bytes (16 hex digits), not 0 digits");
	bad(MK_CCA_SYM, "0x", "pattern '0x' for cca-sym must be 8 bytes (16 hex digits), not 0 digits");
	bad(MK_CCA_APKA, "82A5E2CD5030D5EG", "pattern '82A5E2CD5030D5EG' for cca-apka: 'G' is not a hex digit");
	bad(MK_CCA_APKA, "82A5E2CD 030D5EC", "pattern '82A5E2CD 030D5EC' for cca-apka: ' ' is not a hex digit");
	bad(MK_CCA_APKA, "0x0x82A5E2CD5030D5", "pattern '0x0x82A5E2CD5030D5' for cca-apka: 'x' is not a hex digit");

	/* the prefix rule: sysfs shows 16 bytes of ASYM, people give 8 */
	mkvp_parse_hex("f8ae2acf8bfc57f0aabbccddeeff0011", 32, 16, &reg);
	mkvp_parse_cli(MK_CCA_ASYM, "F8AE2ACF8BFC57F0", &want, NULL);
	ok(mkvp_matches(&reg, &want), "a register matches a pattern it begins with");
	mkvp_parse_cli(MK_CCA_ASYM, "F8AE2ACF8BFC57F1", &want, NULL);
	ok(!mkvp_matches(&reg, &want), "one differing byte does not match");
	mkvp_parse_hex("f8ae2acf8bfc57f0", 16, 8, &reg);
	mkvp_parse_hex("f8ae2acf8bfc57f0aabbccddeeff0011", 32, 16, &want);
	ok(!mkvp_matches(&reg, &want), "a shorter register does not match a longer pattern");
	want.len = 0;
	ok(!mkvp_matches(&reg, &want), "an empty pattern matches nothing");

	mkvp_parse_hex("f8ae2acf8bfc57f0aabbccddeeff0011", 32, 16, &reg);
	mkvp_truncate(&reg, 8);
	mkvp_parse_hex("F8AE2ACF8BFC57F0", 16, 8, &want);
	ok(mkvp_eq(&reg, &want), "truncate cuts to the command-line length");
	return done_testing();
}
