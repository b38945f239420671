// SPDX-License-Identifier: MIT
/*
 * simkeys-helper.c - simkeys run by mkagent as a helper (DESIGN §5): the
 * operation from MKAGENT_*, the PIN asked for over fd 3, each phase on
 * every key of the store, and the safety invariants a phase must find
 * on the HSM when it starts.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simkeys-internal.h"

#define PIN_LABEL "simkeys"

/* ---- PIN over fd 3 ---- */

static void check_pin(void)
{
	char path[4096], want[128] = "", line[256], got[65];
	unsigned char md[32];
	FILE *f, *sock;

	snprintf(path, sizeof(path), "%s/pin.sha256", store);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(want, sizeof(want), f))
		want[0] = '\0';
	fclose(f);
	want[strcspn(want, "\n")] = '\0';
	sock = fdopen(3, "r+");
	if (!sock)
		die("no PIN channel on fd 3%s", "");
	fprintf(sock, "PIN %s\n", PIN_LABEL);
	fflush(sock);
	if (!fgets(line, sizeof(line), sock))
		die("no answer to the PIN request%s", "");
	if (strncmp(line, "OK ", 3) != 0) {
		line[strcspn(line, "\n")] = '\0';
		die("no PIN: %s", line);
	}
	line[strcspn(line, "\n")] = '\0';
	EVP_Digest(line + 3, strlen(line + 3), md, NULL, EVP_sha256(), NULL);
	memset(line, 0, sizeof(line));
	to_hex(md, 32, got);
	if (strcmp(got, want) != 0)
		die("wrong PIN for %s", PIN_LABEL);
}

/* ---- phases ---- */

static void env_apqns(struct apqn_list *l)
{
	const char *s = getenv("MKAGENT_APQNS");

	if (!s || apqn_list_parse(s, l, NULL) < 0)
		die("MKAGENT_APQNS is not set right%s", "");
}

static bool op_has_type(enum mk_type t, struct mkvp *want)
{
	char var[64], up[16];
	const char *v;
	size_t i;

	for (i = 0; mk_type_name(t)[i]; i++)
		up[i] = mk_type_name(t)[i] == '-' ? '_' : (char)toupper((unsigned char)mk_type_name(t)[i]);
	up[i] = '\0';
	snprintf(var, sizeof(var), "MKAGENT_NEW_MKVP_%s", up);
	v = getenv(var);
	return v && mkvp_parse_cli(t, v, want, NULL) == 0;
}

