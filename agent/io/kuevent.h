/* SPDX-License-Identifier: MIT */
/*
 * kuevent.h - the kernel's uevents straight from NETLINK_KOBJECT_UEVENT
 * (libnl-3), for systems without udev. A message counts only when the
 * kernel sent it: sender port 0 and SCM_CREDENTIALS of uid 0. Anything
 * else is dropped with a warning.
 */
#pragma once

#include <stddef.h>

#include "core/errmsg.h"

struct nl_sock;

struct kuevent_src {
	struct nl_sock *sk;
};

int kuevent_open(struct kuevent_src *src, struct errmsg *e);
void kuevent_close(struct kuevent_src *src);
int kuevent_fd(const struct kuevent_src *src);
/* The next message: 0 and its bytes in @buf; -EAGAIN when none is
 * waiting; -EPERM for one not from the kernel (dropped). */
int kuevent_recv(struct kuevent_src *src, char *buf, size_t size, size_t *len);
/* The local port, so tests can send a message that is not the kernel's. */
unsigned int kuevent_port(const struct kuevent_src *src);
