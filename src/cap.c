/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uipc-private.h"

#define CAP_MAGIC 0x70615355u /* "USap" */

struct cap_hdr {
	uint32_t magic;
	uint32_t kind;
	uint32_t len;
	uint32_t nfds;
	unsigned char payload[UIPC_CAP_MAX_PAYLOAD];
};

union cap_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * UIPC_CAP_MAX_FDS)];
};

int uipc__cap_create(uint32_t kind, const void *payload, size_t len, const int *fds, unsigned nfds,
                     int *ret_peer)
{
	struct cap_hdr hdr = {.magic = CAP_MAGIC, .kind = kind};
	union cap_cmsg cm;
	struct iovec iov;
	struct msghdr msg = {0};
	int sv[2], r;

	assert(len <= UIPC_CAP_MAX_PAYLOAD && nfds <= UIPC_CAP_MAX_FDS);
	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;

	hdr.len = (uint32_t)len;
	hdr.nfds = nfds;
	memcpy(hdr.payload, payload, len);
	iov.iov_base = &hdr;
	iov.iov_len = offsetof(struct cap_hdr, payload) + len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
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
	/* sv[1] is the creator's end; the message waits in sv[0]'s queue. */
	if (sendmsg(sv[1], &msg, MSG_NOSIGNAL) < 0) {
		r = -errno;
		goto fail;
	}
	/* Holders never write to the creator: refuse it outright. */
	shutdown(sv[1], SHUT_RD);
	*ret_peer = sv[1];
	return sv[0];
fail:
	uipc__close(sv[0]);
	uipc__close(sv[1]);
	return r;
}

static void close_fds(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		uipc__close(fds[i]);
}

/* Collect the SCM_RIGHTS fds of msg (at most max), closing any excess. */
static unsigned take_fds(struct msghdr *msg, int *fds, unsigned max, bool *overflow)
{
	unsigned n = 0;

	*overflow = (msg->msg_flags & MSG_CTRUNC) != 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t cnt;
		int tmp;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt; i++) {
			memcpy(&tmp, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max) {
				fds[n++] = tmp;
			} else {
				*overflow = true;
				uipc__close(tmp);
			}
		}
	}
	return n;
}

int uipc__cap_open(int cap_fd, uint32_t kind, void *payload, size_t len, int *fds, unsigned min_fds,
                   unsigned max_fds, unsigned *ret_nfds)
{
	struct cap_hdr hdr;
	union cap_cmsg cm;
	struct iovec iov = {.iov_base = &hdr, .iov_len = sizeof(hdr)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	int got[UIPC_CAP_MAX_FDS];
	bool overflow;
	ssize_t n;
	unsigned nfds;
	int type, r;
	socklen_t tl = sizeof(type);

	if (cap_fd < 0)
		return -EBADF;
	if (getsockopt(cap_fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return errno == ENOTSOCK ? -EINVAL : -errno;
	if (type != SOCK_SEQPACKET)
		return -EINVAL;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	/* Peek: the message stays for the next holder; the kernel still hands
	 * us our own duplicates of its fds. Never block on an empty queue. */
	n = recvmsg(cap_fd, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN ? -EINVAL : -errno;
	nfds = take_fds(&msg, got, UIPC_CAP_MAX_FDS, &overflow);
	r = -EINVAL;
	if ((size_t)n >= offsetof(struct cap_hdr, payload) && hdr.magic == CAP_MAGIC &&
	    (msg.msg_flags & MSG_CTRUNC) && hdr.nfds <= UIPC_CAP_MAX_FDS && nfds < hdr.nfds) {
		/* Our buffer had room: the kernel could not install the fds
		 * because this process is out of descriptors. */
		r = -EMFILE;
		goto fail;
	}
	if (overflow || (msg.msg_flags & MSG_TRUNC))
		goto fail;
	if ((size_t)n < offsetof(struct cap_hdr, payload) || hdr.magic != CAP_MAGIC ||
	    hdr.kind != kind || hdr.len != len ||
	    (size_t)n != offsetof(struct cap_hdr, payload) + len || hdr.nfds != nfds ||
	    nfds < min_fds || nfds > max_fds)
		goto fail;
	r = uipc__cap_alive(cap_fd);
	if (r < 0)
		goto fail;
	memcpy(payload, hdr.payload, len);
	memcpy(fds, got, sizeof(int) * nfds);
	*ret_nfds = nfds;
	return 0;
fail:
	close_fds(got, nfds);
	return r;
}

int uipc__cap_alive(int cap_fd)
{
	struct pollfd p = {.fd = cap_fd, .events = POLLIN};

	if (poll(&p, 1, 0) < 0)
		return -errno;
	if (p.revents & POLLNVAL)
		return -EBADF;
	/* The creator's end closed: freed, or its process died. */
	if (p.revents & POLLHUP)
		return -EPIPE;
	return 0;
}
