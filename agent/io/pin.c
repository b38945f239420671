// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <termios.h>

#include "io/log.h"
#include "core/macro.h"
#include "io/fd.h"
#include "io/pin.h"
#include "io/runner.h"

#define PIN_HELPER_TIMEOUT 60

struct first_line {
	char *pin;
	bool got;
	const char *op_id;
};

static void take_first_line(void *ctx, int fd, const char *line)
{
	struct first_line *f = ctx;

	if (fd == 2) {
		log_warn("operation %s: PIN helper: %s", f->op_id ? f->op_id : "-", line);
		return;
	}
	if (!f->got) {
		snprintf(f->pin, PIN_MAX, "%s", line);
		f->got = true;
	}
}

static int from_helper(const struct pin_source *src, const char *label, char *pin,
		       struct errmsg *e)
{
	_cleanup_free_ char *creds = NULL;
	const char *cd = getenv("CREDENTIALS_DIRECTORY");
	char *envp[] = { NULL, NULL };
	struct first_line f = { .pin = pin, .op_id = src->op_id };
	struct run_outcome o;
	struct helper h;
	int rc = helper_open(src->helper, (const char *const[]){ label, NULL }, &h, e);

	if (rc < 0)
		return rc;
	/* systemd's LoadCredential= directory, for mkagent-pin-file */
	if (cd && *cd && asprintf(&creds, "CREDENTIALS_DIRECTORY=%s", cd) > 0)
		envp[0] = creds;
	struct run_spec spec = {
		.exec_fd = h.fd,
		.argv = h.argv,
		.envp = envp,
		.timeout_s = PIN_HELPER_TIMEOUT,
		.line = take_first_line,
		.line_ctx = &f,
	};
	rc = runner_run(&spec, &o, e);
	helper_close(&h);
	if (rc < 0)
		return rc;
	if (o.exit_code != 0 || !f.got || !pin[0]) {
		OPENSSL_cleanse(pin, PIN_MAX);
		return errmsg_set(e, -EACCES, "the PIN helper gave no PIN for %s%s%s", label,
				  o.last_stderr[0] ? ": " : "", o.last_stderr);
	}
	return 0;
}

static int from_tty(const char *label, char *pin, struct errmsg *e)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios old, quiet;
	size_t len = 0;
	ssize_t n;
	char c;

	if (fd < 0)
		return errmsg_set(e, -ENXIO, "no terminal to ask for the PIN of %s", label);
	dprintf(fd, "Enter the PIN for %s: ", label);
	if (tcgetattr(fd, &old) < 0)
		return errmsg_set(e, -errno, "cannot turn off echo: %s", strerror(errno));
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	while ((n = read(fd, &c, 1)) == 1 && c != '\n')
		if (len < PIN_MAX - 1)
			pin[len++] = c;
	pin[len] = '\0';
	c = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	/* Ctrl-C, a lost terminal: what was typed so far is no PIN */
	if (n != 1 || runner_interrupted()) {
		OPENSSL_cleanse(pin, PIN_MAX);
		return errmsg_set(e, -EINTR, "the PIN of %s was not entered", label);
	}
	if (!len)
		return errmsg_set(e, -EACCES, "no PIN given for %s", label);
	return 0;
}

int pin_get(void *ctx, const char *label, char *pin, struct errmsg *e)
{
	const struct pin_source *src = ctx;

	if (strlen(label) > 64 || label[0] == '-')
		return errmsg_set(e, -EINVAL, "bad PIN label");
	for (const char *p = label; *p; p++)
		if (!isgraph((unsigned char)*p) && *p != ' ')
			return errmsg_set(e, -EINVAL, "bad PIN label");
	if (src && src->helper && *src->helper)
		return from_helper(src, label, pin, e);
	if (src && src->tty)
		return from_tty(label, pin, e);
	return errmsg_set(e, -ENOENT, "no PIN helper ([pin] helper) and no terminal to ask for %s",
			  label);
}
