// SPDX-License-Identifier: MIT
/*
 * demo.c - `make demo`: a whole master key change on the simulated AP bus,
 * narrated. The administrator plans once; the security officer (apsim
 * playing the TKE) loads and activates the new keys; mkagent daemon, a
 * real process under umockdev, re-enciphers and finalizes by itself.
 * simkeys is the consumer; at the end of each change every key is unwrapped
 * under the CUR master keys of each APQN of the change and compared with its
 * clear value.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include "fixture.h"
#include "core/macro.h"

static char log_path[4096];
static long log_pos;
static pid_t agent;

static void stamp(const char *who)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	printf("[%02d:%02d:%02d.%03ld] %-14s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	       ts.tv_nsec / 1000000, who);
}

static void say(const char *who, const char *what)
{
	stamp(who);
	printf("%s\n", what);
}

/* What the agent saw and did since last time: its decisions and steps. */
static void follow(void)
{
	FILE *f = fopen(log_path, "r");
	char line[1024];

	if (!f)
		return;
	fseek(f, log_pos, SEEK_SET);
	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n'))
			break;
		log_pos = ftell(f);
		if (strstr(line, "debug:") || strstr(line, "worker") || strstr(line, "running ") ||
		    strstr(line, "watching"))
			continue;
		line[strcspn(line, "\n")] = '\0';
		stamp("agent");
		printf("%s\n", strncmp(line, "mkagent: ", 9) == 0 ? line + 9 : line);
	}
	fclose(f);
}

static void pause_ms(int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		struct timespec ts = { 0, 50000000 };

		follow();
		nanosleep(&ts, NULL);
	}
}

static int change(const char *what, const struct apqn *set, size_t n, enum mk_type t, const char *opt,
		  const char *apqns, const char *store)
{
	struct apsim_key k;
	struct run_result r;
	char hex[MKVP_STR_MAX], msg[512], out[256], *id;

	printf("\n== %s master key change on %s ==\n", what, apqns);
	apsim_random_key(t, &k);
	hex_of(t, &k, hex);
	stamp("administrator");
	printf("$ mkagent plan -a %s %s %s\n", apqns, opt, hex);
	run_mkagent(&r, "plan", "-a", apqns, opt, hex, NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	for (char *l = strtok(r.out, "\n"); l; l = strtok(NULL, "\n"))
		printf("%30s%s\n", "", l);
	run_result_free(&r);
	if (!id)
		return 1;
	pause_ms(1200);
	for (size_t i = 0; i < n; i++) {
		char name[APQN_STR_MAX];

		snprintf(msg, sizeof(msg), "loads the new %s key (pattern %s) into NEW of %s", what, hex,
			 apqn_format(set[i], name));
		say("officer (TKE)", msg);
		apsim_load(sim, set[i], t, &k);
		if (i + 1 < n)
			pause_ms(1500);
	}
	if (!wait_state(id, "reenciphered", 15000, follow))
		return 1;
	follow();
	verify_store(store, set[0], out, sizeof(out));
	snprintf(msg, sizeof(msg), "simkeys: %s", out);
	say("consumer", msg);
	pause_ms(1000);
	for (size_t i = 0; i < n; i++) {
		char name[APQN_STR_MAX];

		snprintf(msg, sizeof(msg), "activates the new key on %s", apqn_format(set[i], name));
		say("officer (TKE)", msg);
		apsim_activate(sim, set[i], t);
		if (i + 1 < n)
			pause_ms(1500);
	}
	if (!wait_state(id, "finalized", 15000, follow))
		return 1;
	follow();
	for (size_t i = 0; i < n; i++) {
		char name[APQN_STR_MAX];
		int bad = verify_store(store, set[i], out, sizeof(out));

		snprintf(msg, sizeof(msg), "simkeys on %s: %s", apqn_format(set[i], name), out);
		say("consumer", msg);
		if (bad)
			return 1;
	}
	free(id);
	return 0;
}

int main(int argc, char **argv)
{
	char conf[4096];
	int rc = 0;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	fixture_setup(argv);
	printf("mkagent demo: a simulated AP bus (umockdev + apsim) with three CCA (CEX7C) and\n"
	       "two EP11 (CEX8P) APQNs in domain 0x33, a consumer (simkeys) holding 50 CCA AES\n"
	       "and 50 CCA APKA secure keys on the CCA APQNs and 100 EP11 keys on the EP11\n"
	       "ones, and mkagent daemon watching. After 'plan' nobody types.\n\n");
	snprintf(conf, sizeof(conf), "%s/demo.conf", tmp);
	write_text(conf, 0644, "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n", tmp);
	setenv("MKAGENT_CONFIG", conf, 1);
	snprintf(log_path, sizeof(log_path), "%s/agent.log", tmp);
	agent = agent_start(NULL, log_path, false, 0);
	say("system", "mkagent daemon started (poll-interval 1 s for the demo; 30 s by default)");
	pause_ms(500);
	rc |= change("CCA AES", CCA, 3, MK_CCA_AES, "-A", "08.0033,09.0033,0b.0033", cca_store);
	rc |= change("EP11", EP11, 2, MK_EP11, "-e", "0a.0033,0c.0033", ep11_store);
	agent_stop(agent, SIGTERM);
	follow();
	printf("\n%s\n", rc ? "The demo FAILED." :
			      "Done: the CCA AES master key changed on 08.0033, 09.0033 and 0B.0033, the EP11\n"
			      "wrapping key on 0A.0033 and 0C.0033. On each of them every simkeys key unwrapped\n"
			      "to its clear value under the CUR master key: the CCA AES and EP11 keys under the\n"
			      "new ones, the CCA APKA keys under the APKA master key, which did not change.");
	apsim_free(sim);
	if (remove_tree(tmp) < 0)
		rc = 1;
	return rc;
}
