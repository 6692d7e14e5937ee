/* SPDX-License-Identifier: MIT */
/*
 * futex backend: a blocked receiver sleeps on the descriptor's status word;
 * the sender that set ON wakes it. The futex is shared (not PRIVATE) because
 * the descriptor is a memfd mapping that other processes may map too.
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"

static int futex_block(uipc_rx *rx, uint32_t expect, const struct timespec *deadline)
{
	/* WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline: no drift
	 * when a wait is retried after a stray wakeup. */
	long r = syscall(SYS_futex, &rx->desc->status, FUTEX_WAIT_BITSET, expect, deadline, NULL,
	                 FUTEX_BITSET_MATCH_ANY);

	if (r == 0 || errno == EAGAIN)
		return 0;
	return errno == ETIMEDOUT ? -ETIMEDOUT : -errno;
}

static int futex_kick(uipc_tx *tx)
{
	if (syscall(SYS_futex, &tx->desc->status, FUTEX_WAKE, 1, NULL, NULL, 0) < 0)
		return -errno;
	return 0;
}

/* A sender of uipc_tx_new() needs nothing but the descriptor. */
static int futex_tx_local(uipc_tx *tx, uipc_rx *rx)
{
	(void)tx;
	(void)rx;
	return 0;
}

const struct uipc__backend_ops uipc__backend_futex = {
    .name = "futex",
    .id = UIPC_BACKEND_FUTEX,
    .rx_block = futex_block,
    .tx_local = futex_tx_local,
    .tx_kick = futex_kick,
};
