// SPDX-License-Identifier: MIT
/*
 * The bad input catalogue: malformed options, APQNs, patterns, IDs, state
 * files, configuration, profiles, mkvps texts and uevents, each with its
 * one-line message, its exit code, and the state directory unchanged.
 */
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"
#include "core/uevent.h"

#define GOOD_A "7D10D17BC8A409C4"

struct bad {
	const char *what;
	int status;
	const char *msg;
	const char *args[10];
};

/* Command-line input, against a live state directory. */
static const struct bad cli[] = {
	{ "no command", 2, "no command given", { NULL } },
	{ "unknown command", 2, "unknown command 'planx'", { "planx" } },
	{ "unknown global option", 2, "unknown option '--colour'", { "--colour", "list" } },
	{ "-v without a level", 2, "option '-v' needs a value", { "-v" } },
	{ "-v with a bad level", 2, "'chatty' is not none, error, warn", { "-v", "chatty", "list" } },
	{ "--config without a value", 2, "option '--config' needs a value", { "--config" } },
	{ "daemon --json without --once", 2, "--json goes with --once", { "daemon", "--json" } },
	{ "plan without -a", 2, "plan: -a/--apqns is required", { "plan", "-A", GOOD_A } },
	{ "plan without a pattern", 2, "plan: give at least one pattern (-s, -S, -A, -p or -e)", { "plan", "-a", "08.0033" } },
	{ "plan with a stray argument", 2, "plan: unexpected argument 'now'", { "plan", "-a", "08.0033", "-A", GOOD_A, "now" } },
	{ "plan with -i", 2, "plan: option -i/--id does not apply", { "plan", "-i", "ABC123" } },
	{ "plan with an unknown option", 2, "plan: unknown option '--frobnicate'", { "plan", "--frobnicate" } },
	{ "plan with cancel's --force", 2, "plan: option --force does not apply", { "plan", "--force" } },
	{ "empty APQN list", 2, "empty APQN list", { "plan", "-a", "", "-A", GOOD_A } },
	{ "APQN without a dot", 2, "APQN '080033' is not card.domain", { "plan", "-a", "080033", "-A", GOOD_A } },
	{ "APQN with letters", 2, "APQN 'xx.0033' is not card.domain", { "plan", "-a", "xx.0033", "-A", GOOD_A } },
	{ "APQN card too big", 2, "card 0x100 is above 0xff", { "plan", "-a", "100.0033", "-A", GOOD_A } },
	{ "APQN domain too big", 2, "domain 0x1ff is above 0xff", { "plan", "-a", "08.01ff", "-A", GOOD_A } },
	{ "APQN with 0x", 2, "APQN '0x8.0x33' is not card.domain", { "plan", "-a", "0x8.0x33", "-A", GOOD_A } },
	{ "APQN list with an empty item", 2, "empty item in APQN list", { "plan", "-a", "08.0033,,09.0033", "-A", GOOD_A } },
	{ "APQN listed twice", 2, "APQN 08.0033 is listed twice", { "plan", "-a", "8.33,08.0033", "-A", GOOD_A } },
	{ "APQN with a trailing comma", 2, "empty item in APQN list", { "plan", "-a", "08.0033,", "-A", GOOD_A } },
	{ "APQN with a blank", 2, "APQN '08.0033 ' is not card.domain", { "plan", "-a", "08.0033 ", "-A", GOOD_A } },
	{ "pattern too short", 2, "must be 8 bytes (16 hex digits), not 15 digits", { "plan", "-a", "08.0033", "-A", "7D10D17BC8A409C" } },
	{ "pattern too long", 2, "not 18 digits", { "plan", "-a", "08.0033", "-p", "7D10D17BC8A409C4AB" } },
	{ "pattern not hex", 2, "'Z' is not a hex digit", { "plan", "-a", "08.0033", "-S", "7D10D17BC8A409CZ" } },
	{ "pattern empty", 2, "not 0 digits", { "plan", "-a", "08.0033", "-s", "" } },
	{ "pattern 0x only", 2, "not 0 digits", { "plan", "-a", "08.0033", "-A", "0x" } },
	{ "EP11 pattern of CCA length", 2, "must be 16 bytes (32 hex digits)", { "plan", "-a", "0a.0033", "-e", GOOD_A } },
	{ "pattern given twice", 2, "-A/--cca-aes-mkvp is given twice", { "plan", "-a", "08.0033", "-A", GOOD_A, "-A", GOOD_A } },
	{ "pattern with a blank inside", 2, "' ' is not a hex digit", { "plan", "-a", "08.0033", "-A", "7D10D17B C8A409C" } },
	{ "ID too short", 2, "'ABC' is not an operation ID", { "finalize", "-i", "ABC" } },
	{ "ID with a slash", 2, "'../x12' is not an operation ID", { "cancel", "-i", "../x12" } },
	{ "ID too long", 2, "'ABCDEFG' is not an operation ID", { "list", "-i", "ABCDEFG" } },
	{ "finalize without -i", 2, "finalize: -i/--id is required", { "finalize" } },
	{ "reencipher -i with -a", 2, "-i/--id does not go with", { "reencipher", "-i", "ABC123", "-a", "08.0033" } },
	{ "helper without a phase", 2, "helper: give PROFILE, PHASE and -i ID", { "helper", "p", "-i", "ABC123" } },
	{ "helper with a third argument", 2, "helper: unexpected argument 'now'", { "helper", "p", "finalize", "now", "-i", "ABC123" } },
	{ "finalize with a stray argument", 2, "finalize: unexpected argument 'now'", { "finalize", "-i", "ABC123", "now" } },
	{ "list with a stray argument", 2, "list: unexpected argument 'x'", { "list", "x" } },
	{ "rules with two verbs", 2, "rules: unexpected argument 'remove'", { "rules", "install", "remove" } },
	{ "helper with a bad phase", 2, "'rotate' is not a phase", { "helper", "p", "rotate", "-i", "ABC123" } },
	{ "helper with a bad profile name", 2, "'../p' is not a profile name", { "helper", "../p", "finalize", "-i", "ABC123" } },
	{ "--profiles with a bad name", 2, "--profiles: '../x' is not a profile name", { "plan", "-a", "08.0033", "-A", GOOD_A, "--profiles", "../x" } },
	{ "status -a malformed", 2, "status: -a/--apqns:", { "status", "-a", "8" } },
	{ "rules without a verb", 2, "rules: say install or remove", { "rules" } },
	{ "daemon with an argument", 2, "daemon: unexpected argument 'x'", { "daemon", "x" } },
	{ "unknown operation", 1, "operation ZZZ999 does not exist", { "finalize", "-i", "ZZZ999" } },
	{ "unknown profile", 1, "profile nope does not exist", { "plan", "-a", "08.0033", "-A", GOOD_A, "--profiles", "nope" } },
	{ "APQN not on the bus", 1, "APQN 0F.0033 is not on the AP bus", { "plan", "-a", "0f.0033", "-A", GOOD_A } },
	{ "CCA pattern for EP11", 1, "APQN 0A.0033 is an EP11 queue: cca-aes needs CCA (CEXnC) queues", { "plan", "-a", "0a.0033", "-A", GOOD_A } },
	{ "EP11 pattern for CCA", 1, "APQN 08.0033 is a CCA queue: ep11 needs EP11 (CEXnP) queues", { "plan", "-a", "08.0033", "-e", GOOD_A GOOD_A } },
	{ "CCA SYM without a query helper", 1, ": sysfs does not show the CCA SYM registers", { "plan", "-a", "08.0033", "-s", GOOD_A } },
	{ "status of a missing APQN", 1, "APQN 0F.0001 not on the AP bus", { "status", "-a", "0f.0001" } },
};

