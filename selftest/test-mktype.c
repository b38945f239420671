// SPDX-License-Identifier: MIT
/*
 * The table of MK types (agent/core/mktype.c) is the one place a type is
 * described: its row is sound, the commands' options take each type's
 * pattern option from it (opargs), and the register reads take from it
 * which types sysfs shows and which the query helper reads (registers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "apsim.h"
#include "cmd/cli.h"
#include "cmd/opargs.h"
#include "core/macro.h"
#include "io/registers.h"
#include "run.h"
#include "tap.h"

static const struct apqn CCA_Q = { 0x08, 0x33 }, EP11_Q = { 0x0a, 0x33 };

static void rows(void)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		const struct mk_type_info *m = mk_type_info(t);
		bool unique = true;

		for (int u = 0; u < t; u++)
			unique &= !streq(mk_type_name(u), m->name) && mk_type_info(u)->opt != m->opt &&
				  !streq(mk_type_info(u)->opt_name, m->opt_name);
		ok(unique, "%s: name, letter and option name its own", m->name);
		is_int(mk_type_from_name(m->name), t, "%s: found by its name", m->name);
		ok((m->mode == AP_MODE_CCA || m->mode == AP_MODE_EP11) && mk_type_mode(t) == m->mode &&
			   mk_type_is_cca(t) == (m->mode == AP_MODE_CCA),
		   "%s: held by CCA or EP11 queues", m->name);
		ok(m->cli_bytes && m->cli_bytes <= m->sysfs_bytes && m->sysfs_bytes <= MKVP_MAX_BYTES &&
			   mk_type_cli_bytes(t) == m->cli_bytes && mk_type_sysfs_bytes(t) == m->sysfs_bytes,
		   "%s: pattern lengths", m->name);
		ok(m->opt && m->opt != 'a' && m->opt != 'i' && m->opt != 'h' && m->opt != 'v' &&
			   m->opt_arg && m->what,
		   "%s: an option letter of its own, its value's name, what it is", m->name);
		ok(m->regs && !strncmp(m->what, m->regs, strlen(m->regs)) &&
			   m->what[strlen(m->regs)] == ' ',
		   "%s: its registers named as what it is says (%s)", m->name, m->regs);
	}
}

/* Queues of each mode, in words. */
static void modes(void)
{
	is_string(ap_mode_a(AP_MODE_EP11), "an EP11", "an EP11 queue");
	is_string(ap_mode_a(AP_MODE_CCA), "a CCA", "a CCA queue");
	is_string(ap_mode_a(AP_MODE_ACCEL), "an accelerator", "an accelerator queue");
	is_string(ap_mode_a(AP_MODE_UNKNOWN), "an unknown", "an unknown queue");
	is_string(ap_mode_cards(AP_MODE_EP11), "EP11 (CEXnP)", "EP11 queues: CEXnP cards");
	is_string(ap_mode_cards(AP_MODE_CCA), "CCA (CEXnC)", "CCA queues: CEXnC cards");
}

/* A pattern of @t's command-line length. */
static void pattern(enum mk_type t, char *hex)
{
	size_t n = mk_type_cli_bytes(t) * 2;

	for (size_t i = 0; i < n; i++)
		hex[i] = "0123456789ABCDEF"[(i * 7 + t) % 16];
	hex[n] = '\0';
}

