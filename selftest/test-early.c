// SPDX-License-Identifier: MIT
/*
 * I5 while the consumers re-encipher: the officer activates the new key
 * while a consumer's reencipher helper runs, the helper fails on the NEW
 * register it lost, and the step reads the registers to say why: the
 * operation is in error with reason activated-early, and with
 * auto-recover the recover phases run at once. For the agent's worker and
 * for a person's `reencipher -i` alike; a failure with no activation stays
 * the consumer's failure.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char started[4096], go[4096], recovered[4096], notify_log[4096], daemon_log[4096];

/* A consumer whose reencipher waits for the test's word, then fails as
 * zkey does on an empty NEW register; its recover phase leaves a mark. */
static void slow_profile(void)
{
	char script[4096];

	snprintf(script, sizeof(script), "%s/slow", tmp);
	write_text(script, 0755,
		   "#!/bin/sh\n"
		   "case \"$1\" in\n"
		   "reencipher)\n"
		   "\ttouch %s\n"
		   "\twhile [ ! -e %s ]; do sleep 0.05; done\n"
		   "\techo 'the new master key register is empty' >&2\n"
		   "\texit 1 ;;\n"
		   "recover) echo \"$MKAGENT_OP_ID\" >> %s ;;\n"
		   "esac\n"
		   "exit 0\n",
		   started, go, recovered);
	write_profile("slow", "cca-aes", false, script, NULL);
}

static void config(bool auto_recover)
{
	char notify[4096];

	snprintf(notify, sizeof(notify), "%s/notify", tmp);
	write_text(notify, 0700, "#!/bin/sh\necho \"$1 $2\" >> %s\n", notify_log);
	use_config("early.conf",
		   "[agent]\npoll-interval = 1\nauto-recover = %s\n[pin]\nhelper = %s/pin-helper\n"
		   "[notify]\nhelper = %s\n",
		   auto_recover ? "yes" : "no", tmp, notify);
}

static char *plan_slow(struct apsim_key *k)
{
	char hex[MKVP_STR_MAX];
	struct run_result r;
	char *id;

	apsim_random_key(MK_CCA_AES, k);
	hex_of(MK_CCA_AES, k, hex);
	mk(&r, "plan", "-a", "08.0033,09.0033", "-A", hex, "--profiles", "slow", NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan failed: %s", r.err);
	run_result_free(&r);
	unlink(started);
	unlink(go);
	unlink(recovered);
	return id;
}

static bool wait_file(const char *path, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		if (access(path, F_OK) == 0)
			return true;
		sleep_ms(50);
	}
	diag("%s did not appear in %d ms", path, ms);
	return false;
}

/* Whether @path (a log) has @text, waiting up to @ms for it. */
static bool has(const char *path, const char *text, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		char *log = read_text(path);
		bool found = log && strstr(log, text);

		free(log);
		if (found)
			return true;
		sleep_ms(50);
	}
	return false;
}

/* While the consumer re-enciphers, the officer activates on @activate of
 * the two APQNs; then the consumer fails. */
static void activate_meanwhile(size_t activate)
{
	if (!wait_file(started, 30000))
		bail_out("the reencipher helper never started");
	activate_all(CCA, activate, MK_CCA_AES);
	write_text(go, 0644, "go\n");
}

/* Wait up to @ms for @id's reason to be @want. */
static bool wait_reason(const char *id, const char *want, int ms)
{
	for (int waited = 0; waited <= ms && !streq(op_field(id, "reason"), want); waited += 50)
		sleep_ms(50);
	return streq(op_field(id, "reason"), want);
}

/* An operation left in error keeps its APQNs from the next one: closed. */
static void close_op(const char *id)
{
	struct run_result r;

	mk(&r, "cancel", "--force", "-i", id, NULL);
	if (r.status != 0)
		bail_out("cannot close %s: %s", id, r.err);
	run_result_free(&r);
}

