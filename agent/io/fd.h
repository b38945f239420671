/* SPDX-License-Identifier: MIT */
/* fd.h - file descriptors under cleanup attributes (I/O, so not in core/macro.h). */
#pragma once

#include <unistd.h>

#include "core/macro.h"

#define _cleanup_close_ _cleanup_(closep)

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/* Hand a descriptor over to the caller and keep cleanup from closing it. */
#define TAKE_FD(fd)                     \
	({                              \
		int _fd_ = (fd);        \
		(fd) = -1;              \
		_fd_;                   \
	})
