/* SPDX-License-Identifier: MIT */
/*
 * The futex word's switch to shared lost a wakeup when a kick failed
 * (found by tests/model/futex-share.pml before it landed). The switch
 * marked an armed word with ON; a sender in another process that had won
 * ON just before, and whose kick then failed, gave ON back
 * (uipc__desc_unpost()) and the mark with it. The receiver, which had read
 * "private" before the switch, then slept on a word that said 0, on the
 * private queue, where no sender outside its process can reach it. The
 * steps are played on the descriptor here, in that order; the receiver's
 * sleep is the backend's own, with a deadline.
 */
#include "regress.h"

int main(void)
{
	struct timespec deadline;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int cap, r;

	if (uipc_ctx_new("futex", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	/* The receiver arms and, seeing nothing pending, reads "private". */
	uipc__rx_arm_status(rx);
	/* A sender wins ON (its post found the word armed)... */
	atomic_fetch_or(&rx->desc->status, UIPC_DESC_ON);
	/* ...the switch runs (a capability leaves)... */
	cap = uipc_rx_cap(rx, 1);
	t_check(cap >= 0);
	/* ...and the sender's kick fails: it gives ON back. */
	uipc__desc_unpost(rx->desc);
	/* The receiver's sleep must not wait: the word is not what it armed. */
	t_check(atomic_load(&rx->desc->status) != 0);
	deadline = uipc__ns_to_ts(uipc__now_ns() + 200000000u);
	r = rx->ops->rx_block(rx, 0, &deadline);
	t_check(r == 0);
	uipc__rx_disarm(rx, true);
	close(cap);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
