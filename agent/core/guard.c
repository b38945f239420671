// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "core/guard.h"
#include "core/macro.h"

const struct apqn_view *view_find(const struct view *v, struct apqn a)
{
	for (size_t i = 0; i < v->n; i++)
		if (apqn_eq(v->v[i].apqn, a))
			return &v->v[i];
	return NULL;
}

int view_merge(const struct view *fresh, const struct view *old, const struct apqn_list *apqns,
	       struct view *out)
{
	struct view v = { .v = calloc(apqns->n ? apqns->n : 1, sizeof(*v.v)), .n = apqns->n };

	if (!v.v)
		return -ENOMEM;
	for (size_t i = 0; i < apqns->n; i++) {
		const struct apqn_view *a = view_find(fresh, apqns->v[i]);

		if (!a && !(a = view_find(old, apqns->v[i]))) {
			view_free(&v);
			return -ENOENT;
		}
		v.v[i] = *a;
	}
	*out = v;
	return 0;
}

void view_free(struct view *v)
{
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

int guard_usable(const struct apqn_view *a, struct errmsg *e)
{
	enum queue_usability u = queue_usability(&a->queue);
	char n[APQN_STR_MAX];

	apqn_format(a->apqn, n);
	if (u != QUEUE_USABLE)
		return errmsg_set(e, u == QUEUE_ABSENT ? -ENODEV : -EAGAIN, "APQN %s is %s", n,
				  queue_usability_name(u));
	if (!a->regs_read)
		return errmsg_set(e, -EAGAIN, "APQN %s: registers cannot be read%s%s", n,
				  a->read_error[0] ? ": " : "", a->read_error);
	return 0;
}

/* The register of @t, or an error when the queue does not show it. */
static int reg_of(const struct apqn_view *a, enum mk_type t, enum mk_reg r,
		  const struct mk_register **out, struct errmsg *e)
{
	char n[APQN_STR_MAX];

	apqn_format(a->apqn, n);
	if (!a->regs.has[t]) {
		if (mk_type_info(t)->queried && mode_has_type(a->mode, t))
			return errmsg_set(e, -EAGAIN, "APQN %s: %s registers are not in sysfs; configure "
					  "[registers] query-helper", n, mk_type_name(t));
		return errmsg_set(e, -EINVAL, "APQN %s has no %s registers", n, mk_type_name(t));
	}
	if (a->regs.reg[t][r].state == REG_UNKNOWN)
		return errmsg_set(e, -EAGAIN, "APQN %s: the %s %s register is unknown", n,
				  mk_type_name(t), r == REG_NEW ? "NEW" : "CUR");
	*out = &a->regs.reg[t][r];
	return 0;
}

/* I6: a NEW register of @a that the officer loaded with another key. */
static int check_not_wrong(const struct op *op, const struct apqn_view *a, enum mk_type t,
			   struct errmsg *e)
{
	const struct mk_register *r = &a->regs.reg[t][REG_NEW];
	char n[APQN_STR_MAX], w[MKVP_STR_MAX], got[MKVP_STR_MAX];
	struct mkvp p;

	if (!a->regs_read || !a->regs.has[t] || !reg_state_has_mkvp(r->state) ||
	    mk_register_holds(r, &op->new_mkvp[t]))
		return 0;
	p = r->mkvp;
	mkvp_truncate(&p, mk_type_cli_bytes(t));
	return errmsg_set(e, -EKEYREJECTED, "APQN %s: %s NEW holds %s, not the planned %s",
			  apqn_format(a->apqn, n), mk_type_name(t), mkvp_format(&p, got),
			  mkvp_format(&op->new_mkvp[t], w));
}

/* After check_not_wrong: NEW is empty or still being loaded. */
static int check_loaded(const struct op *op, const struct apqn_view *a, enum mk_type t,
			struct errmsg *e)
{
	const struct mkvp *want = &op->new_mkvp[t];
	const struct mk_register *r;
	char n[APQN_STR_MAX], w[MKVP_STR_MAX];
	int rc = reg_of(a, t, REG_NEW, &r, e);

	if (rc < 0)
		return rc;
	if (mk_register_holds(r, want))
		return 0;
	apqn_format(a->apqn, n);
	mkvp_format(want, w);
	return errmsg_set(e, -EAGAIN, "APQN %s: %s NEW is %s, not loaded with %s%s", n,
			  mk_type_name(t), reg_state_name(r->state), w,
			  r->state == REG_PARTIAL || r->state == REG_UNCOMMITTED ?
				  " (the TKE is still loading it)" :
				  "");
}

/* Every APQN of @op usable. */
static int all_usable(const struct op *op, const struct view *v, struct errmsg *e)
{
	for (size_t i = 0; i < op->apqns.n; i++) {
		const struct apqn_view *a = view_find(v, op->apqns.v[i]);
		struct apqn_view missing = { .apqn = op->apqns.v[i] };
		int rc = guard_usable(a ? a : &missing, e);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* @check for every type of @op on every APQN of @op that @v shows. */
static int each_register(const struct op *op, const struct view *v,
			 int (*check)(const struct op *, const struct apqn_view *, enum mk_type,
				      struct errmsg *),
			 struct errmsg *e)
{
	for (size_t i = 0; i < op->apqns.n; i++) {
		const struct apqn_view *a = view_find(v, op->apqns.v[i]);

		for (int t = 0; a && t < MK_TYPE_COUNT; t++) {
			int rc = op->has_new[t] ? check(op, a, t, e) : 0;

			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int guard_reencipher(const struct op *op, const struct view *v, struct errmsg *e)
{
	/* A wrong key is said first: the officer must hear of it while the
	 * other APQNs are still loading or offline, not once they are ready. */
	int rc = each_register(op, v, check_not_wrong, e);

	if (rc < 0)
		return rc;
	rc = all_usable(op, v, e);
	if (rc < 0)
		return rc;
	return each_register(op, v, check_loaded, e);
}

int guard_finalize(const struct op *op, const struct view *v, struct errmsg *e)
{
	int rc = all_usable(op, v, e);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < op->apqns.n; i++) {
		const struct apqn_view *a = view_find(v, op->apqns.v[i]);
		char n[APQN_STR_MAX], w[MKVP_STR_MAX], got[MKVP_STR_MAX];

		apqn_format(a->apqn, n);
		for (int t = 0; t < MK_TYPE_COUNT; t++) {
			const struct mk_register *r;
			struct mkvp p;

			if (!op->has_new[t])
				continue;
			rc = reg_of(a, t, REG_CUR, &r, e);
			if (rc < 0)
				return rc;
			if (mk_register_holds(r, &op->new_mkvp[t]))
				continue;
			p = r->mkvp;
			mkvp_truncate(&p, mk_type_cli_bytes(t));
			return errmsg_set(e, -EAGAIN,
					  "APQN %s: %s CUR holds %s, not the new %s (not activated yet)", n,
					  mk_type_name(t), reg_state_has_mkvp(r->state) ? mkvp_format(&p, got) : reg_state_name(r->state),
					  mkvp_format(&op->new_mkvp[t], w));
		}
	}
	return 0;
}

int guard_cancel(const struct op *op, const struct view *v, bool nothing_done, struct errmsg *e)
{
	for (size_t i = 0; i < op->apqns.n; i++) {
		const struct apqn_view *a = view_find(v, op->apqns.v[i]);
		char n[APQN_STR_MAX], w[MKVP_STR_MAX];

		apqn_format(op->apqns.v[i], n);
		if (!a || !a->regs_read) {
			if (nothing_done)
				continue;
			return errmsg_set(e, -EAGAIN,
					  "APQN %s: registers cannot be read, so cancel cannot tell whether the new key is active",
					  n);
		}
		for (int t = 0; t < MK_TYPE_COUNT; t++) {
			if (!op->has_new[t] || !a->regs.has[t])
				continue;
			if (mk_register_holds(&a->regs.reg[t][REG_CUR], &op->new_mkvp[t]))
				return errmsg_set(e, -EPERM,
						  "APQN %s: %s CUR already holds the new %s; cancel is refused once a new master key is active",
						  n, mk_type_name(t), mkvp_format(&op->new_mkvp[t], w));
		}
	}
	return 0;
}

bool guard_activated(const struct op *op, const struct view *v, struct apqn *where)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct apqn_view *a = &v->v[i];

		if (!a->regs_read || !apqn_list_contains(&op->apqns, a->apqn))
			continue;
		for (int t = 0; t < MK_TYPE_COUNT; t++) {
			if (op->has_new[t] && a->regs.has[t] &&
			    mk_register_holds(&a->regs.reg[t][REG_CUR], &op->new_mkvp[t])) {
				*where = a->apqn;
				return true;
			}
		}
	}
	return false;
}
