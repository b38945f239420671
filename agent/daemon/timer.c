// SPDX-License-Identifier: MIT
/*
 * timer.c - the agent's one timerfd: armed for the next poll only while
 * some operation waits on the HSM (core/readplan.c's read_watched), for
 * a step's retry, or for the end of a uevent burst. Nothing waiting:
 * no timer, no wake-ups.
 */
#include <openssl/rand.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon/agent.h"
#include "io/clock.h"

void arm_timer(struct agent *ag)
{
	long long now = now_ms(), when = 0;
	bool waiting = false;
	struct itimerspec its = { 0 };

	for (size_t i = 0; i < ag->nops; i++) {
		struct tracked *t = &ag->ops[i];

		waiting |= read_watched(&t->rt) && !t->worker;
		if (t->rt.retry_at && (!when || t->rt.retry_at < when))
			when = t->rt.retry_at;
	}
	if (waiting) {
		if (!ag->next_poll || ag->next_poll < now) {
			unsigned char r = 0;
			long long base = ag->en.cfg.poll_interval * 1000LL;

			RAND_bytes(&r, 1);
			ag->next_poll = now + base + base * r / 2550; /* up to 10% jitter */
		}
		if (!when || ag->next_poll < when)
			when = ag->next_poll;
	} else {
		ag->next_poll = 0;
	}
	if (ag->settle_at && (!when || ag->settle_at < when))
		when = ag->settle_at;
	if (when) {
		long long d = when > now ? when - now : 1;

		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = (d % 1000) * 1000000;
	}
	timerfd_settime(ag->tfd, 0, &its, NULL);
}

void on_timer(struct agent *ag)
{
	uint64_t ticks;
	long long now = now_ms();

	if (read(ag->tfd, &ticks, sizeof(ticks)) < 0)
		return;
	if (ag->next_poll && now >= ag->next_poll) {
		ag->next_poll = 0;
		for (size_t i = 0; i < ag->nops; i++)
			read_poll(&ag->ops[i].rt);
	}
}
