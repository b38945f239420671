/* SPDX-License-Identifier: MIT */
/*
 * opt.h - command-line options kept in one table, in the spirit of
 * s390-tools' util_opt: each option once, with its short and long name,
 * the name of its value and its help. getopt_long's short string and
 * long table, the rows of --help and the names in error lines are all
 * made from the table.
 */
#pragma once

#include <getopt.h>
#include <stdio.h>

#include "core/errmsg.h"

/* An option's id is its letter, or OPT_LONG + n when it has none. */
#define OPT_LONG 256
/* The most rows a table may have. */
#define OPT_MAX 32

struct opt {
	int id;
	const char *name; /* long name, without the dashes */
	const char *arg;  /* the value's name in --help; NULL: takes no value */
	const char *help; /* one line */
	unsigned int flags; /* the table owner's bits (which commands take it); 0: every one */
};

#define OPT_HELP { 'h', "help", NULL, "show this help", 0 }

struct opt_parser {
	const char *cmd;	   /* "list" in "list: ...", NULL for mkagent's own */
	const struct opt *opts;
	size_t n;
	unsigned int allowed;	   /* rows with none of these flags "do not apply" */
	char shortopts[3 + 3 * OPT_MAX];
	struct option longopts[OPT_MAX + 1];
};

/*
 * Make getopt_long's strings from the @n rows of @opts, and start at
 * argv[1] (optind = 0). @stop_at_arg: the first argument that is not an
 * option ends the options (mkagent's own, before the command). -E2BIG
 * for a table longer than OPT_MAX.
 */
int opt_parser_init(struct opt_parser *p, const char *cmd, const struct opt *opts, size_t n,
		    unsigned int allowed, bool stop_at_arg, struct errmsg *e);

/*
 * The next option: 1 with *@o its row (its value in optarg), 0 when the
 * options end (optind is then the first argument), or -EINVAL with the
 * line to print in @e: an unknown option, one without its value, one
 * whose row does not apply.
 */
int opt_next(struct opt_parser *p, int argc, char **argv, const struct opt **o, struct errmsg *e);

/* The line for what getopt_long returned for a bad option (':' or '?'),
 * prefixed with "@cmd: " unless @cmd is NULL. Returns -EINVAL. */
int opt_getopt_error(const char *cmd, int c, char **argv, struct errmsg *e);

bool opt_applies(const struct opt *o, unsigned int allowed);

/* "-a/--apqns" or "--json": how messages name @o. */
const char *opt_label(const struct opt *o, char *buf, size_t size);

/* The rows of @opts that apply, one line each, the help in one column. */
void opt_print_help(FILE *f, const struct opt *opts, size_t n, unsigned int allowed);
