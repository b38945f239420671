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
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../apsim.h"
#include "../simkey.h"

static char dir[4096], hsm[4096], simkeys[4096], repo[4200];
static const char *prog;
static unsigned long n_done, n_skipped, n_failed;

static struct {
	const char *apqns, *name, *volume_type, *key_file;
	bool to_new, from_old, staged, in_place, complete, batch;
} opt;

static void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static void first_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f && fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

/* A property of a "name=value" file (zkey/properties.c), "" when absent. */
static bool property(const char *file, const char *key, char *out, size_t size)
{
	char line[2048];
	FILE *f = fopen(file, "r");
	size_t klen = strlen(key);
	bool found = false;

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == '=') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, size, "%s", line + klen + 1);
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	if (fd >= 0)
		close(fd);
}

/* ---- the keys: simkeys stores over apsim's HSM ---- */

/* The key of a one-key simkeys store. */
static bool skey_read(const char *store, struct simkey *k)
{
	char path[8192];

	simkey_path(store, 0, path, sizeof(path));
	return simkey_read(path, k) == 0;
}

/* The pattern register @r of @apqns shows for @t (the first that has one). */
static bool reg_pattern(const char *apqns, enum mk_type t, enum mk_reg r, struct mkvp *out)
{
	struct apqn_list l = { 0 };
	bool found = false;

	if (apqn_list_parse(apqns, &l, NULL) < 0)
		return false;
	for (size_t i = 0; i < l.n && !found; i++) {
		enum reg_state st = REG_UNKNOWN;
		struct apsim_key k;

		if (apsim_hsm_read(hsm, l.v[i], t, r, &st, &k) == 0 && reg_state_has_mkvp(st)) {
			apsim_key_mkvp(t, &k, out);
			found = true;
		}
	}
	apqn_list_free(&l);
	return found;
}

/* validate_secure_key (zkey/utils.c): valid under CURRENT, or under OLD (CCA only). */
static bool skey_valid(const struct mkvp *p, int t, const char *apqns, bool *is_old)
{
	struct mkvp r;

	*is_old = false;
	if (p->len && reg_pattern(apqns, t, REG_CUR, &r) && mkvp_matches(&r, p))
		return true;
	if (p->len && mk_type_has_reg(t, REG_OLD) && reg_pattern(apqns, t, REG_OLD, &r) &&
	    mkvp_matches(&r, p))
		return *is_old = true;
	return false;
}

