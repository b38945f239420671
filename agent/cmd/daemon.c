// SPDX-License-Identifier: MIT
/*
 * daemon.c - `mkagent daemon [--once [--json]]`: its options, where the
 * agent logs, and its exit status. The agent itself is daemon/.
 */
#include <errno.h>
#include <getopt.h>

#include "cmd/cli.h"
#include "daemon/daemon.h"
#include "io/log.h"

static const char daemon_usage[] = "Usage: mkagent daemon [--once [--json]]\n"
				   "Watch the AP bus and carry out every planned operation.\n\n"
				   "      --once   one pass over every operation, then exit\n"
				   "      --json   with --once, print what the pass did as JSON\n";

int cmd_daemon(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct agent_opts o = { .paths = cli->paths };
	struct errmsg e;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'o') {
			o.once = true;
		} else if (c == 'j') {
			o.json = true;
		} else if (c == 'h') {
			fputs(daemon_usage, stdout);
			return EXIT_OK;
		} else {
			return cli_option_error("daemon", c, argv);
		}
	}
	if (optind < argc) {
		say_error("daemon: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (o.json && !o.once) {
		say_error("daemon: --json goes with --once");
		return EXIT_USAGE;
	}
	if (log_get_level() == LOG_LVL_NONE && !cli->verbose_given)
		log_set_level(LOG_LVL_INFO);
	/* started by systemd (the unit sets INVOCATION_ID): syslog, with priorities */
	if (getenv("INVOCATION_ID"))
		log_to_syslog(true);
	rc = agent_run(&o, &e);
	if (rc == -EBADMSG && o.once)
		return EXIT_REFUSED; /* each file was named on stderr */
	if (rc < 0) {
		say_error("daemon: %s", e.text);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}
