/* SPDX-License-Identifier: MIT */
/*
 * Capabilities could be destroyed by one holder for all: every capability
 * fd of a vector was a dup of one socket holding one queued message, and a
 * recv() without MSG_PEEK consumed it, so later connects (the receiver's
 * own included) got -EINVAL. Each capability handed out is now an endpoint
 * of its own.
 */
#include <sys/socket.h>

#include "regress.h"

/* What a careless or hostile holder does: read the message for real. */
static void consume(int cap)
{
	char buf[512], cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;

	if (recvmsg(cap, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		int *fds = (int *)(void *)CMSG_DATA(cm);
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < n; i++)
			close(fds[i]);
	}
}

int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	int a, b;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	a = uipc_rx_cap(rx, 3);
	b = uipc_rx_cap(rx, 3);
	t_check(a >= 0 && b >= 0);
	consume(a);
	/* a is spoiled for its holder... */
	t_check(uipc_tx_open(ctx, a, &tx) == -EINVAL);
	/* ...and nobody else's is. */
	t_check(uipc_tx_open(ctx, b, &tx) == 0);
	uipc_tx_free(tx);
	t_check(uipc_tx_new(rx, 3, &tx) == 0);
	uipc_tx_free(tx);
	close(a);
	close(b);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
