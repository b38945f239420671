// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <umockdev.h>
#include <unistd.h>

#include "apsim.h"
#include "run.h"
#include "io/clock.h"

#define AP_FUNC_MEX4K 0x80000000u
#define AP_FUNC_CRT4K 0x40000000u
#define AP_FUNC_COPRO 0x10000000u
#define AP_FUNC_ACCEL 0x08000000u
#define AP_FUNC_EP11 0x04000000u
#define AP_FUNC_APXA 0x02000000u

struct sim_reg {
	enum reg_state state;
	struct apsim_key key;
};

struct sim_queue {
	struct apqn apqn;
	bool online, config, chkstop;
	const char *driver; /* "cex4queue", "vfio_ap" or NULL */
	/* The kernel's dev_state past AP_DEV_STATE_UNINITIATED: set when the
	 * queue is created or zcrypt binds it, cleared when a driver lets it
	 * go (ap_queue_remove() in ap_queue.c); vfio_ap does not set it. */
	bool initiated;
	unsigned long long requests; /* total_request_count */
	int requestq, pendingq;      /* requestq_count, pendingq_count */
	struct sim_reg reg[MK_TYPE_COUNT][REG_COUNT];
	int wd;
	int reads;
};

struct sim_card {
	bool exists;
	char type[8]; /* CEX<n><A|C|P> */
	int gen;
	char mode;    /* 'A', 'C' or 'P' */
	bool online, config, chkstop;
	unsigned long long requests; /* total_request_count, ap_card.c */
	struct sim_queue *queues[256];
};

struct apsim {
	UMockdevTestbed *tb;
	char *root;
	char *sys;
	bool asym;
	int ifd;
	unsigned long long complete_count;
	long long last_uevent_us;
	int ap_domain; /* -1 until the first queue */
	/* domains with a queue, control domains without: bit 0x80 of byte 0 is domain 0 */
	uint8_t usage[32], control_only[32];
	/* /sys/bus/ap/apmask and aqmask: the cards and domains the host's
	 * drivers may use (all at boot); same bit order */
	uint8_t mask[2][32];
	struct sim_card cards[256];
	struct sim_queue **by_wd; /* inotify watch -> queue */
	size_t nwd;
};

static void drain_reads(struct apsim *sim);

/* ---- paths and files of the testbed ---- */

static void card_devpath(unsigned int card, char *buf, size_t size)
{
	snprintf(buf, size, "/sys/devices/ap/card%02x", card);
}

static void queue_devpath(struct apqn a, char *buf, size_t size)
{
	snprintf(buf, size, "/sys/devices/ap/card%02x/%02x.%04x", a.card, a.card, a.domain);
}

/* The real path of a /sys path inside the testbed. */
static void real_path(const struct apsim *sim, const char *syspath, const char *name, char *buf,
		      size_t size)
{
	snprintf(buf, size, "%s%s%s%s", sim->sys, syspath + strlen("/sys"), name ? "/" : "",
		 name ? name : "");
}

/* Sysfs shows a whole attribute or none: readers never see half a file. */
static int write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

static struct sim_queue *find_queue(const struct apsim *sim, struct apqn a)
{
	return sim->cards[a.card].exists ? sim->cards[a.card].queues[a.domain] : NULL;
}

static const char *mode_word(char mode)
{
	return mode == 'A' ? "accel" : mode == 'C' ? "cca" : "ep11";
}

/* ---- uevent properties, as the kernel's ap_uevent() and dev_uevent() ---- */

static void card_props(const struct apsim *sim, unsigned int card, const char *extra, char *buf,
		       size_t size)
{
	const struct sim_card *c = &sim->cards[card];

	snprintf(buf, size, "DEVTYPE=ap_card\nDRIVER=cex4card\nDEV_TYPE=%04X\nMODALIAS=ap:t%02X\nMODE=%s\n%s",
		 c->gen + 6, c->gen + 6, mode_word(c->mode), extra ? extra : "");
}

static void queue_props(const struct apsim *sim, const struct sim_queue *q, const char *extra,
			char *buf, size_t size)
{
	snprintf(buf, size, "DEVTYPE=ap_queue\n%s%s%sMODE=%s\n%s", q->driver ? "DRIVER=" : "",
		 q->driver ? q->driver : "", q->driver ? "\n" : "",
		 mode_word(sim->cards[q->apqn.card].mode), extra ? extra : "");
}

/* Write the uevent file, send @action with it, and leave the file with
 * the device's lasting properties, as sysfs shows them afterwards. */
static void send_uevent(struct apsim *sim, const char *devpath, const char *action,
			const char *props_during, const char *props_after)
{
	char path[PATH_MAX];

	real_path(sim, devpath, "uevent", path, sizeof(path));
	write_file(path, props_during);
	sim->last_uevent_us = now_us();
	umockdev_testbed_uevent(sim->tb, devpath, action);
	write_file(path, props_after);
}

