/* SPDX-License-Identifier: MIT */
/*
 * A child forked while a handler receiver was masked inherited the blocked
 * signal (signal backend: masking blocked it in the thread), and with it
 * the parent's count of masked receivers: no handler receiver of the child
 * ever ran its handler. Masking no longer touches the thread's signal mask.
 */
#include <sys/wait.h>

#include "regress.h"

static int child(uipc_ctx *ctx)
{
	uipc_rx *rx;
	uipc_tx *tx;

	if (uipc_rx_new(ctx, 0, &rx) < 0 || uipc_tx_new(rx, 2, &tx) < 0 ||
	    uipc_rx_set_handler(rx, t_count_call, NULL) < 0)
		return 2;
	if (uipc_tx_notify(tx) < 0)
		return 3;
	for (int i = 0; i < 2000 && !atomic_load(&t_calls); i++)
		t_sleep_ms(1);
	if (!atomic_load(&t_calls)) {
		fprintf(stderr, "child: its handler never ran\n");
		return T_FAIL;
	}
	/* Masking and unmasking there works as anywhere. */
	if (uipc_rx_mask(rx) < 0 || uipc_tx_notify(tx) < 0)
		return 4;
	t_sleep_ms(10);
	if (atomic_load(&t_calls) != 1 || uipc_rx_unmask(rx) < 0 || atomic_load(&t_calls) != 2)
		return 5;
	uipc_rx_set_handler(rx, NULL, NULL);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	return T_PASS;
}

int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	pid_t pid;

	if (uipc_ctx_new("signal", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_rx_set_handler(rx, t_count_call, NULL) == 0);
	t_check(uipc_rx_mask(rx) == 0);
	pid = fork();
	t_check(pid >= 0);
	if (pid == 0)
		_exit(child(ctx));
	t_check(t_child_ok(pid, T_CHILD_MS, "the child") == T_PASS);
	t_check(uipc_rx_unmask(rx) == 0);
	t_check(uipc_rx_set_handler(rx, NULL, NULL) == 0);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
