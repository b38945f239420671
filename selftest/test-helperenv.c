// SPDX-License-Identifier: MIT
/* The helper environment (DESIGN §5) is defined once, in the runner: every
 * helper gets PATH and LANG, then exactly what its caller adds. */
#include <errno.h>
#include <unistd.h>

#include "io/runner.h"
#include "tap.h"

struct lines {
	char text[1024];
	size_t len;
};

static void keep(void *ctx, int fd, const char *line)
{
	struct lines *l = ctx;

	if (fd == 1)
		l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s\n", line);
}

/* What /usr/bin/env prints when the runner starts it with @extra. */
static const char *env_of(char *const *extra, struct lines *l)
{
	char *argv[] = { "/usr/bin/env", NULL };
	struct run_outcome o;
	struct errmsg e;
	int fd = runner_open_exec("/usr/bin/env", &e);
	struct run_spec spec = { .exec_fd = fd, .argv = argv, .envp = extra, .timeout_s = 10,
				 .line = keep, .line_ctx = l };

	*l = (struct lines){ .len = 0 };
	if (fd < 0)
		bail_out("/usr/bin/env: %s", e.text);
	if (runner_run(&spec, &o, &e) < 0 || o.exit_code != 0)
		bail_out("/usr/bin/env did not run: %s", o.last_stderr);
	close(fd);
	return l->text;
}

int main(void)
{
	struct lines l;
	char *none[] = { NULL };
	char *some[] = { "MKAGENT_OP_ID=uNA5QP", "X=1", NULL };

	setenv("MKAGENT_LEAK", "mine", 1);
	is_string(env_of(NULL, &l), "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C\n",
		  "no environment given: PATH and LANG, nothing of the caller's own");
	is_string(env_of(none, &l), "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C\n",
		  "an empty one: the same");
	is_string(env_of(some, &l),
		  "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C\nMKAGENT_OP_ID=uNA5QP\nX=1\n",
		  "PATH and LANG first, then exactly what the caller adds, in order");
	return done_testing();
}
