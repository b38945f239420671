/* SPDX-License-Identifier: MIT */
/*
 * cli.h - mkagent's own options (the table of cli.c) and what every
 * command gets from them, the exit codes of DESIGN §7, and the commands
 * themselves.
 */
#pragma once

#include <stdbool.h>
#include <string.h>

#include "cmd/opt.h"
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

/* The ids of mkagent's own options without a letter (-v and -h have theirs). */
enum {
	CLI_OPT_STATE_DIR = OPT_LONG,
	CLI_OPT_CONFIG,
	CLI_OPT_PROFILES,
	CLI_OPT_VERSION,
};

/* Flag of the options that may also come after the command. */
#define CLI_OPT_AFTER 1u

extern const struct opt cli_opts[];
extern const size_t cli_nopts;

/* Take the value @arg of the global option @o; EXIT_OK or EXIT_USAGE after one line. */
int cli_global_option(struct cli *cli, const struct opt *o, const char *arg);

/*
 * Take the global options given after the command (up to "--") out of
 * @argv: those flagged CLI_OPT_AFTER, long names spelled out. EXIT_OK or
 * EXIT_USAGE after one line.
 */
int cli_options_after(struct cli *cli, int *argc, char **argv);

/* The "Options" part of mkagent --help. */
void cli_print_options(FILE *f);

/*
 * Report what getopt_long returned for a bad option (':' or '?') of
 * @cmd (NULL for the global options) in one line; returns EXIT_USAGE.
 */
int cli_option_error(const char *cmd, int c, char **argv);
