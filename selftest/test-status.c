// SPDX-License-Identifier: MIT
/* `mkagent status` on simulated AP buses (umockdev + apsim). */
#include <unistd.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>

#include "io/apbus.h"
#include "apsim.h"
#include "run.h"
#include "tap.h"

static struct apsim *sim;

static struct apqn Q(unsigned int card, unsigned int domain)
{
	return (struct apqn){ (uint8_t)card, (uint8_t)domain };
}

/* The quoted pattern a register shows, or null. */
static const char *pattern(struct apqn a, enum mk_type t, enum mk_reg r)
{
	static char bufs[16][MKVP_STR_MAX + 2];
	static int next;
	char *buf = bufs[next++ % 16];
	char hex[MKVP_STR_MAX];
	struct apsim_key k;
	struct mkvp p;

	if (apsim_get_key(sim, a, t, r, &k) < 0)
		return "null";
	apsim_key_mkvp(t, &k, &p);
	snprintf(buf, MKVP_STR_MAX + 2, "\"%s\"", mkvp_format(&p, hex));
	return buf;
}

static struct apsim_key fixed_key(enum mk_type t, uint8_t byte)
{
	struct apsim_key k;

	apsim_random_key(t, &k);
	memset(k.b, byte, k.len);
	return k;
}

static bool json_is(const char *got, const char *want, const char *what)
{
	json_object *g = json_tokener_parse(got), *w = json_tokener_parse(want);
	bool same = g && w && json_object_equal(g, w);

	if (!ok(same, "%s", what)) {
		diag("got:\n%s", got);
		diag("expected:\n%s", w ? json_object_to_json_string(w) : "(expected JSON is invalid)");
	}
	json_object_put(g);
	json_object_put(w);
	return same;
}

static void build_bus(void)
{
	struct apsim_key k;

	apsim_add_card(sim, 0x08, "CEX7C");
	apsim_add_queue(sim, Q(0x08, 0x33));
	apsim_add_queue(sim, Q(0x08, 0x34));
	apsim_add_queue(sim, Q(0x08, 0x35));
	apsim_add_queue(sim, Q(0x08, 0x36));
	apsim_add_card(sim, 0x0a, "CEX8P");
	apsim_add_queue(sim, Q(0x0a, 0x33));
	apsim_add_queue(sim, Q(0x0a, 0x34));
	apsim_add_queue(sim, Q(0x0a, 0x35));
	apsim_add_queue(sim, Q(0x0a, 0x36));
	apsim_add_card(sim, 0x0c, "CEX7A");
	apsim_add_queue(sim, Q(0x0c, 0x33));

	k = fixed_key(MK_CCA_AES, 0xa1);
	apsim_load(sim, Q(0x08, 0x33), MK_CCA_AES, &k);
	k = fixed_key(MK_CCA_ASYM, 0xa2);
	apsim_load_part(sim, Q(0x08, 0x33), MK_CCA_ASYM, &k);
	apsim_set_chkstop(sim, Q(0x08, 0x34), true);
	apsim_bind(sim, Q(0x08, 0x35), "vfio_ap");
	apsim_set_config(sim, Q(0x08, 0x36), false);
	k = fixed_key(MK_EP11, 0xe1);
	apsim_load(sim, Q(0x0a, 0x33), MK_EP11, &k);
	apsim_load_part(sim, Q(0x0a, 0x34), MK_EP11, &k);
	apsim_zeroize(sim, Q(0x0a, 0x35));
	apsim_set_online(sim, Q(0x0a, 0x36), false);
}

#define CCA_UNKNOWN                                                                              \
	"{\"new\": {\"state\": null, \"mkvp\": null}, \"cur\": {\"state\": null, \"mkvp\": null}," \
	" \"old\": {\"state\": null, \"mkvp\": null}}"

