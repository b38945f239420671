// SPDX-License-Identifier: MIT
/*
 * test-lszcrypt - the real lszcrypt (Debian's s390-tools for s390x, run
 * by qemu-user) on an apsim testbed, every column of `lszcrypt`,
 * `lszcrypt -V`, `-d` and `-b` held against `mkagent status --json` and,
 * for what mkagent does not report, against what the testbed was built
 * with. Run by `make interop-lszcrypt`, which gives the sysroot in
 * MKAGENT_S390X_SYSROOT (selftest/interop/README-lszcrypt.md).
 *
 * lszcrypt finds sysfs through SYSFS_ROOT (s390-tools libutil/util_path.c),
 * so it reads the testbed's sys directory directly: umockdev's preload is
 * an x86-64 library that no s390x process can load.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../apsim.h"
#include "../run.h"
#include "../tap.h"

#define QEMU "/usr/bin/qemu-s390x-static"

static struct apsim *sim;
static const char *sysroot;

/* What the testbed is built with, per queue: what lszcrypt must show.
 * Only usable queues have requests waiting: the kernel flushes the others. */
struct want_queue {
	struct apqn apqn;
	const char *status;   /* lszcrypt 2.16's STATUS */
	unsigned int requests;
	int requestq, pendingq;
	const char *driver;
	const char *note;
};

struct want_card {
	unsigned int card;
	const char *type, *hwtype, *functions;
};

/* ap_functions as apsim sets them (AP_FUNC_* in apsim-devices.c), in lszcrypt's
 * letters S M C D A X N F R. */
static const struct want_card CARDS[] = {
	{ 0x01, "CEX8C", "14", "S--D--N--" },
	{ 0x02, "CEX7P", "13", "-----XN--" },
	{ 0x03, "CEX8A", "14", "SM--A-N--" },
};

static const struct want_queue QUEUES[] = {
	{ { 0x01, 0x06 }, "online", 42, 1, 2, "cex4queue", "a CCA queue" },
	{ { 0x01, 0x07 }, "offline", 3, 0, 0, "cex4queue", "an offline CCA queue" },
	{ { 0x01, 0x08 }, "offline", 5, 0, 0, "cex4queue", "a check-stopped CCA queue" },
	{ { 0x01, 0x09 }, "-", 7, 0, 0, "vfio_ap", "a CCA queue bound to vfio_ap" },
	{ { 0x01, 0x0a }, "deconfig", 0, 0, 0, "cex4queue", "a deconfigured CCA queue" },
	{ { 0x02, 0x06 }, "online", 11, 0, 4, "cex4queue", "an EP11 queue" },
	{ { 0x02, 0x07 }, "offline", 0, 0, 0, "cex4queue", "an offline EP11 queue" },
	{ { 0x03, 0x06 }, "online", 1000, 3, 0, "cex4queue", "an accelerator queue" },
};
#define NQUEUES (sizeof(QUEUES) / sizeof(QUEUES[0]))
#define NCARDS (sizeof(CARDS) / sizeof(CARDS[0]))
/* A control domain with no queue, so that -d shows C beside B. */
#define CONTROL_ONLY 0x10

static void build_testbed(void)
{
	for (size_t i = 0; i < NCARDS; i++)
		if (apsim_add_card(sim, CARDS[i].card, CARDS[i].type) < 0)
			bail_out("cannot add card %02x", CARDS[i].card);
	for (size_t i = 0; i < NQUEUES; i++) {
		const struct want_queue *w = &QUEUES[i];

		if (apsim_add_queue(sim, w->apqn) < 0)
			bail_out("cannot add queue %02x.%04x", w->apqn.card, w->apqn.domain);
		apsim_add_requests(sim, w->apqn, w->requests);
		apsim_set_queued(sim, w->apqn, w->requestq, w->pendingq);
	}
	apsim_set_online(sim, (struct apqn){ 0x01, 0x07 }, false);
	apsim_set_chkstop(sim, (struct apqn){ 0x01, 0x08 }, true);
	apsim_bind(sim, (struct apqn){ 0x01, 0x09 }, "vfio_ap");
	apsim_set_config(sim, (struct apqn){ 0x01, 0x0a }, false);
	apsim_set_online(sim, (struct apqn){ 0x02, 0x07 }, false);
	apsim_set_control_domain(sim, CONTROL_ONLY, true);
}

