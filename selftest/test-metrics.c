// SPDX-License-Identifier: MIT
/*
 * The fleet view: with [metrics] textfile set, the agent keeps a
 * node_exporter textfile of its operations and their registers, which
 * promtool accepts; the rules shipped in etc/ pass promtool too.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <json-c/json.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char prom[4300];

static bool has(const char *line)
{
	_cleanup_free_ char *text = read_text(prom);

	return text && strstr(text, line);
}

static bool wait_has(const char *line)
{
	for (int waited = 0; waited < AGENT_WAIT_MS; waited += 100, sleep_ms(100))
		if (has(line))
			return true;
	diag("%s has no '%s'", prom, line);
	return false;
}

static bool promtool(const char *what, const char *file, char *err, size_t size)
{
	char cmd[8800];
	struct run_result r;
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	bool good;

	snprintf(cmd, sizeof(cmd), "promtool check %s %s %s", what, streq(what, "metrics") ? "<" : "",
		 file);
	run_argv(&r, argv);
	good = r.status == 0;
	snprintf(err, size, "%s", r.err);
	run_result_free(&r);
	return good;
}

int main(int argc, char **argv)
{
	char hex[MKVP_STR_MAX], line[512], err[4096], *id;
	struct apsim_key k;
	struct run_result r;
	pid_t agent;

	(void)argc;
	fixture_setup(argv);
	if (access("/usr/bin/promtool", X_OK) != 0)
		bail_out("promtool is missing: make deps installs the prometheus package");
	snprintf(prom, sizeof(prom), "%s/mkagent.prom", tmp);
	use_config("metrics.conf", "[agent]\npoll-interval = 1\nauto-finalize = no\n[metrics]\ntextfile = %s\n",
		   prom);

	id = plan_ep11("simkeys-ep11", &k, hex);

	agent = agent_start(NULL, NULL, false, 300);
	snprintf(line, sizeof(line), "mkagent_operation_state{op=\"%s\",state=\"planned\"} 1\n", id);
	ok(wait_has(line), "the textfile shows the operation planned");
	snprintf(line, sizeof(line), "mkagent_ready_for_activation{op=\"%s\",mk_type=\"ep11\",mkvp=\"%s\"} 0\n",
		 id, hex);
	ok(has(line), "not ready for activation, with its type and pattern");
	snprintf(line, sizeof(line),
		 "mkagent_register_state{op=\"%s\",apqn=\"0A.0033\",mk_type=\"ep11\",register=\"new\",state=\"empty\"} 1\n",
		 id);
	ok(has(line), "the NEW register of each APQN, as read: empty");
	ok(promtool("metrics", prom, err, sizeof(err)), "promtool check metrics accepts it%s%s",
	   err[0] ? ": " : "", err);

	load_all(EP11, 2, MK_EP11, &k);
	snprintf(line, sizeof(line), "mkagent_ready_for_activation{op=\"%s\",mk_type=\"ep11\",mkvp=\"%s\"} 1\n",
		 id, hex);
	ok(wait_has(line), "every consumer re-enciphered: ready for activation");
	snprintf(line, sizeof(line),
		 "mkagent_register_holds_planned{op=\"%s\",apqn=\"0C.0033\",mk_type=\"ep11\",register=\"new\"} 1\n",
		 id);
	ok(has(line), "and NEW holds the planned pattern");
	snprintf(line, sizeof(line), "mkagent_activated_early{op=\"%s\"} 0\n", id);
	ok(has(line), "nothing activated early");
	ok(promtool("metrics", prom, err, sizeof(err)), "promtool check metrics accepts it again%s%s",
	   err[0] ? ": " : "", err);
	{
		_cleanup_free_ char *listing = snapshot_dir(tmp);

		ok(listing && !strstr(listing, ".prom."), "no temporary file is left beside it");
	}
	agent_stop(agent, SIGTERM);

	mk(&r, "daemon", "--once", "--json", NULL);
	{
		json_object *root = json_tokener_parse(r.out), *ops, *op, *v;

		ok(r.status == 0 && root && json_object_object_get_ex(root, "operations", &ops) &&
			   (op = json_object_array_get_idx(ops, 0)) &&
			   json_object_object_get_ex(op, "id", &v) && streq(json_object_get_string(v), id) &&
			   json_object_object_get_ex(op, "state", &v) &&
			   streq(json_object_get_string(v), "reenciphered") &&
			   json_object_object_get_ex(op, "action", &v) &&
			   streq(json_object_get_string(v), "wait"),
		   "daemon --once --json: the operation, its state and what the pass decided");
		json_object_put(root);
	}
	run_result_free(&r);

	ok(promtool("rules", build_path("etc/mkagent.rules.yml"), err, sizeof(err)),
	   "promtool check rules accepts etc/mkagent.rules.yml%s%s", err[0] ? ": " : "", err);

	free(id);
	apsim_free(sim);
	return done_testing();
}
