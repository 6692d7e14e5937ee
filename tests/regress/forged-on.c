/* SPDX-License-Identifier: MIT */
/*
 * Any capability holder could silence a receiver: an ON bit stored into the
 * status word before the receiver armed made every legitimate notify think
 * a kick was on its way, so none was sent. Arming now resets the whole word
 * (the receiver owns that transition).
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
	t_check(uipc_tx_new(rx, 0, &tx) == 0);
	fd = uipc_rx_fd(rx);

	/* A peer stores ON (and SN) while the receiver is awake. */
	atomic_store(&rx->desc->status, UIPC_DESC_ON | UIPC_DESC_SN);
	t_check(uipc_rx_arm(rx) == 0);
	t_check(uipc_tx_notify(tx) == 0);
	t_check(t_readable(fd));
	t_check(uipc_rx_drain(rx, &m) == 0 && m == 1);

	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
