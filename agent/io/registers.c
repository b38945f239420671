// SPDX-License-Identifier: MIT
#include <errno.h>

#include "io/apbus.h"
#include "io/log.h"
#include "core/macro.h"
#include "io/registers.h"
#include "io/runner.h"

#define QUERY_TIMEOUT 60
#define QUERY_OUTPUT_MAX 4096

struct collected {
	char text[QUERY_OUTPUT_MAX];
	size_t len;
};

static void collect(void *ctx, int fd, const char *line)
{
	struct collected *c = ctx;

	if (fd == 2) {
		log_warn("register query helper: %s", line);
		return;
	}
	if (c->len + strlen(line) + 2 < sizeof(c->text))
		c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s\n", line);
}

/* The registers of @t, which sysfs does not show, from the query helper. */
static int query_type(const char *helper, enum mk_type t, struct apqn_view *a, struct errmsg *e)
{
	char name[APQN_STR_MAX];
	struct collected c = { .len = 0 };
	struct run_outcome o;
	struct mkvps got;
	struct errmsg pe;
	struct helper h;
	int rc = helper_open(helper,
			     (const char *const[]){ apqn_format(a->apqn, name), mk_type_name(t), NULL },
			     &h, e);

	if (rc < 0)
		return rc;
	struct run_spec spec = { .exec_fd = h.fd, .argv = h.argv,
				 .timeout_s = QUERY_TIMEOUT, .line = collect, .line_ctx = &c };
	rc = runner_run(&spec, &o, e);
	helper_close(&h);
	if (rc < 0)
		return rc;
	if (o.exit_code != 0)
		return errmsg_set(e, -EIO, "%s: the register query helper failed%s%s", name,
				  o.last_stderr[0] ? ": " : "", o.last_stderr);
	rc = mkvps_parse(c.text, c.len, &got, &pe);
	if (rc < 0)
		return errmsg_set(e, rc, "%s: register query helper: %s", name, pe.text);
	for (int u = 0; u < MK_TYPE_COUNT; u++) {
		if (!got.has[t] || (got.has[u] && mk_type_mode(u) != mk_type_mode(t)))
			return errmsg_set(e, -EINVAL, "%s: the register query helper printed no %s lines",
					  name, mk_type_name(t));
		got.has[u] = u == (int)t;
	}
	mkvps_merge(&a->regs, &got);
	return 0;
}

int view_read(struct view *out, const struct apqn_list *apqns, const char *query_helper,
	      struct errmsg *e)
{
	_cleanup_(ap_bus_free) struct ap_bus bus = { 0 };
	struct view v = { .v = calloc(apqns->n ? apqns->n : 1, sizeof(*v.v)), .n = apqns->n };
	int rc;

	if (!v.v)
		return errmsg_set(e, -ENOMEM, "out of memory");
	rc = ap_bus_scan_apqns(&bus, apqns, e);
	if (rc < 0) {
		view_free(&v);
		return rc;
	}
	for (size_t i = 0; i < apqns->n; i++) {
		struct apqn_view *a = &v.v[i];
		struct ap_queue *q = ap_bus_find(&bus, apqns->v[i]);
		struct errmsg re;

		a->apqn = apqns->v[i];
		if (!q)
			continue;
		/* an unusable queue's registers are unknown: no HSM request */
		if (queue_usability(&q->queue) == QUEUE_USABLE && ap_queue_read_mkvps(q, &re) < 0) {
			snprintf(a->read_error, sizeof(a->read_error), "%.159s", re.text);
			log_warn("%s", re.text);
		}
		a->queue = q->queue;
		for (int t = 0; a->regs_read && query_helper && *query_helper && t < MK_TYPE_COUNT; t++) {
			if (!mk_type_info(t)->queried || !mode_has_type(q->mode, t) ||
			    query_type(query_helper, t, a, &re) == 0)
				continue;
			snprintf(a->read_error, sizeof(a->read_error), "%.159s", re.text);
			log_warn("%s", re.text);
		}
	}
	*out = v;
	return 0;
}
