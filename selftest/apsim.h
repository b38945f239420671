/* SPDX-License-Identifier: MIT */
/*
 * apsim.h - the AP bus simulator. On an umockdev testbed it builds the
 * AP root device, cards and queues with the attributes and uevent
 * properties the kernel gives them, and plays the HSM and the TKE: each
 * queue holds real random master keys, patterns are derived from them,
 * and every TKE action rewrites `mkvps` exactly as zcrypt prints it.
 * Like the kernel, it sends no uevent when a register changes.
 *
 * Programs using it must run under umockdev-wrapper; apsim_new()
 * re-executes the program under it when needed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/apqn.h"
#include "core/mkvp.h"
#include "core/mktype.h"

#define APSIM_KEY_MAX 32

struct apsim;

struct apsim_key {
	uint8_t len;
	uint8_t b[APSIM_KEY_MAX];
};

/* A new testbed with the AP root device and the zcrypt modules loaded.
 * @argv is the program's own, for the re-exec under umockdev-wrapper. */
struct apsim *apsim_new(char **argv);
void apsim_free(struct apsim *sim);
/* The testbed directory (UMOCKDEV_DIR). */
const char *apsim_root(const struct apsim *sim);

/* Kernels before 5.19 print no ASYM lines (default: they do). */
void apsim_set_asym_lines(struct apsim *sim, bool on);

/* A card `card%02x` of @type, e.g. "CEX7C", "CEX8P", "CEX7A". */
int apsim_add_card(struct apsim *sim, unsigned int card, const char *type);
/* A queue on an existing card, bound to cex4queue and online, with
 * random CUR keys, NEW empty and OLD invalid. Sends add and bind. */
int apsim_add_queue(struct apsim *sim, struct apqn a);
int apsim_remove_queue(struct apsim *sim, struct apqn a);
/* Bind to @driver ("cex4queue" or "vfio_ap") or unbind (NULL). */
int apsim_bind(struct apsim *sim, struct apqn a, const char *driver);

/* Queue state changes; online and config send `change` uevents. */
int apsim_set_online(struct apsim *sim, struct apqn a, bool on);
int apsim_set_config(struct apsim *sim, struct apqn a, bool on);
/* A `change` uevent of the queue with nothing changed, as a flood brings. */
int apsim_change_uevent(struct apsim *sim, struct apqn a);
/* When the last uevent was sent: the monotonic clock in microseconds
 * (agent/io/clock.h), taken just before it left. */
long long apsim_last_uevent_us(const struct apsim *sim);
int apsim_set_chkstop(struct apsim *sim, struct apqn a, bool on);
int apsim_set_card_online(struct apsim *sim, unsigned int card, bool on);
/* The root device's `change` with BINDINGS=complete and its count. */
void apsim_bindings_complete(struct apsim *sim);

/*
 * /sys/bus/ap/apmask (@bit a card) or aqmask (@bit a domain), as an
 * administrator's `echo +N` (@host) or `echo -N` sets it (apmask_store(),
 * aqmask_store() in ap_bus.c): each bound queue whose owner changes is
 * rebound, to vfio_ap when it leaves the host, to cex4queue when it comes
 * back (unbind and bind uevents), then the root device sends `change`
 * with APMASK=0x... or AQMASK=0x... (64 hex digits, bit 0 leftmost).
 * Nothing changed: no uevent. Every bit is set at first.
 */
enum apsim_mask { APSIM_APMASK, APSIM_AQMASK };
int apsim_set_mask(struct apsim *sim, enum apsim_mask which, unsigned int bit, bool host);

/*
 * What lszcrypt shows beside the registers. Requests done by @a: its
 * request_count and its card's grow by @n. Requests waiting in the queue
 * (requestq_count) and sent to the HSM (pendingq_count); a queue taken
 * offline, check-stopped, deconfigured or let go by its driver drops
 * them, as the kernel flushes it.
 */
int apsim_add_requests(struct apsim *sim, struct apqn a, unsigned int n);
int apsim_set_queued(struct apsim *sim, struct apqn a, int requestq, int pendingq);
/* /sys/bus/ap/ap_domain: the first queue's domain unless set (an
 * administrator's `echo N >`, or the kernel's domain= parameter). */
int apsim_set_ap_domain(struct apsim *sim, unsigned int domain);
/* A control domain without a queue (ap_control_domain_mask); every domain
 * with a queue is a usage and a control domain. */
int apsim_set_control_domain(struct apsim *sim, unsigned int domain, bool on);
/*
 * A module's /sys/module/NAME/initstate: "live", "coming", "going", or
 * NULL for a module that is not there. Every module starts "live". libkmod
 * finds built-in modules in /lib/modules, which a testbed cannot fake.
 */
int apsim_set_module(struct apsim *sim, const char *name, const char *state);

/* Master keys. */
void apsim_random_key(enum mk_type t, struct apsim_key *k);
/* The pattern sysfs shows for @k as a @t master key. */
void apsim_key_mkvp(enum mk_type t, const struct apsim_key *k, struct mkvp *out);

/* TKE: the first step of a load (CCA NEW `partial`, EP11 `uncommitted`). */
int apsim_load_part(struct apsim *sim, struct apqn a, enum mk_type t, const struct apsim_key *k);
/* The last step: CCA NEW `full`, EP11 `committed`. */
int apsim_commit(struct apsim *sim, struct apqn a, enum mk_type t);
/* Both steps. */
int apsim_load(struct apsim *sim, struct apqn a, enum mk_type t, const struct apsim_key *k);
/* OLD <- CUR <- NEW, NEW empty (EP11 has no OLD). -EINVAL unless loaded. */
int apsim_activate(struct apsim *sim, struct apqn a, enum mk_type t);
int apsim_clear_new(struct apsim *sim, struct apqn a, enum mk_type t);
/* Zeroize the domain: every register empty or invalid. */
int apsim_zeroize(struct apsim *sim, struct apqn a);
/* The key in a register, also while it is partially loaded; -ENOENT
 * when the register holds none. */
int apsim_get_key(const struct apsim *sim, struct apqn a, enum mk_type t, enum mk_reg r,
		  struct apsim_key *out);

/*
 * The HSM's registers are also kept as files, one per APQN, so that
 * simulated consumers (simkeys, tool simulators) run by mkagent as
 * helpers in other processes can use the keys.
 */
const char *apsim_hsm_dir(const struct apsim *sim);
int apsim_hsm_read(const char *hsm_dir, struct apqn a, enum mk_type t, enum mk_reg r,
		   enum reg_state *state, struct apsim_key *key);

/* How often `mkvps` of @a was read (opened read-only and closed). */
int apsim_mkvps_reads(struct apsim *sim, struct apqn a);
/* Reads of every queue's `mkvps`. */
int apsim_mkvps_reads_total(struct apsim *sim);
