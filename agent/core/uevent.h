/* SPDX-License-Identifier: MIT */
/*
 * uevent.h - an AP bus uevent as the agent needs it, whichever source it
 * came from. This is the one parser of uevent properties: the kernel's
 * NUL-separated netlink message is split here, a libudev device hands
 * over its properties one by one, and both go through
 * uevent_property(). Also the bus masks (/sys/bus/ap/apmask, aqmask)
 * that the root device's APMASK=/AQMASK= carry.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/apqn.h"
#include "core/errmsg.h"

enum ap_devtype {
	AP_DEV_OTHER,
	AP_DEV_ROOT,
	AP_DEV_CARD,
	AP_DEV_QUEUE,
};

/* 256 bits as ap_bus.c prints them ("0x" and 64 hex digits): bit 0, card
 * or domain 0, is the leftmost (the kernel's test_bit_inv()). */
struct ap_mask {
	uint8_t b[32];
};

struct uevent {
	char action[16];
	char devpath[256];
	enum ap_devtype devtype;
	struct apqn apqn; /* AP_DEV_QUEUE */
	int card;	  /* AP_DEV_CARD and AP_DEV_QUEUE */
	int online;	  /* ONLINE=, -1 when absent */
	int config;	  /* CONFIG=, -1 when absent */
	bool bindings_complete;
	bool initscan_done;
	/* the root device's APMASK= and AQMASK=: which cards and which
	 * domains the host's drivers may use from now on */
	bool has_apmask, has_aqmask;
	struct ap_mask apmask, aqmask;
	/* SUBSYSTEM= and DEVTYPE=, until uevent_finish() */
	char subsystem[16];
	char devtype_name[16];
};

/* Begin a uevent of @action on @devpath (a path under /sys, without it). */
int uevent_start(struct uevent *u, const char *action, const char *devpath, struct errmsg *e);
/* One property of it, KEY and VALUE apart. Unknown keys are ignored. */
int uevent_property(struct uevent *u, const char *key, const char *value, struct errmsg *e);
/* After the last property: -ENOMSG unless it is an AP bus device's. */
int uevent_finish(struct uevent *u);
/*
 * Parse a kernel uevent: "ACTION@DEVPATH\0KEY=VALUE\0...". Messages of
 * other subsystems give -ENOMSG; malformed ones -EINVAL with a message.
 */
int uevent_parse_kernel(const char *buf, size_t len, struct uevent *out, struct errmsg *e);

/* "0x" and 1 to 64 hex digits, left-aligned as the kernel reads them; a
 * trailing newline (the kernel's uevent keeps one) is allowed. */
int ap_mask_parse(const char *s, struct ap_mask *out, struct errmsg *e);
bool ap_mask_test(const struct ap_mask *m, unsigned int bit);
