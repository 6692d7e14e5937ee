/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uipc-private.h"

/* One handle per message: a fixed tag byte plus exactly one fd, so a
 * receiver can tell a uipc handle from anything else on the socket. */
#define FD_TAG 0x55

union fd_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * 8)];
};

UIPC_API int uipc_fd_send(int sock, int fd)
{
	char tag = FD_TAG;
	struct iovec iov = {.iov_base = &tag, .iov_len = 1};
	union fd_cmsg cm;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	uipc_return_if(sock < 0 || fd < 0, -EBADF);
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	memset(&cm, 0, sizeof(cm));
	msg.msg_control = cm.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) == 1)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

UIPC_API int uipc_fd_recv(int sock, int *ret_fd)
{
	char tag = 0;
	struct iovec iov = {.iov_base = &tag, .iov_len = 1};
	union fd_cmsg cm;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	int fds[8], nfds = 0;
	ssize_t n;

	uipc_return_if(sock < 0, -EBADF);
	uipc_return_if(!ret_fd, -EINVAL);
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt && nfds < 8; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if (n == 0 && nfds == 0)
		return -EPIPE;
	if (n != 1 || tag != FD_TAG || nfds != 1 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		for (int i = 0; i < nfds; i++)
			uipc__close(fds[i]);
		return -EPROTO;
	}
	*ret_fd = fds[0];
	return 0;
}
