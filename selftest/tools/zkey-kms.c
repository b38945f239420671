// SPDX-License-Identifier: MIT
/*
 * zkey-kms.c - the zkey KMIP plugin (zkey/kms.c, zkey/kmip/zkey-kmip.c):
 * its binding to the repository, `zkey kms info`, `kms reencipher` of its
 * identity and wrapping keys (DIR/kms/), and `kms refresh` of the
 * KMS-bound keys, which needs a valid identity key.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zkey.h"

bool kms_bound(void)
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

int kms_info(void)
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
int kms_reencipher(void)
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

int kms_refresh(void)
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
