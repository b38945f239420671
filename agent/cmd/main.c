// SPDX-License-Identifier: MIT
/*
 * main.c - global options and the command table of `mkagent`.
 */
#include <getopt.h>
#include <sys/prctl.h>
#include <syslog.h>

#include "cmd/cli.h"
#include "io/log.h"
#include "core/macro.h"

#ifndef VERSION
#define VERSION "0.1"
#endif

static const struct command {
	const char *name;
	int (*run)(const struct cli *cli, int argc, char **argv);
	const char *help;
} commands[] = {
	{ "status", cmd_status, "show AP queues and their master key registers" },
	{ "plan", cmd_plan, "plan a master key change for the agent to carry out" },
	{ "reencipher", cmd_reencipher, "re-encipher every consumer now (plan it too with -a)" },
	{ "finalize", cmd_finalize, "finalize a change once the new keys are active" },
	{ "cancel", cmd_cancel, "cancel a change before a new key is active" },
	{ "list", cmd_list, "list master key change operations" },
	{ "helper", cmd_helper, "run one phase of one profile of an operation by hand" },
	{ "daemon", cmd_daemon, "the agent: watch the AP bus and run every step" },
	{ "rules", cmd_rules, "install or remove the udev rule that starts the agent" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: mkagent [OPTIONS] COMMAND [ARGS]\n"
		   "Automate concurrent HSM master key changes on the AP bus.\n\n"
		   "Options (--state-dir, --config and -v also after COMMAND):\n"
		   "      --state-dir DIR   state directory (default /var/lib/mkagent)\n"
		   "      --config FILE     configuration (default /etc/mkagent/mkagent.conf)\n"
		   "      --profiles DIR    consumer profiles (default /etc/mkagent/profiles)\n"
		   "  -v, --verbose LEVEL   none, error, warn, info, devel or debug\n"
		   "  -h, --help            show this help\n"
		   "      --version         show the version\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nSee 'mkagent COMMAND --help' and mkagent(8).\n");
}

/* One global option @c with its value @arg; EXIT_OK or EXIT_USAGE. */
static int global_option(struct cli *cli, int c, const char *arg)
{
	int lvl;

	switch (c) {
	case 'S':
		cli->paths.state_dir = arg;
		break;
	case 'C':
		cli->paths.config = arg;
		cli->paths.config_given = true;
		break;
	case 'P':
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
 * The global options given after the command (up to "--"), taken out of
 * @argv: --state-dir, --config and -v/--verbose, spelled out. Not
 * --profiles, which after plan and reencipher names the operation's
 * profiles. No value of a command's option starts with '-', so none is
 * mistaken for one of these.
 */
static int global_options_after(struct cli *cli, int *argc, char **argv)
{
	static const struct {
		const char *name;
		int c;
	} after[] = { { "--state-dir", 'S' }, { "--config", 'C' }, { "--verbose", 'v' }, { "-v", 'v' } };
	int out = 1, rc;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *value = NULL;
		int c = 0;

		if (streq(a, "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		for (size_t k = 0; k < ARRAY_SIZE(after) && !c; k++) {
			size_t n = strlen(after[k].name);

			if (strncmp(a, after[k].name, n) != 0)
				continue;
			if (a[n] == '\0' || (a[n] == '=' && a[1] == '-'))
				value = a[n] ? a + n + 1 : NULL;
			else if (after[k].c == 'v' && a[1] == 'v')
				value = a + n; /* -vLEVEL */
			else
				continue;
			c = after[k].c;
			if (!value) {
				if (i + 1 >= *argc) {
					say_error("option '%s' needs a value", a);
					return EXIT_USAGE;
				}
				value = argv[++i];
			}
		}
		if (!c) {
			argv[out++] = argv[i];
			continue;
		}
		rc = global_option(cli, c, value);
		if (rc != EXIT_OK)
			return rc;
	}
	argv[out] = NULL;
	*argc = out;
	return EXIT_OK;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'C' },
		{ "profiles", required_argument, NULL, 'P' },
		{ "verbose", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct cli cli = {
		.paths.state_dir = env_or("MKAGENT_STATE_DIR", "/var/lib/mkagent"),
		.paths.config = env_or("MKAGENT_CONFIG", "/etc/mkagent/mkagent.conf"),
		.paths.profiles = env_or("MKAGENT_PROFILES", "/etc/mkagent/profiles"),
	};
	int c, rc;

	/* no core dumps: a PIN may be in memory */
	prctl(PR_SET_DUMPABLE, 0);
	openlog("mkagent", LOG_PID, LOG_DAEMON);
	cli.paths.config_given = getenv("MKAGENT_CONFIG") && *getenv("MKAGENT_CONFIG");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:v:h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
		case 'C':
		case 'P':
		case 'v':
			rc = global_option(&cli, c, optarg);
			if (rc != EXIT_OK)
				return rc;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("mkagent %s\n", VERSION);
			return EXIT_OK;
		default:
			return cli_option_error(NULL, c, argv);
		}
	}
	if (optind >= argc) {
		say_error("no command given (see mkagent --help)");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (streq(commands[i].name, argv[optind])) {
			argc -= optind;
			argv += optind;
			rc = global_options_after(&cli, &argc, argv);
			if (rc != EXIT_OK)
				return rc;
			optind = 0; /* reset getopt for the command's own options */
			return commands[i].run(&cli, argc, argv);
		}
	}
	say_error("unknown command '%s' (see mkagent --help)", argv[optind]);
	return EXIT_USAGE;
}
