// SPDX-License-Identifier: MIT
/* Operation files: the INI of DESIGN §4 both ways, and every way a file
 * can be corrupt, each reported with its line. */
#include <errno.h>

#include "core/op.h"
#include "tap.h"

static const char good[] = "[operation]\n"
			   "id = uNA5QP\n"
			   "state = reenciphered\n"
			   "created = 2026-11-22T10:00:00Z\n"
			   "updated = 2026-11-22T10:05:07Z\n"
			   "auto-finalize = yes\n"
			   "reason =\n"
			   "[apqns]\n"
			   "apqn = 06.0033\n"
			   "apqn = 0E.0033\n"
			   "[new-mkvps]\n"
			   "ep11 = EF92899EBE57291EC8E8716D850EE2F7\n"
			   "[old-mkvps]\n"
			   "ep11 = 8B991263E3A8F4E4BE0D5EC8F0A4DF9E\n"
			   "[profile opencryptoki]\n"
			   "reencipher = done\n"
			   "finalize = pending\n";

static void bad(const char *text, const char *msg)
{
	struct op op = { .nprofiles = 0 };
	struct errmsg e = { "" };

	is_int(op_parse(text, strlen(text), &op, &e), -EINVAL, "refused: %s", msg);
	is_string(e.text, msg, "message");
}

/* @good with line @n (1-based) replaced by @line ("" drops it). */
static char *with_line(int n, const char *line)
{
	static char buf[4096];
	const char *p = good;

	buf[0] = '\0';
	for (int i = 1; *p; i++) {
		const char *nl = strchr(p, '\n');

		if (i == n)
			strcat(buf, line);
		else
			strncat(buf, p, (size_t)(nl - p + 1));
		p = nl + 1;
	}
	return buf;
}

int main(void)
{
	struct op op;
	char *text = NULL, longline[300];
	char created[21];
	time_t t;

	is_int(op_parse(good, strlen(good), &op, NULL), 0, "the design's example parses");
	is_string(op.id, "uNA5QP", "id");
	is_int(op.state, OP_REENCIPHERED, "state");
	is_string(iso8601_format(op.created, created), "2026-11-22T10:00:00Z", "created");
	ok(op.auto_finalize, "auto-finalize");
	is_int((long)op.apqns.n, 2, "two APQNs");
	ok(op.has_new[MK_EP11] && op.has_old[MK_EP11] && !op.has_new[MK_CCA_AES], "patterns by type");
	is_int((long)op.nprofiles, 1, "one profile");
	is_int(op.profiles[0].phase[PHASE_REENCIPHER], PS_DONE, "its reencipher is done");
	is_int(op.profiles[0].phase[PHASE_CANCEL], PS_NONE, "it has no cancel phase");
	is_int(op_format(&op, &text), 0, "it formats");
	is_string(text, good, "and formats back byte for byte");
	free(text);
	op_set_reason(&op, "profile x failed: a;b#c\td");
	is_string(op.reason, "profile x failed: a b c d", "reasons lose what INI would misread");
	op_free(&op);

	bad("", "line 1: the file is empty");
	bad("[operation]\nid = uNA5QP\nstate = planned", "line 3: no final newline (truncated?)");
	bad("[operation]\nid = uNA5QP\nstate = planned\n", "line 3: no 'created' in [operation] (truncated?)");
	memset(longline, 'A', sizeof(longline));
	memcpy(longline, "reason = ", 9);
	longline[250] = '\n';
	longline[251] = '\0';
	bad(with_line(7, longline), "line 7: longer than 198 characters");
	bad(with_line(3, "state = thinking\n"), "line 3: unknown state 'thinking'");
	bad(with_line(1, "[operation\n"), "line 1: unterminated section header");
	bad(with_line(3, "colour = blue\n"), "line 3: unknown key 'colour' in [operation]");
	bad(with_line(3, "id = uNA5QP\n"), "line 3: 'id' is given twice");
	bad(with_line(2, "id = short\n"), "line 2: 'short' is not an operation ID (6 letters or digits)");
	bad(with_line(4, "created = yesterday\n"), "line 4: 'yesterday' is not an ISO-8601 UTC time");
	bad(with_line(6, "auto-finalize = maybe\n"), "line 6: auto-finalize must be yes or no, not 'maybe'");
	bad(with_line(9, "apqn = 100.0033\n"), "line 9: APQN '100.0033': card 0x100 is above 0xff");
	bad(with_line(10, "apqn = 6.33\n"), "line 10: APQN 06.0033 is listed twice");
	bad(with_line(9, "card = 06.0033\n"), "line 9: unknown key 'card' in [apqns]");
	bad(with_line(12, "ep11 = EF92\n"),
	    "line 12: pattern 'EF92' for ep11 must be 16 bytes (32 hex digits), not 4 digits");
	bad(with_line(12, "ep12 = EF92899EBE57291EC8E8716D850EE2F7\n"), "line 12: unknown MK type 'ep12'");
	bad(with_line(15, "[mystery]\n"), "line 16: unknown section [mystery]");
	bad(with_line(15, "[profile ../etc]\n"), "line 16: '../etc' is not a profile name");
	bad(with_line(16, "reencipher = half\n"), "line 16: unknown phase state 'half'");
	bad(with_line(16, "rotate = done\n"), "line 16: unknown phase 'rotate' in [profile opencryptoki]");
	bad(with_line(16, "  reencipher = done\n"), "line 16: starts with a blank");
	bad(with_line(16, "reencipher done\n"), "line 16: not a key = value line");
	bad("[operation]\nid = uNA5QP\nstate = planned\ncreated = 2026-11-22T10:00:00Z\n"
	    "updated = 2026-11-22T10:00:00Z\nauto-finalize = no\nreason =\n[apqns]\n",
	    "line 8: no [apqns] apqn (truncated?)");
	is_int(iso8601_parse("2026-11-22T10:00:00Z", &t), 0, "ISO-8601 UTC parses");
	is_int(iso8601_parse("2026-11-22 10:00:00", &t), -EINVAL, "other forms do not");
	return done_testing();
}
