// SPDX-License-Identifier: MIT
#include <errno.h>

#include "core/macro.h"
#include "core/mkvps.h"

/* The line prefixes the kernel prints, and the query helper's SYM. */
static const struct line_kind {
	const char *prefix;
	enum mk_type type;
	enum mk_reg reg;
} kinds[] = {
	{ "SYM NEW:", MK_CCA_SYM, REG_NEW },	 { "SYM CUR:", MK_CCA_SYM, REG_CUR },
	{ "SYM OLD:", MK_CCA_SYM, REG_OLD },	 { "ASYM NEW:", MK_CCA_ASYM, REG_NEW },
	{ "ASYM CUR:", MK_CCA_ASYM, REG_CUR },	 { "ASYM OLD:", MK_CCA_ASYM, REG_OLD },
	{ "AES NEW:", MK_CCA_AES, REG_NEW },	 { "AES CUR:", MK_CCA_AES, REG_CUR },
	{ "AES OLD:", MK_CCA_AES, REG_OLD },	 { "APKA NEW:", MK_CCA_APKA, REG_NEW },
	{ "APKA CUR:", MK_CCA_APKA, REG_CUR },	 { "APKA OLD:", MK_CCA_APKA, REG_OLD },
	{ "WK CUR:", MK_EP11, REG_CUR },	 { "WK NEW:", MK_EP11, REG_NEW },
};

static const struct line_kind *find_kind(const char *line, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t plen = strlen(kinds[i].prefix);

		if (len >= plen && memcmp(line, kinds[i].prefix, plen) == 0)
			return &kinds[i];
	}
	return NULL;
}

/* The states a register of @t may print, by the kernel's tables. */
static bool state_allowed(enum mk_type t, enum mk_reg r, enum reg_state s)
{
	if (r != REG_NEW)
		return s == REG_INVALID || s == REG_VALID;
	if (mk_type_mode(t) == AP_MODE_EP11)
		return s == REG_EMPTY || s == REG_UNCOMMITTED || s == REG_COMMITTED;
	return s == REG_EMPTY || s == REG_PARTIAL || s == REG_FULL;
}

static int state_from_word(const char *w, size_t len)
{
	for (int s = REG_EMPTY; s < REG_STATE_COUNT; s++) {
		const char *name = reg_state_name(s);

		if (strlen(name) == len && memcmp(name, w, len) == 0)
			return s;
	}
	return -EINVAL;
}

/* Split @s into at most @max blank-separated words; returns the count. */
static size_t split_words(const char *s, size_t len, const char **w, size_t *wl, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (n == max)
			return max + 1;
		w[n] = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		wl[n] = (size_t)(s + i - w[n]);
		n++;
	}
	return n;
}

static bool is_dash(const char *w, size_t len)
{
	return len == 1 && w[0] == '-';
}

/* The kernel prints `-` for the pattern of EP11 `invalid` and `empty`. */
static bool ep11_dash_state(enum reg_state s)
{
	return s == REG_INVALID || s == REG_EMPTY;
}

static int parse_value(const struct line_kind *k, const char *s, size_t len, struct mk_register *out)
{
	const char *w[2];
	size_t wl[2];
	size_t nbytes = mk_type_sysfs_bytes(k->type);
	struct mkvp p;
	int state;

	if (split_words(s, len, w, wl, 2) != 2)
		return -EINVAL;
	if (is_dash(w[0], wl[0])) {
		if (!is_dash(w[1], wl[1]))
			return -EINVAL;
		*out = (struct mk_register){ .state = REG_UNKNOWN };
		return 0;
	}
	state = state_from_word(w[0], wl[0]);
	if (state < 0 || !state_allowed(k->type, k->reg, state))
		return -EINVAL;
	*out = (struct mk_register){ .state = state };
	if (mk_type_mode(k->type) == AP_MODE_EP11 && ep11_dash_state(state))
		return is_dash(w[1], wl[1]) ? 0 : -EINVAL;
	if (wl[1] < 2 || w[1][0] != '0' || w[1][1] != 'x')
		return -EINVAL;
	if (mkvp_parse_hex(w[1] + 2, wl[1] - 2, nbytes, &p) < 0)
		return -EINVAL;
	if (reg_state_has_mkvp(state))
		out->mkvp = p;
	return 0;
}

static const char *line_prefix_of(enum mk_type t, enum mk_reg r)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i].type == t && kinds[i].reg == r)
			return kinds[i].prefix;
	return "?";
}

int mkvps_parse(const char *text, size_t len, struct mkvps *out, struct errmsg *e)
{
	bool seen[MK_TYPE_COUNT][REG_COUNT] = { { false } };
	struct mkvps m = { 0 };
	bool cca = false, ep11 = false;
	size_t pos = 0, lineno = 0;

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		const struct line_kind *k;

		pos += llen + (nl ? 1 : 0);
		lineno++;
		if (memchr(line, '\0', llen))
			return errmsg_set(e, -EINVAL, "mkvps line %zu: contains a NUL byte", lineno);
		k = find_kind(line, llen);
		if (!k)
			continue;
		if (seen[k->type][k->reg])
			return errmsg_set(e, -EINVAL, "mkvps line %zu: repeated: '%.*s'", lineno,
					  (int)llen, line);
		if (parse_value(k, line + strlen(k->prefix), llen - strlen(k->prefix),
				&m.reg[k->type][k->reg]) < 0)
			return errmsg_set(e, -EINVAL, "mkvps line %zu: malformed: '%.*s'", lineno,
					  (int)llen, line);
		seen[k->type][k->reg] = true;
		m.has[k->type] = true;
		if (mk_type_mode(k->type) == AP_MODE_EP11)
			ep11 = true;
		else
			cca = true;
	}
	if (cca && ep11)
		return errmsg_set(e, -EINVAL, "mkvps: both CCA and EP11 (WK) lines");
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		if (!m.has[t])
			continue;
		for (int r = 0; r < REG_COUNT; r++)
			if (mk_type_has_reg(t, r) && !seen[t][r])
				return errmsg_set(e, -EINVAL, "mkvps: no '%s' line",
						  line_prefix_of(t, r));
	}
	*out = m;
	return 0;
}

void mkvps_merge(struct mkvps *dst, const struct mkvps *src)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		if (!src->has[t])
			continue;
		dst->has[t] = true;
		memcpy(dst->reg[t], src->reg[t], sizeof(dst->reg[t]));
	}
}

bool mk_register_holds(const struct mk_register *r, const struct mkvp *want)
{
	return reg_state_has_mkvp(r->state) && mkvp_matches(&r->mkvp, want);
}
