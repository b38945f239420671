// SPDX-License-Identifier: MIT
/*
 * A randomized model check (seeded, reproducible): random sequences of
 * TKE actions (load, partial load, activate, clear, wrong key), APQNs going
 * offline and check-stopped, helpers failing or asking to wait (exit 75),
 * agent restarts (SIGKILL) and a person's commands, against the real agent
 * under apsim. The consumer's helper checks the invariants at the moment
 * every phase starts (I1 reencipher, I2 finalize, I3 cancel, I7 not a
 * phase the operation file says is done). After every step at most one
 * operation is live (I4: they would all share the APQNs), and a plan
 * beside a live one is refused; a wrong key loaded while an operation is
 * planned is warned of (I6). At the end every operation still exists (I8)
 * and none in planned or reenciphering has a new key active (I5).
 *
 *   test-model [SEQUENCES [STEPS [SEED]]]      (make check: 3 x 25)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char violations[4200], fail_flag[4200], later_flag[4200], agent_log[4200],
	notified[4200];
static pid_t agent;
static char *ids[256];
static int nids;
static bool online[2] = { true, true }, chkstop[2];
static int refused_plans, wrong_key_checks; /* how often I4 and I6 were put to the test */

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	FILE *f = fopen(violations, "a");
	va_list ap;

	if (!f)
		bail_out("cannot open %s", violations);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static void start(void)
{
	agent = agent_start(NULL, agent_log, true, 150);
}

static void stop(int sig)
{
	agent_stop(agent, sig);
}

static const char *const actions[] = {
	"plan",	      "load",	    "load partial", "load wrong", "activate",   "clear",
	"offline",    "online",	    "chkstop",	    "unchkstop",  "helper fails", "helper waits",
	"helper ok",  "restart",    "reencipher",   "finalize",   "cancel",	    "wait",
};

static bool live(const char *id)
{
	const char *st = op_field(id, "state");

	return !streq(st, "finalized") && !streq(st, "canceled");
}

/* The newest operation that is not over, or NULL. */
static const char *live_op(void)
{
	for (int i = nids - 1; i >= 0; i--)
		if (live(ids[i]))
			return ids[i];
	return NULL;
}

/* I4: every operation covers the same (APQN, MK type) pairs, so at most
 * one may be live. */
static void check_one_live(void)
{
	int n = 0;

	for (int i = 0; i < nids; i++)
		n += live(ids[i]);
	if (n > 1)
		violation("I4: %d operations live on the same APQNs", n);
}

/* The last event the agent notified for @id, "" when none. `planned` is
 * the plan command's own, and may come after the agent's first. */
static const char *last_event(const char *id, char *buf, size_t size)
{
	char *text = read_text(notified), *save = NULL;

	buf[0] = '\0';
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');

		if (sp && streq(sp + 1, id) && strncmp(l, "planned ", 8) != 0)
			snprintf(buf, size, "%.*s", (int)(sp - l), l);
	}
	free(text);
	return buf;
}

/* I6: a wrong key in NEW of a readable APQN while @id is planned: no
 * step, and the officer is warned, whatever the other APQN's state. */
static void check_wrong_key_warned(const char *id, int q)
{
	char ev[64];

	if (!id || !streq(op_field(id, "state"), "planned") || !online[q] || chkstop[q])
		return;
	sleep_ms(1300); /* a poll interval and some: time for a wrong step */
	/* and until the agent has read it and its notify worker has run */
	for (int waited = 0; waited < AGENT_WAIT_MS && streq(op_field(id, "state"), "planned") &&
			     !streq(last_event(id, ev, sizeof(ev)), "unexpected-new-mkvp");
	     waited += 50)
		sleep_ms(50);
	wrong_key_checks++;
	/* error: the other APQN has the new key active (I5 goes first) */
	if (streq(op_field(id, "state"), "error"))
		return;
	if (!streq(op_field(id, "state"), "planned"))
		violation("I6: %s went %s with a wrong key in NEW", id, op_field(id, "state"));
	else if (!streq(last_event(id, ev, sizeof(ev)), "unexpected-new-mkvp"))
		violation("I6: %s planned with a wrong key in NEW; last event '%s'", id, ev);
}

