// SPDX-License-Identifier: MIT
/*
 * daemon.c - `mkagent daemon [--once [--json]]`: its options, where the
 * agent logs, what a --once pass did in words or JSON, and its exit
 * status. The agent itself is daemon/.
 */
#include <errno.h>
#include <json-c/json.h>

#include "cmd/cli.h"
#include "cmd/opargs.h"
#include "daemon/daemon.h"
#include "core/macro.h"
#include "io/log.h"

static const char daemon_usage[] = "Usage: mkagent daemon [--once [--json]]\n"
				   "Watch the AP bus and carry out every planned operation.\n";

static json_object *one_json(const struct pass_op *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "state", json_object_new_string(op_state_name(p->state)));
	json_object_object_add(o, "action", json_object_new_string(action_name(p->action)));
	json_object_object_add(o, "why", json_object_new_string(p->why));
	json_object_object_add(o, "reason", p->reason[0] ? json_object_new_string(p->reason) : NULL);
	json_object_object_add(o, "worker_exit",
			       p->worker_status < 0 ? NULL : json_object_new_int(p->worker_status));
	return o;
}

static void print_pass_json(const struct agent_pass *pass)
{
	json_object *list = json_object_new_array(), *root = json_object_new_object();

	for (size_t i = 0; i < pass->n; i++)
		json_object_array_add(list, one_json(&pass->v[i]));
	json_object_object_add(root, "operations", list);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static void print_pass(const struct agent_pass *pass)
{
	for (size_t i = 0; i < pass->n; i++) {
		const struct pass_op *p = &pass->v[i];

		if (p->state == OP_ERROR)
			printf("Operation %s: error (reason: %s)\n", p->id,
			       p->reason[0] ? p->reason : "none recorded");
		else
			printf("Operation %s: %s (%s: %s)\n", p->id, op_state_name(p->state),
			       action_name(p->action), p->why);
	}
}

int cmd_daemon(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	_cleanup_(agent_pass_free) struct agent_pass pass = { 0 };
	struct agent_opts o = { .paths = cli->paths };
	struct errmsg e;
	int rc = op_args_parse("daemon", daemon_usage, ARG_ONCE | ARG_JSON, 0, argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	o.once = a.once;
	if (a.json && !o.once) {
		say_error("daemon: --json goes with --once");
		return EXIT_USAGE;
	}
	if (log_get_level() == LOG_LVL_NONE && !cli->verbose_given)
		log_set_level(LOG_LVL_INFO);
	/* started by systemd (the unit sets INVOCATION_ID): syslog, with priorities */
	if (getenv("INVOCATION_ID"))
		log_to_syslog(true);
	rc = agent_run(&o, &pass, &e);
	if (rc < 0) {
		say_error("daemon: %s", e.text);
		return EXIT_REFUSED;
	}
	if (!o.once)
		return EXIT_OK;
	if (a.json)
		print_pass_json(&pass);
	else
		print_pass(&pass);
	/* each file that could not be read was named on stderr */
	return pass.bad_file ? EXIT_REFUSED : EXIT_OK;
}
