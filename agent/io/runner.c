// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "io/clock.h"
#include "io/fault.h"
#include "core/macro.h"
#include "io/runner.h"
#include "io/trust.h"

/* The first interrupting signal, and a pipe that wakes runner_run's poll
 * for it (a flag alone could arrive just before poll() sleeps). */
static volatile sig_atomic_t caught;
static int wake_pipe[2] = { -1, -1 };

static void on_interrupt(int sig)
{
	int saved = errno;

	if (!caught)
		caught = sig;
	if (write(wake_pipe[1], "", 1) < 0) {
		/* the pipe is full: runner_run wakes anyway */
	}
	errno = saved;
}

int runner_catch_interrupts(void)
{
	struct sigaction sa = { .sa_handler = on_interrupt }, ign = { .sa_handler = SIG_IGN };

	if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a wait in progress returns at once */
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0 || sigaction(SIGPIPE, &ign, NULL) < 0)
		return -errno;
	return 0;
}

int runner_interrupted(void)
{
	return caught;
}

struct linebuf {
	char buf[RUNNER_LINE_MAX + 1];
	size_t len;
};

int split_exec(const char *exec, char ***argv)
{
	_cleanup_free_ char *copy = strdup(exec);
	char **v = NULL, *save = NULL;
	size_t n = 0;

	if (!copy)
		return -ENOMEM;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		char **nv = realloc(v, (n + 2) * sizeof(*v));

		if (!nv || !(nv[n] = strdup(w))) {
			free(nv ? nv : v);
			return -ENOMEM;
		}
		v = nv;
		v[++n] = NULL;
	}
	if (!n)
		return -EINVAL;
	*argv = v;
	return 0;
}

void argv_free(char **argv)
{
	for (char **p = argv; p && *p; p++)
		free(*p);
	free(argv);
}

int helper_open(const char *cmdline, const char *const *extra, struct helper *h,
		struct errmsg *e)
{
	char **v = NULL;
	size_t n = 0, k = 0;
	int rc = split_exec(cmdline, &v);

	*h = (struct helper){ .fd = -1 };
	if (rc < 0)
		return errmsg_set(e, rc, "helper '%s' is empty", cmdline);
	rc = runner_open_exec(v[0], e);
	if (rc < 0) {
		argv_free(v);
		return rc;
	}
	h->fd = rc;
	while (v[n])
		n++;
	while (extra && extra[k])
		k++;
	char **nv = realloc(v, (n + k + 1) * sizeof(*v));

