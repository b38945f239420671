// SPDX-License-Identifier: MIT
/*
 * opcmd.c - the commands that plan and step operations by hand: plan,
 * reencipher, finalize, cancel and helper. Each refuses, changing
 * nothing, unless the invariants of DESIGN §3 hold on the registers it
 * reads; each holds the operation's lock while a phase runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

#include "cmd/cli.h"
#include "step/engine.h"
#include "core/guard.h"
#include "io/log.h"
#include "core/macro.h"
#include "io/fd.h"
#include "cmd/opargs.h"
#include "io/registers.h"
#include "io/runner.h"

#define PATTERN_HELP                                                                 \
	"  -A, --cca-aes-mkvp MKVP   new CCA AES master key pattern (8 bytes)\n"       \
	"  -p, --cca-apka-mkvp MKVP  new CCA APKA master key pattern (8 bytes)\n"      \
	"  -S, --cca-asym-mkvp MKVP  new CCA ASYM master key pattern (8 bytes)\n"      \
	"  -s, --cca-sym-mkvp MKVP   new CCA SYM master key pattern (8 bytes)\n"       \
	"  -e, --ep11-wkvp WKVP      new EP11 wrapping key pattern (16 bytes)\n"

static const char plan_usage[] =
	"Usage: mkagent plan -a APQNS PATTERNS [--profiles P,...] [--no-auto-finalize]\n"
	"Plan a master key change; the agent runs each step when the registers allow it.\n\n"
	"  -a, --apqns APQNS         the APQNs of the change (card.domain, comma separated)\n" PATTERN_HELP
	"      --profiles P,...      only these consumer profiles\n"
	"      --no-auto-finalize    wait for 'mkagent finalize' after activation\n";

static const char reencipher_usage[] =
	"Usage: mkagent reencipher -a APQNS PATTERNS\n"
	"       mkagent reencipher -i ID\n"
	"Re-encipher every consumer's secure keys under the new master keys now.\n\n"
	"  -a, --apqns APQNS         plan a change and re-encipher at once\n" PATTERN_HELP
	"  -i, --id ID               re-encipher a planned operation\n";

static const char finalize_usage[] = "Usage: mkagent finalize -i ID\n"
				     "Finalize a change once every new master key is active.\n";
static const char cancel_usage[] =
	"Usage: mkagent cancel -i ID [--force]\n"
	"Cancel a change before any new master key is active.\n\n"
	"  -i, --id ID               the operation\n"
	"      --force               close an operation in error without running any\n"
	"                            helper: it goes to history as canceled\n";
static const char helper_usage[] = "Usage: mkagent helper PROFILE PHASE -i ID\n"
				   "Run one phase (reencipher, finalize, cancel, recover) of one\n"
				   "profile of an operation by hand.\n";

/* ---- what every command that changes something does first ---- */

/*
 * Refuse in one line, before anything, when this user cannot write the
 * state directory (a group member with read access may list, not step).
 */
static int need_write(const char *cmd, const struct engine *en)
{
	const struct store *st = &en->store;

	/* a missing state directory: making it says why it cannot */
	if (geteuid() == 0 || st->fd < 0)
		return -1;
	/* work/ exists but could not be opened: it is root's */
	if (faccessat(st->fd, ".", W_OK, AT_EACCESS) == 0 &&
	    (st->ops_fd < 0 || faccessat(st->ops_fd, ".", W_OK, AT_EACCESS) == 0) &&
	    (st->work_fd >= 0 || faccessat(st->fd, "work", F_OK, 0) < 0))
		return -1;
	say_error("%s: needs root: %s is not writable by uid %u", cmd, st->dir, (unsigned)geteuid());
	return EXIT_REFUSED;
}

/* I9: from here on a signal ends the helper, and this process keeps the
 * operation's lock until the helper is gone. */
static int catch_interrupts(const char *cmd)
{
	int rc = runner_catch_interrupts();

	if (rc < 0) {
		say_error("%s: cannot catch signals: %s", cmd, strerror(-rc));
		return EXIT_REFUSED;
	}
	return -1;
}