static void json_whole_bus(void)
{
	struct apqn a = Q(0x08, 0x33), e = Q(0x0a, 0x33), u = Q(0x0a, 0x34), z = Q(0x0a, 0x35),
		    off = Q(0x0a, 0x36);
	struct run_result r;
	char *want;

	if (asprintf(&want,
		"{\"apqns\": ["
		"{\"apqn\": \"08.0033\", \"card\": 8, \"domain\": 51, \"type\": \"CEX7C\", \"mode\": \"cca\","
		" \"online\": true, \"config\": true, \"chkstop\": false, \"registers\": {"
		"\"cca-asym\": {\"new\": {\"state\": \"partial\", \"mkvp\": null},"
		"  \"cur\": {\"state\": \"valid\", \"mkvp\": %s}, \"old\": {\"state\": \"invalid\", \"mkvp\": null}},"
		"\"cca-aes\": {\"new\": {\"state\": \"full\", \"mkvp\": %s},"
		"  \"cur\": {\"state\": \"valid\", \"mkvp\": %s}, \"old\": {\"state\": \"invalid\", \"mkvp\": null}},"
		"\"cca-apka\": {\"new\": {\"state\": \"empty\", \"mkvp\": null},"
		"  \"cur\": {\"state\": \"valid\", \"mkvp\": %s}, \"old\": {\"state\": \"invalid\", \"mkvp\": null}}}},"
		"{\"apqn\": \"08.0034\", \"card\": 8, \"domain\": 52, \"type\": \"CEX7C\", \"mode\": \"cca\","
		" \"online\": false, \"config\": true, \"chkstop\": true, \"registers\": {"
		"\"cca-asym\": " CCA_UNKNOWN ", \"cca-aes\": " CCA_UNKNOWN ", \"cca-apka\": " CCA_UNKNOWN "}},"
		"{\"apqn\": \"08.0035\", \"card\": 8, \"domain\": 53, \"type\": \"CEX7C\", \"mode\": \"cca\","
		" \"online\": null, \"config\": true, \"chkstop\": false, \"registers\": {}},"
		"{\"apqn\": \"08.0036\", \"card\": 8, \"domain\": 54, \"type\": \"CEX7C\", \"mode\": \"cca\","
		" \"online\": false, \"config\": false, \"chkstop\": false, \"registers\": {"
		"\"cca-asym\": " CCA_UNKNOWN ", \"cca-aes\": " CCA_UNKNOWN ", \"cca-apka\": " CCA_UNKNOWN "}},"
		"{\"apqn\": \"0A.0033\", \"card\": 10, \"domain\": 51, \"type\": \"CEX8P\", \"mode\": \"ep11\","
		" \"online\": true, \"config\": true, \"chkstop\": false, \"registers\": {"
		"\"ep11\": {\"new\": {\"state\": \"committed\", \"mkvp\": %s}, \"cur\": {\"state\": \"valid\", \"mkvp\": %s}}}},"
		"{\"apqn\": \"0A.0034\", \"card\": 10, \"domain\": 52, \"type\": \"CEX8P\", \"mode\": \"ep11\","
		" \"online\": true, \"config\": true, \"chkstop\": false, \"registers\": {"
		"\"ep11\": {\"new\": {\"state\": \"uncommitted\", \"mkvp\": null}, \"cur\": {\"state\": \"valid\", \"mkvp\": %s}}}},"
		"{\"apqn\": \"0A.0035\", \"card\": 10, \"domain\": 53, \"type\": \"CEX8P\", \"mode\": \"ep11\","
		" \"online\": true, \"config\": true, \"chkstop\": false, \"registers\": {"
		"\"ep11\": {\"new\": {\"state\": \"empty\", \"mkvp\": null}, \"cur\": {\"state\": \"invalid\", \"mkvp\": null}}}},"
		"{\"apqn\": \"0A.0036\", \"card\": 10, \"domain\": 54, \"type\": \"CEX8P\", \"mode\": \"ep11\","
		" \"online\": false, \"config\": true, \"chkstop\": false, \"registers\": {"
		"\"ep11\": {\"new\": {\"state\": null, \"mkvp\": null}, \"cur\": {\"state\": null, \"mkvp\": null}}}},"
		"{\"apqn\": \"0C.0033\", \"card\": 12, \"domain\": 51, \"type\": \"CEX7A\", \"mode\": \"accel\","
		" \"online\": true, \"config\": true, \"chkstop\": false, \"registers\": {}}"
		"]}",
		pattern(a, MK_CCA_ASYM, REG_CUR), pattern(a, MK_CCA_AES, REG_NEW),
		pattern(a, MK_CCA_AES, REG_CUR), pattern(a, MK_CCA_APKA, REG_CUR),
		pattern(e, MK_EP11, REG_NEW), pattern(e, MK_EP11, REG_CUR),
		pattern(u, MK_EP11, REG_CUR)) < 0)
		bail_out("out of memory");
	(void)z;
	(void)off;
	run_mkagent(&r, "status", "--json", NULL);
	is_int(r.status, 0, "status --json exits 0");
	is_string(r.err, "", "and prints nothing on stderr");
	json_is(r.out, want, "status --json is the DESIGN §7 JSON of every queue");
	run_result_free(&r);
	free(want);
}

