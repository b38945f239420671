// SPDX-License-Identifier: MIT
/*
 * readplan.c - which APQNs the agent reads next (readplan.h).
 */
#include <errno.h>

#include "core/decide.h"
#include "core/macro.h"
#include "core/readplan.h"

struct read_next read_plan(struct read_track *t, enum op_state state, long long now,
			   int poll_interval_s, bool read_before, bool busy)
{
	struct read_next r = { READ_NOTHING, false };

	if (t->reaped && state == t->spawned_in && state != OP_ERROR) {
		/* its worker ended and the state did not move (a helper said 75,
		 * a check refused): back off */
		read_retry_later(t, now, poll_interval_s);
		t->dirty = false;
		r.backed_off = true;
	} else if (t->reaped || t->state != state) {
		t->dirty = true;
		t->backoff_s = 0;
		t->retry_at = 0;
	}
	t->state = state;
	t->reaped = false;
	if (t->retry_at && now >= t->retry_at) {
		t->dirty = true;
		t->retry_at = 0;
	}
	if (!read_before && !busy && !t->retry_at)
		t->dirty = true; /* never read, and no failed read backing off */
	if (busy || (!t->dirty && !t->stale.n))
		return r;
	r.what = t->dirty ? READ_ALL : READ_STALE;
	return r;
}

int read_plan_apqns(const struct read_track *t, enum read_what what, const struct apqn_list *apqns,
		    struct apqn_list *want)
{
	for (size_t i = 0; what != READ_NOTHING && i < apqns->n; i++) {
		struct apqn a = apqns->v[i];

		if ((what == READ_ALL || apqn_list_contains(&t->stale, a)) &&
		    !apqn_list_contains(want, a) && apqn_list_add(want, a) < 0)
			return -ENOMEM;
	}
	return 0;
}

void read_done(struct read_track *t)
{
	t->dirty = false;
	apqn_list_free(&t->stale);
}

void read_retry_later(struct read_track *t, long long now, int poll_interval_s)
{
	t->backoff_s = t->backoff_s ? t->backoff_s * 2 : poll_interval_s;
	if (t->backoff_s > READ_RETRY_MAX_S)
		t->backoff_s = READ_RETRY_MAX_S;
	t->retry_at = now + t->backoff_s * 1000LL;
}

bool read_watched(const struct read_track *t)
{
	return t->waits || t->retry_at;
}

void read_poll(struct read_track *t)
{
	if (read_watched(t))
		t->dirty = true;
}

/* Whether the mask of @u moves @a to or from the host's drivers. */
static bool mask_concerns(const struct uevent *u, const struct bus_masks *seen, struct apqn a)
{
	if (u->has_apmask &&
	    (!seen->ap_known || ap_mask_test(&u->apmask, a.card) != ap_mask_test(&seen->ap, a.card)))
		return true;
	return u->has_aqmask && (!seen->aq_known || ap_mask_test(&u->aqmask, a.domain) !=
							    ap_mask_test(&seen->aq, a.domain));
}

static bool mark_root(struct read_track *t, const struct apqn_list *apqns, const struct uevent *u,
		      const struct bus_masks *seen)
{
	bool read = (u->bindings_complete || u->initscan_done) && read_watched(t);

	for (size_t i = 0; !read && i < apqns->n; i++)
		read = mask_concerns(u, seen, apqns->v[i]);
	if (read)
		t->dirty = true;
	return read;
}

bool read_mark_uevent(struct read_track *t, const struct apqn_list *apqns, const struct uevent *u,
		      const struct bus_masks *seen)
{
	bool marked = false;

	if (u->devtype == AP_DEV_ROOT)
		return mark_root(t, apqns, u, seen);
	if (u->devtype != AP_DEV_QUEUE && u->devtype != AP_DEV_CARD)
		return false;
	/* read mkvps after bind, not on add */
	if (streq(u->action, "add"))
		return false;
	/* only the queues the uevent named are read again */
	for (size_t i = 0; i < apqns->n && !t->dirty; i++) {
		struct apqn a = apqns->v[i];

		if (!(u->devtype == AP_DEV_QUEUE ? apqn_eq(a, u->apqn) : a.card == u->card))
			continue;
		marked = true;
		if (!apqn_list_contains(&t->stale, a))
			apqn_list_add(&t->stale, a);
	}
	return marked;
}

void bus_masks_update(struct bus_masks *m, const struct uevent *u)
{
	if (u->has_apmask) {
		m->ap = u->apmask;
		m->ap_known = true;
	}
	if (u->has_aqmask) {
		m->aq = u->aqmask;
		m->aq_known = true;
	}
}

bool read_all_again(const struct op *op, const struct apqn_list *named, const struct view *v)
{
	struct op only_named = *op;

	only_named.apqns = *named;
	return decide(op, v).action == ACT_WAIT && decide(&only_named, v).action == ACT_RUN;
}

void read_track_free(struct read_track *t)
{
	apqn_list_free(&t->stale);
}
