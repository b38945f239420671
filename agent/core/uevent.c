// SPDX-License-Identifier: MIT
/*
 * uevent.c - the one parser of AP bus uevents, for the kernel's netlink
 * messages and libudev's devices alike (uevent.h).
 *
 * What the kernel sends (drivers/s390/crypto): ap_send_online_uevent()
 * and ap_send_config_uevent() print "ONLINE=%d" and "CONFIG=%d" of
 * `x ? 1 : 0`, so "1" and "0" are the only values; anything else is
 * unknown (-1), never "offline". ap_send_mask_changed_uevent() prints
 * "APMASK=0x%016lx%016lx%016lx%016lx\n" (or AQMASK=), newline included,
 * on the root device after apmask_store() or aqmask_store().
 */
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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ap_mask_parse(const char *s, struct ap_mask *out, struct errmsg *e)
{
	struct ap_mask m = { { 0 } };
	size_t n = 0;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return errmsg_set(e, -EINVAL, "mask '%.80s' does not start with 0x", s);
	for (const char *p = s + 2; *p && !(p[0] == '\n' && p[1] == '\0'); p++, n++) {
		int d = hex_digit(*p);

		if (d < 0 || n == 2 * sizeof(m.b))
			return errmsg_set(e, -EINVAL, "mask '%.80s' is not 1 to 64 hex digits", s);
		m.b[n / 2] |= (uint8_t)(n % 2 ? d : d << 4);
	}
	if (n == 0)
		return errmsg_set(e, -EINVAL, "mask '%.80s' has no hex digits", s);
	*out = m;
	return 0;
}

bool ap_mask_test(const struct ap_mask *m, unsigned int bit)
{
	return bit < 8 * sizeof(m->b) && (m->b[bit / 8] & (0x80 >> (bit % 8)));
}

int uevent_start(struct uevent *u, const char *action, const char *devpath, struct errmsg *e)
{
	*u = (struct uevent){ .online = -1, .config = -1 };
	if (!*action || strlen(action) >= sizeof(u->action))
		return errmsg_set(e, -EINVAL, "uevent: no action");
	if (devpath[0] != '/' || strlen(devpath) >= sizeof(u->devpath))
		return errmsg_set(e, -EINVAL, "uevent: devpath '%.40s' is not a path", devpath);
	snprintf(u->action, sizeof(u->action), "%s", action);
	snprintf(u->devpath, sizeof(u->devpath), "%s", devpath);
	return 0;
}

int uevent_property(struct uevent *u, const char *key, const char *value, struct errmsg *e)
{
	if (streq(key, "SUBSYSTEM"))
		snprintf(u->subsystem, sizeof(u->subsystem), "%s", value);
	else if (streq(key, "DEVTYPE"))
		snprintf(u->devtype_name, sizeof(u->devtype_name), "%s", value);
	else if (streq(key, "ACTION") && !streq(value, u->action))
		return errmsg_set(e, -EINVAL, "uevent: ACTION= differs from the header");
	else if (streq(key, "ONLINE"))
		u->online = flag(value);
	else if (streq(key, "CONFIG"))
		u->config = flag(value);
	else if (streq(key, "BINDINGS"))
		u->bindings_complete = streq(value, "complete");
	else if (streq(key, "INITSCAN"))
		u->initscan_done = streq(value, "done");
	else if (streq(key, "APMASK") || streq(key, "AQMASK")) {
		bool ap = key[1] == 'P';
		struct errmsg me;

		if (ap_mask_parse(value, ap ? &u->apmask : &u->aqmask, &me) < 0)
			return errmsg_set(e, -EINVAL, "uevent: %s: %s", key, me.text);
		if (ap)
			u->has_apmask = true;
		else
			u->has_aqmask = true;
	}
	return 0;
}

int uevent_finish(struct uevent *u)
{
	const char *name = strrchr(u->devpath, '/');
	unsigned int card;

	u->devtype = AP_DEV_OTHER;
	if (!streq(u->subsystem, "ap"))
		return -ENOMSG;
	name++;
	if (!u->devtype_name[0]) {
		if (streq(u->devpath, "/devices/ap"))
			u->devtype = AP_DEV_ROOT;
	} else if (streq(u->devtype_name, "ap_card") && sscanf(name, "card%2x", &card) == 1) {
		u->devtype = AP_DEV_CARD;
		u->card = (int)card;
	} else if (streq(u->devtype_name, "ap_queue") && apqn_parse(name, &u->apqn, NULL) == 0) {
		u->devtype = AP_DEV_QUEUE;
		u->card = u->apqn.card;
	}
	/* the masks are the root device's only */
	if (u->devtype != AP_DEV_ROOT)
		u->has_apmask = u->has_aqmask = false;
	return 0;
}

int uevent_parse_kernel(const char *buf, size_t len, struct uevent *out, struct errmsg *e)
{
	struct uevent u;
	char action[sizeof(u.action)];
	const char *end = buf + len, *p, *at;
	size_t hlen;
	int rc;

	if (len == 0 || memchr(buf, '\0', len) == NULL)
		return errmsg_set(e, -EINVAL, "uevent: not NUL-terminated");
	hlen = strlen(buf);
	at = memchr(buf, '@', hlen);
	if (!at || at == buf || (size_t)(at - buf) >= sizeof(action) ||
	    hlen - (size_t)(at - buf) - 1 >= sizeof(u.devpath) || at[1] != '/')
		return errmsg_set(e, -EINVAL, "uevent: no ACTION@DEVPATH header");
	memcpy(action, buf, (size_t)(at - buf));
	action[at - buf] = '\0';
	rc = uevent_start(&u, action, at + 1, e);
	if (rc < 0)
		return rc;
	for (p = buf + hlen + 1; p < end; p += strlen(p) + 1) {
		char key[32];
		const char *eq;

		if (!memchr(p, '\0', (size_t)(end - p)))
			return errmsg_set(e, -EINVAL, "uevent: a property is not NUL-terminated");
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (!eq)
			return errmsg_set(e, -EINVAL, "uevent: property '%.40s' has no '='", p);
		if ((size_t)(eq - p) >= sizeof(key))
			continue; /* no key of ours is that long */
		memcpy(key, p, (size_t)(eq - p));
		key[eq - p] = '\0';
		rc = uevent_property(&u, key, eq + 1, e);
		if (rc < 0)
			return rc;
	}
	rc = uevent_finish(&u);
	if (rc < 0)
		return rc;
	*out = u;
	return 0;
}
