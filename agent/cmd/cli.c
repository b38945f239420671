// SPDX-License-Identifier: MIT
#include <getopt.h>

#include "cmd/cli.h"
#include "io/log.h"

int cli_option_error(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	char shortopt[3] = { '-', (char)optopt, '\0' };
	const char *name = optopt && strncmp(arg, "--", 2) != 0 ? shortopt : arg;
	const char *sep = cmd ? ": " : "";

	if (!cmd)
		cmd = "";
	if (c == ':')
		say_error("%s%soption '%s' needs a value", cmd, sep, name);
	else
		say_error("%s%sunknown option '%s' (see mkagent %s%s--help)", cmd, sep, name, cmd,
			  *cmd ? " " : "");
	return EXIT_USAGE;
}
