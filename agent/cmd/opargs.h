/* SPDX-License-Identifier: MIT */
/*
 * opargs.h - the options of the commands, in one table (opargs.c) with
 * their help: the names and letters of pkcshsm_mk_change (-a/--apqns,
 * the pattern option of each MK type, -i/--id) and mkagent's own
 * (--profiles, --no-auto-finalize, --json, --force, --once, --root).
 * Each command takes the rows of its ARG_* bits; its --help is its
 * usage lines and those rows.
 */
#pragma once

#include "cmd/opt.h"
#include "core/apqn.h"
#include "core/mkvp.h"
#include "core/op.h"

enum {
	ARG_APQNS = 1 << 0,
	ARG_PATTERNS = 1 << 1,
	ARG_ID = 1 << 2,
	ARG_PROFILES = 1 << 3,
	ARG_NO_AUTO = 1 << 4,
	ARG_JSON = 1 << 5,
	ARG_FORCE = 1 << 6,
	ARG_ONCE = 1 << 7,
	ARG_ROOT = 1 << 8,
};

struct op_args {
	unsigned int given; /* ARG_* seen */
	struct apqn_list apqns;
	bool has[MK_TYPE_COUNT];
	struct mkvp mkvp[MK_TYPE_COUNT];
	char id[OP_ID_LEN + 1];
	const char **profiles; /* --profiles: the names, NULL-terminated; NULL: not given */
	char *profiles_buf; /* what they point into */
	bool no_auto_finalize;
	bool json;
	bool force;
	bool once;
	const char *root;
	char **rest; /* positional arguments */
	int nrest;
};

#define OP_ARGS_GO_ON (-1)

/* The table: the fixed rows and one pattern row per MK type. */
struct op_args_table {
	struct opt row[OPT_MAX];
	char help[MK_TYPE_COUNT][64];
	size_t n;
};

void op_args_table(struct op_args_table *t);

/*
 * Parse the options of @cmd that @allowed lets through, and at most
 * @max_plain plain arguments (a->rest). Returns OP_ARGS_GO_ON, or the exit
 * status to end with: EXIT_USAGE after one line on stderr ("CMD:
 * unexpected argument 'X'" for one too many), EXIT_OK after --help printed
 * @usage (the synopsis and what the command does) and the rows @allowed
 * takes.
 */
int op_args_parse(const char *cmd, const char *usage, unsigned int allowed, int max_plain,
		  int argc, char **argv, struct op_args *a);
void op_args_free(struct op_args *a);
bool op_args_any_pattern(const struct op_args *a);
