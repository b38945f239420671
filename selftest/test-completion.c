// SPDX-License-Identifier: MIT
/*
 * The bash completion (completion/mkagent.bash) offers commands, options,
 * levels, profiles and phases, and asks mkagent itself for the operation
 * IDs (`list`) and the APQNs (`status`) of the simulated bus.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

/* What the completion offers for @line (the word under the cursor last,
 * "" for a new word), one per line. */
static char *complete(const char *line)
{
	char script[8192], *argv[] = { "/bin/bash", "-c", script, NULL };
	struct run_result r;
	char *out;

	snprintf(script, sizeof(script),
		 "PATH=%s/agent:$PATH; source %s; COMP_WORDS=(%s); "
		 "[[ '%s' == *' ' ]] && COMP_WORDS+=(''); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
		 "_mkagent; ((${#COMPREPLY[@]})) && printf '%%s\\n' \"${COMPREPLY[@]}\" || true",
		 tmp, build_path("completion/mkagent.bash"), line, line);
	run_argv(&r, argv);
	if (r.status)
		diag("bash: %s", r.err);
	out = strdup(r.out);
	run_result_free(&r);
	return out;
}

static bool offers(const char *line, const char *want)
{
	char *got = complete(line), *copy = strdup(want), *save = NULL, *lines;
	bool all = true;

	if (asprintf(&lines, "\n%s", got) < 0)
		bail_out("out of memory");
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char needle[128];

		snprintf(needle, sizeof(needle), "\n%s\n", w);
		if (!strstr(lines, needle)) {
			diag("'%s' does not offer %s; it offers: %s", line, w, got);
			all = false;
		}
	}
	free(lines);
	free(copy);
	free(got);
	return all;
}

/* "mkagent CMD -" offers every option "mkagent CMD --help" lists. */
static void offers_help_options(const char *cmd)
{
	char line[64], words[1024] = "";
	struct run_result r;

	run_mkagent(&r, cmd, "--help", NULL);
	for (const char *p = r.out; (p = strstr(p, "\n  ")); p++) {
		char opt[64];

		if (sscanf(p, " -%*c, %63[a-z0-9-]", opt) == 1 || sscanf(p, " %63[a-z0-9-]", opt) == 1)
			if (!strncmp(opt, "--", 2) && strlen(words) + strlen(opt) + 2 < sizeof(words))
				snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s ", opt);
	}
	run_result_free(&r);
	snprintf(line, sizeof(line), "mkagent %s -", cmd);
	ok(words[0] && offers(line, words), "%s: every option its --help lists", cmd);
}

static int count(const char *line)
{
	char *got = complete(line);
	int n = count_lines(got);

	free(got);
	return n;
}

int main(int argc, char **argv)
{
	struct run_result r;
	char *id, line[256], link[4200];

	(void)argc;
	fixture_setup(argv);
	/* `mkagent` in PATH, as installed */
	snprintf(link, sizeof(link), "mkdir -p %s/agent && ln -sf %s %s/agent/mkagent", tmp,
		 build_path("agent/mkagent"), tmp);
	if (system(link) != 0)
		bail_out("cannot link mkagent");
	mk(&r, "plan", "-a", "0a.0033,0c.0033", "-e", "0123456789ABCDEF0123456789ABCDEF", NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	run_result_free(&r);
	if (!id)
		bail_out("plan");

	ok(offers("mkagent ", "status plan reencipher finalize cancel list helper daemon rules"),
	   "commands");
	is_int(count("mkagent re"), 1, "'re' is only reencipher");
	ok(offers("mkagent -", "--state-dir --config --profiles --verbose --help --version"),
	   "global options");
	ok(offers("mkagent -v ", "none error warn info devel debug"), "log levels");
	ok(offers("mkagent plan --cca-a", "--cca-aes-mkvp --cca-apka-mkvp --cca-asym-mkvp"),
	   "the MK type of each pattern option");
	ok(offers("mkagent plan -", "--apqns --ep11-wkvp --profiles --no-auto-finalize"),
	   "plan's options");
	ok(offers("mkagent status -a ", "08.0033 09.0033 0A.0033 0B.0033 0C.0033"),
	   "-a: the APQNs mkagent status shows");
	ok(offers("mkagent plan -a 08.0033,0A", "08.0033,0A.0033"), "-a: the next APQN of a list");
	snprintf(line, sizeof(line), "mkagent finalize -i ");
	ok(offers(line, id), "-i: the operation IDs mkagent list shows");
	ok(offers("mkagent helper ", "simkeys-cca simkeys-ep11"), "helper: the profiles");
	snprintf(line, sizeof(line), "mkagent --profiles %s helper ", profiles);
	ok(offers(line, "simkeys-cca"), "helper: the profiles of --profiles DIR");
	ok(offers("mkagent helper simkeys-cca ", "reencipher finalize cancel recover"),
	   "helper: the phases");
	snprintf(line, sizeof(line), "mkagent helper simkeys-cca cancel -i %s -", id);
	ok(offers(line, "--id --help"), "helper: options after PROFILE PHASE -i ID");
	ok(offers("mkagent cancel --f", "--force"), "cancel: --force");
	ok(offers("mkagent rules ", "install remove"), "rules: install or remove");
	is_int(count("mkagent plan -A "), 0, "a pattern: nothing to offer");
	is_int(count("mkagent reencipher --ep11-wkvp "), 0, "a pattern by its long name: nothing to offer");
	ok(offers("mkagent -v debug --state-dir /tmp pl", "plan"), "global options' values are skipped");
	snprintf(line, sizeof(line), "mkagent list --state-dir %s -i ", state);
	ok(offers(line, id), "a global option after the command: its value skipped");
	ok(offers("mkagent daemon -", "--once --json --help"), "daemon: its options");
	for (const char *const *c = (const char *const[]){ "status", "plan", "reencipher", "finalize",
							   "cancel", "list", "helper", "daemon",
							   "rules", NULL };
	     *c; c++)
		offers_help_options(*c);

	free(id);
	apsim_free(sim);
	return done_testing();
}
