// SPDX-License-Identifier: MIT
/*
 * opargs.c - the table of the commands' options and what each one's
 * value becomes in struct op_args.
 */
#include <errno.h>
#include <stdlib.h>

#include "cmd/cli.h"
#include "io/log.h"
#include "core/macro.h"
#include "cmd/opargs.h"

enum { OPT_PROFILES = OPT_LONG, OPT_NO_AUTO, OPT_FORCE, OPT_ONCE, OPT_JSON, OPT_ROOT };

/* Each row has one ARG_* bit; the pattern rows come from the MK types, after -a. */
static const struct opt apqns_row = { 'a', "apqns", "APQNS",
				      "APQNs: card.domain in hex, comma separated", ARG_APQNS };
static const struct opt rows[] = {
	{ 'i', "id", "ID", "the operation, by the ID plan printed", ARG_ID },
	{ OPT_PROFILES, "profiles", "P,...", "only these consumer profiles", ARG_PROFILES },
	{ OPT_NO_AUTO, "no-auto-finalize", NULL, "wait for 'mkagent finalize' after activation",
	  ARG_NO_AUTO },
	{ OPT_FORCE, "force", NULL, "close an operation in error, running no helper", ARG_FORCE },
	{ OPT_ONCE, "once", NULL, "one pass over every operation, then exit", ARG_ONCE },
	{ OPT_JSON, "json", NULL, "print JSON", ARG_JSON },
	{ OPT_ROOT, "root", "DIR", "below DIR instead of /", ARG_ROOT },
	OPT_HELP,
};

void op_args_table(struct op_args_table *t)
{
	_Static_assert(1 + MK_TYPE_COUNT + ARRAY_SIZE(rows) <= OPT_MAX, "too many options");
	t->n = 0;
	t->row[t->n++] = apqns_row;
	for (int type = 0; type < MK_TYPE_COUNT; type++) {
		const struct mk_type_info *m = mk_type_info(type);

		snprintf(t->help[type], sizeof(t->help[type]), "new %s pattern (%zu bytes)", m->what,
			 m->cli_bytes);
		t->row[t->n++] = (struct opt){ m->opt, m->opt_name, m->opt_arg, t->help[type],
					       ARG_PATTERNS };
	}
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		t->row[t->n++] = rows[i];
}

/* The MK type of a pattern row; -1 for another row. */
static int type_of(const struct opt *o)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (o->flags == ARG_PATTERNS && mk_type_info(t)->opt == o->id)
			return t;
	return -1;
}

/* @list: names, comma separated, each a profile name and each once, into
 * @a->profiles (pointing into @a->profiles_buf, a copy of @list). */
static int profile_list_parse(const char *list, struct op_args *a, struct errmsg *e)
{
	size_t n = 1;
	char *p;

	for (const char *c = list; *c; c++)
		n += *c == ',';
	a->profiles_buf = strdup(list);
	a->profiles = calloc(n + 1, sizeof(*a->profiles));
	if (!a->profiles_buf || !a->profiles)
		return errmsg_set(e, -ENOMEM, "out of memory");
	p = a->profiles_buf;
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(p, ",");

		p[len] = '\0';
		if (!len || len >= 256)
			return errmsg_set(e, -EINVAL, "'%s' has an empty or overlong name", list);
		if (!profile_name_valid(p))
			return errmsg_set(e, -EINVAL, "'%s' is not a profile name", p);
		for (size_t j = 0; j < i; j++)
			if (streq(a->profiles[j], p))
				return errmsg_set(e, -EINVAL, "'%s' is named twice", p);
		a->profiles[i] = p;
		p += len + 1;
	}
	return 0;
}

/* Take @o with its value @arg into @a; OP_ARGS_GO_ON or EXIT_USAGE. */
static int take(const char *cmd, const struct opt *o, const char *arg, struct op_args *a)
{
	int t = type_of(o);
	char label[64];
	struct errmsg e;

	opt_label(o, label, sizeof(label));
	if (o->arg && (t >= 0 ? a->has[t] : (a->given & o->flags) != 0)) {
		say_error("%s: %s is given twice", cmd, label);
		return EXIT_USAGE;
	}
	a->given |= o->flags;
	switch (o->flags) {
	case ARG_APQNS:
		if (apqn_list_parse(arg, &a->apqns, &e) < 0) {
			say_error("%s: %s: %s", cmd, label, e.text);
			return EXIT_USAGE;
		}
		break;
	case ARG_PATTERNS:
		if (mkvp_parse_cli(t, arg, &a->mkvp[t], &e) < 0) {
			say_error("%s: %s: %s", cmd, label, e.text);
			return EXIT_USAGE;
		}
		a->has[t] = true;
		break;
	case ARG_ID:
		if (!op_id_valid(arg)) {
			say_error("%s: %s: '%s' is not an operation ID (6 letters or digits)", cmd,
				  label, arg);
			return EXIT_USAGE;
		}
		snprintf(a->id, sizeof(a->id), "%s", arg);
		break;
	case ARG_PROFILES:
		if (profile_list_parse(arg, a, &e) < 0) {
			say_error("%s: %s: %s", cmd, label, e.text);
			return EXIT_USAGE;
		}
		break;
	case ARG_NO_AUTO:
		a->no_auto_finalize = true;
		break;
	case ARG_FORCE:
		a->force = true;
		break;
	case ARG_ONCE:
		a->once = true;
		break;
	case ARG_JSON:
		a->json = true;
		break;
	case ARG_ROOT:
		a->root = arg;
		break;
	}
	return OP_ARGS_GO_ON;
}

int op_args_parse(const char *cmd, const char *usage, unsigned int allowed, int max_plain,
		  int argc, char **argv, struct op_args *a)
{
	struct op_args_table t;
	struct opt_parser p;
	const struct opt *o;
	struct errmsg e;
	int rc;

	memset(a, 0, sizeof(*a));
	op_args_table(&t);
	opt_parser_init(&p, cmd, t.row, t.n, allowed, false, NULL);
	while ((rc = opt_next(&p, argc, argv, &o, &e)) > 0) {
		if (o->id == 'h') {
			printf("%s\nOptions:\n", usage);
			opt_print_help(stdout, t.row, t.n, allowed);
			return EXIT_OK;
		}
		rc = take(cmd, o, optarg, a);
		if (rc != OP_ARGS_GO_ON)
			return rc;
	}
	if (rc < 0) {
		say_error("%s", e.text);
		return EXIT_USAGE;
	}
	a->rest = argv + optind;
	a->nrest = argc - optind;
	if (a->nrest > max_plain) {
		say_error("%s: unexpected argument '%s'", cmd, a->rest[max_plain]);
		return EXIT_USAGE;
	}
	return OP_ARGS_GO_ON;
}

void op_args_free(struct op_args *a)
{
	apqn_list_free(&a->apqns);
	free(a->profiles);
	free(a->profiles_buf);
	a->profiles = NULL;
	a->profiles_buf = NULL;
}

bool op_args_any_pattern(const struct op_args *a)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (a->has[t])
			return true;
	return false;
}
