/* SPDX-License-Identifier: MIT */
/*
 * agent.h - the agent's own state, shared by the files of daemon/ and
 * nothing else: each live operation it follows (struct tracked) and the
 * loop's descriptors, workers and timers (struct agent).
 *
 *   run.c        setup, the epoll loop, signals, teardown
 *   timer.c      the poll timer, armed only while something waits
 *   reconcile.c  one pass: list the operations, read, decide
 *   act.c        acting on a decision
 *   workers.c    step and notify workers, reaping
 *   query.c      registers read by the query helper, in a worker
 *   intake.c     uevents from udev or the kernel, to core/uevent.c
 *   lock.c       one agent per state directory
 *   summary.c    what a --once pass did
 */
#pragma once

#include <libudev.h>
#include <sys/types.h>

#include "core/decide.h"
#include "core/readplan.h"
#include "daemon/daemon.h"
#include "io/kuevent.h"
#include "core/mayrun.h"
#include "step/engine.h"
#include "step/step.h"

/* Notify workers running at once; a notification beyond them is dropped
 * with a warning (each ends within the notify timeout). */
#define NOTIFIERS_MAX 16

struct tracked {
	char id[OP_ID_LEN + 1];
	struct read_track rt;	/* what to read of it next */
	pid_t worker;
	struct view last;	/* its registers as last read */
	bool seen;
	struct apqn_list apqns;	/* for matching uevents without reading files */
	char last_event[32];
	char last_why[256];
	enum action last_action;
	int worker_status; /* of the last worker, -1: none ran */
	/* its registers as the query worker reads them (an op with a queried type) */
	pid_t query;	   /* the worker, until reaped */
	int query_fd;	   /* its pipe, until the answer is in; -1: none */
	char *query_buf;   /* the answer so far */
	size_t query_len, query_size;
	bool answered;	   /* @answer is in and not yet acted on */
	struct view answer; /* .v NULL: the read failed */
};

struct agent {
	const struct agent_opts *opts;
	struct engine en;
	bool stop;
	int epfd, tfd, sfd, ifd;
	struct udev *udev;
	struct udev_monitor *mon;
	struct kuevent_src ksrc;
	struct bus_masks masks; /* APMASK=, AQMASK= as last seen */
	struct tracked *ops;
	size_t nops;
	long long next_poll; /* ms, 0: not scheduled */
	long long settle_at, burst_start; /* ms, 0: no burst */
	unsigned long passes;
	int lock_fd;	/* the agent's lock: one agent per state directory */
	pid_t notifiers[NOTIFIERS_MAX];
	bool bad_file;	/* --once: an operation file could not be read */
};

enum { TAG_UEVENT, TAG_TIMER, TAG_SIGNAL, TAG_INOTIFY, TAG_QUERY };

/* run.c */
int agent_add_fd(struct agent *ag, int fd, int tag);

/* reconcile.c */
struct tracked *agent_track(struct agent *ag, const char *id);
void agent_untrack(struct tracked *t);
/* A worker of @t runs, or a register read is under way or not yet used. */
bool tracked_busy(const struct tracked *t);
void reconcile(struct agent *ag);

/* act.c */
/* @fresh: every register of @v was read in this pass, so a worker may
 * check its step against them. */
void act(struct agent *ag, struct tracked *t, const struct op *op, const struct view *v,
	 bool fresh);
void retry_later(struct agent *ag, struct tracked *t);
/* "operation ID: trying again in N s", wherever the back-off was set. */
void log_retry(const struct tracked *t);

/* workers.c */
pid_t fork_worker(struct agent *ag);
void spawn(struct agent *ag, struct tracked *t, const struct verdict *vd);
void reap(struct agent *ag);
/* engine_notify() from the loop: the helper runs in a notify worker. */
void notify_aside(void *ctx, const struct op *op, const char *event, const char *message);
/* Hold notifications back while an operation's lock is held ... */
void hold_back(void *ctx, const struct op *op, const char *event, const char *message);
/* ... and send them once it is let go; @aside: through notify workers. */
void send_held_back(struct agent *ag, const struct op *op, bool aside);

/* query.c */
/* Whether @op's registers come from the query helper (cca-sym). */
bool asks_helper(const struct agent *ag, const struct op *op);
void start_query(struct agent *ag, struct tracked *t, const struct op *op);
void on_query(struct agent *ag, int fd);
/* Act on what a query worker read for @t; @op NULL: @t went away. */
void take_answer(struct agent *ag, struct tracked *t, const struct op *op);
/* --once: act on the registers query workers read. */
void take_answers(struct agent *ag);

/* timer.c */
void arm_timer(struct agent *ag);
void on_timer(struct agent *ag);

/* intake.c */
int intake_open(struct agent *ag, struct errmsg *e);
void intake_close(struct agent *ag);
void on_uevents(struct agent *ag);

/* lock.c */
int lock_agent(struct agent *ag, struct errmsg *e);

/* summary.c */
int pass_summary(struct agent *ag, struct agent_pass *pass);