/* ---- loading and locking an operation ---- */

struct held {
	struct op op;
	int lock;
};

static void held_release(struct held *h)
{
	op_free(&h->op);
	if (h->lock >= 0)
		close(h->lock);
	h->lock = -1;
}

/* Load @id under its lock; refuse a terminal or busy operation. */
static int hold_op(const char *cmd, struct engine *en, const char *id, struct held *h)
{
	struct errmsg e;
	bool archived = false;
	int rc;

	h->lock = -1;
	rc = store_load(&en->store, id, &h->op, &archived, &e);
	if (rc < 0) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	if (archived || op_state_terminal(h->op.state)) {
		say_error("%s: operation %s is %s", cmd, id, op_state_name(h->op.state));
		op_free(&h->op);
		return EXIT_REFUSED;
	}
	op_free(&h->op);
	h->lock = store_lock_op(&en->store, id);
	if (h->lock < 0) {
		say_error("%s: operation %s is busy: %s", cmd, id,
			  h->lock == -EBUSY ? "a phase is running" : strerror(-h->lock));
		return EXIT_REFUSED;
	}
	/* what another process did before we got the lock counts */
	rc = store_load(&en->store, id, &h->op, &archived, &e);
	if (rc < 0 || archived) {
		say_error("%s: %s", cmd, rc < 0 ? e.text : "the operation was just archived");
		close(h->lock);
		h->lock = -1;
		if (rc == 0)
			op_free(&h->op);
		return EXIT_REFUSED;
	}
	return -1;
}

static bool needs_sym(const struct op *op)
{
	return op->has_new[MK_CCA_SYM];
}

static int read_view(const char *cmd, struct engine *en, const struct op *op, struct view *v)
{
	struct errmsg e;

	if (en->seen && view_merge(en->seen, &(struct view){ 0 }, &op->apqns, v) == 0)
		return -1;
	if (view_read(v, &op->apqns, needs_sym(op) ? en->cfg.query_helper : NULL, &e) < 0) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	return -1;
}

/*
 * Enter @during (unless there already), run @ph of every profile, and on
 * success move on to @after. Returns the exit status.
 */
static int run_step(const char *cmd, struct engine *en, struct op *op, enum phase ph,
		    enum op_state during, enum op_state after, const char *doing)
{
	struct errmsg e;

