/* SPDX-License-Identifier: MIT */
/*
 * The signal backend could run the user's handler nested inside itself:
 * a dispatch that runs outside a signal handler (the one that delivers what
 * was pending when the handler is installed) leaves the signal unblocked,
 * so a kick that arrives meanwhile (here: the handler notifies its own
 * receiver) ran the handler again before the first call returned. uintr
 * never does that (UIF is clear while a handler runs); now neither does the
 * signal backend, and the second notification is still delivered, after.
 */
#include "regress.h"

static int depth, max_depth, calls;
static uint64_t seen;
static uipc_tx *self_tx;

static void on_vectors(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx;
	(void)data;
	if (++depth > max_depth)
		max_depth = depth;
	seen |= mask;
	if (calls++ == 0)
		(void)uipc_tx_notify(self_tx); /* kicks this thread at once */
	depth--;
}

int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;

	if (uipc_ctx_new("signal", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_tx_new(rx, 1, &tx) == 0);
	t_check(uipc_tx_new(rx, 2, &self_tx) == 0);
	/* Pending before the handler exists: delivered by the install. */
	t_check(uipc_tx_notify(tx) == 0);
	t_check(uipc_rx_set_handler(rx, on_vectors, NULL) == 0);
	for (int i = 0; i < 1000 && calls < 2; i++)
		t_sleep_ms(1);
	fprintf(stderr, "calls %d, deepest %d, vectors %#llx\n", calls, max_depth,
	        (unsigned long long)seen);
	t_check(max_depth == 1);
	t_check(calls == 2);
	t_check(seen == ((UINT64_C(1) << 1) | (UINT64_C(1) << 2)));

	t_check(uipc_rx_set_handler(rx, NULL, NULL) == 0);
	uipc_tx_free(self_tx);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
