// SPDX-License-Identifier: MIT
/*
 * query.c - the registers only the query helper knows (CCA SYM): an
 * operation that has them is read whole by a query worker, whose answer
 * comes back through a pipe in the epoll set, so the loop never waits on
 * the helper.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/agent.h"
#include "io/log.h"
#include "io/registers.h"

bool asks_helper(const struct agent *ag, const struct op *op)
{
	return engine_query_helper(&ag->en, op) != NULL;
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
void start_query(struct agent *ag, struct tracked *t, const struct op *op)
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
	if (pid < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 || agent_add_fd(ag, p[0], TAG_QUERY) < 0) {
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
	read_done(&t->rt);
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

void on_query(struct agent *ag, int fd)
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
 * APQNs, as fresh as those read in a pass. */
void take_answer(struct agent *ag, struct tracked *t, const struct op *op)
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

void take_answers(struct agent *ag)
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
