/* SPDX-License-Identifier: MIT */
/*
 * A user interrupt during a handler that uipc_rx_unmask() ran spun for
 * ever (uintr). Unmask delivers what came while masked by calling the
 * dispatcher directly, with interrupts enabled. An interrupt that lands
 * while the user's handler runs there finds the dispatch busy and is turned
 * away (the outer loop looks again), but the interrupt path looped "while
 * unmasked and something is pending" around that refusal: the thread never
 * left the interrupt handler. Found by tests/harness-handler.c (cell
 * nested). Here a wait on a second receiver takes the masked receiver's
 * interrupt (recorded, not dispatched: masked), so unmask dispatches it
 * directly; the handler then notifies its own receiver, which interrupts
 * it at once. A child runs it, so the bug is a failure, not a hang.
 */
#include <signal.h>
#include <sys/wait.h>

#include "regress.h"

static uipc_tx *tx2;
static _Atomic int calls;
static _Atomic uint64_t seen;

static void on_vectors(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx;
	(void)data;
	atomic_fetch_or(&seen, mask);
	if (atomic_fetch_add(&calls, 1) == 0)
		(void)uipc_tx_notify(tx2); /* interrupts this very handler */
}

static int child(void)
{
	uipc_rx *rx, *wrx;
	uipc_ctx *ctx;
	uipc_tx *tx1;
	uint64_t m;

	if (uipc_ctx_new("uintr-sim", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_rx_new(ctx, 0, &wrx) == 0);
	t_check(uipc_rx_set_spin(wrx, UIPC_SPIN_NONE, 0) == 0);
	t_check(uipc_tx_new(rx, 3, &tx1) == 0);
	t_check(uipc_tx_new(rx, 9, &tx2) == 0);
	t_check(uipc_rx_set_handler(rx, on_vectors, NULL) == 0);
	t_check(uipc_rx_mask(rx) == 0);
	t_check(uipc_tx_notify(tx1) == 0);
	t_check(uipc_rx_wait(wrx, 20000000, &m) == -ETIMEDOUT);
	t_check(atomic_load(&calls) == 0);
	t_check(uipc_rx_unmask(rx) == 0);
	for (int i = 0; i < 2000 && atomic_load(&seen) != ((UINT64_C(1) << 3) | (UINT64_C(1) << 9));
	     i++)
		t_sleep_ms(1);
	t_check(atomic_load(&seen) == ((UINT64_C(1) << 3) | (UINT64_C(1) << 9)));
	t_check(uipc_rx_set_handler(rx, NULL, NULL) == 0);
	uipc_tx_free(tx2);
	uipc_tx_free(tx1);
	uipc_rx_free(wrx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}

int main(void)
{
	return t_in_child(child, 5000,
	                  "the receiver thread never came back from its interrupt handler");
}
