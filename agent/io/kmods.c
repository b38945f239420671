// SPDX-License-Identifier: MIT
#include <errno.h>
#include <libkmod.h>

#include "io/kmods.h"
#include "core/macro.h"

static const char *const ap_kmods[AP_KMODS_COUNT] = { "ap", "zcrypt", "zcrypt_cex4", "pkey" };

static inline void kmod_unrefp(struct kmod_ctx **c)
{
	if (*c)
		kmod_unref(*c);
}

static enum kmod_presence presence_of(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_module *mod = NULL;
	int state;

	if (kmod_module_new_from_name(ctx, name, &mod) < 0)
		return KMOD_MISSING;
	state = kmod_module_get_initstate(mod);
	kmod_module_unref(mod);
	switch (state) {
	case KMOD_MODULE_BUILTIN:
		return KMOD_BUILTIN;
	case KMOD_MODULE_LIVE:
		return KMOD_LOADED;
	case KMOD_MODULE_COMING:
		return KMOD_LOADING;
	case KMOD_MODULE_GOING:
		return KMOD_UNLOADING;
	default:
		return KMOD_MISSING;
	}
}

int ap_kmods_query(struct kmod_report out[AP_KMODS_COUNT])
{
	_cleanup_(kmod_unrefp) struct kmod_ctx *ctx = kmod_new(NULL, NULL);

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < AP_KMODS_COUNT; i++)
		out[i] = (struct kmod_report){ ap_kmods[i], presence_of(ctx, ap_kmods[i]) };
	return 0;
}

const char *kmod_presence_name(enum kmod_presence p)
{
	static const char *const names[] = {
		[KMOD_MISSING] = "missing",	[KMOD_BUILTIN] = "built in",
		[KMOD_LOADED] = "loaded",	[KMOD_LOADING] = "loading",
		[KMOD_UNLOADING] = "unloading",
	};
	return names[p];
}
