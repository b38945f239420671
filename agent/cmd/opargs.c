// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>

#include "cmd/cli.h"
#include "io/log.h"
#include "core/macro.h"
#include "cmd/opargs.h"

static const struct {
	int letter;
	enum mk_type type;
	const char *name;
} pattern_opts[] = {
	{ 'A', MK_CCA_AES, "cca-aes-mkvp" }, { 'p', MK_CCA_APKA, "cca-apka-mkvp" },
	{ 'S', MK_CCA_ASYM, "cca-asym-mkvp" }, { 's', MK_CCA_SYM, "cca-sym-mkvp" },
	{ 'e', MK_EP11, "ep11-wkvp" },
};

enum { OPT_PROFILES = 256, OPT_NO_AUTO, OPT_JSON, OPT_FORCE };

static unsigned int flag_of(int c)
{
	switch (c) {
	case 'a':
		return ARG_APQNS;
	case 'i':
		return ARG_ID;
	case OPT_PROFILES:
		return ARG_PROFILES;
	case OPT_NO_AUTO:
		return ARG_NO_AUTO;
	case OPT_JSON:
		return ARG_JSON;
	case OPT_FORCE:
		return ARG_FORCE;
	default:
		return ARG_PATTERNS;
	}
}

static const char *option_name(int c)
{
	static char buf[48] = "?";

	for (size_t i = 0; i < ARRAY_SIZE(pattern_opts); i++)
		if (pattern_opts[i].letter == c)
			snprintf(buf, sizeof(buf), "-%c/--%s", c, pattern_opts[i].name);
	if (c == 'a')
		return "-a/--apqns";
	if (c == 'i')
		return "-i/--id";
	if (c == OPT_PROFILES)
		return "--profiles";
	if (c == OPT_NO_AUTO)
		return "--no-auto-finalize";
	if (c == OPT_JSON)
		return "--json";
	if (c == OPT_FORCE)
		return "--force";
	return buf;
}

/* Names, comma separated, each a profile name and each once. */
static int profile_list_check(const char *list, struct errmsg *e)
{
	const char *p = list;

	for (;;) {
		size_t len = strcspn(p, ",");
		char name[256];

		if (!len || len >= sizeof(name))
			return errmsg_set(e, -EINVAL, "'%s' has an empty or overlong name", list);
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (!profile_name_valid(name))
			return errmsg_set(e, -EINVAL, "'%s' is not a profile name", name);
		for (const char *q = list; q < p; q += strcspn(q, ",") + 1)
			if (strcspn(q, ",") == len && !strncmp(q, p, len))
				return errmsg_set(e, -EINVAL, "'%s' is named twice", name);
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

int op_args_parse(const char *cmd, const char *usage, unsigned int allowed, int argc, char **argv,
		  struct op_args *a)
{
	static const struct option opts[] = {
		{ "apqns", required_argument, NULL, 'a' },
		{ "cca-aes-mkvp", required_argument, NULL, 'A' },
		{ "cca-apka-mkvp", required_argument, NULL, 'p' },
		{ "cca-asym-mkvp", required_argument, NULL, 'S' },
		{ "cca-sym-mkvp", required_argument, NULL, 's' },
		{ "ep11-wkvp", required_argument, NULL, 'e' },
		{ "id", required_argument, NULL, 'i' },
		{ "profiles", required_argument, NULL, OPT_PROFILES },
		{ "no-auto-finalize", no_argument, NULL, OPT_NO_AUTO },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct errmsg e;
	int c, idx;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:A:p:S:s:e:i:h", opts, &idx)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		if (c == ':' || c == '?')
			return cli_option_error(cmd, c, argv);
		if (!(allowed & flag_of(c))) {
			say_error("%s: option %s does not apply (see mkagent %s --help)", cmd,
				  option_name(c), cmd);
			return EXIT_USAGE;
		}
		if (flag_of(c) != ARG_PATTERNS && (a->given & flag_of(c)) && c != OPT_NO_AUTO &&
		    c != OPT_JSON && c != OPT_FORCE) {
			say_error("%s: %s is given twice", cmd, option_name(c));
			return EXIT_USAGE;
		}
		a->given |= flag_of(c);
		switch (c) {
		case 'a':
			if (apqn_list_parse(optarg, &a->apqns, &e) < 0) {
				say_error("%s: -a/--apqns: %s", cmd, e.text);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			if (!op_id_valid(optarg)) {
				say_error("%s: -i/--id: '%s' is not an operation ID (6 letters or digits)",
					  cmd, optarg);
				return EXIT_USAGE;
			}
			snprintf(a->id, sizeof(a->id), "%s", optarg);
			break;
		case OPT_PROFILES:
			if (profile_list_check(optarg, &e) < 0) {
				say_error("%s: --profiles: %s", cmd, e.text);
				return EXIT_USAGE;
			}
			a->profiles = optarg;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_NO_AUTO:
			a->no_auto_finalize = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		default:
			for (size_t i = 0; i < ARRAY_SIZE(pattern_opts); i++) {
				enum mk_type t = pattern_opts[i].type;

				if (pattern_opts[i].letter != c)
					continue;
				if (a->has[t]) {
					say_error("%s: %s is given twice", cmd, option_name(c));
					return EXIT_USAGE;
				}
				if (mkvp_parse_cli(t, optarg, &a->mkvp[t], &e) < 0) {
					say_error("%s: %s: %s", cmd, option_name(c), e.text);
					return EXIT_USAGE;
				}
				a->has[t] = true;
			}
		}
	}
	a->rest = argv + optind;
	a->nrest = argc - optind;
	return OP_ARGS_GO_ON;
}

void op_args_free(struct op_args *a)
{
	apqn_list_free(&a->apqns);
}

bool op_args_any_pattern(const struct op_args *a)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (a->has[t])
			return true;
	return false;
}
