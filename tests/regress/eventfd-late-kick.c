/* SPDX-License-Identifier: MIT */
/*
 * An idle epoll loop spun at 100% CPU (eventfd backend): a notify is a post
 * (the CAS that sets ON) and then a kick (the eventfd write). A drain that
 * ran between the two saw ON, read the eventfd (nothing yet) and disarmed;
 * the write then landed and the fd stayed readable for ever, with nothing
 * pending. Here the two halves of the notify are run apart by hand.
 */
#include "regress.h"

int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;
	int fd;

	if (uipc_ctx_new("eventfd", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) == 0);
	t_check(uipc_tx_new(rx, 4, &tx) == 0);
	fd = uipc_rx_fd(rx);
	t_check(fd >= 0);

	t_check(uipc_rx_arm(rx) == 0);
	/* The sender's post wins ON... */
	t_check(uipc__desc_post(rx->desc, UINT64_C(1) << 4) == 1);
	/* ...the loop drains before its write lands (woken by another fd)... */
	t_check(uipc_rx_drain(rx, &m) == 0);
	t_check(m == UINT64_C(1) << 4);
	/* ...and then it lands. */
	t_check(tx->ops->tx_kick(tx) == 0);

	/* The loop goes on: whatever it wakes for, a few rounds later an
	 * armed, idle receiver must leave the fd quiet. */
	for (int round = 0; round < 3; round++) {
		if (uipc_rx_arm(rx) == -EAGAIN || t_readable(fd))
			t_check(uipc_rx_drain(rx, &m) == 0);
	}
	t_check(uipc_rx_arm(rx) == 0);
	t_check(!t_readable(fd));
	/* And a real notify still makes it readable. */
	t_check(uipc_tx_notify(tx) == 0);
	t_check(t_readable(fd));
	t_check(uipc_rx_drain(rx, &m) == 0 && m == UINT64_C(1) << 4);
	t_check(uipc_rx_arm(rx) == 0);
	t_check(!t_readable(fd));

	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