static void run_bad(const struct bad *b)
{
	char *argv[16], *before = snapshot_dir(state), *after;
	struct run_result r;
	int n = 0;

	argv[n++] = strdup(build_path("agent/mkagent"));
	for (int i = 0; i < 10 && b->args[i]; i++)
		argv[n++] = (char *)b->args[i];
	argv[n] = NULL;
	run_argv(&r, argv);
	free(argv[0]);
	after = snapshot_dir(state);
	ok(r.status == b->status && strstr(r.err, b->msg) && count_lines(r.err) == 1 &&
		   strcmp(before, after) == 0,
	   "%s: exit %d, '%s', nothing changed", b->what, b->status, b->msg);
	if (r.status != b->status || !strstr(r.err, b->msg) || count_lines(r.err) != 1 ||
	    strcmp(before, after) != 0)
		diag("exit %d, stderr: %s\nbefore:\n%s\nafter:\n%s", r.status, r.err, before, after);
	run_result_free(&r);
	free(before);
	free(after);
}

/* Files: a state file, the configuration or a profile with @text. */
struct bad_file {
	const char *what;
	const char *where; /* "ops", "conf", "profile" */
	const char *text;
	const char *msg;
};

#define OPHEAD "[operation]\nid = BAD001\n"
static const struct bad_file files[] = {
	{ "a truncated state file", "ops", OPHEAD "state = plan", "no final newline (truncated?)" },
	{ "an empty state file", "ops", "", "line 1: the file is empty" },
	{ "an unknown state", "ops", OPHEAD "state = dreaming\n", "line 3: unknown state 'dreaming'" },
	{ "an unknown key", "ops", OPHEAD "owner = me\n", "line 3: unknown key 'owner' in [operation]" },
	{ "an unknown section", "ops", OPHEAD "[extra]\nx = 1\n", "unknown section [extra]" },
	{ "a state file with a NUL", "ops", OPHEAD "state = \0planned\n", "line 3: contains a NUL byte" },
	{ "a wrong ID inside", "ops", "[operation]\nid = OTHER1\nstate = planned\ncreated = 2026-11-22T10:00:00Z\n"
	  "updated = 2026-11-22T10:00:00Z\nauto-finalize = no\nreason =\n[apqns]\napqn = 08.0033\n[new-mkvps]\n"
	  "cca-aes = " GOOD_A "\n", "id 'OTHER1' does not match the file name" },
	{ "a bad APQN in a state file", "ops", OPHEAD "state = planned\n[apqns]\napqn = 1000.0\n", "card 0x1000 is above 0xff" },
	{ "a bad time", "ops", OPHEAD "created = now\n", "'now' is not an ISO-8601 UTC time" },
	{ "a continuation line", "ops", OPHEAD " state = planned\n", "line 3: starts with a blank" },
	{ "a bad poll-interval", "conf", "[agent]\npoll-interval = never\n", "poll-interval must be 1 to 86400 seconds" },
	{ "a bad event source", "conf", "[agent]\nevent-source = carrier-pigeon\n", "event-source must be udev or kernel" },
	{ "an unknown config key", "conf", "[agent]\nspeed = fast\n", "unknown key 'speed' in [agent]" },
	{ "an unknown config section", "conf", "[daemon]\nx = 1\n", "unknown section [daemon]" },
	{ "a relative helper", "conf", "[pin]\nhelper = pinhelper\n", "must be an absolute path" },
	{ "a bad auto-finalize", "conf", "[agent]\nauto-finalize = perhaps\n", "auto-finalize must be yes or no" },
	{ "a relative metrics textfile", "conf", "[metrics]\ntextfile = node/mkagent.prom\n", "[metrics] textfile must be an absolute path" },
	{ "a profile without mk-types", "profile", "[profile]\npin = no\n[reencipher]\nexec = /bin/true\n", "no mk-types in [profile]" },
	{ "a profile with an unknown type", "profile", "[profile]\nmk-types = cca-rsa\n", "unknown MK type 'cca-rsa'" },
	{ "a profile with a relative exec", "profile", "[profile]\nmk-types = ep11\n[finalize]\nexec = true\n", "exec must start with an absolute path" },
	{ "a profile with no phase", "profile", "[profile]\nmk-types = ep11\n", "no phase has an exec" },
	{ "a profile with a bad timeout", "profile", "[profile]\nmk-types = ep11\n[finalize]\nexec = /bin/true\ntimeout = 0\n", "timeout must be 1 to 86400 seconds" },
	{ "a profile with an unknown phase", "profile", "[profile]\nmk-types = ep11\n[rotate]\nexec = /bin/true\n", "unknown section [rotate]" },
	{ "a profile with a long line", "profile", "[profile]\nmk-types = ep11\ndescription = " "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\n", "longer than 198 characters" },
};

