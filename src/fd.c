/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uipc-private.h"
#include "hooks.h"

/* One handle per message: a fixed tag byte plus exactly one fd, so a
 * receiver can tell a uipc handle from anything else on the socket. */
#define FD_TAG 0x55

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

/*
 * Room for everything the kernel may add to a message we receive, not only
 * our fds: SCM_CREDENTIALS on a socket with SO_PASSCRED, SCM_PIDFD with
 * SO_PASSPIDFD, SCM_SECURITY (a label) with SO_PASSSEC. Without that room
 * the kernel truncates the control data, and fds it could not fit are
 * dropped (tests/regress/cap-passcred.c).
 */
union fds_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * UIPC_FDS_MAX) + CMSG_SPACE(sizeof(struct ucred)) +
	         CMSG_SPACE(sizeof(int)) + CMSG_SPACE(256)];
};

int uipc__send_fds(int sock, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	union fds_cmsg cm;

	assert(nfds <= UIPC_FDS_MAX);
	if (nfds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);

		if (n >= 0)
			return (size_t)n == len ? 0 : -EMSGSIZE;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t uipc__recv_fds(int sock, void *buf, size_t len, int flags, int *fds, unsigned max,
                       unsigned *ret_nfds, int *ret_msg_flags)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	union fds_cmsg cm;
	unsigned n = 0;
	ssize_t r;

	assert(max <= UIPC_FDS_MAX);
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do {
		r = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	/* Every control message, in whatever order: fds installed for us come
	 * in SCM_RIGHTS (ours to keep, up to max) and SCM_PIDFD (never ours);
	 * none of them may stay open unkept. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		bool keep;
		size_t cnt;

		if (c->cmsg_level != SOL_SOCKET ||
		    (c->cmsg_type != SCM_RIGHTS && c->cmsg_type != SCM_PIDFD) ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		keep = c->cmsg_type == SCM_RIGHTS;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (!keep) {
				uipc__close(fd);
			} else if (n < max) {
				fds[n++] = fd;
			} else {
				/* Installed in our table already: never leak it. */
				uipc__close(fd);
				msg.msg_flags |= MSG_CTRUNC;
			}
		}
	}
	*ret_nfds = n;
	*ret_msg_flags = msg.msg_flags;
	return r;
}

UIPC_API int uipc_cap_send(int sock, int fd)
{
	char tag = FD_TAG;

	uipc_return_if(sock < 0 || fd < 0, -EBADF);
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	return uipc__send_fds(sock, &tag, 1, &fd, 1);
}

/* Can this process open one more fd right now? 0, -EMFILE or -ENFILE. */
static int fd_room(int sock)
{
	int fd = fcntl(sock, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? -errno : 0;
	uipc__close(fd);
	return 0;
}

/* Take the message we peeked off the queue. No control buffer: the kernel
 * installs nothing (the fds of our peek are ours already) and needs no
 * free descriptor, so this cannot lose the handle to a full table. */
static void fd_consume(int sock)
{
	struct iovec iov = {.iov_base = &(char){0}, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	while (recvmsg(sock, &msg, MSG_DONTWAIT) < 0 && errno == EINTR)
		;
}

/* One look at the queue: the peek, and the consume of what it saw. */
static int fd_recv_one(int sock, int *ret_fd)
{
	char tag = 0;
	int fds[UIPC_FDS_MAX], mflags, r;
	unsigned nfds;
	ssize_t n;

	n = uipc__recv_fds(sock, &tag, 1, MSG_PEEK | MSG_DONTWAIT, fds, UIPC_FDS_MAX, &nfds,
	                   &mflags);
	if (n < 0)
		return (int)n;
	if (n == 0 && nfds == 0 && !(mflags & MSG_CTRUNC))
		return -EPIPE;
	if (n == 1 && tag == FD_TAG && nfds == 0 && (mflags & MSG_CTRUNC)) {
		r = fd_room(sock);
		if (r < 0)
			return r; /* still queued */
	}
	fd_consume(sock);
	if (n != 1 || tag != FD_TAG || nfds != 1 || (mflags & (MSG_CTRUNC | MSG_TRUNC))) {
		for (unsigned i = 0; i < nfds; i++)
			uipc__close(fds[i]);
		return -EPROTO;
	}
	*ret_fd = fds[0];
	return 0;
}

/*
 * Peek first, then consume: a handle the kernel could not install (this
 * process is out of descriptors) stays queued, and we say -EMFILE, so a
 * retry after closing some finds it (tests/regress/cap-recv-emfile.c). A
 * recvmsg() that is not a peek would have dropped it for good.
 *
 * The peek and the consume are one step for the threads of this process
 * (under the fork hold: short, and never inherited held), so two threads
 * receiving on one socket cannot peek the same message and consume two. A
 * blocking socket's wait for a message is a poll() outside it.
 */
UIPC_API int uipc_cap_recv(int sock, int *ret_fd)
{
	return uipc__fd_recv(sock, ret_fd, NULL);
}

/* A library-held result is tracked as it is received: a fork child closes
 * its copy (uipc_chan_tx_open_sock(), src/fork.c). */
int uipc__fd_recv(int sock, int *ret_fd, struct uipc__fork_fd *track)
{
	int fl, r;

	uipc_return_if(sock < 0, -EBADF);
	uipc_return_if(!ret_fd, -EINVAL);
	fl = fcntl(sock, F_GETFL);
	if (fl < 0)
		return -errno;
	for (;;) {
		struct pollfd p = {.fd = sock, .events = POLLIN};

		uipc__fork_hold();
		r = fd_recv_one(sock, ret_fd);
		if (r == 0 && track && (r = uipc__fork_fd_track(track, *ret_fd)) < 0)
			uipc__close(*ret_fd);
		FP(FD_RECV);
		uipc__fork_release();
		if (r != -EAGAIN || (fl & O_NONBLOCK))
			return r;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
}
