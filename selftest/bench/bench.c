// SPDX-License-Identifier: MIT
/*
 * bench - mkagent measured on the apsim testbed, side by side with what an
 * administrator would do otherwise: a shell poller (poller.sh) or a udev
 * RUN+= script (udev-run.sh). `bench SECTION` prints its figures as
 * Markdown; `make bench` runs every section. See selftest/bench/README.md.
 *
 *   latency   uevent to helper exec, 200 trials; the poller at 1 s
 *   reads     mkvps reads per event and per tick, 1 024 APQNs, one op of 8
 *   idle      wake-ups and CPU over 60 s, 1 024 APQNs
 *   scale N   status --json and a daemon start with N APQNs
 *   ops       the same with 1, 100 and 1 000 live operations
 *   phase     a full cycle of 10 000 simkeys keys: the agent's share
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "core/macro.h"

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (streq(what, "latency"))
		latency(argv);
	else if (streq(what, "reads"))
		reads(argv);
	else if (streq(what, "idle"))
		idle(argv);
	else if (streq(what, "scale-head"))
		printf("## Scale\n\nMedians of 5 runs each (`bench scale N`, `bench ops`).\n\n%s", scale_head);
	else if (streq(what, "scale") && argc > 2)
		scale(argv, atoi(argv[2]));
	else if (streq(what, "ops"))
		ops(argv);
	else if (streq(what, "phase"))
		phase(argv);
	else {
		fprintf(stderr, "Usage: bench latency|reads|idle|scale-head|scale N|ops|phase\n");
		return 2;
	}
	return 0;
}
