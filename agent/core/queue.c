// SPDX-License-Identifier: MIT
#include "core/queue.h"

enum queue_usability queue_usability(const struct queue *q)
{
	if (!q->present)
		return QUEUE_ABSENT;
	if (q->config == 0)
		return QUEUE_DECONFIGURED;
	if (q->chkstop == 1)
		return QUEUE_CHECKSTOPPED;
	if (q->online != 1)
		return QUEUE_OFFLINE;
	return QUEUE_USABLE;
}

const char *queue_usability_name(enum queue_usability u)
{
	static const char *const names[] = {
		[QUEUE_USABLE] = "usable",
		[QUEUE_ABSENT] = "not on the AP bus",
		[QUEUE_DECONFIGURED] = "deconfigured",
		[QUEUE_CHECKSTOPPED] = "check-stopped",
		[QUEUE_OFFLINE] = "offline",
	};

	return names[u];
}

bool mode_has_type(enum ap_mode m, enum mk_type t)
{
	return m != AP_MODE_UNKNOWN && mk_type_mode(t) == m;
}
