/* SPDX-License-Identifier: MIT */
/*
 * apbus.h - the AP bus as the kernel shows it through libudev: every
 * queue with its card's type and mode and its online/config/chkstop
 * attributes. Reading `mkvps` is a live HSM round trip, so it is a
 * separate call made only for the queues somebody asked about.
 */
#pragma once

#include <stdbool.h>

#include "core/apqn.h"
#include "core/errmsg.h"
#include "core/queue.h"

/* A queue on the bus (present), and where sysfs has it. */
struct ap_queue {
	QUEUE_EMBED(queue);
	char *syspath;
};

struct ap_bus {
	struct ap_queue *q;
	size_t n;
};

/* Enumerate every queue of the `ap` subsystem, sorted by APQN. */
int ap_bus_scan(struct ap_bus *bus, struct errmsg *e);
/* Only the queues of @want that exist: as many lookups as APQNs asked
 * for, whatever the size of the bus. */
int ap_bus_scan_apqns(struct ap_bus *bus, const struct apqn_list *want, struct errmsg *e);
void ap_bus_free(struct ap_bus *bus);
struct ap_queue *ap_bus_find(const struct ap_bus *bus, struct apqn a);

/*
 * Read and parse the queue's `mkvps`. A queue without the attribute
 * (accelerator, vfio_ap, no zcrypt driver) leaves regs_read false and
 * returns 0; a read error or malformed text returns a negative errno and
 * a message naming the queue.
 */
int ap_queue_read_mkvps(struct ap_queue *q, struct errmsg *e);

/* Mode from a card `type` such as CEX7C, else from `ap_functions`. */
enum ap_mode ap_mode_from_card(const char *type, const char *functions);
