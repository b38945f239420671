// SPDX-License-Identifier: MIT
/*
 * Kernel uevents: the parser of the NUL-separated message, the
 * properties one by one as libudev hands them over (the same parser), the
 * bus masks of APMASK=/AQMASK=, and the netlink source, which accepts real
 * uevents from the kernel and drops a message sent from user space.
 * test-udev-uevent feeds the parser from a real libudev monitor.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/kuevent.h"
#include "core/uevent.h"
#include "tap.h"
#include "core/macro.h"

#define MSG(s) s, sizeof(s)

static int parse(const char *buf, size_t len, struct uevent *u, struct errmsg *e)
{
	memset(u, 0, sizeof(*u));
	return uevent_parse_kernel(buf, len, u, e);
}

static void parser(void)
{
	struct uevent u;
	struct errmsg e = { "" };
	char buf[APQN_STR_MAX];

	is_int(parse(MSG("change@/devices/ap/card08/08.0033\0ACTION=change\0DEVPATH=/devices/ap/card08/08.0033\0"
			 "SUBSYSTEM=ap\0DEVTYPE=ap_queue\0MODE=cca\0ONLINE=1\0SEQNUM=1234"),
		     &u, &e),
	       0, "a queue going online parses");
	ok(u.devtype == AP_DEV_QUEUE && streq(apqn_format(u.apqn, buf), "08.0033") && u.online == 1 &&
		   u.config == -1 && streq(u.action, "change"),
	   "queue 08.0033, change, ONLINE=1");
	is_int(parse(MSG("change@/devices/ap/card0a\0ACTION=change\0SUBSYSTEM=ap\0DEVTYPE=ap_card\0CONFIG=0"),
		     &u, &e),
	       0, "a card's CONFIG=0 parses");
	ok(u.devtype == AP_DEV_CARD && u.card == 10 && u.config == 0, "card 0a, CONFIG=0");
	is_int(parse(MSG("change@/devices/ap\0ACTION=change\0DEVPATH=/devices/ap\0SUBSYSTEM=ap\0"
			 "BINDINGS=complete\0COMPLETECOUNT=3"),
		     &u, &e),
	       0, "the root device's BINDINGS=complete parses");
	ok(u.devtype == AP_DEV_ROOT && u.bindings_complete, "root, bindings complete");
	is_int(parse(MSG("change@/devices/ap\0SUBSYSTEM=ap\0INITSCAN=done"), &u, &e), 0, "INITSCAN=done");
	ok(u.initscan_done, "initial scan done");
	is_int(parse(MSG("bind@/devices/ap/card08/08.0033\0SUBSYSTEM=ap\0DEVTYPE=ap_queue\0DRIVER=cex4queue"),
		     &u, &e),
	       0, "bind");
	is_int(parse(MSG("add@/devices/virtual/net/lo\0SUBSYSTEM=net"), &u, &e), -ENOMSG,
	       "another subsystem is not ours");
	is_int(parse(MSG("change@/devices/ap/card08/08.0033\0DEVTYPE=ap_queue"), &u, &e), -ENOMSG,
	       "no SUBSYSTEM is not ours");

	is_int(parse(MSG("no header here\0SUBSYSTEM=ap"), &u, &e), -EINVAL, "no ACTION@DEVPATH");
	is_string(e.text, "uevent: no ACTION@DEVPATH header", "message");
	is_int(parse("change@/devices/ap", 18, &u, &e), -EINVAL, "not NUL-terminated");
	is_string(e.text, "uevent: not NUL-terminated", "message");
	is_int(parse(MSG("change@/devices/ap\0SUBSYSTEM=ap\0GARBAGE"), &u, &e), -EINVAL, "a property without =");
	is_string(e.text, "uevent: property 'GARBAGE' has no '='", "message");
	is_int(parse(MSG("change@/devices/ap\0ACTION=remove\0SUBSYSTEM=ap"), &u, &e), -EINVAL,
	       "ACTION= contradicting the header");
	is_int(parse(MSG("change@devices\0SUBSYSTEM=ap"), &u, &e), -EINVAL, "a devpath not starting with /");
	is_int(parse(MSG("@/devices/ap\0SUBSYSTEM=ap"), &u, &e), -EINVAL, "an empty action");
	is_int(parse(MSG("change@/devices/ap/card08/zz.0033\0SUBSYSTEM=ap\0DEVTYPE=ap_queue"), &u, &e), 0,
	       "a queue name that is not an APQN parses ...");
	is_int(u.devtype, AP_DEV_OTHER, "... but is no queue of ours");
}

/* The kernel's mask uevent, as ap_send_mask_changed_uevent() prints it:
 * cards 0x08 and 0x0b (apmask), domains 0x00 and 0x33 (aqmask). */
