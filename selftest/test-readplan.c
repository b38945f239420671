// SPDX-License-Identifier: MIT
/*
 * core/readplan.c: which APQNs the agent reads next. A new or changed
 * operation is read whole; a step that could not go on backs off and is
 * read again when its retry is due; the poll timer reads only what waits;
 * a uevent names queues (not on add), BINDINGS=complete reads every
 * waiting operation, and APMASK=/AQMASK= read the operations whose cards
 * or domains changed hands.
 */
#include <errno.h>

#include "core/macro.h"
#include "core/readplan.h"
#include "tap.h"

static const struct apqn A = { 0x08, 0x33 }, B = { 0x09, 0x33 }, C = { 0x0b, 0x34 };

static struct apqn_list list_of(const struct apqn *v, size_t n)
{
	struct apqn_list l = { 0 };

	for (size_t i = 0; i < n; i++)
		apqn_list_add(&l, v[i]);
	return l;
}

static struct uevent event(const char *action, const char *devpath, const char *const *props)
{
	struct uevent u;
	struct errmsg e;

	uevent_start(&u, action, devpath, &e);
	for (; *props; props += 2)
		uevent_property(&u, props[0], props[1], &e);
	if (uevent_finish(&u) < 0)
		bail_out("not an AP uevent: %s", devpath);
	return u;
}

#define QUEUE(action, path, ...) \
	event(action, path, (const char *const[]){ "SUBSYSTEM", "ap", "DEVTYPE", "ap_queue", __VA_ARGS__ NULL })
#define CARD(action, path, ...) \
	event(action, path, (const char *const[]){ "SUBSYSTEM", "ap", "DEVTYPE", "ap_card", __VA_ARGS__ NULL })
#define ROOT(...) event("change", "/devices/ap", (const char *const[]){ "SUBSYSTEM", "ap", __VA_ARGS__ NULL })

/* every bit but @bit (or all, with -1) */
static const char *mask_without(int bit, char *buf)
{
	buf += sprintf(buf, "0x");
	for (int i = 0; i < 64; i++)
		buf += sprintf(buf, "%x", bit >= 0 && bit / 4 == i ? 0xf & ~(8 >> (bit % 4)) : 0xf);
	return buf - 66;
}

static void passes(void)
{
	struct read_track t = READ_TRACK_INIT;
	struct apqn_list ab = list_of((struct apqn[]){ A, B }, 2), want = { 0 };
	struct read_next n;

	n = read_plan(&t, OP_PLANNED, 1000, 30, false, false);
	is_int(n.what, READ_ALL, "a new operation is read whole");
	read_plan_apqns(&t, n.what, &ab, &want);
	ok(want.n == 2 && apqn_list_contains(&want, A) && apqn_list_contains(&want, B), "both its APQNs");
	read_plan_apqns(&t, n.what, &ab, &want);
	is_int(want.n, 2, "an APQN two operations share is read once");
	read_done(&t);
	is_int(read_plan(&t, OP_PLANNED, 2000, 30, true, false).what, READ_NOTHING,
	       "read, and nothing happened: nothing to read");
	t.waits = true;
	read_poll(&t);
	is_int(read_plan(&t, OP_PLANNED, 3000, 30, true, false).what, READ_ALL,
	       "the poll timer reads an operation that waits on the HSM");
	read_done(&t);
	t.waits = false;
	read_poll(&t);
	is_int(read_plan(&t, OP_PLANNED, 4000, 30, true, false).what, READ_NOTHING,
	       "but not one that does not wait");
	is_int(read_plan(&t, OP_REENCIPHERING, 5000, 30, true, false).what, READ_ALL,
	       "a new state: read whole");
	read_done(&t);
	t.dirty = true;
	is_int(read_plan(&t, OP_REENCIPHERING, 5000, 30, true, true).what, READ_NOTHING,
	       "nothing while its worker runs ...");
	ok(t.dirty, "... and the read waits for it");
	read_done(&t);

	/* a step that could not go on */
	t.spawned_in = OP_PLANNED;
	t.state = OP_PLANNED;
	t.reaped = true;
	n = read_plan(&t, OP_PLANNED, 10000, 30, true, false);
	ok(n.backed_off && n.what == READ_NOTHING && t.retry_at == 40000 && t.backoff_s == 30,
	   "its worker ended in the state it started from: back off a poll interval, read nothing");
	ok(read_watched(&t), "an operation backing off is watched");
	is_int(read_plan(&t, OP_PLANNED, 39999, 30, true, false).what, READ_NOTHING, "not before the retry");
	is_int(read_plan(&t, OP_PLANNED, 40000, 30, true, false).what, READ_ALL, "read whole when it is due");
	read_done(&t);
	t.reaped = true;
	n = read_plan(&t, OP_PLANNED, 50000, 30, true, false);
	ok(n.backed_off && t.backoff_s == 60, "again: the back-off doubles");
	for (int i = 0; i < 10; i++)
		read_retry_later(&t, 0, 30);
	is_int(t.backoff_s, READ_RETRY_MAX_S, "up to an hour");
	t.reaped = true;
	t.retry_at = 0;
	n = read_plan(&t, OP_REENCIPHERED, 60000, 30, true, false);
	ok(!n.backed_off && n.what == READ_ALL && t.backoff_s == 0,
	   "its worker moved it on: read whole, no back-off");
	read_done(&t);
	t.reaped = true;
	t.spawned_in = OP_ERROR;
	n = read_plan(&t, OP_ERROR, 60000, 30, true, false);
	ok(!n.backed_off && n.what == READ_ALL, "a recover worker that ended in error does not back off");
	read_done(&t);
	t.retry_at = 0;
	is_int(read_plan(&t, OP_ERROR, 70000, 30, false, false).what, READ_ALL,
	       "never read (its read failed), no retry pending: read whole");
	read_track_free(&t);
	apqn_list_free(&ab);
	apqn_list_free(&want);
}

