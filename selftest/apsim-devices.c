// SPDX-License-Identifier: MIT
/*
 * apsim-devices.c - the cards and queues in the testbed's /sys: a card of
 * a type and mode with the attributes ap_card.c shows, a queue bound to
 * cex4queue or vfio_ap (zcrypt's attributes come and go with the driver),
 * and the state changes of both (online, config, chkstop), each with the
 * uevent the kernel sends for it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "apsim-internal.h"

#define AP_FUNC_MEX4K 0x80000000u
#define AP_FUNC_CRT4K 0x40000000u
#define AP_FUNC_COPRO 0x10000000u
#define AP_FUNC_ACCEL 0x08000000u
#define AP_FUNC_EP11 0x04000000u
#define AP_FUNC_APXA 0x02000000u

static void update_queue_attrs(struct apsim *sim, const struct sim_queue *q)
{
	char devpath[128];

	sim_update_counts(sim, q->apqn.card, q);
	sim_queue_devpath(q->apqn, devpath, sizeof(devpath));
	umockdev_testbed_set_attribute(sim->tb, devpath, "config", q->config ? "1" : "0");
	umockdev_testbed_set_attribute(sim->tb, devpath, "chkstop", q->chkstop ? "1" : "0");
	if (q->driver && strcmp(q->driver, "cex4queue") == 0)
		umockdev_testbed_set_attribute(sim->tb, devpath, "online",
					       q->online && q->config && !q->chkstop ? "1" : "0");
	sim_update_mkvps(sim, q);
}

void sim_update_card_queues(struct apsim *sim, unsigned int card)
{
	for (int d = 0; d < 256; d++)
		if (sim->cards[card].queues[d])
			sim_update_mkvps(sim, sim->cards[card].queues[d]);
}

int apsim_add_card(struct apsim *sim, unsigned int card, const char *type)
{
	struct sim_card *c;
	char name[16], hw[8], funcs[16], devtype[8], modalias[16], devpath[64];
	unsigned int f = AP_FUNC_APXA;
	int gen;
	size_t len = strlen(type);

	if (card > 0xff || sim->cards[card].exists)
		return -EEXIST;
	if (len != 5 || strncmp(type, "CEX", 3) != 0 || type[3] < '4' || type[3] > '8' ||
	    !strchr("ACP", type[4]))
		return -EINVAL;
	gen = type[3] - '0';
	c = &sim->cards[card];
	*c = (struct sim_card){ .exists = true, .gen = gen, .mode = type[4], .online = true,
				.config = true };
	snprintf(c->type, sizeof(c->type), "%s", type);
	f |= c->mode == 'A' ? AP_FUNC_ACCEL | AP_FUNC_MEX4K | AP_FUNC_CRT4K :
	     c->mode == 'C' ? AP_FUNC_COPRO | AP_FUNC_MEX4K :
			      AP_FUNC_EP11;
	snprintf(name, sizeof(name), "card%02x", card);
	snprintf(hw, sizeof(hw), "%d", gen + 6);
	snprintf(funcs, sizeof(funcs), "0x%08X", f);
	snprintf(devtype, sizeof(devtype), "%04X", gen + 6);
	snprintf(modalias, sizeof(modalias), "ap:t%02X", gen + 6);
	/* umockdev sends the add uevent with these properties */
	g_free(umockdev_testbed_add_device(sim->tb, "ap", name, "/sys/devices/ap", "type", type,
					   "hwtype", hw, "raw_hwtype", hw, "ap_functions", funcs,
					   "online", "1", "config", "1", "chkstop", "0", "depth",
					   "8", NULL, "DEVTYPE", "ap_card", "DEV_TYPE", devtype,
					   "MODALIAS", modalias, "MODE", sim_mode_word(c->mode), NULL));
	sim_card_devpath(card, devpath, sizeof(devpath));
	if (c->mode != 'A')
		umockdev_testbed_set_attribute(sim->tb, devpath, "serialnr",
					       c->mode == 'C' ? "93AADFK7" : "93AABEXB00000000");
	umockdev_testbed_set_attribute_link(sim->tb, devpath, "driver",
					    "../../../bus/ap/drivers/cex4card");
	sim_update_counts(sim, card, NULL);
	sim_card_uevent(sim, card, "bind", NULL);
	return 0;
}

static void init_registers(const struct sim_card *c, struct sim_queue *q)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		bool mine = c->mode == 'C' ? mk_type_is_cca(t) : c->mode == 'P' && t == MK_EP11;

		if (!mine)
			continue;
		q->reg[t][REG_NEW].state = REG_EMPTY;
		q->reg[t][REG_CUR].state = REG_VALID;
		apsim_random_key(t, &q->reg[t][REG_CUR].key);
		q->reg[t][REG_OLD].state = REG_INVALID;
	}
}