static void step(int a, struct apsim_key *k, struct apsim_key *wrong)
{
	int qi = rand() % 2;
	struct apqn q = EP11[qi];
	struct run_result r;
	const char *id = live_op();
	char hex[MKVP_STR_MAX];

	switch (a) {
	case 0: /* plan; refused while one is live (I4) */
		if (nids >= 256)
			return;
		if (!id)
			apsim_random_key(MK_EP11, k);
		hex_of(MK_EP11, id ? wrong : k, hex);
		mk(&r, "plan", "-a", "0a.0033,0c.0033", "-e", hex, "--profiles", "guarded", NULL);
		if (id && (r.status != 1 || created_id(r.out)))
			violation("I4: plan beside live %s: exit %d, %s", id, r.status, r.out);
		refused_plans += id != NULL;
		if (!id && created_id(r.out))
			ids[nids++] = strdup(created_id(r.out));
		run_result_free(&r);
		return;
	case 1:
		apsim_load(sim, q, MK_EP11, k);
		return;
	case 2:
		apsim_load_part(sim, q, MK_EP11, k);
		return;
	case 3:
		apsim_load(sim, q, MK_EP11, wrong);
		check_wrong_key_warned(id, qi);
		return;
	case 4:
		apsim_activate(sim, q, MK_EP11);
		return;
	case 5:
		apsim_clear_new(sim, q, MK_EP11);
		return;
	case 6:
	case 7:
		apsim_set_online(sim, q, a == 7);
		online[qi] = a == 7;
		return;
	case 8:
	case 9:
		apsim_set_chkstop(sim, q, a == 8);
		chkstop[qi] = a == 8;
		return;
	case 10:
		write_text(fail_flag, 0644, "1\n");
		return;
	case 11:
		write_text(later_flag, 0644, "1\n");
		return;
	case 12:
		unlink(fail_flag);
		unlink(later_flag);
		return;
	case 13:
		stop(SIGKILL);
		start();
		return;
	case 14:
	case 15:
	case 16:
		if (!id)
			return;
		mk(&r, actions[a], "-i", id, NULL);
		run_result_free(&r);
		return;
	default:
		sleep_ms(1000);
	}
}

/* I5: an operation still planned or re-enciphering with its new key
 * active on some APQN (the agent should have put it in error). */
