// SPDX-License-Identifier: MIT
/*
 * The option tables (agent/cmd/opt.c, cli.c, opargs.c): getopt_long's
 * short string and long table are made from the rows, --help lists every
 * row a command takes and nothing else, and a bad option gives the same
 * one-line errors as the hand-written loops did.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cli.h"
#include "cmd/opargs.h"
#include "core/macro.h"
#include "io/log.h"
#include "run.h"
#include "tap.h"

enum { T_JSON = OPT_LONG, T_ROOT };

static const struct opt rows[] = {
	{ 'a', "apqns", "APQNS", "the APQNs", 1 },
	{ 'i', "id", "ID", "the operation", 2 },
	{ T_JSON, "json", NULL, "print JSON", 4 },
	{ T_ROOT, "root", "DIR", "below DIR", 8 },
	OPT_HELP,
};

static void strings(void)
{
	struct opt_parser p;
	struct opt many[OPT_MAX + 1] = { 0 };
	struct errmsg e = { "" };
	char label[64];

	is_int(opt_parser_init(&p, "list", rows, ARRAY_SIZE(rows), 1 | 4, false, &e), 0, "a table");
	is_string(p.shortopts, ":a:i:h", "short string: letters, ':' after those with a value");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		ok(streq(p.longopts[i].name, rows[i].name) && p.longopts[i].val == rows[i].id &&
			   p.longopts[i].has_arg == (rows[i].arg ? required_argument : no_argument) &&
			   !p.longopts[i].flag,
		   "long table: --%s", rows[i].name);
	ok(!p.longopts[ARRAY_SIZE(rows)].name, "long table: ends with a zero row");
	opt_parser_init(&p, NULL, rows, ARRAY_SIZE(rows), ~0u, true, NULL);
	is_string(p.shortopts, "+:a:i:h", "stopping at the first argument: '+' first");
	is_int(opt_parser_init(&p, NULL, many, ARRAY_SIZE(many), 0, false, &e), -E2BIG,
	       "more rows than OPT_MAX: refused");
	is_string(opt_label(&rows[0], label, sizeof(label)), "-a/--apqns", "label with a letter");
	is_string(opt_label(&rows[2], label, sizeof(label)), "--json", "label of a long name only");
}

/* What opt_next gives for @args (after "mkagent"), as "id=value" words
 * and the error line. */
static void parse(const char *cmd, unsigned int allowed, const char *want, const char *what,
		  char **args)
{
	char got[1024] = "", label[64];
	struct opt_parser p;
	const struct opt *o;
	struct errmsg e = { "" };
	int argc = 0, rc;

	while (args[argc])
		argc++;
	opt_parser_init(&p, cmd, rows, ARRAY_SIZE(rows), allowed, false, NULL);
	while ((rc = opt_next(&p, argc, args, &o, &e)) > 0)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s=%s ",
			 opt_label(o, label, sizeof(label)), optarg ? optarg : "");
	if (rc == 0)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "rest=%s",
			 optind < argc ? args[optind] : "");
	else
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%d %s", rc, e.text);
	is_string(got, want, "%s", what);
}

#define ARGS(...) ((char *[]){ "mkagent", __VA_ARGS__, NULL })

