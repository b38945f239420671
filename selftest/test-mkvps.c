// SPDX-License-Identifier: MIT
/* The mkvps parser: every line form zcrypt prints, and malformed text. */
#include <errno.h>

#include "core/mkvps.h"
#include "tap.h"

#define Z16 "0x0000000000000000"
#define Z32 "0x00000000000000000000000000000000"
#define EP11_A "0xef92899ebe57291ec8e8716d850ee2f7aa00bb11cc22dd33ee44ff5566778899"
#define EP11_B "0x8b991263e3a8f4e4be0d5ec8f0a4df9e0123456789abcdef0123456789abcdef"

static struct mkvps parsed;

static bool parse_ok(const char *text, const char *what)
{
	struct errmsg e = { "" };
	int rc = mkvps_parse(text, strlen(text), &parsed, &e);

	if (!is_int(rc, 0, "%s parses", what))
		diag("%s", e.text);
	return rc == 0;
}

/* One register: state name ("-" for unknown) and pattern ("" for none). */
static void reg_is(enum mk_type t, enum mk_reg r, const char *state, const char *mkvp)
{
	char buf[MKVP_STR_MAX];
	const struct mk_register *reg = &parsed.reg[t][r];

	is_string(reg_state_name(reg->state), state, "%s %s state", mk_type_name(t), mk_reg_name(r));
	is_string(mkvp_format(&reg->mkvp, buf), mkvp, "%s %s pattern", mk_type_name(t),
		  mk_reg_name(r));
}

static void types_are(bool sym, bool asym, bool aes, bool apka, bool ep11)
{
	ok(parsed.has[MK_CCA_SYM] == sym && parsed.has[MK_CCA_ASYM] == asym &&
		   parsed.has[MK_CCA_AES] == aes && parsed.has[MK_CCA_APKA] == apka &&
		   parsed.has[MK_EP11] == ep11,
	   "the expected MK types are present");
}

static void bad(const char *text, const char *msg)
{
	struct errmsg e = { "" };
	struct mkvps m = { .has = { [MK_EP11] = true } };

	is_int(mkvps_parse(text, strlen(text), &m, &e), -EINVAL, "refused: %s", msg);
	is_string(e.text, msg, "message");
	ok(m.has[MK_EP11] && !m.has[MK_CCA_AES], "output untouched");
}

static const char cca9[] = "AES NEW: full 0x130e2053f18e5f4c\n"
			   "AES CUR: valid 0x7d10d17bc8a409c4\n"
			   "AES OLD: valid 0x0123456789abcdef\n"
			   "APKA NEW: empty " Z16 "\n"
			   "APKA CUR: valid 0x82a5e2cd5030d5ec\n"
			   "APKA OLD: invalid " Z16 "\n"
			   "ASYM NEW: partial " Z32 "\n"
			   "ASYM CUR: valid 0xf8ae2acf8bfc57f0aabbccddeeff0011\n"
			   "ASYM OLD: invalid " Z32 "\n";

static void cca_forms(void)
{
	if (parse_ok(cca9, "CCA, 9 lines (kernel 5.19 and later)")) {
		types_are(false, true, true, true, false);
		reg_is(MK_CCA_AES, REG_NEW, "full", "130E2053F18E5F4C");
		reg_is(MK_CCA_AES, REG_CUR, "valid", "7D10D17BC8A409C4");
		reg_is(MK_CCA_AES, REG_OLD, "valid", "0123456789ABCDEF");
		reg_is(MK_CCA_APKA, REG_NEW, "empty", "");
		reg_is(MK_CCA_APKA, REG_CUR, "valid", "82A5E2CD5030D5EC");
		reg_is(MK_CCA_APKA, REG_OLD, "invalid", "");
		reg_is(MK_CCA_ASYM, REG_NEW, "partial", "");
		reg_is(MK_CCA_ASYM, REG_CUR, "valid", "F8AE2ACF8BFC57F0AABBCCDDEEFF0011");
		reg_is(MK_CCA_ASYM, REG_OLD, "invalid", "");
	}
	/* before 5.19: the first six lines only */
	if (parse_ok("AES NEW: empty " Z16 "\nAES CUR: valid 0x7d10d17bc8a409c4\n"
		     "AES OLD: invalid " Z16 "\nAPKA NEW: full 0x82a5e2cd5030d5ec\n"
		     "APKA CUR: valid 0x1111111111111111\nAPKA OLD: valid 0x2222222222222222\n",
		     "CCA, 6 lines (before 5.19)")) {
		types_are(false, false, true, true, false);
		reg_is(MK_CCA_AES, REG_NEW, "empty", "");
		reg_is(MK_CCA_APKA, REG_NEW, "full", "82A5E2CD5030D5EC");
		reg_is(MK_CCA_APKA, REG_OLD, "valid", "2222222222222222");
	}
	if (parse_ok("AES NEW: - -\nAES CUR: - -\nAES OLD: - -\nAPKA NEW: - -\nAPKA CUR: - -\n"
		     "APKA OLD: - -\nASYM NEW: - -\nASYM CUR: - -\nASYM OLD: - -\n",
		     "CCA, every register unknown")) {
		types_are(false, true, true, true, false);
		reg_is(MK_CCA_AES, REG_NEW, "-", "");
		reg_is(MK_CCA_APKA, REG_CUR, "-", "");
		reg_is(MK_CCA_ASYM, REG_OLD, "-", "");
	}
	/* a valid register whose pattern happens to be zero keeps it */
	if (parse_ok("AES NEW: full " Z16 "\nAES CUR: valid 0x7D10D17BC8A409C4\nAES OLD: invalid "
		     "0xffffffffffffffff",
		     "upper-case hex, no final newline, patterns ignored where meaningless")) {
		reg_is(MK_CCA_AES, REG_NEW, "full", "0000000000000000");
		reg_is(MK_CCA_AES, REG_CUR, "valid", "7D10D17BC8A409C4");
		reg_is(MK_CCA_AES, REG_OLD, "invalid", "");
	}
}

