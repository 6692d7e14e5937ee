/* SPDX-License-Identifier: MIT */
/*
 * The notify/wait protocol on the shared descriptor (DESIGN.md), in one place.
 *
 * It is Dekker's pattern. The sender stores its bit into pir and then loads
 * status; the receiver stores status (clears SN) and then loads pir. Both
 * stores are sequentially consistent read-modify-writes, so each side's
 * store is ordered before its load: either the sender sees SN clear and
 * kicks, or the receiver sees the bit before it blocks. No wakeup is lost.
 */
#include "uipc-private.h"

int uipc__desc_post(struct uipc__desc *d, uint64_t bit)
{
	uint32_t s;

	/*
	 * Still pending from an earlier notify? Then that notify owns the kick
	 * and the receiver, which has not taken the bit yet, will see ours too:
	 * a load, no shared write, the line stays shared. The fence orders the
	 * caller's earlier stores (the message being announced) before the
	 * deciding load; without it TSO lets the load pass them, and the
	 * receiver could take the bit, miss the message and sleep. A first
	 * relaxed look keeps the fence off the path that ORs, where the locked
	 * OR is the full barrier.
	 */
	if (atomic_load_explicit(&d->pir, memory_order_relaxed) & bit) {
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&d->pir, memory_order_relaxed) & bit) {
			s = atomic_load_explicit(&d->status, memory_order_relaxed);
			return (s & UIPC_DESC_CLOSED) ? -EPIPE : 0;
		}
	}

	atomic_fetch_or_explicit(&d->pir, bit, memory_order_seq_cst);
	s = atomic_load_explicit(&d->status, memory_order_seq_cst);
	if (s & UIPC_DESC_CLOSED)
		return -EPIPE;
	/* Awake (SN), or a kick is already on its way (ON): nothing to do. */
	if (s & (UIPC_DESC_SN | UIPC_DESC_ON))
		return 0;
	/* Armed: whoever sets ON kicks, exactly once per arming. */
	if (!atomic_compare_exchange_strong_explicit(&d->status, &s, s | UIPC_DESC_ON,
	                                             memory_order_seq_cst, memory_order_relaxed))
		return (s & UIPC_DESC_CLOSED) ? -EPIPE : 0;
	return 1;
}

int uipc__desc_arm(struct uipc__desc *d, uint32_t *ret_expect, uint64_t *ret_mask)
{
	uint32_t s;
	uint64_t m;

	s = atomic_fetch_and_explicit(&d->status, ~UIPC_DESC_SN, memory_order_seq_cst);
	m = uipc__desc_take(d);
	if (m) {
		uipc__desc_disarm(d);
		*ret_mask = m;
		return -EAGAIN;
	}
	*ret_expect = s & ~UIPC_DESC_SN;
	return 0;
}

uint32_t uipc__desc_disarm(struct uipc__desc *d)
{
	/* One exchange: a sender's CAS either came first (we see its ON) or
	 * fails because SN is set. Bits a peer scribbled are reset too. */
	return atomic_exchange_explicit(&d->status, UIPC_DESC_SN, memory_order_seq_cst);
}
