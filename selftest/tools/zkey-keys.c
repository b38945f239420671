// SPDX-License-Identifier: MIT
/*
 * zkey-keys.c - the zkey simulator's secure keys: one-key simkeys stores
 * over apsim's HSM. Whether a key is valid, and its re-encipherments (to
 * NEW staged, from OLD in place, the staged copy made the key), each run by
 * simkeys as a helper.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zkey.h"

/* The key of a one-key simkeys store. */
bool skey_read(const char *store, struct simkey *k)
{
	char path[8192];

	simkey_path(store, 0, path, sizeof(path));
	return simkey_read(path, k) == 0;
}

/* The pattern register @r of @apqns shows for @t (the first that has one). */
bool reg_pattern(const char *apqns, enum mk_type t, enum mk_reg r, struct mkvp *out)
{
	struct apqn_list l = { 0 };
	bool found = false;

	if (apqn_list_parse(apqns, &l, NULL) < 0)
		return false;
	for (size_t i = 0; i < l.n && !found; i++) {
		enum reg_state st = REG_UNKNOWN;
		struct apsim_key k;

		if (apsim_hsm_read(hsm, l.v[i], t, r, &st, &k) == 0 && reg_state_has_mkvp(st)) {
			apsim_key_mkvp(t, &k, out);
			found = true;
		}
	}
	apqn_list_free(&l);
	return found;
}

/* validate_secure_key (zkey/utils.c): valid under CURRENT, or under OLD (CCA only). */
bool skey_valid(const struct mkvp *p, int t, const char *apqns, bool *is_old)
{
	struct mkvp r;

	*is_old = false;
	if (p->len && reg_pattern(apqns, t, REG_CUR, &r) && mkvp_matches(&r, p))
		return true;
	if (p->len && mk_type_has_reg(t, REG_OLD) && reg_pattern(apqns, t, REG_OLD, &r) &&
	    mkvp_matches(&r, p))
		return *is_old = true;
	return false;
}

/* Run simkeys as a helper on @store for @phase with @p as the operation's pattern. */
bool run_simkeys(const char *store, const char *apqns, int t, const struct mkvp *p,
		 const char *phase)
{
	char var[64], hex[MKVP_STR_MAX];
	struct mkvp cut = *p;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		clearenv();
		setenv("MKAGENT_APQNS", apqns, 1);
		snprintf(var, sizeof(var), "MKAGENT_NEW_MKVP_%s", mk_type_name(t));
		for (char *c = var; *c; c++)
			*c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
		mkvp_truncate(&cut, mk_type_cli_bytes(t));
		setenv(var, mkvp_format(&cut, hex), 1);
		execl(simkeys, simkeys, "--store", store, "--hsm", hsm, phase, NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* CURRENT -> NEW, staged: what reencipher_secure_key(REENCIPHER_CURRENT_TO_NEW) does. */
bool to_new(const char *store, const char *apqns, int t)
{
	struct mkvp n;

	return reg_pattern(apqns, t, REG_NEW, &n) && run_simkeys(store, apqns, t, &n, "reencipher");
}

/* OLD -> CURRENT, in place (CCA only). */
bool from_old(const char *store, const char *apqns, int t)
{
	struct mkvp c;

	return mk_type_has_reg(t, REG_OLD) && reg_pattern(apqns, t, REG_CUR, &c) &&
	       run_simkeys(store, apqns, t, &c, "recover");
}

/* The staged copy becomes the key: valid only once its key is CURRENT. */
bool complete(const char *store, const char *apqns, const struct simkey *k)
{
	struct mkvp c;

	return k->staged_mkvp.len && reg_pattern(apqns, k->type, REG_CUR, &c) &&
	       mkvp_matches(&c, &k->staged_mkvp) &&
	       run_simkeys(store, apqns, k->type, &k->staged_mkvp, "finalize");
}
