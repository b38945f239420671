// SPDX-License-Identifier: MIT
/*
 * stepcmd.c - the commands that step an operation by hand: reencipher,
 * finalize, cancel and helper. Each reads its arguments, takes the step
 * (step.h: the same checks and the same code as the agent's worker) and
 * says in words how it went; the exit status is made here and nowhere
 * below.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cmd/stepcmd.h"
#include "core/macro.h"
#include "io/log.h"
#include "io/runner.h"

static const char reencipher_usage[] =
	"Usage: mkagent reencipher -a APQNS PATTERNS\n"
	"       mkagent reencipher -i ID\n"
	"Re-encipher every consumer's secure keys under the new master keys now:\n"
	"with -a, plan a change and re-encipher it at once; with -i, a planned one.\n";

static const char finalize_usage[] = "Usage: mkagent finalize -i ID\n"
				     "Finalize a change once every new master key is active.\n";
static const char cancel_usage[] =
	"Usage: mkagent cancel -i ID [--force]\n"
	"Cancel a change before any new master key is active; with --force, close an\n"
	"operation in error without running any helper (it goes to history as canceled).\n";
static const char helper_usage[] = "Usage: mkagent helper PROFILE PHASE -i ID\n"
				   "Run one phase (reencipher, finalize, cancel, recover) of one\n"
				   "profile of an operation by hand.\n";

/* ---- what every command that changes something does first ---- */

int refuse(const char *cmd, const struct errmsg *e)
{
	say_error("%s: %s", cmd, e->text);
	return EXIT_REFUSED;
}

int need_write(const struct engine *en, struct errmsg *e)
{
	const struct store *st = &en->store;

	/* a missing state directory: making it says why it cannot */
	if (geteuid() == 0 || st->fd < 0)
		return 0;
	/* work/ exists but could not be opened: it is root's */
	if (faccessat(st->fd, ".", W_OK, AT_EACCESS) == 0 &&
	    (st->ops_fd < 0 || faccessat(st->ops_fd, ".", W_OK, AT_EACCESS) == 0) &&
	    (st->work_fd >= 0 || faccessat(st->fd, "work", F_OK, 0) < 0))
		return 0;
	return errmsg_set(e, -EACCES, "needs root: %s is not writable by uid %u", st->dir,
			  (unsigned)geteuid());
}

int catch_interrupts(struct errmsg *e)
{
	int rc = runner_catch_interrupts();

	return rc < 0 ? errmsg_set(e, rc, "cannot catch signals: %s", strerror(-rc)) : 0;
}

void say_wait(const struct step *s, enum phase ph)
{
	static const char *const doing[PHASE_COUNT] = {
		[PHASE_REENCIPHER] = "Re-enciphering",
		[PHASE_FINALIZE] = "Finalizing",
		[PHASE_CANCEL] = "Canceling",
	};

	(void)s;
	if (!doing[ph])
		return;
	printf("%s, please wait...\n", doing[ph]);
	fflush(stdout);
}

/* Open the engine, check that this user may change things, and hold
 * operation @id in @s. */
static int hold(const struct cli *cli, const char *id, struct engine *en, struct step *s,
		struct errmsg *e)
{
	int rc = engine_open(en, &cli->paths, false, e);

	if (rc == 0)
		rc = need_write(en, e);
	if (rc == 0)
		rc = catch_interrupts(e);
	if (rc == 0)
		rc = step_hold(s, en, id, e);
	return rc;
}

/* ---- the steps, in words ---- */

static int reencipher_checked(const char *cmd, struct step *s)
{
	const struct op *op = &s->op;
	struct errmsg e;

	if (step_phase(s, PHASE_REENCIPHER, &e) < 0)
		return refuse(cmd, &e);
	printf("Completed. Every consumer is re-enciphered; the new master keys can now be activated.\n");
	printf(op->auto_finalize ?
		       "The agent finalizes operation '%s' once they are active (or run 'mkagent finalize -i %s').\n" :
		       "Run 'mkagent finalize -i %s' when the new master keys have been activated.\n",
	       op->id, op->id);
	return EXIT_OK;
}

