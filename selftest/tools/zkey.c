// SPDX-License-Identifier: MIT
/*
 * A simulator of s390-tools' zkey and zkey-cryptsetup for the tests (the
 * program's name says which): the commands, options, messages and exit
 * codes mkagent's zkey helpers use, over apsim's HSM. The first two
 * arguments, `--sim-dir DIR`, come from a wrapper:
 *
 *   DIR/hsm, DIR/simkeys          paths of apsim's HSM and of simkeys
 *   DIR/repository/NAME.skey/     a secure key (a one-key simkeys store)
 *   DIR/repository/NAME.info      "apqns = ...", "volumes = dev:name", "kms = yes|no"
 *   DIR/repository/NAME.renc      present while a staged re-encipherment is pending
 *   DIR/kms/{identity,wrapping}.skey/ and .renc, DIR/kms/apqns: the KMIP plugin's keys
 *   DIR/volumes/DEV.skey/ and .renc: a LUKS2 volume's key (DEV with '/' as '_')
 *
 *   zkey reencipher [--apqns A] [--to-new|--from-old] [--staged|--in-place|--complete]
 *   zkey kms reencipher [--staged|--in-place|--complete]
 *   zkey kms refresh
 *   zkey list [--apqns A]
 *   zkey-cryptsetup reencipher DEVICE [--staged|--in-place|--complete]
 */
#include <ctype.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../apsim.h"

static char dir[4096], hsm[4096], simkeys[4096];
static unsigned long done, skipped, failed;