int apsim_add_queue(struct apsim *sim, struct apqn a)
{
	struct sim_card *c = &sim->cards[a.card];
	struct sim_queue *q;
	char name[16], carddev[64], dir[PATH_MAX];

	if (!c->exists)
		return -ENOENT;
	if (c->queues[a.domain])
		return -EEXIST;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	/* created by the bus scan, usable: ap_queue_init_state() (ap_bus.c) */
	*q = (struct sim_queue){ .apqn = a, .online = true, .config = true, .initiated = true,
				 .wd = -1 };
	init_registers(c, q);
	c->queues[a.domain] = q;
	snprintf(name, sizeof(name), "%02x.%04x", a.card, a.domain);
	sim_card_devpath(a.card, carddev, sizeof(carddev));
	g_free(umockdev_testbed_add_device(sim->tb, "ap", name, carddev, "config", "1", "chkstop",
					   "0", NULL, "DEVTYPE", "ap_queue", "MODE", sim_mode_word(c->mode),
					   NULL));
	sim_update_counts(sim, a.card, q);
	/* The first domain with a usable queue becomes the default, which
	 * stays (ap_select_domain() in ap_bus.c). */
	if (sim->ap_domain < 0)
		sim->ap_domain = a.domain;
	sim_set_usage_domain(sim, a.domain);
	sim_real_path(sim, carddev, name, dir, sizeof(dir));
	q->wd = inotify_add_watch(sim->ifd, dir, IN_CLOSE_NOWRITE);
	if (q->wd >= 0 && (size_t)q->wd >= sim->nwd) {
		size_t n = (size_t)q->wd * 2 + 16;
		struct sim_queue **v = realloc(sim->by_wd, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memset(v + sim->nwd, 0, (n - sim->nwd) * sizeof(*v));
		sim->by_wd = v;
		sim->nwd = n;
	}
	if (q->wd >= 0)
		sim->by_wd[q->wd] = q;
	return apsim_bind(sim, a, "cex4queue");
}

int apsim_bind(struct apsim *sim, struct apqn a, const char *driver)
{
	struct sim_queue *q = sim_find_queue(sim, a);
	char devpath[128], path[PATH_MAX];

	if (!q)
		return -ENOENT;
	sim_queue_devpath(a, devpath, sizeof(devpath));
	if (q->driver) {
		/* zcrypt's attributes go with the driver */
		static const char *const gone[] = { "online", "mkvps", "driver" };

		for (size_t i = 0; i < 3; i++) {
			sim_real_path(sim, devpath, gone[i], path, sizeof(path));
			unlink(path);
		}
		q->driver = NULL;
		/* flushed, reset and UNINITIATED: ap_queue_prepare_remove(),
		 * ap_queue_remove() */
		q->initiated = false;
		q->requestq = q->pendingq = 0;
		sim_update_counts(sim, a.card, q);
		sim_queue_uevent(sim, q, "unbind", NULL);
	}
	if (!driver)
		return 0;
	if (strcmp(driver, "cex4queue") != 0 && strcmp(driver, "vfio_ap") != 0)
		return -EINVAL;
	q->driver = strcmp(driver, "cex4queue") == 0 ? "cex4queue" : "vfio_ap";
	/* zcrypt's probe initializes the queue, vfio_ap's does not
	 * (zcrypt_cex4_queue_probe() in zcrypt_cex4.c) */
	if (strcmp(q->driver, "cex4queue") == 0)
		q->initiated = true;
	snprintf(path, sizeof(path), "../../../../bus/ap/drivers/%s", q->driver);
	umockdev_testbed_set_attribute_link(sim->tb, devpath, "driver", path);
	update_queue_attrs(sim, q);
	sim_queue_uevent(sim, q, "bind", NULL);
	return 0;
}

int apsim_remove_queue(struct apsim *sim, struct apqn a)
{
	struct sim_queue *q = sim_find_queue(sim, a);
	char devpath[128];

	if (!q)
		return -ENOENT;
	apsim_bind(sim, a, NULL);
	sim_queue_uevent(sim, q, "remove", NULL);
	sim_queue_devpath(a, devpath, sizeof(devpath));
	sim_drain_reads(sim);
	if (q->wd >= 0) {
		inotify_rm_watch(sim->ifd, q->wd);
		sim->by_wd[q->wd] = NULL;
	}
	umockdev_testbed_remove_device(sim->tb, devpath);
	sim->cards[a.card].queues[a.domain] = NULL;
	free(q);
	sim_update_counts(sim, a.card, NULL);
	sim_set_usage_domain(sim, a.domain);
	return 0;
}

int apsim_set_online(struct apsim *sim, struct apqn a, bool on)
{
	struct sim_queue *q = sim_find_queue(sim, a);

	if (!q)
		return -ENOENT;
	q->online = on;
	if (!on)
		q->requestq = q->pendingq = 0; /* flushed: online_store() in zcrypt_queue.c */
	update_queue_attrs(sim, q);
	sim_queue_uevent(sim, q, "change", on ? "ONLINE=1\n" : "ONLINE=0\n");
	return 0;
}

int apsim_set_config(struct apsim *sim, struct apqn a, bool on)
{
	struct sim_queue *q = sim_find_queue(sim, a);

	if (!q)
		return -ENOENT;
	q->config = on;
	if (!on)
		q->requestq = q->pendingq = 0; /* flushed: ap_scan_domains() */
	update_queue_attrs(sim, q);
	sim_queue_uevent(sim, q, "change", on ? "CONFIG=1\n" : "CONFIG=0\n");
	return 0;
}

int apsim_set_chkstop(struct apsim *sim, struct apqn a, bool on)
{
	struct sim_queue *q = sim_find_queue(sim, a);

	if (!q)
		return -ENOENT;
	q->chkstop = on;
	if (on)
		q->requestq = q->pendingq = 0; /* flushed: ap_scan_domains() */
	update_queue_attrs(sim, q);
	return 0;
}

int apsim_set_card_online(struct apsim *sim, unsigned int card, bool on)
{
	char devpath[64];

	if (card > 0xff || !sim->cards[card].exists)
		return -ENOENT;
	sim->cards[card].online = on;
	sim_card_devpath(card, devpath, sizeof(devpath));
	umockdev_testbed_set_attribute(sim->tb, devpath, "online", on ? "1" : "0");
	sim_update_card_queues(sim, card);
	sim_card_uevent(sim, card, "change", on ? "ONLINE=1\n" : "ONLINE=0\n");
	return 0;
}
