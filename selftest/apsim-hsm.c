// SPDX-License-Identifier: MIT
/*
 * apsim-hsm.c - the HSM directory: the registers of each APQN kept as a
 * file (TYPE REG STATE KEY lines), rewritten with `mkvps`, so that the
 * simulated consumers mkagent runs as helpers in other processes
 * (simkeys, the tool simulators) can wrap keys under the master keys.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "apsim-internal.h"

/* The HSM's registers, for simulated consumers in other processes. */
void sim_save_hsm(const struct apsim *sim, const struct sim_queue *q)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], hex[2 * APSIM_KEY_MAX + 1];
	FILE *f;

	snprintf(path, sizeof(path), "%s/hsm/%02x.%04x", sim->root, q->apqn.card, q->apqn.domain);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		for (int r = 0; r < REG_COUNT; r++) {
			const struct sim_reg *reg = &q->reg[t][r];

			if (reg->state == REG_UNKNOWN)
				continue;
			sim_hex_lower(reg->key.b, reg->key.len, hex);
			fprintf(f, "%s %s %s %s\n", mk_type_name(t), mk_reg_name(r),
				reg_state_name(reg->state), reg->key.len ? hex : "-");
		}
	}
	fclose(f);
	rename(tmp, path);
}

const char *apsim_hsm_dir(const struct apsim *sim)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/hsm", sim->root);
	return path;
}

int apsim_hsm_read(const char *hsm_dir, struct apqn a, enum mk_type t, enum mk_reg r,
		   enum reg_state *state, struct apsim_key *key)
{
	char path[PATH_MAX], line[256];
	FILE *f;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "%s/%02x.%04x", hsm_dir, a.card, a.domain);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char type[16], reg[8], st[16], hex[2 * APSIM_KEY_MAX + 2];

		if (sscanf(line, "%15s %7s %15s %65s", type, reg, st, hex) != 4 ||
		    strcmp(type, mk_type_name(t)) != 0 || strcmp(reg, mk_reg_name(r)) != 0)
			continue;
		for (int s = 0; s < REG_STATE_COUNT; s++)
			if (strcmp(st, reg_state_name(s)) == 0)
				*state = s;
		key->len = 0;
		if (strcmp(hex, "-") != 0) {
			size_t n = strlen(hex) / 2;

			for (size_t i = 0; i < n && i < APSIM_KEY_MAX; i++)
				sscanf(hex + 2 * i, "%2hhx", &key->b[i]);
			key->len = (uint8_t)n;
		}
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}
