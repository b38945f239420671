/* SPDX-License-Identifier: MIT */
/*
 * zkey.h - what the pieces of the zkey simulator share: the run's paths,
 * options and counters, small file helpers, the keys over apsim's HSM and
 * the walk over the repository's keys. The simulator itself is described
 * at the top of zkey.c; selftest/tools/README.md cites the upstream source
 * of each behaviour.
 *
 *   zkey.c             the program: --sim-dir, the trace, options, commands
 *   zkey-keys.c        the keys: one-key simkeys stores over apsim's HSM
 *   zkey-keystore.c    the repository and its .info files: filters, list,
 *                      validate, reencipher (zkey/keystore.c)
 *   zkey-kms.c         the KMIP plugin (zkey/kms.c, zkey/kmip/zkey-kmip.c)
 *   zkey-cryptsetup.c  zkey-cryptsetup (zkey/zkey-cryptsetup.c)
 */
#ifndef ZKEY_H
#define ZKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "../apsim.h"
#include "../simkey.h"

/* zkey.c */
extern char dir[4096], hsm[4096], simkeys[4096], repo[4200];
extern unsigned long n_done, n_skipped, n_failed;

struct opts {
	const char *apqns, *name, *volume_type, *key_file;
	bool to_new, from_old, staged, in_place, complete, batch;
};
extern struct opts opt;

void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void first_line(const char *path, char *buf, size_t size);
bool exists(const char *path);
void touch(const char *path);

/* zkey-keys.c */
bool skey_read(const char *store, struct simkey *k);
bool reg_pattern(const char *apqns, enum mk_type t, enum mk_reg r, struct mkvp *out);
bool skey_valid(const struct mkvp *p, int t, const char *apqns, bool *is_old);
bool run_simkeys(const char *store, const char *apqns, int t, const struct mkvp *p,
		 const char *phase);
bool to_new(const char *store, const char *apqns, int t);
bool from_old(const char *store, const char *apqns, int t);
bool complete(const char *store, const char *apqns, const struct simkey *k);

/* zkey-keystore.c */
struct key_files {
	char name[256], skey[8400], info[8400], renc[8400];
};

extern bool validating;
extern unsigned long n_valid, n_invalid;

int each_key(bool kms_bound, void (*fn)(const struct key_files *kf));
void key_apqns(const struct key_files *kf, char *out, size_t size);
void list_one(const struct key_files *kf);
void reencipher_one(const struct key_files *kf);

/* zkey-kms.c */
bool kms_bound(void);
int kms_info(void);
int kms_reencipher(void);
int kms_refresh(void);

/* zkey-cryptsetup.c */
int cryptsetup(int argc, char **argv);

#endif
