// SPDX-License-Identifier: MIT
/*
 * exposition.c - the agent's state as Prometheus text (exposition.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exposition.h"
#include "core/macro.h"

static void help(FILE *f, const char *name, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, text, name);
}

/* The planned pattern of @t as the command line and the officer write it. */
static const char *planned(const struct op *op, enum mk_type t, char *buf)
{
	struct mkvp p = op->new_mkvp[t];

	mkvp_truncate(&p, mk_type_cli_bytes(t));
	return mkvp_format(&p, buf);
}

static bool activated_early(const struct op *op)
{
	return op->state == OP_ERROR && strncmp(op->reason, "activated-early", 15) == 0;
}

/* One line per register of each planned type on each APQN read: its state
 * (@holds false) or whether it holds the planned pattern (@holds true). */
static void registers(FILE *f, const struct metrics_op *ops, size_t n, bool holds)
{
	char apqn[APQN_STR_MAX];

	for (size_t i = 0; i < n; i++) {
		const struct op *op = ops[i].op;
		const struct view *v = ops[i].regs;

		for (size_t j = 0; v && j < v->n; j++) {
			const struct apqn_view *a = &v->v[j];

			for (int t = 0; a->regs_read && t < MK_TYPE_COUNT; t++) {
				for (int r = 0; op->has_new[t] && a->regs.has[t] && r < REG_COUNT; r++) {
					const struct mk_register *reg = &a->regs.reg[t][r];

					fprintf(f, "%s{op=\"%s\",apqn=\"%s\",mk_type=\"%s\",register=\"%s\"",
						holds ? "mkagent_register_holds_planned" :
							"mkagent_register_state",
						op->id, apqn_format(a->apqn, apqn), mk_type_name(t),
						mk_reg_name(r));
					if (holds)
						fprintf(f, "} %d\n", mk_register_holds(reg, &op->new_mkvp[t]));
					else
						fprintf(f, ",state=\"%s\"} 1\n", reg_state_name(reg->state));
				}
			}
		}
	}
}

int metrics_format(const struct metrics_op *ops, size_t n, char **text)
{
	char *buf = NULL, hex[MKVP_STR_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	help(f, "mkagent_operation_state", "1 for the state each live operation is in, 0 for the others.");
	for (size_t i = 0; i < n; i++)
		for (int s = 0; s < OP_STATE_COUNT; s++)
			fprintf(f, "mkagent_operation_state{op=\"%s\",state=\"%s\"} %d\n", ops[i].op->id,
				op_state_name(s), ops[i].op->state == (enum op_state)s);
	help(f, "mkagent_ready_for_activation",
	     "1 when every consumer re-enciphered its keys for the new master key: it may be activated.");
	for (size_t i = 0; i < n; i++)
		for (int t = 0; t < MK_TYPE_COUNT; t++)
			if (ops[i].op->has_new[t])
				fprintf(f, "mkagent_ready_for_activation{op=\"%s\",mk_type=\"%s\",mkvp=\"%s\"} %d\n",
					ops[i].op->id, mk_type_name(t), planned(ops[i].op, t, hex),
					ops[i].op->state == OP_REENCIPHERED);
	help(f, "mkagent_activated_early",
	     "1 when a new master key became active before every consumer re-enciphered.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "mkagent_activated_early{op=\"%s\"} %d\n", ops[i].op->id,
			activated_early(ops[i].op));
	help(f, "mkagent_register_state",
	     "1 for the state of each master key register of an operation's APQNs, as last read.");
	registers(f, ops, n, false);
	help(f, "mkagent_register_holds_planned",
	     "1 when the register holds the operation's new master key pattern, as last read.");
	registers(f, ops, n, true);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*text = buf;
	return 0;
}
