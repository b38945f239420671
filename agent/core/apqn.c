// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>

#include "core/apqn.h"
#include "core/macro.h"

/* Up to four hex digits: enough for the `0033` domains lszcrypt prints. */
static int parse_part(const char *s, size_t len, unsigned int *out)
{
	unsigned int v = 0;

	if (len == 0 || len > 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 16 + (unsigned int)(isdigit((unsigned char)s[i]) ? s[i] - '0' :
						 tolower((unsigned char)s[i]) - 'a' + 10);
	}
	*out = v;
	return 0;
}

static int parse_n(const char *s, size_t len, struct apqn *out, struct errmsg *e)
{
	const char *dot = memchr(s, '.', len);
	unsigned int card, domain;

	if (!dot || parse_part(s, (size_t)(dot - s), &card) < 0 ||
	    parse_part(dot + 1, len - (size_t)(dot - s) - 1, &domain) < 0)
		return errmsg_set(e, -EINVAL, "APQN '%.*s' is not card.domain in hex (e.g. 08.0033)",
				  (int)len, s);
	if (card > APQN_MAX_ID)
		return errmsg_set(e, -EINVAL, "APQN '%.*s': card 0x%x is above 0x%x", (int)len, s,
				  card, APQN_MAX_ID);
	if (domain > APQN_MAX_ID)
		return errmsg_set(e, -EINVAL, "APQN '%.*s': domain 0x%x is above 0x%x", (int)len,
				  s, domain, APQN_MAX_ID);
	out->card = (uint8_t)card;
	out->domain = (uint8_t)domain;
	return 0;
}

int apqn_parse(const char *s, struct apqn *out, struct errmsg *e)
{
	return parse_n(s, strlen(s), out, e);
}

int apqn_list_add(struct apqn_list *l, struct apqn a)
{
	struct apqn *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[l->n++] = a;
	l->v = v;
	return 0;
}

bool apqn_list_contains(const struct apqn_list *l, struct apqn a)
{
	for (size_t i = 0; i < l->n; i++)
		if (apqn_eq(l->v[i], a))
			return true;
	return false;
}

void apqn_list_free(struct apqn_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int apqn_list_parse(const char *s, struct apqn_list *out, struct errmsg *e)
{
	struct apqn_list l = { 0 };
	const char *p = s;
	char buf[APQN_STR_MAX];
	int rc;

	if (!*s)
		return errmsg_set(e, -EINVAL, "empty APQN list");
	for (;;) {
		size_t len = strcspn(p, ",");
		struct apqn a;

		if (len == 0) {
			rc = errmsg_set(e, -EINVAL, "empty item in APQN list '%s'", s);
			goto fail;
		}
		rc = parse_n(p, len, &a, e);
		if (rc < 0)
			goto fail;
		if (apqn_list_contains(&l, a)) {
			rc = errmsg_set(e, -EINVAL, "APQN %s is listed twice", apqn_format(a, buf));
			goto fail;
		}
		rc = apqn_list_add(&l, a);
		if (rc < 0) {
			errmsg_set(e, rc, "out of memory");
			goto fail;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	apqn_list_free(out);
	*out = l;
	return 0;
fail:
	apqn_list_free(&l);
	return rc;
}

int apqn_cmp(const struct apqn *a, const struct apqn *b)
{
	if (a->card != b->card)
		return a->card < b->card ? -1 : 1;
	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	return 0;
}

static int apqn_cmp_void(const void *a, const void *b)
{
	return apqn_cmp(a, b);
}

void apqn_list_sort(struct apqn_list *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), apqn_cmp_void);
}

char *apqn_format(struct apqn a, char *buf)
{
	snprintf(buf, APQN_STR_MAX, "%02X.%04X", a.card, a.domain);
	return buf;
}

char *apqn_sysname(struct apqn a, char *buf)
{
	snprintf(buf, APQN_STR_MAX, "%02x.%04x", a.card, a.domain);
	return buf;
}
