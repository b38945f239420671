// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>

#include "core/ini.h"
#include "core/macro.h"
#include "core/op.h"

static const char *const state_names[OP_STATE_COUNT] = {
	[OP_PLANNED] = "planned",     [OP_REENCIPHERING] = "reenciphering",
	[OP_REENCIPHERED] = "reenciphered", [OP_FINALIZING] = "finalizing",
	[OP_FINALIZED] = "finalized", [OP_CANCELING] = "canceling",
	[OP_CANCELED] = "canceled",   [OP_ERROR] = "error",
};

static const char *const phase_names[PHASE_COUNT] = {
	[PHASE_REENCIPHER] = "reencipher",
	[PHASE_FINALIZE] = "finalize",
	[PHASE_CANCEL] = "cancel",
	[PHASE_RECOVER] = "recover",
};

static const char *const status_names[] = {
	[PS_NONE] = "none",	  [PS_PENDING] = "pending", [PS_RUNNING] = "running",
	[PS_DONE] = "done",	  [PS_FAILED] = "failed",
};

static int index_of(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && streq(names[i], name))
			return (int)i;
	return -EINVAL;
}

const char *op_state_name(enum op_state s)
{
	return state_names[s];
}

int op_state_from_name(const char *name)
{
	return index_of(state_names, OP_STATE_COUNT, name);
}

bool op_state_terminal(enum op_state s)
{
	return s == OP_FINALIZED || s == OP_CANCELED;
}

const char *phase_name(enum phase p)
{
	return phase_names[p];
}

int phase_from_name(const char *name)
{
	return index_of(phase_names, PHASE_COUNT, name);
}

const char *phase_status_name(enum phase_status s)
{
	return status_names[s];
}

bool op_id_valid(const char *id)
{
	if (strlen(id) != OP_ID_LEN)
		return false;
	for (int i = 0; i < OP_ID_LEN; i++)
		if (!isalnum((unsigned char)id[i]))
			return false;
	return true;
}

bool profile_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= PROFILE_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return false;
	return true;
}

int iso8601_parse(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (!end || *end)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

char *iso8601_format(time_t t, char *buf)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

void op_free(struct op *op)
{
	apqn_list_free(&op->apqns);
	free(op->profiles);
	op->profiles = NULL;
	op->nprofiles = 0;
}

int op_add_profile(struct op *op, const char *name, const bool has_phase[PHASE_COUNT])
{
	struct op_profile *v = realloc(op->profiles, (op->nprofiles + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	op->profiles = v;
	v += op->nprofiles++;
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	for (int p = 0; p < PHASE_COUNT; p++)
		v->phase[p] = has_phase && has_phase[p] ? PS_PENDING : PS_NONE;
	return 0;
}

struct op_profile *op_find_profile(const struct op *op, const char *name)
{
	for (size_t i = 0; i < op->nprofiles; i++)
		if (streq(op->profiles[i].name, name))
			return &op->profiles[i];
	return NULL;
}

void op_set_reason(struct op *op, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->reason, sizeof(op->reason), fmt, ap);
	va_end(ap);
	for (char *p = op->reason; *p; p++)
		if (iscntrl((unsigned char)*p) || *p == ';' || *p == '#')
			*p = ' ';
}

bool op_needs_query(const struct op *op)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (op->has_new[t] && mk_type_info(t)->queried)
			return true;
	return false;
}

bool op_overlaps(const struct op *a, const struct op *b, struct apqn *apqn, enum mk_type *type)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		if (!a->has_new[t] || !b->has_new[t])
			continue;
		for (size_t i = 0; i < a->apqns.n; i++) {
			if (apqn_list_contains(&b->apqns, a->apqns.v[i])) {
				*apqn = a->apqns.v[i];
				*type = t;
				return true;
			}
		}
	}
	return false;
}

/* ---- parsing ---- */

enum { SEEN_ID, SEEN_STATE, SEEN_CREATED, SEEN_UPDATED, SEEN_AUTO, SEEN_REASON, SEEN_COUNT };

