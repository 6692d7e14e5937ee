/* SPDX-License-Identifier: MIT */
/*
 * The descriptor protocol: every access to the shared descriptor's status
 * word and pending bits (pir) goes through here. The layout itself (struct
 * uipc__desc, the status bits) is what peers see; the rules below are how
 * this library moves it. README.md ("Layout") and doc/uipc.7 describe the
 * protocol; tests/model/notify.pml checks it, and its comments name these
 * functions.
 *
 * Who owns which transition of the status word. Only the receiver arms
 * (status := 0, so nothing a peer stored survives) and disarms (status :=
 * SN). Senders only set ON, with a compare-and-swap from an armed status,
 * and the one that wins kicks. CLOSED is the receiver's farewell, a hint
 * any peer can forge. pir is a set of pending vectors: senders OR their bit
 * in, the receiver takes the whole word.
 *
 * Memory orders. Each side's store is sequentially consistent before its
 * load (Dekker's pattern): the sender ORs into pir, then loads status; the
 * receiver stores status (arms), then loads pir. The orders of each
 * function below are part of that argument: do not weaken one without the
 * model.
 */
#ifndef UIPC_DESC_H
#define UIPC_DESC_H

#include "uipc-private.h"

/* Receiver, at creation: awake (SN), nothing pending. Before any peer can
 * map it. */
static inline void uipc__desc_init(struct uipc__desc *d)
{
	atomic_init(&d->status, UIPC_DESC_SN);
	atomic_init(&d->pir, 0);
}

/* Take every pending vector. The load first keeps an idle receiver from
 * pulling the line exclusive; it is seq_cst because it is the load of the
 * receiver's half of the Dekker pattern when called right after arming. */
static inline uint64_t uipc__desc_take(struct uipc__desc *d)
{
	if (atomic_load_explicit(&d->pir, memory_order_seq_cst) == 0)
		return 0;
	return atomic_exchange_explicit(&d->pir, 0, memory_order_seq_cst);
}

/* The pending vectors, left pending: a re-check that hands them out later
 * (uipc_rx_arm(), a dispatch loop, a block step's last look). seq_cst:
 * right after arming it is the receiver's load half. */
static inline uint64_t uipc__desc_pending(struct uipc__desc *d)
{
	return atomic_load_explicit(&d->pir, memory_order_seq_cst);
}

/* Anything pending, as a cheap look (a spin, a delivery loop): relaxed,
 * never the load that decides a sleep. */
static inline uint64_t uipc__desc_peek(struct uipc__desc *d)
{
	return atomic_load_explicit(&d->pir, memory_order_relaxed);
}

/* Receiver: make bits pending again that it found itself (a channel's
 * fence-free producers, src/wait.c) so the next take hands them out. The
 * receiver's own thread takes them: relaxed. */
static inline void uipc__desc_repost(struct uipc__desc *d, uint64_t m)
{
	atomic_fetch_or_explicit(&d->pir, m, memory_order_relaxed);
}

/* Receiver: give back the bits of other vectors that a channel's wait took
 * (its own is not among them): seq_cst, as the posts they came from, for
 * whoever takes them next. */
static inline void uipc__desc_give_back(struct uipc__desc *d, uint64_t m)
{
	atomic_fetch_or_explicit(&d->pir, m, memory_order_seq_cst);
}

/* Receiver: arm. One store of the whole word: a peer's ON, SN or CLOSED
 * goes. seq_cst: the store half of the receiver's Dekker pattern (the
 * caller's re-check is the load half). */
static inline void uipc__desc_arm(struct uipc__desc *d)
{
	atomic_exchange_explicit(&d->status, 0, memory_order_seq_cst);
}

/* Receiver: disarm (status := SN). True when a kick was won meanwhile
 * (ON was set): the caller owes the backend an acknowledgement. */
static inline bool uipc__desc_disarm(struct uipc__desc *d)
{
	return atomic_exchange_explicit(&d->status, UIPC_DESC_SN, memory_order_seq_cst) &
	       UIPC_DESC_ON;
}

/* Receiver, handler mode: keep SN clear, so every new vector kicks (once
 * per ON). */
static inline void uipc__desc_unsuppress(struct uipc__desc *d)
{
	atomic_fetch_and_explicit(&d->status, ~UIPC_DESC_SN, memory_order_seq_cst);
}

/* Receiver, handler mode: clear ON, then take pir. In that order: a sender
 * that posts after the take finds ON clear and kicks again, so nothing
 * posted after this point is left undelivered. Lock-free atomics only: it
 * runs in a signal or interrupt handler. */
