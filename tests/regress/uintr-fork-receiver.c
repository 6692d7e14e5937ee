/* SPDX-License-Identifier: MIT */
/*
 * A process whose thread was a uintr receiver forked; in the child, a new
 * receiver on the same (only) thread never registered with the kernel: the
 * hardware platform took the inherited thread-local copy of the parent's
 * registration for its own, so the child's vector fds failed (-EINVAL) and
 * its peers got -EPIPE. Found by the xproc suite on the emulated Sapphire
 * Rapids (scripts/uintr-emu.sh). The model drops the copy at fork already,
 * so there it passes either way.
 *
 * Runs on UIPC_BACKEND (uintr or uintr-sim); 77 when it is not usable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uipc.h>

#include "regress.h"

/* Child: a receiver of its own, notified by itself and by a thread-less
 * sender of the same process. 0 when all works. */
static int child(const char *backend)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m = 0;

	if (uipc_ctx_new(backend, &ctx) < 0)
		return 10;
	if (uipc_rx_new(ctx, 0, &rx) < 0)
		return 11;
	if (uipc_rx_cap(rx, 7) < 0)
		return 12;
	if (uipc_tx_new(rx, 7, &tx) < 0)
		return 13;
	if (uipc_tx_notify(tx) < 0)
		return 14;
	if (uipc_rx_wait(rx, 2000000000, &m) < 0 || m != UINT64_C(1) << 7)
		return 15;
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return 0;
}

int main(void)
{
	const char *backend = getenv("UIPC_BACKEND");
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	pid_t pid;

	if (!backend || uipc_ctx_new(backend, &ctx) < 0)
		return 77;
	/* The parent's thread is a receiver and a sender when it forks. */
	if (uipc_rx_new(ctx, 0, &rx) < 0 || uipc_tx_new(rx, 1, &tx) < 0 || uipc_tx_notify(tx) < 0)
		return 1;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(child(backend));
	if (pid < 0 || t_child_ok(pid, T_CHILD_MS, "the child") != T_PASS)
		return 1;
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return 0;
}
