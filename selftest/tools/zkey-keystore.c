// SPDX-License-Identifier: MIT
/*
 * zkey-keystore.c - zkey's key repository (zkey/keystore.c): a key's .skey,
 * its .info properties and its .renc marker; the filters that select keys
 * (--apqns, --name, --volume-type, KMS-bound); `zkey list` and `validate`
 * in the long record format, and `zkey reencipher`, key by key.
 */
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "zkey.h"

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
int each_key(bool kms_bound, void (*fn)(const struct key_files *kf))
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

bool validating;
unsigned long n_valid, n_invalid;

/* A key's APQNs; with none zkey lets the library pick any APQN of the system. */
void key_apqns(const struct key_files *kf, char *out, size_t size)
{
	char path[8400];

	if (property(kf->info, "apqns", out, size) && out[0])
		return;
	snprintf(path, sizeof(path), "%s/default-apqns", dir);
	first_line(path, out, size);
}

/* _keystore_print_record, the fields in the source's order (a subset). */
void list_one(const struct key_files *kf)
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
void reencipher_one(const struct key_files *kf)
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
