// SPDX-License-Identifier: MIT
/* core/ini.c: the one "check the lines, parse, report FILE: line N: what"
 * that operation files, mkagent.conf and profiles share. */
#include <errno.h>

#include "core/ini.h"
#include "tap.h"

struct seen {
	char keys[256];
	int seconds;
	struct errmsg why;
};

/* Takes [a] k = v and [a] t = seconds; refuses everything else. */
static int key(void *user, const char *section, const char *name, const char *value)
{
	struct seen *s = user;
	size_t len = strlen(s->keys);

	if (!streq(section, "a"))
		return ini_error(&s->why, "unknown section [%s]", section);
	if (streq(name, "t"))
		return ini_seconds(&s->why, name, value, &s->seconds);
	if (!streq(name, "k"))
		return ini_error(&s->why, "unknown key '%s'", name);
	snprintf(s->keys + len, sizeof(s->keys) - len, "%s%s", len ? "," : "", value);
	return 1;
}

static int parse(const char *path, bool strict, const char *text, struct seen *s, struct errmsg *e)
{
	const struct ini_parse how = { .path = path, .strict = strict, .key = key, .user = s,
				       .why = &s->why };

	*s = (struct seen){ .seconds = 0 };
	e->text[0] = '\0';
	return ini_parse_text(text, strlen(text), &how, e);
}

static void refused(const char *path, bool strict, const char *text, int rc, const char *msg)
{
	struct seen s;
	struct errmsg e;

	is_int(parse(path, strict, text, &s, &e), rc, "refused: %s", msg);
	is_string(e.text, msg, "  with the file and line");
}

int main(void)
{
	struct seen s;
	struct errmsg e;
	char longline[INI_LINE_MAX + 8];

	is_int(parse("x.conf", false, "[a]\nk = 1\n; note\nk = 2\nt = 30", &s, &e), 0,
	       "a loose file without a final newline parses");
	is_string(s.keys, "1,2", "  every key in order, comments skipped");
	is_int(s.seconds, 30, "  seconds read");
	is_int(parse(NULL, true, "[a]\nk = 1\n", &s, &e), 0, "a strict file parses");

	refused("x.conf", false, "[a]\nk = 1\nq = 2\n", -EINVAL, "x.conf: line 3: unknown key 'q'");
	refused(NULL, false, "[a]\nk = 1\nq = 2\n", -EINVAL, "line 3: unknown key 'q'");
	refused("x.conf", false, "[a]\nq = 1\n[b]\n", -EINVAL,
		"x.conf: line 2: unknown key 'q'");
	refused("x.conf", false, "[b]\nk = 1\n", -EINVAL, "x.conf: line 2: unknown section [b]");
	refused("x.conf", false, "[a]\nt = 0\n", -EINVAL,
		"x.conf: line 2: t must be 1 to 86400 seconds, not '0'");
	refused("x.conf", false, "[a\nk = 1\n", -EINVAL,
		"x.conf: line 1: unterminated section header");
	refused("x.conf", false, "[a]\nk\n", -EINVAL, "x.conf: line 2: not a key = value line");
	refused("x.conf", false, "[a]\n k = 1\n", -EINVAL, "x.conf: line 2: starts with a blank");
	refused(NULL, true, "", -EINVAL, "line 1: the file is empty");
	refused(NULL, true, "[a]\nk = 1", -EINVAL, "line 2: no final newline (truncated?)");

	memset(longline, 'x', sizeof(longline) - 1);
	memcpy(longline, "k = ", 4);
	longline[sizeof(longline) - 1] = '\0';
	{
		char text[sizeof(longline) + 8];

		snprintf(text, sizeof(text), "[a]\n%s\n", longline);
		refused("x.conf", false, text, -EINVAL, "x.conf: line 2: longer than 198 characters");
	}
	{
		static const char nul[] = "[a]\nk = 1\0\n";
		struct seen n = { .seconds = 0 };
		const struct ini_parse how = { .path = "x.conf", .key = key, .user = &n, .why = &n.why };

		is_int(ini_parse_text(nul, sizeof(nul) - 1, &how, &e), -EINVAL, "a NUL byte is refused");
		is_string(e.text, "x.conf: line 2: contains a NUL byte", "  on its line");
	}
	{
		/* @len bounds the text: what follows is not read */
		static const char text[] = "[a]\nk = 1\nq = 2\n";
		const struct ini_parse how = { .strict = true, .key = key, .user = &s, .why = &s.why };

		s = (struct seen){ .seconds = 0 };
		is_int(ini_parse_text(text, 10, &how, &e), 0, "only @len bytes are parsed");
		is_string(s.keys, "1", "  the key after them is not seen");
	}
	return done_testing();
}
