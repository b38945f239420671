// SPDX-License-Identifier: MIT
/*
 * DESIGN §5 "Trust": as root, mkagent runs and reads only files that root
 * alone could have put there (the file and every directory up to "/"
 * root's and not writable by group or others, a symlink judged as its
 * target), and the program that runs is the file that was checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/fileio.h"
#include "fixture.h"
#include "io/profile.h"
#include "io/runner.h"
#include "io/store.h"
#include "tap.h"

#define NOBODY 65534

static char *base;

/* A path under the test's directory; the last eight answers stay valid. */
static const char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *at(const char *fmt, ...)
{
	static char buf[8][4096];
	static unsigned int next;
	char *out = buf[next++ % 8], rel[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(buf[0]), "%s/%s", base, rel);
	return out;
}

static void make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		bail_out("mkdir %s: %s", path, strerror(errno));
	chmod(path, mode);
}

static void link_to(const char *target, const char *path)
{
	unlink(path);
	if (symlink(target, path) < 0)
		bail_out("symlink %s: %s", path, strerror(errno));
}

/* A refusal: a negative errno and one line with @want in it. */
static void refusal(int rc, const struct errmsg *e, const char *want, const char *what)
{
	ok(rc < 0, "refused: %s", what);
	if (!ok(strstr(e->text, want) && !strchr(e->text, '\n'), "  saying: %s", want))
		diag("said: %s", rc < 0 ? e->text : "nothing");
}

static void exec_refused(const char *path, const char *want, const char *what)
{
	struct errmsg e = { "" };
	int fd = runner_open_exec(path, &e);

	if (fd >= 0)
		close(fd);
	refusal(fd, &e, want, what);
}

static void exec_accepted(const char *path, const char *what)
{
	struct errmsg e = { "" };
	int fd = runner_open_exec(path, &e);

	if (!ok(fd >= 0, "accepted: %s", what))
		diag("%s", e.text);
	if (fd >= 0)
		close(fd);
}

static void programs(void)
{
	char want[8192];

	make_dir(at("bin"), 0755);
	make_dir(at("open"), 0777);
	write_text(at("bin/ok"), 0755, "#!/bin/sh\nexit 0\n");
	write_text(at("open/h"), 0755, "#!/bin/sh\nexit 0\n");
	exec_accepted(at("bin/ok"), "a root's program in root's directories");
	exec_accepted("/bin/sh", "/bin/sh (a symlinked /bin on merged-/usr systems)");

	snprintf(want, sizeof(want), "helper %s: directory %s is writable by group or others",
		 at("open/h"), at("open"));
	exec_refused(at("open/h"), want, "a helper in a directory writable by others");

	link_to(at("open/h"), at("bin/link"));
	snprintf(want, sizeof(want), "helper %s: directory %s is writable by group or others",
		 at("bin/link"), at("open"));
	exec_refused(at("bin/link"), want, "a symlink to a helper in a directory writable by others");

	link_to(at("bin/ok"), at("open/link"));
	snprintf(want, sizeof(want), "helper %s: directory %s is writable by group or others",
		 at("open/link"), at("open"));
	exec_refused(at("open/link"), want, "a symlink, in a directory writable by others, to a good helper");

	link_to("../bin/./ok", at("bin/rel"));
	exec_accepted(at("bin/rel"), "a relative symlink with .. and . to a good helper");

	write_text(at("bin/theirs"), 0755, "#!/bin/sh\nexit 0\n");
	if (chown(at("bin/theirs"), NOBODY, NOBODY) < 0)
		bail_out("chown: %s", strerror(errno));
	snprintf(want, sizeof(want), "helper %s is not owned by root", at("bin/theirs"));
	exec_refused(at("bin/theirs"), want, "a helper owned by nobody");

	link_to(at("bin/theirs"), at("bin/to-theirs"));
	snprintf(want, sizeof(want), "helper %s: %s is not owned by root", at("bin/to-theirs"),
		 at("bin/theirs"));
	exec_refused(at("bin/to-theirs"), want, "a symlink to a helper owned by nobody");

	make_dir(at("bin/nobody"), 0755);
	write_text(at("bin/nobody/h"), 0755, "#!/bin/sh\nexit 0\n");
	if (chown(at("bin/nobody"), NOBODY, NOBODY) < 0)
		bail_out("chown: %s", strerror(errno));
	snprintf(want, sizeof(want), "helper %s: directory %s is not owned by root", at("bin/nobody/h"),
		 at("bin/nobody"));
	exec_refused(at("bin/nobody/h"), want, "a helper in a directory owned by nobody");

	write_text(at("bin/grp"), 0775, "#!/bin/sh\nexit 0\n");
	snprintf(want, sizeof(want), "helper %s is writable by group or others", at("bin/grp"));
	exec_refused(at("bin/grp"), want, "a group-writable helper");

	link_to("loop", at("bin/loop"));
	exec_refused(at("bin/loop"), "more than 40 symlinks", "a symlink loop");
	write_text(at("bin/plain"), 0644, "not a program\n");
	exec_refused(at("bin/plain"), "is not an executable file", "a file without x");
	exec_refused("bin/ok", "not an absolute path", "a relative helper path");
}