static void json_six_lines(void)
{
	struct apqn a = Q(0x08, 0x33);
	struct run_result r;
	char *want;

	apsim_set_asym_lines(sim, false);
	if (asprintf(&want,
		"{\"apqns\": [{\"apqn\": \"08.0033\", \"card\": 8, \"domain\": 51, \"type\": \"CEX7C\","
		" \"mode\": \"cca\", \"online\": true, \"config\": true, \"chkstop\": false, \"registers\": {"
		"\"cca-aes\": {\"new\": {\"state\": \"full\", \"mkvp\": %s},"
		"  \"cur\": {\"state\": \"valid\", \"mkvp\": %s}, \"old\": {\"state\": \"invalid\", \"mkvp\": null}},"
		"\"cca-apka\": {\"new\": {\"state\": \"empty\", \"mkvp\": null},"
		"  \"cur\": {\"state\": \"valid\", \"mkvp\": %s}, \"old\": {\"state\": \"invalid\", \"mkvp\": null}}}}]}",
		pattern(a, MK_CCA_AES, REG_NEW), pattern(a, MK_CCA_AES, REG_CUR),
		pattern(a, MK_CCA_APKA, REG_CUR)) < 0)
		bail_out("out of memory");
	run_mkagent(&r, "status", "-a", "8.33", "--json", NULL);
	is_int(r.status, 0, "status on a kernel before 5.19 exits 0");
	json_is(r.out, want, "a 6-line mkvps has no cca-asym registers");
	run_result_free(&r);
	free(want);
	apsim_set_asym_lines(sim, true);
}

static void plain_table(void)
{
	struct run_result r;
	char line[256];

	run_mkagent(&r, "status", NULL);
	if (!is_int(r.status, 0, "plain status exits 0"))
		diag("%s", r.out);
	ok(strncmp(r.out, "APQN     TYPE   MODE   ONLINE    MK TYPE   NEW", 46) == 0,
	   "the table starts with its header");
	ok(strstr(r.out, "\n08.0033  CEX7C  cca    yes       cca-asym  partial") != NULL,
	   "a CCA queue's first row names it");
	snprintf(line, sizeof(line), "\n                                 cca-aes   full %.16s",
		 pattern(Q(8, 0x33), MK_CCA_AES, REG_NEW) + 1);
	ok(strstr(r.out, line) != NULL, "its next row shows NEW full and the pattern");
	ok(strstr(r.out, "\n08.0034  CEX7C  cca    chkstop   cca-asym  -      ") != NULL,
	   "a check-stopped queue shows unknown registers");
	ok(strstr(r.out, "\n08.0035  CEX7C  cca    -         -\n") != NULL,
	   "a vfio_ap queue has no online state and no registers");
	ok(strstr(r.out, "\n08.0036  CEX7C  cca    deconfig  cca-asym") != NULL,
	   "a deconfigured queue says so");
	ok(strstr(r.out, "\n0A.0036  CEX8P  ep11   no        ep11") != NULL,
	   "an offline queue says no");
	snprintf(line, sizeof(line), "\n0A.0033  CEX8P  ep11   yes       ep11      committed %.32s",
		 pattern(Q(0x0a, 0x33), MK_EP11, REG_NEW) + 1);
	ok(strstr(r.out, line) != NULL, "EP11 patterns are cut to the 16 bytes -e takes");
	ok(strstr(r.out, "\n0C.0033  CEX7A  accel  yes       -\n") != NULL, "an accelerator row");
	ok(strstr(r.out, "\nKernel modules: ap loaded, zcrypt loaded, zcrypt_cex4 loaded, pkey loaded\n") != NULL,
	   "module states close the table");
	run_result_free(&r);

	apsim_set_module(sim, "pkey", NULL);
	apsim_set_module(sim, "zcrypt_cex4", "coming");
	run_mkagent(&r, "status", "-a", "0c.0033", NULL);
	ok(strstr(r.out, "Kernel modules: ap loaded, zcrypt loaded, zcrypt_cex4 loading, pkey missing\n") != NULL,
	   "a missing and a loading module are reported");
	run_result_free(&r);
	apsim_set_module(sim, "pkey", "live");
	apsim_set_module(sim, "zcrypt_cex4", "live");
}