static void run_bad_file(const struct bad_file *f)
{
	char path[4200], *before, *after, conf[4200];
	struct run_result r;
	const char *old_conf = getenv("MKAGENT_CONFIG");
	size_t len = strlen(f->text);

	snprintf(conf, sizeof(conf), "%s", old_conf ? old_conf : "");
	if (streq(f->where, "ops")) {
		snprintf(path, sizeof(path), "%s/ops/BAD001.ini", state);
		if (streq(f->what, "a state file with a NUL"))
			len = strlen(OPHEAD) + 22;
	} else if (streq(f->where, "conf")) {
		snprintf(path, sizeof(path), "%s/bad.conf", tmp);
		setenv("MKAGENT_CONFIG", path, 1);
	} else {
		snprintf(path, sizeof(path), "%s/broken.profile", profiles);
	}
	{
		FILE *fp = fopen(path, "w");

		fwrite(f->text, 1, len, fp);
		fclose(fp);
	}
	before = snapshot_dir(state);
	if (streq(f->where, "ops"))
		mk(&r, "finalize", "-i", "BAD001", NULL);
	else
		mk(&r, "plan", "-a", "08.0033", "-A", GOOD_A, NULL);
	after = snapshot_dir(state);
	{
		/* mk() runs at debug level: the refusal is its last line */
		const char *last = r.err;

		for (const char *p = r.err; *p; p++)
			if (*p == '\n' && p[1])
				last = p + 1;
		ok(r.status == 1 && strstr(last, f->msg) && strstr(last, streq(f->where, "ops") ? "BAD001.ini" :
									 streq(f->where, "conf") ? "bad.conf" : "broken.profile") &&
			   strcmp(before, after) == 0,
		   "%s: exit 1 naming the file: '%s', nothing changed", f->what, f->msg);
		if (r.status != 1 || !strstr(last, f->msg))
			diag("exit %d, stderr: %s", r.status, r.err);
	}
	run_result_free(&r);
	free(before);
	free(after);
	unlink(path);
	if (streq(f->where, "conf"))
		setenv("MKAGENT_CONFIG", conf, 1);
}

