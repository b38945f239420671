// SPDX-License-Identifier: MIT
/*
 * registers.c - the master key registers of the simulated adapter, read
 * afresh by every verb from apsim's `mkvps` file (CSULCCA_MKVPS, else the
 * queue of the first coprocessor card and the domain in ap_domain), as
 * zcrypt prints them; the card's serial number from sysfs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csulcca.h"

/* The SYM (DES) master key is not in the kernel's mkvps: it is always
 * loaded, with a fixed pattern, and never changed. */
static const uint8_t sym_vp[MKVP_LEN] = { 0x5a, 0x5a, 0x53, 0x59, 0x4d, 0x4d, 0x4b, 0x31 };

int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return -1;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The first coprocessor card (ap_functions bit 0x10000000), as the token
 * looks for it. */
static int find_card(unsigned int *card)
{
	DIR *d = opendir(SYSFS "/devices/ap");
	struct dirent *de;
	char path[512], buf[64];
	int rc = -1;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		unsigned int c;
		unsigned long funcs;

		if (sscanf(de->d_name, "card%x", &c) != 1)
			continue;
		snprintf(path, sizeof(path), SYSFS "/devices/ap/%s/ap_functions", de->d_name);
		if (read_line(path, buf, sizeof(buf)) < 0 || sscanf(buf, "%lx", &funcs) != 1 ||
		    !(funcs & 0x10000000UL))
			continue;
		if (rc < 0 || c < *card)
			*card = c;
		rc = 0;
	}
	closedir(d);
	return rc;
}

static int mkvps_path(char *path, size_t size, char *serial_path, size_t ssize)
{
	const char *env = getenv("CSULCCA_MKVPS");
	unsigned int card = 0, domain;
	char buf[64];

	if (env) {
		snprintf(path, size, "%s", env);
		serial_path[0] = '\0';
		return 0;
	}
	if (read_line(SYSFS "/bus/ap/ap_domain", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%u", &domain) != 1 || find_card(&card) < 0)
		return -1;
	snprintf(path, size, SYSFS "/devices/ap/card%02x/%02x.%04x/mkvps", card, card, domain);
	snprintf(serial_path, ssize, SYSFS "/devices/ap/card%02x/serialnr", card);
	return 0;
}

static int parse_vp(const char *hex, uint8_t *vp)
{
	if (strncmp(hex, "0x", 2) == 0)
		hex += 2;
	for (int i = 0; i < MKVP_LEN; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &vp[i]) != 1)
			return -1;
	return 0;
}

/* The registers as zcrypt prints them: "AES NEW: full 0x0123456789abcdef". */
int hsm_read(struct hsm *h)
{
	char path[512], serial_path[512], line[256];
	FILE *f;

	memset(h, 0, sizeof(*h));
	for (int t = 0; t < MK_COUNT; t++) {
		h->r[t].new_state = '1';
		h->r[t].cur_state = '1';
	}
	h->r[MK_SYM].cur_state = '2';
	memcpy(h->r[MK_SYM].cur_vp, sym_vp, MKVP_LEN);
	snprintf(h->serial, sizeof(h->serial), "93AADFK7");
	if (mkvps_path(path, sizeof(path), serial_path, sizeof(serial_path)) < 0)
		return -1;
	if (serial_path[0] && read_line(serial_path, line, sizeof(line)) == 0)
		snprintf(h->serial, sizeof(h->serial), "%.8s", line);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char type[8], reg[8], state[16], hex[64];
		struct reg *r;
		uint8_t vp[MKVP_LEN] = { 0 };

		if (sscanf(line, "%7s %7[A-Z]: %15s %63s", type, reg, state, hex) != 4)
			continue;
		if (strcmp(type, "AES") != 0 && strcmp(type, "APKA") != 0)
			continue;
		r = &h->r[strcmp(type, "AES") == 0 ? MK_AES : MK_APKA];
		if (parse_vp(hex, vp) < 0)
			memset(vp, 0, sizeof(vp));
		if (strcmp(reg, "NEW") == 0) {
			r->new_state = strcmp(state, "full") == 0    ? '3' :
				       strcmp(state, "partial") == 0 ? '2' :
								       '1';
			memcpy(r->new_vp, vp, MKVP_LEN);
		} else if (strcmp(reg, "CUR") == 0) {
			r->cur_state = strcmp(state, "valid") == 0 ? '2' : '1';
			memcpy(r->cur_vp, vp, MKVP_LEN);
		} else if (strcmp(reg, "OLD") == 0) {
			r->old_valid = strcmp(state, "valid") == 0;
			memcpy(r->old_vp, vp, MKVP_LEN);
		}
	}
	fclose(f);
	return 0;
}
