// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include "io/kuevent.h"
#include "io/log.h"
#include "core/macro.h"

#define KERNEL_GROUP 1

int kuevent_open(struct kuevent_src *src, struct errmsg *e)
{
	int rc;

	src->sk = nl_socket_alloc();
	if (!src->sk)
		return errmsg_set(e, -ENOMEM, "cannot allocate a netlink socket");
	nl_socket_disable_seq_check(src->sk);
	nl_join_groups(src->sk, KERNEL_GROUP);
	rc = nl_connect(src->sk, NETLINK_KOBJECT_UEVENT);
	if (rc < 0) {
		nl_socket_free(src->sk);
		src->sk = NULL;
		return errmsg_set(e, -EIO, "cannot open the kernel uevent socket: %s", nl_geterror(rc));
	}
	nl_socket_set_passcred(src->sk, 1);
	nl_socket_set_nonblocking(src->sk);
	nl_socket_set_buffer_size(src->sk, 1 << 20, 0);
	return 0;
}

void kuevent_close(struct kuevent_src *src)
{
	if (src->sk)
		nl_socket_free(src->sk);
	src->sk = NULL;
}

int kuevent_fd(const struct kuevent_src *src)
{
	return nl_socket_get_fd(src->sk);
}

unsigned int kuevent_port(const struct kuevent_src *src)
{
	return nl_socket_get_local_port(src->sk);
}

int kuevent_recv(struct kuevent_src *src, char *buf, size_t size, size_t *len)
{
	struct sockaddr_nl from = { 0 };
	struct ucred *creds = NULL;
	unsigned char *msg = NULL;
	int n = nl_recv(src->sk, &from, &msg, &creds);
	int rc = 0;

	if (n == 0 || n == -NLE_AGAIN) {
		rc = -EAGAIN;
	} else if (n < 0) {
		rc = -EIO;
	} else if (from.nl_pid != 0 || !creds || creds->uid != 0) {
		log_warn("dropped a uevent not sent by the kernel (port %u, uid %d)", from.nl_pid,
			 creds ? (int)creds->uid : -1);
		rc = -EPERM;
	} else {
		*len = (size_t)n < size ? (size_t)n : size;
		memcpy(buf, msg, *len);
	}
	free(msg);
	free(creds);
	return rc;
}