static void ep11_forms(void)
{
	if (parse_ok("WK CUR: valid " EP11_B "\nWK NEW: committed " EP11_A "\n", "EP11 committed")) {
		types_are(false, false, false, false, true);
		reg_is(MK_EP11, REG_CUR, "valid",
		       "8B991263E3A8F4E4BE0D5EC8F0A4DF9E0123456789ABCDEF0123456789ABCDEF");
		reg_is(MK_EP11, REG_NEW, "committed",
		       "EF92899EBE57291EC8E8716D850EE2F7AA00BB11CC22DD33EE44FF5566778899");
	}
	if (parse_ok("WK CUR: valid " EP11_B "\nWK NEW: uncommitted " EP11_A "\n", "EP11 uncommitted"))
		reg_is(MK_EP11, REG_NEW, "uncommitted", "");
	if (parse_ok("WK CUR: valid " EP11_B "\nWK NEW: empty -\n", "EP11 empty -"))
		reg_is(MK_EP11, REG_NEW, "empty", "");
	if (parse_ok("WK CUR: invalid -\nWK NEW: empty -\n", "EP11 invalid -")) {
		reg_is(MK_EP11, REG_CUR, "invalid", "");
		ok(parsed.reg[MK_EP11][REG_OLD].state == REG_UNKNOWN, "EP11 has no OLD register");
	}
	if (parse_ok("WK CUR: - -\nWK NEW: - -\n", "EP11 offline")) {
		reg_is(MK_EP11, REG_CUR, "-", "");
		reg_is(MK_EP11, REG_NEW, "-", "");
	}
}

static void other_lines(void)
{
	struct mkvps sysfs;

	if (parse_ok("QSA NEW: full 0x1234\nAES NEW: full 0x130e2053f18e5f4c\nsomething else\n\n"
		     "AES CUR: valid 0x7d10d17bc8a409c4\nAES OLD: invalid " Z16
		     "\nWK OLD: valid 0x12\nAES FOO: bar\n",
		     "unknown lines among known ones")) {
		types_are(false, false, true, false, false);
		reg_is(MK_CCA_AES, REG_NEW, "full", "130E2053F18E5F4C");
	}
	parse_ok("", "empty text");
	types_are(false, false, false, false, false);

	parse_ok(cca9, "sysfs lines");
	sysfs = parsed;
	if (parse_ok("SYM NEW: full 0x130e2053f18e5f4c\nSYM CUR: valid 0x0a0b0c0d0e0f1011\n"
		     "SYM OLD: invalid " Z16 "\n",
		     "query helper SYM lines")) {
		mkvps_merge(&sysfs, &parsed);
		parsed = sysfs;
		types_are(true, true, true, true, false);
		reg_is(MK_CCA_SYM, REG_NEW, "full", "130E2053F18E5F4C");
		reg_is(MK_CCA_AES, REG_CUR, "valid", "7D10D17BC8A409C4");
	}
}

