/* SPDX-License-Identifier: MIT */
/*
 * A wait on another receiver swallowed a masked handler's kick for good
 * (signal backend). The kick for the masked handler receiver stayed
 * pending in the thread; a wait on a second receiver of that thread
 * consumed it (the same signal) and, the first being masked, dispatched
 * nothing. Unmask then found nothing pending and delivered nothing, and ON
 * stayed set, so no later notify kicked either. Unmask now delivers what is
 * pending itself.
 */
#include "regress.h"

static _Atomic uint64_t seen;
static _Atomic int calls;

static void on_vectors(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx;
	(void)data;
	atomic_fetch_or(&seen, mask);
	atomic_fetch_add(&calls, 1);
}

static int wait_calls(int n)
{
	for (int i = 0; i < 2000 && atomic_load(&calls) < n; i++)
		t_sleep_ms(1);
	return atomic_load(&calls) >= n;
}

int main(void)
{
	uipc_rx *hrx, *wrx;
	uipc_ctx *ctx;
	uipc_tx *tx;
	uint64_t m;

	if (uipc_ctx_new("signal", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &hrx) == 0);
	t_check(uipc_rx_new(ctx, 0, &wrx) == 0);
	t_check(uipc_rx_set_spin(wrx, UIPC_SPIN_NONE, 0) == 0);
	t_check(uipc_tx_new(hrx, 4, &tx) == 0);
	t_check(uipc_rx_set_handler(hrx, on_vectors, NULL) == 0);
	t_check(uipc_rx_mask(hrx) == 0);
	t_check(uipc_tx_notify(tx) == 0);
	t_check(atomic_load(&calls) == 0);
	/* Nothing comes for wrx: its wait ends on the timeout. */
	t_check(uipc_rx_wait(wrx, 50000000, &m) == -ETIMEDOUT);
	t_check(uipc_rx_unmask(hrx) == 0);
	if (!wait_calls(1)) {
		fprintf(stderr, "the masked handler's notify was never delivered\n");
		return T_FAIL;
	}
	t_check(atomic_load(&seen) == UINT64_C(1) << 4);
	/* And the next notify kicks again. */
	t_check(uipc_tx_notify(tx) == 0);
	if (!wait_calls(2)) {
		fprintf(stderr, "the next notify was never delivered\n");
		return T_FAIL;
	}
	t_check(uipc_rx_set_handler(hrx, NULL, NULL) == 0);
	uipc_tx_free(tx);
	uipc_rx_free(wrx);
	uipc_rx_free(hrx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