/* ---- running the real lszcrypt ---- */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * The sysroot's loader runs lszcrypt, so no binfmt_misc entry and no
 * qemu -L are needed; umockdev's preload is dropped from the environment.
 */
static char *lszcrypt(const char *opt)
{
	char sysfs[4096], ld[4096], libs[8192], prog[4096];
	struct run_result r;
	struct timespec t0;
	char *const argv[] = { "/usr/bin/env", "-i", "LANG=C", sysfs, QEMU, ld, "--inhibit-cache",
			       "--library-path", libs, prog, (char *)opt, NULL };
	char cmd[32], *out;

	snprintf(sysfs, sizeof(sysfs), "SYSFS_ROOT=%s/sys", apsim_root(sim));
	snprintf(ld, sizeof(ld), "%s/lib/ld64.so.1", sysroot);
	snprintf(libs, sizeof(libs), "%s/lib/s390x-linux-gnu:%s/usr/lib/s390x-linux-gnu", sysroot,
		 sysroot);
	snprintf(prog, sizeof(prog), "%s/sbin/lszcrypt", sysroot);
	snprintf(cmd, sizeof(cmd), "lszcrypt%s%s", opt ? " " : "", opt ? opt : "");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (run_argv(&r, argv) < 0)
		bail_out("cannot run %s", QEMU);
	diag("%s: %.2f s", cmd, seconds_since(&t0));
	is_int(r.status, 0, "%s exits 0", cmd);
	is_string(r.err, "", "%s prints nothing on stderr", cmd);
	out = strdup(r.out);
	run_result_free(&r);
	return out;
}

/* ---- lszcrypt's tables (util_rec "wide" format) ---- */

#define MAXCOLS 12
#define MAXROWS 64

struct table {
	int ncols, nrows;
	char *head[MAXCOLS];
	char *cell[MAXROWS][MAXCOLS];
};

static int split(char *line, char **words, int max)
{
	int n = 0;

	for (char *w = strtok(line, " \t"); w && n < max; w = strtok(NULL, " \t"))
		words[n++] = w;
	return n;
}

/* A header line, a line of dashes, then one row per line. Owns @text. */
static bool parse_table(char *text, struct table *t)
{
	char *save = NULL, *line;
	int n = 0;

	memset(t, 0, sizeof(*t));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		char *words[MAXCOLS + 1];
		int k;

		if (n == 1) {
			if (strspn(line, "-") != strlen(line))
				return false;
			continue;
		}
		k = split(line, words, MAXCOLS + 1);
		if (n == 0) {
			t->ncols = k;
			memcpy(t->head, words, sizeof(char *) * (size_t)k);
			continue;
		}
		if (k != t->ncols || t->nrows == MAXROWS)
			return false;
		memcpy(t->cell[t->nrows++], words, sizeof(char *) * (size_t)k);
	}
	return t->ncols > 0;
}

static int column(const struct table *t, const char *name)
{
	for (int c = 0; c < t->ncols; c++)
		if (strcmp(t->head[c], name) == 0)
			return c;
	bail_out("lszcrypt printed no %s column", name);
}

static int find_row(const struct table *t, const char *id)
{
	for (int r = 0; r < t->nrows; r++)
		if (strcmp(t->cell[r][0], id) == 0)
			return r;
	return -1;
}

/* ---- mkagent status --json ---- */

static json_object *status_json;