static void holds(void)
{
	struct mkvp want;

	parse_ok(cca9, "for the holds rule");
	mkvp_parse_cli(MK_CCA_AES, "130E2053F18E5F4C", &want, NULL);
	ok(mk_register_holds(&parsed.reg[MK_CCA_AES][REG_NEW], &want), "NEW full holds its pattern");
	mkvp_parse_cli(MK_CCA_ASYM, "F8AE2ACF8BFC57F0", &want, NULL);
	ok(mk_register_holds(&parsed.reg[MK_CCA_ASYM][REG_CUR], &want),
	   "ASYM CUR holds the 8-byte prefix of its 16-byte pattern");
	mkvp_parse_cli(MK_CCA_APKA, "0000000000000000", &want, NULL);
	ok(!mk_register_holds(&parsed.reg[MK_CCA_APKA][REG_NEW], &want),
	   "an empty NEW does not hold the zero pattern it prints");
}

static void malformed(void)
{
	bad("AES NEW: fool " Z16 "\n", "mkvps line 1: malformed: 'AES NEW: fool " Z16 "'");
	bad("AES CUR: full " Z16 "\n", "mkvps line 1: malformed: 'AES CUR: full " Z16 "'");
	bad("AES NEW: valid " Z16 "\n", "mkvps line 1: malformed: 'AES NEW: valid " Z16 "'");
	bad("AES NEW: full 0x130e2053f18e5f\n", "mkvps line 1: malformed: 'AES NEW: full 0x130e2053f18e5f'");
	bad("AES NEW: full 0x130e2053f18e5f4c00\n",
	    "mkvps line 1: malformed: 'AES NEW: full 0x130e2053f18e5f4c00'");
	bad("AES NEW: full 130e2053f18e5f4c\n", "mkvps line 1: malformed: 'AES NEW: full 130e2053f18e5f4c'");
	bad("AES NEW: full 0x130e2053f18e5f4g\n", "mkvps line 1: malformed: 'AES NEW: full 0x130e2053f18e5f4g'");
	bad("AES NEW: full\n", "mkvps line 1: malformed: 'AES NEW: full'");
	bad("AES NEW:\n", "mkvps line 1: malformed: 'AES NEW:'");
	bad("AES NEW: full 0x130e2053f18e5f4c extra\n",
	    "mkvps line 1: malformed: 'AES NEW: full 0x130e2053f18e5f4c extra'");
	bad("AES NEW: - " Z16 "\n", "mkvps line 1: malformed: 'AES NEW: - " Z16 "'");
	bad("AES NEW: empty -\n", "mkvps line 1: malformed: 'AES NEW: empty -'");
	bad("ASYM CUR: valid 0x7d10d17bc8a409c4\n", "mkvps line 1: malformed: 'ASYM CUR: valid 0x7d10d17bc8a409c4'");
	bad("WK CUR: valid -\n", "mkvps line 1: malformed: 'WK CUR: valid -'");
	bad("WK CUR: invalid " EP11_A "\n", "mkvps line 1: malformed: 'WK CUR: invalid " EP11_A "'");
	bad("WK NEW: invalid -\n", "mkvps line 1: malformed: 'WK NEW: invalid -'");
	bad("WK NEW: full " EP11_A "\n", "mkvps line 1: malformed: 'WK NEW: full " EP11_A "'");
	bad("WK NEW: committed 0x7d10d17bc8a409c4\n", "mkvps line 1: malformed: 'WK NEW: committed 0x7d10d17bc8a409c4'");
	bad("WK CUR: valid " EP11_B "\nWK CUR: valid " EP11_B "\n",
	    "mkvps line 2: repeated: 'WK CUR: valid " EP11_B "'");
	bad("WK CUR: valid " EP11_B "\n", "mkvps: no 'WK NEW:' line");
	bad("AES NEW: empty " Z16 "\nAES OLD: invalid " Z16 "\n", "mkvps: no 'AES CUR:' line");
	bad("AES NEW: - -\nAES CUR: - -\nAES OLD: - -\nWK CUR: - -\nWK NEW: - -\n",
	    "mkvps: both CCA and EP11 (WK) lines");
	bad("AES NEW: - -\nAES CUR: - -\nAES OLD: - -\nAPKA NEW: - -\n", "mkvps: no 'APKA CUR:' line");

	{
		static const char nul[] = "AES NEW: - -\nAES C\0R: - -\nAES OLD: - -\n";
		struct errmsg e = { "" };
		struct mkvps m;

		is_int(mkvps_parse(nul, sizeof(nul) - 1, &m, &e), -EINVAL, "refused: a NUL byte");
		is_string(e.text, "mkvps line 2: contains a NUL byte", "message");
	}
}

int main(void)
{
	cca_forms();
	ep11_forms();
	other_lines();
	holds();
	malformed();
	return done_testing();
}
