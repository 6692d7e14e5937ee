/* SPDX-License-Identifier: MIT */
/*
 * The uintr notify on the hardware (uipc__uintr_hw_tx_notify, the inline
 * SENDUIPI path) still trusted the CLOSED bit after the model's notify and
 * every other backend stopped: a peer that stored CLOSED in a live
 * receiver's descriptor made every uintr notify say -EPIPE and deliver
 * nothing. Found while reviewing the uintr paths for the blocked-wait
 * work; runs on the real path in the emulator stage (scripts/uintr-emu.sh)
 * and on the model here, where it passes either way.
 *
 * Runs on UIPC_BACKEND (uintr or uintr-sim); 77 when it is not usable.
 */
#include "regress.h"

int main(void)
{
	const char *backend = getenv("UIPC_BACKEND");
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m = 0;

	if (!backend || uipc_ctx_new(backend, &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_tx_new(rx, 5, &tx) == 0);
	atomic_fetch_or(&rx->desc->status, UIPC_DESC_CLOSED);
	t_check(uipc_tx_notify(tx) == 0);
	t_check(uipc_tx_check(tx) == 0);
	t_check(uipc_rx_wait(rx, 2000000000, &m) == 0 && m == UINT64_C(1) << 5);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
