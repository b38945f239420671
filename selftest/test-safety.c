// SPDX-License-Identifier: MIT
/*
 * Safe in a person's hands (issue 15): plans that could never be closed
 * or never be seen loaded are refused (I10); an operation in error can
 * always be closed (I11); an empty state directory, a group member with
 * read access, and what a person sees. A step interrupted, which keeps
 * its lock until its helper is gone (I9): test-interrupted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "stubborn.h"
#include "tap.h"
#include "core/macro.h"

static void empty_state_dir(void)
{
	struct run_result r;
	char *id;

	remove_tree(state);
	mkdir(state, 0755); /* what systemd's StateDirectory= leaves */
	mk(&r, "list", NULL);
	is_int(r.status, 0, "an empty state directory: list works");
	run_result_free(&r);
	id = plan_apka("stubborn");
	ok(id != NULL, "  and plan creates what is missing");
	close_op(id);
	free(id);
}

static void never_closable(void)
{
	char cur[MKVP_STR_MAX], conf[4200];
	struct mkvp p;
	struct apsim_key k;

	if (apsim_get_key(sim, CCA[0], MK_CCA_APKA, REG_CUR, &k) < 0)
		bail_out("no APKA CUR key");
	apsim_key_mkvp(MK_CCA_APKA, &k, &p);
	mkvp_truncate(&p, mk_type_cli_bytes(MK_CCA_APKA));
	mkvp_format(&p, cur);
	refused(1, "cca-apka CUR already holds", "I10: plan to the pattern CUR holds already", "plan",
		"-a", "08.0033,09.0033", "-p", cur, NULL);
	refused(1, "cca-apka CUR already holds", "I10: reencipher -a to the pattern CUR holds",
		"reencipher", "-a", "08.0033", "-p", cur, NULL);
	apsim_set_asym_lines(sim, false);
	refused(1, "no ASYM lines in mkvps", "I10: plan -S where mkvps has no ASYM lines", "plan", "-a",
		"08.0033", "-S", "0123456789ABCDEF", NULL);
	apsim_set_asym_lines(sim, true);
	refused(1, "needs [registers] query-helper", "I10: plan -s without a query helper", "plan",
		"-a", "08.0033", "-s", "0123456789ABCDEF", NULL);
	refused(2, "'stubborn' is named twice", "--profiles naming a profile twice", "plan", "-a",
		"08.0033", "-p", "0123456789ABCDEF", "--profiles", "stubborn,stubborn", NULL);
	(void)conf;
}

static void force_cancel(void)
{
	char hex[MKVP_STR_MAX], path[4200], *id, *audit, *calls, want[160];
	struct apsim_key k;
	struct run_result r;

	path_in(path, sizeof(path), "failing");
	write_text(path, 0755, "#!/bin/sh\necho \"$1\" >> %s/failing.calls\n"
			       "[ \"$1\" = reencipher ] && { echo 'the HSM said no' >&2; exit 3; }\nexit 0\n",
		   dir);
	write_profile("failing", "cca-apka", false, path, NULL);
	apsim_random_key(MK_CCA_APKA, &k);
	hex_of(MK_CCA_APKA, &k, hex);
	mk(&r, "plan", "-a", "0b.0033", "-p", hex, "--profiles", "failing", NULL);
	id = strdup(created_id(r.out) ?: "none");
	run_result_free(&r);
	refused(1, "--force is only for an operation in error", "I11: cancel --force of a planned op",
		"cancel", "--force", "-i", id, NULL);
	apsim_load(sim, CCA[2], MK_CCA_APKA, &k);
	mk(&r, "reencipher", "-i", id, NULL);
	run_result_free(&r);
	is_string(op_field(id, "state"), "error", "I11: a failed helper leaves the operation in error");
	path_in(path, sizeof(path), "failing.calls");
	unlink(path);
	{
		char notify[4200], conf[4300];

		path_in(notify, sizeof(notify), "notify");
		write_text(notify, 0755, "#!/bin/sh\necho \"$1\" >> %s/failing.calls\n", dir);
		snprintf(conf, sizeof(conf), "%s", getenv("MKAGENT_CONFIG"));
		use_config("safety.conf", "[pin]\nhelper = %s/pin-helper\n[notify]\nhelper = %s\n", tmp,
			   notify);
		mk(&r, "cancel", "--force", "-i", id, NULL);
		setenv("MKAGENT_CONFIG", conf, 1);
	}
	is_int(r.status, 0, "  cancel --force closes it");
	run_result_free(&r);
	snprintf(path, sizeof(path), "%s/history/%s.ini", state, id);
	ok(access(path, F_OK) == 0, "  to history/");
	is_string(op_field(id, "state"), "canceled", "  as canceled");
	is_string(op_field(id, "reason"), "profile failing reencipher failed: the HSM said no",
		  "  keeping the error's reason");
	path_in(path, sizeof(path), "failing.calls");
	calls = read_text(path);
	ok(calls == NULL, "  running no helper, not even the notify helper");
	free(calls);
	snprintf(path, sizeof(path), "%s/audit.log", state);
	audit = read_text(path);
	snprintf(want, sizeof(want), "%s error canceled forced by uid %u", id, (unsigned)getuid());
	ok(audit && strstr(audit, want), "  the audit log says who: %s", want);
	free(audit);
	refused(1, "is canceled", "cancel --force of a closed operation", "cancel", "--force", "-i", id,
		NULL);
	apsim_clear_new(sim, CCA[2], MK_CCA_APKA);
	free(id);
}

/* What a person sees of the helper's progress without -v. */
static void progress_shown(void)
{
	char go[4200], *id;
	struct run_result r;

	id = plan_apka("stubborn");
	path_in(go, sizeof(go), "go");
	write_text(go, 0644, "go\n");
	run_mkagent(&r, "reencipher", "-i", id, NULL);
	is_int(r.status, 0, "reencipher -i by hand");
	ok(strstr(r.out, "  stubborn: working on the keys\n") != NULL,
	   "  shows what the helper prints, without -v");
	run_result_free(&r);
	unlink(go);
	apsim_activate(sim, CCA[2], MK_CCA_APKA);
	mk(&r, "finalize", "-i", id, NULL);
	run_result_free(&r);
	free(id);
}

/* The package's group recipe: chgrp GROUP state; chmod 0750. */
static void group_reader(void)
{
	char *argv[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			 (char *)build_path("agent/mkagent"), "list", NULL };
	char *plan[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			 (char *)build_path("agent/mkagent"), "plan", "-a", "08.0033", "-p",
			 "0123456789ABCDEF", NULL };
	struct run_result r;

	if (geteuid() != 0) {
		skip(3, "needs root to act as another user");
		return;
	}
	chmod(tmp, 0711);
	chown(state, 0, 65534);
	chmod(state, 0750);
	run_argv(&r, argv);
	is_int(r.status, 0, "a member of the state directory's group: list works");
	if (r.status)
		diag("%s", r.err);
	run_result_free(&r);
	run_argv(&r, plan);
	is_int(r.status, 1, "  plan is refused");
	ok(strstr(r.err, "needs root") && count_lines(r.err) == 1, "  in one line: needs root");
	run_result_free(&r);
	chown(state, 0, 0);
	chmod(state, 0755);
	chmod(tmp, 0700);
}
int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	stubborn_setup();
	empty_state_dir();
	never_closable();
	force_cancel();
	progress_shown();
	group_reader();
	apsim_free(sim);
	remove_tree(tmp);
	return done_testing();
}
