// SPDX-License-Identifier: MIT
#include <errno.h>

#include "core/macro.h"
#include "core/mktype.h"

static const struct {
	const char *name;
	bool cca;
	size_t cli_bytes;
	size_t sysfs_bytes;
} types[MK_TYPE_COUNT] = {
	[MK_CCA_SYM] = { "cca-sym", true, 8, 8 },
	[MK_CCA_ASYM] = { "cca-asym", true, 8, 16 },
	[MK_CCA_AES] = { "cca-aes", true, 8, 8 },
	[MK_CCA_APKA] = { "cca-apka", true, 8, 8 },
	[MK_EP11] = { "ep11", false, 16, 32 },
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

bool mk_type_is_cca(enum mk_type t)
{
	return types[t].cca;
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
	return types[t].cca || r != REG_OLD;
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
