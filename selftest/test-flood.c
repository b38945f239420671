// SPDX-License-Identifier: MIT
/*
 * A uevent flood: 10 000 `change` events in a burst over every APQN while
 * one operation waits on two of them. The agent reads an affected APQN's
 * registers for the first event at once, then once for the rest of the
 * burst (and once a second while it lasts); it never reads the others; a
 * lone uevent reads only the queue it names; and
 * it stays responsive: a key the officer loads in the middle of a second
 * flood is acted on.
 *
 * umockdev delivers uevents over a Unix datagram socket and aborts when its
 * queue is full, so the queue is made as long as the flood
 * (net.unix.max_dgram_qlen, restored at the end); without the right to do
 * that the test skips.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

#define FLOOD 10000
#define QLEN "/proc/sys/net/unix/max_dgram_qlen"

/* The first event is for a waiting APQN: the agent acts on it at once. */
static const struct apqn *all[] = { &EP11[0], &EP11[1], &CCA[0], &CCA[1], &CCA[2] };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* @n change events, round robin over every APQN; the seconds it took. */
static double flood(int n)
{
	double t0 = now_s();

	for (int i = 0; i < n; i++)
		apsim_change_uevent(sim, *all[i % ARRAY_SIZE(all)]);
	return now_s() - t0;
}

static bool set_qlen(const char *value)
{
	FILE *f = fopen(QLEN, "w");

	return f && fputs(value, f) >= 0 && fclose(f) == 0;
}

static int reads_of_others(void)
{
	int n = 0;

	for (size_t i = 0; i < 3; i++)
		n += apsim_mkvps_reads(sim, CCA[i]);
	return n;
}

int main(int argc, char **argv)
{
	char hex[MKVP_STR_MAX], *old_qlen, *id;
	int reads0, reads1, others;
	struct apsim_key k;
	double secs, t0, agent_secs;
	pid_t agent;

	(void)argc;
	fixture_setup(argv);
	old_qlen = read_text(QLEN);
	if (!old_qlen || !set_qlen("40000\n"))
		plan_skip_all("cannot lengthen the Unix datagram queue (" QLEN ")");

	use_config("flood.conf", "[agent]\npoll-interval = 3600\n");
	id = plan_ep11("simkeys-ep11", &k, hex);

	agent = agent_start(NULL, NULL, false, 0);
	reads0 = apsim_mkvps_reads(sim, EP11[0]);
	reads1 = apsim_mkvps_reads(sim, EP11[1]);
	others = reads_of_others();
	/*
	 * The burst is sent while the agent is stopped, then taken in at once:
	 * a sender the machine holds up for more than the agent's 50 ms settle
	 * would cut it into several bursts, each read at its start and end.
	 * The agent reads once a second while the burst lasts, so the bound
	 * counts the seconds it took to take it in, measured around it, not
	 * the seconds the test took to send. Without coalescing, each waiting
	 * APQN would be read for each of its FLOOD / 5 events.
	 */
	kill(agent, SIGSTOP);
	secs = flood(FLOOD);
	t0 = now_s();
	kill(agent, SIGCONT);
	ok(wait_agent_quiet(agent, 10 * AGENT_WAIT_MS), "the agent takes in the burst and is quiet again");
	agent_secs = now_s() - t0;
	diag("%d events sent in %.2f s, taken in by the agent in %.2f s", FLOOD, secs, agent_secs);
	{
		int got0 = apsim_mkvps_reads(sim, EP11[0]) - reads0;
		int got1 = apsim_mkvps_reads(sim, EP11[1]) - reads1;
		int most = 2 + (int)agent_secs;

		ok(got0 >= 1 && got0 <= most && got1 >= 1 && got1 <= most,
		   "%d events in a burst: each waiting APQN read %d and %d times (at most %d: the first "
		   "event, one a second while the agent took them in, the settled burst)",
		   FLOOD, got0, got1, most);
		if (most >= FLOOD / 5)
			diag("the agent took too long to tell coalescing from none");
	}
	is_int(reads_of_others() - others, 0, "the APQNs no operation waits for are never read");
	is_string(op_field(id, "state"), "planned", "nothing is loaded: the operation still waits");

	/* one uevent alone: only its queue is read */
	reads0 = apsim_mkvps_reads(sim, EP11[0]);
	reads1 = apsim_mkvps_reads(sim, EP11[1]);
	apsim_change_uevent(sim, EP11[1]);
	for (int waited = 0; waited < AGENT_WAIT_MS && apsim_mkvps_reads(sim, EP11[1]) == reads1; waited += 10)
		sleep_ms(10);
	wait_agent_quiet(agent, AGENT_WAIT_MS);
	ok(apsim_mkvps_reads(sim, EP11[1]) - reads1 == 1 && apsim_mkvps_reads(sim, EP11[0]) == reads0,
	   "one uevent of a waiting APQN: that queue is read once, the operation's other one not");

	/* The officer loads the key in the middle of the second half. */
	flood(FLOOD / 2);
	load_all(EP11, 2, MK_EP11, &k);
	flood(FLOOD / 2);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL),
	   "a key loaded in the middle of the flood is acted on: re-enciphered");
	is_int(reads_of_others() - others, 0, "after %d events the other APQNs are still unread", 2 * FLOOD);
	ok(kill(agent, 0) == 0, "the agent is still running");
	agent_stop(agent, SIGTERM);

	set_qlen(old_qlen);
	free(old_qlen);
	free(id);
	apsim_free(sim);
	return done_testing();
}