static void uevents(void)
{
	struct read_track t = READ_TRACK_INIT;
	struct apqn_list ab = list_of((struct apqn[]){ A, B }, 2), want = { 0 };
	struct bus_masks seen = { 0 };
	struct uevent u;
	char m[80];

	read_plan(&t, OP_PLANNED, 0, 30, false, false);
	read_done(&t);
	u = QUEUE("add", "/devices/ap/card08/08.0033");
	ok(!read_mark_uevent(&t, &ab, &u, &seen), "add: not yet (mkvps is read after bind)");
	u = QUEUE("bind", "/devices/ap/card08/08.0033", "DRIVER", "cex4queue",);
	ok(read_mark_uevent(&t, &ab, &u, &seen), "bind of 08.0033 concerns it");
	is_int(read_plan(&t, OP_PLANNED, 0, 30, true, false).what, READ_STALE, "read what it names ...");
	read_plan_apqns(&t, READ_STALE, &ab, &want);
	ok(want.n == 1 && apqn_eq(want.v[0], A), "... 08.0033 only");
	read_done(&t);
	apqn_list_free(&want);
	u = QUEUE("change", "/devices/ap/card0b/0b.0034", "ONLINE", "1",);
	ok(!read_mark_uevent(&t, &ab, &u, &seen), "another queue's ONLINE=1 does not");
	u = CARD("change", "/devices/ap/card09", "ONLINE", "1",);
	ok(read_mark_uevent(&t, &ab, &u, &seen) && t.stale.n == 1 && apqn_eq(t.stale.v[0], B),
	   "card 09 going online names 09.0033");
	read_done(&t);

	u = ROOT("BINDINGS", "complete", "COMPLETECOUNT", "2",);
	ok(!read_mark_uevent(&t, &ab, &u, &seen), "BINDINGS=complete: not an operation that does not wait");
	t.waits = true;
	ok(read_mark_uevent(&t, &ab, &u, &seen) && t.dirty, "but one that waits, whole");
	read_done(&t);
	t.waits = false;
	u = ROOT("INITSCAN", "done",);
	t.retry_at = 5;
	ok(read_mark_uevent(&t, &ab, &u, &seen) && t.dirty, "INITSCAN=done: one backing off, whole");
	read_done(&t);
	t.retry_at = 0;

	u = ROOT("APMASK", mask_without(0x0b, m),);
	ok(read_mark_uevent(&t, &ab, &u, &seen) && t.dirty,
	   "the first APMASK= the agent sees: it cannot tell what changed, its operations are read whole");
	read_done(&t);
	bus_masks_update(&seen, &u);
	u = ROOT("APMASK", mask_without(0x0c, m),);
	ok(!read_mark_uevent(&t, &ab, &u, &seen) && !t.dirty,
	   "cards 0b and 0c change hands: none of its cards, not read");
	bus_masks_update(&seen, &u);
	u = ROOT("APMASK", mask_without(0x09, m),);
	ok(read_mark_uevent(&t, &ab, &u, &seen) && t.dirty, "card 09 leaves the host: read whole");
	read_done(&t);
	bus_masks_update(&seen, &u);
	u = ROOT("APMASK", mask_without(0x0c, m),);
	ok(read_mark_uevent(&t, &ab, &u, &seen) && t.dirty, "card 09 comes back: read whole");
	read_done(&t);
	bus_masks_update(&seen, &u);
	u = ROOT("AQMASK", mask_without(0x34, m),);
	ok(read_mark_uevent(&t, &ab, &u, &seen), "the first AQMASK=: read");
	read_done(&t);
	bus_masks_update(&seen, &u);
	ok(seen.ap_known && seen.aq_known && !ap_mask_test(&seen.aq, 0x34), "both masks are known now");
	u = ROOT("AQMASK", mask_without(-1, m),);
	ok(!read_mark_uevent(&t, &ab, &u, &seen), "domain 0034 comes back: not its domain");
	bus_masks_update(&seen, &u);
	u = ROOT("AQMASK", mask_without(0x33, m),);
	ok(read_mark_uevent(&t, &ab, &u, &seen) && t.dirty, "domain 0033 leaves the host: read whole");
	read_done(&t);
	{
		struct apqn_list c = list_of(&C, 1);
		struct read_track other = READ_TRACK_INIT;

		read_done(&other);
		ok(!read_mark_uevent(&other, &c, &u, &seen), "  an operation on 0b.0034 is not read");
		apqn_list_free(&c);
	}
	read_track_free(&t);
	apqn_list_free(&ab);
}

