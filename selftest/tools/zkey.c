// SPDX-License-Identifier: MIT
/*
 * A simulator of s390-tools' zkey, its KMIP plugin and zkey-cryptsetup for
 * the tests (the program's name says which). It does what mkagent's zkey
 * helpers depend on -- commands, options, output formats, prompts, refusals,
 * exit codes, what is pending and what is not idempotent -- as the upstream
 * sources do; selftest/tools/README.md names the source of each behaviour.
 * The keys are real wrapped blobs under apsim's master keys (one-key simkeys
 * stores), so "nothing lost" can be checked. `--sim-dir DIR` comes first,
 * from a wrapper:
 *
 *   DIR/hsm, DIR/simkeys        paths of apsim's HSM and of simkeys
 *   REPO = $ZKEY_REPOSITORY, else DIR/etc-zkey-repository (for /etc/zkey/repository)
 *   REPO/NAME.skey/             a secure key (a one-key simkeys store; upstream a file)
 *   REPO/NAME.info              its properties, "name=value" (apqns, volumes, volume-type, kms)
 *   REPO/NAME.renc              present while a staged re-encipherment is pending
 *   REPO/kms.conf               present when the repository is bound to the KMIP plugin
 *   DIR/kms/{identity,wrapping}.skey/, DIR/kms/apqns    the plugin's keys and APQNs
 *   DIR/kms/identity.renc       the plugin's identity-secure-key-reenc (staged)
 *   DIR/volumes/DEV.skey/, .renc, .pass   a LUKS2 volume (DEV with '/' as '_'): its
 *                               volume key, its pending re-encipher token, its passphrase
 *   DIR/volumes/DEV.apqns, else DIR/volumes/apqns   the APQNs a volume key is under
 *   DIR/default-apqns           every APQN of the system: what a key with no APQNs uses
 *   DIR/calls                   each run's argv and environment, one line each, for
 *                               the tests' "no secret in argv or environment" checks
 *
 *   zkey list|validate [--apqns A] [--name N] [--volume-type T]
 *   zkey reencipher [--apqns A] [--name N] [--to-new] [--from-old]
 *                   [--staged|--in-place|--complete]
 *   zkey kms info | kms reencipher [--from-old] [--staged|--in-place|--complete] | kms refresh
 *   zkey-cryptsetup reencipher DEVICE [--staged|--in-place|--complete]
 *                   [--key-file F] [--batch-mode]
 *   zkey-cryptsetup validate DEVICE [--key-file F]
 *
 * This file is the program: the run's paths and options, the trace, the
 * command line; zkey.h lists the pieces in zkey-*.c.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zkey.h"

char dir[4096], hsm[4096], simkeys[4096], repo[4200];
static const char *prog;
unsigned long n_done, n_skipped, n_failed;

struct opts opt;

void warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

void first_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f && fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	if (fd >= 0)
		close(fd);
}

/* The trace of this run, for the tests: argv and environment. */
static void trace(int argc, char **argv)
{
	extern char **environ;
	char path[8400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/calls", dir);
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "argv:");
	for (int i = 0; i < argc; i++)
		fprintf(f, " %s", argv[i]);
	fprintf(f, "\nenv:");
	for (char **e = environ; *e; e++)
		fprintf(f, " %s", *e);
	fprintf(f, "\n");
	fclose(f);
}

/* ---- options (zkey.c, zkey-cryptsetup.c: util_opt tables) ---- */

static int parse(int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++) {
		const char *a = argv[i];
		bool arg = i + 1 < argc;

		if (!strcmp(a, "--complete") || !strcmp(a, "-p"))
			opt.complete = true;
		else if (!strcmp(a, "--in-place") || !strcmp(a, "-i"))
			opt.in_place = true;
		else if (!strcmp(a, "--staged") || !strcmp(a, "-s"))
			opt.staged = true;
		else if (!strcmp(a, "--from-old") || !strcmp(a, "-O"))
			opt.from_old = true;
		else if (!strcmp(a, "--to-new") || !strcmp(a, "-N") || !strcmp(a, "-n"))
			opt.to_new = true;
		else if (!strcmp(a, "--batch-mode") || !strcmp(a, "-q"))
			opt.batch = true;
		else if ((!strcmp(a, "--apqns") || !strcmp(a, "-a")) && arg)
			opt.apqns = argv[++i];
		else if (!strcmp(a, "--name") && arg)
			opt.name = argv[++i];
		else if ((!strcmp(a, "--volume-type") || !strcmp(a, "-t")) && arg)
			opt.volume_type = argv[++i];
		else if ((!strcmp(a, "--key-file") || !strcmp(a, "-d")) && arg)
			opt.key_file = argv[++i];
		else {
			warnx("Invalid option '%s'", a);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *env;
	char path[8400];

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4 || strcmp(argv[1], "--sim-dir") != 0) {
		fprintf(stderr, "%s (simulator): needs --sim-dir DIR first\n", prog);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	snprintf(path, sizeof(path), "%s/hsm", dir);
	first_line(path, hsm, sizeof(hsm));
	snprintf(path, sizeof(path), "%s/simkeys", dir);
	first_line(path, simkeys, sizeof(simkeys));
	trace(argc, argv);
	env = getenv("ZKEY_REPOSITORY");
	snprintf(repo, sizeof(repo), "%s", env ? env : "");
	if (!env)
		snprintf(repo, sizeof(repo), "%s/etc-zkey-repository", dir);
	argv += 2;
	argc -= 2;
	if (!strcmp(prog, "zkey-cryptsetup")) {
		if (argc < 3 || parse(argc, argv, 3) < 0)
			return 1;
		return cryptsetup(argc, argv);
	}
	if (!strcmp(argv[1], "kms") && argc >= 3) {
		if (parse(argc, argv, 3) < 0 || !kms_bound())
			return 1;
		if (!strcmp(argv[2], "info"))
			return kms_info();
		if (!strcmp(argv[2], "reencipher"))
			return kms_reencipher();
		if (!strcmp(argv[2], "refresh"))
			return kms_refresh();
	} else if (!strcmp(argv[1], "reencipher")) {
		if (parse(argc, argv, 2) < 0)
			return 1;
		if (opt.in_place && opt.staged) {
			warnx("Either '--in-place|-i' or '--staged|-s' can be specified, but not both");
			return 1;
		}
		if (opt.complete && (opt.in_place || opt.staged)) {
			warnx("Option '--%s' is not valid together with '--complete|-p'",
			      opt.in_place ? "in-place|-i" : "staged|-s");
			return 1;
		}
		if (each_key(false, reencipher_one) < 0)
			return 1;
		printf("%lu keys re-enciphered, %lu keys skipped, %lu keys failed to re-encipher\n", n_done,
		       n_skipped, n_failed);
		return n_failed ? 1 : 0;
	} else if (!strcmp(argv[1], "list") || !strcmp(argv[1], "validate")) {
		validating = !strcmp(argv[1], "validate");
		if (parse(argc, argv, 2) < 0 || each_key(false, list_one) < 0)
			return 1;
		if (validating)
			printf("%lu keys are valid, %lu keys are invalid, 0 warnings\n", n_valid, n_invalid);
		return 0;
	}
	warnx("Invalid command '%s'", argv[1]);
	return 1;
}
