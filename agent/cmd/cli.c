// SPDX-License-Identifier: MIT
/*
 * cli.c - mkagent's own options: their table, their values, and those
 * that may also come after the command.
 */
#include "cmd/cli.h"
#include "io/log.h"
#include "core/macro.h"

const struct opt cli_opts[] = {
	{ CLI_OPT_STATE_DIR, "state-dir", "DIR", "state directory (default /var/lib/mkagent)",
	  CLI_OPT_AFTER },
	{ CLI_OPT_CONFIG, "config", "FILE", "configuration (default /etc/mkagent/mkagent.conf)",
	  CLI_OPT_AFTER },
	{ CLI_OPT_PROFILES, "profiles", "DIR", "consumer profiles (default /etc/mkagent/profiles)", 0 },
	{ 'v', "verbose", "LEVEL", "none, error, warn, info, devel or debug", CLI_OPT_AFTER },
	OPT_HELP,
	{ CLI_OPT_VERSION, "version", NULL, "show the version", 0 },
};
const size_t cli_nopts = ARRAY_SIZE(cli_opts);

int cli_global_option(struct cli *cli, const struct opt *o, const char *arg)
{
	int lvl;

	switch (o->id) {
	case CLI_OPT_STATE_DIR:
		cli->paths.state_dir = arg;
		break;
	case CLI_OPT_CONFIG:
		cli->paths.config = arg;
		cli->paths.config_given = true;
		break;
	case CLI_OPT_PROFILES:
		cli->paths.profiles = arg;
		break;
	case 'v':
		lvl = log_level_from_name(arg);
		if (lvl < 0) {
			say_error("-v/--verbose: '%s' is not none, error, warn, info, devel or debug", arg);
			return EXIT_USAGE;
		}
		log_set_level(lvl);
		cli->verbose_given = true;
		break;
	}
	return EXIT_OK;
}

/*
 * Whether @a names @o ("--name", "--name=V", "-x", "-xV"), with its value
 * in *@value (NULL: the next argument). Every option flagged
 * CLI_OPT_AFTER takes a value.
 */
static bool names_opt(const struct opt *o, const char *a, const char **value)
{
	size_t n = strlen(o->name);

	if (!strncmp(a, "--", 2) && !strncmp(a + 2, o->name, n) && (!a[n + 2] || a[n + 2] == '=')) {
		*value = a[n + 2] ? a + n + 3 : NULL;
		return true;
	}
	if (o->id < OPT_LONG && a[0] == '-' && a[1] == o->id) {
		*value = a[2] ? a + 2 : NULL;
		return true;
	}
	return false;
}

/*
 * Not --profiles, which after plan and reencipher names the operation's
 * profiles. No value of a command's option starts with '-', so none is
 * mistaken for one of these.
 */
int cli_options_after(struct cli *cli, int *argc, char **argv)
{
	int out = 1, rc;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *value = NULL;
		const struct opt *o = NULL;

		if (streq(a, "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		for (size_t k = 0; k < cli_nopts && !o; k++)
			if ((cli_opts[k].flags & CLI_OPT_AFTER) && names_opt(&cli_opts[k], a, &value))
				o = &cli_opts[k];
		if (!o) {
			argv[out++] = argv[i];
			continue;
		}
		if (!value) {
			if (i + 1 >= *argc) {
				say_error("option '%s' needs a value", a);
				return EXIT_USAGE;
			}
			value = argv[++i];
		}
		rc = cli_global_option(cli, o, value);
		if (rc != EXIT_OK)
			return rc;
	}
	argv[out] = NULL;
	*argc = out;
	return EXIT_OK;
}

void cli_print_options(FILE *f)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < cli_nopts; i++)
		n += !!(cli_opts[i].flags & CLI_OPT_AFTER);
	fprintf(f, "Options (");
	for (size_t i = 0; i < cli_nopts; i++) {
		if (!(cli_opts[i].flags & CLI_OPT_AFTER))
			continue;
		k++;
		if (cli_opts[i].id < OPT_LONG)
			fprintf(f, "-%c", cli_opts[i].id);
		else
			fprintf(f, "--%s", cli_opts[i].name);
		fputs(k + 1 < n ? ", " : k + 1 == n ? " and " : "", f);
	}
	fprintf(f, " also after COMMAND):\n");
	opt_print_help(f, cli_opts, cli_nopts, ~0u);
}

int cli_option_error(const char *cmd, int c, char **argv)
{
	struct errmsg e;

	opt_getopt_error(cmd, c, argv, &e);
	say_error("%s", e.text);
	return EXIT_USAGE;
}
