/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uipc-private.h"
#include "hooks.h"

int uipc__cap_create(uint32_t kind, const void *payload, size_t len, const int *fds, unsigned nfds,
                     int *ret_peer)
{
	struct uipc__cap_hdr hdr = {.magic = UIPC_CAP_MAGIC, .kind = kind};
	int sv[2], r;

	assert(len <= UIPC_CAP_MAX_PAYLOAD && nfds <= UIPC_CAP_MAX_FDS);
	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	hdr.len = (uint32_t)len;
	hdr.nfds = nfds;
	memcpy(hdr.payload, payload, len);
	/* sv[1] is the creator's end; the message waits in sv[0]'s queue. */
	r = uipc__send_fds(sv[1], &hdr, offsetof(struct uipc__cap_hdr, payload) + len, fds, nfds);
	if (r < 0) {
		uipc__close(sv[0]);
		uipc__close(sv[1]);
		return r;
	}
	/* Holders never write to the creator: refuse it outright. */
	shutdown(sv[1], SHUT_RD);
	*ret_peer = sv[1];
	return sv[0];
}

static void close_fds(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		uipc__close(fds[i]);
}

int uipc__cap_open(int cap_fd, uint32_t kind, void *payload, size_t len, int *fds, unsigned min_fds,
                   unsigned max_fds, unsigned *ret_nfds)
{
	struct uipc__cap_hdr hdr;
	int got[UIPC_CAP_MAX_FDS];
	unsigned nfds;
	int type, r, mflags;
	socklen_t tl = sizeof(type);
	ssize_t n;

	if (cap_fd < 0)
		return -EBADF;
	if (getsockopt(cap_fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return errno == ENOTSOCK ? -EINVAL : -errno;
	if (type != SOCK_SEQPACKET)
		return -EINVAL;
	/* Peek: the message stays for the next holder; the kernel still hands
	 * us our own duplicates of its fds. Never block on an empty queue. */
	n = uipc__recv_fds(cap_fd, &hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT, got,
	                   UIPC_CAP_MAX_FDS, &nfds, &mflags);
	if (n < 0)
		return n == -EAGAIN ? -EINVAL : (int)n;
	r = -EINVAL;
	if ((size_t)n >= offsetof(struct uipc__cap_hdr, payload) && hdr.magic == UIPC_CAP_MAGIC &&
	    (mflags & MSG_CTRUNC) && hdr.nfds <= UIPC_CAP_MAX_FDS && nfds < hdr.nfds) {
		/* Our buffer had room: the kernel could not install the fds
		 * because this process is out of descriptors. */
		r = -EMFILE;
		goto fail;
	}
	if (mflags & (MSG_CTRUNC | MSG_TRUNC))
		goto fail;
	if ((size_t)n < offsetof(struct uipc__cap_hdr, payload) || hdr.magic != UIPC_CAP_MAGIC ||
	    hdr.kind != kind || hdr.len != len ||
	    (size_t)n != offsetof(struct uipc__cap_hdr, payload) + len || hdr.nfds != nfds ||
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

void uipc__cap_reap(int *peers, unsigned *n)
{
	struct pollfd p[64];
	unsigned i = 0, k, out = 0;

	while (i < *n) {
		k = *n - i < 64 ? *n - i : 64;
		for (unsigned j = 0; j < k; j++)
			p[j] = (struct pollfd){.fd = peers[i + j]};
		if (poll(p, k, 0) < 0) {
			for (unsigned j = 0; j < k; j++)
				peers[out++] = peers[i + j];
		} else {
			for (unsigned j = 0; j < k; j++) {
				if (p[j].revents & POLLHUP)
					uipc__close(peers[i + j]);
				else
					peers[out++] = peers[i + j];
			}
		}
		i += k;
	}
	*n = out;
}