int main(int argc, char **argv)
{
	char path[4200];
	int count = 0;

	(void)argc;
	fixture_setup(argv);
	for (size_t i = 0; i < sizeof(cli) / sizeof(cli[0]); i++, count++)
		run_bad(&cli[i]);
	ok(access(state, F_OK) != 0, "no refusal made the state directory");
	for (const char *const *d = (const char *const[]){ "", "/ops", "/history", "/work", NULL }; *d; d++) {
		snprintf(path, sizeof(path), "%s%s", state, *d);
		mkdir(path, streq(*d, "/work") ? 0700 : 0755);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++, count++)
		run_bad_file(&files[i]);

	/* daemon --once with a file it cannot read: the pass is still told, exit 1 */
	{
		struct run_result r;

		snprintf(path, sizeof(path), "%s/ops/ZZZZZZ.ini", state);
		write_text(path, 0644, "[operation]\nthis is not an operation\n");
		run_mkagent(&r, "-v", "none", "daemon", "--once", "--json", NULL);
		ok(r.status == 1 && strstr(r.out, "\"operations\": [") && count_lines(r.err) == 1 &&
			   strstr(r.err, "ZZZZZZ.ini"),
		   "daemon --once --json, an operation file unreadable: exit 1, the file named, "
		   "the pass still printed");
		if (r.status != 1 || !strstr(r.out, "\"operations\""))
			diag("exit %d, stdout: %s, stderr: %s", r.status, r.out, r.err);
		run_result_free(&r);
		unlink(path);
		count++;
	}

	/* a --profiles list longer than any fixed buffer: every name is checked */
	{
		char list[2048] = "", name[64], *before, *after;
		struct run_result r;
		size_t len = 0;
		int n = 0;

		while (len < 1100) {
			snprintf(name, sizeof(name), "a-consumer-with-a-rather-long-name-%02d", n++);
			write_profile(name, "cca-aes", false, "/bin/true", NULL);
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s,", name);
		}
		snprintf(list + len, sizeof(list) - len, "nope");
		before = snapshot_dir(state);
		run_mkagent(&r, "plan", "-a", "08.0033", "-A", GOOD_A, "--profiles", list, NULL);
		after = snapshot_dir(state);
		ok(r.status == 1 && streq(r.err, "mkagent: plan: profile nope does not exist\n") &&
			   streq(before, after),
		   "--profiles of %zu bytes: the last name is checked too, nothing changed", len + 4);
		if (r.status != 1 || !streq(r.err, "mkagent: plan: profile nope does not exist\n"))
			diag("exit %d, stderr: %s", r.status, r.err);
		run_result_free(&r);
		free(before);
		free(after);
		while (n--) {
			snprintf(path, sizeof(path), "%s/a-consumer-with-a-rather-long-name-%02d.profile",
				 profiles, n);
			unlink(path);
		}
		count++;
	}

	/* mkvps text as a queue could show it */
	{
		static const struct {
			const char *text, *msg;
		} mkvps[] = {
			{ "AES NEW: full\nAES CUR: - -\nAES OLD: - -\n", "mkvps line 1: malformed: 'AES NEW: full'" },
			{ "AES NEW: - -\nAES CUR: valid 0x12\nAES OLD: - -\n", "mkvps line 2: malformed" },
			{ "AES NEW: - -\nAES OLD: - -\n", "mkvps: no 'AES CUR:' line" },
			{ "WK CUR: valid -\nWK NEW: empty -\n", "mkvps line 1: malformed: 'WK CUR: valid -'" },
			{ "WK CUR: - -\nWK NEW: - -\nAES NEW: - -\nAES CUR: - -\nAES OLD: - -\n", "both CCA and EP11" },
			{ "AES NEW: - -\nAES NEW: - -\n", "mkvps line 2: repeated" },
		};

		snprintf(path, sizeof(path), "%s/sys/devices/ap/card08/08.0033/mkvps", apsim_root(sim));
		for (size_t i = 0; i < sizeof(mkvps) / sizeof(mkvps[0]); i++, count++) {
			struct run_result r;

			write_text(path, 0644, "%s", mkvps[i].text);
			run_mkagent(&r, "status", "-a", "08.0033", NULL);
			ok(r.status == 1 && strstr(r.err, mkvps[i].msg) && strstr(r.err, "08.0033"),
			   "mkvps text %zu: exit 1, '%s'", i, mkvps[i].msg);
			run_result_free(&r);
		}
		apsim_set_online(sim, CCA[0], true); /* the simulator writes it right again */
	}

	/* uevents as the kernel socket could deliver them */
	{
		static const struct {
			const char *buf;
			size_t len;
			const char *msg;
		} ue[] = {
			{ "garbage", 7, "uevent: not NUL-terminated" },
			{ "nothing\0SUBSYSTEM=ap", 21, "uevent: no ACTION@DEVPATH header" },
			{ "change@/devices/ap\0SUBSYSTEM=ap\0NOEQUALS", 42, "uevent: property 'NOEQUALS' has no '='" },
			{ "change@/devices/ap\0ACTION=add\0SUBSYSTEM=ap", 42, "uevent: ACTION= differs from the header" },
			{ "change@relative\0SUBSYSTEM=ap", 29, "uevent: no ACTION@DEVPATH header" },
		};

		for (size_t i = 0; i < sizeof(ue) / sizeof(ue[0]); i++, count++) {
			struct uevent u;
			struct errmsg e = { "" };
			int rc = uevent_parse_kernel(ue[i].buf, ue[i].len, &u, &e);

			ok(rc == -EINVAL && streq(e.text, ue[i].msg), "uevent %zu: '%s'", i, ue[i].msg);
			if (rc != -EINVAL || !streq(e.text, ue[i].msg))
				diag("got %d '%s'", rc, e.text);
		}
	}
	diag("bad inputs in the catalogue: %d", count);
	ok(count >= 60, "the catalogue has at least 60 inputs (%d)", count);
	apsim_free(sim);
	return done_testing();
}