static void queue_uevent(struct apsim *sim, const struct sim_queue *q, const char *action,
			 const char *extra)
{
	char devpath[128], during[512], after[512];

	queue_devpath(q->apqn, devpath, sizeof(devpath));
	queue_props(sim, q, extra, during, sizeof(during));
	queue_props(sim, q, NULL, after, sizeof(after));
	send_uevent(sim, devpath, action, during, after);
}

static void card_uevent(struct apsim *sim, unsigned int card, const char *action,
			const char *extra)
{
	char devpath[128], during[512], after[512];

	card_devpath(card, devpath, sizeof(devpath));
	card_props(sim, card, extra, during, sizeof(during));
	card_props(sim, card, NULL, after, sizeof(after));
	send_uevent(sim, devpath, action, during, after);
}

/* ---- mkvps as zcrypt_cex4.c prints it ---- */

static bool queue_usable(const struct apsim *sim, const struct sim_queue *q)
{
	const struct sim_card *c = &sim->cards[q->apqn.card];

	return q->online && q->config && !q->chkstop && c->online && c->config && !c->chkstop;
}

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*len += (size_t)vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
}

static void hex_lower(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static void cca_line(const struct sim_queue *q, bool usable, enum mk_type t, enum mk_reg r,
		     const char *name, char *buf, size_t size, size_t *len)
{
	static const char *const regname[] = { "NEW", "CUR", "OLD" };
	const struct sim_reg *reg = &q->reg[t][r];
	size_t nbytes = mk_type_sysfs_bytes(t);
	char hex[2 * MKVP_MAX_BYTES + 1];
	struct mkvp p = { .len = (uint8_t)nbytes };

	if (!usable) {
		append(buf, size, len, "%s %s: - -\n", name, regname[r]);
		return;
	}
	if (reg_state_has_mkvp(reg->state))
		apsim_key_mkvp(t, &reg->key, &p);
	hex_lower(p.b, nbytes, hex);
	append(buf, size, len, "%s %s: %s 0x%s\n", name, regname[r], reg_state_name(reg->state),
	       hex);
}

static void ep11_line(const struct sim_queue *q, bool usable, enum mk_reg r, char *buf,
		      size_t size, size_t *len)
{
	const struct sim_reg *reg = &q->reg[MK_EP11][r];
	const char *name = r == REG_CUR ? "WK CUR" : "WK NEW";
	char hex[2 * MKVP_MAX_BYTES + 1];
	struct mkvp p;

	if (!usable) {
		append(buf, size, len, "%s: - -\n", name);
		return;
	}
	if (reg->state == REG_INVALID || reg->state == REG_EMPTY) {
		append(buf, size, len, "%s: %s -\n", name, reg_state_name(reg->state));
		return;
	}
	apsim_key_mkvp(MK_EP11, &reg->key, &p);
	hex_lower(p.b, p.len, hex);
	append(buf, size, len, "%s: %s 0x%s\n", name, reg_state_name(reg->state), hex);
}

/* The HSM's registers, for simulated consumers in other processes. */
static void save_hsm(const struct apsim *sim, const struct sim_queue *q)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], hex[2 * APSIM_KEY_MAX + 1];
	FILE *f;

	snprintf(path, sizeof(path), "%s/hsm/%02x.%04x", sim->root, q->apqn.card, q->apqn.domain);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		for (int r = 0; r < REG_COUNT; r++) {
			const struct sim_reg *reg = &q->reg[t][r];

			if (reg->state == REG_UNKNOWN)
				continue;
			hex_lower(reg->key.b, reg->key.len, hex);
			fprintf(f, "%s %s %s %s\n", mk_type_name(t), mk_reg_name(r),
				reg_state_name(reg->state), reg->key.len ? hex : "-");
		}
	}
	fclose(f);
	rename(tmp, path);
}

static void update_mkvps(struct apsim *sim, const struct sim_queue *q)
{
	static const struct {
		enum mk_type t;
		const char *name;
	} cca[] = { { MK_CCA_AES, "AES" }, { MK_CCA_APKA, "APKA" }, { MK_CCA_ASYM, "ASYM" } };
	char devpath[128], text[2048];
	bool usable = queue_usable(sim, q);
	size_t len = 0;

	save_hsm(sim, q);
	if (q->driver == NULL || strcmp(q->driver, "cex4queue") != 0)
		return;
	switch (sim->cards[q->apqn.card].mode) {
	case 'C':
		for (size_t i = 0; i < sizeof(cca) / sizeof(cca[0]); i++) {
			if (cca[i].t == MK_CCA_ASYM && !sim->asym)
				continue;
			for (int r = 0; r < REG_COUNT; r++)
				cca_line(q, usable, cca[i].t, r, cca[i].name, text, sizeof(text), &len);
		}
		break;
	case 'P':
		ep11_line(q, usable, REG_CUR, text, sizeof(text), &len);
		ep11_line(q, usable, REG_NEW, text, sizeof(text), &len);
		break;
	default:
		return; /* accelerators have no mkvps */
	}
	queue_devpath(q->apqn, devpath, sizeof(devpath));
	umockdev_testbed_set_attribute(sim->tb, devpath, "mkvps", text);
}

