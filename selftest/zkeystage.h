/* SPDX-License-Identifier: MIT */
/*
 * zkeystage.h - the stage of the zkey helper tests (test-zkey,
 * test-zkey-early): the zkey simulator's directory with its repository,
 * LUKS2 volumes and KMIP plugin keys (wrapped blobs under apsim's master
 * keys), and a helper run phase by phase as the agent runs it, its PIN
 * requests on fd 3 answered with the volumes' passphrases (zkeystage.c).
 */
#pragma once

#include "fixture.h"

#define CCA_APQNS "08.0033,09.0033,0b.0033"
#define EP11_APQNS "0a.0033,0c.0033"

extern char zdir[4096], repo[4200], work[4200], other_work[4200];
extern const char *wd; /* the operation's work directory */
extern char asked[4096]; /* the PIN labels asked in the last run */
extern char output[1 << 16]; /* what the last helper printed, stdout and stderr */
extern char bin_zkey[4300], bin_zcs[4300];

void path_of(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Run helper @name (its arguments NULL terminated) in phase @phase, as the agent does. */
int helper(const char *apqns, const char *types, const char *name, ...) __attribute__((sentinel));

#define ZKEY(apqns, types, phase, unassigned)                                                       \
	helper(apqns, types, "helpers/mkagent-zkey", "--tool", bin_zkey, "--repository", repo,        \
	       "--unassigned", unassigned, phase, NULL)
#define ZCS(apqns, types, phase, unassigned)                                                        \
	helper(apqns, types, "helpers/mkagent-zkey-cryptsetup", "--zkey", bin_zkey, "--tool", bin_zcs, \
	       "--repository", repo, "--unassigned", unassigned, phase, NULL)
#define KMIP(apqns, types, phase)                                                                   \
	helper(apqns, types, "helpers/mkagent-zkey-kmip", "--tool", bin_zkey, "--repository", repo,   \
	       phase, NULL)

/* A simkeys store of one key at @rel in the simulator's directory, made on @a. */
void store(const char *rel, struct apqn a, const char *type);
/* A key of the repository and its .info properties. */
void key(const char *name, struct apqn a, const char *type, const char *props);
/* A LUKS2 volume @dev (/ as _): its volume key, its APQNs and its passphrase. */
void volume(const char *dev, struct apqn a, const char *type, const char *apqns, const char *pass);
/* Whether the keys of the store at @rel pass simkeys verify on @a, none staged. */
bool under(const char *rel, struct apqn a);
/* Whether a passphrase is in a tool's argv or environment (the simulator's
 * calls log) or in a file of the work directory. */
bool pass_leaked(void);
/* The simulator's directory, the zkey and zkey-cryptsetup commands, the
 * repository's keys (two volumes of one key, a plain key, a key with no
 * APQNs), their volumes and the KMIP plugin's keys, all under CCA[0]. */
void zkey_setup(void);