	if (op->state != during)
		engine_mark_first_running(op, ph); /* written with the new state: one write less */
	if (op->state != during && engine_transition(en, op, during, NULL, &e) < 0) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	printf("%s, please wait...\n", doing);
	fflush(stdout);
	switch (engine_run_phase(en, op, ph, NULL, &e)) {
	case PHASE_RETRY:
		say_error("%s: operation %s stays %s: %s; run it again later", cmd, op->id,
			  op_state_name(during), e.text);
		return EXIT_REFUSED;
	case PHASE_FAILED:
	case PHASE_INTERRUPTED:
		say_error("%s: operation %s: %s", cmd, op->id, e.text);
		return EXIT_REFUSED;
	case PHASE_ALL_DONE:
		break;
	}
	if (engine_transition(en, op, after, NULL, &e) < 0) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

/* ---- the steps ---- */

static int step_reencipher(const char *cmd, struct engine *en, struct op *op)
{
	_cleanup_(view_free) struct view v = { 0 };
	struct errmsg e;
	int rc;

	/* an error while re-enciphering may be taken up again */
	if (op->state != OP_PLANNED && op->state != OP_REENCIPHERING &&
	    !(op->state == OP_ERROR && !op_phase_done(op, PHASE_REENCIPHER))) {
		say_error("%s: operation %s is %s; there is nothing to re-encipher", cmd, op->id,
			  op_state_name(op->state));
		return EXIT_REFUSED;
	}
	rc = read_view(cmd, en, op, &v);
	if (rc >= 0)
		return rc;
	if (guard_reencipher(op, &v, &e) < 0) {
		say_error("%s: operation %s: %s", cmd, op->id, e.text);
		return EXIT_REFUSED;
	}
	if (engine_check_phase(en, op, PHASE_REENCIPHER, NULL, &e) < 0) {
		say_error("%s: operation %s: %s", cmd, op->id, e.text);
		return EXIT_REFUSED;
	}
	rc = run_step(cmd, en, op, PHASE_REENCIPHER, OP_REENCIPHERING, OP_REENCIPHERED,
		      "Re-enciphering");
	if (rc != EXIT_OK)
		return rc;
	printf("Completed. Every consumer is re-enciphered; the new master keys can now be activated.\n");
	printf(op->auto_finalize ?
		       "The agent finalizes operation '%s' once they are active (or run 'mkagent finalize -i %s').\n" :
		       "Run 'mkagent finalize -i %s' when the new master keys have been activated.\n",
	       op->id, op->id);
	return EXIT_OK;
}

static int step_finalize(const char *cmd, struct engine *en, struct op *op)
{
	_cleanup_(view_free) struct view v = { 0 };
	struct errmsg e;
	int rc;

	if (op->state != OP_REENCIPHERED && op->state != OP_FINALIZING &&
	    !(op->state == OP_ERROR && op_phase_done(op, PHASE_REENCIPHER))) {
		say_error("%s: operation %s is %s; finalize needs it reenciphered", cmd, op->id,
			  op_state_name(op->state));
		return EXIT_REFUSED;
	}
	rc = read_view(cmd, en, op, &v);
	if (rc >= 0)
		return rc;
	if (guard_finalize(op, &v, &e) < 0 || engine_check_phase(en, op, PHASE_FINALIZE, NULL, &e) < 0) {
		say_error("%s: operation %s: %s", cmd, op->id, e.text);
		return EXIT_REFUSED;
	}
	rc = run_step(cmd, en, op, PHASE_FINALIZE, OP_FINALIZING, OP_FINALIZED, "Finalizing");
	if (rc != EXIT_OK)
		return rc;
	printf("Master key change operation '%s' successfully finalized.\n", op->id);
	return EXIT_OK;
}

/* Cancel phases undo what re-enciphering did: they run for the profiles
 * whose reencipher phase started. */
static void skip_untouched_cancels(struct op *op)
{
	for (size_t i = 0; i < op->nprofiles; i++) {
		struct op_profile *p = &op->profiles[i];

		if (p->phase[PHASE_CANCEL] == PS_PENDING &&
		    (p->phase[PHASE_REENCIPHER] == PS_PENDING || p->phase[PHASE_REENCIPHER] == PS_NONE))
			p->phase[PHASE_CANCEL] = PS_DONE;
	}
}

static bool nothing_reenciphered(const struct op *op)
{
	for (size_t i = 0; i < op->nprofiles; i++) {
		enum phase_status s = op->profiles[i].phase[PHASE_REENCIPHER];

		if (s != PS_PENDING && s != PS_NONE)
			return false;
	}
	return true;
}

static int step_cancel(const char *cmd, struct engine *en, struct op *op)
{
	_cleanup_(view_free) struct view v = { 0 };
	struct errmsg e;
	int rc;

	if (op->state == OP_FINALIZING) {
		say_error("%s: operation %s is finalizing; it cannot be canceled", cmd, op->id);
		return EXIT_REFUSED;
	}
	rc = read_view(cmd, en, op, &v);
	if (rc >= 0)
		return rc;
	if (guard_cancel(op, &v, nothing_reenciphered(op), &e) < 0 ||
	    engine_check_phase(en, op, PHASE_CANCEL, NULL, &e) < 0) {
		say_error("%s: operation %s: %s", cmd, op->id, e.text);
		return EXIT_REFUSED;
	}
	skip_untouched_cancels(op);
	rc = run_step(cmd, en, op, PHASE_CANCEL, OP_CANCELING, OP_CANCELED, "Canceling");
	if (rc != EXIT_OK)
		return rc;
	printf("Master key change operation '%s' successfully canceled.\n", op->id);
	return EXIT_OK;
}

/* After a new key went active too early: each profile's recover phase,
 * and a reason that says which consumers could and could not recover. */
static int step_recover(const char *cmd, struct engine *en, struct op *op)
{
	char ok_list[256] = "", bad_list[256] = "";
	struct errmsg e;
	bool any = false;

	if (op->state != OP_ERROR) {
		say_error("%s: operation %s is %s; recover is for operations in error", cmd, op->id,
			  op_state_name(op->state));
		return EXIT_REFUSED;
	}
	if (engine_check_phase(en, op, PHASE_RECOVER, NULL, &e) < 0) {
		say_error("%s: operation %s: %s", cmd, op->id, e.text);
		return EXIT_REFUSED;
	}
	for (size_t i = 0; i < op->nprofiles; i++) {
		struct op_profile *p = &op->profiles[i];
		char *list;

		if (p->phase[PHASE_RECOVER] == PS_NONE || p->phase[PHASE_RECOVER] == PS_DONE)
			continue;
		any = true;
		switch (engine_run_phase(en, op, PHASE_RECOVER, p->name, &e)) {
		case PHASE_INTERRUPTED: /* pending again: the reason is not rewritten */
			say_error("%s: operation %s: %s", cmd, op->id, e.text);
			return EXIT_REFUSED;
		case PHASE_ALL_DONE:
			list = ok_list;
			break;
		default:
			list = bad_list;
		}
		snprintf(list + strlen(list), 256 - strlen(list), " %s", p->name);
	}
	if (!any)
		return EXIT_OK;
	op_set_reason(op, "activated-early, recovered:%s, not recovered:%s", ok_list[0] ? ok_list : " none",
		      bad_list[0] ? bad_list : " none");
	op->updated = time(NULL);
	store_write(&en->store, op, &e);
	store_audit(&en->store, op->id, "error", "error", op->reason);
	printf("Operation '%s': %s\n", op->id, op->reason);
	return bad_list[0] ? EXIT_REFUSED : EXIT_OK;
}

int op_step(const char *who, struct engine *en, const char *id, enum phase ph)
{
	static int (*const steps[PHASE_COUNT])(const char *, struct engine *, struct op *) = {
		[PHASE_REENCIPHER] = step_reencipher,
		[PHASE_FINALIZE] = step_finalize,
		[PHASE_CANCEL] = step_cancel,
		[PHASE_RECOVER] = step_recover,
	};
	struct held h;
	int rc = hold_op(who, en, id, &h);

	if (rc >= 0)
		return rc;
	rc = steps[ph](who, en, &h.op);
	held_release(&h);
	return rc;
}

/* ---- plan ---- */

static void warn_uncovered(const struct op *op, const struct engine *en)
{
	char names[64] = "";
	size_t len = 0;

	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		bool covered = false;

		if (!op->has_new[t])
			continue;
		for (size_t i = 0; i < op->nprofiles; i++) {
			const struct profile *p = profiles_find(&en->profiles, op->profiles[i].name);

			covered |= p && p->types[t];
		}
		if (!covered)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						len ? ", " : "", mk_type_name(t));
	}
	if (len)
		say_warn("no profile covers %s: no consumer's keys of %s are re-enciphered",
			 names, strchr(names, ',') ? "these types" : "this type");
}

