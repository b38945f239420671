// SPDX-License-Identifier: MIT
/*
 * The person's commands refused, each with its message, exit code and the
 * state directory left byte for byte as it was: overlapping plans, bad
 * APQN lists, patterns and IDs, a missing APQN, group-writable files; the
 * warnings plan gives while it still plans; reencipher -a checking again
 * once it holds the creation lock; two plans racing for the same APQN. The
 * whole change by hand and its helpers are test-ops.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

/* reencipher -a checks I1 again once it holds the operation: registers
 * judged before it waited for the creation lock may be old by then. */
static void reencipher_a_rechecks(void)
{
	struct apsim_key wk;
	char E[MKVP_STR_MAX], ops[4200], out[1024], *id;
	struct run_result r;
	int fd, pipefd[2];
	pid_t pid;

	apsim_random_key(MK_EP11, &wk);
	hex_of(MK_EP11, &wk, E);
	load_all(EP11, 2, MK_EP11, &wk);
	snprintf(ops, sizeof(ops), "%s/ops", state);
	fd = open(ops, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0 || pipe(pipefd) < 0)
		bail_out("cannot take the creation lock of %s", ops);
	pid = fork();
	if (pid == 0) {
		close(fd);
		mk(&r, "reencipher", "-a", "0a.0033,0c.0033", "-e", E, NULL);
		if (write(pipefd[1], r.out, strlen(r.out)) < 0 ||
		    write(pipefd[1], r.err, strlen(r.err)) < 0)
			_exit(99);
		_exit(r.status);
	}
	close(pipefd[1]);
	/* it has read the registers and waits for the lock */
	for (int waited = 0; waited <= AGENT_WAIT_MS && !lock_waited(ops); waited += 10)
		sleep_ms(10);
	ok(lock_waited(ops), "reencipher -a waits for the creation lock");
	apsim_clear_new(sim, EP11[1], MK_EP11);
	close(fd);
	{
		int status = -1;
		size_t len = 0;
		ssize_t n;

		/* the child writes its stdout and stderr apart: read to EOF */
		while (len < sizeof(out) - 1 &&
		       (n = read(pipefd[0], out + len, sizeof(out) - 1 - len)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			len += (size_t)n;
		}
		out[len] = '\0';
		close(pipefd[0]);
		waitpid(pid, &status, 0);
		is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1,
		       "reencipher -a: a NEW register cleared while it waited for the creation lock: refused");
		ok(strstr(out, "APQN 0C.0033: ep11 NEW is empty") != NULL, "  naming the APQN (%s)", out);
	}
	id = created_id(out) ? strdup(created_id(out)) : NULL;
	if (!id)
		bail_out("no operation ID in: %s", out);
	is_int(verify_store(ep11_store, EP11[0], out, sizeof(out)), 0, "  the EP11 keys still work");
	is_string(out, "100 of 100 keys verified under the current master key, 0 staged",
		  "  and none was re-enciphered");
	mk(&r, "cancel", "-i", id, NULL);
	is_int(r.status, 0, "  the planned operation it left is canceled");
	run_result_free(&r);
	apsim_clear_new(sim, EP11[0], MK_EP11);
	free(id);
}

