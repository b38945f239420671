/* SPDX-License-Identifier: MIT */
/*
 * queue.h - one AP queue as the kernel shows it (DESIGN §1): its card's
 * type and mode, its online, config and chkstop attributes, and its
 * registers once read. The AP bus reader (io/apbus.c) fills it and the
 * register view (core/guard.h) embeds it. Whether a queue can take part in
 * a step is decided here, and nowhere else.
 */
#pragma once

#include <stdbool.h>

#include "core/apqn.h"
#include "core/mktype.h"
#include "core/mkvps.h"

#define AP_CARD_TYPE_MAX 16

/*
 * The members of struct queue, written once. QUEUE_EMBED(name) puts them
 * in another struct both as one struct queue @name and by their own names,
 * as the kernel's struct_group_tagged() does: v->online is v->name.online,
 * and `v->name = *q` takes a whole queue at once.
 */
#define QUEUE_MEMBERS                                                                   \
	struct apqn apqn;                                                               \
	bool present;                       /* on the AP bus */                         \
	char card_type[AP_CARD_TYPE_MAX];   /* "" when the card shows none */           \
	enum ap_mode mode;                                                              \
	int online, config, chkstop;        /* 1, 0, or -1: no such attribute */        \
	bool regs_read;                     /* regs hold what was read */               \
	struct mkvps regs

struct queue {
	QUEUE_MEMBERS;
};

#define QUEUE_EMBED(name)              \
	union {                        \
		struct queue name;     \
		struct {               \
			QUEUE_MEMBERS; \
		};                     \
	}

/* Why a queue cannot take part in a step, in the order people are told. */
enum queue_usability {
	QUEUE_USABLE,
	QUEUE_ABSENT,
	QUEUE_DECONFIGURED,
	QUEUE_CHECKSTOPPED,
	QUEUE_OFFLINE, /* also a queue with no online attribute (bound to vfio_ap) */
};

/*
 * I1: only a queue that is on the bus, configured, not check-stopped and
 * online answers the HSM; any other's registers are unknown, and asking
 * for them is a wasted round trip.
 */
enum queue_usability queue_usability(const struct queue *q);
/* "usable", "not on the AP bus", "deconfigured", "check-stopped", "offline". */
const char *queue_usability_name(enum queue_usability u);
/* Whether @t's registers are on a queue of mode @m. */
bool mode_has_type(enum ap_mode m, enum mk_type t);
