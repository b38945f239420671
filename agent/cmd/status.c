// SPDX-License-Identifier: MIT
/*
 * status.c - `mkagent status`: the AP queues, their modes and master key
 * registers, as a table for people or as the JSON of DESIGN §7.
 */
#include <errno.h>
#include <json-c/json.h>

#include "io/apbus.h"
#include "cmd/cli.h"
#include "io/kmods.h"
#include "io/log.h"
#include "core/macro.h"
#include "cmd/opargs.h"

#define NCOLS 8

struct table {
	char *(*rows)[NCOLS];
	size_t n;
};

static const char *const header[NCOLS] = { "APQN", "TYPE", "MODE", "ONLINE",
					   "MK TYPE", "NEW", "CUR", "OLD" };

static int table_add(struct table *t, const char *const cells[NCOLS])
{
	char *(*rows)[NCOLS] = realloc(t->rows, (t->n + 1) * sizeof(*rows));

	if (!rows)
		return -ENOMEM;
	t->rows = rows;
	for (int c = 0; c < NCOLS; c++) {
		rows[t->n][c] = strdup(cells[c] ? cells[c] : "");
		if (!rows[t->n][c])
			return -ENOMEM;
	}
	t->n++;
	return 0;
}

static void table_print(const struct table *t)
{
	size_t w[NCOLS];

	for (int c = 0; c < NCOLS; c++) {
		w[c] = strlen(header[c]);
		for (size_t r = 0; r < t->n; r++)
			if (strlen(t->rows[r][c]) > w[c])
				w[c] = strlen(t->rows[r][c]);
	}
	for (size_t r = 0; r <= t->n; r++) {
		const char *const *row = r ? (const char *const *)t->rows[r - 1] : header;
		int last = NCOLS - 1;

		while (last > 0 && !row[last][0])
			last--;
		for (int c = 0; c < last; c++)
			printf("%-*s  ", (int)w[c], row[c]);
		printf("%s\n", row[last]);
	}
}

static void table_free(struct table *t)
{
	for (size_t r = 0; r < t->n; r++)
		for (int c = 0; c < NCOLS; c++)
			free(t->rows[r][c]);
	free(t->rows);
}

static const char *online_word(const struct ap_queue *q)
{
	switch (queue_usability(&q->queue)) {
	case QUEUE_USABLE:
		return "yes";
	case QUEUE_DECONFIGURED:
		return "deconfig";
	case QUEUE_CHECKSTOPPED:
		return "chkstop";
	default:
		return q->online < 0 ? "-" : "no";
	}
}

/* State and pattern, the pattern cut to the length its option takes. */
static void register_cell(enum mk_type t, const struct mk_register *r, char *buf, size_t size)
{
	char hex[MKVP_STR_MAX];
	struct mkvp p = r->mkvp;

	if (r->state == REG_UNKNOWN) {
		snprintf(buf, size, "-");
		return;
	}
	if (!reg_state_has_mkvp(r->state)) {
		snprintf(buf, size, "%s", reg_state_name(r->state));
		return;
	}
	mkvp_truncate(&p, mk_type_cli_bytes(t));
	snprintf(buf, size, "%s %s", reg_state_name(r->state), mkvp_format(&p, hex));
}

