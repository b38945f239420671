// SPDX-License-Identifier: MIT
/* APQN values: the `%x.%x` lists people type and the forms we print. */
#include <errno.h>
#include <string.h>

#include "core/apqn.h"
#include "tap.h"

static void good(const char *in, const char *want)
{
	struct apqn_list l = { 0 };
	struct errmsg e = { "" };
	char got[1024] = "", buf[APQN_STR_MAX];
	int rc = apqn_list_parse(in, &l, &e);

	for (size_t i = 0; i < l.n; i++) {
		if (i)
			strcat(got, ",");
		strcat(got, apqn_format(l.v[i], buf));
	}
	is_int(rc, 0, "'%s' parses", in);
	is_string(got, want, "'%s' prints as %s", in, want);
	apqn_list_free(&l);
}

static void bad(const char *in, const char *msg)
{
	struct apqn_list l = { 0 };
	struct errmsg e = { "" };
	struct apqn keep = { 1, 2 };

	apqn_list_add(&l, keep);
	is_int(apqn_list_parse(in, &l, &e), -EINVAL, "'%s' is refused", in);
	is_string(e.text, msg, "'%s': message", in);
	ok(l.n == 1 && apqn_eq(l.v[0], keep), "'%s': the list is left as it was", in);
	apqn_list_free(&l);
}

int main(void)
{
	struct apqn a;
	char buf[APQN_STR_MAX];
	struct apqn_list l = { 0 };


	good("06.0033,0e.0033,1c.0033", "06.0033,0E.0033,1C.0033");
	good("8.33", "08.0033");
	good("ff.ff", "FF.00FF");
	good("0.0", "00.0000");
	good("0A.00Fe", "0A.00FE");
	good("00ff.0000", "FF.0000");

	bad("", "empty APQN list");
	bad("08.0033,", "empty item in APQN list '08.0033,'");
	bad(",08.0033", "empty item in APQN list ',08.0033'");
	bad("08.0033,,09.0033", "empty item in APQN list '08.0033,,09.0033'");
	bad("08", "APQN '08' is not card.domain in hex (e.g. 08.0033)");
	bad("08.", "APQN '08.' is not card.domain in hex (e.g. 08.0033)");
	bad(".0033", "APQN '.0033' is not card.domain in hex (e.g. 08.0033)");
	bad("0g.0033", "APQN '0g.0033' is not card.domain in hex (e.g. 08.0033)");
	bad("08.0033.1", "APQN '08.0033.1' is not card.domain in hex (e.g. 08.0033)");
	bad(" 08.0033", "APQN ' 08.0033' is not card.domain in hex (e.g. 08.0033)");
	bad("0x08.0x33", "APQN '0x08.0x33' is not card.domain in hex (e.g. 08.0033)");
	bad("100.0033", "APQN '100.0033': card 0x100 is above 0xff");
	bad("08.0100", "APQN '08.0100': domain 0x100 is above 0xff");
	bad("08.10000", "APQN '08.10000' is not card.domain in hex (e.g. 08.0033)");
	bad("08.0033,8.33", "APQN 08.0033 is listed twice");
	bad("-1.0033", "APQN '-1.0033' is not card.domain in hex (e.g. 08.0033)");

	is_int(apqn_parse("1c.0033", &a, NULL), 0, "a single APQN parses");
	is_string(apqn_sysname(a, buf), "1c.0033", "sysfs name is lower-case %%02x.%%04x");
	is_string(apqn_format(a, buf), "1C.0033", "printed form is %%02X.%%04X");

	apqn_list_parse("1c.0001,08.0033,08.0001", &l, NULL);
	apqn_list_sort(&l);
	is_string(apqn_format(l.v[0], buf), "08.0001", "sorted by card then domain (1)");
	is_string(apqn_format(l.v[2], buf), "1C.0001", "sorted by card then domain (3)");
	apqn_list_free(&l);
	return done_testing();
}