static const char *const op_keys[SEEN_COUNT] = { "id", "state", "created", "updated",
						 "auto-finalize", "reason" };

struct parse_ctx {
	struct op *op;
	bool seen[SEEN_COUNT];
	bool seen_new[MK_TYPE_COUNT], seen_old[MK_TYPE_COUNT];
	struct errmsg why;
};

static int operation_key(struct parse_ctx *c, const char *name, const char *value)
{
	struct op *op = c->op;
	int k = index_of(op_keys, SEEN_COUNT, name), v;

	if (k < 0)
		return ini_error(&c->why, "unknown key '%s' in [operation]", name);
	if (c->seen[k])
		return ini_error(&c->why, "'%s' is given twice", name);
	c->seen[k] = true;
	switch (k) {
	case SEEN_ID:
		if (!op_id_valid(value))
			return ini_error(&c->why, "'%s' is not an operation ID (6 letters or digits)", value);
		snprintf(op->id, sizeof(op->id), "%s", value);
		return 1;
	case SEEN_STATE:
		v = op_state_from_name(value);
		if (v < 0)
			return ini_error(&c->why, "unknown state '%s'", value);
		op->state = v;
		return 1;
	case SEEN_CREATED:
	case SEEN_UPDATED:
		if (iso8601_parse(value, k == SEEN_CREATED ? &op->created : &op->updated) < 0)
			return ini_error(&c->why, "'%s' is not an ISO-8601 UTC time", value);
		return 1;
	case SEEN_AUTO:
		if (!streq(value, "yes") && !streq(value, "no"))
			return ini_error(&c->why, "auto-finalize must be yes or no, not '%s'", value);
		op->auto_finalize = streq(value, "yes");
		return 1;
	default:
		if (strlen(value) > OP_REASON_MAX)
			return ini_error(&c->why, "the reason is longer than %d characters", OP_REASON_MAX);
		snprintf(op->reason, sizeof(op->reason), "%s", value);
		return 1;
	}
}

static int mkvp_key(struct parse_ctx *c, bool new, const char *name, const char *value)
{
	struct errmsg pe;
	int t = mk_type_from_name(name);
	bool *seen = new ? c->seen_new : c->seen_old;
	struct mkvp *p;

	if (t < 0)
		return ini_error(&c->why, "unknown MK type '%s'", name);
	if (seen[t])
		return ini_error(&c->why, "'%s' is given twice", name);
	seen[t] = true;
	p = new ? &c->op->new_mkvp[t] : &c->op->old_mkvp[t];
	if (mkvp_parse_cli(t, value, p, &pe) < 0)
		return ini_error(&c->why, "%s", pe.text);
	(new ? c->op->has_new : c->op->has_old)[t] = true;
	return 1;
}

static int profile_key(struct parse_ctx *c, const char *profile, const char *name,
		       const char *value)
{
	struct op_profile *p = op_find_profile(c->op, profile);
	int ph = phase_from_name(name), st = index_of(status_names, ARRAY_SIZE(status_names), value);

	if (ph < 0)
		return ini_error(&c->why, "unknown phase '%s' in [profile %s]", name, profile);
	if (st <= PS_NONE)
		return ini_error(&c->why, "unknown phase state '%s'", value);
	if (p->phase[ph] != PS_NONE)
		return ini_error(&c->why, "'%s' is given twice", name);
	p->phase[ph] = st;
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	struct errmsg pe;
	struct apqn a;
	char buf[APQN_STR_MAX];

	if (streq(section, "operation"))
		return operation_key(c, name, value);
	if (streq(section, "apqns")) {
		if (!streq(name, "apqn"))
			return ini_error(&c->why, "unknown key '%s' in [apqns]", name);
		if (apqn_parse(value, &a, &pe) < 0)
			return ini_error(&c->why, "%s", pe.text);
		if (apqn_list_contains(&c->op->apqns, a))
			return ini_error(&c->why, "APQN %s is listed twice", apqn_format(a, buf));
		return apqn_list_add(&c->op->apqns, a) < 0 ? ini_error(&c->why, "out of memory") : 1;
	}
	if (streq(section, "new-mkvps") || streq(section, "old-mkvps"))
		return mkvp_key(c, section[0] == 'n', name, value);
	if (strncmp(section, "profile ", 8) == 0) {
		const char *pname = section + 8;

		if (!profile_name_valid(pname))
			return ini_error(&c->why, "'%s' is not a profile name", pname);
		if (!op_find_profile(c->op, pname) && op_add_profile(c->op, pname, NULL) < 0)
			return ini_error(&c->why, "out of memory");
		return profile_key(c, pname, name, value);
	}
	return ini_error(&c->why, "unknown section [%s]", section);
}

