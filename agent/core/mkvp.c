// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>

#include "core/macro.h"
#include "core/mkvp.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mkvp_parse_hex(const char *s, size_t len, size_t nbytes, struct mkvp *out)
{
	struct mkvp p = { .len = (uint8_t)nbytes };

	if (nbytes == 0 || nbytes > MKVP_MAX_BYTES || len != 2 * nbytes)
		return -EINVAL;
	for (size_t i = 0; i < nbytes; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		p.b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = p;
	return 0;
}

int mkvp_parse_cli(enum mk_type t, const char *s, struct mkvp *out, struct errmsg *e)
{
	size_t nbytes = mk_type_cli_bytes(t);
	const char *hex = s;
	size_t len;

	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	len = strlen(hex);
	for (size_t i = 0; i < len; i++)
		if (hexval(hex[i]) < 0)
			return errmsg_set(e, -EINVAL, "pattern '%s' for %s: '%c' is not a hex digit", s,
					  mk_type_name(t), hex[i]);
	if (len != 2 * nbytes)
		return errmsg_set(e, -EINVAL,
				  "pattern '%s' for %s must be %zu bytes (%zu hex digits), not %zu digits",
				  s, mk_type_name(t), nbytes, 2 * nbytes, len);
	return mkvp_parse_hex(hex, len, nbytes, out);
}

char *mkvp_format(const struct mkvp *p, char *buf)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < p->len && i < MKVP_MAX_BYTES; i++) {
		buf[2 * i] = digits[p->b[i] >> 4];
		buf[2 * i + 1] = digits[p->b[i] & 0xf];
	}
	buf[2 * i] = '\0';
	return buf;
}

bool mkvp_matches(const struct mkvp *reg, const struct mkvp *want)
{
	return want->len > 0 && reg->len >= want->len && memcmp(reg->b, want->b, want->len) == 0;
}

bool mkvp_eq(const struct mkvp *a, const struct mkvp *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

void mkvp_truncate(struct mkvp *p, size_t nbytes)
{
	if (p->len > nbytes) {
		memset(p->b + nbytes, 0, p->len - nbytes);
		p->len = (uint8_t)nbytes;
	}
}
