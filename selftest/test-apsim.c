// SPDX-License-Identifier: MIT
/* The simulator's fidelity: sysfs text and uevents as the kernel makes them. */
#include <unistd.h>
#include <errno.h>
#include <libudev.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>

#include "apsim.h"
#include "run.h"
#include "tap.h"

static struct apsim *sim;
static struct udev_monitor *mon;

static struct apqn Q(unsigned int card, unsigned int domain)
{
	return (struct apqn){ (uint8_t)card, (uint8_t)domain };
}

static char *slurp(const char *rel)
{
	static char buf[8192];
	char path[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/sys/devices/ap/%s", apsim_root(sim), rel);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *hex(enum mk_type t, struct apqn a, enum mk_reg r)
{
	static char bufs[8][2 * MKVP_MAX_BYTES + 1];
	static int next;
	char *b = bufs[next++ % 8];
	struct apsim_key k;
	struct mkvp p;

	if (apsim_get_key(sim, a, t, r, &k) < 0)
		return "(none)";
	apsim_key_mkvp(t, &k, &p);
	for (size_t i = 0; i < p.len; i++)
		sprintf(b + 2 * i, "%02x", p.b[i]);
	return b;
}

/* How long an event that must come may take; "(none)" checks wait less. */
#define EVENT_WAIT_MS 10000

/* The next uevent, as "ACTION key=value ..." of the keys asked for. */
static const char *next_event(int timeout_ms, const char *const *keys)
{
	static char buf[1024];
	struct pollfd p = { .fd = udev_monitor_get_fd(mon), .events = POLLIN };
	struct udev_device *d;

	if (poll(&p, 1, timeout_ms) <= 0)
		return "(none)";
	d = udev_monitor_receive_device(mon);
	if (!d)
		return "(unreadable)";
	snprintf(buf, sizeof(buf), "%s %s", udev_device_get_action(d), udev_device_get_sysname(d));
	for (; *keys; keys++) {
		const char *v = udev_device_get_property_value(d, *keys);

		if (v)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %s=%s", *keys, v);
	}
	udev_device_unref(d);
	return buf;
}

static const char *const KEYS[] = { "SUBSYSTEM", "DEVTYPE", "DRIVER", "MODE", "ONLINE", "CONFIG",
				    "BINDINGS", "COMPLETECOUNT", "DEV_TYPE", "MODALIAS", NULL };

static void cca(void)
{
	struct apqn a = Q(0x08, 0x33);
	struct apsim_key k;
	char want[2048], old_cur[65];

	is_string(next_event(EVENT_WAIT_MS, KEYS),
		  "add card08 SUBSYSTEM=ap DEVTYPE=ap_card MODE=cca DEV_TYPE=000D MODALIAS=ap:t0D",
		  "a new card is added (no driver yet) ...");
	is_string(next_event(EVENT_WAIT_MS, KEYS),
		  "bind card08 SUBSYSTEM=ap DEVTYPE=ap_card DRIVER=cex4card MODE=cca DEV_TYPE=000D MODALIAS=ap:t0D",
		  "... and bound to cex4card");
	is_string(next_event(EVENT_WAIT_MS, KEYS), "add 08.0033 SUBSYSTEM=ap DEVTYPE=ap_queue MODE=cca",
		  "a new queue is added ...");
	is_string(next_event(EVENT_WAIT_MS, KEYS), "bind 08.0033 SUBSYSTEM=ap DEVTYPE=ap_queue DRIVER=cex4queue MODE=cca",
		  "... and bound to cex4queue");

	is_string(slurp("card08/type"), "CEX7C", "card type");
	is_string(slurp("card08/hwtype"), "13", "card hwtype of a CEX7");
	is_string(slurp("card08/ap_functions"), "0x92000000", "card ap_functions has the CCA bit");
	is_string(slurp("card08/08.0033/online"), "1", "queue online");
	is_string(slurp("card08/08.0033/config"), "1", "queue config");
	is_string(slurp("card08/08.0033/chkstop"), "0", "queue chkstop");

	snprintf(want, sizeof(want),
		 "AES NEW: empty 0x0000000000000000\nAES CUR: valid 0x%s\nAES OLD: invalid 0x0000000000000000\n"
		 "APKA NEW: empty 0x0000000000000000\nAPKA CUR: valid 0x%s\nAPKA OLD: invalid 0x0000000000000000\n"
		 "ASYM NEW: empty 0x00000000000000000000000000000000\nASYM CUR: valid 0x%s\n"
		 "ASYM OLD: invalid 0x00000000000000000000000000000000\n",
		 hex(MK_CCA_AES, a, REG_CUR), hex(MK_CCA_APKA, a, REG_CUR), hex(MK_CCA_ASYM, a, REG_CUR));
	is_string(slurp("card08/08.0033/mkvps"), want, "a new CCA queue: CUR valid, NEW empty, OLD invalid");
	ok(strlen(hex(MK_CCA_ASYM, a, REG_CUR)) == 32 && strlen(hex(MK_CCA_AES, a, REG_CUR)) == 16,
	   "ASYM patterns have 16 bytes, AES 8");

	apsim_random_key(MK_CCA_AES, &k);
	apsim_load_part(sim, a, MK_CCA_AES, &k);
	ok(strstr(slurp("card08/08.0033/mkvps"), "AES NEW: partial 0x0000000000000000\n") != NULL,
	   "the first load step leaves NEW partial");
	apsim_commit(sim, a, MK_CCA_AES);
	snprintf(want, sizeof(want), "AES NEW: full 0x%s\n", hex(MK_CCA_AES, a, REG_NEW));
	ok(strstr(slurp("card08/08.0033/mkvps"), want) != NULL, "the last makes it full with its pattern");
	snprintf(old_cur, sizeof(old_cur), "%s", hex(MK_CCA_AES, a, REG_CUR));
	is_string(next_event(300, KEYS), "(none)", "loading a key sends no uevent");

	apsim_activate(sim, a, MK_CCA_AES);
	snprintf(want, sizeof(want), "AES NEW: empty 0x0000000000000000\nAES CUR: valid 0x%s\nAES OLD: valid 0x%s\n",
		 hex(MK_CCA_AES, a, REG_CUR), old_cur);
	ok(strncmp(slurp("card08/08.0033/mkvps"), want, strlen(want)) == 0,
	   "activation: OLD <- CUR <- NEW, NEW empty");
	is_string(next_event(300, KEYS), "(none)", "activating sends no uevent");
	is_int(apsim_activate(sim, a, MK_CCA_AES), -EINVAL, "nothing to activate with NEW empty");

	apsim_set_asym_lines(sim, false);
	is_int(count_lines(slurp("card08/08.0033/mkvps")), 6, "a kernel before 5.19 prints 6 lines");
	apsim_set_asym_lines(sim, true);

	apsim_set_online(sim, a, false);
	is_string(next_event(EVENT_WAIT_MS, KEYS), "change 08.0033 SUBSYSTEM=ap DEVTYPE=ap_queue DRIVER=cex4queue MODE=cca ONLINE=0",
		  "going offline sends change ONLINE=0");
	ok(!strstr(slurp("card08/08.0033/uevent"), "ONLINE"), "the uevent file keeps only lasting properties");
	is_string(slurp("card08/08.0033/online"), "0", "online reads 0");
	is_string(slurp("card08/08.0033/mkvps"),
		  "AES NEW: - -\nAES CUR: - -\nAES OLD: - -\nAPKA NEW: - -\nAPKA CUR: - -\nAPKA OLD: - -\n"
		  "ASYM NEW: - -\nASYM CUR: - -\nASYM OLD: - -\n",
		  "an offline CCA queue prints - - for every register");
	apsim_set_online(sim, a, true);
	is_string(next_event(EVENT_WAIT_MS, KEYS), "change 08.0033 SUBSYSTEM=ap DEVTYPE=ap_queue DRIVER=cex4queue MODE=cca ONLINE=1",
		  "coming online sends change ONLINE=1");

	apsim_set_config(sim, a, false);
	is_string(next_event(EVENT_WAIT_MS, KEYS), "change 08.0033 SUBSYSTEM=ap DEVTYPE=ap_queue DRIVER=cex4queue MODE=cca CONFIG=0",
		  "deconfiguring sends change CONFIG=0");
	is_string(slurp("card08/08.0033/online"), "0", "a deconfigured queue is not online");
	apsim_set_config(sim, a, true);
	next_event(EVENT_WAIT_MS, KEYS);

	apsim_set_chkstop(sim, a, true);
	is_string(slurp("card08/08.0033/chkstop"), "1", "chkstop reads 1");
	ok(strncmp(slurp("card08/08.0033/mkvps"), "AES NEW: - -\n", 13) == 0, "a check-stopped queue has unknown registers");
	apsim_set_chkstop(sim, a, false);

	apsim_bind(sim, a, NULL);
	is_string(next_event(EVENT_WAIT_MS, KEYS), "unbind 08.0033 SUBSYSTEM=ap DEVTYPE=ap_queue MODE=cca",
		  "unbind carries no DRIVER");
	ok(!slurp("card08/08.0033/mkvps") && !slurp("card08/08.0033/online"),
	   "an unbound queue has no mkvps and no online");
	apsim_bind(sim, a, "vfio_ap");
	is_string(next_event(EVENT_WAIT_MS, KEYS), "bind 08.0033 SUBSYSTEM=ap DEVTYPE=ap_queue DRIVER=vfio_ap MODE=cca",
		  "bind to vfio_ap");
	ok(!slurp("card08/08.0033/mkvps") && !slurp("card08/08.0033/online"),
	   "a vfio_ap queue has neither mkvps nor online");
	apsim_bind(sim, a, "cex4queue");
	next_event(EVENT_WAIT_MS, KEYS);
	next_event(EVENT_WAIT_MS, KEYS);
	ok(slurp("card08/08.0033/mkvps") != NULL, "bound to cex4queue again, mkvps is back");

	apsim_bindings_complete(sim);
	is_string(next_event(EVENT_WAIT_MS, KEYS), "change ap SUBSYSTEM=ap BINDINGS=complete COMPLETECOUNT=1",
		  "the root device announces BINDINGS=complete");
	apsim_bindings_complete(sim);
	is_string(next_event(EVENT_WAIT_MS, KEYS), "change ap SUBSYSTEM=ap BINDINGS=complete COMPLETECOUNT=2",
		  "with a growing count");
}

static void ep11(void)
{
	struct apqn a = Q(0x0a, 0x05);
	struct apsim_key k;
	char want[512], cur[65];

	apsim_add_card(sim, 0x0a, "CEX8P");
	apsim_add_queue(sim, a);
	for (int i = 0; i < 4; i++)
		next_event(EVENT_WAIT_MS, KEYS);
	is_string(slurp("card0a/ap_functions"), "0x06000000", "EP11 card functions");
	snprintf(want, sizeof(want), "WK CUR: valid 0x%s\nWK NEW: empty -\n", hex(MK_EP11, a, REG_CUR));
	is_string(slurp("card0a/0a.0005/mkvps"), want, "a new EP11 queue");
	snprintf(cur, sizeof(cur), "%s", hex(MK_EP11, a, REG_CUR));
	ok(strlen(cur) == 64, "EP11 patterns have 32 bytes");

	apsim_random_key(MK_EP11, &k);
	apsim_load_part(sim, a, MK_EP11, &k);
	snprintf(want, sizeof(want), "WK CUR: valid 0x%s\nWK NEW: uncommitted 0x%s\n", cur,
		 hex(MK_EP11, a, REG_NEW));
	is_string(slurp("card0a/0a.0005/mkvps"), want, "uncommitted");
	is_int(apsim_commit(sim, a, MK_EP11), 0, "commit");
	snprintf(want, sizeof(want), "WK CUR: valid 0x%s\nWK NEW: committed 0x%s\n", cur,
		 hex(MK_EP11, a, REG_NEW));
	is_string(slurp("card0a/0a.0005/mkvps"), want, "committed");
	apsim_activate(sim, a, MK_EP11);
	snprintf(want, sizeof(want), "WK CUR: valid 0x%s\nWK NEW: empty -\n", hex(MK_EP11, a, REG_CUR));
	is_string(slurp("card0a/0a.0005/mkvps"), want, "activated: the old WK is gone");
	ok(strcmp(hex(MK_EP11, a, REG_CUR), cur) != 0, "the current pattern changed");
	apsim_zeroize(sim, a);
	is_string(slurp("card0a/0a.0005/mkvps"), "WK CUR: invalid -\nWK NEW: empty -\n", "zeroized");
	apsim_set_card_online(sim, 0x0a, false);
	is_string(next_event(EVENT_WAIT_MS, KEYS),
		  "change card0a SUBSYSTEM=ap DEVTYPE=ap_card DRIVER=cex4card MODE=ep11 ONLINE=0 DEV_TYPE=000E MODALIAS=ap:t0E",
		  "a card going offline sends change ONLINE=0");
	is_string(slurp("card0a/0a.0005/mkvps"), "WK CUR: - -\nWK NEW: - -\n", "an offline EP11 queue");
	apsim_set_card_online(sim, 0x0a, true);
	next_event(EVENT_WAIT_MS, KEYS);

	apsim_remove_queue(sim, a);
	is_string(next_event(EVENT_WAIT_MS, KEYS), "unbind 0a.0005 SUBSYSTEM=ap DEVTYPE=ap_queue MODE=ep11", "removal unbinds ...");
	is_string(next_event(EVENT_WAIT_MS, KEYS), "remove 0a.0005 SUBSYSTEM=ap DEVTYPE=ap_queue MODE=ep11", "... then removes");
	ok(!slurp("card0a/0a.0005/uevent"), "the queue is gone from sysfs");
}

static void accel_and_reads(void)
{
	struct apqn a = Q(0x08, 0x33);
	char path[4096];
	FILE *f;
	int before = apsim_mkvps_reads(sim, a);

	apsim_add_card(sim, 0x0c, "CEX7A");
	apsim_add_queue(sim, Q(0x0c, 0x01));
	ok(!slurp("card0c/0c.0001/mkvps") && slurp("card0c/0c.0001/online"),
	   "an accelerator queue has online but no mkvps");

	snprintf(path, sizeof(path), "/sys/devices/ap/card08/08.0033/mkvps");
	f = fopen(path, "r"); /* through umockdev, as mkagent reads it */
	ok(f != NULL, "mkvps opens through the preload");
	if (f)
		fclose(f);
	is_int(apsim_mkvps_reads(sim, a) - before, 1, "one read is counted");
	apsim_set_online(sim, a, false);
	is_int(apsim_mkvps_reads(sim, a) - before, 1, "the simulator's own writes are not");
	is_int(apsim_mkvps_reads(sim, Q(0x0f, 0x01)), -ENOENT, "no count for a queue that does not exist");
}

static const char *slurp_bus(const char *name)
{
	static char buf[256];
	char path[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/sys/bus/ap/%s", apsim_root(sim), name);
	f = fopen(path, "r");
	if (!f)
		return "(none)";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *link_target(const char *rel)
{
	static char buf[4096];
	char path[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/sys/devices/ap/%s", apsim_root(sim), rel);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return "(none)";
	buf[n] = '\0';
	return buf;
}

/* What lszcrypt reads beside the registers, as ap_card.c, ap_queue.c and
 * ap_bus.c print it. */
static void lszcrypt_attributes(void)
{
	struct apqn a = Q(0x0d, 0x01), b = Q(0x0d, 0x02);
	char want[80];

	apsim_add_card(sim, 0x0d, "CEX8C");
	apsim_add_queue(sim, a);
	apsim_add_queue(sim, b);
	is_string(link_target("card0d/driver"), "../../../bus/ap/drivers/cex4card",
		  "a card's driver link names cex4card");
	is_string(link_target("card0d/0d.0001/driver"), "../../../../bus/ap/drivers/cex4queue",
		  "a queue's names cex4queue");
	is_string(slurp("card0d/0d.0001/request_count"), "0\n", "a new queue has done no request");
	is_string(slurp("card0d/request_count"), "0\n", "nor has its card");
	apsim_add_requests(sim, a, 5);
	apsim_add_requests(sim, b, 7);
	is_string(slurp("card0d/0d.0001/request_count"), "5\n", "a queue counts its requests");
	is_string(slurp("card0d/request_count"), "12\n", "its card counts its queues' requests");
	apsim_set_queued(sim, a, 2, 3);
	apsim_set_queued(sim, b, 1, 0);
	is_string(slurp("card0d/0d.0001/requestq_count"), "2\n", "a queue's requestq_count");
	is_string(slurp("card0d/0d.0001/pendingq_count"), "3\n", "a queue's pendingq_count");
	is_string(slurp("card0d/requestq_count"), "3\n", "a card's requestq_count sums its queues'");
	is_string(slurp("card0d/pendingq_count"), "3\n", "so does its pendingq_count");
	apsim_set_chkstop(sim, b, true);
	is_string(slurp("card0d/requestq_count"), "2\n", "a check-stopped queue is flushed");
	is_string(slurp("card0d/0d.0002/request_count"), "7\n", "and keeps its count");
	apsim_bind(sim, a, "vfio_ap");
	is_string(slurp("card0d/0d.0001/request_count"), "-\n",
		  "a queue zcrypt let go is uninitiated: request_count is -");
	is_string(slurp("card0d/0d.0001/pendingq_count"), "0\n", "and nothing is queued");
	is_string(slurp("card0d/request_count"), "12\n", "the card keeps its count");
	apsim_bind(sim, a, "cex4queue");
	is_string(slurp("card0d/0d.0001/request_count"), "5\n", "bound to zcrypt again, the count is back");
	is_int(apsim_add_requests(sim, Q(0x0d, 0x09), 1), -ENOENT, "no requests on a queue that does not exist");
	is_int(apsim_set_queued(sim, a, -1, 0), -EINVAL, "nor negative queue lengths");

	is_string(slurp_bus("ap_domain"), "51\n", "ap_domain is the first queue's domain");
	is_string(slurp_bus("ap_max_domain_id"), "255\n", "ap_max_domain_id");
	is_string(slurp_bus("config_time"), "30\n", "config_time");
	is_string(slurp_bus("poll_thread"), "0\n", "poll_thread");
	is_string(slurp_bus("poll_timeout"), "250000\n", "poll_timeout");
	is_string(slurp_bus("ap_interrupts"), "1\n", "ap_interrupts");
	/* domains 1, 2 and 51 have queues */
	snprintf(want, sizeof(want), "0x60%010d10%050d\n", 0, 0);
	is_string(slurp_bus("ap_usage_domain_mask"), want, "the usage domain mask: domain 0 leftmost");
	is_string(slurp_bus("ap_control_domain_mask"), want, "usage domains are control domains");
	apsim_set_control_domain(sim, 0, true);
	snprintf(want, sizeof(want), "0xe0%010d10%050d\n", 0, 0);
	is_string(slurp_bus("ap_control_domain_mask"), want, "a control domain without a queue");
	apsim_set_control_domain(sim, 0, false);
	apsim_set_ap_domain(sim, 2);
	is_string(slurp_bus("ap_domain"), "2\n", "ap_domain set");
	is_int(apsim_set_ap_domain(sim, 256), -EINVAL, "a domain past 255 is refused");
	apsim_remove_queue(sim, b);
	snprintf(want, sizeof(want), "0x40%010d10%050d\n", 0, 0);
	is_string(slurp_bus("ap_usage_domain_mask"), want, "a removed queue's domain leaves the mask");
}

int main(int argc, char **argv)
{
	struct udev *udev;

	(void)argc;
	sim = apsim_new(argv);
	udev = udev_new();
	mon = udev_monitor_new_from_netlink(udev, "udev");
	udev_monitor_filter_add_match_subsystem_devtype(mon, "ap", NULL);
	udev_monitor_enable_receiving(mon);

	apsim_add_card(sim, 0x08, "CEX7C");
	apsim_add_queue(sim, Q(0x08, 0x33));
	cca();
	ep11();
	accel_and_reads();
	/* no more uevents are read: the monitor's buffer would fill */
	mon = udev_monitor_unref(mon);
	lszcrypt_attributes();

	udev_monitor_unref(mon);
	udev_unref(udev);
	apsim_free(sim);
	return done_testing();
}