static bool new_key_active(const char *id, bool say)
{
	const char *st = op_field(id, "state");
	struct mkvp want;

	if (!streq(st, "planned") && !streq(st, "reenciphering"))
		return false;
	if (mkvp_parse_cli(MK_EP11, op_field(id, "ep11"), &want, NULL) < 0)
		return false;
	for (int i = 0; i < 2; i++) {
		struct apsim_key cur;
		struct mkvp p;

		if (apsim_get_key(sim, EP11[i], MK_EP11, REG_CUR, &cur) == 0) {
			apsim_key_mkvp(MK_EP11, &cur, &p);
			if (mkvp_matches(&p, &want)) {
				if (say)
					diag("operation %s is %s with its new key active on APQN %d", id, st, i);
				return true;
			}
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	int sequences = argc > 1 ? atoi(argv[1]) : 3, steps = argc > 2 ? atoi(argv[2]) : 25;
	/* make check's seed: it plans beside a live operation and loads a wrong
	 * key while one is planned, and failed on the guard before I6's fix */
	unsigned int seed = argc > 3 ? (unsigned int)atoi(argv[3]) : 31337;
	char script[4200], exec[8400], notify[4200], *text;
	struct apsim_key k, wrong;
	int total = 0, lost = 0, early = 0;

	fixture_setup(argv);
	snprintf(violations, sizeof(violations), "%s/violations", tmp);
	snprintf(fail_flag, sizeof(fail_flag), "%s/helper-fails", tmp);
	snprintf(later_flag, sizeof(later_flag), "%s/helper-waits", tmp);
	snprintf(agent_log, sizeof(agent_log), "%s/agent.log", tmp);
	snprintf(notified, sizeof(notified), "%s/notified", tmp);
	snprintf(notify, sizeof(notify), "%s/notify", tmp);
	write_text(notify, 0755, "#!/bin/sh\necho \"$1 $2\" >> %s\n", notified);
	snprintf(script, sizeof(script), "%s/guarded", tmp);
	write_text(script, 0755,
		   "#!/bin/sh\n"
		   "grep -qx \"$1 = done\" %s/ops/$MKAGENT_OP_ID.ini &&\n"
		   "  echo \"$MKAGENT_OP_ID I7: $1 started again after it was done\" >> %s\n"
		   "%s --store %s --hsm %s check \"$1\" %s\n"
		   "[ -f %s ] && { echo 'told to fail' >&2; exit 1; }\n"
		   "[ -f %s ] && { echo 'told to wait' >&2; exit 75; }\n"
		   "exec %s --store %s --hsm %s \"$1\"\n",
		   state, violations, simkeys, ep11_store, apsim_hsm_dir(sim), violations, fail_flag,
		   later_flag, simkeys, ep11_store, apsim_hsm_dir(sim));
	snprintf(exec, sizeof(exec), "%s", script);
	write_profile("guarded", "ep11", false, exec, NULL);
	use_config("model.conf", "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n"
		   "[notify]\nhelper = %s\n", tmp, notify);
	srand(seed);
	diag("seed %u, %d sequences of %d steps", seed, sequences, steps);
	apsim_random_key(MK_EP11, &wrong);
	apsim_random_key(MK_EP11, &k);
	start();
	for (int s = 0; s < sequences; s++) {
		step(0, &k, &wrong);
		for (int i = 0; i < steps; i++, total++) {
			int a = rand() % (int)(sizeof(actions) / sizeof(actions[0]));

			step(a, &k, &wrong);
			sleep_ms(150);
			check_one_live();
		}
		/* the sequence ends: everything usable, the agent has its say */
		unlink(fail_flag);
		unlink(later_flag);
		for (int i = 0; i < 2; i++) {
			apsim_set_chkstop(sim, EP11[i], false);
			apsim_set_online(sim, EP11[i], true);
			online[i] = true;
			chkstop[i] = false;
		}
		sleep_ms(2500);
		{
			const char *id = live_op();
			struct run_result r;

			if (id) {
				/* the agent's poll, or its worker's step, may take a while */
				for (int waited = 0; waited < AGENT_WAIT_MS && new_key_active(id, false);
				     waited += 50)
					sleep_ms(50);
				early += new_key_active(id, true);
				mk(&r, "cancel", "-i", id, NULL);
				run_result_free(&r);
			}
		}
	}
	stop(SIGTERM);
	for (int i = 0; i < nids; i++) {
		const char *st = op_field(ids[i], "state");

		lost += !st[0];
	}
	text = read_text(violations);
	diag("%d sequences, %d steps, %d operations, %d plans beside a live one, %d wrong keys "
	     "while planned, %s",
	     sequences, total, nids, refused_plans, wrong_key_checks,
	     text && *text ? "violations:" : "0 violations");
	if (text && *text)
		diag("%s", text);
	ok(!text || !*text, "no violation of I1-I4, I6, I7 (%d steps)", total);
	is_int(lost, 0, "I8: every operation is still there, live or in history");
	is_int(early, 0, "I5: no operation stays planned or re-enciphering with a new key active");
	ok(nids >= sequences, "each sequence planned an operation (%d)", nids);
	free(text);
	apsim_free(sim);
	return done_testing();
}
