/* SPDX-License-Identifier: MIT */
/*
 * op.h - a master key change operation (DESIGN §2-§4): its states, the
 * phases each profile runs, and the INI text it is kept as. Pure: text
 * in, text out; store.c does the file I/O.
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "core/apqn.h"
#include "core/errmsg.h"
#include "core/ini.h"
#include "core/mkvp.h"

#define OP_ID_LEN 6
#define PROFILE_NAME_MAX 64
#define OP_REASON_MAX 150

enum op_state {
	OP_PLANNED,
	OP_REENCIPHERING,
	OP_REENCIPHERED,
	OP_FINALIZING,
	OP_FINALIZED,
	OP_CANCELING,
	OP_CANCELED,
	OP_ERROR,
	OP_STATE_COUNT,
};

enum phase {
	PHASE_REENCIPHER,
	PHASE_FINALIZE,
	PHASE_CANCEL,
	PHASE_RECOVER,
	PHASE_COUNT,
};

enum phase_status {
	PS_NONE, /* the profile has no such phase */
	PS_PENDING,
	PS_RUNNING,
	PS_DONE,
	PS_FAILED,
};

struct op_profile {
	char name[PROFILE_NAME_MAX];
	enum phase_status phase[PHASE_COUNT];
};

struct op {
	char id[OP_ID_LEN + 1];
	enum op_state state;
	time_t created, updated;
	bool auto_finalize;
	char reason[OP_REASON_MAX + 1];
	struct apqn_list apqns;
	bool has_new[MK_TYPE_COUNT];
	struct mkvp new_mkvp[MK_TYPE_COUNT];
	bool has_old[MK_TYPE_COUNT];
	struct mkvp old_mkvp[MK_TYPE_COUNT];
	struct op_profile *profiles;
	size_t nprofiles;
};

const char *op_state_name(enum op_state s);
int op_state_from_name(const char *name);
bool op_state_terminal(enum op_state s);
const char *phase_name(enum phase p);
int phase_from_name(const char *name);
const char *phase_status_name(enum phase_status s);

bool op_id_valid(const char *id);
bool profile_name_valid(const char *name);

/* Parse the INI text of an operation. Errors name the line: "line 3: ...". */
int op_parse(const char *text, size_t len, struct op *out, struct errmsg *e);
/* The INI text of @op, malloc'd; no line longer than INI_LINE_MAX. */
int op_format(const struct op *op, char **out);
void op_free(struct op *op);

int op_add_profile(struct op *op, const char *name, const bool has_phase[PHASE_COUNT]);
struct op_profile *op_find_profile(const struct op *op, const char *name);
/* Set the reason, made safe for one INI value (no ';', '#', controls). */
void op_set_reason(struct op *op, const char *fmt, ...) _printf_(2, 3);
/* Whether an (APQN, MK type) pair of @a is also in @b. */
/* Whether @op changes a type whose registers only the query helper reads. */
bool op_needs_query(const struct op *op);
bool op_overlaps(const struct op *a, const struct op *b, struct apqn *apqn, enum mk_type *type);

int iso8601_parse(const char *s, time_t *out);
/* "2026-11-22T10:00:00Z" into @buf (21 bytes). */
char *iso8601_format(time_t t, char *buf);