struct seen {
	char last[256];
};

static void keep_line(void *ctx, int fd, const char *line)
{
	struct seen *s = ctx;

	(void)fd;
	snprintf(s->last, sizeof(s->last), "%s", line);
}

/* Run the program of @fd as the runner does, by its descriptor. */
static struct run_outcome run_fd(int fd, const char *argv0, struct seen *s)
{
	char *argv[] = { (char *)argv0, NULL };
	struct run_spec spec = { .exec_fd = fd, .argv = argv, .timeout_s = 10,
				 .line = keep_line, .line_ctx = s };
	struct run_outcome o = { .exit_code = -2 };
	struct errmsg e;

	if (runner_run(&spec, &o, &e) < 0)
		diag("runner: %s", e.text);
	return o;
}

/* What is checked is what runs, whatever happens to the path in between. */
static void swaps(void)
{
	struct errmsg e = { "" };
	struct seen s = { "" };
	struct run_outcome o;
	char *got;
	int fd;

	write_text(at("bin/good"), 0755, "#!/bin/sh\necho good > %s\n", at("marker"));
	write_text(at("bin/evil"), 0755, "#!/bin/sh\necho evil > %s\n", at("marker"));

	link_to(at("bin/good"), at("bin/current"));
	fd = runner_open_exec(at("bin/current"), &e);
	ok(fd >= 0, "the helper behind a symlink is checked and opened");
	link_to(at("bin/evil"), at("bin/next"));
	if (rename(at("bin/next"), at("bin/current")) < 0)
		bail_out("rename: %s", strerror(errno));
	unlink(at("marker"));
	o = run_fd(fd, at("bin/current"), &s);
	close(fd);
	got = read_text(at("marker"));
	is_int(o.exit_code, 0, "the symlink swapped after the check: the helper ran");
	is_string(got ? got : "(nothing)", "good\n", "  and it was the checked one, not the new target");
	free(got);

	write_text(at("bin/prog"), 0755, "#!/bin/sh\necho good > %s\n", at("marker"));
	fd = runner_open_exec(at("bin/prog"), &e);
	write_text(at("bin/prog.new"), 0755, "#!/bin/sh\necho evil > %s\n", at("marker"));
	if (rename(at("bin/prog.new"), at("bin/prog")) < 0)
		bail_out("rename: %s", strerror(errno));
	unlink(at("marker"));
	o = run_fd(fd, at("bin/prog"), &s);
	close(fd);
	got = read_text(at("marker"));
	is_string(got ? got : "(nothing)", "good\n", "a file renamed over the checked one: the checked one ran");
	free(got);

	fd = runner_open_exec("/bin/sh", &e);
	{
		char *argv[] = { "/bin/sh", "-c", "echo elf; exit 7", NULL };
		char *envp[] = { NULL };
		struct run_spec spec = { .exec_fd = fd, .argv = argv, .envp = envp, .timeout_s = 10,
					 .line = keep_line, .line_ctx = &s };

		runner_run(&spec, &o, &e);
	}
	close(fd);
	ok(o.exit_code == 7 && streq(s.last, "elf"), "a binary runs from its descriptor too");

	write_text(at("bin/noshell"), 0755, "#!/nonexistent/sh\nexit 0\n");
	fd = runner_open_exec(at("bin/noshell"), &e);
	o = run_fd(fd, at("bin/noshell"), &s);
	close(fd);
	is_int(o.exit_code, 127, "a program that cannot start ends as exit 127");
	ok(strstr(o.last_stderr, "cannot run") != NULL, "  saying: cannot run (%s)", o.last_stderr);
}

