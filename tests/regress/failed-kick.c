/* SPDX-License-Identifier: MIT */
/*
 * A failed kick left ON set, so every later notify returned 0 without
 * kicking and the receiver slept until its timeout, or for ever. Seen with
 * the signal backend and RLIMIT_SIGPENDING exhausted; here the receiver is
 * this thread, with the signal blocked so kicks stay pending where we can
 * see them.
 */
#include <signal.h>
#include <sys/resource.h>

#include "regress.h"

int main(void)
{
	struct rlimit old, none = {0, 0};
	sigset_t set, pend;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	int signo = SIGRTMIN + 4, r;

	if (uipc_ctx_new("signal", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_tx_new(rx, 9, &tx) == 0);
	sigemptyset(&set);
	sigaddset(&set, signo);
	t_check(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);

	/* The receiver is asleep (armed). */
	atomic_store(&rx->desc->status, 0);
	t_check(getrlimit(RLIMIT_SIGPENDING, &old) == 0);
	none.rlim_max = old.rlim_max;
	t_check(setrlimit(RLIMIT_SIGPENDING, &none) == 0);
	r = uipc_tx_notify(tx);
	t_check(setrlimit(RLIMIT_SIGPENDING, &old) == 0);
	if (r == 0) {
		printf("SKIP: the kernel queued the signal over RLIMIT_SIGPENDING\n");
		return T_SKIP;
	}
	t_check(r == -EAGAIN);
	/* The next notify must kick. */
	t_check(uipc_tx_notify(tx) == 0);
	t_check(sigpending(&pend) == 0);
	t_check(sigismember(&pend, signo));

	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