int run_phase(const char *phase)
{
	struct apqn_list apqns = { 0 };
	int n = key_count(), done = 0;
	char name[16];

	env_apqns(&apqns);
	check_pin();
	for (int i = 0; i < n; i++) {
		struct simkey k;
		struct apsim_key mk, nk;
		struct mkvp want, cur;
		uint8_t clear[BLOB_MAX];
		int len;

		snprintf(name, sizeof(name), "%05d", i);
		if (!key_load(name, &k) || !op_has_type(k.type, &want))
			continue;
		if (!strcmp(phase, "reencipher")) {
			if (k.staged_len && mkvp_matches(&k.staged_mkvp, &want))
				continue;
			if (mkvp_matches(&k.mkvp, &want))
				continue; /* already under the new key */
			if (!find_mk(&apqns, k.type, &want, REG_NEW, &nk))
				die("the new %s master key is not loaded", mk_type_name(k.type));
			if (!find_mk(&apqns, k.type, &k.mkvp, REG_COUNT, &mk))
				die("key %s: its master key is gone", name);
			len = wrap(&mk, k.blob, k.blob_len, clear, false);
			if (len != CLEAR_LEN)
				die("key %s does not unwrap", name);
			k.staged_len = wrap(&nk, clear, len, k.staged, true);
			apsim_key_mkvp(k.type, &nk, &k.staged_mkvp);
		} else if (!strcmp(phase, "finalize")) {
			reg_mkvp(&apqns, k.type, REG_CUR, &cur);
			if (!mkvp_matches(&cur, &want))
				die("the new %s master key is not active", mk_type_name(k.type));
			if (mkvp_matches(&k.mkvp, &want))
				continue;
			if (!k.staged_len || !mkvp_matches(&k.staged_mkvp, &want))
				die("key %s was not re-enciphered", name);
			memcpy(k.backup, k.blob, sizeof(k.backup));
			k.backup_len = k.blob_len;
			k.backup_mkvp = k.mkvp;
			memcpy(k.blob, k.staged, sizeof(k.blob));
			k.blob_len = k.staged_len;
			k.mkvp = k.staged_mkvp;
			k.staged_len = 0;
			k.staged_mkvp.len = 0;
		} else if (!strcmp(phase, "cancel")) {
			if (!k.staged_len)
				continue;
			k.staged_len = 0;
			k.staged_mkvp.len = 0;
		} else if (!strcmp(phase, "recover")) {
			reg_mkvp(&apqns, k.type, REG_CUR, &cur);
			if (mkvp_matches(&k.mkvp, &cur))
				continue;
			if (k.type == MK_EP11 || !find_mk(&apqns, k.type, &k.mkvp, REG_OLD, &mk))
				die("key %s cannot be recovered: its master key is gone", name);
			find_mk(&apqns, k.type, &cur, REG_CUR, &nk);
			len = wrap(&mk, k.blob, k.blob_len, clear, false);
			if (len != CLEAR_LEN)
				die("key %s does not unwrap", name);
			k.blob_len = wrap(&nk, clear, len, k.blob, true);
			k.mkvp = cur;
			k.staged_len = 0;
			k.staged_mkvp.len = 0;
		} else if (!strcmp(phase, "refresh")) {
			/* a KMIP server keeps the key: import it again under CUR */
			char path[4096], hex[2 * CLEAR_LEN + 2] = "";
			FILE *f;

			reg_mkvp(&apqns, k.type, REG_CUR, &cur);
			if (mkvp_matches(&k.mkvp, &cur) || !find_mk(&apqns, k.type, &cur, REG_CUR, &nk))
				continue;
			key_path(name, path, sizeof(path), "truth");
			f = fopen(path, "r");
			if (!f || !fgets(hex, sizeof(hex), f))
				die("key %s: the server has no such key", name);
			fclose(f);
			hex[strcspn(hex, "\n")] = '\0';
			len = from_hex(hex, clear, BLOB_MAX);
			k.blob_len = wrap(&nk, clear, len, k.blob, true);
			k.mkvp = cur;
			k.staged_len = 0;
			k.staged_mkvp.len = 0;
		} else {
			die("unknown phase %s", phase);
		}
		memset(clear, 0, sizeof(clear));
		key_save(name, &k);
		done++;
	}
	printf("%d keys %s\n", done,
	       !strcmp(phase, "reencipher") ? "re-enciphered" : !strcmp(phase, "finalize") ? "finalized" :
	       !strcmp(phase, "cancel")     ? "canceled" : !strcmp(phase, "recover") ? "recovered" :
					      "refreshed");
	apqn_list_free(&apqns);
	return 0;
}

/*
 * The safety invariants at the moment a phase starts (DESIGN §3), as the
 * HSM shows them: I1 before reencipher, I2 before finalize, I3 before
 * cancel. A violation is appended to @file; the exit status says whether
 * there was one.
 */
int check(const char *phase, const char *file)
{
	struct apqn_list apqns = { 0 };
	const char *types = getenv("MKAGENT_MK_TYPES");
	char buf[128], *save = NULL;
	int bad = 0;

	env_apqns(&apqns);
	snprintf(buf, sizeof(buf), "%s", types ? types : "");
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		int t = mk_type_from_name(w);
		struct mkvp want;

		if (t < 0 || !op_has_type(t, &want))
			continue;
		for (size_t i = 0; i < apqns.n; i++) {
			enum reg_state ns = REG_UNKNOWN, cs = REG_UNKNOWN;
			struct apsim_key nk = { 0 }, ck = { 0 };
			struct mkvp np = { 0 }, cp = { 0 };
			const char *why = NULL;
			char name[APQN_STR_MAX];

			apsim_hsm_read(hsm, apqns.v[i], t, REG_NEW, &ns, &nk);
			apsim_hsm_read(hsm, apqns.v[i], t, REG_CUR, &cs, &ck);
			if (reg_state_has_mkvp(ns))
				apsim_key_mkvp(t, &nk, &np);
			if (reg_state_has_mkvp(cs))
				apsim_key_mkvp(t, &ck, &cp);
			if (!strcmp(phase, "reencipher") && !mkvp_matches(&np, &want))
				why = "I1: reencipher while NEW does not hold the new key";
			else if (!strcmp(phase, "finalize") && !mkvp_matches(&cp, &want))
				why = "I2: finalize while CUR does not hold the new key";
			else if (!strcmp(phase, "cancel") && mkvp_matches(&cp, &want))
				why = "I3: cancel while CUR holds the new key";
			if (why) {
				FILE *f = fopen(file, "a");

				if (f) {
					fprintf(f, "%s %s on %s (%s)\n", getenv("MKAGENT_OP_ID"), why,
						apqn_format(apqns.v[i], name), w);
					fclose(f);
				}
				bad++;
			}
		}
	}
	apqn_list_free(&apqns);
	return bad ? 1 : 0;
}