static int choose_profiles(const char *cmd, struct engine *en, const char *names, struct op *op)
{
	for (size_t i = 0; i < en->profiles.n; i++) {
		const struct profile *p = &en->profiles.v[i];
		bool has[PHASE_COUNT];

		if (names) {
			char list[1024], *save = NULL;
			bool named = false;

			snprintf(list, sizeof(list), "%s", names);
			for (char *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save))
				named |= streq(w, p->name);
			if (!named)
				continue;
		} else if (!profile_covers(p, op)) {
			continue;
		}
		for (int ph = 0; ph < PHASE_COUNT; ph++)
			has[ph] = p->phase[ph].present;
		if (op_add_profile(op, p->name, has) < 0) {
			say_error("%s: out of memory", cmd);
			return EXIT_REFUSED;
		}
	}
	if (names) {
		char list[1024], *save = NULL;

		snprintf(list, sizeof(list), "%s", names);
		for (char *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			if (!profile_name_valid(w)) {
				say_error("%s: --profiles: '%s' is not a profile name", cmd, w);
				return EXIT_USAGE;
			}
			if (!profiles_find(&en->profiles, w)) {
				say_error("%s: profile %s does not exist", cmd, w);
				return EXIT_REFUSED;
			}
		}
	}
	return -1;
}

