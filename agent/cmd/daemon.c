// SPDX-License-Identifier: MIT
/*
 * daemon.c - `mkagent daemon [--once [--json]]`: its options, where the
 * agent logs, and its exit status. The agent itself is daemon/.
 */
#include <errno.h>

#include "cmd/cli.h"
#include "cmd/opargs.h"
#include "daemon/daemon.h"
#include "core/macro.h"
#include "io/log.h"

static const char daemon_usage[] = "Usage: mkagent daemon [--once [--json]]\n"
				   "Watch the AP bus and carry out every planned operation.\n";

int cmd_daemon(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	struct agent_opts o = { .paths = cli->paths };
	struct errmsg e;
	int rc = op_args_parse("daemon", daemon_usage, ARG_ONCE | ARG_JSON, 0, argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	o.once = a.once;
	o.json = a.json;
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
