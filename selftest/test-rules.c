// SPDX-License-Identifier: MIT
/* The udev rule, `mkagent rules`, and the systemd unit. */
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "run.h"
#include "tap.h"

struct event {
	const char *action, *subsystem, *devtype;
};

static bool value_matches(const char *pattern, const char *value)
{
	char alt[256];

	for (const char *p = pattern; *p;) {
		size_t n = strcspn(p, "|");

		snprintf(alt, sizeof(alt), "%.*s", (int)n, p);
		if (fnmatch(alt, value ? value : "", 0) == 0)
			return true;
		p += n + (p[n] == '|');
	}
	return false;
}

/*
 * What udev does with @ev under @rules, for the keys the rule uses (ACTION,
 * SUBSYSTEM, ENV{DEVTYPE}, TAG, ENV{SYSTEMD_WANTS}, GOTO, LABEL): whether the
 * device is tagged for systemd and wants mkagent.service. An unknown key
 * fails the test.
 */
static void udev_apply(const char *rules, const struct event *ev, bool *tagged, bool *wants)
{
	char *copy = strdup(rules), *save = NULL, label[256] = "";

	*tagged = *wants = false;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool match = true, tag = false, want = false;
		char go[256] = "";

		if (*line == '#')
			continue;
		if (*label) {
			if (sscanf(line, "LABEL=\"%255[^\"]\"", go) == 1 && !strcmp(go, label))
				*label = '\0';
			continue;
		}
		for (char *p = line; *p && match;) {
			char key[64], op[3], val[256];
			int n = 0;

			if (sscanf(p, "%63[A-Z_{}]%2[=!+]\"%255[^\"]\"%n", key, op, val, &n) != 3 || !n)
				bail_out("a rule this test cannot read: %s", p);
			p += n;
			p += strspn(p, ", ");
			if (!strcmp(op, "==") || !strcmp(op, "!=")) {
				const char *v = !strcmp(key, "ACTION")	      ? ev->action :
						!strcmp(key, "SUBSYSTEM")     ? ev->subsystem :
						!strcmp(key, "ENV{DEVTYPE}") ? ev->devtype :
									       (bail_out("unknown key %s", key), "");

				match = value_matches(val, v) == !strcmp(op, "==");
			} else if (!strcmp(key, "TAG") && !strcmp(op, "+=")) {
				tag |= !strcmp(val, "systemd");
			} else if (!strcmp(key, "ENV{SYSTEMD_WANTS}") && !strcmp(op, "+=")) {
				want |= !strcmp(val, "mkagent.service");
			} else if (!strcmp(key, "GOTO") && !strcmp(op, "=")) {
				snprintf(go, sizeof(go), "%s", val);
			} else if (strcmp(key, "LABEL") != 0) {
				bail_out("unknown key %s%s", key, op);
			}
		}
		if (!match)
			continue;
		*tagged |= tag;
		*wants |= want;
		if (*go)
			snprintf(label, sizeof(label), "%s", go);
	}
	free(copy);
}

/* Which AP events tag a device for systemd and want the agent. */
static void rule_events(const char *rules)
{
	static const struct {
		struct event ev;
		bool start;
		const char *what;
	} cases[] = {
		{ { "add", "ap", "ap_card" }, true, "a card that appears" },
		{ { "bind", "ap", "ap_card" }, true, "a card bound to its driver" },
		{ { "change", "ap", "ap_card" }, true, "a card going online" },
		{ { "add", "ap", "ap_queue" }, false, "a queue that appears (thousands on a large machine)" },
		{ { "bind", "ap", "ap_queue" }, false, "a queue bound to its driver" },
		{ { "change", "ap", NULL }, false, "the AP bus root (INITSCAN, BINDINGS)" },
		{ { "remove", "ap", "ap_card" }, false, "a card that goes away" },
		{ { "remove", "ap", "ap_queue" }, false, "a queue that goes away" },
		{ { "add", "pci", NULL }, false, "a device of another bus" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool tagged, wants;

		udev_apply(rules, &cases[i].ev, &tagged, &wants);
		ok(tagged == cases[i].start && wants == cases[i].start, "%s: %s %s", cases[i].what,
		   cases[i].start ? "tagged for systemd, wants" : "neither tagged nor wants",
		   "mkagent.service");
	}
}

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
	if (!shipped)
		bail_out("cannot read rules/90-mkagent.rules");
	rule_events(shipped);
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
