// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>

#include "core/ini.h"
#include "core/macro.h"

/*
 * What inih (Debian's build: ';' and '#' start a comment line, ';' after a
 * blank an inline one) refuses in the line from @start to @end, or NULL.
 * inih goes on after such a line and gives only its number, so the message
 * of a later line's error would be shown with it ("unknown section []" for
 * "[agent").
 */
static const char *ini_line_error(const char *text, size_t start, size_t end)
{
	const char *s = text + start;
	size_t n = end - start, i;
	bool section;

	if (start == 0 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) { /* inih skips a BOM */
		s += 3;
		n -= 3;
	}
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || *s == ';' || *s == '#')
		return NULL;
	section = *s == '[';
	for (i = section; i < n; i++) {
		if (section ? s[i] == ']' : s[i] == '=' || s[i] == ':')
			return NULL;
		if (s[i] == ';' && i > 0 && isspace((unsigned char)s[i - 1]))
			break;
	}
	return section ? "unterminated section header" : "not a key = value line";
}

int ini_check_lines(const char *text, size_t len, bool strict, struct errmsg *e)
{
	size_t lineno = 1, col = 0, start = 0;
	const char *why;

	if (strict && len == 0)
		return errmsg_set(e, -EINVAL, "line 1: the file is empty");
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\0')
			return errmsg_set(e, -EINVAL, "line %zu: contains a NUL byte", lineno);
		if (text[i] == '\n') {
			why = ini_line_error(text, start, i);
			if (why)
				return errmsg_set(e, -EINVAL, "line %zu: %s", lineno, why);
			lineno++;
			col = 0;
			start = i + 1;
			continue;
		}
		if (col == 0 && (text[i] == ' ' || text[i] == '\t'))
			return errmsg_set(e, -EINVAL, "line %zu: starts with a blank", lineno);
		if (++col > INI_LINE_MAX)
			return errmsg_set(e, -EINVAL, "line %zu: longer than %d characters", lineno,
					  INI_LINE_MAX);
	}
	why = ini_line_error(text, start, len);
	if (why)
		return errmsg_set(e, -EINVAL, "line %zu: %s", lineno, why);
	if (strict && text[len - 1] != '\n')
		return errmsg_set(e, -EINVAL, "line %zu: no final newline (truncated?)", lineno);
	return 0;
}

int ini_parse_text(const char *text, size_t len, const struct ini_parse *p, struct errmsg *e)
{
	_cleanup_free_ char *s = NULL;
	struct errmsg le;
	const char *at = p->path ? p->path : "", *sep = p->path ? ": " : "";
	int rc = ini_check_lines(text, len, p->strict, &le);

	if (rc < 0)
		return errmsg_set(e, rc, "%s%s%s", at, sep, le.text);
	s = strndup(text, len);
	if (!s)
		return errmsg_set(e, -ENOMEM, "out of memory");
	rc = ini_parse_string(s, p->key, p->user);
	if (rc != 0)
		return errmsg_set(e, -EINVAL, "%s%sline %d: %s", at, sep, rc,
				  p->why->text[0] ? p->why->text : "not a key = value line");
	return 0;
}

int ini_error(struct errmsg *why, const char *fmt, ...)
{
	va_list ap;

	if (why->text[0])
		return 0; /* inih goes on after an error and reports the first line */
	va_start(ap, fmt);
	vsnprintf(why->text, sizeof(why->text), fmt, ap);
	va_end(ap);
	return 0;
}

int ini_seconds(struct errmsg *why, const char *name, const char *value, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < 1 || v > 86400)
		return ini_error(why, "%s must be 1 to 86400 seconds, not '%s'", name, value);
	*out = (int)v;
	return 1;
}
