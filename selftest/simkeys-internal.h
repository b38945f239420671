/* SPDX-License-Identifier: MIT */
/*
 * simkeys-internal.h - what the files of the simkeys program share: the
 * store and HSM directories it was given, and the store's keys.
 *
 *   simkeys.c          main(), and the commands a test runs: init, verify
 *   simkeys-helper.c   the phases mkagent runs, and the invariants check
 *   simkeys-store.c    key files, key wrap, master keys in the HSM directory
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apsim.h"
#include "simkey.h"

#define CLEAR_LEN 32
#define BLOB_MAX SIMKEY_BLOB_MAX

/* --store and --hsm */
extern const char *store, *hsm;

/* simkeys-store.c */
/* "simkeys: " and @fmt with @arg on stderr, and exit 1. */
void die(const char *fmt, const char *arg) __attribute__((noreturn));
void to_hex(const uint8_t *b, int n, char *out);
/* The bytes of @s: their number, or -1 when more than @max or not hex. */
int from_hex(const char *s, uint8_t *b, int max);
/* Wrap (@enc) or unwrap @in under @mk: the length of @out, or -1. */
int wrap(const struct apsim_key *mk, const uint8_t *in, int inlen, uint8_t *out, bool enc);
/* STORE/@sub/@name: @sub is "keys" or "truth" (the clear value). */
void key_path(const char *name, char *buf, size_t size, const char *sub);
bool key_load(const char *name, struct simkey *k);
void key_save(const char *name, const struct simkey *k);
int key_count(void);
/* The key of pattern @want in register @only (REG_COUNT: any) of @apqns. */
bool find_mk(const struct apqn_list *apqns, enum mk_type t, const struct mkvp *want,
	     enum mk_reg only, struct apsim_key *out);
/* The pattern in register @r of @t on the first of @apqns that has one. */
void reg_mkvp(const struct apqn_list *apqns, enum mk_type t, enum mk_reg r, struct mkvp *out);

/* simkeys-helper.c */
/* reencipher, finalize, cancel, recover or refresh every key of the store. */
int run_phase(const char *phase);
/* The invariants before @phase, violations appended to @file: 1 if any. */
int check(const char *phase, const char *file);
