// SPDX-License-Identifier: MIT
/*
 * The agent's two uevent sources feed one parser (core/uevent.c): the
 * uevents apsim sends on a umockdev testbed, received by a real libudev
 * monitor as the agent's is, give through uevent_from_udev() what the
 * same properties give as a kernel netlink message.
 */
#include <errno.h>
#include <libudev.h>
#include <poll.h>

#include "apsim.h"
#include "core/macro.h"
#include "io/udevent.h"
#include "tap.h"

static struct udev_monitor *mon;

/* The next AP uevent the monitor gets, through both parsers. */
static bool next(struct uevent *u, struct uevent *k)
{
	struct pollfd p = { .fd = udev_monitor_get_fd(mon), .events = POLLIN };
	struct udev_device *d;
	struct udev_list_entry *e;
	char buf[4096];
	size_t len;
	struct errmsg err;
	int rc;

	if (poll(&p, 1, 5000) <= 0 || !(d = udev_monitor_receive_device(mon))) {
		diag("no uevent came");
		return false;
	}
	rc = uevent_from_udev(d, u, &err);
	len = (size_t)snprintf(buf, sizeof(buf), "%s@%s", udev_device_get_action(d),
			       udev_device_get_devpath(d)) + 1;
	udev_list_entry_foreach(e, udev_device_get_properties_list_entry(d))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s=%s", udev_list_entry_get_name(e),
					udev_list_entry_get_value(e)) + 1;
	udev_device_unref(d);
	if (rc < 0 || uevent_parse_kernel(buf, len, k, &err) < 0) {
		diag("not parsed: %d: %s", rc, err.text);
		return false;
	}
	return true;
}

static bool same(const struct uevent *a, const struct uevent *b)
{
	return streq(a->action, b->action) && streq(a->devpath, b->devpath) && a->devtype == b->devtype &&
	       apqn_eq(a->apqn, b->apqn) && a->card == b->card && a->online == b->online &&
	       a->config == b->config && a->bindings_complete == b->bindings_complete &&
	       a->has_apmask == b->has_apmask && a->has_aqmask == b->has_aqmask &&
	       memcmp(&a->apmask, &b->apmask, sizeof(a->apmask)) == 0 &&
	       memcmp(&a->aqmask, &b->aqmask, sizeof(a->aqmask)) == 0;
}

int main(int argc, char **argv)
{
	struct apqn q = { 0x08, 0x33 };
	struct apsim *sim;
	struct udev *udev;
	struct uevent u, k;

	(void)argc;
	sim = apsim_new(argv);
	if (!sim)
		bail_out("no testbed");
	apsim_add_card(sim, 0x08, "CEX7C");
	apsim_add_queue(sim, q);
	udev = udev_new();
	mon = udev_monitor_new_from_netlink(udev, "udev");
	if (!mon || udev_monitor_filter_add_match_subsystem_devtype(mon, "ap", NULL) < 0 ||
	    udev_monitor_enable_receiving(mon) < 0)
		bail_out("cannot listen to udev");

	apsim_set_online(sim, q, false);
	ok(next(&u, &k), "ONLINE=0 of a queue: parsed from udev and as a kernel message");
	ok(u.devtype == AP_DEV_QUEUE && apqn_eq(u.apqn, q) && streq(u.action, "change") && u.online == 0 &&
		   u.config == -1,
	   "queue 08.0033, change, offline");
	ok(same(&u, &k), "both sources, one uevent");

	apsim_set_config(sim, q, false);
	ok(next(&u, &k) && u.config == 0 && u.online == -1 && same(&u, &k), "CONFIG=0, both alike");

	apsim_set_card_online(sim, 0x08, false);
	ok(next(&u, &k) && u.devtype == AP_DEV_CARD && u.card == 8 && u.online == 0 && same(&u, &k),
	   "a card's ONLINE=0, both alike");

	apsim_bindings_complete(sim);
	ok(next(&u, &k) && u.devtype == AP_DEV_ROOT && u.bindings_complete && same(&u, &k),
	   "the root's BINDINGS=complete, both alike");

	apsim_set_mask(sim, APSIM_APMASK, 0x0b, false);
	ok(next(&u, &k) && u.devtype == AP_DEV_ROOT && u.has_apmask && !u.has_aqmask && same(&u, &k),
	   "APMASK=: card 0b leaves the host (no queue of it to rebind)");
	ok(!ap_mask_test(&u.apmask, 0x0b) && ap_mask_test(&u.apmask, 0x08) && ap_mask_test(&u.apmask, 0xff),
	   "  the mask: every card but 0b");

	apsim_set_mask(sim, APSIM_AQMASK, 0x33, false);
	ok(next(&u, &k) && streq(u.action, "unbind") && apqn_eq(u.apqn, q) && same(&u, &k),
	   "AQMASK takes domain 0033 away: zcrypt lets 08.0033 go ...");
	ok(next(&u, &k) && streq(u.action, "bind") && same(&u, &k), "... vfio_ap takes it ...");
	ok(next(&u, &k) && u.has_aqmask && !ap_mask_test(&u.aqmask, 0x33) && ap_mask_test(&u.aqmask, 0x32) &&
		   same(&u, &k),
	   "... then the root's AQMASK= says so");
	is_int(apsim_set_mask(sim, APSIM_AQMASK, 0x33, false), 0, "the same mask again ...");
	apsim_set_mask(sim, APSIM_AQMASK, 0x34, false);
	ok(next(&u, &k) && u.has_aqmask && !ap_mask_test(&u.aqmask, 0x34), "... sends nothing");

	udev_monitor_unref(mon);
	udev_unref(udev);
	apsim_free(sim);
	return done_testing();
}