static int table_add_queue(struct table *t, const struct ap_queue *q, bool read_failed)
{
	char apqn[APQN_STR_MAX], cell[REG_COUNT][16 + MKVP_STR_MAX];
	const char *cells[NCOLS] = { apqn_format(q->apqn, apqn), q->card_type[0] ? q->card_type : "-",
				     ap_mode_name(q->mode) ?: "-", online_word(q) };
	bool first = true;
	int rc;

	if (!q->regs_read) {
		cells[4] = read_failed ? "?" : "-";
		return table_add(t, cells);
	}
	for (int type = 0; type < MK_TYPE_COUNT; type++) {
		if (!q->regs.has[type])
			continue;
		if (!first)
			cells[0] = cells[1] = cells[2] = cells[3] = NULL;
		first = false;
		cells[4] = mk_type_name(type);
		for (int r = 0; r < REG_COUNT; r++) {
			cells[5 + r] = NULL;
			if (!mk_type_has_reg(type, r))
				continue;
			register_cell(type, &q->regs.reg[type][r], cell[r], sizeof(cell[r]));
			cells[5 + r] = cell[r];
		}
		rc = table_add(t, cells);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static json_object *json_bool_or_null(int v)
{
	return v < 0 ? NULL : json_object_new_boolean(v);
}

static json_object *json_string_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static json_object *register_json(const struct mk_register *r)
{
	json_object *o = json_object_new_object();
	char hex[MKVP_STR_MAX];

	json_object_object_add(o, "state",
			       r->state == REG_UNKNOWN ? NULL :
							 json_object_new_string(reg_state_name(r->state)));
	json_object_object_add(o, "mkvp",
			       reg_state_has_mkvp(r->state) ?
				       json_object_new_string(mkvp_format(&r->mkvp, hex)) :
				       NULL);
	return o;
}

static json_object *queue_json(const struct ap_queue *q)
{
	json_object *o = json_object_new_object(), *regs = json_object_new_object();
	char apqn[APQN_STR_MAX];

	json_object_object_add(o, "apqn", json_object_new_string(apqn_format(q->apqn, apqn)));
	json_object_object_add(o, "card", json_object_new_int(q->apqn.card));
	json_object_object_add(o, "domain", json_object_new_int(q->apqn.domain));
	json_object_object_add(o, "type", json_string_or_null(q->card_type));
	json_object_object_add(o, "mode", json_string_or_null(ap_mode_name(q->mode)));
	json_object_object_add(o, "online", json_bool_or_null(q->online));
	json_object_object_add(o, "config", json_bool_or_null(q->config));
	json_object_object_add(o, "chkstop", json_bool_or_null(q->chkstop));
	for (int t = 0; q->regs_read && t < MK_TYPE_COUNT; t++) {
		json_object *type;

		if (!q->regs.has[t])
			continue;
		type = json_object_new_object();
		for (int r = 0; r < REG_COUNT; r++)
			if (mk_type_has_reg(t, r))
				json_object_object_add(type, mk_reg_name(r),
						       register_json(&q->regs.reg[t][r]));
		json_object_object_add(regs, mk_type_name(t), type);
	}
	json_object_object_add(o, "registers", regs);
	return o;
}

static void print_kmods(void)
{
	struct kmod_report mods[AP_KMODS_COUNT];

	if (ap_kmods_query(mods) < 0)
		return;
	printf("Kernel modules:");
	for (size_t i = 0; i < AP_KMODS_COUNT; i++)
		printf("%s %s %s", i ? "," : "", mods[i].name, kmod_presence_name(mods[i].presence));
	printf("\n");
}

static const char status_usage[] = "Usage: mkagent status [-a APQNS] [--json]\n"
				   "Show the AP queues (those of -a only), their mode and master key\n"
				   "registers.\n";

/*
 * One queue of the "apqns" array, printed and freed at once: memory stays
 * the same for 4 096 queues as for 4. The text is what json-c prints for
 * the whole document, two levels in.
 */
static void print_json_queue(const struct ap_queue *q, bool first)
{
	json_object *o = queue_json(q);
	const char *text = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);

	printf("%s\n    ", first ? "" : ",");
	for (const char *c = text; *c; c++) {
		putchar(*c);
		if (*c == '\n')
			fputs("    ", stdout);
	}
	json_object_put(o);
}

/* Exit 1 naming every APQN of @want the bus does not have. */
static int check_present(const struct ap_bus *bus, const struct apqn_list *want)
{
	char names[ERRMSG_MAX] = "", buf[APQN_STR_MAX];
	size_t missing = 0, len = 0;

	for (size_t i = 0; i < want->n; i++) {
		if (ap_bus_find(bus, want->v[i]))
			continue;
		if (len + APQN_STR_MAX + 2 < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						missing ? ", " : "", apqn_format(want->v[i], buf));
		missing++;
	}
	if (!missing)
		return 0;
	say_error("status: %s %s not on the AP bus", missing > 1 ? "APQNs" : "APQN", names);
	return -ENOENT;
}

int cmd_status(const struct cli *cli _unused_, int argc, char **argv)
{
	_cleanup_(op_args_free) struct op_args a;
	_cleanup_(ap_bus_free) struct ap_bus bus = { 0 };
	const struct apqn_list *want = &a.apqns;
	struct table table = { 0 };
	bool json, have_filter, bad = false;
	size_t shown = 0;
	struct errmsg e;
	int rc = op_args_parse("status", status_usage, ARG_APQNS | ARG_JSON, 0, argc, argv, &a);

	if (rc != OP_ARGS_GO_ON)
		return rc;
	json = a.json;
	have_filter = a.given & ARG_APQNS;
	if ((have_filter ? ap_bus_scan_apqns(&bus, want, &e) : ap_bus_scan(&bus, &e)) < 0) {
		say_error("status: %s", e.text);
		return EXIT_REFUSED;
	}
	if (have_filter && check_present(&bus, want) < 0)
		return EXIT_REFUSED;

	if (json)
		printf("{\n  \"apqns\": [");
	for (size_t i = 0; i < bus.n; i++) {
		struct ap_queue *q = &bus.q[i];
		bool failed = false;

		if (have_filter && !apqn_list_contains(want, q->apqn))
			continue;
		if (ap_queue_read_mkvps(q, &e) < 0) {
			say_error("status: %s", e.text);
			failed = bad = true;
		}
		if (json) {
			print_json_queue(q, shown++ == 0);
			continue;
		}
		rc = table_add_queue(&table, q, failed);
		if (rc < 0) {
			say_error("status: out of memory");
			table_free(&table);
			return EXIT_REFUSED;
		}
	}
	if (json) {
		printf("%s]\n}\n", shown ? "\n  " : "");
	} else {
		if (table.n)
			table_print(&table);
		else
			printf("No AP queues found.\n");
		print_kmods();
		table_free(&table);
	}
	return bad ? EXIT_REFUSED : EXIT_OK;
}
