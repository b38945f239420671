// SPDX-License-Identifier: MIT
/*
 * main.c - the command table of `mkagent`, and main(): mkagent's own
 * options (cli.c), then the command.
 */
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
		   "Automate concurrent HSM master key changes on the AP bus.\n\n");
	cli_print_options(f);
	fprintf(f, "\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nSee 'mkagent COMMAND --help' and mkagent(8).\n");
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int main(int argc, char **argv)
{
	struct cli cli = {
		.paths.state_dir = env_or("MKAGENT_STATE_DIR", "/var/lib/mkagent"),
		.paths.config = env_or("MKAGENT_CONFIG", "/etc/mkagent/mkagent.conf"),
		.paths.profiles = env_or("MKAGENT_PROFILES", "/etc/mkagent/profiles"),
	};
	const struct opt *o;
	struct opt_parser p;
	struct errmsg e;
	int rc;

	/* no core dumps: a PIN may be in memory */
	prctl(PR_SET_DUMPABLE, 0);
	openlog("mkagent", LOG_PID, LOG_DAEMON);
	cli.paths.config_given = getenv("MKAGENT_CONFIG") && *getenv("MKAGENT_CONFIG");
	opt_parser_init(&p, NULL, cli_opts, cli_nopts, ~0u, true, NULL);
	while ((rc = opt_next(&p, argc, argv, &o, &e)) > 0) {
		if (o->id == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (o->id == CLI_OPT_VERSION) {
			printf("mkagent %s\n", VERSION);
			return EXIT_OK;
		}
		if (cli_global_option(&cli, o, optarg) != EXIT_OK)
			return EXIT_USAGE;
	}
	if (rc < 0) {
		say_error("%s", e.text);
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		say_error("no command given (see mkagent --help)");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (streq(commands[i].name, argv[optind])) {
			argc -= optind;
			argv += optind;
			rc = cli_options_after(&cli, &argc, argv);
			if (rc != EXIT_OK)
				return rc;
			optind = 0; /* reset getopt for the command's own options */
			return commands[i].run(&cli, argc, argv);
		}
	}
	say_error("unknown command '%s' (see mkagent --help)", argv[optind]);
	return EXIT_USAGE;
}
