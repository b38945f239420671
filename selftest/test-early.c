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
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char started[4096], go[4096], recovered[4096], notify_log[4096], daemon_log[4096];
static char errfile[4096], succeed[4096], fail_recover[4096], recover_hold[4096], recovering[4096];

/*
 * A consumer whose reencipher waits for the test's word, then fails as
 * zkey does on an empty NEW register (or succeeds at once while the file
 * @succeed is there); its recover phase leaves a mark, or fails while
 * @fail_recover is there, or waits for the test while @recover_hold is
 * there. Every wait ends by itself after 60 s.
 */
static void slow_profile(void)
{
	char script[4096];

	snprintf(script, sizeof(script), "%s/slow", tmp);
	write_text(script, 0755,
		   "#!/bin/sh\n"
		   "wait_for() { i=0; while [ ! -e \"$1\" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; }\n"
		   "case \"$1\" in\n"
		   "reencipher)\n"
		   "\t[ -e %s ] && exit 0\n"
		   "\ttouch %s\n"
		   "\twait_for %s\n"
		   "\techo 'the new master key register is empty' >&2\n"
		   "\texit 1 ;;\n"
		   "recover)\n"
		   "\techo $PPID > %s\n"
		   "\t[ -e %s ] && { echo 'no OLD register to recover from' >&2; exit 1; }\n"
		   "\t[ -e %s ] && wait_for %s.go\n"
		   "\techo \"$MKAGENT_OP_ID\" >> %s ;;\n"
		   "esac\n"
		   "exit 0\n",
		   succeed, started, go, recovering, fail_recover, recover_hold, recover_hold, recovered);
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

/* With auto-recover (or not), a planned change of 08.0033 and 09.0033 to
 * a new AES key for the slow consumer, the key loaded into both. */
static char *loaded_op(bool auto_recover)
{
	char hex[MKVP_STR_MAX];
	struct run_result r;
	struct apsim_key k;
	char *id;

	config(auto_recover);
	apsim_random_key(MK_CCA_AES, &k);
	hex_of(MK_CCA_AES, &k, hex);
	mk(&r, "plan", "-a", "08.0033,09.0033", "-A", hex, "--profiles", "slow", NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan failed: %s", r.err);
	run_result_free(&r);
	unlink(started);
	unlink(go);
	unlink(recovered);
	unlink(recovering);
	load_all(CCA, 2, MK_CCA_AES, &k);
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

/* Lines of @id in the audit log that have @text. */
static int audit_count(const char *id, const char *text)
{
	char path[4096], *log;
	int n = 0;

	snprintf(path, sizeof(path), "%s/audit.log", state);
	log = read_text(path);
	for (char *p = log; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
		size_t len = strcspn(p, "\n");
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		n += strstr(line, id) && strstr(line, text);
	}
	free(log);
	return n;
}

static void audit_has(const char *id, const char *line, const char *what)
{
	char path[4096], want[512];

	snprintf(path, sizeof(path), "%s/audit.log", state);
	snprintf(want, sizeof(want), "%s %s\n", id, line);
	ok(wait_file_has(path, want, 0), "%s", what);
}

static void by_the_agent(void)
{
	char line[64];
	pid_t agent;
	char *id;

	id = loaded_op(true);
	agent = agent_start(NULL, daemon_log, true, 300);
	activate_meanwhile(1);
	ok(wait_state(id, "error", 15000, NULL), "agent: activated while a consumer re-enciphers: error");
	ok(!strncmp(op_field(id, "reason"), "activated-early", 15),
	   "  activated-early from the first time it reads error: %s", op_field(id, "reason"));
	ok(wait_file_has(recovered, id, 10000), "  the recover phase ran");
	{
		bool recovered_all = wait_reason(id, "activated-early, recovered: slow, not recovered: none", 5000);

		ok(recovered_all, "  reason activated-early, and which consumers recovered: %s",
		   op_field(id, "reason"));
	}
	is_int(audit_count(id, " reenciphering error "), 1, "  one transition into error");
	audit_has(id, "reenciphering error activated-early: profile slow reencipher failed: the new master key register is empty",
		  "  one audit line: an early activation, with the consumer's failure");
	snprintf(line, sizeof(line), "activated-early %s\n", id);
	ok(wait_file_has(notify_log, line, 3000), "  notified activated-early");
	snprintf(line, sizeof(line), "error %s\n", id);
	ok(!wait_file_has(notify_log, line, 0), "  and not error: the reason is decided before the one write");
	ok(wait_file_has(daemon_log, "APQN 08.0033 has a new master key active before every consumer re-enciphered", 0),
	   "  the agent's log names the APQN");
	agent_stop(agent, SIGTERM);
	activate_all(&CCA[1], 1, MK_CCA_AES);
	close_op(id);
	free(id);
}

/* `mkagent A B C D E` (NULL ends them) by a person, in a child: its
 * stderr in @errfile. */
static pid_t person(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct run_result r;

		mk(&r, a, b, c, d, e, NULL);
		write_text(errfile, 0600, "%s", r.err);
		_exit(r.status);
	}
	return pid;
}

static pid_t person_reencipher(const char *id)
{
	return person("reencipher", "-i", id, NULL, NULL);
}

static int exit_of(pid_t pid)
{
	int status = -1;

	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether @id's file says @profile's @phase is @status. */
static bool phase_is(const char *id, const char *phase, const char *status)
{
	char path[4096], want[128], *text;
	bool found;

	snprintf(path, sizeof(path), "%s/ops/%s.ini", state, id);
	text = read_text(path);
	snprintf(want, sizeof(want), "[profile slow]\n");
	found = text && strstr(text, want);
	snprintf(want, sizeof(want), "\n%s = %s\n", phase, status);
	found = found && strstr(strstr(text, "[profile slow]\n"), want);
	free(text);
	return found;
}

static void by_a_person(bool auto_recover)
{
	const char *what = auto_recover ? "person" : "person, auto-recover = no";
	char *text;
	int status = -1;
	pid_t pid;
	char *id;

	id = loaded_op(auto_recover);
	pid = person_reencipher(id);
	activate_meanwhile(2);
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1, "%s: activated while re-enciphering: exit 1", what);
	text = read_text(errfile);
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

/* `helper slow reencipher` by hand on a planned operation, the key
 * activated meanwhile: as reencipher -i, recovered at once. */
static void helper_by_hand(void)
{
	char *text;
	pid_t pid;
	char *id;

	id = loaded_op(true);
	pid = person("helper", "slow", "reencipher", "-i", id);
	activate_meanwhile(2);
	is_int(exit_of(pid), 1, "helper by hand, activated meanwhile: exit 1");
	text = read_text(errfile);
	ok(text && strstr(text, "APQN 08.0033 has a new master key active before every consumer re-enciphered") &&
		   strstr(text, "it is in error: activated-early, recovered: slow, not recovered: none"),
	   "  one line: the APQN, and the recover that ran");
	free(text);
	is_string(op_field(id, "reason"), "activated-early, recovered: slow, not recovered: none",
		  "  the reason says which consumers recovered");
	close_op(id);
	free(id);
}

/* ...but once the operation is reenciphered, a helper failing by hand is
 * no early activation, whatever the registers say. */
static void helper_after_reenciphered(void)
{
	char line[64];
	struct run_result r;
	pid_t pid;
	char *id;

	id = loaded_op(true);
	write_text(succeed, 0644, "yes\n");
	mk(&r, "reencipher", "-i", id, NULL);
	run_result_free(&r);
	unlink(succeed);
	if (!streq(op_field(id, "state"), "reenciphered"))
		bail_out("operation %s is %s, not reenciphered", id, op_field(id, "state"));
	pid = person("helper", "slow", "reencipher", "-i", id);
	activate_meanwhile(2);
	is_int(exit_of(pid), 1, "reenciphered, a helper by hand fails as the key goes active: exit 1");
	is_string(op_field(id, "reason"), "profile slow reencipher failed: the new master key register is empty",
		  "  its own reason, not activated-early");
	snprintf(line, sizeof(line), "activated-early %s\n", id);
	ok(!wait_file_has(notify_log, line, 0), "  and no activated-early notification");
	ok(access(recovered, F_OK) != 0, "  no recover phase ran");
	close_op(id);
	free(id);
}

/* A person's Ctrl-C while the recover phase runs: the helper is waited
 * for, the recover phase stays pending, and the line says what is left. */
static void recover_interrupted(void)
{
	char *text, *pid_text;
	struct run_result r;
	pid_t pid, cmd;
	char *id;

	id = loaded_op(true);
	write_text(recover_hold, 0644, "hold\n");
	pid = person_reencipher(id);
	activate_meanwhile(2);
	for (int waited = 0; waited < AGENT_WAIT_MS && access(recovering, F_OK) != 0; waited += 50)
		sleep_ms(50);
	pid_text = read_text(recovering);
	cmd = pid_text ? (pid_t)atoi(pid_text) : 0;
	free(pid_text);
	if (cmd <= 1)
		bail_out("the recover helper did not say who runs it");
	kill(cmd, SIGINT);
	is_int(exit_of(pid), 1, "Ctrl-C during the recover phase: exit 1");
	text = read_text(errfile);
	ok(text && strstr(text, "it is in error: activated-early, and profile slow recover interrupted by SIGINT") &&
		   strstr(text, "run the rest with 'mkagent helper PROFILE recover -i"),
	   "  one line: interrupted, and how to finish");
	is_int(said(text), 1, "  and it is the one line said");
	free(text);
	is_string(op_field(id, "reason"), "activated-early", "  the reason is activated-early");
	ok(phase_is(id, "recover", "pending"), "  its recover phase is pending");
	unlink(recover_hold);
	mk(&r, "helper", "slow", "recover", "-i", id, NULL);
	is_int(r.status, 0, "  a person finishes it with helper ... recover");
	run_result_free(&r);
	ok(wait_file_has(recovered, id, 0) && phase_is(id, "recover", "done"), "  and the phase is done");
	close_op(id);
	free(id);
}

/* A recover that fails: one reason at the end, never a transient one. */
static void recover_fails(void)
{
	char line[64];
	pid_t pid;
	char *id;

	id = loaded_op(true);
	write_text(fail_recover, 0644, "fail\n");
	pid = person_reencipher(id);
	activate_meanwhile(2);
	is_int(exit_of(pid), 1, "a recover that fails: exit 1");
	unlink(fail_recover);
	is_string(op_field(id, "reason"), "activated-early, recovered: none, not recovered: slow",
		  "  the reason says which consumer did not recover");
	is_int(audit_count(id, "error error profile slow recover failed: no OLD register to recover from"), 1,
	       "  the audit log keeps the helper's words");
	snprintf(line, sizeof(line), "error %s\n", id);
	ok(!wait_file_has(notify_log, line, 0), "  no error notification beside activated-early");
	close_op(id);
	free(id);
}

/* A consumer that fails while nothing was activated keeps its own reason. */
static void plain_failure(void)
{
	char *text;
	int status = -1;
	struct run_result r;
	pid_t pid;
	char *id;

	id = loaded_op(true);
	pid = person_reencipher(id);
	if (!wait_file(started, 30000))
		bail_out("the reencipher helper never started");
	write_text(go, 0644, "go\n");
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1, "no activation, a consumer fails: exit 1");
	is_string(op_field(id, "reason"), "profile slow reencipher failed: the new master key register is empty",
		  "  the reason is the consumer's failure");
	text = read_text(errfile);
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
	snprintf(errfile, sizeof(errfile), "%s/step.err", tmp);
	snprintf(succeed, sizeof(succeed), "%s/succeed", tmp);
	snprintf(fail_recover, sizeof(fail_recover), "%s/recover-fails", tmp);
	snprintf(recover_hold, sizeof(recover_hold), "%s/recover-hold", tmp);
	snprintf(recovering, sizeof(recovering), "%s/recovering", tmp);
	snprintf(notify_log, sizeof(notify_log), "%s/notify.log", tmp);
	snprintf(daemon_log, sizeof(daemon_log), "%s/daemon.log", tmp);
	slow_profile();

	plain_failure();
	by_the_agent();
	by_a_person(true);
	by_a_person(false);
	helper_by_hand();
	helper_after_reenciphered();
	recover_interrupted();
	recover_fails();
	apsim_free(sim);
	return done_testing();
}
