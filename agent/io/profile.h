/* SPDX-License-Identifier: MIT */
/*
 * profile.h - consumer profiles (DESIGN §4): which MK types a consumer
 * of secure keys uses, whether its helpers need PINs, and the program
 * each phase runs. Errors name the file and line.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "core/errmsg.h"
#include "core/mktype.h"
#include "core/op.h"

#define PROFILE_TIMEOUT_DEFAULT 900

struct profile {
	char name[PROFILE_NAME_MAX];
	char path[PATH_MAX];
	char description[INI_LINE_MAX + 1];
	bool types[MK_TYPE_COUNT];
	bool pin;
	struct {
		bool present;
		char exec[INI_LINE_MAX + 1];
		int timeout; /* seconds */
	} phase[PHASE_COUNT];
};

struct profile_set {
	struct profile *v;
	size_t n;
};

/* Parse the text of the profile @name read from @path. */
int profile_parse(struct profile *p, const char *name, const char *path, const char *text,
		  struct errmsg *e);
/* Every <name>.profile in @dir, sorted by name; a missing @dir is empty. */
int profiles_load(struct profile_set *set, const char *dir, struct errmsg *e);
void profiles_free(struct profile_set *set);
const struct profile *profiles_find(const struct profile_set *set, const char *name);
bool profile_covers(const struct profile *p, const struct op *op);
