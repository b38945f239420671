/* SPDX-License-Identifier: MIT */
/*
 * simkey.h - one secure key of a simkeys store (DESIGN §9), the file
 * STORE/keys/NNNNN of "name=value" lines: its MK type, and each blob
 * (current, staged under NEW, backup of the old one) with the pattern of
 * the master key it is wrapped under. Read and written by simkeys, read by
 * the zkey simulator (selftest/tools/zkey.c), whose keys are one-key stores.
 */
#pragma once

#include <stdint.h>

#include "apsim.h"

#define SIMKEY_BLOB_MAX 64

struct simkey {
	enum mk_type type;
	struct mkvp mkvp, staged_mkvp, backup_mkvp;
	uint8_t blob[SIMKEY_BLOB_MAX], staged[SIMKEY_BLOB_MAX], backup[SIMKEY_BLOB_MAX];
	int blob_len, staged_len, backup_len;
};

/* Read @path into @k: 0; -errno when it cannot be opened; -EINVAL when a
 * value is not hex or too long, or it names no known MK type. Lines it
 * does not know are skipped. */
int simkey_read(const char *path, struct simkey *k);
/* Write @k to @path atomically and durably (temp file, fsync, rename): 0 or -errno. */
int simkey_write(const char *path, const struct simkey *k);
/* The key file of key @n of @store into @buf. */
void simkey_path(const char *store, int n, char *buf, size_t size);
