// SPDX-License-Identifier: MIT
/*
 * stubborn.c - the stage of test-safety and test-interrupted: see stubborn.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "stubborn.h"
#include "tap.h"

/* A reencipher helper that, like pkcshsm_mk_change, ignores SIGTERM,
 * notes when two of it run at once, and runs until told to stop. $d is
 * its directory ($0 is /dev/fd/N: it runs from the checked descriptor). */
static const char stubborn[] =
	"[ \"$1\" = reencipher ] || exit 0\n"
	"[ -e \"$d/running\" ] && { echo overlap >> \"$d/overlap\"; exit 1; }\n"
	"echo $$ > \"$d/running\"\n"
	"trap '' TERM\n"
	"echo 'working on the keys'\n"
	"while [ ! -e \"$d/go\" ]; do sleep 0.1; done\n"
	"rm -f \"$d/running\"\n"
	"echo done >> \"$d/done\"\n";

char dir[4096];

void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

char *plan_apka(const char *profile)
{
	char hex[MKVP_STR_MAX], *id;
	struct apsim_key k;
	struct run_result r;

	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	mk(&r, "plan", "-a", "0b.0033", "-p", hex, "--profiles", profile, NULL);
	id = created_id(r.out);
	id = id ? strdup(id) : NULL;
	if (!id)
		bail_out("plan failed: %s", r.err);
	run_result_free(&r);
	apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
	return id;
}
void close_op(const char *id)
{
	struct run_result r;
	char p[4200];

	path_in(p, sizeof(p), "go");
	write_text(p, 0644, "go\n");
	mk(&r, "reencipher", "-i", id, NULL);
	run_result_free(&r);
	mk(&r, "cancel", "-i", id, NULL);
	run_result_free(&r);
	if (!streq(op_field(id, "state"), "canceled"))
		diag("operation %s left %s", id, op_field(id, "state"));
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	unlink(p);
}
void stubborn_setup(void)
{
	char path[4200];

	snprintf(dir, sizeof(dir), "%s/safety", tmp);
	mkdir(dir, 0755);
	path_in(path, sizeof(path), "stubborn");
	write_text(path, 0755, "#!/bin/sh\nd=%s\n%s", dir, stubborn);
	write_profile("stubborn", "cca-apka", false, path, NULL);
}