static void next(void)
{
	parse("list", 1 | 2 | 4, "-a/--apqns=8.33 -i/--id=ABC123 --json= rest=x", "options and an argument",
	      ARGS("-a", "8.33", "x", "--id=ABC123", "--json"));
	parse("list", 1 | 2, "-a/--apqns=8.33 rest=", "a value joined to its letter", ARGS("-a8.33"));
	parse("list", 1, "-22 list: unknown option '--nope' (see mkagent list --help)",
	      "an unknown long option", ARGS("--nope"));
	parse("list", 1, "-22 list: unknown option '-q' (see mkagent list --help)",
	      "an unknown short option", ARGS("-q"));
	parse(NULL, 1, "-22 unknown option '--nope' (see mkagent --help)",
	      "an unknown option of mkagent's own", ARGS("--nope", "list"));
	parse("list", 1, "-22 list: option '-a' needs a value", "a letter without its value",
	      ARGS("-a"));
	parse("list", 8, "-22 list: option '--root' needs a value", "a long name without its value",
	      ARGS("--root"));
	parse(NULL, ~0u, "-22 option '--root' needs a value", "mkagent's own without its value",
	      ARGS("--root"));
	parse("plan", 1, "-22 plan: option -i/--id does not apply (see mkagent plan --help)",
	      "a row the command does not take", ARGS("-i", "ABC123"));
	parse("plan", 1, "-22 plan: option --json does not apply (see mkagent plan --help)",
	      "a long-only row the command does not take", ARGS("--json"));
	parse("plan", 1, "-h/--help= rest=", "--help applies to every command", ARGS("--help"));
}

/* @help holds @o as a row: "  -a, --apqns APQNS   help". */
static bool has_row(const char *help, const struct opt *o)
{
	char head[128];

	if (o->id < OPT_LONG)
		snprintf(head, sizeof(head), "\n  -%c, --%s%s%s ", o->id, o->name, o->arg ? " " : "",
			 o->arg ?: "");
	else
		snprintf(head, sizeof(head), "\n      --%s%s%s ", o->name, o->arg ? " " : "",
			 o->arg ?: "");
	for (const char *p = help; (p = strstr(p, head)); ) {
		p += strlen(head);
		p += strspn(p, " ");
		if (!strncmp(p, o->help, strlen(o->help)) && p[strlen(o->help)] == '\n')
			return true;
	}
	return false;
}

static void help(void)
{
	char *text = NULL, *line;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	int column = -1;
	bool aligned = true;

	opt_print_help(f, rows, ARRAY_SIZE(rows), 1 | 8);
	fclose(f);
	if (asprintf(&line, "\n%s", text) < 0)
		bail_out("out of memory");
	ok(has_row(line, &rows[0]) && has_row(line, &rows[3]) && has_row(line, &rows[4]),
	   "help: each row that applies, with its value and help");
	ok(!strstr(line, "--id") && !strstr(line, "--json"), "help: no row that does not apply");
	is_int(count_lines(text), 3, "help: one line a row");
	for (const char *l = line + 1; *l; l = strchr(l, '\n') + 1) {
		const char *h = strstr(l, "  the APQNs") ?: strstr(l, "  below DIR") ?:
				strstr(l, "  show this help");
		int c = h ? (int)(h - l) : -2;

		aligned &= column < 0 || c == column;
		column = c;
	}
	ok(aligned && column > 0, "help: the help in one column");
	free(line);
	free(text);
}

/* The table of the commands' options: every row named once, each MK type's. */
static void command_table(void)
{
	struct op_args_table t;
	struct opt_parser p;
	bool unique = true, helped = true;
	char after[128] = "";

	op_args_table(&t);
	for (size_t i = 0; i < t.n; i++) {
		helped &= t.row[i].help && t.row[i].help[0] && !strchr(t.row[i].help, '\n');
		for (size_t j = 0; j < i; j++)
			unique &= t.row[i].id != t.row[j].id && !streq(t.row[i].name, t.row[j].name);
	}
	ok(unique, "commands' table: every letter and long name once");
	ok(helped, "commands' table: every row has one line of help");
	is_int(opt_parser_init(&p, "plan", t.row, t.n, ~0u, false, NULL), 0, "commands' table fits");
	opt_parser_init(&p, NULL, cli_opts, cli_nopts, ~0u, true, NULL);
	is_string(p.shortopts, "+:v:h", "mkagent's own: short string");
	for (size_t i = 0; i < cli_nopts; i++)
		if (cli_opts[i].flags & CLI_OPT_AFTER)
			snprintf(after + strlen(after), sizeof(after) - strlen(after), " --%s",
				 cli_opts[i].name);
	is_string(after, " --state-dir --config --verbose", "mkagent's own also after the command");
}

