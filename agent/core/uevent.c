// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>

#include "core/macro.h"
#include "core/uevent.h"

static int flag(const char *v)
{
	if (streq(v, "1"))
		return 1;
	if (streq(v, "0"))
		return 0;
	return -1;
}

void uevent_classify(struct uevent *u, const char *subsystem, const char *devtype)
{
	const char *name = strrchr(u->devpath, '/');
	unsigned int card;

	u->devtype = AP_DEV_OTHER;
	if (!subsystem || !streq(subsystem, "ap") || !name)
		return;
	name++;
	if (!devtype || !*devtype) {
		if (streq(u->devpath, "/devices/ap"))
			u->devtype = AP_DEV_ROOT;
		return;
	}
	if (streq(devtype, "ap_card") && sscanf(name, "card%2x", &card) == 1) {
		u->devtype = AP_DEV_CARD;
		u->card = (int)card;
	} else if (streq(devtype, "ap_queue") && apqn_parse(name, &u->apqn, NULL) == 0) {
		u->devtype = AP_DEV_QUEUE;
		u->card = u->apqn.card;
	}
}

int uevent_parse_kernel(const char *buf, size_t len, struct uevent *out, struct errmsg *e)
{
	struct uevent u = { .online = -1, .config = -1 };
	const char *subsystem = NULL, *devtype = NULL, *end = buf + len, *p, *at;
	size_t hlen;

	if (len == 0 || memchr(buf, '\0', len) == NULL)
		return errmsg_set(e, -EINVAL, "uevent: not NUL-terminated");
	hlen = strlen(buf);
	at = memchr(buf, '@', hlen);
	if (!at || at == buf || (size_t)(at - buf) >= sizeof(u.action) ||
	    hlen - (size_t)(at - buf) - 1 >= sizeof(u.devpath) || at[1] != '/')
		return errmsg_set(e, -EINVAL, "uevent: no ACTION@DEVPATH header");
	memcpy(u.action, buf, (size_t)(at - buf));
	snprintf(u.devpath, sizeof(u.devpath), "%s", at + 1);
	for (p = buf + hlen + 1; p < end; p += strlen(p) + 1) {
		const char *eq;

		if (!memchr(p, '\0', (size_t)(end - p)))
			return errmsg_set(e, -EINVAL, "uevent: a property is not NUL-terminated");
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (!eq)
			return errmsg_set(e, -EINVAL, "uevent: property '%.40s' has no '='", p);
		if (strncmp(p, "SUBSYSTEM=", 10) == 0)
			subsystem = eq + 1;
		else if (strncmp(p, "DEVTYPE=", 8) == 0)
			devtype = eq + 1;
		else if (strncmp(p, "ACTION=", 7) == 0 && !streq(eq + 1, u.action))
			return errmsg_set(e, -EINVAL, "uevent: ACTION= differs from the header");
		else if (strncmp(p, "ONLINE=", 7) == 0)
			u.online = flag(eq + 1);
		else if (strncmp(p, "CONFIG=", 7) == 0)
			u.config = flag(eq + 1);
		else if (streq(p, "BINDINGS=complete"))
			u.bindings_complete = true;
		else if (streq(p, "INITSCAN=done"))
			u.initscan_done = true;
	}
	if (!subsystem || !streq(subsystem, "ap"))
		return -ENOMSG;
	uevent_classify(&u, subsystem, devtype);
	*out = u;
	return 0;
}
