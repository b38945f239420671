// SPDX-License-Identifier: MIT
/* The shipped PIN and notify helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "tap.h"

static char *dir;

static void pin_file(const char *what, const char *want_out, const char *want_err, const char *label)
{
	char *argv[] = { (char *)build_path("helpers/mkagent-pin-file"), "--dir", dir, (char *)label, NULL };
	struct run_result r;

	argv[0] = strdup(argv[0]);
	run_argv(&r, argv);
	if (want_out) {
		ok(r.status == 0 && strcmp(r.out, want_out) == 0, "pin-file: %s", what);
	} else {
		ok(r.status != 0 && !r.out[0], "pin-file refuses %s", what);
		if (!ok(strstr(r.err, want_err) != NULL, "  saying: %s", want_err))
			diag("stderr: %s", r.err);
	}
	free(argv[0]);
	run_result_free(&r);
}

int main(void)
{
	char path[4096], link[4096], *base = make_tmpdir("helpers");

	if (asprintf(&dir, "%s/pins", base) < 0)
		bail_out("out of memory");
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/cca token", dir);
	write_text(path, 0600, "1234-5678\nsecond line\n");
	pin_file("prints the first line of DIR/LABEL", "1234-5678\n", NULL, "cca token");
	pin_file("a label with a slash", NULL, "cannot name a file", "../etc/shadow");
	pin_file("a missing file", NULL, "no PIN file for nope", "nope");
	chmod(path, 0640);
	pin_file("a PIN file readable by the group", NULL, "must be mode 0600 or stricter", "cca token");
	chmod(path, 0600);
	chmod(dir, 0750);
	pin_file("a directory open to the group", NULL, "must be mode 0700 or stricter", "cca token");
	chmod(dir, 0700);
	snprintf(link, sizeof(link), "%s/linked", dir);
	if (symlink(path, link) < 0)
		bail_out("symlink");
	pin_file("a symlinked PIN file", NULL, "the PIN file of linked is a symlink", "linked");
	{
		char ldir[4096];

		snprintf(ldir, sizeof(ldir), "%s/pins-link", base);
		if (symlink(dir, ldir) < 0)
			bail_out("symlink");
		free(dir);
		dir = strdup(ldir);
		pin_file("a symlinked directory", NULL, "is not a directory (a symlink?)", "cca token");
		free(dir);
		if (asprintf(&dir, "%s/pins", base) < 0)
			bail_out("out of memory");
	}
	setenv("CREDENTIALS_DIRECTORY", base, 1);
	snprintf(path, sizeof(path), "%s/ep11", base);
	write_text(path, 0400, "from-systemd\n");
	pin_file("reads systemd credentials first", "from-systemd\n", NULL, "ep11");
	unsetenv("CREDENTIALS_DIRECTORY");

	remove_tree(base);
	free(dir);
	free(base);
	return done_testing();
}