/* --state-dir, --config and -v taken out from after the command. */
static void options_after(void)
{
	char *argv[] = { "list", "--state-dir", "/s", "x", "-vdebug", "--config=/c", "--", "--state-dir", "y", NULL };
	int argc = ARRAY_SIZE(argv) - 1;
	struct cli cli = { 0 };

	is_int(cli_options_after(&cli, &argc, argv), EXIT_OK, "after the command: taken");
	ok(streq(cli.paths.state_dir, "/s") && streq(cli.paths.config, "/c") && cli.paths.config_given &&
		   cli.verbose_given,
	   "after the command: --state-dir D, -vLEVEL, --config=F");
	ok(argc == 5 && streq(argv[1], "x") && streq(argv[2], "--") && streq(argv[3], "--state-dir") &&
		   streq(argv[4], "y") && !argv[5],
	   "after the command: the rest kept, and all after --");
	log_set_level(LOG_LVL_NONE);
}

static bool word_in(const char *words, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = words; (p = strstr(p, w)); p += n)
		if ((p == words || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return true;
	return false;
}

/*
 * mkagent itself: each command's --help lists every option it takes with
 * its help, takes every option its --help lists, and answers a bad one as
 * before.
 */
static void commands(void)
{
	static const struct {
		const char *cmd;
		const char *takes; /* long names */
	} cmds[] = {
		{ "status", "apqns json help" },
		{ "plan", "apqns cca-sym-mkvp cca-asym-mkvp cca-aes-mkvp cca-apka-mkvp ep11-wkvp profiles no-auto-finalize help" },
		{ "reencipher", "apqns cca-sym-mkvp cca-asym-mkvp cca-aes-mkvp cca-apka-mkvp ep11-wkvp id help" },
		{ "finalize", "id help" },
		{ "cancel", "id force help" },
		{ "list", "id json help" },
		{ "helper", "id help" },
		{ "rules", "root help" },
	};
	struct op_args_table t;
	char *state = make_tmpdir("opt"), want[256];

	setenv("MKAGENT_STATE_DIR", state, 1);
	op_args_table(&t);
	for (size_t c = 0; c < ARRAY_SIZE(cmds); c++) {
		struct run_result r;
		char *help, *listed;
		bool rows_ok = true, taken = true;

		run_mkagent(&r, cmds[c].cmd, "--help", NULL);
		if (asprintf(&help, "\n%s", r.out) < 0)
			bail_out("out of memory");
		run_result_free(&r);
		for (size_t i = 0; i < t.n; i++) {
			bool takes = word_in(cmds[c].takes, t.row[i].name);

			if (takes && !has_row(help, &t.row[i]))
				diag("%s --help lacks the row of --%s", cmds[c].cmd, t.row[i].name);
			rows_ok &= !takes || has_row(help, &t.row[i]);
		}
		ok(rows_ok, "%s --help: the row of every option it takes", cmds[c].cmd);
		/* each option --help names is taken: neither unknown nor foreign */
		for (listed = strstr(help, "\n  "); listed; listed = strstr(listed + 1, "\n  ")) {
			char opt[64] = "";
			struct run_result o;

			if (sscanf(listed, " -%*c, %63[a-z0-9-]", opt) != 1 && sscanf(listed, " %63[a-z0-9-]", opt) != 1)
				continue;
			if (strncmp(opt, "--", 2) || streq(opt, "--help"))
				continue;
			run_mkagent(&o, cmds[c].cmd, opt, "x", NULL);
			if (strstr(o.err, "unknown option") || strstr(o.err, "does not apply")) {
				diag("%s %s x: %s", cmds[c].cmd, opt, o.err);
				taken = false;
			}
			run_result_free(&o);
		}
		ok(taken, "%s: takes every option its --help lists", cmds[c].cmd);
		free(help);

		run_mkagent(&r, cmds[c].cmd, "--nope", NULL);
		snprintf(want, sizeof(want), "mkagent: %s: unknown option '--nope' (see mkagent %s --help)\n",
			 cmds[c].cmd, cmds[c].cmd);
		ok(r.status == 2 && streq(r.err, want), "%s --nope: exit 2, '%.*s'", cmds[c].cmd,
		   (int)strlen(want) - 1, want);
		run_result_free(&r);
	}
	unsetenv("MKAGENT_STATE_DIR");
	remove_tree(state);
	free(state);
}

/* --profiles is parsed once into its names, however long the list. */
static void profile_list(void)
{
	char list[2048] = "", last[64] = "";
	size_t len = 0, n = 0, got = 0;
	struct op_args a;

	while (len < 1100) {
		snprintf(last, sizeof(last), "a-consumer-with-a-rather-long-name-%02zu", n++);
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? "," : "", last);
	}
	is_int(op_args_parse("plan", "", ARG_PROFILES, 0, 3,
			     (char *[]){ "plan", "--profiles", list, NULL }, &a),
	       OP_ARGS_GO_ON, "--profiles of %zu bytes parses", len);
	while (a.profiles && a.profiles[got])
		got++;
	ok(got == n && streq(a.profiles[n - 1], last), "all %zu names, the last one whole", n);
	op_args_free(&a);
	is_int(op_args_parse("plan", "", ARG_PROFILES, 0, 3,
			     (char *[]){ "plan", "--profiles", "a,b,a", NULL }, &a),
	       EXIT_USAGE, "--profiles with a name twice: a usage error");
	op_args_free(&a);
	is_int(op_args_parse("plan", "", ARG_PROFILES, 0, 3,
			     (char *[]){ "plan", "--profiles", "a,,b", NULL }, &a),
	       EXIT_USAGE, "--profiles with an empty name: a usage error");
	op_args_free(&a);
	is_int(op_args_parse("plan", "", ARG_PROFILES, 0, 1, (char *[]){ "plan", NULL }, &a),
	       OP_ARGS_GO_ON, "no --profiles parses");
	ok(!a.profiles, "no --profiles: no list");
	op_args_free(&a);
}

