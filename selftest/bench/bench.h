/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what the sections of bench share (bench.c says what each
 * measures): measuring processes (measure.c), the stage on apsim with the
 * stamp profile and the alternatives (stage.c), and the sections
 * themselves (latency.c: latency, reads; cost.c: idle, scale, ops, phase).
 */
#pragma once

#include <sys/types.h>

#include "../fixture.h"

#define TRIALS 200
#define POLLER_TRIALS 100

/* The stamp helper's file and the alternatives' plan file (stage.c). */
extern char stamps[4200], plan_file[4200];

struct usage {
	long long wall_us, cpu_us;
	long maxrss_kb, switches;
};

/* measure.c */
int env_int(const char *name, int dflt);
int run_measured(char *const argv[], const char *out, struct usage *u);
struct usage proc_usage(pid_t pid);
long long pctl(long long *v, int n, int pct);
long long median_of(long long *v, int n);

/* stage.c */
struct apqn nth_apqn(int i);
void stage(char **argv, int napqns, const char *conf);
void unstage(void);
void set_conf(const char *conf);
char *plan_op(const struct apqn *a, size_t n, const struct apsim_key *k);
void cancel(const char *id);
void write_plan_file(const struct apqn *a, size_t n, const struct apsim_key *k);
pid_t poller_start(int period_s, const char *ticks);
struct usage poller_stop(pid_t pid);
long long wait_stamp(int ms);

/* the sections */
void latency(char **argv);
void reads(char **argv);
void idle(char **argv);
extern const char scale_head[];
void scale(char **argv, int n);
void ops(char **argv);
void phase(char **argv);
