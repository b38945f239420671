// SPDX-License-Identifier: MIT
#include <errno.h>

#include "core/macro.h"
#include "core/mktype.h"

/*
 * The MK types: one row each. SYM has no lines in sysfs mkvps; the query
 * helper reads it. Option letters and names are pkcshsm_mk_change's.
 */
static const struct mk_type_info types[MK_TYPE_COUNT] = {
	[MK_CCA_SYM] = { .name = "cca-sym", .mode = AP_MODE_CCA, .cli_bytes = 8, .sysfs_bytes = 8,
		.opt = 's', .opt_name = "cca-sym-mkvp", .opt_arg = "MKVP",
		.what = "CCA SYM master key", .regs = "CCA SYM", .queried = true },
	[MK_CCA_ASYM] = { .name = "cca-asym", .mode = AP_MODE_CCA, .cli_bytes = 8, .sysfs_bytes = 16,
		.opt = 'S', .opt_name = "cca-asym-mkvp", .opt_arg = "MKVP",
		.what = "CCA ASYM master key", .regs = "CCA ASYM" },
	[MK_CCA_AES] = { .name = "cca-aes", .mode = AP_MODE_CCA, .cli_bytes = 8, .sysfs_bytes = 8,
		.opt = 'A', .opt_name = "cca-aes-mkvp", .opt_arg = "MKVP",
		.what = "CCA AES master key", .regs = "CCA AES" },
	[MK_CCA_APKA] = { .name = "cca-apka", .mode = AP_MODE_CCA, .cli_bytes = 8, .sysfs_bytes = 8,
		.opt = 'p', .opt_name = "cca-apka-mkvp", .opt_arg = "MKVP",
		.what = "CCA APKA master key", .regs = "CCA APKA" },
	[MK_EP11] = { .name = "ep11", .mode = AP_MODE_EP11, .cli_bytes = 16, .sysfs_bytes = 32,
		.opt = 'e', .opt_name = "ep11-wkvp", .opt_arg = "WKVP",
		.what = "EP11 wrapping key", .regs = "EP11" },
};

static const char *const reg_names[REG_COUNT] = {
	[REG_NEW] = "new",
	[REG_CUR] = "cur",
	[REG_OLD] = "old",
};

static const char *const state_names[REG_STATE_COUNT] = {
	[REG_UNKNOWN] = "-",
	[REG_EMPTY] = "empty",
	[REG_PARTIAL] = "partial",
	[REG_FULL] = "full",
	[REG_INVALID] = "invalid",
	[REG_VALID] = "valid",
	[REG_UNCOMMITTED] = "uncommitted",
	[REG_COMMITTED] = "committed",
};

const struct mk_type_info *mk_type_info(enum mk_type t)
{
	return &types[t];
}

const char *mk_type_name(enum mk_type t)
{
	return types[t].name;
}

int mk_type_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (streq(types[i].name, name))
			return (int)i;
	return -EINVAL;
}

enum ap_mode mk_type_mode(enum mk_type t)
{
	return types[t].mode;
}

bool mk_type_is_cca(enum mk_type t)
{
	return types[t].mode == AP_MODE_CCA;
}

size_t mk_type_cli_bytes(enum mk_type t)
{
	return types[t].cli_bytes;
}

size_t mk_type_sysfs_bytes(enum mk_type t)
{
	return types[t].sysfs_bytes;
}

bool mk_type_has_reg(enum mk_type t, enum mk_reg r)
{
	return types[t].mode == AP_MODE_CCA || r != REG_OLD;
}

const char *mk_reg_name(enum mk_reg r)
{
	return reg_names[r];
}

const char *reg_state_name(enum reg_state s)
{
	return state_names[s];
}

bool reg_state_has_mkvp(enum reg_state s)
{
	return s == REG_FULL || s == REG_VALID || s == REG_COMMITTED;
}

static const struct {
	const char *a, *cards;
} mode_words[] = {
	[AP_MODE_UNKNOWN] = { "an unknown", "unknown" },
	[AP_MODE_ACCEL] = { "an accelerator", "accelerator (CEXnA)" },
	[AP_MODE_CCA] = { "a CCA", "CCA (CEXnC)" },
	[AP_MODE_EP11] = { "an EP11", "EP11 (CEXnP)" },
};

const char *ap_mode_a(enum ap_mode m)
{
	return (unsigned int)m < ARRAY_SIZE(mode_words) ? mode_words[m].a : mode_words[0].a;
}

const char *ap_mode_cards(enum ap_mode m)
{
	return (unsigned int)m < ARRAY_SIZE(mode_words) ? mode_words[m].cards :
							  mode_words[0].cards;
}

const char *ap_mode_name(enum ap_mode m)
{
	switch (m) {
	case AP_MODE_ACCEL:
		return "accel";
	case AP_MODE_CCA:
		return "cca";
	case AP_MODE_EP11:
		return "ep11";
	default:
		return NULL;
	}
}
