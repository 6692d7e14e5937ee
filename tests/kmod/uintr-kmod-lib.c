/* SPDX-License-Identifier: MIT */
/*
 * The library against a loaded /dev/uintr on a CPU without UINTR (run in the
 * kmod CI VM, linked statically): the uintr backend must report itself
 * unusable, "auto" must fall back to another backend, and a notification
 * round trip must still work on it.
 *
 * Prints one line per check and "N passed, N failed"; exit 0 only if all pass.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uipc.h>

#include "../lib/t.h"

static void check(int ok, const char *what)
{
	t_report(ok, "%s", what);
}

static void check_round_trip(uipc_ctx *ctx)
{
	uipc_rx *rx = NULL;
	uipc_tx *tx = NULL;
	uint64_t mask = 0;

	check(uipc_rx_new(ctx, 0, &rx) == 0, "receiver on the auto backend");
	if (!rx)
		return;
	check(uipc_tx_new(rx, 5, &tx) == 0, "sender for vector 5");
	if (tx) {
		check(uipc_tx_notify(tx) == 0, "notify vector 5");
		check(uipc_rx_wait(rx, 1000000000, &mask) >= 0 && mask == (1ull << 5),
		      "wait returns exactly vector 5");
	}
	uipc_tx_free(tx);
	uipc_rx_free(rx);
}

int main(void)
{
	char why[256] = "";
	uipc_ctx *ctx = NULL;
	const char *name;
	int r;

	r = uipc_backend_probe(UIPC_BACKEND_UINTR, why, sizeof(why));
	printf("uintr probe: %d (%s)\n", r, why);
	check(r == -EOPNOTSUPP, "uintr backend reports itself unusable without the hardware");

	r = uipc_ctx_new("uintr", &ctx);
	check(r == -EOPNOTSUPP && ctx == NULL,
	      "asking for the uintr backend fails with -EOPNOTSUPP");

	r = uipc_ctx_new(NULL, &ctx);
	check(r == 0 && ctx != NULL, "auto context");
	if (ctx) {
		name = uipc_ctx_backend_name(ctx);
		printf("auto picked: %s\n", name ? name : "(null)");
		check(name && strcmp(name, "uintr") != 0, "auto falls back from uintr");
		check_round_trip(ctx);
		uipc_ctx_free(ctx);
	}
	return t_report_done();
}