static void refusals(void)
{
	struct run_result r;
	int before = apsim_mkvps_reads_total(sim);

	run_mkagent(&r, "status", "-a", "08.0033,0f.0033", NULL);
	is_int(r.status, 1, "-a with an APQN that does not exist exits 1");
	is_string(r.err, "mkagent: status: APQN 0F.0033 not on the AP bus\n", "naming it in one line");
	is_string(r.out, "", "and prints no table");
	run_result_free(&r);

	run_mkagent(&r, "status", "-a", "0f.0033,10.0001", "--json", NULL);
	is_string(r.err, "mkagent: status: APQNs 0F.0033, 10.0001 not on the AP bus\n",
		  "several missing APQNs are named together");
	run_result_free(&r);

	run_mkagent(&r, "status", "-a", "08.0033,8.33", NULL);
	is_int(r.status, 2, "a malformed -a exits 2");
	is_string(r.err, "mkagent: status: -a/--apqns: APQN 08.0033 is listed twice\n", "with its reason");
	run_result_free(&r);

	run_mkagent(&r, "status", "--bogus", NULL);
	is_int(r.status, 2, "an unknown option exits 2");
	is_string(r.err, "mkagent: status: unknown option '--bogus' (see mkagent status --help)\n",
		  "naming the option");
	run_result_free(&r);

	run_mkagent(&r, "status", "-a", NULL);
	is_int(r.status, 2, "-a without a value exits 2");
	is_string(r.err, "mkagent: status: option '-a' needs a value\n", "naming the option");
	run_result_free(&r);

	is_int(apsim_mkvps_reads_total(sim) - before, 0, "refused commands read no mkvps");
}

/* The registers of one MK type of the only queue in a status --json. */
static bool registers_are(const char *out, const char *type, const char *want, const char *what)
{
	json_object *root = json_tokener_parse(out), *q, *regs, *t = NULL;
	bool found = root && json_object_object_get_ex(root, "apqns", &q) &&
		     (q = json_object_array_get_idx(q, 0)) &&
		     json_object_object_get_ex(q, "registers", &regs) &&
		     json_object_object_get_ex(regs, type, &t);
	bool same = found && json_is(json_object_to_json_string(t), want, what);

	if (!found)
		ok(false, "%s (no %s registers in the output)", what, type);
	json_object_put(root);
	return same;
}

static void tke_shows_up(void)
{
	struct apqn a = Q(0x08, 0x33);
	struct apsim_key k = fixed_key(MK_CCA_APKA, 0x5a);
	char *want_loaded, *want_active;
	const char *old_cur = pattern(a, MK_CCA_APKA, REG_CUR);
	struct run_result r;

	apsim_load(sim, a, MK_CCA_APKA, &k);
	if (asprintf(&want_loaded,
		     "{\"new\": {\"state\": \"full\", \"mkvp\": %s}, \"cur\": {\"state\": \"valid\", "
		     "\"mkvp\": %s}, \"old\": {\"state\": \"invalid\", \"mkvp\": null}}",
		     pattern(a, MK_CCA_APKA, REG_NEW), old_cur) < 0 ||
	    asprintf(&want_active,
		     "{\"new\": {\"state\": \"empty\", \"mkvp\": null}, \"cur\": {\"state\": \"valid\", "
		     "\"mkvp\": %s}, \"old\": {\"state\": \"valid\", \"mkvp\": %s}}",
		     pattern(a, MK_CCA_APKA, REG_NEW), old_cur) < 0)
		bail_out("out of memory");
	run_mkagent(&r, "status", "-a", "08.0033", "--json", NULL);
	registers_are(r.out, "cca-apka", want_loaded, "a TKE load shows as NEW full with its pattern");
	run_result_free(&r);

	apsim_activate(sim, a, MK_CCA_APKA);
	run_mkagent(&r, "status", "-a", "08.0033", "--json", NULL);
	registers_are(r.out, "cca-apka", want_active,
		      "activation moves OLD <- CUR <- NEW and empties NEW");
	run_result_free(&r);
	free(want_loaded);
	free(want_active);
}

