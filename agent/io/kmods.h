/* SPDX-License-Identifier: MIT */
/*
 * kmods.h - whether the kernel modules the AP bus needs are there:
 * ap, zcrypt, zcrypt_cex4 and pkey, each loaded, built in or missing, as
 * libkmod's init state reads it from /sys/module.
 */
#pragma once

enum kmod_presence {
	KMOD_MISSING,
	KMOD_BUILTIN,
	KMOD_LOADED,
	KMOD_LOADING,
	KMOD_UNLOADING,
};

struct kmod_report {
	const char *name;
	enum kmod_presence presence;
};

#define AP_KMODS_COUNT 4

/* Fill @out with the four modules in the order above. */
int ap_kmods_query(struct kmod_report out[AP_KMODS_COUNT]);
const char *kmod_presence_name(enum kmod_presence p);