/* ---- counters and bus attributes, printed as the kernel prints them ---- */

static void set_attr(struct apsim *sim, const char *devpath, const char *name, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));

static void set_attr(struct apsim *sim, const char *devpath, const char *name, const char *fmt,
		     ...)
{
	char text[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	umockdev_testbed_set_attribute(sim->tb, devpath, name, text);
}

/*
 * A queue's request_count ("%llu", or "-" while its dev_state is
 * UNINITIATED), requestq_count and pendingq_count ("%d", 0 while
 * UNINITIATED): ap_queue.c. A card's are the sums over its queues, never
 * "-", and its request_count keeps what it counted ("%llu"): ap_card.c.
 * Only @q (NULL: none) and its card are rewritten.
 */
static void update_counts(struct apsim *sim, unsigned int card, const struct sim_queue *q)
{
	struct sim_card *c = &sim->cards[card];
	char devpath[128];
	int reqq = 0, penq = 0;

	if (q) {
		queue_devpath(q->apqn, devpath, sizeof(devpath));
		if (q->initiated)
			set_attr(sim, devpath, "request_count", "%llu\n", q->requests);
		else
			set_attr(sim, devpath, "request_count", "-\n");
		set_attr(sim, devpath, "requestq_count", "%d\n", q->initiated ? q->requestq : 0);
		set_attr(sim, devpath, "pendingq_count", "%d\n", q->initiated ? q->pendingq : 0);
	}
	for (int d = 0; d < 256; d++) {
		if (c->queues[d]) {
			reqq += c->queues[d]->requestq;
			penq += c->queues[d]->pendingq;
		}
	}
	card_devpath(card, devpath, sizeof(devpath));
	set_attr(sim, devpath, "request_count", "%llu\n", c->requests);
	set_attr(sim, devpath, "requestq_count", "%d\n", reqq);
	set_attr(sim, devpath, "pendingq_count", "%d\n", penq);
}

static void bus_attr(struct apsim *sim, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void bus_attr(struct apsim *sim, const char *name, const char *fmt, ...)
{
	char path[PATH_MAX], text[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/bus/ap/%s", sim->sys, name);
	write_file(path, text);
}

/* A domain mask as ap_bus.c prints the QCI's: "0x" and eight "%08x" words,
 * domain 0 the leftmost bit. */
static void mask_text(const uint8_t mask[32], char *out)
{
	out += sprintf(out, "0x");
	for (int i = 0; i < 32; i++)
		out += sprintf(out, "%02x", mask[i]);
	sprintf(out, "\n");
}

/*
 * The bus attributes lszcrypt -b and -d read (ap_bus.c): the default
 * domain (ap_domain_show, "%d", -1 before one is chosen), the usage and
 * control domain masks of the configuration (every domain with a queue is
 * a usage and a control domain; apsim_set_control_domain() adds control
 * domains without queues).
 */
static void update_bus(struct apsim *sim)
{
	uint8_t control[32];
	char text[2 * 32 + 4];

	for (int i = 0; i < 32; i++)
		control[i] = sim->usage[i] | sim->control_only[i];
	bus_attr(sim, "ap_domain", "%d\n", sim->ap_domain);
	mask_text(sim->usage, text);
	bus_attr(sim, "ap_usage_domain_mask", "%s", text);
	mask_text(control, text);
	bus_attr(sim, "ap_control_domain_mask", "%s", text);
	mask_text(sim->mask[APSIM_APMASK], text);
	bus_attr(sim, "apmask", "%s", text);
	mask_text(sim->mask[APSIM_AQMASK], text);
	bus_attr(sim, "aqmask", "%s", text);
}

static void set_usage_domain(struct apsim *sim, unsigned int domain)
{
	bool used = false;

	for (int c = 0; c < 256 && !used; c++)
		used = sim->cards[c].exists && sim->cards[c].queues[domain];
	if (used)
		sim->usage[domain / 8] |= (uint8_t)(0x80 >> (domain % 8));
	else
		sim->usage[domain / 8] &= (uint8_t)~(0x80 >> (domain % 8));
	update_bus(sim);
}

static void update_queue_attrs(struct apsim *sim, const struct sim_queue *q)
{
	char devpath[128];

	update_counts(sim, q->apqn.card, q);
	queue_devpath(q->apqn, devpath, sizeof(devpath));
	umockdev_testbed_set_attribute(sim->tb, devpath, "config", q->config ? "1" : "0");
	umockdev_testbed_set_attribute(sim->tb, devpath, "chkstop", q->chkstop ? "1" : "0");
	if (q->driver && strcmp(q->driver, "cex4queue") == 0)
		umockdev_testbed_set_attribute(sim->tb, devpath, "online",
					       q->online && q->config && !q->chkstop ? "1" : "0");
	update_mkvps(sim, q);
}

static void update_card_queues(struct apsim *sim, unsigned int card)
{
	for (int d = 0; d < 256; d++)
		if (sim->cards[card].queues[d])
			update_mkvps(sim, sim->cards[card].queues[d]);
}

/* ---- setup ---- */

static void reexec_under_umockdev(char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int argc = 0;
	char **args;

	if (n < 0)
		return;
	self[n] = '\0';
	while (argv[argc])
		argc++;
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args)
		return;
	args[0] = "umockdev-wrapper";
	args[1] = self;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	fflush(stdout);
	execvp(args[0], args);
	fprintf(stderr, "apsim: cannot run umockdev-wrapper: %s\n", strerror(errno));
	exit(1);
}

struct apsim *apsim_new(char **argv)
{
	struct apsim *sim;
	char path[PATH_MAX];

	const char *preload = getenv("LD_PRELOAD");

	if (!preload || !strstr(preload, "libumockdev-preload"))
		reexec_under_umockdev(argv);
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return NULL;
	sim->asym = true;
	sim->tb = umockdev_testbed_new();
	sim->root = umockdev_testbed_get_root_dir(sim->tb);
	sim->sys = umockdev_testbed_get_sys_dir(sim->tb);
	sim->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	g_free(umockdev_testbed_add_device(sim->tb, "ap", "ap", NULL, NULL, NULL));
	/* The root device is not one of the bus's devices. */
	snprintf(path, sizeof(path), "%s/bus/ap/devices/ap", sim->sys);
	unlink(path);
	for (const char *const *d = (const char *const[]){ "cex4card", "cex4queue", "vfio_ap", NULL };
	     *d; d++) {
		snprintf(path, sizeof(path), "%s/bus/ap/drivers", sim->sys);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/bus/ap/drivers/%s", sim->sys, *d);
		mkdir(path, 0755);
	}
	/* What the kernel shows with adapter interrupts, in an LPAR (where
	 * poll_high_timeout is 250000 ns), no poll thread, the default scan
	 * time (AP_CONFIG_TIME) and a QCI with APXA and 256 domains: ap_bus.c. */
	sim->ap_domain = -1;
	memset(sim->mask, 0xff, sizeof(sim->mask));
	bus_attr(sim, "ap_max_domain_id", "%d\n", 255);
	bus_attr(sim, "ap_interrupts", "%d\n", 1);
	bus_attr(sim, "config_time", "%d\n", 30);
	bus_attr(sim, "poll_thread", "%d\n", 0);
	bus_attr(sim, "poll_timeout", "%lu\n", 250000UL);
	update_bus(sim);
	snprintf(path, sizeof(path), "%s/module", sim->sys);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/hsm", sim->root);
	mkdir(path, 0755);
	apsim_set_module(sim, "ap", "live");
	apsim_set_module(sim, "zcrypt", "live");
	apsim_set_module(sim, "zcrypt_cex4", "live");
	apsim_set_module(sim, "pkey", "live");
	return sim;
}

void apsim_free(struct apsim *sim)
{
	if (!sim)
		return;
	for (int c = 0; c < 256; c++)
		for (int d = 0; d < 256; d++)
			free(sim->cards[c].queues[d]);
	if (sim->ifd >= 0)
		close(sim->ifd);
	free(sim->by_wd);
	g_free(sim->root);
	g_free(sim->sys);
	g_object_unref(sim->tb);
	free(sim);
}

const char *apsim_root(const struct apsim *sim)
{
	return sim->root;
}

void apsim_set_asym_lines(struct apsim *sim, bool on)
{
	sim->asym = on;
	for (int c = 0; c < 256; c++)
		if (sim->cards[c].exists)
			update_card_queues(sim, (unsigned int)c);
}

int apsim_set_module(struct apsim *sim, const char *name, const char *state)
{
	char dir[PATH_MAX], file[PATH_MAX + 16], text[32];

	snprintf(dir, sizeof(dir), "%s/module/%s", sim->sys, name);
	snprintf(file, sizeof(file), "%s/initstate", dir);
	if (access(dir, F_OK) == 0)
		remove_tree(dir);
	if (!state)
		return 0;
	if (mkdir(dir, 0755) < 0)
		return -errno;
	snprintf(text, sizeof(text), "%s\n", state);
	return write_file(file, text);
}

int apsim_add_card(struct apsim *sim, unsigned int card, const char *type)
{
	struct sim_card *c;
	char name[16], hw[8], funcs[16], devtype[8], modalias[16], devpath[64];
	unsigned int f = AP_FUNC_APXA;
	int gen;
	size_t len = strlen(type);

	if (card > 0xff || sim->cards[card].exists)
		return -EEXIST;
	if (len != 5 || strncmp(type, "CEX", 3) != 0 || type[3] < '4' || type[3] > '8' ||
	    !strchr("ACP", type[4]))
		return -EINVAL;
	gen = type[3] - '0';
	c = &sim->cards[card];
	*c = (struct sim_card){ .exists = true, .gen = gen, .mode = type[4], .online = true,
				.config = true };
	snprintf(c->type, sizeof(c->type), "%s", type);
	f |= c->mode == 'A' ? AP_FUNC_ACCEL | AP_FUNC_MEX4K | AP_FUNC_CRT4K :
	     c->mode == 'C' ? AP_FUNC_COPRO | AP_FUNC_MEX4K :
			      AP_FUNC_EP11;
	snprintf(name, sizeof(name), "card%02x", card);
	snprintf(hw, sizeof(hw), "%d", gen + 6);
	snprintf(funcs, sizeof(funcs), "0x%08X", f);
	snprintf(devtype, sizeof(devtype), "%04X", gen + 6);
	snprintf(modalias, sizeof(modalias), "ap:t%02X", gen + 6);
	/* umockdev sends the add uevent with these properties */
	g_free(umockdev_testbed_add_device(sim->tb, "ap", name, "/sys/devices/ap", "type", type,
					   "hwtype", hw, "raw_hwtype", hw, "ap_functions", funcs,
					   "online", "1", "config", "1", "chkstop", "0", "depth",
					   "8", NULL, "DEVTYPE", "ap_card", "DEV_TYPE", devtype,
					   "MODALIAS", modalias, "MODE", mode_word(c->mode), NULL));
	card_devpath(card, devpath, sizeof(devpath));
	if (c->mode != 'A')
		umockdev_testbed_set_attribute(sim->tb, devpath, "serialnr",
					       c->mode == 'C' ? "93AADFK7" : "93AABEXB00000000");
	umockdev_testbed_set_attribute_link(sim->tb, devpath, "driver",
					    "../../../bus/ap/drivers/cex4card");
	update_counts(sim, card, NULL);
	card_uevent(sim, card, "bind", NULL);
	return 0;
}

static void init_registers(const struct sim_card *c, struct sim_queue *q)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		bool mine = c->mode == 'C' ? mk_type_is_cca(t) : c->mode == 'P' && t == MK_EP11;

		if (!mine)
			continue;
		q->reg[t][REG_NEW].state = REG_EMPTY;
		q->reg[t][REG_CUR].state = REG_VALID;
		apsim_random_key(t, &q->reg[t][REG_CUR].key);
		q->reg[t][REG_OLD].state = REG_INVALID;
	}
}

