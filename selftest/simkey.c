// SPDX-License-Identifier: MIT
/*
 * simkey.c - the key file of a simkeys store: see simkey.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "simkey.h"

static int from_hex(const char *s, uint8_t *b, size_t max)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++)
		if (sscanf(s + 2 * i, "%2hhx", &b[i]) != 1)
			return -EINVAL;
	return (int)(n / 2);
}

static void to_hex(FILE *f, const char *name, const uint8_t *b, int n)
{
	fprintf(f, "%s=", name);
	for (int i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
	fprintf(f, "\n");
}

static int set_pattern(struct mkvp *p, const char *v)
{
	int n = from_hex(v, p->b, MKVP_MAX_BYTES);

	p->len = n > 0 ? (uint8_t)n : 0;
	return n < 0 ? n : 0;
}

static int set_blob(uint8_t *b, int *len, const char *v)
{
	int n = from_hex(v, b, SIMKEY_BLOB_MAX);

	*len = n > 0 ? n : 0;
	return n < 0 ? n : 0;
}

static int read_value(const char *name, const char *v, struct simkey *k)
{
	if (!strcmp(name, "type")) {
		k->type = mk_type_from_name(v);
		return (int)k->type < 0 ? -EINVAL : 0;
	}
	if (!strcmp(name, "mkvp"))
		return set_pattern(&k->mkvp, v);
	if (!strcmp(name, "staged-mkvp"))
		return set_pattern(&k->staged_mkvp, v);
	if (!strcmp(name, "backup-mkvp"))
		return set_pattern(&k->backup_mkvp, v);
	if (!strcmp(name, "blob"))
		return set_blob(k->blob, &k->blob_len, v);
	if (!strcmp(name, "staged"))
		return set_blob(k->staged, &k->staged_len, v);
	if (!strcmp(name, "backup"))
		return set_blob(k->backup, &k->backup_len, v);
	return 0;
}

int simkey_read(const char *path, struct simkey *k)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int rc = 0;

	memset(k, 0, sizeof(*k));
	k->type = (enum mk_type)-1;
	if (!f)
		return -errno;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = '\0';
		v[strcspn(v, "\n")] = '\0';
		rc = read_value(line, v, k);
	}
	fclose(f);
	if (rc == 0 && (int)k->type < 0)
		rc = -EINVAL;
	return rc;
}

int simkey_write(const char *path, const struct simkey *k)
{
	char tmp[4200];
	FILE *f;
	int rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "type=%s\n", mk_type_name(k->type));
	to_hex(f, "mkvp", k->mkvp.b, k->mkvp.len);
	to_hex(f, "blob", k->blob, k->blob_len);
	to_hex(f, "staged-mkvp", k->staged_mkvp.b, k->staged_mkvp.len);
	to_hex(f, "staged", k->staged, k->staged_len);
	to_hex(f, "backup-mkvp", k->backup_mkvp.b, k->backup_mkvp.len);
	to_hex(f, "backup", k->backup, k->backup_len);
	if (fflush(f) || fsync(fileno(f)))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

void simkey_path(const char *store, int n, char *buf, size_t size)
{
	snprintf(buf, size, "%s/keys/%05d", store, n);
}