	if (!nv) {
		argv_free(v);
		helper_close(h);
		return errmsg_set(e, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < k; i++)
		nv[n + i] = strdup(extra[i]);
	nv[n + k] = NULL;
	h->argv = nv;
	return 0;
}

void helper_close(struct helper *h)
{
	argv_free(h->argv);
	h->argv = NULL;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

int runner_open_exec(const char *path, struct errmsg *e)
{
	return trust_open(path, TRUST_PROGRAM, "helper", e);
}

/* Every helper's environment begins so (DESIGN §5), whoever runs it. */
static const char *const base_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C" };

/* base_env, then @extra (may be NULL): an array of borrowed strings. */
static char **helper_envp(char *const *extra)
{
	size_t n = 0, base = ARRAY_SIZE(base_env);
	char **v;

	while (extra && extra[n])
		n++;
	v = calloc(base + n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < base; i++)
		v[i] = (char *)base_env[i];
	for (size_t i = 0; i < n; i++)
		v[base + i] = extra[i];
	return v;
}

/* Move @fd to @to, or above the standard ones when @to is -1; close-on-exec. */
static int move_fd(int fd, int to)
{
	if (to < 0)
		return fcntl(fd, F_DUPFD_CLOEXEC, 10);
	if (dup2(fd, to) < 0 || fcntl(to, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return to;
}

/*
 * The child, between fork() and execveat(), async-signal-safe calls only:
 * stdin /dev/null, stdout and stderr to the pipes, the PIN channel on fd 3
 * when the profile asks for PINs, nothing else open but the program's own
 * descriptor, in its own process group, in its work directory, with default
 * signal handling. Why it could not run goes to @report, as an errno.
 */
static _Noreturn void child(const struct run_spec *s, char *const *envp, int out, int err, int pin,
			    int report, pid_t parent)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int base = s->pin_channel ? 4 : 3, prog = s->exec_fd, null, code;
	sigset_t none;

	out = move_fd(out, -1);
	err = move_fd(err, -1);
	pin = s->pin_channel ? move_fd(pin, -1) : 0;
	prog = move_fd(prog, -1);
	report = move_fd(report, -1);
	if (out < 0 || err < 0 || pin < 0 || prog < 0 || report < 0)
		goto fail;
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
	    (s->pin_channel && dup2(pin, 3) < 0))
		goto fail;
	report = move_fd(report, base + 1);
	prog = move_fd(prog, base);
	if (report < 0 || prog < 0)
		goto fail;
	closefrom(base + 2);
	/* I9: whoever started it holds the operation's lock; should it die
	 * without reaping (SIGKILL), the helper is told to end */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		goto fail;
	if (setpgid(0, 0) < 0 || chdir(s->workdir ? s->workdir : "/") < 0)
		goto fail;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execveat(prog, "", s->argv, envp, AT_EMPTY_PATH);
	if (errno == ENOENT) {
		/* a #! script: its interpreter opens /dev/fd/<prog>, which must stay open */
		fcntl(prog, F_SETFD, 0);
		execveat(prog, "", s->argv, envp, AT_EMPTY_PATH);
	}
fail:
	code = errno;
	if (write(report, &code, sizeof(code)) < 0)
		code = 0;
	_exit(127);
}

/* Start the program of @s->exec_fd, the one that was checked, never a path. */
static int spawn_child(const struct run_spec *s, char *const *envp, int out, int err, int pin,
		       pid_t *pid)
{
	int report[2], code = 0;
	sigset_t all, old;
	pid_t parent;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	/* no handler of ours runs in the child before exec resets it */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	parent = getpid();
	*pid = fork();
	if (*pid == 0)
		child(s, envp, out, err, pin, report[1], parent);
	code = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(report[1]);
	if (*pid < 0) {
		close(report[0]);
		return -code;
	}
	setpgid(*pid, *pid);
	do
		n = read(report[0], &code, sizeof(code));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == sizeof(code)) {
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
		return code ? -code : -EIO;
	}
	return 0;
}

/* Hand complete lines to the callback; long lines go in pieces. */
static void feed(const struct run_spec *s, struct run_outcome *o, int fd, struct linebuf *lb,
		 const char *data, size_t n, bool flush)
{
	for (size_t i = 0; i <= n; i++) {
		bool end = i == n;

		if (!end && data[i] != '\n' && lb->len < RUNNER_LINE_MAX) {
			char c = data[i];

			lb->buf[lb->len++] = isprint((unsigned char)c) || c == '\t' ? c : '?';
			continue;
		}
		if (end && !(flush && lb->len))
			break;
		lb->buf[lb->len] = '\0';
		if (fd == 2 && lb->len)
			snprintf(o->last_stderr, sizeof(o->last_stderr), "%.255s", lb->buf);
		if (s->line)
			s->line(s->line_ctx, fd, lb->buf);
		lb->len = 0;
		if (!end && data[i] != '\n')
			lb->buf[lb->len++] = data[i];
	}
}

/* One `PIN <label>` request; the answer never leaves this function. */
static void serve_pin(const struct run_spec *s, int sock, struct linebuf *req)
{
	char pin[PIN_MAX], answer[PIN_MAX + 192];
	struct errmsg e = { "no PIN source" };
	const char *label = req->buf + 4;
	int n;

	req->buf[req->len] = '\0';
	if (strncmp(req->buf, "PIN ", 4) != 0 || !*label) {
		n = snprintf(answer, sizeof(answer), "ERR bad request\n");
	} else if (s->get_pin && s->get_pin(s->pin_ctx, label, pin, &e) == 0 && !caught) {
		n = snprintf(answer, sizeof(answer), "OK %s\n", pin);
	} else if (caught) {
		n = snprintf(answer, sizeof(answer), "ERR interrupted\n");
	} else {
		for (char *p = e.text; *p; p++)
			if (*p == '\n')
				*p = ' ';
		n = snprintf(answer, sizeof(answer), "ERR %s\n", e.text);
	}
	if (n > (int)sizeof(answer) - 1) {
		/* a long reason is cut, but the answer still ends its line */
		n = (int)sizeof(answer) - 1;
		answer[n - 1] = '\n';
	}
	if (write(sock, answer, (size_t)n) < 0) {
		/* the helper went away; its exit status tells the rest */
	}
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(answer, sizeof(answer));
	OPENSSL_cleanse(req, sizeof(*req));
}

static void read_pin_requests(const struct run_spec *s, int sock, struct linebuf *req, bool *open)
{
	char buf[256];
	ssize_t n = read(sock, buf, sizeof(buf));

	if (n <= 0) {
		*open = n < 0 && errno == EINTR;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			serve_pin(s, sock, req);
		} else if (req->len < RUNNER_LINE_MAX) {
			req->buf[req->len++] = buf[i];
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

enum drained { DRAIN_DATA, DRAIN_AGAIN, DRAIN_CLOSED };

static enum drained drain(const struct run_spec *s, struct run_outcome *o, int fd, int stream,
			  struct linebuf *lb)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return DRAIN_AGAIN;
	if (n <= 0)
		return DRAIN_CLOSED;
	feed(s, o, stream, lb, buf, (size_t)n, false);
	return DRAIN_DATA;
}

int runner_run(const struct run_spec *s, struct run_outcome *o, struct errmsg *e)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, pin[2] = { -1, -1 }, pidfd, status = 0, rc;
	struct linebuf lb_out = { .len = 0 }, lb_err = { .len = 0 }, req = { .len = 0 };
	bool out_open = true, err_open = true, pin_open = s->pin_channel, exited = false;
	long long deadline = s->timeout_s ? now_ms() + s->timeout_s * 1000LL : -1, kill_at = -1;
	long long start = now_us();
	_cleanup_free_ char **envp = NULL;
	pid_t pid = -1;

	*o = (struct run_outcome){ .exit_code = -1 };
	if (s->exec_fd < 0)
		return errmsg_set(e, -EBADF, "helper %s: not opened", s->argv[0]);
	envp = helper_envp(s->envp);
	if (!envp)
		return errmsg_set(e, -ENOMEM, "out of memory");
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    (s->pin_channel && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pin) < 0)) {
		rc = -errno;
		for (int *fd = (int[]){ out[0], out[1], err[0], err[1], pin[0], pin[1], -2 }; *fd != -2; fd++)
			if (*fd >= 0)
				close(*fd);
		return errmsg_set(e, rc, "cannot set up pipes: %s", strerror(-rc));
	}
	fault_point("helper start");
	rc = spawn_child(s, envp, out[1], err[1], pin[1], &pid);
	close(out[1]);
	close(err[1]);
	if (pin[1] >= 0)
		close(pin[1]);
	if (rc < 0) {
		/* as a shell says it: the helper could not run, exit 127 */
		close(out[0]);
		close(err[0]);
		if (pin[0] >= 0)
			close(pin[0]);
		o->exit_code = 127;
		o->elapsed_us = now_us() - start;
		snprintf(o->last_stderr, sizeof(o->last_stderr), "cannot run %.200s: %s", s->argv[0],
			 strerror(-rc));
		return 0;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	while (!exited) {
		struct pollfd p[5] = {
			{ .fd = out_open ? out[0] : -1, .events = POLLIN },
			{ .fd = err_open ? err[0] : -1, .events = POLLIN },
			{ .fd = pin_open ? pin[0] : -1, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = o->interrupted ? -1 : wake_pipe[0], .events = POLLIN },
		};
		long long now = now_ms(), wake = kill_at >= 0 ? kill_at : deadline;
		int timeout = wake < 0 ? -1 : wake > now ? (int)(wake - now) : 0;

		if (pidfd < 0 && !out_open && !err_open)
			timeout = timeout < 0 || timeout > 100 ? 100 : timeout;
		if (poll(p, 5, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			out_open = drain(s, o, out[0], 1, &lb_out) != DRAIN_CLOSED;
		if (p[1].revents)
			err_open = drain(s, o, err[0], 2, &lb_err) != DRAIN_CLOSED;
		if (p[2].revents)
			read_pin_requests(s, pin[0], &req, &pin_open);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
		now = now_ms();
		if (caught && !o->interrupted) {
			o->interrupted = caught;
			kill(-pid, SIGTERM);
			if (kill_at < 0)
				kill_at = now + RUNNER_KILL_GRACE_MS;
			continue;
		}
		if (kill_at >= 0 && now >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = -1;
			deadline = -1;
		} else if (deadline >= 0 && now >= deadline && kill_at < 0) {
			o->timed_out = true;
			kill(-pid, SIGTERM);
			kill_at = now + RUNNER_KILL_GRACE_MS;
		}
	}
	while (!exited && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (caught && !o->interrupted)
		o->interrupted = caught; /* it ended on its own meanwhile */
	o->elapsed_us = now_us() - start;
	fault_point("helper reaped");
	/* what the helper wrote before it ended */
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	while (out_open && drain(s, o, out[0], 1, &lb_out) == DRAIN_DATA)
		;
	while (err_open && drain(s, o, err[0], 2, &lb_err) == DRAIN_DATA)
		;
	feed(s, o, 1, &lb_out, "", 0, true);
	feed(s, o, 2, &lb_err, "", 0, true);
	if (o->timed_out || o->interrupted)
		kill(-pid, SIGKILL); /* whatever of its group is left */
	close(out[0]);
	close(err[0]);
	if (pin[0] >= 0)
		close(pin[0]);
	if (pidfd >= 0)
		close(pidfd);
	OPENSSL_cleanse(&req, sizeof(req));
	OPENSSL_cleanse(&lb_out, sizeof(lb_out));
	if (WIFEXITED(status)) {
		o->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		o->signal = WTERMSIG(status);
	}
	return 0;
}
