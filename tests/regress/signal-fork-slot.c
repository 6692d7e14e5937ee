/* SPDX-License-Identifier: MIT */
/*
 * A fork child freeing its inherited handler-mode receiver cleared the
 * handler slot its own new receiver used (signal backend): the child's
 * table starts empty, its new receiver took slot 0, and freeing the
 * parent's receiver (which had slot 0 in the parent) emptied it, so the
 * child's handler never ran again. An inherited receiver's free no longer
 * touches the child's table.
 */
#include <sys/wait.h>

#include "regress.h"

static int child(uipc_ctx *ctx, uipc_rx *inherited)
{
	uipc_rx *rx;
	uipc_tx *tx;

	if (uipc_rx_new(ctx, 0, &rx) < 0 || uipc_tx_new(rx, 2, &tx) < 0 ||
	    uipc_rx_set_handler(rx, t_count_call, NULL) < 0)
		return 2;
	uipc_rx_free(inherited);
	if (uipc_tx_notify(tx) < 0)
		return 3;
	for (int i = 0; i < 2000 && !atomic_load(&t_calls); i++)
		t_sleep_ms(1);
	if (!atomic_load(&t_calls)) {
		fprintf(stderr, "child: its handler never ran\n");
		return T_FAIL;
	}
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
	pid = fork();
	t_check(pid >= 0);
	if (pid == 0)
		_exit(child(ctx, rx));
	t_check(t_child_ok(pid, T_CHILD_MS, "the child") == T_PASS);
	t_check(uipc_rx_set_handler(rx, NULL, NULL) == 0);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
