/* SPDX-License-Identifier: MIT */
/*
 * Capability-passing messages as a hostile peer sends them.
 *
 * Input: one config byte (how many fds ride along, whether the creator's
 * end is closed first), one byte per fd naming its kind (memfds holding a
 * valid descriptor, unsealed, short or empty; pipes, an eventfd, a socket),
 * one byte of sender actions, then the message bytes themselves. The
 * message goes, with its fds, onto a SOCK_SEQPACKET socket that is handed
 * to uipc_tx_open() as a capability, and the same bytes and fds onto a
 * second socket read by uipc_cap_recv(). Every result must be one the API
 * documents, every fd the kernel installed must be closed again.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "fuzz-common.h"

#define MAX_MSG 1024

enum fd_kind {
	FD_DESC_FUTEX,   /* sealed memfd, a valid futex descriptor */
	FD_DESC_EVENTFD, /* sealed memfd, a valid eventfd descriptor */
	FD_UNSEALED,     /* memfd, right size and content, no seals */
	FD_SHORT,        /* sealed memfd, 64 bytes */
	FD_PIPE_READ,
	FD_PIPE_WRITE, /* a blocking fd where an eventfd is expected */
	FD_EVENTFD,
	FD_SOCKET,
	FD__COUNT
};

static int make_fd(enum fd_kind kind, int *extra)
{
	struct uipc__desc d;
	int p[2], sv[2];

	*extra = -1;
	switch (kind) {
	case FD_DESC_FUTEX:
	case FD_DESC_EVENTFD:
	case FD_UNSEALED:
		fz_desc_template(&d, kind == FD_DESC_EVENTFD ? UIPC_BACKEND_EVENTFD
		                                             : UIPC_BACKEND_FUTEX);
		return fz_memfd(&d, sizeof(d), UIPC_DESC_MAP_SIZE,
		                kind == FD_UNSEALED ? 0 : FZ_SEALS);
	case FD_SHORT:
		fz_desc_template(&d, UIPC_BACKEND_FUTEX);
		return fz_memfd(&d, sizeof(d), 64, FZ_SEALS);
	case FD_PIPE_READ:
	case FD_PIPE_WRITE:
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		/* One page of buffer: a few hundred writes fill it. */
		fcntl(p[0], F_SETPIPE_SZ, 4096);
		*extra = kind == FD_PIPE_READ ? p[1] : p[0];
		return kind == FD_PIPE_READ ? p[0] : p[1];
	case FD_EVENTFD:
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	default:
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -1;
		*extra = sv[1];
		return sv[0];
	}
}

/* One seqpacket pair carrying the message; returns 0 and the pair. */
static int post(const void *msgb, size_t len, const int *fds, unsigned nfds, int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (uipc__send_fds(sv[1], msgb, len, fds, nfds) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return 0;
}

static void as_capability(uipc_ctx *ctx, const uint8_t *msgb, size_t len, const int *fds,
                          unsigned nfds, uint8_t cfg, uint8_t act)
{
	uipc_tx *tx = (uipc_tx *)0x1;
	int sv[2], r;

	if (post(msgb, len, fds, nfds, sv) < 0)
		return;
	if (cfg & 0x08) {
		close(sv[1]); /* the creator died */
		sv[1] = -1;
	}
	r = uipc_tx_open(ctx, sv[0], &tx);
	FZ_EXPECT(
	    r == 0 || r == -EINVAL || r == -EPROTONOSUPPORT || r == -EPIPE || r == -EOPNOTSUPP, r);
	/* Outputs are untouched on failure; a dead creator never connects. */
	FZ_EXPECT(r == 0 || tx == (uipc_tx *)0x1, r);
	FZ_EXPECT(r != 0 || sv[1] >= 0, r);
	if (r == 0) {
		/* A hostile receiver may make every notify kick: the backend fd
		 * it handed over must never block the sender. */
		unsigned n = (act & 7u) * ((act & 0x80) ? 100 : 1);

		for (unsigned i = 0; i < n; i++) {
			if (act & 0x80) {
				atomic_store(&tx->desc->pir, 0);
				atomic_store(&tx->desc->status, 0);
			}
			r = uipc_tx_notify(tx);
			FZ_EXPECT(r == 0 || r == -EPIPE || r == -EBADF || r == -EINVAL, r);
		}
		if (act & 0x40) {
			close(sv[1]); /* the receiver goes away while we hold it */
			sv[1] = -1;
		}
		r = uipc_tx_check(tx);
		FZ_EXPECT(sv[1] >= 0 ? r == 0 : r == -EPIPE, r);
		uipc_tx_free(tx);
	}
	close(sv[0]);
	uipc__close(sv[1]);
}

static void as_handle(uipc_ctx *ctx, const uint8_t *msgb, size_t len, const int *fds, unsigned nfds,
                      uint8_t cfg)
{
	int sv[2], got = -7, r;
	uipc_tx *tx;

	if (post(msgb, len, fds, nfds, sv) < 0)
		return;
	if (cfg & 0x10)
		close(sv[1]); /* peer gone after sending: the message still counts */
	r = uipc_cap_recv(sv[0], &got);
	/* A zero-length seqpacket message reads like end of file. */
	FZ_EXPECT(r == 0 || r == -EPROTO || (r == -EPIPE && len == 0 && nfds == 0), r);
	FZ_EXPECT(r == 0 || got == -7, r);
	/* Exactly one tagged byte with exactly one fd is a handle. */
	FZ_EXPECT((r == 0) == (len == 1 && msgb[0] == 0x55 && nfds == 1), r);
	if (r == 0) {
		FZ_EXPECT(got >= 0 && (fcntl(got, F_GETFD) & FD_CLOEXEC), got);
		/* None of the handles made here is a capability. */
		r = uipc_tx_open(ctx, got, &tx);
		FZ_EXPECT(r == -EINVAL, r);
		close(got);
	}
	close(sv[0]);
	if (!(cfg & 0x10))
		close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	int fds[UIPC_CAP_MAX_FDS], extra[UIPC_CAP_MAX_FDS];
	uint8_t cfg = fz_u8(&in), act;
	unsigned nfds = cfg % (UIPC_CAP_MAX_FDS + 1), made = 0;
	uipc_ctx *ctx;
	size_t len;
	int r;

	r = uipc_ctx_new("futex", &ctx);
	FZ_EXPECT(r == 0, r);
	for (unsigned i = 0; i < nfds; i++) {
		fds[made] = make_fd((enum fd_kind)(fz_u8(&in) % FD__COUNT), &extra[made]);
		if (fds[made] >= 0)
			made++;
	}
	act = fz_u8(&in);
	len = in.n < MAX_MSG ? in.n : MAX_MSG;
	as_capability(ctx, in.p, len, fds, made, cfg, act);
	as_handle(ctx, in.p, len, fds, made, cfg);
	for (unsigned i = 0; i < made; i++) {
		close(fds[i]);
		uipc__close(extra[i]);
	}
	uipc_ctx_free(ctx);
	return 0;
}
