// SPDX-License-Identifier: MIT
/*
 * apsim.c - the testbed: an umockdev testbed with the AP root device, the
 * bus's drivers and attributes and the zcrypt modules, made and freed;
 * the paths and files of its /sys every other part writes through. The
 * other parts are listed in apsim-internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apsim-internal.h"
#include "run.h"

/* ---- paths and files of the testbed ---- */

void sim_card_devpath(unsigned int card, char *buf, size_t size)
{
	snprintf(buf, size, "/sys/devices/ap/card%02x", card);
}

void sim_queue_devpath(struct apqn a, char *buf, size_t size)
{
	snprintf(buf, size, "/sys/devices/ap/card%02x/%02x.%04x", a.card, a.card, a.domain);
}

/* The real path of a /sys path inside the testbed. */
void sim_real_path(const struct apsim *sim, const char *syspath, const char *name, char *buf,
		   size_t size)
{
	snprintf(buf, size, "%s%s%s%s", sim->sys, syspath + strlen("/sys"), name ? "/" : "",
		 name ? name : "");
}

/* Sysfs shows a whole attribute or none: readers never see half a file. */
int sim_write_file(const char *path, const char *text)
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

struct sim_queue *sim_find_queue(const struct apsim *sim, struct apqn a)
{
	return sim->cards[a.card].exists ? sim->cards[a.card].queues[a.domain] : NULL;
}

const char *sim_mode_word(char mode)
{
	return mode == 'A' ? "accel" : mode == 'C' ? "cca" : "ep11";
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
	sim_bus_attr(sim, "ap_max_domain_id", "%d\n", 255);
	sim_bus_attr(sim, "ap_interrupts", "%d\n", 1);
	sim_bus_attr(sim, "config_time", "%d\n", 30);
	sim_bus_attr(sim, "poll_thread", "%d\n", 0);
	sim_bus_attr(sim, "poll_timeout", "%lu\n", 250000UL);
	sim_update_bus(sim);
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
			sim_update_card_queues(sim, (unsigned int)c);
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
	return sim_write_file(file, text);
}