static void files(void)
{
	struct profile_set set = { 0 };
	struct store st;
	struct errmsg e = { "" };
	char want[8192], *text = NULL;
	int rc;

	make_dir(at("etc"), 0755);
	write_text(at("etc/mkagent.conf"), 0644, "[agent]\n");
	rc = read_config_file(at("etc/mkagent.conf"), &text, &e);
	ok(rc == 0, "a configuration in root's directories is read");
	free(text);
	chmod(at("etc"), 0775);
	rc = read_config_file(at("etc/mkagent.conf"), &text, &e);
	snprintf(want, sizeof(want), "%s: directory %s is writable by group or others",
		 at("etc/mkagent.conf"), at("etc"));
	refusal(rc, &e, want, "a configuration whose directory is writable by the group");
	chmod(at("etc"), 0755);

	write_text(at("open/linked.conf"), 0644, "[agent]\n");
	link_to(at("open/linked.conf"), at("etc/linked.conf"));
	rc = read_config_file(at("etc/linked.conf"), &text, &e);
	snprintf(want, sizeof(want), "directory %s is writable by group or others", at("open"));
	refusal(rc, &e, want, "a configuration symlinked into a directory writable by others");

	make_dir(at("prof"), 0777);
	write_text(at("prof/a.profile"), 0644, "[profile]\nmk-types = ep11\n[reencipher]\nexec = /bin/true\n");
	rc = profiles_load(&set, at("prof"), &e);
	snprintf(want, sizeof(want), "profiles %s is writable by group or others", at("prof"));
	refusal(rc, &e, want, "a profiles directory writable by others");
	chmod(at("prof"), 0755);
	rc = profiles_load(&set, at("prof"), &e);
	ok(rc == 0 && set.n == 1, "the same directory, 0755, is read");
	profiles_free(&set);

	write_text(at("open/b.profile"), 0644, "[profile]\nmk-types = ep11\n[reencipher]\nexec = /bin/true\n");
	link_to(at("open/b.profile"), at("prof/b.profile"));
	rc = profiles_load(&set, at("prof"), &e);
	snprintf(want, sizeof(want), "%s: directory %s is writable by group or others",
		 at("prof/b.profile"), at("open"));
	refusal(rc, &e, want, "a profile symlinked into a directory writable by others");
	write_text(at("etc/b.profile"), 0644, "[profile]\nmk-types = ep11\n[reencipher]\nexec = /bin/true\n");
	link_to("../etc/b.profile", at("prof/b.profile"));
	rc = profiles_load(&set, at("prof"), &e);
	ok(rc == 0 && set.n == 2, "a profile symlinked to a root's file in root's directories is read");
	profiles_free(&set);
	unlink(at("prof/b.profile"));

	rc = store_open(&st, at("open/state"), true, &e);
	snprintf(want, sizeof(want), "%s: directory %s is writable by group or others",
		 at("open/state"), at("open"));
	refusal(rc, &e, want, "a state directory under a directory writable by others");
	ok(access(at("open/state"), F_OK) != 0, "  and it was not made");
	if (rc == 0)
		store_close(&st);
}

