// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "core/ini.h"
#include "core/macro.h"
#include "io/fileio.h"
#include "io/profile.h"
#include "io/trust.h"

struct prof_ctx {
	struct profile *p;
	bool seen_types, seen_section;
	struct errmsg why;
};

static int parse_types(struct prof_ctx *x, const char *value)
{
	char buf[INI_LINE_MAX + 1], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", value);
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		int t = mk_type_from_name(w);

		if (t < 0)
			return ini_error(&x->why, "unknown MK type '%s' in mk-types", w);
		x->p->types[t] = true;
	}
	x->seen_types = true;
	return 1;
}

static int profile_key(struct prof_ctx *x, const char *name, const char *value)
{
	struct profile *p = x->p;

	x->seen_section = true;
	if (streq(name, "description")) {
		snprintf(p->description, sizeof(p->description), "%s", value);
		return 1;
	}
	if (streq(name, "mk-types"))
		return parse_types(x, value);
	if (streq(name, "pin")) {
		if (!streq(value, "yes") && !streq(value, "no"))
			return ini_error(&x->why, "pin must be yes or no, not '%s'", value);
		p->pin = streq(value, "yes");
		return 1;
	}
	return ini_error(&x->why, "unknown key '%s' in [profile]", name);
}

static int phase_key(struct prof_ctx *x, enum phase ph, const char *name, const char *value)
{
	struct profile *p = x->p;

	if (streq(name, "exec")) {
		if (value[0] != '/')
			return ini_error(&x->why, "exec must start with an absolute path, not '%s'", value);
		snprintf(p->phase[ph].exec, sizeof(p->phase[ph].exec), "%s", value);
		p->phase[ph].present = true;
		return 1;
	}
	if (streq(name, "timeout"))
		return ini_seconds(&x->why, name, value, &p->phase[ph].timeout);
	return ini_error(&x->why, "unknown key '%s' in [%s]", name, phase_name(ph));
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct prof_ctx *x = user;
	int ph;

	if (streq(section, "profile"))
		return profile_key(x, name, value);
	ph = phase_from_name(section);
	if (ph < 0)
		return ini_error(&x->why, "unknown section [%s]", section);
	return phase_key(x, ph, name, value);
}

int profile_parse(struct profile *p, const char *name, const char *path, const char *text,
		  struct errmsg *e)
{
	struct profile tmp = { 0 };
	struct prof_ctx x = { .p = &tmp };
	const struct ini_parse how = { .path = path, .key = handler, .user = &x, .why = &x.why };
	bool any = false;
	int rc;

	snprintf(tmp.name, sizeof(tmp.name), "%s", name);
	snprintf(tmp.path, sizeof(tmp.path), "%s", path);
	for (int ph = 0; ph < PHASE_COUNT; ph++)
		tmp.phase[ph].timeout = PROFILE_TIMEOUT_DEFAULT;
	rc = ini_parse_text(text, strlen(text), &how, e);
	if (rc < 0)
		return rc;
	if (!x.seen_section || !x.seen_types)
		return errmsg_set(e, -EINVAL, "%s: no mk-types in [profile]", path);
	for (int ph = 0; ph < PHASE_COUNT; ph++)
		any |= tmp.phase[ph].present;
	if (!any)
		return errmsg_set(e, -EINVAL, "%s: no phase has an exec", path);
	for (int ph = 0; ph < PHASE_COUNT; ph++)
		if (!tmp.phase[ph].present && tmp.phase[ph].timeout != PROFILE_TIMEOUT_DEFAULT)
			return errmsg_set(e, -EINVAL, "%s: [%s] has a timeout but no exec", path,
					  phase_name(ph));
	*p = tmp;
	return 0;
}

static int profile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct profile *)a)->name, ((const struct profile *)b)->name);
}

int profiles_load(struct profile_set *set, const char *dir, struct errmsg *e)
{
	struct profile_set s = { 0 };
	struct dirent *de;
	int fd = trust_open(dir, TRUST_DIR, "profiles", e);
	DIR *d;

	if (fd == -ENOENT) {
		*set = s;
		return 0;
	}
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return errmsg_set(e, -errno, "%s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char name[PROFILE_NAME_MAX], path[PATH_MAX];
		_cleanup_free_ char *text = NULL;
		struct profile *v;
		int rc;

		if (len <= 8 || strcmp(de->d_name + len - 8, ".profile") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 8), de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!profile_name_valid(name) || len - 8 >= PROFILE_NAME_MAX) {
			rc = errmsg_set(e, -EINVAL, "%s: '%s' is not a profile name", path, name);
			goto fail;
		}
		rc = read_config_file(path, &text, e);
		if (rc < 0)
			goto fail;
		v = realloc(s.v, (s.n + 1) * sizeof(*v));
		if (!v) {
			rc = errmsg_set(e, -ENOMEM, "out of memory");
			goto fail;
		}
		s.v = v;
		rc = profile_parse(&s.v[s.n], name, path, text, e);
		if (rc < 0)
			goto fail;
		s.n++;
		continue;
fail:
		closedir(d);
		profiles_free(&s);
		return rc;
	}
	closedir(d);
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), profile_cmp);
	*set = s;
	return 0;
}

void profiles_free(struct profile_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

const struct profile *profiles_find(const struct profile_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (streq(set->v[i].name, name))
			return &set->v[i];
	return NULL;
}

bool profile_covers(const struct profile *p, const struct op *op)
{
	for (int t = 0; t < MK_TYPE_COUNT; t++)
		if (p->types[t] && op->has_new[t])
			return true;
	return false;
}
