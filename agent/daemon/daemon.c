// SPDX-License-Identifier: MIT
/*
 * daemon.c - `mkagent daemon`: one epoll loop over the uevent source
 * (libudev monitor or the kernel's netlink socket), a timerfd armed only
 * while an operation waits on the HSM (or a retry is due), a signalfd and
 * inotify on ops/. Each step runs in a worker process that takes the
 * operation's lock and makes the same checks as a person's command; a
 * notification runs in a notify worker, and the registers only the query
 * helper knows are read by a query worker whose answer comes back through
 * a pipe in the epoll set. So the loop is never blocked by a helper.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <libudev.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#include "cmd/cli.h"
#include "io/clock.h"
#include "core/decide.h"
#include "step/engine.h"
#include "io/fault.h"
#include "io/kuevent.h"
#include "io/log.h"
#include "core/macro.h"
#include "io/metrics.h"
#include "io/registers.h"
#include "io/runner.h"
#include "core/uevent.h"

#define RETRY_MAX_S 3600
/*
 * uevents come in bursts (a card with 85 domains going online). The first
 * event of a burst is acted on at once; the rest are read together once the
 * burst settles (no event for SETTLE_MS), or every BURST_MAX_MS while it
 * goes on.
 */
#define SETTLE_MS 50
#define BURST_MAX_MS 1000
/* Notify workers running at once; a notification beyond them is dropped
 * with a warning (each ends within the notify timeout). */
#define NOTIFIERS_MAX 16

struct tracked {
	char id[OP_ID_LEN + 1];
	enum op_state state;
	pid_t worker;
	bool dirty;	    /* read all its registers in the next pass */
	struct apqn_list stale; /* or only these: a uevent named them */
	struct view last;	/* its registers as last read */
	bool waits;	    /* its last decision waits on the HSM */
	bool seen;
	bool reaped;	    /* its worker just ended */
	enum op_state spawned_in; /* the state its worker started from */
	struct apqn_list apqns;	  /* for matching uevents without reading files */
	long long retry_at; /* ms, 0: none */
	int backoff_s;
	char last_event[32];
	char last_why[256];
	enum action last_action;
	int worker_status; /* of the last worker, -1: none ran */
	/* its registers as the query worker reads them (a cca-sym op) */
	pid_t query;	   /* the worker, until reaped */
	int query_fd;	   /* its pipe, until the answer is in; -1: none */
	char *query_buf;   /* the answer so far */
	size_t query_len, query_size;
	bool answered;	   /* @answer is in and not yet acted on */
	struct view answer; /* .v NULL: the read failed */
};

struct agent {
	const struct cli *cli;
	struct engine en;
	bool once, stop;
	int epfd, tfd, sfd, ifd;
	struct udev *udev;
	struct udev_monitor *mon;
	struct kuevent_src ksrc;
	struct tracked *ops;
	size_t nops;
	long long next_poll; /* ms, 0: not scheduled */
	long long settle_at, burst_start; /* ms, 0: no burst */
	unsigned long passes;
	int lock_fd;	/* the agent's lock: one agent per state directory */
	pid_t notifiers[NOTIFIERS_MAX];
	bool bad_file;	/* --once: an operation file could not be read */
};

static struct tracked *track(struct agent *ag, const char *id)
{
	struct tracked *t;

	for (size_t i = 0; i < ag->nops; i++)
		if (streq(ag->ops[i].id, id))
			return &ag->ops[i];
	t = realloc(ag->ops, (ag->nops + 1) * sizeof(*t));
	if (!t)
		return NULL;
	ag->ops = t;
	t += ag->nops++;
	*t = (struct tracked){ .state = OP_STATE_COUNT, .dirty = true, .worker_status = -1,
			       .query_fd = -1 };
	snprintf(t->id, sizeof(t->id), "%s", id);
	return t;
}

static void untrack(struct tracked *t)
{
	apqn_list_free(&t->apqns);
	apqn_list_free(&t->stale);
	view_free(&t->last);
	view_free(&t->answer);
	free(t->query_buf);
	if (t->query_fd >= 0)
		close(t->query_fd);
}

/* A worker of @t runs, or a register read is under way or not yet used. */
static bool busy(const struct tracked *t)
{
	return t->worker || t->query || t->query_fd >= 0 || t->answered;
}

static struct tracked *by_worker(struct agent *ag, pid_t pid)
{
	for (size_t i = 0; i < ag->nops; i++)
		if (ag->ops[i].worker == pid)
			return &ag->ops[i];
	return NULL;
}

/* ---- workers ---- */

/* A child of the loop (0 in the child, as fork()): ended with the agent,
 * without the agent's lock, and running its own notifications. */