#define APM "0x0090000000000000000000000000000000000000000000000000000000000000\n"
#define AQM "0x8000000000001000000000000000000000000000000000000000000000000000\n"

static void masks(void)
{
	struct uevent u;
	struct errmsg e = { "" };
	struct ap_mask m;

	is_int(parse(MSG("change@/devices/ap\0ACTION=change\0DEVPATH=/devices/ap\0SUBSYSTEM=ap\0APMASK=" APM
			 "\0SEQNUM=7"),
		     &u, &e),
	       0, "the root device's APMASK= (newline and all, as the kernel sends it) parses");
	ok(u.devtype == AP_DEV_ROOT && u.has_apmask && !u.has_aqmask, "root, apmask only");
	ok(ap_mask_test(&u.apmask, 0x08) && ap_mask_test(&u.apmask, 0x0b) && !ap_mask_test(&u.apmask, 0x09) &&
		   !ap_mask_test(&u.apmask, 0) && !ap_mask_test(&u.apmask, 0xff),
	   "cards 08 and 0b are the host's, bit 0 the leftmost");
	is_int(parse(MSG("change@/devices/ap\0SUBSYSTEM=ap\0AQMASK=" AQM), &u, &e), 0, "AQMASK= parses");
	ok(u.has_aqmask && !u.has_apmask && ap_mask_test(&u.aqmask, 0) && ap_mask_test(&u.aqmask, 0x33) &&
		   !ap_mask_test(&u.aqmask, 0x32) && !ap_mask_test(&u.aqmask, 0x34),
	   "domains 0000 and 0033");
	is_int(parse(MSG("change@/devices/ap/card08/08.0033\0SUBSYSTEM=ap\0DEVTYPE=ap_queue\0AQMASK=" AQM), &u, &e),
	       0, "a queue's uevent with AQMASK= parses ...");
	ok(!u.has_aqmask, "... but a mask is the root device's only");
	is_int(parse(MSG("change@/devices/ap\0SUBSYSTEM=ap\0APMASK=0x12zz"), &u, &e), -EINVAL, "a mask that is not hex");
	is_string(e.text, "uevent: APMASK: mask '0x12zz' is not 1 to 64 hex digits", "message");
	is_int(ap_mask_parse("ff", &m, &e), -EINVAL, "a mask without 0x");
	is_int(ap_mask_parse("0x", &m, &e), -EINVAL, "0x and no digits");
	is_int(ap_mask_parse("0x" "0000000000000000000000000000000000000000000000000000000000000000" "0", &m, &e),
	       -EINVAL, "65 digits");
	is_int(ap_mask_parse("0xc", &m, &e), 0, "a short mask, as apmask_store() takes one ...");
	ok(ap_mask_test(&m, 0) && ap_mask_test(&m, 1) && !ap_mask_test(&m, 2) && !ap_mask_test(&m, 255),
	   "... is left-aligned: bits 0 and 1");
	is_int(ap_mask_parse("0xFF\n", &m, &e), 0, "upper case, a trailing newline");
	ok(ap_mask_test(&m, 7) && !ap_mask_test(&m, 8) && !ap_mask_test(&m, 256), "bits 0 to 7; 256 is no bit");
}

/* ONLINE= and CONFIG= as the kernel prints them: "%d" of x ? 1 : 0. */
static void flags(void)
{
	struct uevent u;
	struct errmsg e;

	is_int(parse(MSG("change@/devices/ap/card08/08.0033\0SUBSYSTEM=ap\0DEVTYPE=ap_queue\0ONLINE=0\0CONFIG=1"),
		     &u, &e),
	       0, "ONLINE=0 CONFIG=1");
	ok(u.online == 0 && u.config == 1, "offline, configured");
	is_int(parse(MSG("change@/devices/ap/card08/08.0033\0SUBSYSTEM=ap\0DEVTYPE=ap_queue\0ONLINE=10\0CONFIG="),
		     &u, &e),
	       0, "values the kernel never sends ...");
	ok(u.online == -1 && u.config == -1, "... are unknown, not online (\"10\") or offline (\"\")");
}

static bool same(const struct uevent *a, const struct uevent *b)
{
	return streq(a->action, b->action) && streq(a->devpath, b->devpath) && a->devtype == b->devtype &&
	       apqn_eq(a->apqn, b->apqn) && a->card == b->card && a->online == b->online &&
	       a->config == b->config && a->bindings_complete == b->bindings_complete &&
	       a->initscan_done == b->initscan_done && a->has_apmask == b->has_apmask &&
	       a->has_aqmask == b->has_aqmask && memcmp(&a->apmask, &b->apmask, sizeof(a->apmask)) == 0 &&
	       memcmp(&a->aqmask, &b->aqmask, sizeof(a->aqmask)) == 0;
}