static void first_line(const char *name, char *buf, size_t size)
{
	char path[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	buf[0] = '\0';
	if (f && fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

static bool info_value(const char *info, const char *key, char *out, size_t size)
{
	char line[1024], k[64], v[900];
	FILE *f = fopen(info, "r");
	bool found = false;

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s = %899[^\n]", k, v) == 2 && !strcmp(k, key)) {
			snprintf(out, size, "%s", v);
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

/* The type of the one key of a store. */
static int store_type(const char *store)
{
	char path[8192], line[256];
	FILE *f;
	int t = -1;

	snprintf(path, sizeof(path), "%s/keys/00000", store);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "type=", 5)) {
			line[strcspn(line, "\n")] = '\0';
			t = mk_type_from_name(line + 5);
		}
	if (f)
		fclose(f);
	return t;
}

/* The pattern a register of @apqns shows for @t (first that has one). */
static bool reg_pattern(const char *apqns, enum mk_type t, enum mk_reg r, struct mkvp *out)
{
	struct apqn_list l = { 0 };
	bool found = false;

	apqn_list_parse(apqns, &l, NULL);
	for (size_t i = 0; i < l.n && !found; i++) {
		enum reg_state st = REG_UNKNOWN;
		struct apsim_key k;

		if (apsim_hsm_read(hsm, l.v[i], t, r, &st, &k) == 0 && reg_state_has_mkvp(st)) {
			apsim_key_mkvp(t, &k, out);
			mkvp_truncate(out, mk_type_cli_bytes(t));
			found = true;
		}
	}
	apqn_list_free(&l);
	return found;
}

static bool run_simkeys(const char *store, const char *apqns, enum mk_type t, const struct mkvp *p,
			const char *phase)
{
	char var[64], hex[MKVP_STR_MAX];
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", 1);

		dup2(null, 1);
		clearenv();
		setenv("MKAGENT_APQNS", apqns, 1);
		snprintf(var, sizeof(var), "MKAGENT_NEW_MKVP_%s", mk_type_name(t));
		for (char *c = var; *c; c++)
			*c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
		setenv(var, mkvp_format(p, hex), 1);
		execl(simkeys, simkeys, "--store", store, "--hsm", hsm, phase, NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

enum mode { MODE_STAGED, MODE_IN_PLACE, MODE_COMPLETE, MODE_FROM_OLD };

/* One key: re-encipher, complete or recover it, as zkey does. */
static void one_key(const char *name, const char *store, const char *renc, const char *apqns,
		    enum mode mode)
{
	int t = store_type(store);
	struct mkvp p;
	bool pending = access(renc, F_OK) == 0, ok;

	if (t < 0) {
		fprintf(stderr, "zkey: Key '%s' does not exist or is invalid\n", name);
		failed++;
		return;
	}
	if (mode == MODE_COMPLETE) {
		if (!pending) {
			fprintf(stderr, "zkey: Staged re-enciphering is not pending for key '%s', skipping\n", name);
			skipped++;
			return;
		}
		printf("Completing re-enciphering for key '%s'\n", name);
		ok = reg_pattern(apqns, t, REG_CUR, &p) && run_simkeys(store, apqns, t, &p, "finalize");
		if (!ok) {
			fprintf(stderr, "zkey: Key '%s' is not valid, re-enciphering is not completed\n", name);
			failed++;
			return;
		}
		unlink(renc);
	} else if (mode == MODE_FROM_OLD) {
		printf("Re-enciphering key '%s'\n", name);
		ok = reg_pattern(apqns, t, REG_CUR, &p) && run_simkeys(store, apqns, t, &p, "recover");
		if (!ok) {
			fprintf(stderr, "zkey: Failed to re-encipher '%s' from OLD to CURRENT master key\n", name);
			failed++;
			return;
		}
	} else {
		printf("Re-enciphering key '%s'\n", name);
		ok = reg_pattern(apqns, t, REG_NEW, &p) && run_simkeys(store, apqns, t, &p, "reencipher");
		if (!ok) {
			fprintf(stderr, "zkey: Failed to re-encipher '%s' from CURRENT to NEW master key\n", name);
			failed++;
			return;
		}
		fclose(fopen(renc, "w"));
		printf("Staged re-enciphering is initiated for key '%s'. After the NEW master key has been "
		       "set to become the CURRENT master key run 'zkey reencipher' with option '--complete' "
		       "to complete the re-enciphering process\n", name);
	}
	printf("\n");
	done++;
}

static bool apqns_meet(const char *a, const char *b)
{
	struct apqn_list x = { 0 }, y = { 0 };
	bool meet = false;

	apqn_list_parse(a, &x, NULL);
	apqn_list_parse(b, &y, NULL);
	for (size_t i = 0; i < x.n && !meet; i++)
		meet = apqn_list_contains(&y, x.v[i]);
	apqn_list_free(&x);
	apqn_list_free(&y);
	return meet;
}

/* Each key of the repository, with its info, optionally filtered. */
static void each_key(const char *filter, bool kms_only,
		     void (*fn)(const char *name, const char *store, const char *renc, const char *info,
				void *ctx),
		     void *ctx)
{
	char rdir[4200], store[8400], renc[8400], info[8400], apqns[1024], kms[16];
	struct dirent **list;
	int n;

	snprintf(rdir, sizeof(rdir), "%s/repository", dir);
	n = scandir(rdir, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(list[i]->d_name);

		if (len > 5 && !strcmp(list[i]->d_name + len - 5, ".skey")) {
			list[i]->d_name[len - 5] = '\0';
			snprintf(store, sizeof(store), "%s/%s.skey", rdir, list[i]->d_name);
			snprintf(renc, sizeof(renc), "%s/%s.renc", rdir, list[i]->d_name);
			snprintf(info, sizeof(info), "%s/%s.info", rdir, list[i]->d_name);
			info_value(info, "apqns", apqns, sizeof(apqns));
			info_value(info, "kms", kms, sizeof(kms));
			if ((!filter || apqns_meet(filter, apqns)) && (!kms_only || !strcmp(kms, "yes")))
				fn(list[i]->d_name, store, renc, info, ctx);
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
}

static void reencipher_one(const char *name, const char *store, const char *renc, const char *info,
			   void *ctx)
{
	char apqns[1024];

	info_value(info, "apqns", apqns, sizeof(apqns));
	one_key(name, store, renc, apqns, *(enum mode *)ctx);
}

static void list_one(const char *name, const char *store, const char *renc, const char *info, void *ctx)
{
	char apqns[1024], volumes[1024];

	(void)store;
	(void)ctx;
	info_value(info, "apqns", apqns, sizeof(apqns));
	info_value(info, "volumes", volumes, sizeof(volumes));
	printf("Key                 : %s\nAPQNs               : %s\nVolumes             : %s\n"
	       "Re-enciphering pending : %s\n\n",
	       name, apqns, volumes[0] ? volumes : "(none)", access(renc, F_OK) == 0 ? "Yes" : "No");
}

static void refresh_one(const char *name, const char *store, const char *renc, const char *info,
			void *ctx)
{
	char apqns[1024];
	struct mkvp p;
	int t = store_type(store);

	(void)renc;
	(void)ctx;
	info_value(info, "apqns", apqns, sizeof(apqns));
	if (t >= 0 && reg_pattern(apqns, t, REG_CUR, &p) && run_simkeys(store, apqns, t, &p, "refresh")) {
		printf("Key '%s' refreshed from the KMIP server\n", name);
		done++;
	} else {
		fprintf(stderr, "zkey: Failed to refresh key '%s'\n", name);
		failed++;
	}
}

static int summary(void)
{
	printf("%lu keys re-enciphered, %lu keys skipped, %lu keys failed to re-encipher\n", done,
	       skipped, failed);
	return failed ? 1 : 0;
}

static enum mode parse_mode(int argc, char **argv, int from, const char **apqns)
{
	enum mode m = MODE_STAGED;
	bool from_old = false;

	for (int i = from; i < argc; i++) {
		if (!strcmp(argv[i], "--complete") || !strcmp(argv[i], "-c"))
			m = MODE_COMPLETE;
		else if (!strcmp(argv[i], "--in-place") || !strcmp(argv[i], "-i"))
			m = from_old ? MODE_FROM_OLD : MODE_IN_PLACE;
		else if (!strcmp(argv[i], "--from-old") || !strcmp(argv[i], "-o"))
			from_old = true;
		else if ((!strcmp(argv[i], "--apqns") || !strcmp(argv[i], "-a")) && i + 1 < argc && apqns)
			*apqns = argv[++i];
	}
	return from_old ? MODE_FROM_OLD : m;
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *apqns = NULL;
	char path[8400], kapqns[1024];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4 || strcmp(argv[1], "--sim-dir") != 0) {
		fprintf(stderr, "%s (simulator): needs --sim-dir DIR first\n", prog);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	first_line("hsm", hsm, sizeof(hsm));
	first_line("simkeys", simkeys, sizeof(simkeys));
	argv += 2;
	argc -= 2;
	if (!strcmp(prog, "zkey-cryptsetup")) {
		char store[8400], renc[8400], dev[1024];

		if (argc < 3 || strcmp(argv[1], "reencipher") != 0) {
			fprintf(stderr, "zkey-cryptsetup: usage: reencipher DEVICE [--staged|--in-place|--complete]\n");
			return 1;
		}
		snprintf(dev, sizeof(dev), "%s", argv[2]);
		for (char *c = dev; *c; c++)
			if (*c == '/')
				*c = '_';
		snprintf(store, sizeof(store), "%s/volumes/%s.skey", dir, dev);
		snprintf(renc, sizeof(renc), "%s/volumes/%s.renc", dir, dev);
		if (access(store, F_OK) != 0) {
			fprintf(stderr, "zkey-cryptsetup: Device '%s' is not a LUKS2 volume\n", argv[2]);
			return 1;
		}
		first_line("volumes/apqns", kapqns, sizeof(kapqns));
		one_key(argv[2], store, renc, kapqns, parse_mode(argc, argv, 3, NULL));
		return failed ? 1 : 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "kms") && !strcmp(argv[2], "reencipher")) {
		enum mode m = parse_mode(argc, argv, 3, NULL);

		first_line("kms/apqns", kapqns, sizeof(kapqns));
		for (int i = 0; i < 2; i++) {
			const char *name = i ? "wrapping" : "identity";
			char store[8400], renc[8400];

			snprintf(store, sizeof(store), "%s/kms/%s.skey", dir, name);
			snprintf(renc, sizeof(renc), "%s/kms/%s.renc", dir, name);
			one_key(name, store, renc, kapqns, m);
		}
		return summary();
	}
	if (argc >= 3 && !strcmp(argv[1], "kms") && !strcmp(argv[2], "refresh")) {
		each_key(NULL, true, refresh_one, NULL);
		printf("%lu keys refreshed, %lu keys failed to refresh\n", done, failed);
		return failed ? 1 : 0;
	}
	if (!strcmp(argv[1], "reencipher")) {
		enum mode m = parse_mode(argc, argv, 2, &apqns);

		each_key(apqns, false, reencipher_one, &m);
		return summary();
	}
	if (!strcmp(argv[1], "list")) {
		parse_mode(argc, argv, 2, &apqns);
		each_key(apqns, false, list_one, NULL);
		return 0;
	}
	snprintf(path, sizeof(path), "%s", argv[1]);
	fprintf(stderr, "zkey: Unknown command '%s'\n", path);
	return 1;
}
