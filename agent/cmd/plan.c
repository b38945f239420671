// SPDX-License-Identifier: MIT
/*
 * plan.c - `mkagent plan` (and `reencipher -a`, which plans and steps at
 * once): its arguments made an operation, created (step/create.h) and
 * said in words.
 */
#include <errno.h>

#include "cmd/stepcmd.h"
#include "step/create.h"
#include "core/macro.h"
#include "io/fd.h"
#include "io/log.h"

static const char plan_usage[] =
	"Usage: mkagent plan -a APQNS PATTERNS [--profiles P,...] [--no-auto-finalize]\n"
	"Plan a master key change; the agent runs each step when the registers allow it.\n";

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

/* "-s, -S, -A, -p or -e": the pattern options, from the MK type table. */
static const char *pattern_options(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int t = 0; t < MK_TYPE_COUNT && len < size; t++)
		len += (size_t)snprintf(buf + len, size - len, "%s-%c",
					!t ? "" : t == MK_TYPE_COUNT - 1 ? " or " : ", ",
					mk_type_info(t)->opt);
	return buf;
}

static void warn_line(const char *line)
{
	say_warn("%s", line);
}

/* The operation @a asks for (its APQNs taken over from @a). */
static void op_of_args(struct op *op, struct op_args *a, bool auto_finalize)
{
	memcpy(op->has_new, a->has, sizeof(op->has_new));
	memcpy(op->new_mkvp, a->mkvp, sizeof(op->new_mkvp));
	op->auto_finalize = auto_finalize && !a->no_auto_finalize;
	op->apqns = a->apqns;
	a->apqns = (struct apqn_list){ 0 };
	apqn_list_sort(&op->apqns);
}

int create_op(const char *cmd, const struct cli *cli, struct op_args *a, bool now)
{
	_cleanup_(engine_close) struct engine en = ENGINE_INIT;
	_cleanup_(op_free) struct op op = { 0 };
	_cleanup_close_ int lock = -1;
	struct step s = { .lock = -1, .started = say_wait };
	struct errmsg e;
	char opts[64];
	int rc;

	if (!(a->given & ARG_APQNS)) {
		say_error("%s: -a/--apqns is required", cmd);
		return EXIT_USAGE;
	}
	if (!op_args_any_pattern(a)) {
		say_error("%s: give at least one pattern (%s)", cmd,
			  pattern_options(opts, sizeof(opts)));
		return EXIT_USAGE;
	}
	rc = engine_open(&en, &cli->paths, false, &e);
	if (rc == 0)
		rc = need_write(&en, &e);
	if (rc == 0 && now)
		rc = catch_interrupts(&e);
	if (rc == 0) {
		op_of_args(&op, a, en.cfg.auto_finalize);
		rc = create_check_types(&en, &op, cli->paths.config, &e);
	}
	if (rc == 0)
		rc = create_check_profile_names(&en, a->profiles, &e);
	if (rc == 0)
		rc = create_check(&en, &op, a->profiles, now, warn_line, &e);
	if (rc == 0)
		rc = create_write(&en, &op, cli->paths.state_dir, cmd, warn_line, &lock, &e);
	if (rc < 0)
		return refuse(cmd, &e);
	warn_uncovered(&op, &en);
	printf("Master key change operation '%s' created.\n", op.id);
	if (now) {
		/* I1 again, under the operation's lock: the registers read
		 * above may be old by the time the creation lock was had */
		step_adopt(&s, &en, &op, lock);
		lock = -1;
		rc = reencipher(cmd, &s);
		step_release(&s);
		return rc;
	}
	engine_notify(&en, &op, "planned",
		      "A master key change is planned: load the new master keys on its APQNs.");
	printf("The agent re-enciphers every consumer once the new master keys are loaded\n"
	       "on every APQN (or run 'mkagent reencipher -i %s').\n", op.id);
	return EXIT_OK;
}

int cmd_plan(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	int rc = op_args_parse("plan", plan_usage,
			       ARG_APQNS | ARG_PATTERNS | ARG_PROFILES | ARG_NO_AUTO, 0, argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	return create_op("plan", cli, &a, false);
}
