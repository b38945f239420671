/* SPDX-License-Identifier: MIT */
/*
 * uevent.h - an AP bus uevent as the agent needs it, whichever source it
 * came from: the kernel's NUL-separated netlink message (parsed here,
 * pure) or a libudev device.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/apqn.h"
#include "core/errmsg.h"

enum ap_devtype {
	AP_DEV_OTHER,
	AP_DEV_ROOT,
	AP_DEV_CARD,
	AP_DEV_QUEUE,
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
};

/*
 * Parse a kernel uevent: "ACTION@DEVPATH\0KEY=VALUE\0...". Messages of
 * other subsystems give -ENOMSG; malformed ones -EINVAL with a message.
 */
int uevent_parse_kernel(const char *buf, size_t len, struct uevent *out, struct errmsg *e);
/* Fill the AP fields from the device's path and a property lookup. */
void uevent_classify(struct uevent *u, const char *subsystem, const char *devtype);
