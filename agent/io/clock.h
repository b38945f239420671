/* SPDX-License-Identifier: MIT */
/* clock.h - the monotonic clock in the units the agent counts in. */
#pragma once

#include <time.h>

static inline long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline long long now_ms(void)
{
	return now_us() / 1000;
}