int apsim_add_queue(struct apsim *sim, struct apqn a)
{
	struct sim_card *c = &sim->cards[a.card];
	struct sim_queue *q;
	char name[16], carddev[64], dir[PATH_MAX];

	if (!c->exists)
		return -ENOENT;
	if (c->queues[a.domain])
		return -EEXIST;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	/* created by the bus scan, usable: ap_queue_init_state() (ap_bus.c) */
	*q = (struct sim_queue){ .apqn = a, .online = true, .config = true, .initiated = true,
				 .wd = -1 };
	init_registers(c, q);
	c->queues[a.domain] = q;
	snprintf(name, sizeof(name), "%02x.%04x", a.card, a.domain);
	card_devpath(a.card, carddev, sizeof(carddev));
	g_free(umockdev_testbed_add_device(sim->tb, "ap", name, carddev, "config", "1", "chkstop",
					   "0", NULL, "DEVTYPE", "ap_queue", "MODE", mode_word(c->mode),
					   NULL));
	update_counts(sim, a.card, q);
	/* The first domain with a usable queue becomes the default, which
	 * stays (ap_select_domain() in ap_bus.c). */
	if (sim->ap_domain < 0)
		sim->ap_domain = a.domain;
	set_usage_domain(sim, a.domain);
	real_path(sim, carddev, name, dir, sizeof(dir));
	q->wd = inotify_add_watch(sim->ifd, dir, IN_CLOSE_NOWRITE);
	if (q->wd >= 0 && (size_t)q->wd >= sim->nwd) {
		size_t n = (size_t)q->wd * 2 + 16;
		struct sim_queue **v = realloc(sim->by_wd, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memset(v + sim->nwd, 0, (n - sim->nwd) * sizeof(*v));
		sim->by_wd = v;
		sim->nwd = n;
	}
	if (q->wd >= 0)
		sim->by_wd[q->wd] = q;
	return apsim_bind(sim, a, "cex4queue");
}

int apsim_bind(struct apsim *sim, struct apqn a, const char *driver)
{
	struct sim_queue *q = find_queue(sim, a);
	char devpath[128], path[PATH_MAX];

	if (!q)
		return -ENOENT;
	queue_devpath(a, devpath, sizeof(devpath));
	if (q->driver) {
		/* zcrypt's attributes go with the driver */
		static const char *const gone[] = { "online", "mkvps", "driver" };

		for (size_t i = 0; i < 3; i++) {
			real_path(sim, devpath, gone[i], path, sizeof(path));
			unlink(path);
		}
		q->driver = NULL;
		/* flushed, reset and UNINITIATED: ap_queue_prepare_remove(),
		 * ap_queue_remove() */
		q->initiated = false;
		q->requestq = q->pendingq = 0;
		update_counts(sim, a.card, q);
		queue_uevent(sim, q, "unbind", NULL);
	}
	if (!driver)
		return 0;
	if (strcmp(driver, "cex4queue") != 0 && strcmp(driver, "vfio_ap") != 0)
		return -EINVAL;
	q->driver = strcmp(driver, "cex4queue") == 0 ? "cex4queue" : "vfio_ap";
	/* zcrypt's probe initializes the queue, vfio_ap's does not
	 * (zcrypt_cex4_queue_probe() in zcrypt_cex4.c) */
	if (strcmp(q->driver, "cex4queue") == 0)
		q->initiated = true;
	snprintf(path, sizeof(path), "../../../../bus/ap/drivers/%s", q->driver);
	umockdev_testbed_set_attribute_link(sim->tb, devpath, "driver", path);
	update_queue_attrs(sim, q);
	queue_uevent(sim, q, "bind", NULL);
	return 0;
}

int apsim_remove_queue(struct apsim *sim, struct apqn a)
{
	struct sim_queue *q = find_queue(sim, a);
	char devpath[128];

	if (!q)
		return -ENOENT;
	apsim_bind(sim, a, NULL);
	queue_uevent(sim, q, "remove", NULL);
	queue_devpath(a, devpath, sizeof(devpath));
	drain_reads(sim);
	if (q->wd >= 0) {
		inotify_rm_watch(sim->ifd, q->wd);
		sim->by_wd[q->wd] = NULL;
	}
	umockdev_testbed_remove_device(sim->tb, devpath);
	sim->cards[a.card].queues[a.domain] = NULL;
	free(q);
	update_counts(sim, a.card, NULL);
	set_usage_domain(sim, a.domain);
	return 0;
}

int apsim_set_online(struct apsim *sim, struct apqn a, bool on)
{
	struct sim_queue *q = find_queue(sim, a);

	if (!q)
		return -ENOENT;
	q->online = on;
	if (!on)
		q->requestq = q->pendingq = 0; /* flushed: online_store() in zcrypt_queue.c */
	update_queue_attrs(sim, q);
	queue_uevent(sim, q, "change", on ? "ONLINE=1\n" : "ONLINE=0\n");
	return 0;
}

int apsim_change_uevent(struct apsim *sim, struct apqn a)
{
	char devpath[128];

	if (!find_queue(sim, a))
		return -ENOENT;
	queue_devpath(a, devpath, sizeof(devpath));
	sim->last_uevent_us = now_us();
	umockdev_testbed_uevent(sim->tb, devpath, "change");
	return 0;
}

long long apsim_last_uevent_us(const struct apsim *sim)
{
	return sim->last_uevent_us;
}

int apsim_set_config(struct apsim *sim, struct apqn a, bool on)
{
	struct sim_queue *q = find_queue(sim, a);

	if (!q)
		return -ENOENT;
	q->config = on;
	if (!on)
		q->requestq = q->pendingq = 0; /* flushed: ap_scan_domains() */
	update_queue_attrs(sim, q);
	queue_uevent(sim, q, "change", on ? "CONFIG=1\n" : "CONFIG=0\n");
	return 0;
}

int apsim_set_chkstop(struct apsim *sim, struct apqn a, bool on)
{
	struct sim_queue *q = find_queue(sim, a);

	if (!q)
		return -ENOENT;
	q->chkstop = on;
	if (on)
		q->requestq = q->pendingq = 0; /* flushed: ap_scan_domains() */
	update_queue_attrs(sim, q);
	return 0;
}

int apsim_set_card_online(struct apsim *sim, unsigned int card, bool on)
{
	char devpath[64];

	if (card > 0xff || !sim->cards[card].exists)
		return -ENOENT;
	sim->cards[card].online = on;
	card_devpath(card, devpath, sizeof(devpath));
	umockdev_testbed_set_attribute(sim->tb, devpath, "online", on ? "1" : "0");
	update_card_queues(sim, card);
	card_uevent(sim, card, "change", on ? "ONLINE=1\n" : "ONLINE=0\n");
	return 0;
}

void apsim_bindings_complete(struct apsim *sim)
{
	char props[96];

	snprintf(props, sizeof(props), "BINDINGS=complete\nCOMPLETECOUNT=%llu\n",
		 ++sim->complete_count);
	send_uevent(sim, "/sys/devices/ap", "change", props, "");
}

static bool mask_bit(const uint8_t mask[32], unsigned int bit)
{
	return mask[bit / 8] & (0x80 >> (bit % 8));
}

int apsim_set_mask(struct apsim *sim, enum apsim_mask which, unsigned int bit, bool host)
{
	uint8_t *m = sim->mask[which];
	char props[128];

	if (bit > 0xff || (which != APSIM_APMASK && which != APSIM_AQMASK))
		return -EINVAL;
	if (mask_bit(m, bit) == host)
		return 0; /* no change, no uevent (apmask_store()) */
	if (host)
		m[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	else
		m[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	update_bus(sim);
	/* ap_bus_revise_bindings(): each bound queue whose owner changed is
	 * reprobed, zcrypt for the host's, vfio_ap for the others */
	for (int c = 0; c < 256; c++) {
		for (int d = 0; sim->cards[c].exists && d < 256; d++) {
			struct sim_queue *q = sim->cards[c].queues[d];
			bool owned = mask_bit(sim->mask[APSIM_APMASK], (unsigned int)c) &&
				     mask_bit(sim->mask[APSIM_AQMASK], (unsigned int)d);

			if (q && q->driver && owned != (strcmp(q->driver, "cex4queue") == 0))
				apsim_bind(sim, q->apqn, owned ? "cex4queue" : "vfio_ap");
		}
	}
	/* then ap_send_mask_changed_uevent() */
	snprintf(props, sizeof(props), "%s=", which == APSIM_APMASK ? "APMASK" : "AQMASK");
	mask_text(m, props + strlen(props));
	send_uevent(sim, "/sys/devices/ap", "change", props, "");
	return 0;
}

int apsim_add_requests(struct apsim *sim, struct apqn a, unsigned int n)
{
	struct sim_queue *q = find_queue(sim, a);

	if (!q)
		return -ENOENT;
	q->requests += n;
	sim->cards[a.card].requests += n;
	update_counts(sim, a.card, q);
	return 0;
}

int apsim_set_queued(struct apsim *sim, struct apqn a, int requestq, int pendingq)
{
	struct sim_queue *q = find_queue(sim, a);

	if (!q)
		return -ENOENT;
	if (requestq < 0 || pendingq < 0)
		return -EINVAL;
	q->requestq = requestq;
	q->pendingq = pendingq;
	update_counts(sim, a.card, q);
	return 0;
}

int apsim_set_ap_domain(struct apsim *sim, unsigned int domain)
{
	if (domain > 0xff)
		return -EINVAL;
	sim->ap_domain = (int)domain;
	update_bus(sim);
	return 0;
}

int apsim_set_control_domain(struct apsim *sim, unsigned int domain, bool on)
{
	if (domain > 0xff)
		return -EINVAL;
	if (on)
		sim->control_only[domain / 8] |= (uint8_t)(0x80 >> (domain % 8));
	else
		sim->control_only[domain / 8] &= (uint8_t)~(0x80 >> (domain % 8));
	update_bus(sim);
	return 0;
}

/* ---- keys and the TKE ---- */

static size_t key_bytes(enum mk_type t)
{
	/* triple-DES keys for SYM and ASYM, AES-256 for the others */
	return t == MK_CCA_SYM || t == MK_CCA_ASYM ? 24 : 32;
}

void apsim_random_key(enum mk_type t, struct apsim_key *k)
{
	k->len = (uint8_t)key_bytes(t);
	if (RAND_bytes(k->b, k->len) != 1)
		abort();
}

void apsim_key_mkvp(enum mk_type t, const struct apsim_key *k, struct mkvp *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *name = mk_type_name(t);

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, "apsim-mkvp:", 11);
	EVP_DigestUpdate(ctx, name, strlen(name));
	EVP_DigestUpdate(ctx, k->b, k->len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	out->len = (uint8_t)mk_type_sysfs_bytes(t);
	memcpy(out->b, md, out->len);
}

static struct sim_reg *queue_reg(struct apsim *sim, struct apqn a, enum mk_type t, enum mk_reg r,
				 struct sim_queue **qp)
{
	struct sim_queue *q = find_queue(sim, a);
	char mode;

	if (!q)
		return NULL;
	mode = sim->cards[a.card].mode;
	if ((mode == 'C' && !mk_type_is_cca(t)) || (mode == 'P' && t != MK_EP11) || mode == 'A' ||
	    !mk_type_has_reg(t, r))
		return NULL;
	*qp = q;
	return &q->reg[t][r];
}

int apsim_load_part(struct apsim *sim, struct apqn a, enum mk_type t, const struct apsim_key *k)
{
	struct sim_queue *q;
	struct sim_reg *n = queue_reg(sim, a, t, REG_NEW, &q);

	if (!n)
		return -ENOENT;
	n->state = t == MK_EP11 ? REG_UNCOMMITTED : REG_PARTIAL;
	n->key = *k;
	update_mkvps(sim, q);
	return 0;
}

int apsim_commit(struct apsim *sim, struct apqn a, enum mk_type t)
{
	struct sim_queue *q;
	struct sim_reg *n = queue_reg(sim, a, t, REG_NEW, &q);

	if (!n)
		return -ENOENT;
	if (n->state != REG_PARTIAL && n->state != REG_UNCOMMITTED)
		return -EINVAL;
	n->state = t == MK_EP11 ? REG_COMMITTED : REG_FULL;
	update_mkvps(sim, q);
	return 0;
}

int apsim_load(struct apsim *sim, struct apqn a, enum mk_type t, const struct apsim_key *k)
{
	int rc = apsim_load_part(sim, a, t, k);

	return rc < 0 ? rc : apsim_commit(sim, a, t);
}

int apsim_activate(struct apsim *sim, struct apqn a, enum mk_type t)
{
	struct sim_queue *q;
	struct sim_reg *n = queue_reg(sim, a, t, REG_NEW, &q);
	struct sim_reg *cur, *old;

	if (!n)
		return -ENOENT;
	if (n->state != REG_FULL && n->state != REG_COMMITTED)
		return -EINVAL;
	cur = &q->reg[t][REG_CUR];
	old = &q->reg[t][REG_OLD];
	if (mk_type_has_reg(t, REG_OLD))
		*old = *cur;
	*cur = (struct sim_reg){ .state = REG_VALID, .key = n->key };
	*n = (struct sim_reg){ .state = REG_EMPTY };
	update_mkvps(sim, q);
	return 0;
}

int apsim_clear_new(struct apsim *sim, struct apqn a, enum mk_type t)
{
	struct sim_queue *q;
	struct sim_reg *n = queue_reg(sim, a, t, REG_NEW, &q);

	if (!n)
		return -ENOENT;
	*n = (struct sim_reg){ .state = REG_EMPTY };
	update_mkvps(sim, q);
	return 0;
}

int apsim_zeroize(struct apsim *sim, struct apqn a)
{
	struct sim_queue *q = find_queue(sim, a);

	if (!q)
		return -ENOENT;
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		if (q->reg[t][REG_CUR].state == 0)
			continue; /* not a type of this queue */
		q->reg[t][REG_NEW] = (struct sim_reg){ .state = REG_EMPTY };
		q->reg[t][REG_CUR] = (struct sim_reg){ .state = REG_INVALID };
		if (mk_type_has_reg(t, REG_OLD))
			q->reg[t][REG_OLD] = (struct sim_reg){ .state = REG_INVALID };
	}
	update_mkvps(sim, q);
	return 0;
}

int apsim_get_key(const struct apsim *sim, struct apqn a, enum mk_type t, enum mk_reg r,
		  struct apsim_key *out)
{
	struct sim_queue *q;
	struct sim_reg *reg = queue_reg((struct apsim *)sim, a, t, r, &q);

	if (!reg || !reg->key.len)
		return -ENOENT;
	*out = reg->key;
	return 0;
}

const char *apsim_hsm_dir(const struct apsim *sim)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/hsm", sim->root);
	return path;
}

int apsim_hsm_read(const char *hsm_dir, struct apqn a, enum mk_type t, enum mk_reg r,
		   enum reg_state *state, struct apsim_key *key)
{
	char path[PATH_MAX], line[256];
	FILE *f;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "%s/%02x.%04x", hsm_dir, a.card, a.domain);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char type[16], reg[8], st[16], hex[2 * APSIM_KEY_MAX + 2];

		if (sscanf(line, "%15s %7s %15s %65s", type, reg, st, hex) != 4 ||
		    strcmp(type, mk_type_name(t)) != 0 || strcmp(reg, mk_reg_name(r)) != 0)
			continue;
		for (int s = 0; s < REG_STATE_COUNT; s++)
			if (strcmp(st, reg_state_name(s)) == 0)
				*state = s;
		key->len = 0;
		if (strcmp(hex, "-") != 0) {
			size_t n = strlen(hex) / 2;

			for (size_t i = 0; i < n && i < APSIM_KEY_MAX; i++)
				sscanf(hex + 2 * i, "%2hhx", &key->b[i]);
			key->len = (uint8_t)n;
		}
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

/* ---- counting reads of mkvps ---- */

static void drain_reads(struct apsim *sim)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(sim->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->len && strcmp(ev->name, "mkvps") == 0 && ev->wd >= 0 &&
			    (size_t)ev->wd < sim->nwd && sim->by_wd[ev->wd])
				sim->by_wd[ev->wd]->reads++;
		}
	}
}

int apsim_mkvps_reads(struct apsim *sim, struct apqn a)
{
	struct sim_queue *q = find_queue(sim, a);

	drain_reads(sim);
	return q ? q->reads : -ENOENT;
}

int apsim_mkvps_reads_total(struct apsim *sim)
{
	int total = 0;

	drain_reads(sim);
	for (int c = 0; c < 256; c++)
		for (int d = 0; sim->cards[c].exists && d < 256; d++)
			if (sim->cards[c].queues[d])
				total += sim->cards[c].queues[d]->reads;
	return total;
}
