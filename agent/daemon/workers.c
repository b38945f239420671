// SPDX-License-Identifier: MIT
/*
 * workers.c - the agent's child processes: a step's worker takes the
 * operation's lock and runs the step as a person's command would; a
 * notify worker runs the notify helper. The loop forks them and reaps
 * them, and never waits on one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/macro.h"
#include "daemon/agent.h"
#include "io/fault.h"
#include "io/log.h"
#include "io/runner.h"

/* A child of the loop (0 in the child, as fork()): ended with the agent,
 * without the agent's lock, and running its own notifications. */
pid_t fork_worker(struct agent *ag)
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

void hold_back(void *ctx, const struct op *op, const char *event, const char *message)
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

void send_held_back(struct agent *ag, const struct op *op, bool aside)
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

/* A worker's step, with what the agent saw and judged in @vd; the
 * worker's exit status (1: refused or failed, as a person's command). */
static int step(struct agent *ag, const char *id, const struct verdict *vd)
{
	struct errmsg e;
	struct op op;
	int rc;

	ag->en.notify = hold_back;
	rc = step_run(&ag->en, id, vd->phase, vd, &op, &e);
	ag->en.notify = NULL;
	if (rc < 0)
		say_error("agent: %s", e.text);
	if (held_back.n && op.id[0])
		send_held_back(ag, &op, false);
	op_free(&op);
	return rc < 0 ? 1 : 0;
}

void spawn(struct agent *ag, struct tracked *t, const struct verdict *vd)
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
		_exit(step(ag, t->id, vd));
	}
	log_info("operation %s: %s started (worker %d)", t->id, phase_name(vd->phase), (int)pid);
	t->worker = pid;
	t->rt.spawned_in = t->rt.state;
}

void notify_aside(void *ctx, const struct op *op, const char *event, const char *message)
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

static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
			  exit_status(status));
	}
}

static struct tracked *by_worker(struct agent *ag, pid_t pid)
{
	for (size_t i = 0; i < ag->nops; i++)
		if (ag->ops[i].worker == pid)
			return &ag->ops[i];
	return NULL;
}

void reap(struct agent *ag)
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
		t->rt.reaped = true;
		t->worker_status = exit_status(status);
		log_info("operation %s: worker %d ended (%d)", t->id, (int)pid, t->worker_status);
	}
}