static json_object *status_queue(struct apqn a)
{
	json_object *apqns = json_object_object_get(status_json, "apqns");
	char name[16];

	snprintf(name, sizeof(name), "%02X.%04X", a.card, a.domain);
	for (size_t i = 0; i < json_object_array_length(apqns); i++) {
		json_object *q = json_object_array_get_idx(apqns, i);

		if (strcasecmp(json_object_get_string(json_object_object_get(q, "apqn")), name) == 0)
			return q;
	}
	return NULL;
}

static const char *jstr(json_object *q, const char *key)
{
	json_object *v = json_object_object_get(q, key);

	return v ? json_object_get_string(v) : "null";
}

/* lszcrypt's MODE for mkagent's mode. */
static const char *mode_word(const char *mode)
{
	return strcmp(mode, "cca") == 0 ? "CCA-Coproc" :
	       strcmp(mode, "ep11") == 0 ? "EP11-Coproc" :
	       strcmp(mode, "accel") == 0 ? "Accelerator" : "Unknown";
}

/*
 * lszcrypt 2.16's STATUS from mkagent's online/config (zconf/zcrypt/
 * lszcrypt.c, read_subdev_rec_default()): no online attribute "-", online
 * "online", else "offline" or, with config 0, "deconfig". 2.16 never reads
 * chkstop: a check-stopped queue is "offline" to it, "chkstop" to mkagent.
 */
static const char *status_word(json_object *q)
{
	json_object *online = json_object_object_get(q, "online");

	if (!online)
		return "-";
	if (json_object_get_boolean(online))
		return "online";
	return json_object_get_boolean(json_object_object_get(q, "config")) ? "offline" : "deconfig";
}

static const struct want_card *want_card(unsigned int card)
{
	for (size_t i = 0; i < NCARDS; i++)
		if (CARDS[i].card == card)
			return &CARDS[i];
	return NULL;
}

/* ---- the comparisons ---- */

static void compare_queue_rows(const struct table *t, bool verbose)
{
	int c_type = column(t, "TYPE"), c_mode = column(t, "MODE"), c_status = column(t, "STATUS"),
	    c_req = column(t, "REQUESTS");
	const char *cmd = verbose ? "lszcrypt -V" : "lszcrypt";

	for (size_t i = 0; i < NQUEUES; i++) {
		const struct want_queue *w = &QUEUES[i];
		const struct want_card *wc = want_card(w->apqn.card);
		json_object *q = status_queue(w->apqn);
		char id[16], req[24];
		int r;

		snprintf(id, sizeof(id), "%02x.%04x", w->apqn.card, w->apqn.domain);
		if (!ok(q != NULL, "%s: mkagent status shows %s", id, w->note))
			continue;
		r = find_row(t, id);
		if (!verbose && !json_object_object_get(q, "online")) {
			/* lszcrypt without -V skips queues zcrypt does not drive */
			ok(r < 0, "lszcrypt: %s (no online attribute) is not listed", id);
			continue;
		}
		if (!ok(r >= 0, "%s lists %s", cmd, id))
			continue;
		is_string(t->cell[r][c_type], jstr(q, "type"), "%s: %s TYPE is mkagent's type", cmd, id);
		is_string(t->cell[r][c_mode], mode_word(jstr(q, "mode")),
			  "%s: %s MODE is mkagent's mode (%s)", cmd, id, jstr(q, "mode"));
		is_string(t->cell[r][c_status], status_word(q),
			  "%s: %s STATUS agrees with mkagent's online %s, config %s, chkstop %s", cmd,
			  id, jstr(q, "online"), jstr(q, "config"), jstr(q, "chkstop"));
		is_string(t->cell[r][c_status], w->status, "%s: %s STATUS is %s for %s", cmd, id,
			  w->status, w->note);
		/* vfio_ap does not initiate the queue zcrypt let go: ap_queue.c
		 * prints its request_count as "-" */
		if (strcmp(w->driver, "vfio_ap") == 0)
			snprintf(req, sizeof(req), "-");
		else
			snprintf(req, sizeof(req), "%u", w->requests);
		is_string(t->cell[r][c_req], req, "%s: %s REQUESTS", cmd, id);
		if (!verbose)
			continue;
		snprintf(req, sizeof(req), "%d", w->requestq + w->pendingq);
		is_string(t->cell[r][column(t, "PENDING")], req, "lszcrypt -V: %s PENDING", id);
		is_string(t->cell[r][column(t, "HWTYPE")], wc->hwtype, "lszcrypt -V: %s HWTYPE", id);
		is_string(t->cell[r][column(t, "QDEPTH")], "09", "lszcrypt -V: %s QDEPTH (depth 8, plus 1)", id);
		is_string(t->cell[r][column(t, "FUNCTIONS")], wc->functions, "lszcrypt -V: %s FUNCTIONS", id);
		is_string(t->cell[r][column(t, "DRIVER")], w->driver, "lszcrypt -V: %s DRIVER", id);
	}
}

