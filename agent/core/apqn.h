/* SPDX-License-Identifier: MIT */
/*
 * apqn.h - adjunct processor queue numbers (card.domain): parsing the
 * `%x.%x` lists people type, printing the `%02X.%04X` form of DESIGN §2
 * and the `%02x.%04x` sysfs name.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/errmsg.h"

#define APQN_MAX_ID 0xff
#define APQN_STR_MAX 8 /* "0E.0033" and its NUL */

struct apqn {
	uint8_t card;
	uint8_t domain;
};

struct apqn_list {
	struct apqn *v;
	size_t n;
};

/* One APQN, `%x.%x`, card and domain at most 0xff. -EINVAL on error. */
int apqn_parse(const char *s, struct apqn *out, struct errmsg *e);
/* A comma separated list; duplicates and empty items are errors. The
 * list is replaced only on success. */
int apqn_list_parse(const char *s, struct apqn_list *out, struct errmsg *e);
int apqn_list_add(struct apqn_list *l, struct apqn a);
bool apqn_list_contains(const struct apqn_list *l, struct apqn a);
void apqn_list_free(struct apqn_list *l);
void apqn_list_sort(struct apqn_list *l);

static inline bool apqn_eq(struct apqn a, struct apqn b)
{
	return a.card == b.card && a.domain == b.domain;
}

int apqn_cmp(const struct apqn *a, const struct apqn *b);
/* `%02X.%04X` into @buf (APQN_STR_MAX bytes); returns @buf. */
char *apqn_format(struct apqn a, char *buf);
/* The sysfs queue name `%02x.%04x`. */
char *apqn_sysname(struct apqn a, char *buf);
