// SPDX-License-Identifier: MIT
/*
 * state.c - the tool's operation as `pkcshsm_mk_change list` shows it: its
 * state by ID, ours found by the change's patterns when this helper never
 * saw its ID, whether it is stale (no pkcshsm_mk_change runs) or the tool
 * could not tell (pkcsslotd down); and the files kept in the work
 * directory, the operation's ID and "no token affected".
 */
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ock.h"

char id_path[4096], none_path[4096];

void keep(const char *path, const char *text)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", text) < 0 || fflush(f) || fsync(fileno(f)) || fclose(f) ||
	    rename(tmp, path)) {
		fprintf(stderr, "cannot keep %s in %s\n", text, path);
		exit(1);
	}
}

bool kept(const char *path, char *id, size_t size)
{
	char fmt[16];
	FILE *f = fopen(path, "r");
	bool ok;

	snprintf(fmt, sizeof(fmt), "%%%zus", size - 1);
	ok = f && fscanf(f, fmt, id) == 1;
	if (f)
		fclose(f);
	return ok;
}

/* Whether the run's transcript shows a tool that could not start:
 * no pkcsslotd, no lock, no PKCS#11 library. Such a run says nothing. */
bool tool_unavailable(void)
{
	return has("Error initializing the PKCS11 library") ||
	       has("Failed to connect to pkcsslotd's event socket") || has("Failed to obtain lock") ||
	       has("Error loading PKCS#11 library");
}

enum found list_one(const char *id, char *state, size_t size)
{
	char *argv[] = { (char *)tool, "list", "--id", (char *)id, NULL };
	char gone[64];
	int rc = run_tool(argv);
	const char *p;

	snprintf(gone, sizeof(gone), "operation '%s' not found.", id);
	if (rc != 0)
		return has(gone) ? GONE : UNKNOWN;
	p = run.text ? strstr(run.text, "State:") : NULL;
	if (!p)
		return UNKNOWN;
	p += strlen("State:");
	p += strspn(p, " ");
	snprintf(state, size, "%.*s", (int)strcspn(p, "\n"), p);
	return FOUND;
}

/* Whether some pkcshsm_mk_change process runs on this system. */
static bool tool_running(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	while (d && !found && (de = readdir(d))) {
		char path[300], comm[64] = "";
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f))
			found = !strncmp(comm, "pkcshsm_mk_chan", 15);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* An operation in a state the tool cannot go on from by itself. */
int stuck(const char *id, const char *state)
{
	if (tool_running()) {
		printf("pkcshsm_mk_change operation %s is '%s' and a pkcshsm_mk_change runs: "
		       "try again later\n", id, state);
		return EXIT_LATER;
	}
	fprintf(stderr, "pkcshsm_mk_change operation %s is stale: '%s' and no pkcshsm_mk_change runs "
		"(a killed tool); check it and remove /var/lib/opencryptoki/HSM_MK_CHANGE/%s\n",
		id, state, id);
	return 1;
}

const struct mkvp_option TYPES[] = {
	{ "MKAGENT_NEW_MKVP_EP11", "--ep11-wkvp", 16 },
	{ "MKAGENT_NEW_MKVP_CCA_SYM", "--cca-sym-mkvp", 8 },
	{ "MKAGENT_NEW_MKVP_CCA_ASYM", "--cca-asym-mkvp", 8 },
	{ "MKAGENT_NEW_MKVP_CCA_AES", "--cca-aes-mkvp", 8 },
	{ "MKAGENT_NEW_MKVP_CCA_APKA", "--cca-apka-mkvp", 8 },
};
const size_t TYPES_COUNT = sizeof(TYPES) / sizeof(TYPES[0]);

/*
 * An operation of the tool for this change whose ID this helper never saw
 * (it was killed while the tool ran on): one in `list` with every
 * pattern of the change. UNKNOWN when list cannot say.
 */
enum found find_ours(char *id, size_t size)
{
	char *argv[] = { (char *)tool, "list", NULL };
	const char *p;

	if (run_tool(argv) != 0)
		return UNKNOWN;
	for (p = run.text; p && (p = strstr(p, "Operation:")); p++) {
		const char *end = strstr(p + 1, "Operation:");
		size_t span = end ? (size_t)(end - p) : strlen(p);
		char *block = strndup(p, span);
		bool all = block != NULL;

		for (char *q = block; q && *q; q++)
			*q = (char)toupper((unsigned char)*q);
		for (size_t i = 0; i < TYPES_COUNT; i++) {
			const char *v = getenv(TYPES[i].var);
			char want[80];

			if (!v || !*v)
				continue;
			snprintf(want, sizeof(want), "MKVP:    %.*s", (int)(2 * TYPES[i].bytes), v);
			for (char *q = want; *q; q++)
				*q = (char)toupper((unsigned char)*q);
			all = all && strstr(block, want) != NULL;
		}
		free(block);
		if (all && sscanf(p, "Operation: %15s", id) == 1 && size > strlen(id))
			return FOUND;
	}
	return GONE;
}

/* list could not say whether the operation is there: not 'gone'. */
int cannot_tell(const char *what)
{
	if (run.status == 127) {
		fprintf(stderr, "%s\n", run.last[0] ? run.last : "cannot run pkcshsm_mk_change");
		return 1;
	}
	if (tool_unavailable())
		fprintf(stderr, "pkcshsm_mk_change cannot %s now (pkcsslotd down?): %s; try again "
			"later\n", what, run.last);
	else
		fprintf(stderr, "pkcshsm_mk_change list cannot tell whether the operation is there: "
			"%s; try again later\n", run.last);
	return EXIT_LATER;
}
