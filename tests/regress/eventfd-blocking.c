/* SPDX-License-Identifier: MIT */
/*
 * A hostile receiver could hang its eventfd senders: O_NONBLOCK was checked
 * only at connect, on an open file description the receiver shares, so a
 * receiver that cleared it and filled the counter made the next kick's
 * write() block for ever. The kick runs in a child with an alarm: a hang
 * is a failure, not a hung test. The sender is connected from a capability,
 * as a hostile receiver's senders are (another process's).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "regress.h"

int main(void)
{
	uint64_t full = UINT64_C(0xfffffffffffffffe);
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	pid_t pid;
	int fd, st, cap;

	if (uipc_ctx_new("eventfd", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) == 0);
	cap = uipc_rx_cap(rx, 2);
	t_check(cap >= 0);
	t_check(uipc_tx_open(ctx, cap, &tx) == 0);
	close(cap);
	fd = uipc_rx_fd(rx);
	/* The receiver turns on its senders. */
	t_check(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0);
	t_check(write(fd, &full, sizeof(full)) == (ssize_t)sizeof(full));
	t_check(uipc_rx_arm(rx) == 0);

	pid = fork();
	t_check(pid >= 0);
	if (pid == 0) {
		alarm(5);
		_exit(uipc_tx_notify(tx) == 0 ? 0 : 2);
	}
	t_check(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		fprintf(stderr, "the kick hung (killed by signal %d)\n", WTERMSIG(st));
	t_check(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
