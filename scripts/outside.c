/* SPDX-License-Identifier: MIT */
/*
 * An outside program: built against an installed libuipc through pkg-config
 * alone, as a user of the package would (scripts/ci-install-check.sh after
 * `meson install`, scripts/deb-check.sh after installing the .debs).
 */
#include <uipc.h>
#include <errno.h>
#include <stdio.h>
int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t mask = 0;

	if (uipc_version_check(UIPC_VERSION_MAJOR, UIPC_VERSION_MINOR, UIPC_VERSION_MICRO) ||
	    uipc_ctx_new(NULL, &ctx) || uipc_rx_new(ctx, 0, &rx) || uipc_tx_new(rx, 1, &tx) ||
	    uipc_tx_notify(tx) || uipc_rx_wait(rx, 0, &mask) || mask != 2 ||
	    uipc_rx_wait(rx, 0, &mask) != -EAGAIN)
		return 1;
	printf("outside program: uipc %s, backend %s, ok\n", UIPC_VERSION_STRING,
	       uipc_ctx_backend_name(ctx));
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return 0;
}
