// SPDX-License-Identifier: MIT
/*
 * agentstage.c - the stage of the tests that run the agent as a child
 * process under umockdev (test-daemon, test-daemon-steps): on top of the
 * fixture, a notify helper that logs each event, a fast (poll-interval 1)
 * and a slow (3600) configuration, the agent's log, and ways to start and
 * stop the agent, wait for what it logs and notifies, plan an operation and
 * write a profile whose helper is a shell script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentstage.h"
#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

char conf_fast[4096], conf_slow[4096], notify_log[4096], daemon_log[4096];
pid_t agent;

void agentstage_setup(char **argv)
{
	char helper[4096];

	fixture_setup(argv);
	snprintf(notify_log, sizeof(notify_log), "%s/notify.log", tmp);
	snprintf(daemon_log, sizeof(daemon_log), "%s/daemon.log", tmp);
	snprintf(helper, sizeof(helper), "%s/notify", tmp);
	write_text(helper, 0700, "#!/bin/sh\necho \"$1 $2\" >> %s\n", notify_log);
	snprintf(conf_fast, sizeof(conf_fast), "%s/fast.conf", tmp);
	write_text(conf_fast, 0644, "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n[notify]\nhelper = %s\n", tmp, helper);
	snprintf(conf_slow, sizeof(conf_slow), "%s/slow.conf", tmp);
	write_text(conf_slow, 0644, "[agent]\npoll-interval = 3600\n[pin]\nhelper = %s/pin-helper\n[notify]\nhelper = %s\n", tmp, helper);
}

void start_agent(const char *conf)
{
	setenv("MKAGENT_CONFIG", conf, 1);
	agent = agent_start(NULL, daemon_log, true, 300);
}

void stop_agent(int sig)
{
	agent_stop(agent, sig);
	agent = 0;
	sleep_ms(100);
}

bool notified(const char *event, const char *id)
{
	char want[128];

	snprintf(want, sizeof(want), "%s %s\n", event, id);
	return wait_file_has(notify_log, want, AGENT_WAIT_MS);
}

bool wait_log(const char *text, int ms)
{
	return wait_file_has(daemon_log, text, ms);
}

char *plan_op(const char *apqns, const char *opt, const char *pattern, const char *only)
{
	struct run_result r;
	char *id;

	if (only)
		mk(&r, "plan", "-a", apqns, opt, pattern, "--profiles", only, NULL);
	else
		mk(&r, "plan", "-a", apqns, opt, pattern, NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan failed: %s", r.err);
	run_result_free(&r);
	return id;
}

void script_profile(const char *name, const char *types, const char *body, const char *extra)
{
	char script[4096];

	snprintf(script, sizeof(script), "%s/%s", tmp, name);
	write_text(script, 0755, "#!/bin/sh\n%s", body);
	write_profile(name, types, false, script, extra);
}
