// SPDX-License-Identifier: MIT
/*
 * summary.c - what a `daemon --once` pass did to each operation it looked
 * at: its state, the decision and why, or the reason of its error; as
 * lines or as JSON.
 */
#include <json-c/json.h>

#include "daemon/agent.h"

static json_object *one_json(const struct tracked *t, const struct op *op)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(op->id));
	json_object_object_add(o, "state", json_object_new_string(op_state_name(op->state)));
	json_object_object_add(o, "action", json_object_new_string(action_name(t->last_action)));
	json_object_object_add(o, "why", json_object_new_string(t->last_why));
	json_object_object_add(o, "reason", op->reason[0] ? json_object_new_string(op->reason) : NULL);
	json_object_object_add(o, "worker_exit",
			       t->worker_status < 0 ? NULL : json_object_new_int(t->worker_status));
	return o;
}

void print_summary(struct agent *ag, bool json)
{
	json_object *list = json ? json_object_new_array() : NULL, *root;

	for (size_t i = 0; i < ag->nops; i++) {
		const struct tracked *t = &ag->ops[i];
		struct errmsg e;
		struct op op;

		if (store_load(&ag->en.store, t->id, &op, NULL, &e) < 0)
			continue;
		if (json)
			json_object_array_add(list, one_json(t, &op));
		else if (op.state == OP_ERROR)
			printf("Operation %s: error (reason: %s)\n", op.id,
			       op.reason[0] ? op.reason : "none recorded");
		else
			printf("Operation %s: %s (%s: %s)\n", op.id, op_state_name(op.state),
			       action_name(t->last_action), t->last_why);
		op_free(&op);
	}
	if (!json)
		return;
	root = json_object_new_object();
	json_object_object_add(root, "operations", list);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}
