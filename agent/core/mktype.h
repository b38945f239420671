/* SPDX-License-Identifier: MIT */
/*
 * mktype.h - the vocabulary of DESIGN §2: master key types, their
 * registers and the states a register can be in, with the names used on
 * the command line, in INI files, JSON and helper environments.
 *
 * Every fact about one MK type is one row of the table in mktype.c: its
 * name, the queues that hold it, its pattern lengths, its command-line
 * option and where its registers are read. A new type is an enum
 * constant here, a row there and its line prefixes in mkvps.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum mk_type {
	MK_CCA_SYM,
	MK_CCA_ASYM,
	MK_CCA_AES,
	MK_CCA_APKA,
	MK_EP11,
	MK_TYPE_COUNT,
};

enum mk_reg {
	REG_NEW,
	REG_CUR,
	REG_OLD,
	REG_COUNT,
};

/* Register states as sysfs prints them; REG_UNKNOWN is the `- -` form. */
enum reg_state {
	REG_UNKNOWN,
	REG_EMPTY,
	REG_PARTIAL,
	REG_FULL,
	REG_INVALID,
	REG_VALID,
	REG_UNCOMMITTED,
	REG_COMMITTED,
	REG_STATE_COUNT,
};

enum ap_mode {
	AP_MODE_UNKNOWN,
	AP_MODE_ACCEL,
	AP_MODE_CCA,
	AP_MODE_EP11,
};

/* Pattern lengths in bytes: on the command line and in sysfs. */
#define MKVP_MAX_BYTES 32

/* One row of the table of MK types. */
struct mk_type_info {
	const char *name;	 /* cca-aes: INI files, JSON, profiles, helpers */
	enum ap_mode mode;	 /* the queues that hold it */
	size_t cli_bytes;	 /* pattern length on the command line */
	size_t sysfs_bytes;	 /* and in mkvps */
	char opt;		 /* the new pattern's option: -A */
	const char *opt_name;	 /* --cca-aes-mkvp */
	const char *opt_arg;	 /* its value in --help: MKVP */
	const char *what;	 /* "CCA AES master key", for help and messages */
	const char *regs;	 /* "CCA AES", in front of "registers" */
	bool queried;		 /* not in sysfs: read with [registers] query-helper */
};

const struct mk_type_info *mk_type_info(enum mk_type t);
const char *mk_type_name(enum mk_type t);
/* Returns the type, or -EINVAL for a name outside the vocabulary. */
int mk_type_from_name(const char *name);
enum ap_mode mk_type_mode(enum mk_type t);
bool mk_type_is_cca(enum mk_type t);
size_t mk_type_cli_bytes(enum mk_type t);
size_t mk_type_sysfs_bytes(enum mk_type t);
/* EP11 has no OLD register. */
bool mk_type_has_reg(enum mk_type t, enum mk_reg r);

const char *mk_reg_name(enum mk_reg r);
const char *reg_state_name(enum reg_state s);
/* A register's pattern means something only in these states. */
bool reg_state_has_mkvp(enum reg_state s);

const char *ap_mode_name(enum ap_mode m);
/* A queue of mode @m in words: "an EP11", "a CCA", "an accelerator", "an unknown". */
const char *ap_mode_a(enum ap_mode m);
/* The cards that make queues of mode @m: "EP11 (CEXnP)", "CCA (CEXnC)". */
const char *ap_mode_cards(enum ap_mode m);
