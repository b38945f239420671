// SPDX-License-Identifier: MIT
/*
 * rules.c - `mkagent rules install|remove [--root DIR]`: the udev rule
 * that starts the agent when AP devices appear (rules/90-mkagent.rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cmd/cli.h"
#include "io/log.h"
#include "core/macro.h"
#include "cmd/opargs.h"
#include "io/trust.h"

#define RULES_NAME "90-mkagent.rules"

/* Kept byte for byte equal to rules/90-mkagent.rules (a test compares). */
static const char rule_text[] =
	"# mkagent: AP cards want the agent; it watches every later event itself.\n"
	"# Only cards are tagged for systemd (a .device unit each), not their queues,\n"
	"# of which a large machine has thousands. Nothing is done on remove.\n"
	"ACTION==\"remove\", GOTO=\"mkagent_end\"\n"
	"SUBSYSTEM==\"ap\", ENV{DEVTYPE}==\"ap_card\", TAG+=\"systemd\", "
	"ENV{SYSTEMD_WANTS}+=\"mkagent.service\"\n"
	"LABEL=\"mkagent_end\"\n";

static const char rules_usage[] = "Usage: mkagent rules install|remove [--root DIR]\n"
				  "Install or remove the udev rule that starts the agent.\n";

static int mkdirs(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* udevadm runs from the descriptor that was checked, as helpers do (trust.h). */
static void reload_udev(void)
{
	static const char *const paths[] = { "/usr/bin/udevadm", "/sbin/udevadm" };
	char *argv[] = { "udevadm", "control", "--reload", NULL };
	int fd = -1;
	pid_t pid;

	for (size_t i = 0; i < ARRAY_SIZE(paths) && fd < 0; i++)
		fd = trust_open(paths[i], TRUST_PROGRAM, NULL, NULL);
	if (fd < 0)
		return;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execveat(fd, "", argv, environ, AT_EMPTY_PATH);
		_exit(127);
	}
	close(fd);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

int cmd_rules(const struct cli *cli _unused_, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	const char *root;
	char dir[4096], path[4200], tmp[4300];
	bool install;
	int fd, rc = op_args_parse("rules", rules_usage, ARG_ROOT, 1, argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	if (a.nrest != 1 || (!streq(a.rest[0], "install") && !streq(a.rest[0], "remove"))) {
		say_error("rules: say install or remove (see mkagent rules --help)");
		return EXIT_USAGE;
	}
	root = a.root ?: "";
	install = streq(a.rest[0], "install");
	snprintf(dir, sizeof(dir), "%s/etc/udev/rules.d", streq(root, "/") ? "" : root);
	snprintf(path, sizeof(path), "%s/%s", dir, RULES_NAME);
	if (!install) {
		if (unlink(path) < 0 && errno != ENOENT) {
			say_error("rules: cannot remove %s: %s", path, strerror(errno));
			return EXIT_REFUSED;
		}
		printf("Removed %s\n", path);
	} else {
		if (mkdirs(dir) < 0) {
			say_error("rules: cannot create %s: %s", dir, strerror(errno));
			return EXIT_REFUSED;
		}
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, rule_text, sizeof(rule_text) - 1) != sizeof(rule_text) - 1 ||
		    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
			say_error("rules: cannot write %s: %s", path, strerror(errno));
			return EXIT_REFUSED;
		}
		printf("Installed %s\n", path);
	}
	if (!*root || streq(root, "/"))
		reload_udev();
	return EXIT_OK;
}
