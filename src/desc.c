/* SPDX-License-Identifier: MIT */
/*
 * The notify/wait protocol on the shared descriptor, in one place with
 * src/desc.h (the rules, and the receiver's steps inline); README.md
 * ("Layout") and doc/uipc.7 describe it, tests/model/notify.pml checks it.
 *
 * It is Dekker's pattern. The sender stores its bit into pir and then loads
 * status; the receiver stores status (clears SN) and then loads pir. Both
 * stores are sequentially consistent read-modify-writes, so each side's
 * store is ordered before its load: either the sender sees SN clear and
 * kicks, or the receiver sees the bit before it blocks. No wakeup is lost.
 */
#include "desc.h"

int uipc__desc_post(struct uipc__desc *d, uint64_t bit)
{
	return uipc__desc_covered(d, bit) ? 0 : uipc__desc_post_or(d, bit);
}

int uipc__desc_post_or(struct uipc__desc *d, uint64_t bit)
{
	uint32_t s;

	atomic_fetch_or_explicit(&d->pir, bit, memory_order_seq_cst);
	s = atomic_load_explicit(&d->status, memory_order_seq_cst);
	/*
	 * Awake (SN), or a kick is already on its way (ON): nothing to do.
	 * CLOSED is the receiver's farewell (it comes with SN), but any peer
	 * can store it: it is only a hint, which the caller confirms with the
	 * capability's hang-up before it reports -EPIPE (uipc_tx_notify()),
	 * and it never stops a kick to an armed receiver.
	 */
	if (s & (UIPC_DESC_SN | UIPC_DESC_ON))
		return (s & UIPC_DESC_CLOSED) ? -EPIPE : 0;
	/* Armed: whoever sets ON kicks, exactly once per arming. */
	if (!atomic_compare_exchange_strong_explicit(&d->status, &s, s | UIPC_DESC_ON,
	                                             memory_order_seq_cst, memory_order_relaxed))
		return (s & UIPC_DESC_CLOSED) ? -EPIPE : 0;
	return 1;
}

void uipc__desc_unpost(struct uipc__desc *d)
{
	/* Our kick failed: give the duty back, so the next notify kicks.
	 * Clear ON alone, whatever else is in the word (a peer's CLOSED
	 * beside it must not keep the duty taken: handler mode never re-arms).
	 * If the receiver disarmed and re-armed meanwhile and another sender
	 * won ON, its kick may be doubled: a spurious wakeup, never a lost
	 * one. */
	atomic_fetch_and_explicit(&d->status, ~UIPC_DESC_ON, memory_order_seq_cst);
}
