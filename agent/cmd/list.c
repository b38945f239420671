// SPDX-License-Identifier: MIT
/*
 * list.c - `mkagent list`: operations in the form pkcshsm_mk_change
 * shows them, or as the JSON of DESIGN §7. A file that cannot be read is
 * reported and skipped; it never stops the list.
 */
#include <errno.h>
#include <json-c/json.h>

#include "cmd/cli.h"
#include "io/log.h"
#include "core/macro.h"
#include "cmd/opargs.h"
#include "io/store.h"

static const char list_usage[] = "Usage: mkagent list [-i ID] [--json]\n"
				 "List the master key change operations, live and past, or the one of -i.\n";

static const char *state_text(enum op_state s)
{
	switch (s) {
	case OP_PLANNED:
		return "waiting for the new master key(s) to be loaded";
	case OP_REENCIPHERING:
		return "key objects are being re-enciphered";
	case OP_REENCIPHERED:
		return "key objects have been re-enciphered,\n       new master key(s) can now be set/activated";
	case OP_FINALIZING:
		return "the change is being finalized";
	case OP_FINALIZED:
		return "the master key change is complete";
	case OP_CANCELING:
		return "the change is being canceled";
	case OP_CANCELED:
		return "the master key change was canceled";
	default:
		return "held for a person";
	}
}

static void print_patterns(const char *title, const bool *has, const struct mkvp *p)
{
	char hex[MKVP_STR_MAX];
	bool any = false;

	for (int t = 0; t < MK_TYPE_COUNT; t++)
		any |= has[t];
	if (!any)
		return;
	printf("%s:\n", title);
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (has[t])
			printf("    Type: %s\n    MKVP: %s\n", mk_type_name(t), mkvp_format(&p[t], hex));
}

static void print_plain(const struct op *op)
{
	char buf[APQN_STR_MAX], created[21], updated[21];

	printf("Operation: %s\n", op->id);
	printf("State: %s (%s)\n", op_state_name(op->state), state_text(op->state));
	if (op->reason[0])
		printf("Reason: %s\n", op->reason);
	printf("Created: %s\nUpdated: %s\nAuto-finalize: %s\n", iso8601_format(op->created, created),
	       iso8601_format(op->updated, updated), op->auto_finalize ? "yes" : "no");
	printf("APQNs:\n");
	for (size_t i = 0; i < op->apqns.n; i++)
		printf("    %s\n", apqn_format(op->apqns.v[i], buf));
	print_patterns("New master key verification patterns", op->has_new, op->new_mkvp);
	print_patterns("Current master key verification patterns (when planned)", op->has_old,
		       op->old_mkvp);
	printf("Affected profiles:\n");
	if (!op->nprofiles)
		printf("    (none)\n");
	for (size_t i = 0; i < op->nprofiles; i++) {
		printf("    Profile: %s:", op->profiles[i].name);
		for (int p = 0, n = 0; p < PHASE_COUNT; p++)
			if (op->profiles[i].phase[p] != PS_NONE)
				printf("%s %s %s", n++ ? "," : "", phase_name(p),
				       phase_status_name(op->profiles[i].phase[p]));
		printf("\n");
	}
}

static json_object *patterns_json(const bool *has, const struct mkvp *p)
{
	json_object *o = json_object_new_object();
	char hex[MKVP_STR_MAX];

	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (has[t])
			json_object_object_add(o, mk_type_name(t),
					       json_object_new_string(mkvp_format(&p[t], hex)));
	return o;
}

static json_object *op_json(const struct op *op)
{
	json_object *o = json_object_new_object(), *apqns = json_object_new_array(),
		    *profiles = json_object_new_object();
	char buf[APQN_STR_MAX], created[21], updated[21];

	json_object_object_add(o, "id", json_object_new_string(op->id));
	json_object_object_add(o, "state", json_object_new_string(op_state_name(op->state)));
	json_object_object_add(o, "reason", json_object_new_string(op->reason));
	json_object_object_add(o, "created", json_object_new_string(iso8601_format(op->created, created)));
	json_object_object_add(o, "updated", json_object_new_string(iso8601_format(op->updated, updated)));
	json_object_object_add(o, "auto_finalize", json_object_new_boolean(op->auto_finalize));
	for (size_t i = 0; i < op->apqns.n; i++)
		json_object_array_add(apqns, json_object_new_string(apqn_format(op->apqns.v[i], buf)));
	json_object_object_add(o, "apqns", apqns);
	json_object_object_add(o, "new_mkvps", patterns_json(op->has_new, op->new_mkvp));
	json_object_object_add(o, "old_mkvps", patterns_json(op->has_old, op->old_mkvp));
	for (size_t i = 0; i < op->nprofiles; i++) {
		json_object *phases = json_object_new_object();

		for (int p = 0; p < PHASE_COUNT; p++)
			if (op->profiles[i].phase[p] != PS_NONE)
				json_object_object_add(phases, phase_name(p),
						       json_object_new_string(phase_status_name(
							       op->profiles[i].phase[p])));
		json_object_object_add(profiles, op->profiles[i].name, phases);
	}
	json_object_object_add(o, "profiles", profiles);
	return o;
}

static void report_bad(void *ctx, const char *sub, const char *why)
{
	(void)sub;
	*(bool *)ctx = true;
	say_error("list: %s", why);
}

int cmd_list(const struct cli *cli, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	_cleanup_(op_list_free) struct op_list ops = { 0 };
	struct store store;
	struct errmsg e;
	bool bad = false;
	json_object *root, *list;
	int rc = op_args_parse("list", list_usage, ARG_ID | ARG_JSON, 0, argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	rc = store_open(&store, cli->paths.state_dir, false, &e);
	if (rc < 0 && rc != -ENOENT) {
		say_error("list: %s", e.text);
		return EXIT_REFUSED;
	}
	if (rc == 0 && (a.given & ARG_ID)) {
		struct op op;

		rc = store_load(&store, a.id, &op, NULL, &e);
		if (rc == 0) {
			ops.v = malloc(sizeof(op));
			if (ops.v) {
				ops.v[0] = op;
				ops.n = 1;
			}
		}
	} else if (rc == 0) {
		rc = store_list(&store, STORE_ALL, &ops, report_bad, &bad);
	} else if (a.given & ARG_ID) {
		errmsg_set(&e, -ENOENT, "operation %s does not exist", a.id);
	} else {
		rc = 0;
	}
	if (store.fd >= 0)
		store_close(&store);
	if (rc < 0) {
		say_error("list: %s", e.text);
		return EXIT_REFUSED;
	}
	if (a.json) {
		root = json_object_new_object();
		list = json_object_new_array();
		for (size_t i = 0; i < ops.n; i++)
			json_object_array_add(list, op_json(&ops.v[i]));
		json_object_object_add(root, "operations", list);
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
									    JSON_C_TO_STRING_SPACED |
									    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	} else {
		for (size_t i = 0; i < ops.n; i++) {
			if (i)
				printf("\n");
			print_plain(&ops.v[i]);
		}
		if (!ops.n)
			printf("No master key change operations.\n");
	}
	return bad ? EXIT_REFUSED : EXIT_OK;
}
