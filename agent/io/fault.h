/* SPDX-License-Identifier: MIT */
/*
 * fault.h - kill points for the crash test. In the test build
 * (agent/mkagent-faults, -DMKAGENT_FAULTS) the process that reaches its
 * MKAGENT_FAULT_KILL_AT-th point first kills itself with SIGKILL, noting
 * the point in MKAGENT_FAULT_LOG (created once: only one process dies).
 * In mkagent itself the points are nothing.
 */
#pragma once

#ifdef MKAGENT_FAULTS
void fault_point(const char *what);
#else
static inline void fault_point(const char *what)
{
	(void)what;
}
#endif
