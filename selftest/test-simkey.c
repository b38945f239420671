// SPDX-License-Identifier: MIT
/*
 * test-simkey.c - the key file of a simkeys store (simkey.h), which
 * simkeys writes and both simkeys and the zkey simulator read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "simkey.h"
#include "tap.h"

static char *dir;

static int read_text_as_key(const char *text, struct simkey *k)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/key", dir);
	write_text(path, 0600, "%s", text);
	return simkey_read(path, k);
}

int main(void)
{
	struct simkey k = { .type = MK_CCA_AES, .blob_len = 40, .staged_len = 40 }, back;
	char path[4200], *text;

	dir = make_tmpdir("simkey");
	k.mkvp.len = k.staged_mkvp.len = 8;
	for (int i = 0; i < 8; i++) {
		k.mkvp.b[i] = (uint8_t)(0x10 + i);
		k.staged_mkvp.b[i] = (uint8_t)(0xa0 + i);
	}
	for (int i = 0; i < 40; i++) {
		k.blob[i] = (uint8_t)i;
		k.staged[i] = (uint8_t)(255 - i);
	}
	simkey_path(dir, 7, path, sizeof(path));
	is_string(path + strlen(dir), "/keys/00007", "key 7 of a store is keys/00007");
	snprintf(path, sizeof(path), "%s/keys", dir);
	mkdir(path, 0700);
	simkey_path(dir, 0, path, sizeof(path));
	is_int(simkey_write(path, &k), 0, "a key is written");
	text = read_text(path);
	ok(text && strstr(text, "type=cca-aes\nmkvp=1011121314151617\n") &&
		   strstr(text, "staged-mkvp=a0a1a2a3a4a5a6a7\n") && strstr(text, "backup-mkvp=\n"),
	   "one name=value line each, lower-case hex, empty when there is none");
	free(text);
	{
		char tmp_path[4300];

		snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
		ok(access(tmp_path, F_OK) != 0, "no temporary file is left");
	}
	is_int(simkey_read(path, &back), 0, "it reads back");
	ok(back.type == k.type && mkvp_eq(&back.mkvp, &k.mkvp) &&
		   mkvp_eq(&back.staged_mkvp, &k.staged_mkvp) && back.backup_mkvp.len == 0 &&
		   back.blob_len == 40 && !memcmp(back.blob, k.blob, 40) && back.staged_len == 40 &&
		   !memcmp(back.staged, k.staged, 40) && back.backup_len == 0,
	   "every field is what was written");

	is_int(read_text_as_key("type=ep11\nmkvp=ABCDEF\nunknown=1\nno equals sign\n", &back), 0,
	       "lines it does not know are skipped, hex of either case is read");
	ok(back.type == MK_EP11 && back.mkvp.len == 3 && back.mkvp.b[0] == 0xab && back.blob_len == 0,
	   "a key with only a type and a pattern");
	is_int(read_text_as_key("mkvp=00\n", &back), -EINVAL, "a key without a type is refused");
	is_int(read_text_as_key("type=des\n", &back), -EINVAL, "an unknown MK type is refused");
	is_int(read_text_as_key("type=cca-aes\nmkvp=123\n", &back), -EINVAL,
	       "an odd number of hex digits is refused");
	is_int(read_text_as_key("type=cca-aes\nblob=zz\n", &back), -EINVAL, "a blob not in hex is refused");
	{
		char big[2 * SIMKEY_BLOB_MAX + 32] = "type=cca-aes\nblob=";

		memset(big + strlen(big), 'a', 2 * SIMKEY_BLOB_MAX + 2);
		is_int(read_text_as_key(big, &back), -EINVAL, "a blob longer than the most a key holds is refused");
	}
	snprintf(path, sizeof(path), "%s/none", dir);
	is_int(simkey_read(path, &back), -ENOENT, "a missing file: -ENOENT");
	remove_tree(dir);
	return done_testing();
}
