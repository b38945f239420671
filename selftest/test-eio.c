// SPDX-License-Identifier: MIT
/*
 * An I/O error (EIO) while the state is written: the disk loses the
 * writeback of the operation's file (selftest/tools/eio.so makes its fsync
 * fail, as Linux reports it). The step is refused with the reason, the
 * previous file stays intact with no temporary file beside it, and the agent
 * keeps retrying until the disk works again.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char *file_of(const char *id)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/ops/%s.ini", state, id);
	return read_text(path);
}

static bool temp_left(void)
{
	_cleanup_free_ char *listing = NULL;
	char dir[4400];

	snprintf(dir, sizeof(dir), "%s/ops", state);
	listing = snapshot_dir(dir);
	return listing && strstr(listing, ".tmp") != NULL;
}

int main(int argc, char **argv)
{
	char hex[MKVP_STR_MAX], sw[4300], preload[8192], *id, *before, *after;
	const char *umockdev = getenv("LD_PRELOAD");
	struct apsim_key k;
	struct run_result r;
	pid_t agent;

	(void)argc;
	fixture_setup(argv);
	snprintf(preload, sizeof(preload), "%s:%s", umockdev ? umockdev : "",
		 build_path("selftest/tools/eio.so"));
	snprintf(sw, sizeof(sw), "%s/eio-switch", tmp);
	setenv("EIO_SWITCH", sw, 1);
	use_config("eio.conf", "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n", tmp);

	id = plan_ep11("simkeys-ep11", &k, hex);
	load_all(EP11, 2, MK_EP11, &k);

	setenv("LD_PRELOAD", preload, 1);
	write_text(sw, 0644, "%s/ops/\n", state);
	before = file_of(id);
	mk(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 1, "an I/O error on the state file: the step is refused");
	ok(strstr(r.err, "Input/output error") != NULL, "saying so");
	run_result_free(&r);
	after = file_of(id);
	ok(before && after && streq(before, after), "the operation's file is as it was");
	ok(!temp_left(), "and no temporary file is left behind");
	free(after);

	agent = agent_start(NULL, NULL, false, 2500);
	after = file_of(id);
	ok(after && streq(before, after) && streq(op_field(id, "state"), "planned"),
	   "the agent meets the error too: the operation stays planned, intact");
	ok(!temp_left(), "still no temporary file");
	free(after);
	unlink(sw);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL), "the disk works again: the agent, retrying, goes on");
	agent_stop(agent, SIGTERM);

	free(before);
	free(id);
	apsim_free(sim);
	return done_testing();
}