static void compare_card_rows(const struct table *t, bool verbose)
{
	const char *cmd = verbose ? "lszcrypt -V" : "lszcrypt";

	for (size_t i = 0; i < NCARDS; i++) {
		const struct want_card *wc = &CARDS[i];
		unsigned long long requests = 0;
		int pending = 0;
		json_object *q = NULL;
		char id[8], num[24];
		int r;

		for (size_t k = 0; k < NQUEUES; k++) {
			if (QUEUES[k].apqn.card != wc->card)
				continue;
			q = q ? q : status_queue(QUEUES[k].apqn);
			requests += QUEUES[k].requests;
			pending += QUEUES[k].requestq + QUEUES[k].pendingq;
		}
		snprintf(id, sizeof(id), "%02x", wc->card);
		r = find_row(t, id);
		if (!ok(r >= 0 && q, "%s lists card %s", cmd, id))
			continue;
		is_string(t->cell[r][column(t, "TYPE")], jstr(q, "type"),
			  "%s: card %s TYPE is its queues' type in mkagent", cmd, id);
		is_string(t->cell[r][column(t, "MODE")], mode_word(jstr(q, "mode")),
			  "%s: card %s MODE is its queues' mode in mkagent", cmd, id);
		is_string(t->cell[r][column(t, "STATUS")], "online", "%s: card %s STATUS", cmd, id);
		snprintf(num, sizeof(num), "%llu", requests);
		is_string(t->cell[r][column(t, "REQUESTS")], num,
			  "%s: card %s REQUESTS counts all its queues' requests", cmd, id);
		if (!verbose)
			continue;
		snprintf(num, sizeof(num), "%d", pending);
		is_string(t->cell[r][column(t, "PENDING")], num, "lszcrypt -V: card %s PENDING", id);
		is_string(t->cell[r][column(t, "HWTYPE")], wc->hwtype, "lszcrypt -V: card %s HWTYPE", id);
		is_string(t->cell[r][column(t, "QDEPTH")], "09", "lszcrypt -V: card %s QDEPTH", id);
		is_string(t->cell[r][column(t, "FUNCTIONS")], wc->functions, "lszcrypt -V: card %s FUNCTIONS", id);
		is_string(t->cell[r][column(t, "DRIVER")], "cex4card", "lszcrypt -V: card %s DRIVER", id);
	}
}

