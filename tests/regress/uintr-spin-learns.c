/* SPDX-License-Identifier: MIT */
/*
 * A uintr receiver that waited with nothing coming spun its initial budget
 * (a quarter of UIPC_SPIN_DEFAULT_MAX_NS) before every sleep, for ever: the
 * uintr backend's wait never trained the receiver's adaptive spin policy,
 * as every other backend's wait does, so an idle uintr receiver burned CPU
 * on each wait even when blocking was cheap (issue: blocked uintr_wait).
 * After five waits that time out, the budget must have dropped to 0.
 *
 * Runs on UIPC_BACKEND (uintr or uintr-sim); 77 when it is not usable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "uipc-private.h"

int main(void)
{
	const char *backend = getenv("UIPC_BACKEND");
	uint64_t first, m = 0;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int r;

	if (!backend || uipc_ctx_new(backend, &ctx) < 0)
		return 77;
	if (uipc_rx_new(ctx, 0, &rx) < 0) {
		fprintf(stderr, "uipc_rx_new failed\n");
		return 1;
	}
	first = rx->w.spin.budget_ns;
	for (int i = 0; i < 5; i++) {
		r = uipc_rx_wait(rx, 300000, &m);
		if (r != -ETIMEDOUT) {
			fprintf(stderr, "wait %d: %d, expected -ETIMEDOUT\n", i, r);
			return 1;
		}
	}
	printf("spin budget %llu ns before, %llu ns after 5 idle waits\n",
	       (unsigned long long)first, (unsigned long long)rx->w.spin.budget_ns);
	if (first == 0 || rx->w.spin.budget_ns != 0) {
		fprintf(stderr, "the idle receiver's spin budget did not drop to 0\n");
		return 1;
	}
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return 0;
}
