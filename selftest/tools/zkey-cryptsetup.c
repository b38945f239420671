// SPDX-License-Identifier: MIT
/*
 * zkey-cryptsetup.c - zkey-cryptsetup (zkey/zkey-cryptsetup.c) on a
 * simulated LUKS2 volume (DIR/volumes/): its passphrase, `validate`, and
 * `reencipher` staged, in place or completed, with its prompt.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "zkey.h"

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

int cryptsetup(int argc, char **argv)
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
