// SPDX-License-Identifier: MIT
/* core/queue.c: the one rule of whether an AP queue can take part in a
 * step, its words, and the queue embedded in the register view. */
#include <errno.h>

#include "core/guard.h"
#include "tap.h"

static struct queue usable(void)
{
	return (struct queue){ .apqn = { 8, 0x33 }, .present = true, .mode = AP_MODE_CCA,
			       .online = 1, .config = 1, .chkstop = 0 };
}

int main(void)
{
	struct queue q = usable();
	struct apqn_view a = { .read_error = "" };
	struct errmsg e;

	is_int(queue_usability(&q), QUEUE_USABLE, "present, configured, online: usable");
	q.config = -1;
	q.chkstop = -1;
	is_int(queue_usability(&q), QUEUE_USABLE, "  also without config and chkstop attributes");

	q = usable();
	q.present = false;
	q.config = 0;
	is_int(queue_usability(&q), QUEUE_ABSENT, "not on the bus comes first");
	q = usable();
	q.config = 0;
	q.chkstop = 1;
	q.online = 0;
	is_int(queue_usability(&q), QUEUE_DECONFIGURED, "then deconfigured");
	q.config = 1;
	is_int(queue_usability(&q), QUEUE_CHECKSTOPPED, "then check-stopped");
	q.chkstop = 0;
	is_int(queue_usability(&q), QUEUE_OFFLINE, "then offline");
	q.online = -1;
	is_int(queue_usability(&q), QUEUE_OFFLINE, "no online attribute (vfio_ap) is offline");

	is_string(queue_usability_name(QUEUE_USABLE), "usable", "the words: usable");
	is_string(queue_usability_name(QUEUE_ABSENT), "not on the AP bus", "  not on the AP bus");
	is_string(queue_usability_name(QUEUE_DECONFIGURED), "deconfigured", "  deconfigured");
	is_string(queue_usability_name(QUEUE_CHECKSTOPPED), "check-stopped", "  check-stopped");
	is_string(queue_usability_name(QUEUE_OFFLINE), "offline", "  offline");

	ok(mode_has_type(AP_MODE_CCA, MK_CCA_AES) && mode_has_type(AP_MODE_CCA, MK_CCA_SYM),
	   "CCA queues have the CCA registers");
	ok(!mode_has_type(AP_MODE_CCA, MK_EP11), "  not EP11's");
	ok(mode_has_type(AP_MODE_EP11, MK_EP11) && !mode_has_type(AP_MODE_EP11, MK_CCA_APKA),
	   "EP11 queues have EP11's only");
	ok(!mode_has_type(AP_MODE_ACCEL, MK_CCA_AES) && !mode_has_type(AP_MODE_UNKNOWN, MK_EP11),
	   "accelerators and unknown modes have none");

	/* the view embeds the queue: one assignment, the same members */
	q = usable();
	q.regs_read = true;
	a.queue = q;
	ok(a.online == 1 && a.present && a.mode == AP_MODE_CCA && a.regs_read &&
		   apqn_eq(a.apqn, q.apqn),
	   "a view's members are its queue's");
	is_int(guard_usable(&a, &e), 0, "guard_usable: a usable queue with registers read");
	a.regs_read = false;
	is_int(guard_usable(&a, &e), -EAGAIN, "registers not read: wait");
	is_string(e.text, "APQN 08.0033: registers cannot be read", "  and says so");
	a.queue.online = 0;
	is_int(guard_usable(&a, &e), -EAGAIN, "offline: wait");
	is_string(e.text, "APQN 08.0033 is offline", "  in the rule's word");
	a.present = false;
	is_int(guard_usable(&a, &e), -ENODEV, "not on the bus: no such device");
	is_string(e.text, "APQN 08.0033 is not on the AP bus", "  in the rule's words");
	return done_testing();
}
