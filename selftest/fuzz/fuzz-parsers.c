// SPDX-License-Identifier: MIT
/*
 * libFuzzer targets for every parser of untrusted text: `mkvps`, operation
 * files, mkagent.conf, profiles, kernel uevents, APQN lists and patterns.
 * FUZZ_TARGET picks one at build time (make fuzz). The pure targets link
 * agent/core/ alone: no file I/O gets into them (DESIGN §8).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/apqn.h"
#include "core/mkvp.h"
#include "core/mkvps.h"
#include "core/op.h"
#include "core/uevent.h"
/* The file readers of io/ are linked only into the targets that parse them. */
#if FUZZ_TARGET == 3
#include "io/config.h"
#elif FUZZ_TARGET == 4
#include "io/profile.h"
#endif

/* The fuzzer's bytes as a NUL-terminated string. */
static char *text_of(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errmsg e;
	char *s;

#if FUZZ_TARGET == 1
	struct mkvps m;

	mkvps_parse((const char *)data, size, &m, &e);
	(void)s;
	(void)text_of;
#elif FUZZ_TARGET == 2
	struct op op;
	char *out = NULL;

	if (op_parse((const char *)data, size, &op, &e) == 0) {
		/* what parses must format and parse back the same */
		if (op_format(&op, &out) == 0) {
			struct op again;

			if (op_parse(out, strlen(out), &again, &e) != 0)
				abort();
			op_free(&again);
			free(out);
		}
		op_free(&op);
	}
	(void)s;
	(void)text_of;
#elif FUZZ_TARGET == 3
	struct config c;

	s = text_of(data, size);
	config_defaults(&c);
	if (s)
		config_parse(&c, "fuzz.conf", s, &e);
	free(s);
#elif FUZZ_TARGET == 4
	struct profile p;

	s = text_of(data, size);
	if (s)
		profile_parse(&p, "fuzz", "fuzz.profile", s, &e);
	free(s);
#elif FUZZ_TARGET == 5
	struct uevent u;

	uevent_parse_kernel((const char *)data, size, &u, &e);
	(void)s;
	(void)text_of;
#else
	struct apqn_list l = { 0 };
	struct mkvp p;

	s = text_of(data, size);
	if (s) {
		apqn_list_parse(s, &l, &e);
		apqn_list_free(&l);
		for (int t = 0; t < MK_TYPE_COUNT; t++)
			mkvp_parse_cli(t, s, &p, &e);
	}
	free(s);
#endif
	return 0;
}
