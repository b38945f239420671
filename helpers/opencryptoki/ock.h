/* SPDX-License-Identifier: MIT */
/*
 * ock.h - what the pieces of mkagent-opencryptoki share: the command line
 * (main.c), one run of pkcshsm_mk_change on a pty and what it showed
 * (pty.c), the tool's operation and the IDs kept in the work directory
 * (state.c).
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define EXIT_LATER 75
#define LINE_MAX_ 1024
#define MAX_SLOTS 1024

/* main.c: the command line and the signals */
extern const char *tool;
/* --continue-without-token */
extern bool may_lack[MAX_SLOTS];
extern volatile sig_atomic_t stopping;

/* pty.c: the dialogue with the tool, and what one run of it showed */
struct run {
	bool missing[MAX_SLOTS]; /* "WARNING: The following slots have no token present:" */
	bool in_missing_list;
	bool declined;      /* "Continue [y/N]?" answered N */
	bool no_pin;        /* fd 3 answered ERR: the tool was ended at its prompt */
	bool echo_stuck;    /* the tool did not turn echo off at its PIN prompt */
	char no_pin_why[400];
	long pin_slot;      /* the slot of the last PIN prompt */
	char created[16];   /* "Master key change operation 'ID' created." */
	char last[LINE_MAX_];
	int status;         /* the tool's exit status */
	int signal;         /* the signal that ended the tool, or 0 */
	char *text;         /* the whole transcript, lines joined by \n */
	size_t len;
};

extern struct run run;

bool has(const char *needle);
const char *label_of(long slot, char *buf, size_t size);
int run_tool(char **argv);

/* state.c: the tool's operation and the IDs kept in the work directory */
extern char id_path[4096], none_path[4096];

/* The state of the tool's operation, from `list [-i ID]`. */
enum found { FOUND, GONE, UNKNOWN };

#define STATE_REENCIPHERED "Key objects have been re-enciphered,"
#define STATE_ERRORED "Finalizing or canceling has errored"

/* The pattern of each MK type (MKAGENT_NEW_MKVP_*) and the tool's option for it. */
struct mkvp_option {
	const char *var, *opt;
	size_t bytes;
};

extern const struct mkvp_option TYPES[];
extern const size_t TYPES_COUNT;

void keep(const char *path, const char *text);
bool kept(const char *path, char *id, size_t size);
bool tool_unavailable(void);
enum found list_one(const char *id, char *state, size_t size);
int stuck(const char *id, const char *state);
enum found find_ours(char *id, size_t size);
int cannot_tell(const char *what);
