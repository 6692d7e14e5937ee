/* SPDX-License-Identifier: MIT */
/*
 * The uintr backend waited in a loop of its own, which skipped the look
 * the shared waiter makes before it sleeps: after a membarrier(), at the
 * rings of channels whose producers in this process skip their fence. A
 * message such a producer published unannounced (it saw its bit still
 * pending, as the receiver was taking it) then waited for the next notify
 * or the timeout. The loop is now the shared one (src/wait.c), with the
 * backend's block step. The race is set up here as it ends: a message in
 * the ring, its bit taken, no kick.
 */
#include "regress.h"

int main(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8, .flags = UIPC_CHAN_LIGHT};
	uint64_t bit = UINT64_C(1) << 5, v = 5, m = 0;
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int r;

	if (uipc_ctx_new(NULL, &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 5, &cfg, &c) == 0);
	t_check(uipc_chan_tx_new(c, &p) == 0);
	if (!rx->links || !rx->links->light(rx->links))
		return T_SKIP; /* no membarrier() here: every producer fences */
	t_check(uipc_rx_set_spin(rx, UIPC_SPIN_NONE, 0) == 0);

	/* The producer sees its bit pending and skips the notify... */
	atomic_fetch_or(&rx->desc->pir, bit);
	t_check(uipc_chan_send(p, &v, 8) == 0);
	/* ...which the receiver had just taken, before the message showed. */
	atomic_fetch_and(&rx->desc->pir, ~bit);

	r = uipc_rx_wait(rx, 2000000000, &m);
	if (r != 0)
		fprintf(stderr, "uipc_rx_wait() = %d on %s\n", r, uipc_rx_backend_name(rx));
	t_check(r == 0 && (m & bit));
	t_check(uipc_chan_recv(c, &v, 8, 0) == 0 && v == 5);

	uipc_chan_tx_free(p);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