/* An EP11 queue's registers: NEW committed with @hex, or empty. */
static struct apqn_view ep11_queue(struct apqn a, const char *hex)
{
	struct apqn_view v = { .apqn = a, .present = true, .mode = AP_MODE_EP11, .online = 1,
			       .config = 1, .chkstop = 0, .regs_read = true };
	char text[256];
	struct errmsg e;

	snprintf(text, sizeof(text), "WK CUR: valid 0x%064d\nWK NEW: %s%s\n", 0,
		 hex ? "committed 0x" : "empty -", hex ? hex : "");
	if (mkvps_parse(text, strlen(text), &v.regs, &e) < 0)
		bail_out("%s", e.text);
	return v;
}

static void again(void)
{
	static const char key[] = "EF92899EBE57291EC8E8716D850EE2F7EF92899EBE57291EC8E8716D850EE2F7";
	struct apqn_view regs[2] = { ep11_queue(A, key), ep11_queue(B, NULL) };
	struct view v = { regs, 2 };
	struct apqn_list a = list_of(&A, 1), b = list_of(&B, 1);
	struct op op = { .state = OP_PLANNED, .apqns = list_of((struct apqn[]){ A, B }, 2) };
	struct errmsg e;

	op.has_new[MK_EP11] = true;
	if (mkvp_parse_cli(MK_EP11, "EF92899EBE57291EC8E8716D850EE2F7", &op.new_mkvp[MK_EP11], &e) < 0)
		bail_out("%s", e.text);
	ok(read_all_again(&op, &a, &v),
	   "a uevent named 08.0033, loaded; 09.0033 as last read is not: read both again before deciding");
	ok(!read_all_again(&op, &b, &v), "it named 09.0033, not loaded: waiting is right, no more reads");
	regs[1] = ep11_queue(B, key);
	ok(!read_all_again(&op, &a, &v), "both loaded: the step is due, no more reads");
	apqn_list_free(&a);
	apqn_list_free(&b);
	apqn_list_free(&op.apqns);
}

int main(void)
{
	passes();
	uevents();
	again();
	return done_testing();
}