/* A libudev device hands its properties over one by one: the same
 * parser, the same uevent as the kernel's message. */
static void one_parser(void)
{
	static const char *const props[][2] = {
		{ "ACTION", "change" }, { "DEVPATH", "/devices/ap/card0a/0a.0033" }, { "SUBSYSTEM", "ap" },
		{ "DEVTYPE", "ap_queue" }, { "DRIVER", "cex4queue" }, { "MODE", "ep11" }, { "ONLINE", "1" },
		{ "SEQNUM", "77" }, { "USEC_INITIALIZED", "123456" },
	};
	struct uevent k, p;
	struct errmsg e;
	int rc;

	is_int(parse(MSG("change@/devices/ap/card0a/0a.0033\0ACTION=change\0DEVPATH=/devices/ap/card0a/0a.0033\0"
			 "SUBSYSTEM=ap\0DEVTYPE=ap_queue\0DRIVER=cex4queue\0MODE=ep11\0ONLINE=1\0SEQNUM=77"),
		     &k, &e),
	       0, "the kernel's message of 0a.0033 going online");
	memset(&p, 0, sizeof(p));
	rc = uevent_start(&p, "change", "/devices/ap/card0a/0a.0033", &e);
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(props); i++)
		rc = uevent_property(&p, props[i][0], props[i][1], &e);
	is_int(rc == 0 ? uevent_finish(&p) : rc, 0, "the same as udev's properties");
	ok(same(&k, &p), "both give the same uevent");
	ok(p.devtype == AP_DEV_QUEUE && p.apqn.card == 0x0a && p.apqn.domain == 0x33 && p.online == 1,
	   "queue 0a.0033, online");
	uevent_start(&p, "change", "/devices/ap", &e);
	is_int(uevent_property(&p, "ACTION", "remove", &e), -EINVAL, "an ACTION property that contradicts the action");
	is_int(uevent_start(&p, "", "/devices/ap", &e), -EINVAL, "no action");
	is_int(uevent_start(&p, "change", "devices/ap", &e), -EINVAL, "a devpath that is not a path");
	uevent_start(&p, "change", "/devices/ap", &e);
	is_int(uevent_finish(&p), -ENOMSG, "no SUBSYSTEM: not ours");
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

static void netlink(void)
{
	struct kuevent_src src = { 0 };
	struct errmsg e;
	char buf[8192];
	size_t len = 0;
	struct uevent u;
	int fd, rc, spoof;
	bool got = false;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	static const char fake[] = "change@/devices/ap/card08/08.0033\0SUBSYSTEM=ap\0DEVTYPE=ap_queue\0ONLINE=1";

	if (geteuid() != 0 || kuevent_open(&src, &e) < 0) {
		skip(6, "needs root and the kernel uevent socket");
		return;
	}
	fd = open("/sys/devices/virtual/mem/null/uevent", O_WRONLY);
	if (fd < 0 || write(fd, "change", 6) != 6) {
		skip(6, "cannot write a uevent file");
		kuevent_close(&src);
		return;
	}
	close(fd);
	for (int i = 0; i < 50 && !got && wait_readable(kuevent_fd(&src), 1000); i++) {
		rc = kuevent_recv(&src, buf, sizeof(buf), &len);
		got = rc == 0 && strstr(buf, "/devices/virtual/mem/null");
	}
	ok(got, "a real uevent from the kernel is accepted");
	is_int(uevent_parse_kernel(buf, len, &u, &e), -ENOMSG, "and parsed (not an AP device)");

	spoof = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	to.nl_pid = kuevent_port(&src);
	ok(spoof >= 0 && sendto(spoof, fake, sizeof(fake), 0, (struct sockaddr *)&to, sizeof(to)) > 0,
	   "a user-space process sends an AP uevent to the agent's socket");
	ok(wait_readable(kuevent_fd(&src), 2000), "it arrives");
	rc = kuevent_recv(&src, buf, sizeof(buf), &len);
	is_int(rc, -EPERM, "and is dropped: not sent by the kernel");
	is_int(kuevent_recv(&src, buf, sizeof(buf), &len), -EAGAIN, "nothing else is waiting");
	close(spoof);
	kuevent_close(&src);
}

int main(void)
{
	parser();
	masks();
	flags();
	one_parser();
	netlink();
	return done_testing();
}
