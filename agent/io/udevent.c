// SPDX-License-Identifier: MIT
/*
 * udevent.c - a libudev device as a struct uevent (udevent.h).
 */
#include <errno.h>

#include "io/udevent.h"

int uevent_from_udev(struct udev_device *d, struct uevent *u, struct errmsg *e)
{
	struct udev_list_entry *p;
	int rc = uevent_start(u, udev_device_get_action(d) ?: "", udev_device_get_devpath(d) ?: "", e);

	udev_list_entry_foreach(p, udev_device_get_properties_list_entry(d)) {
		if (rc < 0)
			return rc;
		rc = uevent_property(u, udev_list_entry_get_name(p),
				     udev_list_entry_get_value(p) ?: "", e);
	}
	if (rc < 0)
		return rc;
	/* libudev keeps these beside the properties, too */
	if (!u->subsystem[0] && udev_device_get_subsystem(d))
		uevent_property(u, "SUBSYSTEM", udev_device_get_subsystem(d), e);
	if (!u->devtype_name[0] && udev_device_get_devtype(d))
		uevent_property(u, "DEVTYPE", udev_device_get_devtype(d), e);
	return uevent_finish(u);
}