static void reads_counted(void)
{
	struct run_result r;
	int before = apsim_mkvps_reads_total(sim);
	int one = apsim_mkvps_reads(sim, Q(0x0a, 0x33));

	run_mkagent(&r, "status", "-a", "0a.0033", NULL);
	is_int(apsim_mkvps_reads(sim, Q(0x0a, 0x33)) - one, 1, "status -a X reads X's mkvps once");
	is_int(apsim_mkvps_reads_total(sim) - before, 1, "and no other queue's");
	run_result_free(&r);

	before = apsim_mkvps_reads_total(sim);
	run_mkagent(&r, "status", "--json", NULL);
	/* 08.0035 (vfio_ap) and 0C.0033 (accelerator) have no mkvps */
	is_int(apsim_mkvps_reads_total(sim) - before, 7, "status reads each queue with mkvps once");
	run_result_free(&r);
}

static void malformed_mkvps(void)
{
	char path[4096];
	FILE *f;
	struct run_result r;

	snprintf(path, sizeof(path), "%s/sys/devices/ap/card0a/0a.0033/mkvps", apsim_root(sim));
	f = fopen(path, "w");
	fputs("WK CUR: valid 0x12\nWK NEW: empty -\n", f);
	fclose(f);
	run_mkagent(&r, "status", "-a", "0a.0033", NULL);
	is_int(r.status, 1, "a malformed mkvps makes status exit 1");
	is_string(r.err, "mkagent: status: 0A.0033: mkvps line 1: malformed: 'WK CUR: valid 0x12'\n",
		  "naming the queue, the line and its text");
	ok(strstr(r.out, "\n0A.0033  CEX8P  ep11  yes     ?\n") != NULL,
	   "the table marks the queue's registers unknown");
	run_result_free(&r);
	apsim_set_online(sim, Q(0x0a, 0x33), true); /* rewrites mkvps */
}

static void mode_fallback(void)
{
	char path[4096];
	struct run_result r;

	snprintf(path, sizeof(path), "%s/sys/devices/ap/card0c/type", apsim_root(sim));
	unlink(path);
	run_mkagent(&r, "status", "-a", "0c.0033", "--json", NULL);
	ok(strstr(r.out, "\"type\": null") && strstr(r.out, "\"mode\": \"accel\""),
	   "without a card type, the mode comes from ap_functions");
	run_result_free(&r);

	is_int(ap_mode_from_card("CEX8C", NULL), AP_MODE_CCA, "CEX8C is CCA");
	is_int(ap_mode_from_card("CEX7P", "0x08000000"), AP_MODE_EP11, "the type wins over functions");
	is_int(ap_mode_from_card(NULL, "0x92000000"), AP_MODE_CCA, "0x10000000 is CCA");
	is_int(ap_mode_from_card("", "0x06000000"), AP_MODE_EP11, "0x04000000 is EP11");
	is_int(ap_mode_from_card("bogus", "nothex"), AP_MODE_UNKNOWN, "garbage is unknown");
}

static void empty_bus(char **argv)
{
	struct apsim *empty = apsim_new(argv);
	struct apsim *keep = sim;
	struct run_result r;

	/* a second testbed replaces the first for children started now */
	setenv("UMOCKDEV_DIR", apsim_root(empty), 1);
	run_mkagent(&r, "status", "--json", NULL);
	json_is(r.out, "{\"apqns\": []}", "an empty bus is an empty list");
	run_result_free(&r);
	run_mkagent(&r, "status", NULL);
	ok(strncmp(r.out, "No AP queues found.\n", 20) == 0, "and says so in plain form");
	run_result_free(&r);
	apsim_free(empty);
	setenv("UMOCKDEV_DIR", apsim_root(keep), 1);
}

int main(int argc, char **argv)
{
	(void)argc;
	sim = apsim_new(argv);
	if (!sim)
		bail_out("cannot create the AP testbed");
	build_bus();
	json_whole_bus();
	json_six_lines();
	plain_table();
	refusals();
	tke_shows_up();
	reads_counted();
	malformed_mkvps();
	mode_fallback();
	empty_bus(argv);
	apsim_free(sim);
	return done_testing();
}
