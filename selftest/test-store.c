// SPDX-License-Identifier: MIT
/* The state directory: a corrupt or planted file never spreads. */
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "io/store.h"
#include "run.h"
#include "tap.h"

static char *dir;

static void put(const char *sub, const char *name, const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	write_text(path, 0644, "%s", text);
}

static const char good[] = "[operation]\nid = GOOD01\nstate = planned\n"
			   "created = 2026-11-22T10:00:00Z\nupdated = 2026-11-22T10:00:00Z\n"
			   "auto-finalize = yes\nreason =\n[apqns]\napqn = 08.0033\n"
			   "[new-mkvps]\ncca-aes = 7D10D17BC8A409C4\n[old-mkvps]\n";

int main(void)
{
	struct store s;
	struct errmsg e;
	struct op op;
	struct run_result r;
	char path[4096], link[4096], *before, *after, id[OP_ID_LEN + 1], seen[64][OP_ID_LEN + 1];
	int distinct = 0;

	dir = make_tmpdir("store");
	setenv("MKAGENT_STATE_DIR", dir, 1);
	unsetenv("MKAGENT_CONFIG");
	setenv("MKAGENT_PROFILES", "/nonexistent", 1);

	is_int(store_open(&s, dir, true, &e), 0, "a new state directory is set up");
	snprintf(path, sizeof(path), "%s/work", dir);
	{
		struct stat st;

		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700, "work/ is private");
	}
	for (int i = 0; i < 64; i++) {
		store_new_id(&s, id);
		snprintf(seen[i], sizeof(seen[i]), "%s", id);
		distinct++;
		for (int j = 0; j < i; j++)
			if (streq(seen[j], id))
				distinct--;
	}
	is_int(distinct, 64, "64 new IDs are distinct");
	ok(op_id_valid(seen[0]), "an ID is 6 letters or digits");

	put("ops", "GOOD01.ini", good);
	{
		char trunc[sizeof(good)];

		memcpy(trunc, good, sizeof(good));
		strcpy(trunc + 11, "id = TRUNC1\nstate = pl");
		put("ops", "TRUNC1.ini", trunc);
	}
	put("ops", "STATE1.ini", "[operation]\nid = STATE1\nstate = wondering\n");
	put("ops", "KEYKEY.ini", "[operation]\nid = KEYKEY\ncolour = red\n");
	put("ops", "notanop.txt", "ignored\n");
	snprintf(path, sizeof(path), "%s/ops/LINK01.ini", dir);
	snprintf(link, sizeof(link), "%s/ops/GOOD01.ini", dir);
	if (symlink(link, path) < 0)
		bail_out("symlink");

	before = snapshot_dir(dir);
	run_mkagent(&r, "list", NULL);
	after = snapshot_dir(dir);
	is_int(r.status, 1, "list exits 1 when a file cannot be read");
	ok(strstr(r.out, "Operation: GOOD01\nState: planned") != NULL, "but lists the good operation");
	ok(strstr(r.err, "/ops/TRUNC1.ini: line 2: no final newline (truncated?)") != NULL,
	   "a truncated file is reported with its path and line");
	ok(strstr(r.err, "/ops/STATE1.ini: line 3: unknown state 'wondering'") != NULL,
	   "an unknown state is reported with its path and line");
	ok(strstr(r.err, "/ops/KEYKEY.ini: line 3: unknown key 'colour' in [operation]") != NULL,
	   "an unknown key is reported with its path and line");
	ok(strstr(r.err, "/ops/LINK01.ini: is a symlink") != NULL, "a symlink is not followed");
	is_int(count_lines(r.err), 4, "one line each");
	ok(strcmp(before, after) == 0, "and no file was rewritten");
	run_result_free(&r);

	run_mkagent(&r, "finalize", "-i", "STATE1", NULL);
	is_int(r.status, 1, "a step on a corrupt operation is refused");
	ok(strstr(r.err, "STATE1.ini: line 3: unknown state 'wondering'") != NULL, "naming the file and line");
	free(after);
	after = snapshot_dir(dir);
	ok(strcmp(before, after) == 0, "and changes nothing");
	run_result_free(&r);

	is_int(store_load(&s, "GOOD01", &op, NULL, &e), 0, "a good file loads");
	op.state = OP_CANCELED;
	is_int(store_archive(&s, &op, &e), 0, "an operation is archived");
	snprintf(path, sizeof(path), "%s/history/GOOD01.ini", dir);
	ok(access(path, F_OK) == 0, "into history/");
	snprintf(path, sizeof(path), "%s/ops/GOOD01.ini", dir);
	ok(access(path, F_OK) != 0, "out of ops/");
	op_free(&op);
	is_int(store_load(&s, "GOOD01", &op, NULL, &e), 0, "and still loads");
	op_free(&op);
	{
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "ls -a %s/ops %s/history | grep -q '[.]tmp$'", dir, dir);
		r.status = system(cmd);
		ok(r.status != 0, "no temporary file is left behind");
	}

	snprintf(path, sizeof(path), "%s/ops/EVIL01.ini", dir);
	write_text(path, 0666, "%s", good);
	run_mkagent(&r, "list", "-i", "EVIL01", NULL);
	is_int(r.status, 1, "a state file writable by others is refused");
	ok(strstr(r.err, "EVIL01.ini is writable by group or others") != NULL, "saying so");
	run_result_free(&r);

	store_close(&s);
	remove_tree(dir);
	free(before);
	free(after);
	return done_testing();
}