/* I10: a type whose registers nothing can read would wait forever. */
static int check_readable_types(const char *cmd, const struct engine *en, const char *config,
				const struct op_args *a)
{
	if (a->has[MK_CCA_SYM] && !*en->cfg.query_helper) {
		say_error("%s: -s/--cca-sym-mkvp needs [registers] query-helper in %s: sysfs does "
			  "not show the CCA SYM registers", cmd, config);
		return EXIT_REFUSED;
	}
	return -1;
}

/* I10: what a usable APQN shows of @t: the registers, and not the new
 * pattern in CUR already. */
static int check_registers(const char *cmd, const struct apqn_view *a, const struct op *op,
			   enum mk_type t)
{
	const struct mk_register *cur = &a->regs.reg[t][REG_CUR];
	char n[APQN_STR_MAX], hex[MKVP_STR_MAX];

	apqn_format(a->apqn, n);
	if (!a->regs.has[t]) {
		say_error("%s: APQN %s: the %s registers cannot be read (%s): the agent could never "
			  "see the new key loaded", cmd, n, mk_type_name(t),
			  a->read_error[0] ? a->read_error :
			  t == MK_CCA_ASYM ? "no ASYM lines in mkvps; kernels before 5.19 show none" :
					     "not in mkvps");
		return EXIT_REFUSED;
	}
	if (reg_state_has_mkvp(cur->state) && mkvp_matches(&cur->mkvp, &op->new_mkvp[t])) {
		say_error("%s: APQN %s: %s CUR already holds %s: an operation to it could never be "
			  "finalized nor canceled", cmd, n, mk_type_name(t),
			  mkvp_format(&op->new_mkvp[t], hex));
		return EXIT_REFUSED;
	}
	return -1;
}

/* Each APQN exists, has the registers of every type; record old patterns. */
static int check_apqns(const char *cmd, const struct view *v, struct op *op)
{
	char n[APQN_STR_MAX];

	for (size_t i = 0; i < v->n; i++) {
		const struct apqn_view *a = &v->v[i];

		apqn_format(a->apqn, n);
		if (!a->present) {
			say_error("%s: APQN %s is not on the AP bus", cmd, n);
			return EXIT_REFUSED;
		}
		for (int t = 0; t < MK_TYPE_COUNT; t++) {
			if (op->has_new[t] && !mode_has_type(a->mode, t)) {
				say_error("%s: APQN %s is %s queue: %s needs %s queues", cmd, n,
					  a->mode == AP_MODE_EP11 ? "an EP11" :
					  a->mode == AP_MODE_CCA  ? "a CCA" :
					  a->mode == AP_MODE_ACCEL ? "an accelerator" : "an unknown",
					  mk_type_name(t), t == MK_EP11 ? "EP11 (CEXnP)" : "CCA (CEXnC)");
				return EXIT_REFUSED;
			}
		}
		if (a->online != 1 || a->config == 0 || a->chkstop == 1)
			say_warn("APQN %s is %s: the agent waits for it", n,
				 a->config == 0 ? "deconfigured" : a->chkstop == 1 ? "check-stopped" : "offline");
		for (int t = 0; t < MK_TYPE_COUNT && (a->regs_read || a->read_error[0]); t++) {
			int rc = op->has_new[t] ? check_registers(cmd, a, op, t) : -1;

			if (rc >= 0)
				return rc;
		}
	}
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
			say_warn("the APQNs' current %s patterns differ; none is kept as the old pattern",
				 mk_type_name(t));
		else if (have) {
			op->has_old[t] = true;
			op->old_mkvp[t] = old;
		}
	}
	return -1;
}

