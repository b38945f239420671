/* SPDX-License-Identifier: MIT */
/*
 * udevent.h - a libudev device as a struct uevent: its action, devpath and
 * properties handed to core/uevent.c, the parser the kernel's netlink
 * messages go through too.
 */
#pragma once

#include <libudev.h>

#include "core/uevent.h"

/* -ENOMSG for a device not on the AP bus; -EINVAL, with @e, for a
 * malformed one. */
int uevent_from_udev(struct udev_device *d, struct uevent *u, struct errmsg *e);
