// SPDX-License-Identifier: MIT
/*
 * engine.c - what every step shares (engine.h): opening the
 * configuration, profiles and store, transitions, the helper environment,
 * and running one phase of the profiles through their helpers.
 */
#include <unistd.h>
#include <errno.h>
#include <stdarg.h>

#include "step/engine.h"
#include "core/guard.h"
#include "io/log.h"
#include "core/macro.h"
#include "io/pin.h"
#include "io/registers.h"
#include "io/runner.h"

#define EXIT_TRY_LATER 75
#define NOTIFY_TIMEOUT 30

int engine_open(struct engine *en, const struct mk_paths *where, bool create, struct errmsg *e)
{
	int rc;

	memset(en, 0, sizeof(*en));
	en->store = (struct store){ .fd = -1, .ops_fd = -1, .hist_fd = -1, .work_fd = -1 };
	config_defaults(&en->cfg);
	rc = config_load(&en->cfg, where->config, where->config_given, e);
	if (rc < 0)
		return rc;
	rc = profiles_load(&en->profiles, where->profiles, e);
	if (rc < 0)
		return rc;
	rc = store_open(&en->store, where->state_dir, create, e);
	if (rc == -ENOENT && !create)
		rc = 0; /* nothing planned yet: made when something is written */
	if (rc < 0) {
		profiles_free(&en->profiles);
		return rc;
	}
	en->tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	en->echo = true;
	return 0;
}

void engine_close(struct engine *en)
{
	profiles_free(&en->profiles);
	store_close(&en->store);
}

/* ---- helper environment (DESIGN §5), and nothing else ---- */

struct env {
	char **v;
	size_t n;
};

static void env_add(struct env *env, const char *fmt, ...) _printf_(2, 3);

static void env_add(struct env *env, const char *fmt, ...)
{
	char **v = realloc(env->v, (env->n + 2) * sizeof(*v));
	va_list ap;

	if (!v)
		return;
	env->v = v;
	va_start(ap, fmt);
	if (vasprintf(&v[env->n], fmt, ap) >= 0)
		env->n++;
	va_end(ap);
	v[env->n] = NULL;
}

