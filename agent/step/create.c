// SPDX-License-Identifier: MIT
/*
 * create.c - a new operation (create.h): the checks that it could ever
 * complete on the APQNs named (I10), the profiles it runs, and its file
 * written under the creation lock when no live operation shares an
 * (APQN, type) pair with it (I4).
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/file.h>

#include "core/macro.h"
#include "io/runner.h"
#include "step/create.h"

static void warn(create_warn_fn *fn, const char *fmt, ...) _printf_(2, 3);

static void warn(create_warn_fn *fn, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(line);
}

static bool named(const char *const *names, const char *name)
{
	for (; *names; names++)
		if (streq(*names, name))
			return true;
	return false;
}

/* The profiles @names lists (checked by create_check_profile_names()), or every
 * one that covers a type of @op. */
static int choose_profiles(struct engine *en, const char *const *names, struct op *op,
			   struct errmsg *e)
{
	for (size_t i = 0; i < en->profiles.n; i++) {
		const struct profile *p = &en->profiles.v[i];
		bool has[PHASE_COUNT];

		if (names ? !named(names, p->name) : !profile_covers(p, op))
			continue;
		for (int ph = 0; ph < PHASE_COUNT; ph++)
			has[ph] = p->phase[ph].present;
		if (op_add_profile(op, p->name, has) < 0)
			return errmsg_set(e, -ENOMEM, "out of memory");
	}
	return 0;
}

int create_check_profile_names(const struct engine *en, const char *const *names,
			       struct errmsg *e)
{
	for (; names && *names; names++)
		if (!profiles_find(&en->profiles, *names))
			return errmsg_set(e, -ENOENT, "profile %s does not exist", *names);
	return 0;
}

int create_check_types(const struct engine *en, const struct op *op, const char *config,
		       struct errmsg *e)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		const struct mk_type_info *ti = mk_type_info(t);

		if (op->has_new[t] && ti->queried && !*en->cfg.query_helper)
			return errmsg_set(e, -EOPNOTSUPP, "-%c/--%s needs [registers] query-helper in "
					  "%s: sysfs does not show the %s registers", ti->opt,
					  ti->opt_name, config, ti->regs);
	}
	return 0;
}

/* I10: what a usable APQN shows of @t: the registers, and not the new
 * pattern in CUR already. */
static int check_registers(const struct apqn_view *a, const struct op *op, enum mk_type t,
			   struct errmsg *e)
{
	const struct mk_register *cur = &a->regs.reg[t][REG_CUR];
	char n[APQN_STR_MAX], hex[MKVP_STR_MAX];

	apqn_format(a->apqn, n);
	if (!a->regs.has[t])
		return errmsg_set(e, -ENOENT, "APQN %s: the %s registers cannot be read (%s): the "
				  "agent could never see the new key loaded", n, mk_type_name(t),
				  a->read_error[0] ? a->read_error :
				  t == MK_CCA_ASYM ? "no ASYM lines in mkvps; kernels before 5.19 show none" :
						     "not in mkvps");
	if (reg_state_has_mkvp(cur->state) && mkvp_matches(&cur->mkvp, &op->new_mkvp[t]))
		return errmsg_set(e, -EEXIST, "APQN %s: %s CUR already holds %s: an operation to it "
				  "could never be finalized nor canceled", n, mk_type_name(t),
				  mkvp_format(&op->new_mkvp[t], hex));
	return 0;
}

/* Each APQN @a exists, is of the kind of every type, has its registers. */
static int check_apqn(const struct apqn_view *a, const struct op *op, create_warn_fn *say,
		      struct errmsg *e)
{
	char n[APQN_STR_MAX];

	apqn_format(a->apqn, n);
	if (!a->present)
		return errmsg_set(e, -ENODEV, "APQN %s is not on the AP bus", n);
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		if (op->has_new[t] && !mode_has_type(a->mode, t))
			return errmsg_set(e, -EMEDIUMTYPE, "APQN %s is %s queue: %s needs %s queues", n,
					  ap_mode_a(a->mode), mk_type_name(t),
					  ap_mode_cards(mk_type_mode(t)));
	}
	if (queue_usability(&a->queue) != QUEUE_USABLE)
		warn(say, "APQN %s is %s: the agent waits for it", n,
			 queue_usability_name(queue_usability(&a->queue)));
	for (int t = 0; t < MK_TYPE_COUNT && (a->regs_read || a->read_error[0]); t++) {
		int rc = op->has_new[t] ? check_registers(a, op, t, e) : 0;

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The APQNs' current patterns, kept as the old ones where they agree. */
static void record_old(const struct view *v, struct op *op, create_warn_fn *say)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		bool have = false, differ = false;
		struct mkvp old = { 0 };

		for (size_t i = 0; op->has_new[t] && i < v->n; i++) {
			const struct mk_register *cur = &v->v[i].regs.reg[t][REG_CUR];
			struct mkvp p;

			if (!v->v[i].regs_read || !v->v[i].regs.has[t] || !reg_state_has_mkvp(cur->state))
				continue;
			p = cur->mkvp;
			mkvp_truncate(&p, mk_type_cli_bytes(t));
			differ |= have && !mkvp_eq(&p, &old);
			old = p;
			have = true;
		}
		if (differ)
			warn(say, "the APQNs' current %s patterns differ; none is kept as the old pattern",
			     mk_type_name(t));
		else if (have) {
			op->has_old[t] = true;
			op->old_mkvp[t] = old;
		}
	}
}

