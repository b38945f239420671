// SPDX-License-Identifier: MIT
/*
 * apsim-tke.c - the HSM's master keys and what the TKE does to them:
 * random keys and the patterns derived from them, a load in two steps,
 * activation, clearing NEW and zeroizing the domain. Each action rewrites
 * `mkvps`; none sends a uevent, as none does on a real bus.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "apsim-internal.h"

static size_t key_bytes(enum mk_type t)
{
	/* triple-DES keys for SYM and ASYM, AES-256 for the others */
	return t == MK_CCA_SYM || t == MK_CCA_ASYM ? 24 : 32;
}

void apsim_random_key(enum mk_type t, struct apsim_key *k)
{
	k->len = (uint8_t)key_bytes(t);
	if (RAND_bytes(k->b, k->len) != 1)
		abort();
}

void apsim_key_mkvp(enum mk_type t, const struct apsim_key *k, struct mkvp *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *name = mk_type_name(t);

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, "apsim-mkvp:", 11);
	EVP_DigestUpdate(ctx, name, strlen(name));
	EVP_DigestUpdate(ctx, k->b, k->len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	out->len = (uint8_t)mk_type_sysfs_bytes(t);
	memcpy(out->b, md, out->len);
}

static struct sim_reg *queue_reg(struct apsim *sim, struct apqn a, enum mk_type t, enum mk_reg r,
				 struct sim_queue **qp)
{
	struct sim_queue *q = sim_find_queue(sim, a);
	char mode;

	if (!q)
		return NULL;
	mode = sim->cards[a.card].mode;
	if ((mode == 'C' && !mk_type_is_cca(t)) || (mode == 'P' && t != MK_EP11) || mode == 'A' ||
	    !mk_type_has_reg(t, r))
		return NULL;
	*qp = q;
	return &q->reg[t][r];
}

int apsim_load_part(struct apsim *sim, struct apqn a, enum mk_type t, const struct apsim_key *k)
{
	struct sim_queue *q;
	struct sim_reg *n = queue_reg(sim, a, t, REG_NEW, &q);

	if (!n)
		return -ENOENT;
	n->state = t == MK_EP11 ? REG_UNCOMMITTED : REG_PARTIAL;
	n->key = *k;
	sim_update_mkvps(sim, q);
	return 0;
}

int apsim_commit(struct apsim *sim, struct apqn a, enum mk_type t)
{
	struct sim_queue *q;
	struct sim_reg *n = queue_reg(sim, a, t, REG_NEW, &q);

	if (!n)
		return -ENOENT;
	if (n->state != REG_PARTIAL && n->state != REG_UNCOMMITTED)
		return -EINVAL;
	n->state = t == MK_EP11 ? REG_COMMITTED : REG_FULL;
	sim_update_mkvps(sim, q);
	return 0;
}

int apsim_load(struct apsim *sim, struct apqn a, enum mk_type t, const struct apsim_key *k)
{
	int rc = apsim_load_part(sim, a, t, k);

	return rc < 0 ? rc : apsim_commit(sim, a, t);
}

int apsim_activate(struct apsim *sim, struct apqn a, enum mk_type t)
{
	struct sim_queue *q;
	struct sim_reg *n = queue_reg(sim, a, t, REG_NEW, &q);
	struct sim_reg *cur, *old;

	if (!n)
		return -ENOENT;
	if (n->state != REG_FULL && n->state != REG_COMMITTED)
		return -EINVAL;
	cur = &q->reg[t][REG_CUR];
	old = &q->reg[t][REG_OLD];
	if (mk_type_has_reg(t, REG_OLD))
		*old = *cur;
	*cur = (struct sim_reg){ .state = REG_VALID, .key = n->key };
	*n = (struct sim_reg){ .state = REG_EMPTY };
	sim_update_mkvps(sim, q);
	return 0;
}

int apsim_clear_new(struct apsim *sim, struct apqn a, enum mk_type t)
{
	struct sim_queue *q;
	struct sim_reg *n = queue_reg(sim, a, t, REG_NEW, &q);

	if (!n)
		return -ENOENT;
	*n = (struct sim_reg){ .state = REG_EMPTY };
	sim_update_mkvps(sim, q);
	return 0;
}

int apsim_zeroize(struct apsim *sim, struct apqn a)
{
	struct sim_queue *q = sim_find_queue(sim, a);

	if (!q)
		return -ENOENT;
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		if (q->reg[t][REG_CUR].state == 0)
			continue; /* not a type of this queue */
		q->reg[t][REG_NEW] = (struct sim_reg){ .state = REG_EMPTY };
		q->reg[t][REG_CUR] = (struct sim_reg){ .state = REG_INVALID };
		if (mk_type_has_reg(t, REG_OLD))
			q->reg[t][REG_OLD] = (struct sim_reg){ .state = REG_INVALID };
	}
	sim_update_mkvps(sim, q);
	return 0;
}

int apsim_get_key(const struct apsim *sim, struct apqn a, enum mk_type t, enum mk_reg r,
		  struct apsim_key *out)
{
	struct sim_queue *q;
	struct sim_reg *reg = queue_reg((struct apsim *)sim, a, t, r, &q);

	if (!reg || !reg->key.len)
		return -ENOENT;
	*out = reg->key;
	return 0;
}
