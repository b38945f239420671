// SPDX-License-Identifier: MIT
/*
 * Kernel uevents: the parser of the NUL-separated message, and the
 * netlink source, which accepts real uevents from the kernel and drops
 * a message sent from user space.
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
	netlink();
	return done_testing();
}
