// SPDX-License-Identifier: MIT
/*
 * The man pages are complete and clean: every option `mkagent --help` and
 * `mkagent COMMAND --help` print appears in mkagent(8), every command has
 * its section, and groff finds nothing to warn about in any page.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "run.h"
#include "tap.h"
#include "core/macro.h"

static const char *const pages[] = { "man/mkagent.8", "man/mkagent.conf.5", "man/mkagent.profile.5",
				     "man/mkagent-helpers.7" };

/* The page as text to search: roff's \- is -, font escapes are gone. */
static char *page_text(const char *rel)
{
	char *text = read_text(build_path(rel)), *w = text;

	if (!text)
		bail_out("cannot read %s", rel);
	for (const char *r = text; *r;) {
		if (r[0] == '\\' && r[1] == '-') {
			*w++ = '-';
			r += 2;
		} else if (r[0] == '\\' && r[1] == 'f' && r[2]) {
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return text;
}

/* Each "--long" option in @help is in @man. */
static void options_documented(const char *what, const char *help, const char *man)
{
	for (const char *p = help; (p = strstr(p, "--")); ) {
		char opt[64];
		size_t n = 2;

		while (n < sizeof(opt) - 1 && (isalnum((unsigned char)p[n]) || p[n] == '-'))
			n++;
		memcpy(opt, p, n);
		opt[n] = '\0';
		p += n;
		if (n == 2)
			continue;
		ok(strstr(man, opt) != NULL, "%s: %s is documented", what, opt);
	}
}

/* Each option in the mkagent(8) headings of @cmd (".SS plan -a APQNS ...")
 * is one `mkagent @cmd --help` lists: the page and --help agree. */
static void synopsis_in_help(const char *cmd, const char *man, const char *help)
{
	char heading[64];

	snprintf(heading, sizeof(heading), "\n.SS %s ", cmd);
	for (const char *p = man; (p = strstr(p, heading)); p++) {
		const char *end = strchr(p + 1, '\n');

		for (const char *w = p + strlen(heading); w < end; w += strcspn(w, " \n")) {
			char opt[64], want[72];

			w += strspn(w, " [");
			if (sscanf(w, "%63[a-z0-9-]", opt) != 1 || opt[0] != '-')
				continue;
			snprintf(want, sizeof(want), opt[1] == '-' ? "%s " : "  %s, --", opt);
			ok(strstr(help, want) != NULL, "mkagent(8) .SS %s: %s is in its --help", cmd, opt);
		}
	}
}

/* Every key of etc/mkagent.conf is in mkagent.conf(5) as it is written: "key = ...". */
static void conf_keys_documented(void)
{
	char *conf = read_text(build_path("etc/mkagent.conf")), *page = page_text("man/mkagent.conf.5");

	for (char *l = conf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
		char key[64];
		bool found = false;

		if (sscanf(l, "%63[a-z-] =", key) != 1 || !strchr(l, '=') || strchr(l, '=') > strchr(l, '\n'))
			continue;
		for (const char *p = page; !found && (p = strstr(p, key)); p += strlen(key)) {
			const char *q = p + strlen(key);

			q += strspn(q, " \"");
			found = (p == page || p[-1] == '\n' || p[-1] == ' ') && *q == '=';
		}
		ok(found, "mkagent.conf(5) shows %s = ...", key);
	}
	free(conf);
	free(page);
}

/* Every option of a helper's synopsis (its second line) and of a shipped
 * profile's exec lines is in mkagent-helpers(7): the settings an
 * administrator gives a helper are documented. */
static void helper_settings_documented(void)
{
	static const char *const files[] = { "helpers/mkagent-zkey", "helpers/mkagent-zkey-cryptsetup",
					     "helpers/mkagent-zkey-kmip", "profiles/zkey.profile",
					     "profiles/zkey-kmip.profile", "profiles/zkey-cryptsetup.profile",
					     "profiles/opencryptoki.profile" };
	char *page = page_text("man/mkagent-helpers.7");

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *text = read_text(build_path(files[i])), *line = text;
		bool helper = strncmp(files[i], "helpers/", 8) == 0;

		for (int n = 1; line && *line; n++) {
			char *end = strchr(line, '\n');

			if (end)
				*end = '\0';
			if ((helper && n == 2) || (!helper && !strncmp(line, "exec = ", 7))) {
				char what[128];

				snprintf(what, sizeof(what), "mkagent-helpers(7), %s", files[i]);
				options_documented(what, line, page);
			}
			line = end ? end + 1 : NULL;
		}
		free(text);
	}
	ok(strstr(page, "luks:dasdc1") != NULL, "mkagent-helpers(7) gives the PIN label of a LUKS2 volume");
	free(page);
}

/* The README's plan example prints what plan prints (DESIGN §7). */
static void readme_shows_plan(void)
{
	char *readme = read_text(build_path("README.md"));
	const char *p = readme ? strstr(readme, "#   Master key change operation '") : NULL;

	ok(p && strncmp(strchr(p, '\n') - 10, "' created.", 10) == 0,
	   "README: plan prints \"Master key change operation 'ID' created.\"");
	free(readme);
}

int main(void)
{
	struct run_result r;
	char *man = page_text("man/mkagent.8");
	const char *line;

	run_mkagent(&r, "--help", NULL);
	options_documented("mkagent", r.out, man);
	line = strstr(r.out, "Commands:\n");
	ok(line != NULL, "mkagent --help lists the commands");
	for (line = line ? strchr(line, '\n') + 1 : ""; *line == ' '; line = strchr(line, '\n') + 1) {
		char cmd[32], section[64];
		struct run_result c;

		if (sscanf(line, " %31s", cmd) != 1)
			break;
		snprintf(section, sizeof(section), ".SS %s", cmd);
		ok(strstr(man, section) != NULL, "%s has its section in mkagent(8)", cmd);
		run_mkagent(&c, cmd, "--help", NULL);
		is_int(c.status, 0, "mkagent %s --help", cmd);
		options_documented(cmd, c.out, man);
		synopsis_in_help(cmd, man, c.out);
		run_result_free(&c);
	}
	run_result_free(&r);
	free(man);

	for (size_t i = 0; i < ARRAY_SIZE(pages); i++) {
		char *argv[] = { "/usr/bin/groff", "-t", "-ww", "-man", "-z", (char *)build_path(pages[i]), NULL };

		run_argv(&r, argv);
		ok(r.status == 0 && !r.err[0], "groff -ww: %s has no warnings%s%s", pages[i],
		   r.err[0] ? ": " : "", r.err);
		run_result_free(&r);
	}
	conf_keys_documented();
	helper_settings_documented();
	readme_shows_plan();
	return done_testing();
}
