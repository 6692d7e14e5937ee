/* SPDX-License-Identifier: MIT */
/*
 * UIPC_BACKEND=futex in the environment made every UIPC_RX_POLLABLE
 * receiver fail with -EOPNOTSUPP: the variable counted as the program's
 * own choice of a backend without a pollable fd. It only steers auto: a
 * program that asks for a pollable receiver gets one (eventfd), while an
 * explicit name in the program's own call is still honoured.
 */
#include "regress.h"

int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;

	if (uipc_ctx_new("futex", &ctx) < 0 ||
	    uipc_backend_probe(UIPC_BACKEND_EVENTFD, NULL, 0) < 0)
		return T_SKIP;
	/* The program's own choice: honoured, no pollable fd. */
	t_check(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) == -EOPNOTSUPP);
	uipc_ctx_free(ctx);

	t_check(setenv("UIPC_BACKEND", "futex", 1) == 0);
	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(strcmp(uipc_ctx_backend_name(ctx), "futex") == 0);
	t_check(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) == 0);
	t_check(strcmp(uipc_rx_backend_name(rx), "eventfd") == 0);
	t_check(uipc_rx_fd(rx) >= 0);
	uipc_rx_free(rx);
	/* Receivers without the flag keep the variable's backend. */
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(strcmp(uipc_rx_backend_name(rx), "futex") == 0);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);

	t_check(uipc_ctx_new("auto", &ctx) == 0);
	t_check(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) == 0);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