/* How many plain arguments a command takes: one more is refused. */
static void plain_arguments(void)
{
	struct op_args a;

	is_int(op_args_parse("helper", "", ARG_ID, 2, 3, (char *[]){ "helper", "p", "cancel", NULL },
			     &a),
	       OP_ARGS_GO_ON, "two plain arguments where two are taken");
	is_int(a.nrest, 2, "both kept");
	op_args_free(&a);
	is_int(op_args_parse("helper", "", ARG_ID, 2, 4,
			     (char *[]){ "helper", "p", "cancel", "x", NULL }, &a),
	       EXIT_USAGE, "a third: a usage error");
	op_args_free(&a);
	is_int(op_args_parse("list", "", ARG_ID, 0, 2, (char *[]){ "list", "x", NULL }, &a),
	       EXIT_USAGE, "one where none is taken: a usage error");
	op_args_free(&a);
}

static void missing(const char *cmd, const char *opt, const char *want)
{
	struct run_result r;

	run_mkagent(&r, cmd, opt, NULL);
	ok(r.status == 2 && streq(r.err, want), "%s %s: exit 2, one line", cmd, opt ?: "");
	if (r.status != 2 || !streq(r.err, want))
		diag("exit %d: %s", r.status, r.err);
	run_result_free(&r);
}

int main(void)
{
	strings();
	next();
	help();
	command_table();
	options_after();
	commands();
	profile_list();
	plain_arguments();
	missing("status", "-a", "mkagent: status: option '-a' needs a value\n");
	missing("list", "--id", "mkagent: list: option '--id' needs a value\n");
	missing("rules", "--root", "mkagent: rules: option '--root' needs a value\n");
	missing("plan", "-A", "mkagent: plan: option '-A' needs a value\n");
	missing("--state-dir", NULL, "mkagent: option '--state-dir' needs a value\n");
	return done_testing();
}
