// SPDX-License-Identifier: MIT
/*
 * apsim-attrs.c - what lszcrypt shows beside the registers, printed as the
 * kernel prints it: the request counters of queues and cards (ap_queue.c,
 * ap_card.c) and the bus attributes (ap_bus.c): the default domain, the
 * usage and control domain masks, apmask and aqmask.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include "apsim-internal.h"

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
void sim_update_counts(struct apsim *sim, unsigned int card, const struct sim_queue *q)
{
	struct sim_card *c = &sim->cards[card];
	char devpath[128];
	int reqq = 0, penq = 0;

	if (q) {
		sim_queue_devpath(q->apqn, devpath, sizeof(devpath));
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
	sim_card_devpath(card, devpath, sizeof(devpath));
	set_attr(sim, devpath, "request_count", "%llu\n", c->requests);
	set_attr(sim, devpath, "requestq_count", "%d\n", reqq);
	set_attr(sim, devpath, "pendingq_count", "%d\n", penq);
}

void sim_bus_attr(struct apsim *sim, const char *name, const char *fmt, ...)
{
	char path[PATH_MAX], text[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/bus/ap/%s", sim->sys, name);
	sim_write_file(path, text);
}

/* A domain mask as ap_bus.c prints the QCI's: "0x" and eight "%08x" words,
 * domain 0 the leftmost bit. */
void sim_mask_text(const uint8_t mask[32], char *out)
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
void sim_update_bus(struct apsim *sim)
{
	uint8_t control[32];
	char text[2 * 32 + 4];

	for (int i = 0; i < 32; i++)
		control[i] = sim->usage[i] | sim->control_only[i];
	sim_bus_attr(sim, "ap_domain", "%d\n", sim->ap_domain);
	sim_mask_text(sim->usage, text);
	sim_bus_attr(sim, "ap_usage_domain_mask", "%s", text);
	sim_mask_text(control, text);
	sim_bus_attr(sim, "ap_control_domain_mask", "%s", text);
	sim_mask_text(sim->mask[APSIM_APMASK], text);
	sim_bus_attr(sim, "apmask", "%s", text);
	sim_mask_text(sim->mask[APSIM_AQMASK], text);
	sim_bus_attr(sim, "aqmask", "%s", text);
}

void sim_set_usage_domain(struct apsim *sim, unsigned int domain)
{
	bool used = false;

	for (int c = 0; c < 256 && !used; c++)
		used = sim->cards[c].exists && sim->cards[c].queues[domain];
	if (used)
		sim->usage[domain / 8] |= (uint8_t)(0x80 >> (domain % 8));
	else
		sim->usage[domain / 8] &= (uint8_t)~(0x80 >> (domain % 8));
	sim_update_bus(sim);
}

int apsim_add_requests(struct apsim *sim, struct apqn a, unsigned int n)
{
	struct sim_queue *q = sim_find_queue(sim, a);

	if (!q)
		return -ENOENT;
	q->requests += n;
	sim->cards[a.card].requests += n;
	sim_update_counts(sim, a.card, q);
	return 0;
}

int apsim_set_queued(struct apsim *sim, struct apqn a, int requestq, int pendingq)
{
	struct sim_queue *q = sim_find_queue(sim, a);

	if (!q)
		return -ENOENT;
	if (requestq < 0 || pendingq < 0)
		return -EINVAL;
	q->requestq = requestq;
	q->pendingq = pendingq;
	sim_update_counts(sim, a.card, q);
	return 0;
}

int apsim_set_ap_domain(struct apsim *sim, unsigned int domain)
{
	if (domain > 0xff)
		return -EINVAL;
	sim->ap_domain = (int)domain;
	sim_update_bus(sim);
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
	sim_update_bus(sim);
	return 0;
}
