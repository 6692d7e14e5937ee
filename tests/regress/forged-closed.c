/* SPDX-License-Identifier: MIT */
/*
 * Any capability holder could make a live receiver look gone: one store of
 * the CLOSED bit made every later notify and uipc_tx_check() say -EPIPE
 * although the receiver was alive and the notifies were delivered; the
 * channel's shared closed flag did the same to producers. "Gone" now comes
 * from the capability socket's hang-up only.
 */
#include "regress.h"

/* The consumer's farewell flag in the ring's first line (channel ABI 2). */
#define CHAN_CLOSED_OFF 32

int main(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	struct uipc__chan_layout l;
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m, v = 7;

	t_check(uipc_ctx_new("futex", &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_tx_new(rx, 5, &tx) == 0);

	atomic_store(&rx->desc->status, UIPC_DESC_CLOSED | UIPC_DESC_SN);
	t_check(uipc_tx_notify(tx) == 0);
	t_check(uipc_tx_check(tx) == 0);
	t_check(uipc_rx_wait(rx, 0, &m) == 0 && m == UINT64_C(1) << 5);

	t_check(uipc_chan_new(rx, 1, &cfg, &c) == 0);
	t_check(uipc_chan_tx_new(c, &p) == 0);
	uipc__chan_layout(c, &l);
	atomic_store((_Atomic uint32_t *)(void *)((char *)l.map + CHAN_CLOSED_OFF), 1);
	t_check(uipc_chan_send(p, &v, sizeof(v)) == 0);
	t_check(uipc_chan_tx_check(p) == 0);
	t_check(uipc_chan_recv(c, &v, sizeof(v), 0) == 0 && v == 7);

	/* The real thing still works. */
	uipc_chan_free(c);
	t_check(uipc_chan_send(p, &v, sizeof(v)) == -EPIPE);
	uipc_chan_tx_free(p);
	uipc_rx_free(rx);
	t_check(uipc_tx_notify(tx) == -EPIPE);
	t_check(uipc_tx_check(tx) == -EPIPE);
	uipc_tx_free(tx);
	uipc_ctx_free(ctx);

	/* uintr (on the model): SENDUIPI's own guard trusted the bit too. */
	if (uipc_ctx_new("uintr-sim", &ctx) == 0) {
		t_check(uipc_rx_new(ctx, 0, &rx) == 0);
		t_check(uipc_tx_new(rx, 5, &tx) == 0);
		atomic_store(&rx->desc->status, UIPC_DESC_CLOSED | UIPC_DESC_SN);
		t_check(uipc_tx_notify(tx) == 0);
		t_check(uipc_tx_check(tx) == 0);
		uipc_rx_free(rx);
		t_check(uipc_tx_notify(tx) == -EPIPE);
		uipc_tx_free(tx);
		uipc_ctx_free(ctx);
	}
	return T_PASS;
}