/* The lines of @err mkagent printed at its default verbosity. */
static int said(const char *err)
{
	int n = 0;

	for (const char *p = err; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		n += strncmp(p, "mkagent: debug: ", 16) != 0 && strncmp(p, "mkagent: operation ", 19) != 0;
	return n;
}

static void audit_has(const char *id, const char *line, const char *what)
{
	char path[4096], want[512];

	snprintf(path, sizeof(path), "%s/audit.log", state);
	snprintf(want, sizeof(want), "%s %s\n", id, line);
	ok(has(path, want, 0), "%s", what);
}

static void by_the_agent(void)
{
	char line[64];
	struct apsim_key k;
	pid_t agent;
	char *id;

	config(true);
	id = plan_slow(&k);
	agent = agent_start(NULL, daemon_log, true, 300);
	load_all(CCA, 2, MK_CCA_AES, &k);
	activate_meanwhile(1);
	ok(wait_state(id, "error", 15000, NULL), "agent: activated while a consumer re-enciphers: error");
	ok(!strncmp(op_field(id, "reason"), "activated-early", 15),
	   "  activated-early from the first time it reads error: %s", op_field(id, "reason"));
	ok(has(recovered, id, 10000), "  the recover phase ran");
	ok(wait_reason(id, "activated-early, recovered: slow, not recovered: none", 5000),
	   "  reason activated-early, and which consumers recovered: %s", op_field(id, "reason"));
	audit_has(id, "reenciphering error activated-early: profile slow reencipher failed: the new master key register is empty",
		  "  one audit line: an early activation, with the consumer's failure");
	snprintf(line, sizeof(line), "activated-early %s\n", id);
	ok(has(notify_log, line, 3000), "  notified activated-early");
	snprintf(line, sizeof(line), "error %s\n", id);
	ok(!has(notify_log, line, 0), "  and not error: the reason is decided before the one write");
	ok(has(daemon_log, "APQN 08.0033 has a new master key active before every consumer re-enciphered", 0),
	   "  the agent's log names the APQN");
	agent_stop(agent, SIGTERM);
	activate_all(&CCA[1], 1, MK_CCA_AES);
	close_op(id);
	free(id);
}

/* `reencipher -i ID` by a person, in a child: its stderr in @err. */
static pid_t person_reencipher(const char *id, const char *err)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct run_result r;

		mk(&r, "reencipher", "-i", id, NULL);
		write_text(err, 0600, "%s", r.err);
		_exit(r.status);
	}
	return pid;
}

static void by_a_person(bool auto_recover)
{
	const char *what = auto_recover ? "person" : "person, auto-recover = no";
	char err[4096], *text;
	struct apsim_key k;
	int status = -1;
	pid_t pid;
	char *id;

	config(auto_recover);
	id = plan_slow(&k);
	load_all(CCA, 2, MK_CCA_AES, &k);
	snprintf(err, sizeof(err), "%s/reencipher.err", tmp);
	pid = person_reencipher(id, err);
	activate_meanwhile(2);
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1, "%s: activated while re-enciphering: exit 1", what);
	text = read_text(err);
	ok(text && strstr(text, "APQN 08.0033 has a new master key active before every consumer re-enciphered (profile slow reencipher failed: the new master key register is empty)"),
	   "  one line names the APQN and the consumer's failure");
	is_int(said(text), 1, "  and it is the one line said");
	free(text);
	is_string(op_field(id, "state"), "error", "  the operation is in error");
	if (auto_recover) {
		is_string(op_field(id, "reason"), "activated-early, recovered: slow, not recovered: none",
			  "  and the recover phase ran before the command returned");
		text = read_text(recovered);
		is_int(text ? count_lines(text) : 0, 1, "  the helper's recover phase ran once");
		free(text);
	} else {
		is_string(op_field(id, "reason"), "activated-early", "  reason activated-early");
		ok(access(recovered, F_OK) != 0, "  and no recover phase ran");
	}
	close_op(id);
	free(id);
}

/* A consumer that fails while nothing was activated keeps its own reason. */
static void plain_failure(void)
{
	char err[4096], *text;
	struct apsim_key k;
	int status = -1;
	struct run_result r;
	pid_t pid;
	char *id;

	config(true);
	id = plan_slow(&k);
	load_all(CCA, 2, MK_CCA_AES, &k);
	snprintf(err, sizeof(err), "%s/reencipher.err", tmp);
	pid = person_reencipher(id, err);
	if (!wait_file(started, 30000))
		bail_out("the reencipher helper never started");
	write_text(go, 0644, "go\n");
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1, "no activation, a consumer fails: exit 1");
	is_string(op_field(id, "reason"), "profile slow reencipher failed: the new master key register is empty",
		  "  the reason is the consumer's failure");
	text = read_text(err);
	ok(text && !strstr(text, "activated"), "  nothing is said of an activation: %s", text ? text : "");
	free(text);
	ok(access(recovered, F_OK) != 0, "  and no recover phase ran");
	mk(&r, "cancel", "-i", id, NULL);
	is_int(r.status, 0, "  it can still be canceled");
	run_result_free(&r);
	free(id);
}

int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	snprintf(started, sizeof(started), "%s/started", tmp);
	snprintf(go, sizeof(go), "%s/go", tmp);
	snprintf(recovered, sizeof(recovered), "%s/recovered", tmp);
	snprintf(notify_log, sizeof(notify_log), "%s/notify.log", tmp);
	snprintf(daemon_log, sizeof(daemon_log), "%s/daemon.log", tmp);
	slow_profile();

	plain_failure();
	by_the_agent();
	by_a_person(true);
	by_a_person(false);
	apsim_free(sim);
	return done_testing();
}
