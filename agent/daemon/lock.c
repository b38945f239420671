// SPDX-License-Identifier: MIT
/*
 * lock.c - one agent per state directory: a second would race the first
 * for every step. agent.lock is held (flock) while the agent lives, and
 * names its pid for the refusal a second one prints; workers drop it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "daemon/agent.h"
#include "io/log.h"

int lock_agent(struct agent *ag, struct errmsg *e)
{
	char pid[32];
	ssize_t n;
	int fd = openat(ag->en.store.fd, "agent.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			0644);

	if (fd < 0)
		return errmsg_set(e, -errno, "cannot open %s/agent.lock: %s", ag->en.store.dir,
				  strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = -errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		close(fd);
		if (rc != -EWOULDBLOCK)
			return errmsg_set(e, rc, "cannot lock %s/agent.lock: %s", ag->en.store.dir,
					  strerror(-rc));
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return errmsg_set(e, -EBUSY, "another agent is running (pid %s)",
				  pid[0] ? pid : "unknown");
	}
	if (ftruncate(fd, 0) < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0)
		log_warn("cannot write %s/agent.lock: %s", ag->en.store.dir, strerror(errno));
	ag->lock_fd = fd;
	return 0;
}
