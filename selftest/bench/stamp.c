// SPDX-License-Identifier: MIT
/*
 * stamp - the benchmarks' helper: appends the monotonic time in
 * microseconds, taken as its main() starts, to the file named by its first
 * argument, and exits 0. The latency benchmarks read it as the moment the
 * helper was executed.
 */
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	FILE *f;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc < 2 || !(f = fopen(argv[1], "a")))
		return 1;
	fprintf(f, "%lld\n", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	return fclose(f) == 0 ? 0 : 1;
}
