/* SPDX-License-Identifier: MIT */
/*
 * A uipc_chan_tx_new() that failed after making its capability left it
 * counted as a producer that had come and gone: the consumer's next timed
 * receive said -EPIPE ("every producer is gone") on a channel no producer
 * ever attached to. Failures are forced with the fault injector.
 */
#include "regress.h"

int main(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan_tx *p = NULL;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uint64_t v;
	int failed = 0;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	/* Fail each fd creation and allocation of tx_new in turn, each on a
	 * fresh channel, until it succeeds. */
	for (int kind = 0; kind < 2; kind++) {
		_Atomic int *fault = kind ? &uipc__faults.alloc : &uipc__faults.fd;

		for (int n = 0; n < 64; n++) {
			int r;

			t_check(uipc_chan_new(rx, 3, &cfg, &c) == 0);
			atomic_store(fault, n);
			r = uipc_chan_tx_new(c, &p);
			atomic_store(fault, -1);
			if (r == 0) {
				uipc_chan_tx_free(p);
				uipc_chan_free(c);
				break;
			}
			failed++;
			/* No producer ever attached: a timeout, not "all gone". */
			t_check(uipc_chan_recv(c, &v, 8, 1000000) == -ETIMEDOUT);
			uipc_chan_free(c);
		}
	}
	t_check(failed > 0);

	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
