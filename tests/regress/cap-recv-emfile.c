/* SPDX-License-Identifier: MIT */
/*
 * Out of descriptors, uipc_cap_recv() said -EPROTO and the capability was
 * gone: the kernel could not install its fd, dropped it, and the message was
 * consumed all the same. It must say -EMFILE and leave the message queued,
 * so that a retry, once an fd is free, gets the capability.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include "regress.h"

int main(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	struct rlimit rl;
	int sv[2], cap, got = -1, fill[256], nfill = 0, r;
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 5, &cfg, &c) == 0);
	t_check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	cap = uipc_rx_cap(rx, 3);
	t_check(cap >= 0);
	t_check(uipc_cap_send(sv[0], cap) == 0);
	close(cap);
	t_check(uipc_chan_cap_send(c, sv[0]) == 0);

	/* Fill the table: a low limit, then dups until it is full. */
	t_check(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = 64;
	t_check(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	while (nfill < 256) {
		int fd = dup(sv[1]);

		if (fd < 0)
			break;
		fill[nfill++] = fd;
	}
	t_check(nfill > 0 && nfill < 256);

	/* Twice: the first -EMFILE must not have eaten it. */
	for (int i = 0; i < 2; i++) {
		r = uipc_cap_recv(sv[1], &got);
		if (r != -EMFILE)
			fprintf(stderr, "uipc_cap_recv() full: %d\n", r);
		t_check(r == -EMFILE);
	}
	close(fill[--nfill]);
	t_check(uipc_cap_recv(sv[1], &got) == 0);
	/* Full again, for the producer capability. */
	t_check(uipc_chan_tx_open_sock(ctx, sv[1], &p) == -EMFILE);
	while (nfill)
		close(fill[--nfill]);

	t_check(uipc_tx_open(ctx, got, &tx) == 0);
	close(got);
	t_check(uipc_tx_notify(tx) == 0);
	t_check(uipc_rx_wait(rx, 0, &m) == 0 && m == UINT64_C(1) << 3);
	uipc_tx_free(tx);
	t_check(uipc_chan_tx_open_sock(ctx, sv[1], &p) == 0);
	uipc_chan_tx_free(p);
	/* Nothing else was queued. */
	t_check(!t_readable(sv[1]));

	close(sv[0]);
	close(sv[1]);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
