// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdlib.h>

#include "io/apbus.h"
#include "io/log.h"
#include "core/macro.h"
#include "io/fd.h"

#define AP_FUNC_COPRO 0x10000000u
#define AP_FUNC_ACCEL 0x08000000u
#define AP_FUNC_EP11 0x04000000u

#define AP_DEVICES "/sys/bus/ap/devices"

/* sysfs attributes are one page at most. */
#define SYSFS_PAGE 4096

static inline void udev_unrefp(struct udev **u)
{
	if (*u)
		udev_unref(*u);
}

static inline void udev_device_unrefp(struct udev_device **d)
{
	if (*d)
		udev_device_unref(*d);
}

enum ap_mode ap_mode_from_card(const char *type, const char *functions)
{
	size_t len = type ? strlen(type) : 0;

	if (len >= 4 && strncmp(type, "CEX", 3) == 0) {
		switch (type[len - 1]) {
		case 'A':
			return AP_MODE_ACCEL;
		case 'C':
			return AP_MODE_CCA;
		case 'P':
			return AP_MODE_EP11;
		}
	}
	if (functions) {
		char *end;
		unsigned long f;

		errno = 0;
		f = strtoul(functions, &end, 16);
		if (errno || end == functions)
			return AP_MODE_UNKNOWN;
		if (f & AP_FUNC_ACCEL)
			return AP_MODE_ACCEL;
		if (f & AP_FUNC_COPRO)
			return AP_MODE_CCA;
		if (f & AP_FUNC_EP11)
			return AP_MODE_EP11;
	}
	return AP_MODE_UNKNOWN;
}

static int attr_bool(struct udev_device *d, const char *name)
{
	const char *v = udev_device_get_sysattr_value(d, name);

	if (!v)
		return -1;
	return v[0] == '1';
}

static void copy_trimmed(char *dst, size_t size, const char *src)
{
	size_t len = src ? strcspn(src, "\n") : 0;

	if (len >= size)
		len = size - 1;
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
}

/* What a card says of itself, read once for all its queues. */
struct card_info {
	int card; /* -1: none read yet */
	char type[AP_CARD_TYPE_MAX];
	enum ap_mode mode;
};

static void read_card(struct udev *udev, unsigned int card, struct card_info *ci)
{
	char name[16];
	_cleanup_(udev_device_unrefp) struct udev_device *d = NULL;

	snprintf(name, sizeof(name), "card%02x", card);
	d = udev_device_new_from_subsystem_sysname(udev, "ap", name);
	*ci = (struct card_info){ .card = (int)card, .mode = AP_MODE_UNKNOWN };
	if (!d)
		return;
	copy_trimmed(ci->type, sizeof(ci->type), udev_device_get_sysattr_value(d, "type"));
	ci->mode = ap_mode_from_card(ci->type, udev_device_get_sysattr_value(d, "ap_functions"));
}

static int add_queue(struct ap_bus *bus, struct udev_device *d, struct card_info *ci)
{
	struct ap_queue q = { .present = true, .online = -1, .config = -1, .chkstop = -1 };

	if (apqn_parse(udev_device_get_sysname(d), &q.apqn, NULL) < 0)
		return 0; /* not a queue name the kernel would use */
	if (ci->card != (int)q.apqn.card)
		read_card(udev_device_get_udev(d), q.apqn.card, ci);
	memcpy(q.card_type, ci->type, sizeof(q.card_type));
	q.mode = ci->mode;
	q.online = attr_bool(d, "online");
	q.config = attr_bool(d, "config");
	q.chkstop = attr_bool(d, "chkstop");
	q.syspath = strdup(udev_device_get_syspath(d));
	if (!q.syspath)
		return -ENOMEM;
	bus->q[bus->n++] = q; /* the caller made room */
	return 0;
}

static int queue_cmp(const void *a, const void *b)
{
	return apqn_cmp(&((const struct ap_queue *)a)->apqn, &((const struct ap_queue *)b)->apqn);
}

