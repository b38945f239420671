// SPDX-License-Identifier: MIT
/*
 * run.c - `mkagent daemon`: one epoll loop over the uevent source
 * (intake.c), a timerfd armed only while an operation waits on the HSM
 * or a retry is due (timer.c), a signalfd, inotify on ops/ and the pipes
 * of query workers (query.c). Each step runs in a worker process
 * (workers.c), so the loop is never blocked by a helper.
 */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/agent.h"
#include "io/clock.h"
#include "io/log.h"

/*
 * uevents come in bursts (a card with 85 domains going online). The first
 * event of a burst is acted on at once; the rest are read together once the
 * burst settles (no event for SETTLE_MS), or every BURST_MAX_MS while it
 * goes on.
 */
#define SETTLE_MS 50
#define BURST_MAX_MS 1000

int agent_add_fd(struct agent *ag, int fd, int tag)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = (uint64_t)tag | (uint64_t)fd << 32 };

	return epoll_ctl(ag->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void on_inotify(struct agent *ag)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(ag->ifd, buf, sizeof(buf)) > 0)
		; /* the pass that follows compares every file with what it knew */
}

/* SIGHUP: the configuration and profiles again, or none of them. */
static void reload(struct agent *ag)
{
	const struct mk_paths *where = &ag->opts->paths;
	struct profile_set p;
	struct config c;
	struct errmsg e;

	config_defaults(&c);
	if (config_load(&c, where->config, where->config_given, &e) < 0 ||
	    profiles_load(&p, where->profiles, &e) < 0) {
		log_error("reload refused: %s", e.text);
		return;
	}
	ag->en.cfg = c;
	profiles_free(&ag->en.profiles);
	ag->en.profiles = p;
	log_info("configuration and profiles reloaded");
	for (size_t i = 0; i < ag->nops; i++)
		ag->ops[i].rt.dirty = true;
}

static void on_signal(struct agent *ag)
{
	struct signalfd_siginfo si;

	while (read(ag->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(ag);
		else if (si.ssi_signo == SIGHUP)
			reload(ag);
		else
			ag->stop = true;
	}
}

static int setup(struct agent *ag, struct errmsg *e)
{
	sigset_t mask;
	char ops[4096];

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	ag->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	ag->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ag->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ag->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ag->sfd < 0 || ag->tfd < 0 || ag->ifd < 0 || ag->epfd < 0)
		return errmsg_set(e, -errno, "cannot set up the event loop: %s", strerror(errno));
	snprintf(ops, sizeof(ops), "%s/ops", ag->en.store.dir);
	if (inotify_add_watch(ag->ifd, ops, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0)
		return errmsg_set(e, -errno, "cannot watch %s: %s", ops, strerror(errno));
	if (agent_add_fd(ag, ag->tfd, TAG_TIMER) < 0 || agent_add_fd(ag, ag->sfd, TAG_SIGNAL) < 0 ||
	    agent_add_fd(ag, ag->ifd, TAG_INOTIFY) < 0)
		return errmsg_set(e, -errno, "cannot set up the event loop: %s", strerror(errno));
	return intake_open(ag, e);
}

static void teardown(struct agent *ag)
{
	pid_t pids[NOTIFIERS_MAX + 2 * ag->nops + 1];
	size_t n = 0;

	for (size_t i = 0; i < NOTIFIERS_MAX; i++)
		if (ag->notifiers[i])
			pids[n++] = ag->notifiers[i];
	for (size_t i = 0; i < ag->nops; i++) {
		if (ag->ops[i].worker)
			pids[n++] = ag->ops[i].worker;
		if (ag->ops[i].query)
			pids[n++] = ag->ops[i].query;
	}
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (size_t i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	intake_close(ag);
	for (size_t i = 0; i < ag->nops; i++)
		agent_untrack(&ag->ops[i]);
	free(ag->ops);
	engine_close(&ag->en);
	if (ag->lock_fd >= 0)
		close(ag->lock_fd);
	for (size_t i = 0; i < 4; i++) {
		int fd = i == 0 ? ag->epfd : i == 1 ? ag->tfd : i == 2 ? ag->sfd : ag->ifd;

		if (fd >= 0)
			close(fd);
	}
}

static bool any_worker(const struct agent *ag)
{
	for (size_t i = 0; i < NOTIFIERS_MAX; i++)
		if (ag->notifiers[i])
			return true;
	for (size_t i = 0; i < ag->nops; i++)
		if (tracked_busy(&ag->ops[i]))
			return true;
	return false;
}

/* Wait for events and handle them; @only_uevents: nothing else came. */
static int wait_events(struct agent *ag, bool *only_uevents, bool *got_uevent)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ag->epfd, ev, 8, -1);

	*only_uevents = true;
	*got_uevent = false;
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t tag = (uint32_t)ev[i].data.u64;

		*only_uevents &= tag == TAG_UEVENT;
		*got_uevent |= tag == TAG_UEVENT;
		if (tag == TAG_UEVENT)
			on_uevents(ag);
		else if (tag == TAG_TIMER)
			on_timer(ag);
		else if (tag == TAG_SIGNAL)
			on_signal(ag);
		else if (tag == TAG_INOTIFY)
			on_inotify(ag);
		else if (tag == TAG_QUERY)
			on_query(ag, (int)(ev[i].data.u64 >> 32));
	}
	return 0;
}