static pid_t fork_worker(struct agent *ag)
{
	sigset_t all;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid != 0)
		return pid;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* I9: a signal ends the helper, and the worker keeps the operation's
	 * lock until the helper is gone */
	runner_catch_interrupts();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(128 + SIGTERM);
	if (ag->lock_fd >= 0)
		close(ag->lock_fd);
	ag->en.notify = NULL;
	return 0;
}

/*
 * Notifications held back while the operation's lock is held: a step's
 * worker sends them once it let go of the lock, so that a slow notify
 * helper keeps nobody from the operation; the loop hands them to notify
 * workers once it let go, since a worker forked with the lock open would
 * hold it until it closed its copy.
 */
static struct {
	struct {
		char event[32];
		char *message;
	} v[8];
	size_t n;
} held_back;

static void hold_back(void *ctx, const struct op *op, const char *event, const char *message)
{
	size_t n = held_back.n;

	(void)ctx;
	if (n == ARRAY_SIZE(held_back.v) || !(held_back.v[n].message = strdup(message))) {
		log_warn("operation %s: not notifying %s: too many notifications", op->id, event);
		return;
	}
	snprintf(held_back.v[n].event, sizeof(held_back.v[n].event), "%s", event);
	held_back.n++;
}

static void notify_aside(void *ctx, const struct op *op, const char *event, const char *message);

/* @aside: from the loop, through notify workers */
static void send_held_back(struct agent *ag, const struct op *op, bool aside)
{
	for (size_t i = 0; i < held_back.n; i++) {
		if (aside)
			notify_aside(ag, op, held_back.v[i].event, held_back.v[i].message);
		else
			engine_notify(&ag->en, op, held_back.v[i].event, held_back.v[i].message);
		free(held_back.v[i].message);
	}
	held_back.n = 0;
}

static int step(struct agent *ag, const char *id, enum phase ph)
{
	struct errmsg e;
	struct op op;
	int rc;

	ag->en.notify = hold_back;
	rc = op_step("agent", &ag->en, id, ph);
	ag->en.notify = NULL;
	if (!held_back.n)
		return rc;
	if (store_load(&ag->en.store, id, &op, NULL, &e) < 0) {
		log_warn("operation %s: not notifying: %s", id, e.text);
		return rc;
	}
	send_held_back(ag, &op, false);
	op_free(&op);
	return rc;
}

static void spawn(struct agent *ag, struct tracked *t, enum phase ph, const struct view *v)
{
	pid_t pid;

	fault_point("worker start");
	pid = fork_worker(ag);
	if (pid < 0) {
		log_error("operation %s: cannot fork a worker: %s", t->id, strerror(errno));
		return;
	}
	if (pid == 0) {
		/* what a step says to a person; the log has it all */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		ag->en.tty = false;
		ag->en.seen = v;
		_exit(step(ag, t->id, ph));
	}
	log_info("operation %s: %s started (worker %d)", t->id, phase_name(ph), (int)pid);
	t->worker = pid;
	t->spawned_in = t->state;
}

/* engine_notify() from the loop: the helper runs in a notify worker. */
static void notify_aside(void *ctx, const struct op *op, const char *event, const char *message)
{
	struct agent *ag = ctx;
	size_t i = 0;
	pid_t pid;

	while (i < NOTIFIERS_MAX && ag->notifiers[i])
		i++;
	if (i == NOTIFIERS_MAX) {
		log_warn("operation %s: not notifying %s: %d notify helpers still run", op->id,
			 event, NOTIFIERS_MAX);
		return;
	}
	pid = fork_worker(ag);
	if (pid < 0) {
		log_warn("operation %s: not notifying %s: cannot fork: %s", op->id, event,
			 strerror(errno));
		return;
	}
	if (pid == 0) {
		engine_notify(&ag->en, op, event, message);
		_exit(0);
	}
	ag->notifiers[i] = pid;
}

