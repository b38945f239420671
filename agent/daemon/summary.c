// SPDX-License-Identifier: MIT
/*
 * summary.c - what a `daemon --once` pass did to each operation it looked
 * at (struct agent_pass): its state, the decision and why, the reason of
 * its error, its last worker's exit. The command says it in words.
 */
#include <errno.h>

#include "daemon/agent.h"

int pass_summary(struct agent *ag, struct agent_pass *pass)
{
	*pass = (struct agent_pass){ .bad_file = ag->bad_file };
	pass->v = calloc(ag->nops ?: 1, sizeof(*pass->v));
	if (!pass->v)
		return -ENOMEM;
	for (size_t i = 0; i < ag->nops; i++) {
		const struct tracked *t = &ag->ops[i];
		struct pass_op *p = &pass->v[pass->n];
		struct errmsg e;
		struct op op;

		if (store_load(&ag->en.store, t->id, &op, NULL, &e) < 0)
			continue;
		snprintf(p->id, sizeof(p->id), "%s", op.id);
		p->state = op.state;
		snprintf(p->reason, sizeof(p->reason), "%s", op.reason);
		p->action = t->last_action;
		snprintf(p->why, sizeof(p->why), "%s", t->last_why);
		p->worker_status = t->worker_status;
		pass->n++;
		op_free(&op);
	}
	return 0;
}

void agent_pass_free(struct agent_pass *pass)
{
	free(pass->v);
	*pass = (struct agent_pass){ 0 };
}