/* Run simkeys as a helper on @store for @phase with @p as the operation's pattern. */
static bool run_simkeys(const char *store, const char *apqns, int t, const struct mkvp *p,
			const char *phase)
{
	char var[64], hex[MKVP_STR_MAX];
	struct mkvp cut = *p;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		clearenv();
		setenv("MKAGENT_APQNS", apqns, 1);
		snprintf(var, sizeof(var), "MKAGENT_NEW_MKVP_%s", mk_type_name(t));
		for (char *c = var; *c; c++)
			*c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
		mkvp_truncate(&cut, mk_type_cli_bytes(t));
		setenv(var, mkvp_format(&cut, hex), 1);
		execl(simkeys, simkeys, "--store", store, "--hsm", hsm, phase, NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* CURRENT -> NEW, staged: what reencipher_secure_key(REENCIPHER_CURRENT_TO_NEW) does. */
static bool to_new(const char *store, const char *apqns, int t)
{
	struct mkvp n;

	return reg_pattern(apqns, t, REG_NEW, &n) && run_simkeys(store, apqns, t, &n, "reencipher");
}

/* OLD -> CURRENT, in place (CCA only). */
static bool from_old(const char *store, const char *apqns, int t)
{
	struct mkvp c;

	return mk_type_has_reg(t, REG_OLD) && reg_pattern(apqns, t, REG_CUR, &c) &&
	       run_simkeys(store, apqns, t, &c, "recover");
}

/* The staged copy becomes the key: valid only once its key is CURRENT. */
static bool complete(const char *store, const char *apqns, const struct simkey *k)
{
	struct mkvp c;

	return k->staged_mkvp.len && reg_pattern(apqns, k->type, REG_CUR, &c) &&
	       mkvp_matches(&c, &k->staged_mkvp) &&
	       run_simkeys(store, apqns, k->type, &k->staged_mkvp, "finalize");
}

/* ---- zkey: the repository (zkey/keystore.c) ---- */

struct key_files {
	char name[256], skey[8400], info[8400], renc[8400];
};

/* _keystore_apqn_match: "c.d" patterns as %02x.%04x, fnmatch otherwise. */
static bool apqn_match(const char *pattern, const char *apqn)
{
	unsigned int card, domain;
	char norm[32];

	if (sscanf(pattern, "%x.%x", &card, &domain) == 2) {
		snprintf(norm, sizeof(norm), "%02x.%04x", card, domain);
		return !strcasecmp(norm, apqn);
	}
	return fnmatch(pattern, apqn, 0) == 0;
}

/* _keystore_match_filter_property: a key without the property never matches a filter. */
static bool filter_match(const char *filter, const char *value, bool apqns)
{
	char f[2048], v[2048], *fs, *vs;
	bool match = false;

	snprintf(f, sizeof(f), "%s", filter);
	for (char *fi = strtok_r(f, ",", &fs); fi && !match; fi = strtok_r(NULL, ",", &fs)) {
		snprintf(v, sizeof(v), "%s", value);
		for (char *vi = strtok_r(v, ",", &vs); vi && !match; vi = strtok_r(NULL, ",", &vs)) {
			if (!strchr(fi, ':') && strchr(vi, ':'))
				*strchr(vi, ':') = '\0';
			match = apqns ? apqn_match(fi, vi) : fnmatch(fi, vi, 0) == 0;
		}
	}
	return match;
}

/* _keystore_process_filtered: every key of the repository that the filters select. */
static int each_key(bool kms_bound, void (*fn)(const struct key_files *kf))
{
	struct dirent **list;
	int n = scandir(repo, &list, NULL, alphasort);

	if (n < 0) {
		warnx("Failed to access the key repository '%s'", repo);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(list[i]->d_name);
		struct key_files kf;
		char v[2048], type[64];

		if (len > 5 && !strcmp(list[i]->d_name + len - 5, ".skey") && len - 5 < sizeof(kf.name)) {
			snprintf(kf.name, sizeof(kf.name), "%.*s", (int)(len - 5), list[i]->d_name);
			snprintf(kf.skey, sizeof(kf.skey), "%s/%s.skey", repo, kf.name);
			snprintf(kf.info, sizeof(kf.info), "%s/%s.info", repo, kf.name);
			snprintf(kf.renc, sizeof(kf.renc), "%s/%s.renc", repo, kf.name);
			if (opt.name && fnmatch(opt.name, kf.name, 0) != 0)
				goto next;
			if (!exists(kf.info)) {
				warnx("Key '%s' does not exist or is invalid", kf.name);
				goto next;
			}
			if (opt.apqns && (!property(kf.info, "apqns", v, sizeof(v)) ||
					  !filter_match(opt.apqns, v, true)))
				goto next;
			if (!property(kf.info, "volume-type", type, sizeof(type)))
				snprintf(type, sizeof(type), "plain");
			if (opt.volume_type && strcasecmp(opt.volume_type, type) != 0)
				goto next;
			property(kf.info, "kms", v, sizeof(v));
			if (kms_bound && (!v[0] || !strcasecmp(v, "LOCAL")))
				goto next;
			fn(&kf);
		}
next:
		free(list[i]);
	}
	free(list);
	return 0;
}

/* util_rec_new_long("-", ":", "Key", 28, 54): a multi-valued field continues on lines
 * with an empty label. */
static void rec_field(const char *label, const char *value)
{
	char v[2048], *s;
	bool first = true;

	snprintf(v, sizeof(v), "%s", value);
	for (char *item = strtok_r(v, ",", &s); item; item = strtok_r(NULL, ",", &s), first = false)
		printf(first ? "        %-20s : %s\n" : "        %-20s   %s\n", first ? label : "", item);
	if (first)
		printf("        %-20s : %s\n", label, "");
}

static void rec_head(const char *name)
{
	printf("%-28s : %-54s\n", "Key", name);
	for (int i = 0; i < 28 + 54 + 3; i++)
		putchar('-');
	putchar('\n');
}

static bool validating;
static unsigned long n_valid, n_invalid;

/* _keystore_print_record, the fields in the source's order (a subset). */
/* A key's APQNs; with none zkey lets the library pick any APQN of the system. */
static void key_apqns(const struct key_files *kf, char *out, size_t size)
{
	char path[8400];

	if (property(kf->info, "apqns", out, size) && out[0])
		return;
	snprintf(path, sizeof(path), "%s/default-apqns", dir);
	first_line(path, out, size);
}

static void list_one(const struct key_files *kf)
{
	char volumes[2048], apqns[2048], type[64], kms[256], mk[2048];
	struct simkey k;
	bool is_old = false, valid;

	skey_read(kf->skey, &k);
	key_apqns(kf, mk, sizeof(mk));
	valid = (int)k.type >= 0 && skey_valid(&k.mkvp, k.type, mk, &is_old);
	property(kf->info, "apqns", apqns, sizeof(apqns));
	rec_head(kf->name);
	if (validating)
		rec_field("Status", valid ? "Valid" : "Invalid");
	rec_field("Description", "");
	rec_field("Key type", k.type == MK_EP11 ? "EP11-AES" : "CCA-AESCIPHER");
	if (validating) {
		char hex[MKVP_STR_MAX];

		if (valid)
			snprintf(mk, sizeof(mk), "%s master key (MKVP: %s)", is_old ? "OLD" : "CURRENT",
				 mkvp_format(&k.mkvp, hex));
		else
			snprintf(mk, sizeof(mk), "(unknown, MKVP: %s)", mkvp_format(&k.mkvp, hex));
		rec_field("Enciphered with", mk);
		valid ? n_valid++ : n_invalid++;
	}
	rec_field("Volumes", property(kf->info, "volumes", volumes, sizeof(volumes)) ? volumes : "(none)");
	rec_field("APQNs", apqns[0] ? apqns : "(none)");
	rec_field("Key file name", kf->skey);
	if (!property(kf->info, "volume-type", type, sizeof(type)))
		snprintf(type, sizeof(type), "plain");
	rec_field("Volume type", type);
	rec_field("KMS", property(kf->info, "kms", kms, sizeof(kms)) && kms[0] ? kms : "(local)");
	rec_field("Re-enciphered", exists(kf->renc) ? "(never) (re-enciphering pending)" : "(never) ");
	printf("\n");
}

/* _keystore_process_reencipher */
static void reencipher_one(const struct key_files *kf)
{
	char apqns[2048];
	struct simkey k;
	bool is_old, ok;

	key_apqns(kf, apqns, sizeof(apqns));
	if (opt.complete) {
		if (!exists(kf->renc)) {
			warnx("Staged re-enciphering is not pending for key '%s', skipping", kf->name);
			n_skipped++;
			goto out;
		}
		printf("Completing re-enciphering for key '%s'\n", kf->name);
		if (!skey_read(kf->skey, &k) || !complete(kf->skey, apqns, &k)) {
			warnx("Key '%s' is not valid, re-enciphering is not completed", kf->name);
			warnx("The new master key might yet have to be set as the CURRENT master key.");
			n_failed++;
			goto out;
		}
		unlink(kf->renc);
		n_done++;
		goto out;
	}
	if (!skey_read(kf->skey, &k) || !skey_valid(&k.mkvp, k.type, apqns, &is_old)) {
		warnx("Key '%s' is not valid, it is not re-enciphered", kf->name);
		n_skipped++;
		goto out;
	}
	printf("Re-enciphering key '%s'\n", kf->name);
	{
		bool old = opt.from_old, new = opt.to_new;
		bool in_place = opt.in_place || (!opt.staged && (old || (!new && is_old)));

		if (!old && !new) {
			old = is_old;
			new = !is_old;
		}
		if (old && !from_old(kf->skey, apqns, k.type)) {
			warnx("Failed to re-encipher '%s' from OLD to CURRENT master key", kf->name);
			n_failed++;
			goto out;
		}
		if (new && in_place) {
			warnx("(simulator) in-place re-enciphering to the NEW master key is not simulated");
			n_failed++;
			goto out;
		}
		if (new) {
			ok = to_new(kf->skey, apqns, k.type);
			if (!ok) {
				warnx("Failed to re-encipher '%s' from CURRENT to NEW master key", kf->name);
				n_failed++;
				goto out;
			}
		}
		if (in_place) {
			unlink(kf->renc);
		} else {
			touch(kf->renc);
			printf("Staged re-enciphering is initiated for key '%s'. After the NEW master key has "
			       "been set to become the CURRENT master key run 'zkey reencipher' with option "
			       "'--complete' to complete the re-enciphering process\n", kf->name);
		}
	}
	n_done++;
out:
	printf("\n");
}

/* ---- the KMIP plugin (zkey/kms.c, zkey/kmip/zkey-kmip.c) ---- */

static bool kms_bound(void)
{
	char path[8400];

	snprintf(path, sizeof(path), "%s/kms.conf", repo);
	if (exists(path))
		return true;
	warnx("The repository is not bound to a KMS plugin");
	return false;
}

static void kms_path(const char *what, char *out, size_t size)
{
	snprintf(out, size, "%s/kms/%s", dir, what);
}

static int kms_info(void)
{
	char path[8400], apqns[1024], *s;
	bool first = true;

	kms_path("apqns", path, sizeof(path));
	first_line(path, apqns, sizeof(apqns));
	printf("KMS-Plugin:             KMIP\n");
	for (char *a = strtok_r(apqns, ",", &s); a; a = strtok_r(NULL, ",", &s), first = false)
		printf("  %s                %s\n", first ? "APQNs:" : "      ", a);
	if (first)
		printf("  APQNs:                (configuration required)\n");
	printf("  Identity key:         ECC (secp521r1)\n");
	kms_path("identity.renc", path, sizeof(path));
	if (exists(path))
		printf("                        (re-enciphering pending)\n");
	printf("  KMIP server:          kmip.example.org:5696\n");
	return 0;
}

static int kms_fail(const char *why)
{
	warnx("Failed to reencipher KMS plugin internal keys: Invalid argument");
	printf("%s\n", why);
	return 1;
}

/* kms_reenciper (zkey-kmip.c) */
static int kms_reencipher(void)
{
	char path[8400], renc[8400], apqns[1024], stores[2][8400];
	struct simkey k[2];
	bool staged;

	kms_path("apqns", path, sizeof(path));
	first_line(path, apqns, sizeof(apqns));
	kms_path("identity.renc", renc, sizeof(renc));
	for (int i = 0; i < 2; i++) {
		kms_path(i ? "wrapping.skey" : "identity.skey", stores[i], sizeof(stores[i]));
		skey_read(stores[i], &k[i]);
	}
	staged = exists(renc);
	if (opt.complete || (staged && !opt.staged && !opt.in_place && !opt.from_old && !opt.to_new)) {
		if (!staged)
			return kms_fail("Staged re-enciphering is not pending");
		printf("Completing re-enciphering of KMIP plugin keys.\n");
		for (int i = 0; i < 2; i++)
			if (!complete(stores[i], apqns, &k[i]))
				return kms_fail("Failed to complete the re-enciphering of the KMIP plugin keys");
		unlink(renc);
		printf("Successfully completed re-enciphering of KMIP plugin keys.\n");
		return 0;
	}
	if (k[0].type == MK_EP11 && opt.from_old)
		return kms_fail("ERROR: An APQN of a IBM cryptographic adapter in EP11 coprocessor mode does not "
				"have an OLD master key register. Thus, you can not re-encipher a secure key of "
				"type 'EP11-AES' from the OLD to the CURRENT/NEW master key register.");
	if (opt.from_old && !opt.to_new) {
		printf("Re-enciphering the KMIP plugin keys with the master key in the CURRENT register.\n");
		for (int i = 0; i < 2; i++)
			if (!from_old(stores[i], apqns, k[i].type))
				return kms_fail("Failed to re-encipher the secure key");
		unlink(renc);
		printf("Successfully re-enciphered the KMIP plugin keys\n");
		return 0;
	}
	if (opt.in_place) {
		warnx("(simulator) in-place re-enciphering to the NEW master key is not simulated");
		return 1;
	}
	printf("Re-enciphering the KMIP plugin keys with the master key in the NEW register.\n");
	for (int i = 0; i < 2; i++) {
		if (!to_new(stores[i], apqns, k[i].type)) {
			unlink(renc);
			return kms_fail("Failed to re-encipher the secure key");
		}
	}
	touch(renc);
	printf("Staged re-enciphering is initiated for the KMIP plugin keys. After the NEW master key has "
	       "been set to become the CURRENT master key run 'zkey kms reencipher' with option "
	       "'--complete' to complete the re-enciphering process.\n");
	return 0;
}

/* keystore_refresh_kms_keys: the keys are fetched again from the KMIP server, over TLS
 * authenticated by the plugin's identity key -- which must be valid. */
static void refresh_one(const struct key_files *kf)
{
	char apqns[2048];
	struct simkey k;
	struct mkvp c;

	key_apqns(kf, apqns, sizeof(apqns));
	if (skey_read(kf->skey, &k) && reg_pattern(apqns, k.type, REG_CUR, &c) &&
	    run_simkeys(kf->skey, apqns, k.type, &c, "refresh")) {
		printf("Successfully refreshed key '%s'\n", kf->name);
		n_done++;
	} else {
		warnx("Failed to refresh key '%s'", kf->name);
		n_failed++;
	}
}

static int kms_refresh(void)
{
	char path[8400], apqns[1024];
	struct simkey id;
	bool is_old;

	kms_path("apqns", path, sizeof(path));
	first_line(path, apqns, sizeof(apqns));
	kms_path("identity.skey", path, sizeof(path));
	if (!skey_read(path, &id) || !skey_valid(&id.mkvp, id.type, apqns, &is_old)) {
		warnx("Failed to refresh KMS keys: Permission denied");
		printf("Failed to establish a TLS connection to the KMIP server: the identity key is "
		       "not valid\n");
		return 1;
	}
	if (each_key(true, refresh_one) < 0)
		return 1;
	return n_failed ? 1 : 0;
}

/* ---- zkey-cryptsetup (zkey/zkey-cryptsetup.c) ---- */

/* _prompt_for_yes */
static bool prompt_for_yes(void)
{
	char str[20];

	if (opt.batch) {
		printf("(yes implied because '--batch-mode' | '-q' option is specified)\n");
		return true;
	}
	if (!fgets(str, sizeof(str), stdin))
		return false;
	str[strcspn(str, "\n")] = '\0';
	return !strcasecmp(str, "y") || !strcasecmp(str, "yes");
}

/* get_password: the key file whole, else stdin up to its end of line (a terminal is
 * not simulated). */
static bool passphrase_ok(const char *dev, const char *pass_file)
{
	char want[512], got[512];
	size_t n = 0;
	ssize_t r;
	int fd = opt.key_file && strcmp(opt.key_file, "-") ? open(opt.key_file, O_RDONLY) : 0;
	bool eol = !opt.key_file;

	if (fd < 0) {
		warnx("Failed to open key file '%s': %m", opt.key_file);
		return false;
	}
	while (n < sizeof(got) - 1 && (r = read(fd, got + n, eol ? 1 : sizeof(got) - 1 - n)) > 0) {
		if (eol && got[n] == '\n')
			break;
		n += (size_t)r;
	}
	got[n] = '\0';
	if (fd)
		close(fd);
	if (!n) {
		warnx("Nothing read on input");
		return false;
	}
	first_line(pass_file, want, sizeof(want));
	if (strcmp(want, got) != 0) {
		warnx("No key available with this passphrase");
		return false;
	}
	(void)dev;
	return true;
}

static int cryptsetup(int argc, char **argv)
{
	char dev[1024], store[8400], renc[8400], pass[8400], path[8400], apqns[1024];
	const char *cmd = argv[1], *device = argv[2];
	struct simkey k;
	bool is_old, valid;

	snprintf(dev, sizeof(dev), "%s", device);
	for (char *c = dev; *c; c++)
		if (*c == '/')
			*c = '_';
	snprintf(store, sizeof(store), "%s/volumes/%s.skey", dir, dev);
	snprintf(renc, sizeof(renc), "%s/volumes/%s.renc", dir, dev);
	snprintf(pass, sizeof(pass), "%s/volumes/%s.pass", dir, dev);
	snprintf(path, sizeof(path), "%s/volumes/%s.apqns", dir, dev);
	if (!exists(path))
		snprintf(path, sizeof(path), "%s/volumes/apqns", dir);
	first_line(path, apqns, sizeof(apqns));
	(void)argc;
	if (!exists(store)) {
		warnx("Device '%s' is not a LUKS2 device", device);
		return 1;
	}
	skey_read(store, &k);
	if (!strcmp(cmd, "validate")) {
		char hex[MKVP_STR_MAX];

		if (!passphrase_ok(device, pass))
			return 1;
		valid = skey_valid(&k.mkvp, k.type, apqns, &is_old);
		printf("Validation of secure volume key of device '%s':\n", device);
		printf("  Encryption key:\n");
		printf("    Status:                %s\n", valid ? "Valid" : "Invalid");
		if (valid)
			printf("    Enciphered with:       %s master key (MKVP: %s)\n", is_old ? "OLD" : "CURRENT",
			       mkvp_format(&k.mkvp, hex));
		else
			printf("    Enciphered with:       (unknown, MKVP: %s)\n", mkvp_format(&k.mkvp, hex));
		if (exists(renc))
			printf("  Volume key re-enciphering is pending\n");
		if (!valid)
			printf("\nATTENTION: The secure volume key is not valid.\n");
		if (valid && is_old)
			printf("\nWARNING: The secure volume key is currently enciphered with the OLD master key. "
			       "To mitigate the danger of data loss re-encipher the volume key with the CURRENT "
			       "master key.\n");
		return valid ? 0 : 1;
	}
	if (strcmp(cmd, "reencipher") != 0) {
		warnx("Invalid command '%s'", cmd);
		return 1;
	}
	if (opt.in_place && opt.staged) {
		warnx("Options '--in-place|-i' and '--staged|-s' are mutual exclusive");
		return 1;
	}
	if (opt.complete && (opt.in_place || opt.staged)) {
		warnx("Option '--%s' is not valid together with '--complete|-p'",
		      opt.in_place ? "in-place|-i" : "staged|-s");
		return 1;
	}
	/* command_reencipher */
	if (!exists(renc) && opt.complete) {
		warnx("Staged volume key re-enciphering is not pending for device '%s'", device);
		return 1;
	}
	if (exists(renc) && !opt.staged && !opt.in_place) {
		/* reencipher_complete */
		if (!passphrase_ok(device, pass))
			return 1;
		if (!complete(store, apqns, &k)) {
			warnx("The re-enciphered secure volume key for device '%s' is not valid.", device);
			printf("The new master key might yet have to be set as the CURRENT master key.\n");
			return 1;
		}
		unlink(renc);
		printf("Re-enciphering has completed successfully for device '%s'.\n", device);
		return 0;
	}
	/* reencipher_prepare */
	if (exists(renc)) {
		printf("Staged volume key re-enciphering is already initiated for device '%s'. Do you want to "
		       "cancel the pending re-enciphering and start a new re-enciphering process [y/N]?\n",
		       device);
		fflush(stdout);
		if (!prompt_for_yes()) {
			warnx("Device '%s' is left unchanged", device);
			return 1;
		}
		unlink(renc);
		run_simkeys(store, apqns, k.type, &k.mkvp, "cancel");
	}
	if (!passphrase_ok(device, pass))
		return 1;
	if (!skey_valid(&k.mkvp, k.type, apqns, &is_old)) {
		warnx("The secure volume key of device '%s' is not valid", device);
		return 1;
	}
	if ((is_old && opt.staged) || (!is_old && opt.in_place)) {
		warnx("(simulator) this re-enciphering is not simulated");
		return 1;
	}
	if (is_old) {
		if (!from_old(store, apqns, k.type)) {
			warnx("Failed to re-encipher the secure volume key of device '%s'", device);
			return 1;
		}
	} else if (!to_new(store, apqns, k.type)) {
		warnx("Failed to re-encipher the secure volume key of device '%s'", device);
		return 1;
	}
	if ((!is_old && opt.in_place) || (is_old && !opt.staged)) {
		if (!opt.in_place)
			printf("An in-place re-enciphering is performed.\n");
		printf("Re-enciphering has completed successfully for device '%s'\n", device);
		return 0;
	}
	touch(renc);
	printf("Staged re-enciphering is initiated for device '%s'. After the NEW master key has been set "
	       "to become the CURRENT master key, run 'zkey-cryptsetup reencipher' with option "
	       "'--complete' to complete the re-enciphering process.\n", device);
	return 0;
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
