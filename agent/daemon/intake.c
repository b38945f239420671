// SPDX-License-Identifier: MIT
/*
 * intake.c - the agent's uevents: a libudev monitor on the "ap"
 * subsystem, or (event-source = kernel) the kernel's netlink socket
 * (io/kuevent.c). Either way each uevent is parsed by core/uevent.c and
 * core/readplan.c marks what it asks to read again; the next pass reads
 * it.
 */
#include <errno.h>

#include "daemon/agent.h"
#include "io/udevent.h"
#include "io/log.h"

static void take_uevent(struct agent *ag, const struct uevent *u)
{
	log_debug("uevent %s %s", u->action, u->devpath);
	if (u->has_apmask || u->has_aqmask)
		log_info("the AP bus's %s changed: the queues it moves are read again",
			 u->has_apmask ? "apmask" : "aqmask");
	for (size_t i = 0; i < ag->nops; i++)
		read_mark_uevent(&ag->ops[i].rt, &ag->ops[i].apqns, u, &ag->masks);
	bus_masks_update(&ag->masks, u);
}

static void on_udev(struct agent *ag)
{
	struct udev_device *d;

	while ((d = udev_monitor_receive_device(ag->mon))) {
		struct uevent u;
		struct errmsg e;
		int rc = uevent_from_udev(d, &u, &e);

		if (rc == -EINVAL)
			log_warn("%s", e.text);
		if (rc == 0)
			take_uevent(ag, &u);
		udev_device_unref(d);
	}
}

static void on_kernel(struct agent *ag)
{
	char buf[8192];
	size_t len;
	int rc;

	while ((rc = kuevent_recv(&ag->ksrc, buf, sizeof(buf), &len)) != -EAGAIN) {
		struct uevent u;
		struct errmsg e;

		if (rc < 0)
			continue;
		rc = uevent_parse_kernel(buf, len, &u, &e);
		if (rc == -EINVAL)
			log_warn("%s", e.text);
		if (rc == 0)
			take_uevent(ag, &u);
	}
}

void on_uevents(struct agent *ag)
{
	if (ag->mon)
		on_udev(ag);
	else
		on_kernel(ag);
}

static int watch_fd(struct agent *ag, int fd, struct errmsg *e)
{
	if (agent_add_fd(ag, fd, TAG_UEVENT) < 0)
		return errmsg_set(e, -errno, "cannot watch the uevent socket: %s", strerror(errno));
	return 0;
}

int intake_open(struct agent *ag, struct errmsg *e)
{
	if (ag->en.cfg.event_source == EVENT_SOURCE_KERNEL) {
		int rc = kuevent_open(&ag->ksrc, e);

		if (rc < 0)
			return rc;
		return watch_fd(ag, kuevent_fd(&ag->ksrc), e);
	}
	ag->udev = udev_new();
	ag->mon = ag->udev ? udev_monitor_new_from_netlink(ag->udev, "udev") : NULL;
	if (!ag->mon || udev_monitor_filter_add_match_subsystem_devtype(ag->mon, "ap", NULL) < 0 ||
	    udev_monitor_enable_receiving(ag->mon) < 0)
		return errmsg_set(e, -EIO, "cannot listen to udev");
	return watch_fd(ag, udev_monitor_get_fd(ag->mon), e);
}

void intake_close(struct agent *ag)
{
	if (ag->mon)
		udev_monitor_unref(ag->mon);
	if (ag->udev)
		udev_unref(ag->udev);
	ag->mon = NULL;
	ag->udev = NULL;
	kuevent_close(&ag->ksrc);
}