int op_parse(const char *text, size_t len, struct op *out, struct errmsg *e)
{
	struct op op = { 0 };
	struct parse_ctx c = { .op = &op };
	const struct ini_parse how = { .strict = true, .key = handler, .user = &c, .why = &c.why };
	size_t lines = 0;
	int rc;

	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	rc = ini_parse_text(text, len, &how, e);
	if (rc < 0) {
		op_free(&op);
		return rc;
	}
	for (int k = 0; k < SEEN_COUNT; k++) {
		if (!c.seen[k]) {
			op_free(&op);
			return errmsg_set(e, -EINVAL, "line %zu: no '%s' in [operation] (truncated?)",
					  lines, op_keys[k]);
		}
	}
	rc = 0;
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		rc |= op.has_new[t];
	if (!op.apqns.n || !rc) {
		op_free(&op);
		return errmsg_set(e, -EINVAL, "line %zu: no %s (truncated?)", lines,
				  op.apqns.n ? "[new-mkvps] pattern" : "[apqns] apqn");
	}
	*out = op;
	return 0;
}

/* ---- formatting ---- */

struct text {
	char *p;
	size_t len, size;
};

static void add(struct text *t, const char *fmt, ...) _printf_(2, 3);

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->size - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->p && t->len + (size_t)n < t->size)
			break;
		t->size = (t->size + (size_t)n + 1) * 2;
		t->p = realloc(t->p, t->size);
		if (!t->p)
			return;
	}
	t->len += (size_t)n;
}

int op_format(const struct op *op, char **out)
{
	struct text t = { 0 };
	char created[21], updated[21], apqn[APQN_STR_MAX], hex[MKVP_STR_MAX];

	add(&t, "[operation]\nid = %s\nstate = %s\ncreated = %s\nupdated = %s\n", op->id,
	    op_state_name(op->state), iso8601_format(op->created, created),
	    iso8601_format(op->updated, updated));
	add(&t, "auto-finalize = %s\nreason =%s%s\n[apqns]\n", op->auto_finalize ? "yes" : "no",
	    op->reason[0] ? " " : "", op->reason);
	for (size_t i = 0; i < op->apqns.n; i++)
		add(&t, "apqn = %s\n", apqn_format(op->apqns.v[i], apqn));
	add(&t, "[new-mkvps]\n");
	for (int ty = 0; ty < MK_TYPE_COUNT; ty++)
		if (op->has_new[ty])
			add(&t, "%s = %s\n", mk_type_name(ty), mkvp_format(&op->new_mkvp[ty], hex));
	add(&t, "[old-mkvps]\n");
	for (int ty = 0; ty < MK_TYPE_COUNT; ty++)
		if (op->has_old[ty])
			add(&t, "%s = %s\n", mk_type_name(ty), mkvp_format(&op->old_mkvp[ty], hex));
	for (size_t i = 0; i < op->nprofiles; i++) {
		add(&t, "[profile %s]\n", op->profiles[i].name);
		for (int p = 0; p < PHASE_COUNT; p++)
			if (op->profiles[i].phase[p] != PS_NONE)
				add(&t, "%s = %s\n", phase_name(p),
				    phase_status_name(op->profiles[i].phase[p]));
	}
	if (!t.p)
		return -ENOMEM;
	/* what we write, libinih must read back */
	if (ini_check_lines(t.p, t.len, true, NULL) < 0) {
		free(t.p);
		return -E2BIG;
	}
	*out = t.p;
	return 0;
}