static void refusals(void)
{
	struct apsim_key ka, ks;
	char A[MKVP_STR_MAX], S[MKVP_STR_MAX], msg[4096], *id;
	struct run_result r;

	apsim_random_key(MK_CCA_AES, &ka);
	hex_of(MK_CCA_AES, &ka, A);
	apsim_random_key(MK_CCA_ASYM, &ks);
	hex_of(MK_CCA_ASYM, &ks, S);
	mk(&r, "plan", "-a", "08.0033,09.0033", "-A", A, NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	run_result_free(&r);
	if (!id)
		bail_out("no operation ID");

	refused(1, "APQN 09.0033 cca-aes is already part of operation", "a plan overlapping a live operation",
		"plan", "-a", "0b.0033,09.0033", "-A", A, NULL);
	refused(2, "plan: -a/--apqns: APQN 08.0033 is listed twice", "a bad APQN list", "plan", "-a",
		"08.0033,8.33", "-A", A, NULL);
	refused(2, "plan: -a/--apqns: APQN '08.0100': domain 0x100 is above 0xff", "an APQN out of range",
		"plan", "-a", "08.0100", "-A", A, NULL);
	refused(2, "plan: -A/--cca-aes-mkvp: pattern 'XYZ' for cca-aes: 'X' is not a hex digit",
		"a bad pattern", "plan", "-a", "0b.0033", "-A", "XYZ", NULL);
	refused(2, "must be 16 bytes (32 hex digits), not 16 digits", "an EP11 pattern of CCA length",
		"plan", "-a", "0a.0033", "-e", A, NULL);
	refused(2, "plan: give at least one pattern", "no pattern", "plan", "-a", "0b.0033", NULL);
	refused(2, "plan: -A/--cca-aes-mkvp is given twice", "a pattern given twice", "plan", "-a",
		"0b.0033", "-A", A, "-A", A, NULL);
	refused(1, "plan: APQN 0F.0033 is not on the AP bus", "an APQN that does not exist", "plan",
		"-a", "0f.0033", "-S", S, NULL);
	refused(1, "plan: APQN 0A.0033 is an EP11 queue: cca-asym needs CCA (CEXnC) queues",
		"a CCA pattern for an EP11 queue", "plan", "-a", "0a.0033", "-S", S, NULL);
	refused(1, "plan: profile nope does not exist", "an unknown profile", "plan", "-a", "0b.0033",
		"-S", S, "--profiles", "nope", NULL);
	refused(1, "finalize: operation ZZZ999 does not exist", "an unknown ID", "finalize", "-i",
		"ZZZ999", NULL);
	refused(2, "cancel: -i/--id: 'abc' is not an operation ID", "a malformed ID", "cancel", "-i",
		"abc", NULL);
	refused(2, "finalize: -i/--id is required", "finalize without -i", "finalize", NULL);
	refused(1, "is planned; finalize needs it reenciphered", "finalize of a planned operation",
		"finalize", "-i", id, NULL);

	apsim_remove_queue(sim, CCA[1]);
	refused(1, "APQN 09.0033 is not on the AP bus", "reencipher with an APQN missing", "reencipher",
		"-i", id, NULL);
	apsim_add_queue(sim, CCA[1]);

	chmod(state, 0775);
	snprintf(msg, sizeof(msg), "list: %s is writable by group or others", state);
	refused(1, msg, "a group-writable state directory", "list", NULL);
	chmod(state, 0755);

	load_all(CCA, 2, MK_CCA_AES, &ka);
	chmod(simkeys, 0775);
	snprintf(msg, sizeof(msg), "helper %s is writable by group or others", simkeys);
	refused(1, msg, "a group-writable helper", "reencipher", "-i", id, NULL);
	chmod(simkeys, 0755);

	mk(&r, "cancel", "-i", id, NULL);
	is_int(r.status, 0, "a planned operation cancels without running any helper");
	run_result_free(&r);
	for (size_t i = 0; i < 2; i++)
		apsim_clear_new(sim, CCA[i], MK_CCA_AES);
	free(id);
}

/* What plan warns of, on stderr, while it still plans: an APQN offline, a
 * state file it cannot read for the overlap check. */
static void plan_warnings(void)
{
	struct apsim_key ka;
	char A[MKVP_STR_MAX], bad[4200], *id;
	struct run_result r;

	apsim_random_key(MK_CCA_AES, &ka);
	hex_of(MK_CCA_AES, &ka, A);
	apsim_set_online(sim, CCA[1], false);
	snprintf(bad, sizeof(bad), "%s/ops/ZZZZZZ.ini", state);
	write_text(bad, 0644, "[operation]\nthis is not an operation\n");
	mk(&r, "plan", "-a", "08.0033,09.0033", "-A", A, NULL);
	is_int(r.status, 0, "plan with an APQN offline and a state file unreadable: planned");
	ok(strstr(r.err, "warning: APQN 09.0033 is offline: the agent waits for it\n") != NULL,
	   "  warning that the agent waits for the APQN");
	ok(strstr(r.err, "warning: plan: ") && strstr(r.err, "ZZZZZZ.ini") &&
		   strstr(r.err, "(not checked for overlap)\n"),
	   "  and that the file was not checked for overlap");
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	run_result_free(&r);
	unlink(bad);
	apsim_set_online(sim, CCA[1], true);
	if (!id)
		bail_out("no operation ID");
	mk(&r, "cancel", "-i", id, NULL);
	is_int(r.status, 0, "  the operation cancels");
	run_result_free(&r);
	free(id);
}

/* Two plans racing for the same (APQN, MK type): exactly one wins. */
static void plan_race(void)
{
	struct apsim_key k;
	char S[MKVP_STR_MAX];
	int wins = 0, rounds = 5, exact = 0;

	for (int round = 0; round < rounds; round++) {
		pid_t pid[2];
		int status[2], ok0 = 0;

		apsim_random_key(MK_CCA_ASYM, &k);
		hex_of(MK_CCA_ASYM, &k, S);
		for (int i = 0; i < 2; i++) {
			pid[i] = fork();
			if (pid[i] == 0) {
				int null = open("/dev/null", O_WRONLY);

				dup2(null, 1);
				dup2(null, 2);
				execl(build_path("agent/mkagent"), "mkagent", "plan", "-a",
				      i ? "09.0033" : "09.0033,0b.0033", "-S", S, NULL);
				_exit(127);
			}
		}
		for (int i = 0; i < 2; i++) {
			waitpid(pid[i], &status[i], 0);
			ok0 += WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0;
		}
		exact += ok0 == 1;
		wins += ok0;
		/* clear the field for the next round */
		{
			struct run_result r;
			json_object *o, *ops;

			mk(&r, "list", "--json", NULL);
			o = json_tokener_parse(r.out);
			if (o && json_object_object_get_ex(o, "operations", &ops)) {
				for (size_t i = 0; i < json_object_array_length(ops); i++) {
					json_object *op = json_object_array_get_idx(ops, i), *v;
					struct run_result c;

					json_object_object_get_ex(op, "state", &v);
					if (!streq(json_object_get_string(v), "planned"))
						continue;
					json_object_object_get_ex(op, "id", &v);
					mk(&c, "cancel", "-i", json_object_get_string(v), NULL);
					run_result_free(&c);
				}
			}
			json_object_put(o);
			run_result_free(&r);
		}
	}
	is_int(exact, rounds, "two racing plans for 09.0033 cca-asym: exactly one wins, every round");
}

int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	refusals();
	plan_warnings();
	reencipher_a_rechecks();
	plan_race();
	apsim_free(sim);
	remove_tree(tmp);
	return done_testing();
}