static void warn_unreadable(void *ctx, const char *sub, const char *why)
{
	(void)sub;
	say_warn("%s: %s (not checked for overlap)", (const char *)ctx, why);
}

/* Refuse when a live operation shares an (APQN, MK type) pair (I4). */
static int check_overlap(const char *cmd, struct engine *en, const struct op *op)
{
	struct op_list ops = { 0 };
	struct apqn a;
	enum mk_type t;
	char n[APQN_STR_MAX];

	if (store_list(&en->store, STORE_LIVE, &ops, warn_unreadable, (void *)cmd) < 0) {
		say_error("%s: cannot list the operations in %s", cmd, en->store.dir);
		return EXIT_REFUSED;
	}
	for (size_t i = 0; i < ops.n; i++) {
		if (op_state_terminal(ops.v[i].state) || !op_overlaps(op, &ops.v[i], &a, &t))
			continue;
		say_error("%s: APQN %s %s is already part of operation %s (%s)", cmd,
			  apqn_format(a, n), mk_type_name(t), ops.v[i].id,
			  op_state_name(ops.v[i].state));
		op_list_free(&ops);
		return EXIT_REFUSED;
	}
	op_list_free(&ops);
	return -1;
}

static int create_op(const char *cmd, const struct cli *cli, struct op_args *a, bool now)
{
	_cleanup_(engine_close) struct engine en = ENGINE_INIT;
	_cleanup_(view_free) struct view v = { 0 };
	_cleanup_(op_free) struct op op = { 0 };
	_cleanup_close_ int lock = -1;
	struct errmsg e;
	int rc;

	if (!(a->given & ARG_APQNS)) {
		say_error("%s: -a/--apqns is required", cmd);
		return EXIT_USAGE;
	}
	if (!op_args_any_pattern(a)) {
		say_error("%s: give at least one pattern (-A, -p, -S, -s or -e)", cmd);
		return EXIT_USAGE;
	}
	if (engine_open(&en, &cli->paths, false, &e) < 0) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	rc = need_write(cmd, &en);
	if (rc < 0 && now)
		rc = catch_interrupts(cmd);
	if (rc >= 0)
		return rc;
	rc = check_readable_types(cmd, &en, cli->paths.config, a);
	if (rc >= 0)
		return rc;
	memcpy(op.has_new, a->has, sizeof(op.has_new));
	memcpy(op.new_mkvp, a->mkvp, sizeof(op.new_mkvp));
	op.auto_finalize = en.cfg.auto_finalize && !a->no_auto_finalize;
	op.apqns = a->apqns;
	a->apqns = (struct apqn_list){ 0 };
	apqn_list_sort(&op.apqns);
	rc = choose_profiles(cmd, &en, a->profiles, &op);
	if (rc >= 0)
		return rc;
	rc = read_view(cmd, &en, &op, &v);
	if (rc >= 0)
		return rc;
	rc = check_apqns(cmd, &v, &op);
	if (rc >= 0)
		return rc;
	if (now && (guard_reencipher(&op, &v, &e) < 0 ||
		    engine_check_phase(&en, &op, PHASE_REENCIPHER, NULL, &e) < 0)) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	/* every check passed: now the state directory, or what it lacks, may
	 * be made (systemd's StateDirectory= makes it empty) */
	if (!store_complete(&en.store)) {
		store_close(&en.store);
		if (store_open(&en.store, cli->paths.state_dir, true, &e) < 0) {
			say_error("%s: %s", cmd, e.text);
			return EXIT_REFUSED;
		}
	}
	while ((rc = store_lock_create(&en.store)) == -EINTR && !runner_interrupted())
		;
	if (rc < 0) {
		say_error("%s: cannot lock %s: %s", cmd, en.store.dir, strerror(-rc));
		return EXIT_REFUSED;
	}
	rc = check_overlap(cmd, &en, &op);
	if (rc >= 0)
		return rc;
	if (store_new_id(&en.store, op.id) < 0) {
		say_error("%s: cannot find a free operation ID", cmd);
		return EXIT_REFUSED;
	}
	op.state = OP_PLANNED;
	op.created = op.updated = time(NULL);
	lock = store_lock_op(&en.store, op.id);
	if (lock < 0 || store_write(&en.store, &op, &e) < 0) {
		say_error("%s: %s", cmd, lock < 0 ? strerror(-lock) : e.text);
		return EXIT_REFUSED;
	}
	store_audit(&en.store, op.id, NULL, op_state_name(OP_PLANNED), NULL);
	flock(en.store.ops_fd, LOCK_UN);
	warn_uncovered(&op, &en);
	printf("Master key change operation '%s' created.\n", op.id);
	if (now)
		return step_reencipher(cmd, &en, &op);
	engine_notify(&en, &op, "planned",
		      "A master key change is planned: load the new master keys on its APQNs.");
	printf("The agent re-enciphers every consumer once the new master keys are loaded\n"
	       "on every APQN (or run 'mkagent reencipher -i %s').\n", op.id);
	return EXIT_OK;
}