static void compare_listing(const char *opt)
{
	bool verbose = opt != NULL;
	const char *cmd = verbose ? "lszcrypt -V" : "lszcrypt";
	char *out = lszcrypt(opt), *copy = strdup(out);
	int queues = 0, failed_before = tap_exit_status();
	struct table t;

	if (!ok(parse_table(out, &t), "%s prints a table", cmd)) {
		diag("%s", copy);
		free(out);
		free(copy);
		return;
	}
	for (int r = 0; r < t.nrows; r++)
		queues += strchr(t.cell[r][0], '.') != NULL;
	is_int(t.nrows - queues, (long)NCARDS, "%s: one row per card", cmd);
	is_int(queues, verbose ? (long)NQUEUES : (long)NQUEUES - 1, "%s: one row per queue%s", cmd,
	       verbose ? "" : ", but the vfio_ap one");
	compare_card_rows(&t, verbose);
	compare_queue_rows(&t, verbose);
	if (!failed_before && tap_exit_status())
		diag("%s printed:\n%s", cmd, copy);
	free(out);
	free(copy);
}

/* -d: a 16 x 16 grid, U usage, C control, B both, . neither (lszcrypt.c
 * show_domains()). Every domain of mkagent's queues must be B. */
static void compare_domains(void)
{
	char *out = lszcrypt("-d"), *save = NULL, *line;
	char grid[256] = { 0 }, want[256];
	int rows = 0;

	memset(want, '.', sizeof(want));
	for (size_t i = 0; i < NQUEUES; i++) {
		json_object *q = status_queue(QUEUES[i].apqn);

		if (q)
			want[json_object_get_int(json_object_object_get(q, "domain"))] = 'B';
	}
	want[CONTROL_ONLY] = 'C';
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *words[18];
		unsigned int base;

		if (split(line, words, 18) != 17 || sscanf(words[0], "%x", &base) != 1 || base % 16 ||
		    base > 0xf0 || strlen(words[0]) != 2)
			continue;
		for (int k = 0; k < 16; k++)
			grid[base + (unsigned int)k] = words[k + 1][0];
		rows++;
	}
	is_int(rows, 16, "lszcrypt -d prints 16 rows of 16 domains");
	for (int d = 0; d < 256; d++)
		if (grid[d] != want[d])
			diag("domain %02x: lszcrypt -d shows %c, expected %c", d, grid[d] ? grid[d] : '?',
			     want[d]);
	ok(memcmp(grid, want, sizeof(want)) == 0,
	   "lszcrypt -d: mkagent's domains are usage and control domains (B), %02x control only (C), "
	   "no other",
	   CONTROL_ONLY);
	free(out);
}

/* -b: the bus attributes, as ap_bus.c prints them and lszcrypt.c
 * show_bus() words them. */
static void compare_bus(void)
{
	char *out = lszcrypt("-b");
	char want[512];

	snprintf(want, sizeof(want),
		 "ap_domain=0x%x\n"
		 "ap_max_domain_id=0xff\n"
		 "ap_interrupts are enabled\n"
		 "config_time=30 (seconds)\n"
		 "poll_thread is disabled\n"
		 "poll_timeout=250000 (nanoseconds)\n",
		 QUEUES[0].apqn.domain);
	is_string(out, want, "lszcrypt -b: the default domain is the first queue's, and the bus attributes");
	free(out);
}

int main(int argc, char **argv)
{
	struct run_result r;

	(void)argc;
	sysroot = getenv("MKAGENT_S390X_SYSROOT");
	if (!sysroot || !*sysroot)
		bail_out("MKAGENT_S390X_SYSROOT is not set: run this test with make interop-lszcrypt");
	sim = apsim_new(argv);
	build_testbed();

	run_mkagent(&r, "status", "--json", NULL);
	is_int(r.status, 0, "mkagent status --json exits 0");
	status_json = json_tokener_parse(r.out);
	if (!ok(status_json && json_object_object_get(status_json, "apqns"), "and prints JSON"))
		bail_out("no JSON from mkagent status: %s", r.err);
	is_int((long)json_object_array_length(json_object_object_get(status_json, "apqns")),
	       (long)NQUEUES, "mkagent status shows every queue of the testbed");
	run_result_free(&r);

	compare_listing(NULL);
	compare_listing("-V");
	compare_domains();
	compare_bus();

	json_object_put(status_json);
	apsim_free(sim);
	return done_testing();
}