static void env_upper_type(enum mk_type t, char *buf, size_t size)
{
	size_t i;

	for (i = 0; mk_type_name(t)[i] && i + 1 < size; i++) {
		char c = mk_type_name(t)[i];

		buf[i] = c == '-' ? '_' : (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	buf[i] = '\0';
}

static struct env helper_env(const struct op *op, const char *profile, const char *phase,
			     const char *workdir)
{
	struct env env = { 0 };
	char apqns[APQN_STR_MAX * 256 + 1] = "", types[64] = "", name[APQN_STR_MAX];
	char hex[MKVP_STR_MAX], up[16];
	size_t len = 0;

	for (size_t i = 0; i < op->apqns.n && len + APQN_STR_MAX < sizeof(apqns); i++)
		len += (size_t)snprintf(apqns + len, sizeof(apqns) - len, "%s%s", i ? "," : "",
					apqn_format(op->apqns.v[i], name));
	len = 0;
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (op->has_new[t])
			len += (size_t)snprintf(types + len, sizeof(types) - len, "%s%s",
						len ? " " : "", mk_type_name(t));
	/* PATH and LANG come first, from the runner, as for every helper */
	env_add(&env, "MKAGENT_OP_ID=%s", op->id);
	env_add(&env, "MKAGENT_PHASE=%s", phase);
	env_add(&env, "MKAGENT_PROFILE=%s", profile);
	env_add(&env, "MKAGENT_APQNS=%s", apqns);
	env_add(&env, "MKAGENT_MK_TYPES=%s", types);
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		env_upper_type(t, up, sizeof(up));
		if (op->has_new[t])
			env_add(&env, "MKAGENT_NEW_MKVP_%s=%s", up, mkvp_format(&op->new_mkvp[t], hex));
		if (op->has_old[t])
			env_add(&env, "MKAGENT_OLD_MKVP_%s=%s", up, mkvp_format(&op->old_mkvp[t], hex));
	}
	if (workdir)
		env_add(&env, "MKAGENT_WORK_DIR=%s", workdir);
	return env;
}

static void env_free(struct env *env)
{
	for (size_t i = 0; i < env->n; i++)
		free(env->v[i]);
	free(env->v);
}

/* ---- transitions ---- */

/* Write @op in state @to (history/ when terminal) and its audit line;
 * @audit: the audit log's reason when it says more than the operation's. */
static int record(struct engine *en, struct op *op, enum op_state to, const char *reason,
		  const char *audit, struct errmsg *e)
{
	enum op_state from = op->state;
	int rc;

	op->state = to;
	op->updated = time(NULL);
	/* a reason says why the operation is where it is; leaving clears it */
	op_set_reason(op, "%s", reason ? reason : "");
	rc = op_state_terminal(to) ? store_archive(&en->store, op, e) : store_write(&en->store, op, e);
	if (rc < 0) {
		op->state = from;
		return rc;
	}
	store_audit(&en->store, op->id, op_state_name(from), op_state_name(to), audit ?: op->reason);
	log_info("operation %s: %s -> %s", op->id, op_state_name(from), op_state_name(to));
	return 0;
}

static int transition(struct engine *en, struct op *op, enum op_state to, const char *reason,
		      const char *audit, const char *error_event, struct errmsg *e)
{
	int rc = record(en, op, to, reason, audit, e);

	if (rc < 0)
		return rc;
	switch (to) {
	case OP_REENCIPHERED:
		engine_notify(en, op, "reenciphered",
			      "All consumers re-enciphered: the new master keys can now be activated.");
		break;
	case OP_FINALIZED:
		engine_notify(en, op, "finalized", "The master key change is finalized.");
		break;
	case OP_CANCELED:
		engine_notify(en, op, "canceled", "The master key change is canceled.");
		break;
	case OP_ERROR:
		engine_notify(en, op, error_event, op->reason);
		break;
	default:
		break;
	}
	return 0;
}

int engine_transition(struct engine *en, struct op *op, enum op_state to, const char *reason,
		      struct errmsg *e)
{
	return transition(en, op, to, reason, NULL, "error", e);
}

int engine_fail(struct engine *en, struct op *op, const char *event, const char *reason,
		struct errmsg *e)
{
	return transition(en, op, OP_ERROR, reason, NULL, event, e);
}

int engine_force_cancel(struct engine *en, struct op *op, struct errmsg *e)
{
	_cleanup_free_ char *reason = strdup(op->reason);
	char audit[sizeof(op->reason) + 64];

	if (!reason)
		return errmsg_set(e, -ENOMEM, "out of memory");
	snprintf(audit, sizeof(audit), "forced by uid %u: %s", (unsigned)getuid(), reason);
	return record(en, op, OP_CANCELED, reason, audit, e); /* I11: no helper, not even notify */
}

/* ---- phases ---- */

int engine_check_phase(struct engine *en, const struct op *op, enum phase ph,
		       const char *only_profile, struct errmsg *e)
{
	for (size_t i = 0; i < op->nprofiles; i++) {
		const struct op_profile *opp = &op->profiles[i];
		const struct profile *p = profiles_find(&en->profiles, opp->name);
		struct helper h;
		int rc;

		if (only_profile && !streq(opp->name, only_profile))
			continue;
		if (!p)
			return errmsg_set(e, -ENOENT, "profile %s of operation %s does not exist",
					  opp->name, op->id);
		if (opp->phase[ph] == PS_NONE || opp->phase[ph] == PS_DONE || !p->phase[ph].present)
			continue;
		rc = helper_open(p->phase[ph].exec, NULL, &h, e);
		helper_close(&h);
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct line_ctx {
	const char *op, *profile, *phase;
	bool echo;
};

static void helper_line(void *ctx, int fd, const char *line)
{
	struct line_ctx *l = ctx;
	enum log_level lvl = fd == 2 ? LOG_LVL_WARN : LOG_LVL_INFO;

	log_msg(lvl, "operation %s: %s %s: %s", l->op, l->profile, l->phase, line);
	/* a person sees the progress, once */
	if (l->echo && log_get_level() < lvl) {
		printf("  %s: %s\n", l->profile, line);
		fflush(stdout);
	}
}

static int run_one(struct engine *en, struct op *op, const struct profile *p, enum phase ph,
		   struct run_outcome *o, struct errmsg *e)
{
	_cleanup_free_ char *workdir = NULL;
	struct pin_source pins = { .tty = en->tty, .op_id = op->id };
	struct line_ctx lc = { op->id, p->name, phase_name(ph), en->echo };
	struct env env;
	struct helper h;
	int rc;

	if (en->cfg.pin_helper_set || access(en->cfg.pin_helper, X_OK) == 0)
		pins.helper = en->cfg.pin_helper; /* "/path [args]"; the default has none */
	rc = store_work_dir(&en->store, op->id, p->name, &workdir);
	if (rc < 0)
		return errmsg_set(e, rc, "cannot make the work directory of %s: %s", p->name,
				  strerror(-rc));
	rc = helper_open(p->phase[ph].exec, NULL, &h, e);
	if (rc < 0)
		return rc;
	env = helper_env(op, p->name, phase_name(ph), workdir);
	struct run_spec spec = {
		.exec_fd = h.fd,
		.argv = h.argv,
		.envp = env.v,
		.workdir = workdir,
		.timeout_s = p->phase[ph].timeout,
		.pin_channel = p->pin,
		.get_pin = pin_get,
		.pin_ctx = &pins,
		.line = helper_line,
		.line_ctx = &lc,
	};
	log_info("operation %s: running %s %s: %s", op->id, p->name, phase_name(ph),
		 p->phase[ph].exec);
	rc = runner_run(&spec, o, e);
	if (rc == 0)
		log_info("operation %s: %s %s ended (%s %d) after %.1f ms", op->id, p->name,
			 phase_name(ph), o->exit_code >= 0 ? "exit" : "signal",
			 o->exit_code >= 0 ? o->exit_code : o->signal, (double)o->elapsed_us / 1000);
	env_free(&env);
	helper_close(&h);
	return rc;
}

/* A status the file already holds is not written again. A write that
 * fails is -EIO (the store's line in @e), whatever errno it had: the
 * callers of engine_run_phase() read -EAGAIN as a helper's "later" and
 * -EINTR as an interruption. */
static int set_status(struct engine *en, struct op *op, struct op_profile *opp, enum phase ph,
		      enum phase_status s, struct errmsg *e)
{
	if (opp->phase[ph] == s)
		return 0;
	opp->phase[ph] = s;
	op->updated = time(NULL);
	return store_write(&en->store, op, e) < 0 ? -EIO : 0;
}

const char *engine_query_helper(const struct engine *en, const struct op *op)
{
	return op_needs_query(op) && *en->cfg.query_helper ? en->cfg.query_helper : NULL;
}

/* Whether a failed reencipher of @op may be I5's doing: the operation had
 * not reached reenciphered, and a new pattern is in some CUR (@where). */
static bool activated_meanwhile(struct engine *en, const struct op *op, struct apqn *where)
{
	_cleanup_(view_free) struct view v = { 0 };
	struct errmsg e;

	if (op->state != OP_PLANNED && op->state != OP_REENCIPHERING)
		return false;
	if (view_read(&v, &op->apqns, engine_query_helper(en, op), &e) < 0) {
		log_warn("operation %s: cannot read the registers to look for an early activation: %s",
			 op->id, e.text);
		return false;
	}
	return guard_activated(op, &v, where);
}

/*
 * A profile's @ph failed (@reason): the operation goes to error, in one
 * write. A failed reencipher may be the officer's doing (I5): the new key
 * went active meanwhile and took the NEW register the helper needed. The
 * registers tell; then the reason is activated-early, notified as such,
 * and the audit line keeps the helper's words. A failed recover of an
 * operation in error: its status is written, and recover's caller says
 * the reason once every profile had its turn.
 */
static int phase_failed(struct engine *en, struct op *op, enum phase ph, const char *reason,
			struct errmsg *e)
{
	char n[APQN_STR_MAX], audit[640];
	struct errmsg unwritten;
	struct apqn where;

	if (ph == PHASE_RECOVER && op->state == OP_ERROR) {
		op->updated = time(NULL);
		if (store_write(&en->store, op, e) < 0)
			return -EIO;
		store_audit(&en->store, op->id, "error", "error", reason);
		return errmsg_set(e, -EIO, "%s", reason);
	}
	if (ph != PHASE_REENCIPHER || !activated_meanwhile(en, op, &where)) {
		engine_transition(en, op, OP_ERROR, reason, NULL);
		return errmsg_set(e, -EIO, "%s", op->reason);
	}
	apqn_format(where, n);
	log_warn("operation %s: APQN %s has a new master key active before every consumer re-enciphered",
		 op->id, n);
	snprintf(audit, sizeof(audit), "activated-early: %s", reason);
	transition(en, op, OP_ERROR, "activated-early", audit, "activated-early", &unwritten);
	return errmsg_set(e, -EIO,
			  "APQN %s has a new master key active before every consumer re-enciphered (%s)",
			  n, reason);
}

static bool phase_runs(const struct op_profile *opp, enum phase ph, const char *only_profile)
{
	if (only_profile && !streq(opp->name, only_profile))
		return false;
	return opp->phase[ph] != PS_NONE && opp->phase[ph] != PS_DONE;
}

void engine_mark_first_running(struct op *op, enum phase ph)
{
	for (size_t i = 0; i < op->nprofiles; i++) {
		if (phase_runs(&op->profiles[i], ph, NULL)) {
			op->profiles[i].phase[ph] = PS_RUNNING;
			return;
		}
	}
}

/* I9: the helper is gone; the phase is to be run again, and the audit
 * log says who stopped it. */
static int interrupted(struct engine *en, struct op *op, struct op_profile *opp, enum phase ph,
		       struct errmsg *e)
{
	const char *state = op_state_name(op->state);
	char why[160];
	int rc;

	snprintf(why, sizeof(why), "profile %s %s interrupted by SIG%s (uid %u)", opp->name,
		 phase_name(ph), sigabbrev_np(runner_interrupted()) ?: "?", (unsigned)getuid());
	rc = set_status(en, op, opp, ph, PS_PENDING, e);
	if (rc < 0)
		return rc;
	store_audit(&en->store, op->id, state, state, why);
	log_warn("operation %s: %s", op->id, why);
	return errmsg_set(e, -EINTR, "%s; the operation stays %s", why, state);
}

int engine_run_phase(struct engine *en, struct op *op, enum phase ph,
				   const char *only_profile, struct errmsg *e)
{
	for (size_t i = 0; i < op->nprofiles; i++) {
		struct op_profile *opp = &op->profiles[i];
		const struct profile *p = profiles_find(&en->profiles, opp->name);
		struct run_outcome o;
		char reason[512];
		int rc;

		if (!phase_runs(opp, ph, only_profile))
			continue;
		if (runner_interrupted())
			return interrupted(en, op, opp, ph, e);
		if (!p || !p->phase[ph].present) {
			snprintf(reason, sizeof(reason), "profile %s %s failed: the profile is gone",
				 opp->name, phase_name(ph));
			goto failed;
		}
		rc = set_status(en, op, opp, ph, PS_RUNNING, e);
		if (rc < 0)
			return rc;
		rc = run_one(en, op, p, ph, &o, e);
		if (rc < 0) {
			snprintf(reason, sizeof(reason), "profile %s %s failed: %.100s", p->name,
				 phase_name(ph), e->text);
			goto failed;
		}
		if (o.exit_code == 0) {
			rc = set_status(en, op, opp, ph, PS_DONE, e);
			if (rc < 0)
				return rc;
			continue;
		}
		if (o.interrupted)
			return interrupted(en, op, opp, ph, e);
		if (o.exit_code == EXIT_TRY_LATER && !o.timed_out) {
			set_status(en, op, opp, ph, PS_PENDING, e);
			return errmsg_set(e, -EAGAIN, "profile %s %s: not possible yet (exit 75)%s%.100s",
					  p->name, phase_name(ph), o.last_stderr[0] ? ": " : "",
					  o.last_stderr);
		}
		if (o.timed_out)
			snprintf(reason, sizeof(reason), "profile %s %s failed: timed out after %d s",
				 p->name, phase_name(ph), p->phase[ph].timeout);
		else if (o.exit_code < 0)
			snprintf(reason, sizeof(reason), "profile %s %s failed: killed by signal %d",
				 p->name, phase_name(ph), o.signal);
		else
			snprintf(reason, sizeof(reason), "profile %s %s failed: %.100s", p->name,
				 phase_name(ph), o.last_stderr[0] ? o.last_stderr : "exit status");
failed:
		opp->phase[ph] = PS_FAILED;
		return phase_failed(en, op, ph, reason, e);
	}
	return 0;
}

static void notify_line(void *ctx, int fd, const char *line)
{
	(void)ctx;
	log_msg(fd == 2 ? LOG_LVL_WARN : LOG_LVL_INFO, "notify helper: %s", line);
}

void engine_notify(struct engine *en, const struct op *op, const char *event, const char *message)
{
	const char *helper = en->cfg.notify_helper;
	struct env env;
	struct errmsg e;
	struct run_outcome o;
	struct helper h;

	if (!*helper)
		return;
	if (en->notify) {
		en->notify(en->notify_ctx, op, event, message);
		return;
	}
	if (helper_open(helper, (const char *const[]){ event, op->id, NULL }, &h, &e) < 0) {
		log_warn("operation %s: not notifying %s: %s", op->id, event, e.text);
		return;
	}
	env = helper_env(op, "", event, NULL);
	env_add(&env, "MKAGENT_MESSAGE=%s", message);
	struct run_spec spec = { .exec_fd = h.fd, .argv = h.argv, .envp = env.v,
				 .timeout_s = NOTIFY_TIMEOUT, .line = notify_line };
	if (runner_run(&spec, &o, &e) < 0 || o.exit_code != 0)
		log_warn("operation %s: the notify helper failed for %s", op->id, event);
	env_free(&env);
	helper_close(&h);
}
