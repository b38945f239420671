// SPDX-License-Identifier: MIT
/*
 * demo.c - `make demo`: a master key change on the simulated AP bus,
 * narrated. The security officer's TKE actions are played by apsim; what
 * the administrator sees is what `mkagent status` shows.
 */
#include <stdio.h>
#include <time.h>

#include "apsim.h"
#include "run.h"

static struct apsim *sim;
static int calls;

static void say(const char *who, const char *what)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	printf("\n[%02d:%02d:%02d.%03ld] %-14s %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
	       ts.tv_nsec / 1000000, who, what);
}

static int show(const char *apqns)
{
	struct run_result r;
	int rc;

	calls++;
	printf("  $ mkagent status -a %s\n", apqns);
	run_mkagent(&r, "status", "-a", apqns, NULL);
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"))
		printf("    %s\n", line);
	fputs(r.err, stdout);
	rc = r.status;
	run_result_free(&r);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct apqn cca[] = { { 0x08, 0x33 }, { 0x09, 0x33 } };
	static const struct apqn ep11[] = { { 0x0a, 0x33 }, { 0x0b, 0x33 } };
	struct apsim_key aes, wk;
	int rc = 0;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sim = apsim_new(argv);
	if (!sim)
		return 1;
	say("simulator", "AP bus with two CCA (CEX7C) and two EP11 (CEX8P) APQNs in domain 0x33");
	apsim_add_card(sim, 0x08, "CEX7C");
	apsim_add_card(sim, 0x09, "CEX7C");
	apsim_add_card(sim, 0x0a, "CEX8P");
	apsim_add_card(sim, 0x0b, "CEX8P");
	for (int i = 0; i < 2; i++) {
		apsim_add_queue(sim, cca[i]);
		apsim_add_queue(sim, ep11[i]);
	}
	/* A set of APQNs shares one master key: give them the same CUR. */
	apsim_random_key(MK_CCA_AES, &aes);
	apsim_random_key(MK_EP11, &wk);
	for (int i = 0; i < 2; i++) {
		apsim_load(sim, cca[i], MK_CCA_AES, &aes);
		apsim_activate(sim, cca[i], MK_CCA_AES);
		apsim_load(sim, ep11[i], MK_EP11, &wk);
		apsim_activate(sim, ep11[i], MK_EP11);
	}
	rc |= show("08.0033,09.0033,0a.0033,0b.0033");

	say("officer (TKE)", "loads a new AES master key into the NEW register of 08.0033 and 09.0033");
	apsim_random_key(MK_CCA_AES, &aes);
	for (int i = 0; i < 2; i++)
		apsim_load_part(sim, cca[i], MK_CCA_AES, &aes);
	rc |= show("08.0033,09.0033");
	for (int i = 0; i < 2; i++)
		apsim_commit(sim, cca[i], MK_CCA_AES);
	say("officer (TKE)", "completes the load: NEW is full; consumers may now re-encipher");
	rc |= show("08.0033,09.0033");

	say("officer (TKE)", "loads and commits a new EP11 wrapping key on 0a.0033 and 0b.0033");
	apsim_random_key(MK_EP11, &wk);
	for (int i = 0; i < 2; i++)
		apsim_load(sim, ep11[i], MK_EP11, &wk);
	rc |= show("0a.0033,0b.0033");

	say("officer (TKE)", "activates both keys: OLD <- CUR <- NEW (EP11 keeps no OLD)");
	for (int i = 0; i < 2; i++) {
		apsim_activate(sim, cca[i], MK_CCA_AES);
		apsim_activate(sim, ep11[i], MK_EP11);
	}
	rc |= show("08.0033,09.0033,0a.0033,0b.0033");

	say("simulator", "done. mkagent status read mkvps only of the queues asked for:");
	printf("    %d reads of mkvps in all, over %d status calls\n", apsim_mkvps_reads_total(sim),
	       calls);
	printf("\nThe agent that re-enciphers and finalizes by itself between these steps\n"
	       "comes with 'mkagent daemon'; this demo shows the simulated AP bus it watches.\n");
	apsim_free(sim);
	return rc;
}