struct unreadable {
	const char *who;
	create_warn_fn *say;
};

static void warn_unreadable(void *ctx, const char *sub, const char *why)
{
	const struct unreadable *u = ctx;

	(void)sub;
	warn(u->say, "%s: %s (not checked for overlap)", u->who, why);
}

/* Refuse when a live operation shares an (APQN, MK type) pair (I4). */
static int check_overlap(const struct unreadable *u, struct engine *en, const struct op *op,
			 struct errmsg *e)
{
	struct op_list ops = { 0 };
	struct apqn a;
	enum mk_type t;
	char n[APQN_STR_MAX];
	int rc = 0;

	if (store_list(&en->store, STORE_LIVE, &ops, warn_unreadable, (void *)u) < 0)
		return errmsg_set(e, -EIO, "cannot list the operations in %s", en->store.dir);
	for (size_t i = 0; i < ops.n && rc == 0; i++) {
		if (op_state_terminal(ops.v[i].state) || !op_overlaps(op, &ops.v[i], &a, &t))
			continue;
		rc = errmsg_set(e, -EBUSY, "APQN %s %s is already part of operation %s (%s)",
				apqn_format(a, n), mk_type_name(t), ops.v[i].id,
				op_state_name(ops.v[i].state));
	}
	op_list_free(&ops);
	return rc;
}

int create_check(struct engine *en, struct op *op, const char *const *names, bool now,
		 create_warn_fn *say, struct errmsg *e)
{
	_cleanup_(view_free) struct view v = { 0 };
	int rc = choose_profiles(en, names, op, e);

	if (rc == 0)
		rc = step_read_view(en, op, NULL, &v, e);
	for (size_t i = 0; rc == 0 && i < v.n; i++)
		rc = check_apqn(&v.v[i], op, say, e);
	if (rc < 0)
		return rc;
	record_old(&v, op, say);
	if (now) {
		rc = phase_guard(op, PHASE_REENCIPHER, &v, e);
		if (rc == 0)
			rc = engine_check_phase(en, op, PHASE_REENCIPHER, NULL, e);
	}
	return rc;
}

int create_write(struct engine *en, struct op *op, const char *state_dir, const char *who,
		 create_warn_fn *say, int *lock, struct errmsg *e)
{
	const struct unreadable u = { who, say };
	int rc;

	/* every check passed: now the state directory, or what it lacks, may
	 * be made (systemd's StateDirectory= makes it empty) */
	if (!store_complete(&en->store)) {
		store_close(&en->store);
		rc = store_open(&en->store, state_dir, true, e);
		if (rc < 0)
			return rc;
	}
	while ((rc = store_lock_create(&en->store)) == -EINTR && !runner_interrupted())
		;
	if (rc < 0)
		return errmsg_set(e, rc, "cannot lock %s: %s", en->store.dir, strerror(-rc));
	rc = check_overlap(&u, en, op, e);
	if (rc < 0)
		return rc;
	rc = store_new_id(&en->store, op->id);
	if (rc == -EEXIST)
		return errmsg_set(e, rc, "cannot find a free operation ID");
	if (rc < 0)
		return errmsg_set(e, rc, "cannot make an operation ID: %s", strerror(-rc));
	op->state = OP_PLANNED;
	op->created = op->updated = time(NULL);
	*lock = store_lock_op(&en->store, op->id);
	if (*lock < 0)
		return errmsg_set(e, *lock, "%s", strerror(-*lock));
	rc = store_write(&en->store, op, e);
	if (rc < 0)
		return rc;
	store_audit(&en->store, op->id, NULL, op_state_name(OP_PLANNED), NULL);
	flock(en->store.ops_fd, LOCK_UN);
	return 0;
}
