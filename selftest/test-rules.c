// SPDX-License-Identifier: MIT
/* The udev rule, `mkagent rules`, and the systemd unit. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "run.h"
#include "tap.h"

/*
 * A ReadWritePaths= entry that does not exist stops the unit (226/NAMESPACE):
 * every one but /run and /var/lock, which every system has, starts with -
 * (openCryptoki and zkey are not installed everywhere).
 */
static void unit_paths_optional(void)
{
	char *unit = read_text(build_path("etc/mkagent.service"));
	int entries = 0, required = 0;

	for (char *l = unit ? strstr(unit, "\nReadWritePaths=") : NULL; l;
	     l = strstr(l + 1, "\nReadWritePaths=")) {
		char *p = l + strlen("\nReadWritePaths=");

		while (*p && *p != '\n') {
			size_t n = strcspn(p, " \n");

			entries++;
			if (*p != '-' && !(n == 4 && !strncmp(p, "/run", 4)) &&
			    !(n == 9 && !strncmp(p, "/var/lock", 9))) {
				diag("ReadWritePaths=%.*s is required to exist", (int)n, p);
				required++;
			}
			p += n;
			p += strspn(p, " ");
		}
	}
	ok(entries >= 4 && required == 0,
	   "the unit's ReadWritePaths= may be missing, but for /run and /var/lock (%d entries)", entries);
	free(unit);
}

int main(void)
{
	char *root = make_tmpdir("rules"), path[4096], cmd[8192];
	char *shipped = read_text(build_path("rules/90-mkagent.rules")), *got;
	struct run_result r;

	run_mkagent(&r, "rules", "install", "--root", root, NULL);
	is_int(r.status, 0, "rules install --root DIR");
	run_result_free(&r);
	snprintf(path, sizeof(path), "%s/etc/udev/rules.d/90-mkagent.rules", root);
	got = read_text(path);
	ok(shipped && got && strcmp(shipped, got) == 0, "writes the shipped rule, byte for byte");
	ok(shipped && strstr(shipped, "SUBSYSTEM==\"ap\", TAG+=\"systemd\", ENV{SYSTEMD_WANTS}+=\"mkagent.service\""),
	   "the rule tags AP devices for systemd and wants mkagent.service, nothing more");
	ok(shipped && !strstr(shipped, "RUN+="), "no work runs inside udev");
	free(got);
	run_mkagent(&r, "rules", "remove", "--root", root, NULL);
	is_int(r.status, 0, "rules remove --root DIR");
	ok(access(path, F_OK) != 0, "removes it");
	run_result_free(&r);
	run_mkagent(&r, "rules", "frob", NULL);
	is_int(r.status, 2, "rules with a bad verb exits 2");
	is_string(r.err, "mkagent: rules: say install or remove (see mkagent rules --help)\n", "saying so");
	run_result_free(&r);

	if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
		skip(1, "systemd-analyze is not installed");
	} else {
		{
			char unit[4096];

			/* ExecStart points at the build so that verify can check it */
			snprintf(unit, sizeof(unit), "%s", build_path("etc/mkagent.service"));
			snprintf(cmd, sizeof(cmd),
				 "sed 's#/usr/sbin/mkagent#%s#' %s > %s/mkagent.service && "
				 "systemd-analyze verify --man=no %s/mkagent.service",
				 build_path("agent/mkagent"), unit, root, root);
		}
		is_int(system(cmd), 0, "systemd-analyze verify passes on etc/mkagent.service");
	}
	unit_paths_optional();
	remove_tree(root);
	free(root);
	free(shipped);
	return done_testing();
}
