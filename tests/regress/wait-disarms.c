/* SPDX-License-Identifier: MIT */
/*
 * A blocking wait on a receiver armed for an event loop silently disarmed
 * it: afterwards notifies no longer made its fd readable and the loop slept
 * through them. Now such a wait (and a blocking channel receive) is refused
 * with -EBUSY and the receiver stays armed.
 */
#include "regress.h"

int main(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan *chan;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m, v;
	int fd;

	if (uipc_ctx_new("eventfd", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) == 0);
	t_check(uipc_tx_new(rx, 1, &tx) == 0);
	t_check(uipc_chan_new(rx, 2, &cfg, &chan) == 0);
	fd = uipc_rx_fd(rx);

	t_check(uipc_rx_arm(rx) == 0);
	t_check(uipc_rx_wait(rx, 1000000, &m) == -EBUSY);
	t_check(uipc_chan_recv(chan, &v, sizeof(v), 1000000) == -EBUSY);
	/* Polls are fine: they do not arm or disarm. */
	t_check(uipc_rx_wait(rx, 0, &m) == -EAGAIN);
	t_check(uipc_chan_recv(chan, &v, sizeof(v), 0) == -EAGAIN);
	/* Still armed: a notify makes the fd readable. */
	t_check(uipc_tx_notify(tx) == 0);
	t_check(t_readable(fd));
	t_check(uipc_rx_drain(rx, &m) == 0 && m == UINT64_C(1) << 1);
	/* Drained: blocking calls work again. */
	t_check(uipc_rx_wait(rx, 1000000, &m) == -ETIMEDOUT);

	uipc_chan_free(chan);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