/* Through the mkagent command: one line, exit 1, nothing changed, nothing run. */
static void commands(void)
{
	char helper[4096], marker[4096], want[8192], conf[4096], *id, A[MKVP_STR_MAX];
	struct apsim_key k;
	struct run_result r;
	const char *config = getenv("MKAGENT_CONFIG");

	make_dir(at("e2e"), 0755);
	snprintf(helper, sizeof(helper), "%s", at("e2e/helper"));
	snprintf(marker, sizeof(marker), "%s", at("e2e-ran"));
	write_text(helper, 0755, "#!/bin/sh\necho \"$1\" >> %s\n", marker);
	write_profile("trusty", "cca-apka", false, helper, NULL);

	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, A);
	apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
	mk(&r, "plan", "-a", "0b.0033", "-p", A, "--profiles", "trusty", NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	run_result_free(&r);
	if (!id)
		bail_out("no operation ID");

	chmod(at("e2e"), 0777);
	snprintf(want, sizeof(want), "helper %s: directory %s is writable by group or others", helper,
		 at("e2e"));
	refused(1, want, "reencipher -i with a helper in a directory writable by others", "reencipher",
		"-i", id, NULL);
	refused(1, want, "helper PROFILE PHASE -i with the same helper", "helper", "trusty",
		"reencipher", "-i", id, NULL);
	chmod(at("e2e"), 0755);

	link_to(at("open/h"), at("e2e/helper"));
	snprintf(want, sizeof(want), "helper %s: directory %s is writable by group or others", helper,
		 at("open"));
	refused(1, want, "reencipher -i with a helper symlinked into a directory writable by others",
		"reencipher", "-i", id, NULL);
	unlink(helper);
	write_text(helper, 0755, "#!/bin/sh\necho \"$1\" >> %s\n", marker);

	if (chown(helper, NOBODY, NOBODY) < 0)
		bail_out("chown: %s", strerror(errno));
	snprintf(want, sizeof(want), "helper %s is not owned by root", helper);
	refused(1, want, "reencipher -i with a helper owned by nobody", "reencipher", "-i", id, NULL);
	if (chown(helper, 0, 0) < 0)
		bail_out("chown: %s", strerror(errno));

	chmod(profiles, 0777);
	snprintf(want, sizeof(want), "profiles %s is writable by group or others", profiles);
	refused(1, want, "reencipher -i with a profiles directory writable by others", "reencipher",
		"-i", id, NULL);
	chmod(profiles, 0755);

	make_dir(at("conf"), 0775);
	snprintf(conf, sizeof(conf), "%s", at("conf/mkagent.conf"));
	write_text(conf, 0644, "[agent]\nauto-finalize = yes\n");
	setenv("MKAGENT_CONFIG", conf, 1);
	snprintf(want, sizeof(want), "%s: directory %s is writable by group or others", conf, at("conf"));
	refused(1, want, "reencipher -i with the configuration's directory writable by the group",
		"reencipher", "-i", id, NULL);
	setenv("MKAGENT_CONFIG", config, 1);
	ok(access(marker, F_OK) != 0, "no refused helper ran");

	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "with all that put right, reencipher -i runs the helper");
	run_result_free(&r);
	ok(access(marker, F_OK) == 0, "  which ran");
	mk(&r, "cancel", "-i", id, NULL);
	run_result_free(&r);
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	free(id);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (geteuid() != 0) {
		plan_skip_all("the trust rules apply to root");
		return 0;
	}
	fixture_setup(argv);
	if (asprintf(&base, "%s/trust", tmp) < 0)
		bail_out("out of memory");
	make_dir(base, 0755);
	programs();
	swaps();
	files();
	commands();
	apsim_free(sim);
	remove_tree(tmp);
	return done_testing();
}