static inline uint64_t uipc__desc_dispatch_take(struct uipc__desc *d)
{
	atomic_fetch_and_explicit(&d->status, ~UIPC_DESC_ON, memory_order_seq_cst);
	return uipc__desc_take(d);
}

/* The futex backend's switch to a shared word (backends/futex): MOVED, a
 * bit of its own, so that an armed word is not 0 until the receiver's next
 * arm (a wait not yet queued returns at once). Not ON: a sender whose kick
 * fails gives ON back (uipc__desc_unpost()) and would take the switch's
 * mark with it (tests/model/futex-share.pml). Senders ignore the bit: an
 * armed word with it still kicks. Returns the status before. */
static inline uint32_t uipc__desc_moved(struct uipc__desc *d)
{
	return atomic_fetch_or_explicit(&d->status, UIPC_DESC_MOVED, memory_order_seq_cst);
}

/* Receiver, when freed: CLOSED (with SN, so no sender kicks any more). */
static inline void uipc__desc_close(struct uipc__desc *d)
{
	atomic_fetch_or_explicit(&d->status, UIPC_DESC_CLOSED | UIPC_DESC_SN, memory_order_seq_cst);
}

/* The status word, for a block step that compares it with what the
 * receiver armed with (signal) before it sleeps: seq_cst. */
static inline uint32_t uipc__desc_status(struct uipc__desc *d)
{
	return atomic_load_explicit(&d->status, memory_order_seq_cst);
}

/* The status word as a futex word (futex backend: the receiver sleeps on
 * it, a kick wakes it). */
static inline _Atomic uint32_t *uipc__desc_futex_word(struct uipc__desc *d)
{
	return &d->status;
}

/* Sender: does the status word say CLOSED? Only a hint, relaxed: any peer
 * can store it, so the caller confirms with the capability's hang-up. */
static inline bool uipc__desc_closed_hint(struct uipc__desc *d)
{
	return atomic_load_explicit(&d->status, memory_order_relaxed) & UIPC_DESC_CLOSED;
}

/*
 * Sender, the first step of a post: is it covered without a shared write?
 * The bit still pending from an earlier notify, and the receiver awake (SN)
 * or a kick on its way (ON): then that notify's kick (or the receiver's
 * next look) covers ours, and the line stays shared. The fence orders the
 * caller's earlier stores (the message being announced) before the
 * deciding loads; without it TSO lets the loads pass them, and the
 * receiver could take the bit, miss the message and sleep. A first relaxed
 * look keeps the fence off the path that ORs, where the locked OR is the
 * full barrier.
 *
 * Pending and armed without ON is the one state where the pending bit does
 * not cover us: a kick failed (uipc__desc_unpost()), or the receiver is
 * between arming and its re-check. Then the post goes on (OR, kick).
 * CLOSED goes on too, to the post's answer (a hint, -EPIPE). Inline: the
 * sender's fast path (uipc_tx_notify()).
 */
static inline bool uipc__desc_covered(struct uipc__desc *d, uint64_t bit)
{
	uint32_t s;

	if (!(atomic_load_explicit(&d->pir, memory_order_relaxed) & bit))
		return false;
	uipc__fence();
	if (!(atomic_load_explicit(&d->pir, memory_order_relaxed) & bit))
		return false;
	s = atomic_load_explicit(&d->status, memory_order_relaxed);
	return (s & (UIPC_DESC_SN | UIPC_DESC_ON)) && !(s & UIPC_DESC_CLOSED);
}

/* Sender: post bit. Returns 1 when the caller must kick the backend (it won
 * the CAS that set ON), 0 when no kick is needed, -EPIPE if the status word
 * says CLOSED (which the caller must confirm: any peer can write it). */
UIPC_INTERNAL int uipc__desc_post(struct uipc__desc *d, uint64_t bit);

/* The post after its first step said not covered: OR, then as above. */
UIPC_INTERNAL int uipc__desc_post_or(struct uipc__desc *d, uint64_t bit);

/* Sender: the kick after a post failed; let the next notify kick. */
UIPC_INTERNAL void uipc__desc_unpost(struct uipc__desc *d);

/*
 * The posted-interrupt mirror (uintr). SENDUIPI posts into the kernel's
 * UPID, not into this descriptor; the user-interrupt handler copies each
 * delivered vector into pir, which the receiver's waits and polls then use
 * as for any backend. The handler's routes keep the word's address
 * (mirror) and OR into it (mirror_post, seq_cst like a sender's post).
 */
static inline _Atomic uint64_t *uipc__desc_mirror(struct uipc__desc *d)
{
	return &d->pir;
}

static inline void uipc__desc_mirror_post(_Atomic uint64_t *pir, uint64_t bit)
{
	atomic_fetch_or_explicit(pir, bit, memory_order_seq_cst);
}

#endif
