/* SPDX-License-Identifier: MIT */
/*
 * A capability sent to a socket with SO_PASSCRED was lost: the receive's
 * control buffer had room for the fds only, the kernel's SCM_CREDENTIALS
 * took it, the SCM_RIGHTS behind it was truncated away (the fd dropped) and
 * uipc_cap_recv() and uipc_chan_tx_open_sock() said -EPROTO. Checked on
 * seqpacket and stream sockets, with credentials passed on either end.
 */
#include <sys/socket.h>

#include "regress.h"

static int pair(int type, int *sv)
{
	int on = 1;

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	/* Both ends: whichever one receives gets credentials. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ||
	    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
		return -1;
	return 0;
}

int main(void)
{
	static const int types[] = {SOCK_SEQPACKET, SOCK_STREAM, SOCK_DGRAM};
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t v = 42, m;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 5, &cfg, &c) == 0);
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int sv[2], cap, got = -1;

		t_check(pair(types[i], sv) == 0);
		/* A vector capability. */
		cap = uipc_rx_cap(rx, 3);
		t_check(cap >= 0);
		t_check(uipc_cap_send(sv[0], cap) == 0);
		close(cap);
		t_check(uipc_cap_recv(sv[1], &got) == 0);
		t_check(uipc_tx_open(ctx, got, &tx) == 0);
		close(got);
		t_check(uipc_tx_notify(tx) == 0);
		/* (The channel's vector may be pending beside it.) */
		t_check(uipc_rx_wait(rx, 0, &m) == 0 && (m & UINT64_C(1) << 3));
		uipc_tx_free(tx);
		/* A producer capability. */
		t_check(uipc_chan_cap_send(c, sv[1]) == 0);
		t_check(uipc_chan_tx_open_sock(ctx, sv[0], &p) == 0);
		t_check(uipc_chan_send(p, &v, 8) == 0);
		t_check(uipc_chan_recv(c, &m, 8, 0) == 0 && m == 42);
		uipc_chan_tx_free(p);
		close(sv[0]);
		close(sv[1]);
	}
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
