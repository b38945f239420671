// SPDX-License-Identifier: MIT
#ifdef MKAGENT_FAULTS
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/fault.h"

void fault_point(const char *what)
{
	static int count;
	const char *at = getenv("MKAGENT_FAULT_KILL_AT"), *log = getenv("MKAGENT_FAULT_LOG");
	int fd;

	if (!at || !log || ++count != atoi(at))
		return;
	fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return; /* another process already died for this run */
	dprintf(fd, "%d %s\n", (int)getpid(), what);
	close(fd);
	raise(SIGKILL);
}
#endif
