// SPDX-License-Identifier: MIT
/*
 * apsim-mkvps.c - a queue's `mkvps` as zcrypt_cex4.c prints it from the
 * HSM's registers (CCA AES, APKA and ASYM, EP11 WK; "- -" while the queue
 * is not usable), rewritten on every change of a register or of the
 * queue's state; and how often it was read, counted with inotify.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "apsim-internal.h"

/* ---- mkvps as zcrypt_cex4.c prints it ---- */

static bool queue_usable(const struct apsim *sim, const struct sim_queue *q)
{
	const struct sim_card *c = &sim->cards[q->apqn.card];

	return q->online && q->config && !q->chkstop && c->online && c->config && !c->chkstop;
}

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*len += (size_t)vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
}

void sim_hex_lower(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static void cca_line(const struct sim_queue *q, bool usable, enum mk_type t, enum mk_reg r,
		     const char *name, char *buf, size_t size, size_t *len)
{
	static const char *const regname[] = { "NEW", "CUR", "OLD" };
	const struct sim_reg *reg = &q->reg[t][r];
	size_t nbytes = mk_type_sysfs_bytes(t);
	char hex[2 * MKVP_MAX_BYTES + 1];
	struct mkvp p = { .len = (uint8_t)nbytes };

	if (!usable) {
		append(buf, size, len, "%s %s: - -\n", name, regname[r]);
		return;
	}
	if (reg_state_has_mkvp(reg->state))
		apsim_key_mkvp(t, &reg->key, &p);
	sim_hex_lower(p.b, nbytes, hex);
	append(buf, size, len, "%s %s: %s 0x%s\n", name, regname[r], reg_state_name(reg->state),
	       hex);
}

static void ep11_line(const struct sim_queue *q, bool usable, enum mk_reg r, char *buf,
		      size_t size, size_t *len)
{
	const struct sim_reg *reg = &q->reg[MK_EP11][r];
	const char *name = r == REG_CUR ? "WK CUR" : "WK NEW";
	char hex[2 * MKVP_MAX_BYTES + 1];
	struct mkvp p;

	if (!usable) {
		append(buf, size, len, "%s: - -\n", name);
		return;
	}
	if (reg->state == REG_INVALID || reg->state == REG_EMPTY) {
		append(buf, size, len, "%s: %s -\n", name, reg_state_name(reg->state));
		return;
	}
	apsim_key_mkvp(MK_EP11, &reg->key, &p);
	sim_hex_lower(p.b, p.len, hex);
	append(buf, size, len, "%s: %s 0x%s\n", name, reg_state_name(reg->state), hex);
}

void sim_update_mkvps(struct apsim *sim, const struct sim_queue *q)
{
	static const struct {
		enum mk_type t;
		const char *name;
	} cca[] = { { MK_CCA_AES, "AES" }, { MK_CCA_APKA, "APKA" }, { MK_CCA_ASYM, "ASYM" } };
	char devpath[128], text[2048];
	bool usable = queue_usable(sim, q);
	size_t len = 0;

	sim_save_hsm(sim, q);
	if (q->driver == NULL || strcmp(q->driver, "cex4queue") != 0)
		return;
	switch (sim->cards[q->apqn.card].mode) {
	case 'C':
		for (size_t i = 0; i < sizeof(cca) / sizeof(cca[0]); i++) {
			if (cca[i].t == MK_CCA_ASYM && !sim->asym)
				continue;
			for (int r = 0; r < REG_COUNT; r++)
				cca_line(q, usable, cca[i].t, r, cca[i].name, text, sizeof(text), &len);
		}
		break;
	case 'P':
		ep11_line(q, usable, REG_CUR, text, sizeof(text), &len);
		ep11_line(q, usable, REG_NEW, text, sizeof(text), &len);
		break;
	default:
		return; /* accelerators have no mkvps */
	}
	sim_queue_devpath(q->apqn, devpath, sizeof(devpath));
	umockdev_testbed_set_attribute(sim->tb, devpath, "mkvps", text);
}

/* ---- counting reads of mkvps ---- */

void sim_drain_reads(struct apsim *sim)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(sim->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->len && strcmp(ev->name, "mkvps") == 0 && ev->wd >= 0 &&
			    (size_t)ev->wd < sim->nwd && sim->by_wd[ev->wd])
				sim->by_wd[ev->wd]->reads++;
		}
	}
}

int apsim_mkvps_reads(struct apsim *sim, struct apqn a)
{
	struct sim_queue *q = sim_find_queue(sim, a);

	sim_drain_reads(sim);
	return q ? q->reads : -ENOENT;
}

int apsim_mkvps_reads_total(struct apsim *sim)
{
	int total = 0;

	sim_drain_reads(sim);
	for (int c = 0; c < 256; c++)
		for (int d = 0; sim->cards[c].exists && d < 256; d++)
			if (sim->cards[c].queues[d])
				total += sim->cards[c].queues[d]->reads;
	return total;
}
