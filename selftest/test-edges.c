// SPDX-License-Identifier: MIT
/*
 * Faults at the edges: the state directory full (ENOSPC) or read-only
 * (EROFS) while an operation moves on. The previous file stays intact, the
 * command says why, and the agent keeps trying until the disk has room.
 * The state directory is a small tmpfs; without mount rights this skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char fs[4200], filler[4300];

static void fill(void)
{
	char block[4096] = { 0 };
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	while (fd >= 0 && write(fd, block, sizeof(block)) > 0)
		;
	while (fd >= 0 && write(fd, block, 1) > 0)
		;
	if (fd >= 0)
		close(fd);
}

static char *file_of(const char *id)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/ops/%s.ini", state, id);
	return read_text(path);
}

int main(int argc, char **argv)
{
	struct apsim_key k;
	char hex[MKVP_STR_MAX], *id, *before, *after;
	struct run_result r;
	pid_t agent;

	(void)argc;
	fixture_setup(argv);
	snprintf(fs, sizeof(fs), "%s/statefs", tmp);
	mkdir(fs, 0755);
	if (mount("tmpfs", fs, "tmpfs", 0, "size=256k,mode=0755") < 0)
		plan_skip_all("cannot mount a tmpfs for the state directory");
	free(state);
	if (asprintf(&state, "%s/state", fs) < 0)
		bail_out("out of memory");
	setenv("MKAGENT_STATE_DIR", state, 1);
	snprintf(filler, sizeof(filler), "%s/filler", fs);
	use_config("edges.conf", "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n", tmp);

	id = plan_ep11("simkeys-ep11", &k, hex);
	load_all(EP11, 2, MK_EP11, &k);

	fill();
	before = file_of(id);
	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 1, "a full disk: the step is refused");
	ok(strstr(r.err, "No space left on device") != NULL, "saying the disk is full");
	run_result_free(&r);
	after = file_of(id);
	ok(before && after && streq(before, after), "the operation's file is as it was");
	{
		char cmd[4400];

		snprintf(cmd, sizeof(cmd), "ls -a %s/ops | grep -q '[.]tmp$'", state);
		ok(system(cmd) != 0, "and no temporary file is left behind");
	}
	free(after);

	agent = agent_start(NULL, NULL, false, 2500);
	after = file_of(id);
	ok(after && streq(before, after) && streq(op_field(id, "state"), "planned"),
	   "the agent cannot write either: the operation stays planned, intact");
	free(after);
	unlink(filler);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL), "room again: the agent, retrying, goes on by itself");
	agent_stop(agent, SIGTERM);

	if (mount(NULL, fs, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0) {
		char *was = file_of(id);

		activate_all(EP11, 2, MK_EP11);
		mk(&r, "finalize", "-i", id, NULL);
		is_int(r.status, 1, "a read-only state directory: the step is refused");
		ok(strstr(r.err, "Read-only file system") != NULL, "saying so");
		run_result_free(&r);
		mk(&r, "list", "-i", id, NULL);
		ok(r.status == 0 && strstr(r.out, "State: reenciphered"), "list still reads it");
		run_result_free(&r);
		after = file_of(id);
		ok(was && after && streq(was, after), "and the file is as it was");
		free(was);
		free(after);
		mount(NULL, fs, NULL, MS_REMOUNT, "size=256k");
		mk(&r, "finalize", "-i", id, NULL);
		is_int(r.status, 0, "writable again: finalize");
		run_result_free(&r);
	} else {
		skip(6, "cannot remount read-only");
	}
	free(before);
	free(id);
	umount2(fs, MNT_DETACH);
	apsim_free(sim);
	return done_testing();
}