int reencipher(const char *cmd, struct step *s)
{
	struct errmsg e;

	if (step_check(s, PHASE_REENCIPHER, NULL, &e) < 0)
		return refuse(cmd, &e);
	return reencipher_checked(cmd, s);
}

/* finalize and cancel: the check, the phase, and the state it left the
 * operation in */
static int finish(const char *cmd, struct step *s, enum phase ph)
{
	struct errmsg e;

	if (step_check(s, ph, NULL, &e) < 0 || step_phase(s, ph, &e) < 0)
		return refuse(cmd, &e);
	printf("Master key change operation '%s' successfully %s.\n", s->op.id,
	       op_state_name(phase_states(ph)->after));
	return EXIT_OK;
}

static int force_cancel(const char *cmd, struct step *s)
{
	struct errmsg e;

	if (step_force_cancel(s, &e) < 0)
		return refuse(cmd, &e);
	printf("Master key change operation '%s' canceled by force; no helper ran. Its reason was: %s\n",
	       s->op.id, s->op.reason);
	return EXIT_OK;
}

/* finalize, cancel and reencipher -i: load, lock, step @ph (with @force:
 * cancel without helpers). */
static int step_by_id(const char *cmd, const struct cli *cli, const char *id, enum phase ph,
		      bool force)
{
	_cleanup_(engine_close) struct engine en = ENGINE_INIT;
	struct step s = { .lock = -1, .started = say_wait };
	struct errmsg e;
	int rc;

	if (hold(cli, id, &en, &s, &e) < 0)
		return refuse(cmd, &e);
	if (force)
		rc = force_cancel(cmd, &s);
	else if (ph == PHASE_REENCIPHER)
		rc = reencipher(cmd, &s);
	else
		rc = finish(cmd, &s, ph);
	step_release(&s);
	return rc;
}

/* The commands that take -i ID alone: the phase each steps, and whether
 * it has --force. */
struct id_cmd {
	const char *name;
	const char *usage;
	enum phase phase;
	unsigned int more; /* ARG_FORCE or 0 */
};

static const struct id_cmd finalize_cmd = { "finalize", finalize_usage, PHASE_FINALIZE, 0 };
static const struct id_cmd cancel_cmd = { "cancel", cancel_usage, PHASE_CANCEL, ARG_FORCE };

static int id_only(const struct id_cmd *c, const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	int rc = op_args_parse(c->name, c->usage, ARG_ID | c->more, 0, argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	if (!(a.given & ARG_ID)) {
		say_error("%s: -i/--id is required", c->name);
		return EXIT_USAGE;
	}
	return step_by_id(c->name, cli, a.id, c->phase, a.force);
}

int cmd_reencipher(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	int rc = op_args_parse("reencipher", reencipher_usage, ARG_APQNS | ARG_PATTERNS | ARG_ID, 0,
			       argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	if (a.given & ARG_ID) {
		if (a.given & (ARG_APQNS | ARG_PATTERNS)) {
			say_error("reencipher: -i/--id does not go with -a/--apqns or patterns");
			return EXIT_USAGE;
		}
		return step_by_id("reencipher", cli, a.id, PHASE_REENCIPHER, false);
	}
	return create_op("reencipher", cli, &a, true);
}

int cmd_finalize(const struct cli *cli, int argc, char **argv)
{
	return id_only(&finalize_cmd, cli, argc, argv);
}

int cmd_cancel(const struct cli *cli, int argc, char **argv)
{
	return id_only(&cancel_cmd, cli, argc, argv);
}

/* ---- helper: one phase of one profile ---- */

int cmd_helper(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	_cleanup_(engine_close) struct engine en = ENGINE_INIT;
	struct step s = STEP_INIT;
	const char *profile, *cmd = "helper";
	struct errmsg e;
	int ph, rc = op_args_parse(cmd, helper_usage, ARG_ID, 2, argc, argv, &a);

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
	if (hold(cli, a.id, &en, &s, &e) < 0)
		return refuse(cmd, &e);
	rc = step_one_profile(&s, ph, profile, &e);
	if (rc == 0)
		printf("Profile %s: %s done for operation '%s'.\n", profile, phase_name(ph), s.op.id);
	step_release(&s);
	return rc < 0 ? refuse(cmd, &e) : EXIT_OK;
}
