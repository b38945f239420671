// SPDX-License-Identifier: MIT
/*
 * apsim-uevent.c - uevents as the kernel sends them: the properties of
 * cards and queues (ap_uevent(), dev_uevent()), the root device's
 * BINDINGS=complete, and apmask and aqmask, whose change rebinds the
 * queues it moves and ends with APMASK= or AQMASK= (ap_bus.c). Also when
 * the last uevent left, for the tests that time the agent.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "apsim-internal.h"
#include "io/clock.h"

/* ---- uevent properties, as the kernel's ap_uevent() and dev_uevent() ---- */

static void card_props(const struct apsim *sim, unsigned int card, const char *extra, char *buf,
		       size_t size)
{
	const struct sim_card *c = &sim->cards[card];

	snprintf(buf, size, "DEVTYPE=ap_card\nDRIVER=cex4card\nDEV_TYPE=%04X\nMODALIAS=ap:t%02X\nMODE=%s\n%s",
		 c->gen + 6, c->gen + 6, sim_mode_word(c->mode), extra ? extra : "");
}

static void queue_props(const struct apsim *sim, const struct sim_queue *q, const char *extra,
			char *buf, size_t size)
{
	snprintf(buf, size, "DEVTYPE=ap_queue\n%s%s%sMODE=%s\n%s", q->driver ? "DRIVER=" : "",
		 q->driver ? q->driver : "", q->driver ? "\n" : "",
		 sim_mode_word(sim->cards[q->apqn.card].mode), extra ? extra : "");
}

/* Write the uevent file, send @action with it, and leave the file with
 * the device's lasting properties, as sysfs shows them afterwards. */
static void send_uevent(struct apsim *sim, const char *devpath, const char *action,
			const char *props_during, const char *props_after)
{
	char path[PATH_MAX];

	sim_real_path(sim, devpath, "uevent", path, sizeof(path));
	sim_write_file(path, props_during);
	sim->last_uevent_us = now_us();
	umockdev_testbed_uevent(sim->tb, devpath, action);
	sim_write_file(path, props_after);
}

void sim_queue_uevent(struct apsim *sim, const struct sim_queue *q, const char *action,
		      const char *extra)
{
	char devpath[128], during[512], after[512];

	sim_queue_devpath(q->apqn, devpath, sizeof(devpath));
	queue_props(sim, q, extra, during, sizeof(during));
	queue_props(sim, q, NULL, after, sizeof(after));
	send_uevent(sim, devpath, action, during, after);
}

void sim_card_uevent(struct apsim *sim, unsigned int card, const char *action, const char *extra)
{
	char devpath[128], during[512], after[512];

	sim_card_devpath(card, devpath, sizeof(devpath));
	card_props(sim, card, extra, during, sizeof(during));
	card_props(sim, card, NULL, after, sizeof(after));
	send_uevent(sim, devpath, action, during, after);
}

int apsim_change_uevent(struct apsim *sim, struct apqn a)
{
	char devpath[128];

	if (!sim_find_queue(sim, a))
		return -ENOENT;
	sim_queue_devpath(a, devpath, sizeof(devpath));
	sim->last_uevent_us = now_us();
	umockdev_testbed_uevent(sim->tb, devpath, "change");
	return 0;
}

long long apsim_last_uevent_us(const struct apsim *sim)
{
	return sim->last_uevent_us;
}

void apsim_bindings_complete(struct apsim *sim)
{
	char props[96];

	snprintf(props, sizeof(props), "BINDINGS=complete\nCOMPLETECOUNT=%llu\n",
		 ++sim->complete_count);
	send_uevent(sim, "/sys/devices/ap", "change", props, "");
}

static bool mask_bit(const uint8_t mask[32], unsigned int bit)
{
	return mask[bit / 8] & (0x80 >> (bit % 8));
}

int apsim_set_mask(struct apsim *sim, enum apsim_mask which, unsigned int bit, bool host)
{
	uint8_t *m = sim->mask[which];
	char props[128];

	if (bit > 0xff || (which != APSIM_APMASK && which != APSIM_AQMASK))
		return -EINVAL;
	if (mask_bit(m, bit) == host)
		return 0; /* no change, no uevent (apmask_store()) */
	if (host)
		m[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	else
		m[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	sim_update_bus(sim);
	/* ap_bus_revise_bindings(): each bound queue whose owner changed is
	 * reprobed, zcrypt for the host's, vfio_ap for the others */
	for (int c = 0; c < 256; c++) {
		for (int d = 0; sim->cards[c].exists && d < 256; d++) {
			struct sim_queue *q = sim->cards[c].queues[d];
			bool owned = mask_bit(sim->mask[APSIM_APMASK], (unsigned int)c) &&
				     mask_bit(sim->mask[APSIM_AQMASK], (unsigned int)d);

			if (q && q->driver && owned != (strcmp(q->driver, "cex4queue") == 0))
				apsim_bind(sim, q->apqn, owned ? "cex4queue" : "vfio_ap");
		}
	}
	/* then ap_send_mask_changed_uevent() */
	snprintf(props, sizeof(props), "%s=", which == APSIM_APMASK ? "APMASK" : "AQMASK");
	sim_mask_text(m, props + strlen(props));
	send_uevent(sim, "/sys/devices/ap", "change", props, "");
	return 0;
}
