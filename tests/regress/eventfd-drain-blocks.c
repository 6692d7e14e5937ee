/* SPDX-License-Identifier: MIT */
/*
 * The receiver's side of the shared eventfd: a sender (which shares the
 * open file description) cleared O_NONBLOCK, and the receiver's drain,
 * reading for a kick it had seen announced (ON) but that had not landed,
 * blocked for ever. An alarm turns a hang into a failure (the default
 * action of SIGALRM ends the program: not exit status 0). The peer's
 * sender is connected from a capability, as in another process (a sender
 * of uipc_tx_new() is the receiver's own code, trusted).
 */
#include <fcntl.h>

#include "regress.h"

int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;
	int cap;

	if (uipc_ctx_new("eventfd", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) == 0);
	cap = uipc_rx_cap(rx, 2);
	t_check(cap >= 0);
	t_check(uipc_tx_open(ctx, cap, &tx) == 0);
	close(cap);
	t_check(uipc_rx_arm(rx) == 0);
	/* A sender wins ON and never writes; another clears O_NONBLOCK on
	 * the description they all share with the receiver. */
	t_check(uipc__desc_post(rx->desc, UINT64_C(1) << 2) == 1);
	t_check(fcntl(tx->backend_fd, F_SETFL, fcntl(tx->backend_fd, F_GETFL) & ~O_NONBLOCK) == 0);

	alarm(5);
	t_check(uipc_rx_drain(rx, &m) == 0 && m == UINT64_C(1) << 2);
	alarm(0);

	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
