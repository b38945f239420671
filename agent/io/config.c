// SPDX-License-Identifier: MIT
#include <errno.h>

#include "core/ini.h"
#include "core/macro.h"
#include "io/config.h"
#include "io/fileio.h"
#include "io/paths.h"

const char config_default_pin_helper[] = LIBEXECDIR "/mkagent-pin-file";

void config_defaults(struct config *c)
{
	*c = (struct config){
		.poll_interval = 30,
		.event_source = EVENT_SOURCE_UDEV,
		.auto_finalize = true,
		.auto_recover = true,
	};
	snprintf(c->pin_helper, sizeof(c->pin_helper), "%s", config_default_pin_helper);
}

struct cfg_ctx {
	struct config *c;
	struct errmsg why;
};

static int yes_no(struct cfg_ctx *x, const char *name, const char *value, bool *out)
{
	if (streq(value, "yes") || streq(value, "no")) {
		*out = streq(value, "yes");
		return 1;
	}
	return ini_error(&x->why, "%s must be yes or no, not '%s'", name, value);
}

static int helper_path(struct cfg_ctx *x, const char *name, const char *value, char *out,
		       size_t size)
{
	if (*value && value[0] != '/')
		return ini_error(&x->why, "%s must be an absolute path, not '%s'", name, value);
	snprintf(out, size, "%s", value);
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_ctx *x = user;
	struct config *c = x->c;

	if (streq(section, "agent")) {
		if (streq(name, "poll-interval"))
			return ini_seconds(&x->why, name, value, &c->poll_interval);
		if (streq(name, "event-source")) {
			if (!streq(value, "udev") && !streq(value, "kernel"))
				return ini_error(&x->why, "event-source must be udev or kernel, not '%s'", value);
			c->event_source = streq(value, "udev") ? EVENT_SOURCE_UDEV : EVENT_SOURCE_KERNEL;
			return 1;
		}
		if (streq(name, "auto-finalize"))
			return yes_no(x, name, value, &c->auto_finalize);
		if (streq(name, "auto-recover"))
			return yes_no(x, name, value, &c->auto_recover);
	} else if (streq(section, "pin") && streq(name, "helper")) {
		c->pin_helper_set = true;
		return helper_path(x, "[pin] helper", value, c->pin_helper, sizeof(c->pin_helper));
	} else if (streq(section, "notify") && streq(name, "helper")) {
		return helper_path(x, "[notify] helper", value, c->notify_helper,
				   sizeof(c->notify_helper));
	} else if (streq(section, "registers") && streq(name, "query-helper")) {
		return helper_path(x, "[registers] query-helper", value, c->query_helper,
				   sizeof(c->query_helper));
	} else if (streq(section, "metrics") && streq(name, "textfile")) {
		if (*value && value[0] != '/')
			return ini_error(&x->why, "[metrics] textfile must be an absolute path, not '%s'",
					 value);
		if (strlen(value) >= sizeof(c->metrics_textfile))
			return ini_error(&x->why, "[metrics] textfile is too long");
		strcpy(c->metrics_textfile, value);
		return 1;
	} else if (!streq(section, "agent") && !streq(section, "pin") && !streq(section, "notify") &&
		   !streq(section, "registers") && !streq(section, "metrics")) {
		return ini_error(&x->why, "unknown section [%s]", section);
	}
	return ini_error(&x->why, "unknown key '%s' in [%s]", name, section);
}

int config_parse(struct config *c, const char *path, const char *text, struct errmsg *e)
{
	struct config tmp = *c;
	struct cfg_ctx x = { .c = &tmp };
	const struct ini_parse how = { .path = path, .key = handler, .user = &x, .why = &x.why };
	int rc = ini_parse_text(text, strlen(text), &how, e);

	if (rc < 0)
		return rc;
	*c = tmp;
	return 0;
}

int config_load(struct config *c, const char *path, bool must_exist, struct errmsg *e)
{
	_cleanup_free_ char *text = NULL;
	int rc = read_config_file(path, &text, e);

	if (rc == -ENOENT && !must_exist)
		return 0;
	if (rc < 0)
		return rc;
	return config_parse(c, path, text, e);
}