/* Sorted by APQN, @b replaces what @bus held. */
static int bus_done(struct ap_bus *bus, struct ap_bus *b)
{
	if (b->n)
		qsort(b->q, b->n, sizeof(*b->q), queue_cmp);
	ap_bus_free(bus);
	*bus = *b;
	return 0;
}

static int apqn_qsort_cmp(const void *a, const void *b)
{
	return apqn_cmp(a, b);
}

/*
 * The queues are the entries of /sys/bus/ap/devices named like APQNs; each
 * is then looked up alone, so that memory grows only by what is kept of a
 * queue, not by what libudev holds of a whole enumeration.
 */
int ap_bus_scan(struct ap_bus *bus, struct errmsg *e)
{
	_cleanup_(apqn_list_free) struct apqn_list all = { 0 };
	struct dirent *de;
	DIR *dir = opendir(AP_DEVICES);

	if (!dir && errno != ENOENT)
		return errmsg_set(e, -errno, "cannot scan the AP bus: %s", strerror(errno));
	while (dir && (de = readdir(dir))) {
		struct apqn a;

		if (apqn_parse(de->d_name, &a, NULL) == 0 && apqn_list_add(&all, a) < 0) {
			closedir(dir);
			return errmsg_set(e, -ENOMEM, "out of memory");
		}
	}
	if (dir)
		closedir(dir);
	if (all.n)
		qsort(all.v, all.n, sizeof(*all.v), apqn_qsort_cmp);
	return ap_bus_scan_apqns(bus, &all, e);
}

int ap_bus_scan_apqns(struct ap_bus *bus, const struct apqn_list *want, struct errmsg *e)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	struct card_info ci = { .card = -1 };
	struct ap_bus b = { .q = calloc(want->n ? want->n : 1, sizeof(*b.q)) };

	if (!udev || !b.q) {
		free(b.q);
		return errmsg_set(e, -ENOMEM, "%s", udev ? "out of memory" : "cannot create a udev context");
	}
	for (size_t i = 0; i < want->n; i++) {
		char name[APQN_STR_MAX];
		_cleanup_(udev_device_unrefp) struct udev_device *d =
			udev_device_new_from_subsystem_sysname(udev, "ap", apqn_sysname(want->v[i], name));

		if (d && add_queue(&b, d, &ci) < 0) {
			ap_bus_free(&b);
			return errmsg_set(e, -ENOMEM, "out of memory");
		}
	}
	return bus_done(bus, &b);
}

void ap_bus_free(struct ap_bus *bus)
{
	for (size_t i = 0; i < bus->n; i++)
		free(bus->q[i].syspath);
	free(bus->q);
	bus->q = NULL;
	bus->n = 0;
}

struct ap_queue *ap_bus_find(const struct ap_bus *bus, struct apqn a)
{
	struct ap_queue key = { .apqn = a };

	if (!bus->n)
		return NULL;
	return bsearch(&key, bus->q, bus->n, sizeof(*bus->q), queue_cmp);
}

/* One open and read of the attribute: the kernel asks the HSM once per open. */
static ssize_t read_attr(const char *dir, const char *name, char *buf, size_t size)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

int ap_queue_read_mkvps(struct ap_queue *q, struct errmsg *e)
{
	char buf[SYSFS_PAGE];
	char name[APQN_STR_MAX];
	struct errmsg pe;
	ssize_t len;
	int rc;

	apqn_format(q->apqn, name);
	q->regs_read = false;
	len = read_attr(q->syspath, "mkvps", buf, sizeof(buf));
	if (len == -ENOENT)
		return 0;
	if (len < 0)
		return errmsg_set(e, (int)len, "%s: cannot read mkvps: %s", name,
				  strerror((int)-len));
	rc = mkvps_parse(buf, (size_t)len, &q->regs, &pe);
	if (rc < 0)
		return errmsg_set(e, rc, "%s: %s", name, pe.text);
	q->regs_read = true;
	log_debug("%s: read mkvps", name);
	return 0;
}