static void options(void)
{
	struct op_args_table table;

	op_args_table(&table);
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		const struct mk_type_info *m = mk_type_info(t);
		char hex[2 * MKVP_MAX_BYTES + 1], letter[3] = { '-', m->opt, '\0' }, lng[96],
						   help[96], got[MKVP_STR_MAX];
		const struct opt *row = NULL;
		struct op_args a;
		bool only = true;

		for (size_t i = 0; i < table.n; i++)
			if (table.row[i].id == m->opt)
				row = &table.row[i];
		snprintf(help, sizeof(help), "new %s pattern (%zu bytes)", m->what, m->cli_bytes);
		ok(row && streq(row->name, m->opt_name) && streq(row->arg, m->opt_arg) &&
			   streq(row->help, help) && row->flags == ARG_PATTERNS,
		   "%s: the commands' table has -%c, --%s %s: %s", m->name, m->opt, m->opt_name,
		   m->opt_arg, help);

		pattern(t, hex);
		is_int(op_args_parse("plan", "", ARG_PATTERNS, 0, 3, (char *[]){ "plan", letter, hex, NULL },
				     &a),
		       OP_ARGS_GO_ON, "%s: %s PATTERN parses", m->name, letter);
		for (int u = 0; u < MK_TYPE_COUNT; u++)
			only &= a.has[u] == (u == t);
		ok(only && a.mkvp[t].len == m->cli_bytes && streq(mkvp_format(&a.mkvp[t], got), hex),
		   "%s: %s gives its pattern, of %zu bytes, and no other type's", m->name, letter,
		   m->cli_bytes);
		op_args_free(&a);
		snprintf(lng, sizeof(lng), "--%s=%s", m->opt_name, hex);
		is_int(op_args_parse("plan", "", ARG_PATTERNS, 0, 2, (char *[]){ "plan", lng, NULL }, &a),
		       OP_ARGS_GO_ON, "%s: --%s=PATTERN parses", m->name, m->opt_name);
		ok(a.has[t], "%s: --%s gives its pattern", m->name, m->opt_name);
		op_args_free(&a);
	}
}

/* The query helper: logs how it was called, prints @t's lines (and AES
 * lines that are not its to give). */
static char *query_helper(const char *dir, char *log)
{
	char *path;

	if (asprintf(&path, "%s/query", dir) < 0)
		bail_out("out of memory");
	snprintf(log, 4096, "%s/query.log", dir);
	write_text(path, 0700,
		   "#!/bin/sh\necho \"$1 $2\" >>%s\ncase $2 in\n"
		   "cca-sym) printf 'SYM NEW: empty 0x0000000000000000\\nSYM CUR: valid 0x1111111111111111\\n"
		   "SYM OLD: invalid 0x0000000000000000\\n' ;;\nesac\n"
		   "printf 'AES NEW: empty 0x0000000000000000\\nAES CUR: valid 0x2222222222222222\\nAES OLD: invalid 0x0000000000000000\\n'\n",
		   log);
	return path;
}

static void registers(struct apsim *sim)
{
	char *dir = make_tmpdir("mktype"), log[4096], want[256] = "", *helper = query_helper(dir, log);
	struct apqn both[] = { CCA_Q, EP11_Q };
	struct apqn_list apqns = { .v = both, .n = 2 };
	struct view plain, queried;
	struct errmsg e;
	char *calls;

	apsim_add_card(sim, CCA_Q.card, "CEX7C");
	apsim_add_card(sim, EP11_Q.card, "CEX8P");
	apsim_add_queue(sim, CCA_Q);
	apsim_add_queue(sim, EP11_Q);
	if (view_read(&plain, &apqns, NULL, &e) < 0 || view_read(&queried, &apqns, helper, &e) < 0)
		bail_out("view_read: %s", e.text);
	for (int t = 0; t < MK_TYPE_COUNT; t++) {
		const struct mk_type_info *m = mk_type_info(t);

		for (size_t i = 0; i < 2; i++) {
			const struct apqn_view *p = &plain.v[i], *q = &queried.v[i];
			bool mine = m->mode == p->mode;
			char n[APQN_STR_MAX];

			apqn_format(p->apqn, n);
			ok(p->regs.has[t] == (mine && !m->queried) && q->regs.has[t] == mine,
			   "%s on %s (%s): registers %s", m->name, n, ap_mode_name(p->mode),
			   !mine ? "none" : m->queried ? "from the query helper only" : "from sysfs");
			if (mine && m->queried)
				snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s %s\n", n,
					 m->name);
		}
	}
	if (queried.v[0].read_error[0])
		diag("%s", queried.v[0].read_error);
	ok(!memcmp(&queried.v[0].regs.reg[MK_CCA_AES][REG_CUR], &plain.v[0].regs.reg[MK_CCA_AES][REG_CUR],
		   sizeof(struct mk_register)),
	   "the query helper's lines of other types are not taken");
	calls = read_text(log);
	is_string(calls ?: "", want, "the query helper is asked for each queried type of the queue's mode");
	free(calls);
	view_free(&plain);
	view_free(&queried);
	free(helper);
	remove_tree(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	struct apsim *sim;

	(void)argc;
	sim = apsim_new(argv);
	rows();
	modes();
	options();
	registers(sim);
	apsim_free(sim);
	return done_testing();
}
