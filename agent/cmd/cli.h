/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what every command gets from the global options, the exit
 * codes of DESIGN §7, and the commands themselves.
 */
#pragma once

#include <stdbool.h>
#include <string.h>

#include "io/config.h"

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* refused, failed, or names nothing that exists */
	EXIT_USAGE = 2,	  /* bad usage or a malformed value */
};

struct cli {
	struct mk_paths paths;
	bool verbose_given;
};

int cmd_status(const struct cli *cli, int argc, char **argv);
int cmd_plan(const struct cli *cli, int argc, char **argv);
int cmd_reencipher(const struct cli *cli, int argc, char **argv);
int cmd_finalize(const struct cli *cli, int argc, char **argv);
int cmd_cancel(const struct cli *cli, int argc, char **argv);
int cmd_list(const struct cli *cli, int argc, char **argv);
int cmd_helper(const struct cli *cli, int argc, char **argv);
int cmd_daemon(const struct cli *cli, int argc, char **argv);
int cmd_rules(const struct cli *cli, int argc, char **argv);

/*
 * Report what getopt_long returned for a bad option (':' or '?') of
 * @cmd (NULL for the global options) in one line; returns EXIT_USAGE.
 */
int cli_option_error(const char *cmd, int c, char **argv);
