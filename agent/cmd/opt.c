// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>

#include "cmd/opt.h"
#include "core/macro.h"

static bool has_letter(const struct opt *o)
{
	return o->id > 0 && o->id < OPT_LONG && isalnum(o->id);
}

int opt_parser_init(struct opt_parser *p, const char *cmd, const struct opt *opts, size_t n,
		    unsigned int allowed, bool stop_at_arg, struct errmsg *e)
{
	char *s = p->shortopts;

	if (n > OPT_MAX)
		return errmsg_set(e, -E2BIG, "%zu options, more than %d", n, OPT_MAX);
	*p = (struct opt_parser){ .cmd = cmd, .opts = opts, .n = n, .allowed = allowed };
	if (stop_at_arg)
		*s++ = '+';
	*s++ = ':'; /* a missing value is ':', not '?' */
	for (size_t i = 0; i < n; i++) {
		if (has_letter(&opts[i])) {
			*s++ = (char)opts[i].id;
			if (opts[i].arg)
				*s++ = ':';
		}
		p->longopts[i] = (struct option){ opts[i].name,
						  opts[i].arg ? required_argument : no_argument,
						  NULL, opts[i].id };
	}
	*s = '\0';
	optind = 0;
	opterr = 0;
	return 0;
}

bool opt_applies(const struct opt *o, unsigned int allowed)
{
	return !o->flags || (o->flags & allowed);
}

const char *opt_label(const struct opt *o, char *buf, size_t size)
{
	if (has_letter(o))
		snprintf(buf, size, "-%c/--%s", o->id, o->name);
	else
		snprintf(buf, size, "--%s", o->name);
	return buf;
}

int opt_getopt_error(const char *cmd, int c, char **argv, struct errmsg *e)
{
	const char *arg = argv[optind - 1];
	char shortopt[3] = { '-', (char)optopt, '\0' };
	const char *name = optopt && strncmp(arg, "--", 2) != 0 ? shortopt : arg;
	const char *sep = cmd ? ": " : "";

	if (!cmd)
		cmd = "";
	if (c == ':')
		return errmsg_set(e, -EINVAL, "%s%soption '%s' needs a value", cmd, sep, name);
	return errmsg_set(e, -EINVAL, "%s%sunknown option '%s' (see mkagent %s%s--help)", cmd, sep,
			  name, cmd, *cmd ? " " : "");
}

int opt_next(struct opt_parser *p, int argc, char **argv, const struct opt **o, struct errmsg *e)
{
	char label[64];
	int c = getopt_long(argc, argv, p->shortopts, p->longopts, NULL);

	if (c == -1)
		return 0;
	if (c == ':' || c == '?')
		return opt_getopt_error(p->cmd, c, argv, e);
	for (size_t i = 0; i < p->n; i++) {
		if (p->opts[i].id != c)
			continue;
		*o = &p->opts[i];
		if (!opt_applies(*o, p->allowed))
			return errmsg_set(e, -EINVAL, "%s%soption %s does not apply (see mkagent %s%s--help)",
					  p->cmd ?: "", p->cmd ? ": " : "",
					  opt_label(*o, label, sizeof(label)), p->cmd ?: "",
					  p->cmd ? " " : "");
		return 1;
	}
	return opt_getopt_error(p->cmd, '?', argv, e);
}

/* "  -a, --apqns APQNS" or "      --json": the left column of a row. */
static int row_head(const struct opt *o, char *buf, size_t size)
{
	char letter[5] = "    ";

	if (has_letter(o))
		snprintf(letter, sizeof(letter), "-%c, ", o->id);
	return snprintf(buf, size, "  %s--%s%s%s", letter, o->name, o->arg ? " " : "",
			o->arg ?: "");
}

void opt_print_help(FILE *f, const struct opt *opts, size_t n, unsigned int allowed)
{
	char head[96];
	int width = 0;

	for (size_t i = 0; i < n; i++) {
		int w = row_head(&opts[i], head, sizeof(head));

		if (opt_applies(&opts[i], allowed) && w > width)
			width = w;
	}
	for (size_t i = 0; i < n; i++) {
		if (!opt_applies(&opts[i], allowed))
			continue;
		row_head(&opts[i], head, sizeof(head));
		fprintf(f, "%-*s  %s\n", width, head, opts[i].help);
	}
}
