/* SPDX-License-Identifier: MIT */
/*
 * Freeing a masked handler-mode receiver from another thread left the
 * signal blocked in its owner thread for good (signal backend): masking
 * blocked the signal in the owner thread, and only the owner thread can
 * unblock it, so that thread's next handler receiver never ran its
 * handler. Masking no longer touches the thread's signal mask.
 */
#include <pthread.h>

#include "regress.h"

int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	pthread_t t;

	if (uipc_ctx_new("signal", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_rx_set_handler(rx, t_count_call, NULL) == 0);
	t_check(uipc_rx_mask(rx) == 0);
	t_check(pthread_create(&t, NULL, t_rx_free_thread, rx) == 0);
	t_check(pthread_join(t, NULL) == 0);

	/* This thread's next handler receiver. */
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_tx_new(rx, 1, &tx) == 0);
	t_check(uipc_rx_set_handler(rx, t_count_call, NULL) == 0);
	t_check(uipc_tx_notify(tx) == 0);
	for (int i = 0; i < 2000 && !atomic_load(&t_calls); i++)
		t_sleep_ms(1);
	if (!atomic_load(&t_calls)) {
		fprintf(stderr, "the signal stayed blocked: no handler ran\n");
		return T_FAIL;
	}
	t_check(uipc_rx_set_handler(rx, NULL, NULL) == 0);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