int cmd_plan(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	int rc = op_args_parse("plan", plan_usage, ARG_APQNS | ARG_PATTERNS | ARG_PROFILES | ARG_NO_AUTO,
			       argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	if (a.nrest) {
		say_error("plan: unexpected argument '%s'", a.rest[0]);
		return EXIT_USAGE;
	}
	return create_op("plan", cli, &a, false);
}

typedef int step_fn(const char *, struct engine *, struct op *);

/* finalize, cancel and reencipher -i: load, lock, step. */
static int step_by_id(const char *cmd, const struct cli *cli, const char *id, step_fn *step)
{
	_cleanup_(engine_close) struct engine en = ENGINE_INIT;
	struct held h;
	struct errmsg e;
	int rc;

	if (engine_open(&en, &cli->paths, false, &e) < 0) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	rc = need_write(cmd, &en);
	if (rc < 0)
		rc = catch_interrupts(cmd);
	if (rc < 0)
		rc = hold_op(cmd, &en, id, &h);
	if (rc >= 0)
		return rc;
	rc = step(cmd, &en, &h.op);
	held_release(&h);
	return rc;
}

/* finalize and cancel: -i ID, and --force where there is a @forced step */
static int id_only(const char *cmd, const char *usage, const struct cli *cli, int argc, char **argv,
		   step_fn *step, step_fn *forced)
{
	_cleanup_(op_args_free) struct op_args a;
	int rc = op_args_parse(cmd, usage, ARG_ID | (forced ? ARG_FORCE : 0), argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	if (a.nrest) {
		say_error("%s: unexpected argument '%s'", cmd, a.rest[0]);
		return EXIT_USAGE;
	}
	if (!(a.given & ARG_ID)) {
		say_error("%s: -i/--id is required", cmd);
		return EXIT_USAGE;
	}
	return step_by_id(cmd, cli, a.id, a.force ? forced : step);
}

int cmd_reencipher(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	int rc = op_args_parse("reencipher", reencipher_usage, ARG_APQNS | ARG_PATTERNS | ARG_ID,
			       argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	if (a.nrest) {
		say_error("reencipher: unexpected argument '%s'", a.rest[0]);
		return EXIT_USAGE;
	}
	if (a.given & ARG_ID) {
		if (a.given & (ARG_APQNS | ARG_PATTERNS)) {
			say_error("reencipher: -i/--id does not go with -a/--apqns or patterns");
			return EXIT_USAGE;
		}
		return step_by_id("reencipher", cli, a.id, step_reencipher);
	}
	return create_op("reencipher", cli, &a, true);
}

int cmd_finalize(const struct cli *cli, int argc, char **argv)
{
	return id_only("finalize", finalize_usage, cli, argc, argv, step_finalize, NULL);
}

/* I11: only an operation in error, and no helper runs. */
static int step_force_cancel(const char *cmd, struct engine *en, struct op *op)
{
	struct errmsg e;

	if (op->state != OP_ERROR) {
		say_error("%s: --force is only for an operation in error; operation %s is %s", cmd,
			  op->id, op_state_name(op->state));
		return EXIT_REFUSED;
	}
	if (engine_force_cancel(en, op, &e) < 0) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	printf("Master key change operation '%s' canceled by force; no helper ran. Its reason was: %s\n",
	       op->id, op->reason);
	return EXIT_OK;
}

int cmd_cancel(const struct cli *cli, int argc, char **argv)
{
	return id_only("cancel", cancel_usage, cli, argc, argv, step_cancel, step_force_cancel);
}

/* ---- helper: one phase of one profile ---- */

/* The check of @ph's own command, then @ph of @profile alone. */
static int helper_step(const char *cmd, struct engine *en, struct op *op, const char *profile,
		       enum phase ph)
{
	_cleanup_(view_free) struct view v = { 0 };
	struct op_profile *opp = op_find_profile(op, profile);
	struct errmsg e;
	int rc;

	if (!opp || opp->phase[ph] == PS_NONE) {
		say_error("%s: operation %s has %s", cmd, op->id,
			  opp ? "no such phase for this profile" : "no such profile");
		return EXIT_REFUSED;
	}
	rc = read_view(cmd, en, op, &v);
	if (rc >= 0)
		return rc;
	rc = 0;
	if (ph == PHASE_REENCIPHER)
		rc = guard_reencipher(op, &v, &e);
	else if (ph == PHASE_FINALIZE)
		rc = guard_finalize(op, &v, &e);
	else if (ph == PHASE_CANCEL)
		rc = guard_cancel(op, &v, nothing_reenciphered(op), &e);
	if (rc == 0)
		rc = engine_check_phase(en, op, ph, profile, &e);
	if (rc < 0) {
		say_error("%s: operation %s: %s", cmd, op->id, e.text);
		return EXIT_REFUSED;
	}
	opp->phase[ph] = PS_PENDING; /* run again by hand even when done: helpers are idempotent */
	if (engine_run_phase(en, op, ph, profile, &e) != PHASE_ALL_DONE) {
		say_error("%s: operation %s: %s", cmd, op->id, e.text);
		return EXIT_REFUSED;
	}
	printf("Profile %s: %s done for operation '%s'.\n", profile, phase_name(ph), op->id);
	return EXIT_OK;
}

int cmd_helper(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	_cleanup_(engine_close) struct engine en = ENGINE_INIT;
	const char *profile, *cmd = "helper";
	struct errmsg e;
	struct held h;
	int ph, rc = op_args_parse(cmd, helper_usage, ARG_ID, argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	if (a.nrest != 2 || !(a.given & ARG_ID)) {
		say_error("helper: give PROFILE, PHASE and -i ID (see mkagent helper --help)");
		return EXIT_USAGE;
	}
	profile = a.rest[0];
	ph = phase_from_name(a.rest[1]);
	if (!profile_name_valid(profile) || ph < 0) {
		if (ph < 0)
			say_error("helper: '%s' is not a phase (reencipher, finalize, cancel, recover)",
				  a.rest[1]);
		else
			say_error("helper: '%s' is not a profile name", profile);
		return EXIT_USAGE;
	}
	if (engine_open(&en, &cli->paths, false, &e) < 0) {
		say_error("%s: %s", cmd, e.text);
		return EXIT_REFUSED;
	}
	rc = need_write(cmd, &en);
	if (rc < 0)
		rc = catch_interrupts(cmd);
	if (rc < 0)
		rc = hold_op(cmd, &en, a.id, &h);
	if (rc >= 0)
		return rc;
	rc = helper_step(cmd, &en, &h.op, profile, ph);
	held_release(&h);
	return rc;
}
