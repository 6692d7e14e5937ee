/* SPDX-License-Identifier: MIT */
/*
 * A futex receiver in an event loop that can wait on a futex word itself:
 * an io_uring loop's IORING_OP_FUTEX_WAIT (Linux 6.7 and later), or any
 * other futex waiter. The loop follows the fd protocol of uipc_rx_arm()
 * and uipc_rx_drain() with the status word in place of the fd:
 *
 *   arm:    status := 0 (armed), re-check the pending bits (-EAGAIN);
 *   sleep:  wait while the word equals 0 (the value given here);
 *   drain:  status := SN (awake), take the pending bits.
 *
 * A sender that finds the word armed sets ON (the word leaves 0) and
 * wakes the word's waiters: a wait queued before that is woken, and one
 * queued after it finds the word changed and returns at once. So the
 * Dekker pattern of the one-receiver protocol holds as it is: the wait
 * reads the word in the kernel, under the futex bucket's lock, exactly
 * like the futex backend's own FUTEX_WAIT (tests/model/notify.pml).
 *
 * The word is a shared futex from here on (the descriptor is a memfd
 * mapping that senders in other processes map too, and they wake it
 * without FUTEX_PRIVATE_FLAG): a waiter must not ask for a private one.
 * Until now it may have been private (backends/futex/futex.c).
 */
#include "backend.h"

UIPC_API int uipc_rx_futex(uipc_rx *rx, const uint32_t **ret_word, uint32_t *ret_armed)
{
	uipc_return_if(!rx || rx->magic != UIPC_RX_MAGIC || !ret_word || !ret_armed, -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	if (!(rx->ops->caps & UIPC_CAP_FUTEX_WORD))
		return -EOPNOTSUPP;
	/* From now on uipc_rx_arm() and uipc_rx_drain() take this receiver
	 * (0.2 refused them: a program that never asks keeps that). */
	rx->w.futex = true;
	/* The loop's wait is a shared futex (above). */
	uipc__rx_share(rx);
	*ret_word = (const uint32_t *)(const void *)uipc__desc_futex_word(rx->desc);
	*ret_armed = 0;
	return 0;
}
