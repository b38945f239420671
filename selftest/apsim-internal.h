/* SPDX-License-Identifier: MIT */
/*
 * apsim-internal.h - the simulated bus's state (struct apsim, its cards,
 * queues and registers), shared by the files of the simulator and nothing
 * else; tests include apsim.h.
 *
 *   apsim.c          the testbed: setup, teardown, paths and files, modules
 *   apsim-devices.c  cards and queues in /sys, drivers, their state
 *   apsim-uevent.c   uevent properties, BINDINGS=complete, apmask/aqmask
 *   apsim-attrs.c    request counters and bus attributes (lszcrypt's)
 *   apsim-mkvps.c    `mkvps` as zcrypt prints it, and its reads counted
 *   apsim-tke.c      master keys and the TKE's actions on the registers
 *   apsim-hsm.c      the HSM directory, the registers for other processes
 */
#pragma once

#include <stddef.h>
#include <umockdev.h>

#include "apsim.h"

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

/* apsim.c: devices' /sys paths, and the files of the testbed */
void sim_card_devpath(unsigned int card, char *buf, size_t size);
void sim_queue_devpath(struct apqn a, char *buf, size_t size);
void sim_real_path(const struct apsim *sim, const char *syspath, const char *name, char *buf,
		   size_t size);
int sim_write_file(const char *path, const char *text);
struct sim_queue *sim_find_queue(const struct apsim *sim, struct apqn a);
const char *sim_mode_word(char mode);

/* apsim-devices.c: rewrite `mkvps` of every queue of @card */
void sim_update_card_queues(struct apsim *sim, unsigned int card);

/* apsim-uevent.c: send @action with the device's properties and @extra */
void sim_queue_uevent(struct apsim *sim, const struct sim_queue *q, const char *action,
		      const char *extra);
void sim_card_uevent(struct apsim *sim, unsigned int card, const char *action, const char *extra);

/* apsim-attrs.c */
void sim_update_counts(struct apsim *sim, unsigned int card, const struct sim_queue *q);
void sim_bus_attr(struct apsim *sim, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sim_mask_text(const uint8_t mask[32], char *out);
void sim_update_bus(struct apsim *sim);
void sim_set_usage_domain(struct apsim *sim, unsigned int domain);

/* apsim-mkvps.c */
void sim_hex_lower(const uint8_t *b, size_t n, char *out);
void sim_update_mkvps(struct apsim *sim, const struct sim_queue *q);
/* Count the reads of `mkvps` inotify saw so far. */
void sim_drain_reads(struct apsim *sim);

/* apsim-hsm.c */
void sim_save_hsm(const struct apsim *sim, const struct sim_queue *q);