/* --once: the pass's workers, and the steps of the registers queried. */
static void finish_once(struct agent *ag)
{
	bool only_uevents, got_uevent;

	while (any_worker(ag) && !ag->stop) {
		if (wait_events(ag, &only_uevents, &got_uevent) < 0)
			break;
		take_answers(ag);
	}
}

static void loop(struct agent *ag)
{
	bool only_uevents, got_uevent;

	while (!ag->stop) {
		long long now;

		arm_timer(ag);
		if (wait_events(ag, &only_uevents, &got_uevent) < 0)
			break;
		now = now_ms();
		if (got_uevent) {
			bool leading = !ag->burst_start;
			bool capped = !leading && now - ag->burst_start >= BURST_MAX_MS;

			ag->settle_at = now + SETTLE_MS;
			if (leading || capped)
				ag->burst_start = now;
			else if (only_uevents)
				continue; /* read with the rest of the burst */
		} else if (ag->burst_start && now >= ag->settle_at) {
			ag->burst_start = ag->settle_at = 0; /* the burst settled */
		}
		if (!ag->stop)
			reconcile(ag);
	}
}

int agent_run(const struct agent_opts *o, struct agent_pass *pass, struct errmsg *e)
{
	struct agent ag = { .opts = o, .en = ENGINE_INIT, .sfd = -1, .tfd = -1, .ifd = -1,
			    .epfd = -1, .lock_fd = -1 };
	int rc = engine_open(&ag.en, &o->paths, true, e);

	if (rc < 0)
		return rc;
	ag.en.tty = false;
	ag.en.echo = false;
	ag.en.notify = notify_aside;
	ag.en.notify_ctx = &ag;
	rc = lock_agent(&ag, e);
	if (rc < 0) {
		engine_close(&ag.en);
		return rc;
	}
	rc = setup(&ag, e);
	if (rc < 0) {
		teardown(&ag);
		return rc;
	}
	log_info("watching the AP bus (%s), state in %s",
		 ag.en.cfg.event_source == EVENT_SOURCE_KERNEL ? "kernel uevents" : "udev",
		 ag.en.store.dir);
	reconcile(&ag);
	if (o->once) {
		finish_once(&ag);
		rc = pass_summary(&ag, pass);
		if (rc < 0)
			errmsg_set(e, rc, "out of memory");
	} else {
		loop(&ag);
		log_info("stopping");
	}
	teardown(&ag);
	return rc;
}