/* A worker that is not a step's ended. */
static void forget_worker(struct agent *ag, pid_t pid, int status)
{
	for (size_t i = 0; i < NOTIFIERS_MAX; i++)
		if (ag->notifiers[i] == pid)
			ag->notifiers[i] = 0;
	for (size_t i = 0; i < ag->nops; i++) {
		if (ag->ops[i].query != pid)
			continue;
		ag->ops[i].query = 0;
		log_debug("operation %s: query worker %d ended (%d)", ag->ops[i].id, (int)pid,
			  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

static void reap(struct agent *ag)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct tracked *t = by_worker(ag, pid);

		if (!t) {
			forget_worker(ag, pid, status);
			continue;
		}
		fault_point("worker reaped");
		t->worker = 0;
		t->reaped = true;
		t->worker_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		log_info("operation %s: worker %d ended (%d)", t->id, (int)pid,
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

/* ---- acting on a decision ---- */

static void notify_once(struct agent *ag, struct tracked *t, const struct op *op,
			const struct decision *d)
{
	if (!d->event) {
		t->last_event[0] = '\0';
		return;
	}
	if (streq(t->last_event, d->event))
		return;
	snprintf(t->last_event, sizeof(t->last_event), "%s", d->event);
	engine_notify(&ag->en, op, d->event, d->why);
}

static void activated_early(struct agent *ag, struct tracked *t, const struct decision *d)
{
	int lock = store_lock_op(&ag->en.store, t->id);
	bool recover = false;
	struct errmsg e;
	struct op op;

	if (lock < 0)
		return; /* somebody is at it: look again next time */
	if (store_load(&ag->en.store, t->id, &op, NULL, &e) < 0) {
		close(lock);
		return;
	}
	if (op.state == OP_PLANNED || op.state == OP_REENCIPHERING) {
		log_warn("operation %s: %s", t->id, d->why);
		/* a notify worker forked now would hold the lock too */
		ag->en.notify = hold_back;
		engine_fail(&ag->en, &op, "activated-early", "activated-early", &e);
		ag->en.notify = notify_aside;
		t->state = OP_ERROR;
		for (size_t i = 0; ag->en.cfg.auto_recover && i < op.nprofiles; i++)
			recover |= op.profiles[i].phase[PHASE_RECOVER] == PS_PENDING;
	}
	close(lock);
	send_held_back(ag, &op, true);
	if (recover)
		spawn(ag, t, PHASE_RECOVER, NULL);
	op_free(&op);
}

static void retry_later(struct agent *ag, struct tracked *t)
{
	int base = ag->en.cfg.poll_interval;

	t->backoff_s = t->backoff_s ? t->backoff_s * 2 : base;
	if (t->backoff_s > RETRY_MAX_S)
		t->backoff_s = RETRY_MAX_S;
	t->retry_at = now_ms() + t->backoff_s * 1000LL;
	log_info("operation %s: trying again in %d s", t->id, t->backoff_s);
}

/* @fresh: every register of @v was read in this pass, so a worker may
 * check its step against them. */
static void act(struct agent *ag, struct tracked *t, const struct op *op, const struct view *v,
		bool fresh)
{
	struct decision d = decide(op, v);

	t->last_action = d.action;
	t->waits = d.waits_on_hsm;
	if (!streq(t->last_why, d.why)) {
		log_info("operation %s (%s): %s: %s", op->id, op_state_name(op->state),
			 action_name(d.action), d.why);
		snprintf(t->last_why, sizeof(t->last_why), "%s", d.why);
	}
	switch (d.action) {
	case ACT_RUN:
		/* a step the agent already tried and that must wait stays waiting */
		if (t->retry_at && now_ms() < t->retry_at)
			return;
		notify_once(ag, t, op, &d);
		spawn(ag, t, d.phase, fresh ? v : NULL);
		return;
	case ACT_ACTIVATED_EARLY:
		activated_early(ag, t, &d);
		return;
	case ACT_WAIT:
		notify_once(ag, t, op, &d);
		return;
	case ACT_NONE:
		return;
	}
}

/* ---- registers from the query helper ---- */

enum { TAG_UEVENT, TAG_TIMER, TAG_SIGNAL, TAG_INOTIFY, TAG_QUERY };

static int add_fd(struct agent *ag, int fd, int tag)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = (uint64_t)tag | (uint64_t)fd << 32 };

	return epoll_ctl(ag->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Whether @op's registers come from the query helper (cca-sym), read by a
 * query worker, not in the loop. */
static bool asks_helper(const struct agent *ag, const struct op *op)
{
	return op->has_new[MK_CCA_SYM] && ag->en.cfg.query_helper[0];
}

/* What a query worker writes to its pipe: this, then @n struct apqn_view
 * (the worker is a fork of this process: the same layout). */
struct answer_head {
	int rc;
	size_t n;
	char error[ERRMSG_MAX];
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read every register of @op's APQNs, the query helper's included, in a
 * worker; on_query() collects the answer. */
static void start_query(struct agent *ag, struct tracked *t, const struct op *op)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_error("operation %s: cannot make a pipe: %s", t->id, strerror(errno));
		return;
	}
	pid = fork_worker(ag);
	if (pid == 0) {
		struct answer_head h = { 0 };
		struct view v = { 0 };
		struct errmsg e;

		close(p[0]);
		h.rc = view_read(&v, &op->apqns, ag->en.cfg.query_helper, &e);
		if (h.rc < 0)
			snprintf(h.error, sizeof(h.error), "%s", e.text);
		h.n = v.n;
		_exit(write_all(p[1], &h, sizeof(h)) < 0 ||
		      write_all(p[1], v.v, v.n * sizeof(*v.v)) < 0);
	}
	close(p[1]);
	if (pid < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 || add_fd(ag, p[0], TAG_QUERY) < 0) {
		log_error("operation %s: cannot start a query worker: %s", t->id, strerror(errno));
		if (pid > 0)
			kill(pid, SIGTERM);
		close(p[0]);
		return;
	}
	log_debug("operation %s: its registers are read by query worker %d", t->id, (int)pid);
	t->query = pid;
	t->query_fd = p[0];
	t->query_len = 0;
	t->dirty = false;
	apqn_list_free(&t->stale);
}

static void parse_answer(struct tracked *t)
{
	struct answer_head h;

	t->answered = true;
	t->answer = (struct view){ 0 };
	if (t->query_len < sizeof(h)) {
		log_error("operation %s: the query worker ended without an answer", t->id);
		return;
	}
	memcpy(&h, t->query_buf, sizeof(h));
	if (h.rc < 0) {
		log_error("operation %s: %s", t->id, h.error);
		return;
	}
	if (t->query_len != sizeof(h) + h.n * sizeof(*t->answer.v)) {
		log_error("operation %s: the query worker's answer is cut short", t->id);
		return;
	}
	t->answer.v = malloc(h.n ? h.n * sizeof(*t->answer.v) : 1);
	if (!t->answer.v)
		return;
	memcpy(t->answer.v, t->query_buf + sizeof(h), h.n * sizeof(*t->answer.v));
	t->answer.n = h.n;
}

static void on_query(struct agent *ag, int fd)
{
	struct tracked *t = NULL;
	ssize_t n;

	for (size_t i = 0; i < ag->nops && !t; i++)
		if (ag->ops[i].query_fd == fd)
			t = &ag->ops[i];
	if (!t) {
		epoll_ctl(ag->epfd, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	for (;;) {
		if (t->query_len == t->query_size) {
			size_t size = t->query_size ? t->query_size * 2 : 4096;
			char *b = realloc(t->query_buf, size);

			if (!b)
				break;
			t->query_buf = b;
			t->query_size = size;
		}
		n = read(fd, t->query_buf + t->query_len, t->query_size - t->query_len);
		if (n > 0)
			t->query_len += (size_t)n;
		else if (n == 0 || (errno != EINTR && errno != EAGAIN))
			break;
		else if (errno == EAGAIN)
			return; /* more to come */
	}
	/* the end of the answer: the pipe may live on in other workers */
	epoll_ctl(ag->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	t->query_fd = -1;
	parse_answer(t);
}

/* Act on the registers a query worker read for @t: every one of @op's
 * APQNs, as fresh as those read in a pass. @op NULL: @t went away. */
static void take_answer(struct agent *ag, struct tracked *t, const struct op *op)
{
	struct view seen;
	bool ok;

	if (!t->answered || t->worker)
		return;
	t->answered = false;
	ok = op && t->answer.v && view_merge(&t->answer, &t->last, &op->apqns, &seen) == 0;
	view_free(&t->answer);
	if (!op)
		return;
	if (!ok) {
		retry_later(ag, t);
		return;
	}
	view_free(&t->last);
	t->last = seen;
	act(ag, t, op, &t->last, true);
}

/* ---- one reconciliation pass ---- */

static void bad_file(void *ctx, const char *sub, const char *why)
{
	struct agent *ag = ctx;

	if (!streq(sub, "ops"))
		return;
	if (ag->once)
		say_error("daemon: %s", why);
	else
		log_warn("%s", why);
	ag->bad_file = true;
}

/* The node_exporter textfile, after every pass: the operations' states as
 * their files say, their registers as last read. */
static void write_metrics(struct agent *ag, const struct op_list *ops)
{
	_cleanup_free_ struct metrics_op *m = calloc(ops->n ? ops->n : 1, sizeof(*m));
	_cleanup_free_ char *text = NULL;
	size_t n = 0;
	int rc;

	if (!ag->en.cfg.metrics_textfile[0])
		return;
	for (size_t i = 0; m && i < ops->n; i++) {
		struct tracked *t = op_state_terminal(ops->v[i].state) ? NULL : track(ag, ops->v[i].id);

		if (t)
			m[n++] = (struct metrics_op){ &ops->v[i], &t->last };
	}
	rc = m ? metrics_format(m, n, &text) : -ENOMEM;
	if (rc == 0)
		rc = metrics_write(ag->en.cfg.metrics_textfile, text);
	if (rc < 0)
		log_warn("cannot write %s: %s", ag->en.cfg.metrics_textfile, strerror(-rc));
}

/*
 * After a uevent only the queues it named are read; the others' registers
 * are as last read, and the HSM changes them without a uevent. When the
 * queues just read are ready for the next step, whatever the others still
 * block on may be out of date: they are all read again before deciding.
 */
static bool stale_hides_step(const struct op *op, const struct apqn_list *named,
			     const struct view *v)
{
	struct op only_named = *op;

	only_named.apqns = *named;
	return decide(op, v).action == ACT_WAIT && decide(&only_named, v).action == ACT_RUN;
}

static void reconcile(struct agent *ag)
{
	struct view seen;
	bool fresh, again = false;
	struct op_list ops = { 0 };
	struct apqn_list want = { 0 };
	struct view v = { 0 };
	struct errmsg e;
	long long now = now_ms();

	ag->passes++;
	if (store_list(&ag->en.store, STORE_LIVE, &ops, bad_file, ag) < 0) {
		log_error("cannot list the operations in %s", ag->en.store.dir);
		return;
	}
	for (size_t i = 0; i < ag->nops; i++)
		ag->ops[i].seen = false;
	for (size_t i = 0; i < ops.n; i++) {
		struct op *op = &ops.v[i];
		struct tracked *t;

		if (op_state_terminal(op->state))
			continue;
		t = track(ag, op->id);
		if (!t)
			continue;
		t->seen = true;
		if (!t->apqns.n)
			for (size_t j = 0; j < op->apqns.n; j++)
				apqn_list_add(&t->apqns, op->apqns.v[j]);
		if (t->reaped && op->state == t->spawned_in && op->state != OP_ERROR) {
			/* the step could not go on (exit 75, a check): back off */
			retry_later(ag, t);
			t->dirty = false;
		} else if (t->reaped || t->state != op->state) {
			t->dirty = true;
			t->backoff_s = 0;
			t->retry_at = 0;
		}
		t->state = op->state;
		t->reaped = false;
		if (t->retry_at && now >= t->retry_at) {
			t->dirty = true;
			t->retry_at = 0;
		}
		if (!t->last.n && !busy(t) && !t->retry_at)
			t->dirty = true; /* never read, and no failed read backing off */
		if (busy(t) || (!t->dirty && !t->stale.n))
			continue;
		if (asks_helper(ag, op)) {
			start_query(ag, t, op);
			continue;
		}
		for (size_t j = 0; j < op->apqns.n; j++) {
			struct apqn a = op->apqns.v[j];

			if ((t->dirty || apqn_list_contains(&t->stale, a)) && !apqn_list_contains(&want, a))
				apqn_list_add(&want, a);
		}
	}
	/* forget operations that ended or went away */
	for (size_t i = 0; i < ag->nops;) {
		const struct tracked *t = &ag->ops[i];

		/* an answer nobody will take is dropped with it */
		if (!t->seen && !t->worker && !t->query && t->query_fd < 0) {
			untrack(&ag->ops[i]);
			ag->ops[i] = ag->ops[--ag->nops];
		} else {
			i++;
		}
	}
	if (want.n && view_read(&v, &want, NULL, &e) < 0)
		log_error("%s", e.text);
	for (size_t i = 0; i < ops.n; i++) {
		struct tracked *t;

		if (op_state_terminal(ops.v[i].state))
			continue;
		t = track(ag, ops.v[i].id);
		/* an answer is used even when a reload dropped the query helper */
		if (t && (asks_helper(ag, &ops.v[i]) || t->answered)) {
			take_answer(ag, t, &ops.v[i]);
			continue;
		}
		if (!t || (!t->dirty && !t->stale.n) || t->worker || !v.v)
			continue;
		if (view_merge(&v, &t->last, &ops.v[i].apqns, &seen) < 0) {
			t->dirty = true;
			continue;
		}
		fresh = t->dirty;
		view_free(&t->last);
		t->last = seen;
		t->dirty = false;
		if (!fresh && stale_hides_step(&ops.v[i], &t->stale, &t->last)) {
			t->dirty = again = true;
			apqn_list_free(&t->stale);
			continue;
		}
		apqn_list_free(&t->stale);
		act(ag, t, &ops.v[i], &t->last, fresh);
	}
	write_metrics(ag, &ops);
	view_free(&v);
	apqn_list_free(&want);
	op_list_free(&ops);
	if (again)
		reconcile(ag); /* read every register of those whose step may be due */
}

/* ---- the timer ---- */

/* Whether @t's registers are read every poll: it waits on the HSM, or its
 * step backs off, and an early activation or a wrong key must still be
 * seen at the next poll, not when the back-off ends. */
static bool watched(const struct tracked *t)
{
	return t->waits || t->retry_at;
}

static void arm_timer(struct agent *ag)
{
	long long now = now_ms(), when = 0;
	bool waiting = false;
	struct itimerspec its = { 0 };

	for (size_t i = 0; i < ag->nops; i++) {
		struct tracked *t = &ag->ops[i];

		waiting |= watched(t) && !t->worker;
		if (t->retry_at && (!when || t->retry_at < when))
			when = t->retry_at;
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

static void on_timer(struct agent *ag)
{
	uint64_t ticks;
	long long now = now_ms();

	if (read(ag->tfd, &ticks, sizeof(ticks)) < 0)
		return;
	if (ag->next_poll && now >= ag->next_poll) {
		ag->next_poll = 0;
		for (size_t i = 0; i < ag->nops; i++)
			if (watched(&ag->ops[i]))
				ag->ops[i].dirty = true;
	}
}

/* ---- uevents ---- */

static void mark_apqns(struct agent *ag, const struct uevent *u)
{
	if (u->devtype == AP_DEV_ROOT) {
		if (!u->bindings_complete && !u->initscan_done)
			return;
		for (size_t i = 0; i < ag->nops; i++)
			if (watched(&ag->ops[i]))
				ag->ops[i].dirty = true;
		return;
	}
	if (u->devtype != AP_DEV_QUEUE && u->devtype != AP_DEV_CARD)
		return;
	/* read mkvps after bind, not on add */
	if (streq(u->action, "add"))
		return;
	/* only the queues the uevent named are read again */
	for (size_t i = 0; i < ag->nops; i++) {
		struct tracked *t = &ag->ops[i];

		for (size_t j = 0; j < t->apqns.n && !t->dirty; j++) {
			struct apqn a = t->apqns.v[j];

			if ((u->devtype == AP_DEV_QUEUE ? apqn_eq(a, u->apqn) : a.card == u->card) &&
			    !apqn_list_contains(&t->stale, a))
				apqn_list_add(&t->stale, a);
		}
	}
}

static void on_udev(struct agent *ag)
{
	struct udev_device *d;

	while ((d = udev_monitor_receive_device(ag->mon))) {
		struct uevent u = { .online = -1, .config = -1 };
		const char *v;

		snprintf(u.action, sizeof(u.action), "%s", udev_device_get_action(d) ?: "");
		snprintf(u.devpath, sizeof(u.devpath), "%s", udev_device_get_devpath(d) ?: "");
		if ((v = udev_device_get_property_value(d, "ONLINE")))
			u.online = v[0] == '1';
		if ((v = udev_device_get_property_value(d, "CONFIG")))
			u.config = v[0] == '1';
		v = udev_device_get_property_value(d, "BINDINGS");
		u.bindings_complete = v && streq(v, "complete");
		v = udev_device_get_property_value(d, "INITSCAN");
		u.initscan_done = v && streq(v, "done");
		uevent_classify(&u, udev_device_get_subsystem(d), udev_device_get_devtype(d));
		log_debug("uevent %s %s", u.action, u.devpath);
		mark_apqns(ag, &u);
		udev_device_unref(d);
	}
}

static void on_kernel(struct agent *ag)
{
	char buf[8192];
	size_t len;
	int rc;

	while ((rc = kuevent_recv(&ag->ksrc, buf, sizeof(buf), &len)) != -EAGAIN) {
		struct uevent u;
		struct errmsg e;

		if (rc < 0)
			continue;
		rc = uevent_parse_kernel(buf, len, &u, &e);
		if (rc == -EINVAL)
			log_warn("%s", e.text);
		if (rc == 0)
			mark_apqns(ag, &u);
	}
}

static void on_inotify(struct agent *ag)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(ag->ifd, buf, sizeof(buf)) > 0)
		; /* the pass that follows compares every file with what it knew */
}

static bool on_signal(struct agent *ag)
{
	struct signalfd_siginfo si;
	struct errmsg e;

	while (read(ag->sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(ag);
			break;
		case SIGHUP: {
			struct config c;
			struct profile_set p;

			config_defaults(&c);
			if (config_load(&c, ag->cli->paths.config, ag->cli->paths.config_given, &e) < 0 ||
			    profiles_load(&p, ag->cli->paths.profiles, &e) < 0) {
				log_error("reload refused: %s", e.text);
				break;
			}
			ag->en.cfg = c;
			profiles_free(&ag->en.profiles);
			ag->en.profiles = p;
			log_info("configuration and profiles reloaded");
			for (size_t i = 0; i < ag->nops; i++)
				ag->ops[i].dirty = true;
			break;
		}
		default:
			ag->stop = true;
		}
	}
	return ag->stop;
}

/* ---- setup and the loop ---- */

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
	if (ag->en.cfg.event_source == EVENT_SOURCE_KERNEL) {
		int rc = kuevent_open(&ag->ksrc, e);

		if (rc < 0)
			return rc;
		add_fd(ag, kuevent_fd(&ag->ksrc), TAG_UEVENT);
	} else {
		ag->udev = udev_new();
		ag->mon = ag->udev ? udev_monitor_new_from_netlink(ag->udev, "udev") : NULL;
		if (!ag->mon || udev_monitor_filter_add_match_subsystem_devtype(ag->mon, "ap", NULL) < 0 ||
		    udev_monitor_enable_receiving(ag->mon) < 0)
			return errmsg_set(e, -EIO, "cannot listen to udev");
		add_fd(ag, udev_monitor_get_fd(ag->mon), TAG_UEVENT);
	}
	add_fd(ag, ag->tfd, TAG_TIMER);
	add_fd(ag, ag->sfd, TAG_SIGNAL);
	add_fd(ag, ag->ifd, TAG_INOTIFY);
	return 0;
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
	if (ag->mon)
		udev_monitor_unref(ag->mon);
	if (ag->udev)
		udev_unref(ag->udev);
	kuevent_close(&ag->ksrc);
	for (size_t i = 0; i < ag->nops; i++)
		untrack(&ag->ops[i]);
	free(ag->ops);
	engine_close(&ag->en);
	if (ag->lock_fd >= 0)
		close(ag->lock_fd);
}

static bool any_worker(const struct agent *ag)
{
	for (size_t i = 0; i < NOTIFIERS_MAX; i++)
		if (ag->notifiers[i])
			return true;
	for (size_t i = 0; i < ag->nops; i++)
		if (busy(&ag->ops[i]))
			return true;
	return false;
}

/* One agent per state directory: a second would race the first for every
 * step. Held (flock) while this process lives; its workers drop it. */
static int lock_agent(struct agent *ag, struct errmsg *e)
{
	char pid[32];
	ssize_t n;
	int fd = openat(ag->en.store.fd, "agent.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			0644);

	if (fd < 0)
		return errmsg_set(e, -errno, "cannot open %s/agent.lock: %s", ag->en.store.dir,
				  strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = -errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		close(fd);
		if (rc != -EWOULDBLOCK)
			return errmsg_set(e, rc, "cannot lock %s/agent.lock: %s", ag->en.store.dir,
					  strerror(-rc));
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return errmsg_set(e, -EBUSY, "another agent is running (pid %s)",
				  pid[0] ? pid : "unknown");
	}
	if (ftruncate(fd, 0) < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0)
		log_warn("cannot write %s/agent.lock: %s", ag->en.store.dir, strerror(errno));
	ag->lock_fd = fd;
	return 0;
}

static void dispatch(struct agent *ag, const struct epoll_event *ev, int n, bool *only_uevents,
		     bool *got_uevent)
{
	*only_uevents = true;
	*got_uevent = false;
	for (int i = 0; i < n; i++) {
		uint32_t tag = (uint32_t)ev[i].data.u64;

		*only_uevents &= tag == TAG_UEVENT;
		switch (tag) {
		case TAG_UEVENT:
			if (ag->mon)
				on_udev(ag);
			else
				on_kernel(ag);
			*got_uevent = true;
			break;
		case TAG_TIMER:
			on_timer(ag);
			break;
		case TAG_SIGNAL:
			on_signal(ag);
			break;
		case TAG_INOTIFY:
			on_inotify(ag);
			break;
		case TAG_QUERY:
			on_query(ag, (int)(ev[i].data.u64 >> 32));
			break;
		}
	}
}

/* --once: act on the registers query workers read; no other step starts. */
static void take_answers(struct agent *ag)
{
	for (size_t i = 0; i < ag->nops; i++) {
		struct tracked *t = &ag->ops[i];
		struct errmsg e;
		struct op op;
		bool loaded;

		if (!t->answered || t->worker)
			continue;
		loaded = store_load(&ag->en.store, t->id, &op, NULL, &e) == 0;
		take_answer(ag, t, loaded ? &op : NULL);
		if (loaded)
			op_free(&op);
	}
}

static const char daemon_usage[] = "Usage: mkagent daemon [--once [--json]]\n"
				   "Watch the AP bus and carry out every planned operation.\n\n"
				   "      --once   one pass over every operation, then exit\n"
				   "      --json   with --once, print what the pass did as JSON\n";

/* What a --once pass did to each operation it looked at. */
static void print_summary(struct agent *ag, bool json)
{
	json_object *list = json ? json_object_new_array() : NULL, *root;

	for (size_t i = 0; i < ag->nops; i++) {
		const struct tracked *t = &ag->ops[i];
		struct errmsg e;
		struct op op;

		if (store_load(&ag->en.store, t->id, &op, NULL, &e) < 0)
			continue;
		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_string(op.id));
			json_object_object_add(o, "state", json_object_new_string(op_state_name(op.state)));
			json_object_object_add(o, "action", json_object_new_string(action_name(t->last_action)));
			json_object_object_add(o, "why", json_object_new_string(t->last_why));
			json_object_object_add(o, "reason", op.reason[0] ?
						  json_object_new_string(op.reason) : NULL);
			json_object_object_add(o, "worker_exit", t->worker_status < 0 ? NULL :
						  json_object_new_int(t->worker_status));
			json_object_array_add(list, o);
		} else if (op.state == OP_ERROR) {
			printf("Operation %s: error (reason: %s)\n", op.id,
			       op.reason[0] ? op.reason : "none recorded");
		} else {
			printf("Operation %s: %s (%s: %s)\n", op.id, op_state_name(op.state),
			       action_name(t->last_action), t->last_why);
		}
		op_free(&op);
	}
	if (!json)
		return;
	root = json_object_new_object();
	json_object_object_add(root, "operations", list);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

int cmd_daemon(const struct cli *cli, int argc, char **argv)
{
	struct agent ag = { .cli = cli, .sfd = -1, .tfd = -1, .ifd = -1, .epfd = -1,
			    .lock_fd = -1 };
	struct errmsg e;
	bool json = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h",
				(const struct option[]){ { "once", no_argument, NULL, 'o' },
							 { "json", no_argument, NULL, 'j' },
							 { "help", no_argument, NULL, 'h' },
							 { 0 } },
				NULL)) != -1) {
		if (c == 'o')
			ag.once = true;
		else if (c == 'j')
			json = true;
		else if (c == 'h') {
			fputs(daemon_usage, stdout);
			return EXIT_OK;
		} else
			return cli_option_error("daemon", c, argv);
	}
	if (optind < argc) {
		say_error("daemon: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (json && !ag.once) {
		say_error("daemon: --json goes with --once");
		return EXIT_USAGE;
	}
	if (log_get_level() == LOG_LVL_NONE && !cli->verbose_given)
		log_set_level(LOG_LVL_INFO);
	/* started by systemd (the unit sets INVOCATION_ID): syslog, with priorities */
	if (getenv("INVOCATION_ID"))
		log_to_syslog(true);
	if (engine_open(&ag.en, &cli->paths, true, &e) < 0) {
		say_error("daemon: %s", e.text);
		return EXIT_REFUSED;
	}
	ag.en.tty = false;
	ag.en.echo = false;
	ag.en.notify = notify_aside;
	ag.en.notify_ctx = &ag;
	if (lock_agent(&ag, &e) < 0) {
		say_error("daemon: %s", e.text);
		engine_close(&ag.en);
		return EXIT_REFUSED;
	}
	if (setup(&ag, &e) < 0) {
		say_error("daemon: %s", e.text);
		teardown(&ag);
		return EXIT_REFUSED;
	}
	log_info("watching the AP bus (%s), state in %s",
		 ag.en.cfg.event_source == EVENT_SOURCE_KERNEL ? "kernel uevents" : "udev",
		 ag.en.store.dir);
	reconcile(&ag);
	if (ag.once) {
		/* the pass's workers, and the steps of the registers queried */
		while (any_worker(&ag) && !ag.stop) {
			struct epoll_event ev[8];
			bool only_uevents, got_uevent;
			int n = epoll_wait(ag.epfd, ev, 8, -1);

			if (n < 0 && errno != EINTR)
				break;
			dispatch(&ag, ev, n, &only_uevents, &got_uevent);
			take_answers(&ag);
		}
		print_summary(&ag, json);
		teardown(&ag);
		return ag.bad_file ? EXIT_REFUSED : EXIT_OK;
	}
	while (!ag.stop) {
		struct epoll_event ev[8];
		bool only_uevents, got_uevent;
		long long now;
		int n;

		arm_timer(&ag);
		n = epoll_wait(ag.epfd, ev, 8, -1);
		if (n < 0 && errno != EINTR)
			break;
		dispatch(&ag, ev, n, &only_uevents, &got_uevent);
		now = now_ms();
		if (got_uevent) {
			bool leading = !ag.burst_start;
			bool capped = !leading && now - ag.burst_start >= BURST_MAX_MS;

			ag.settle_at = now + SETTLE_MS;
			if (leading || capped)
				ag.burst_start = now;
			else if (only_uevents)
				continue; /* read with the rest of the burst */
		} else if (ag.burst_start && now >= ag.settle_at) {
			ag.burst_start = ag.settle_at = 0; /* the burst settled */
		}
		if (!ag.stop)
			reconcile(&ag);
	}
	log_info("stopping");
	teardown(&ag);
	return EXIT_OK;
}
