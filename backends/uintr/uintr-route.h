/* SPDX-License-Identifier: MIT */
/*
 * Delivery routing of one receiver thread, shared by the hardware entry
 * (uintr-hw-entry.c) and the model (uintr-sim.c).
 *
 * A UINTR receiver is a thread with 64 user vectors. Several uipc receivers
 * may live on one thread: each vector of a uipc receiver that has a vector fd
 * is given one of the thread's 64 kernel vectors, and the route of that
 * kernel vector says where a delivery goes: one bit ORed into that
 * receiver's desc->pir (the posted-interrupt mirror, src/desc.h), then,
 * in handler mode, its callback.
 *
 * uipc__uintr_record() runs in the interrupt entry itself and uses general
 * registers only; uipc__uintr_run() is ordinary C, entered with the extended
 * state saved. A delivery that arrives while a callback runs (the callback
 * unmasked) is only recorded, and run by the outer one before it returns.
 */
#ifndef UIPC_UINTR_ROUTE_H
#define UIPC_UINTR_ROUTE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "desc.h"

typedef void (*uipc__uintr_callback)(void *arg);

struct uipc__uintr_route {
	_Atomic(_Atomic uint64_t *) pir; /* NULL: the vector is not routed */
	_Atomic uint64_t bit;
	_Atomic(uipc__uintr_callback) cb; /* handler mode, or NULL */
	void *_Atomic arg;
};

struct uipc__uintr_routes {
	struct uipc__uintr_route route[UIPC_VECTORS];
	_Atomic uint64_t missed;     /* kernel vectors whose callback is owed */
	_Atomic uint64_t deliveries; /* every delivery on this thread */
	_Atomic unsigned depth;      /* a callback is running */
	_Atomic unsigned busy;       /* interrupts between record and done */
	/* Bookkeeping of uintr.c (not read in the interrupt): receivers on
	 * this thread, kernel vectors given to them; and what receivers freed
	 * on another thread gave back, for the owner to fold in at its next
	 * call (only the owner changes nrx and used). */
	unsigned nrx;
	uint64_t used;
	_Atomic uint64_t released;
	_Atomic unsigned released_rx;
};

/* In the interrupt: record; true when the caller must uipc__uintr_run().
 * Either way the caller ends with uipc__uintr_done(): from record to done
 * the interrupt may use the route's receiver, and a receiver freed on
 * another thread waits until no interrupt does (uipc__uintr_route_drop()). */
static inline bool uipc__uintr_record(struct uipc__uintr_routes *t, unsigned kvec)
{
	struct uipc__uintr_route *r = &t->route[kvec & (UIPC_VECTORS - 1)];
	_Atomic uint64_t *pir;

	/* Dekker with uipc__uintr_route_drop(): busy before the route. */
	atomic_fetch_add_explicit(&t->busy, 1, memory_order_seq_cst);
	pir = atomic_load_explicit(&r->pir, memory_order_seq_cst);
	atomic_fetch_add_explicit(&t->deliveries, 1, memory_order_relaxed);
	if (pir)
		uipc__desc_mirror_post(pir, atomic_load_explicit(&r->bit, memory_order_relaxed));
	if (!atomic_load_explicit(&r->cb, memory_order_acquire))
		return false;
	if (atomic_load_explicit(&t->depth, memory_order_relaxed)) {
		atomic_fetch_or_explicit(&t->missed, UINT64_C(1) << (kvec & (UIPC_VECTORS - 1)),
		                         memory_order_relaxed);
		return false;
	}
	return true;
}

static inline void uipc__uintr_done(struct uipc__uintr_routes *t)
{
	atomic_fetch_sub_explicit(&t->busy, 1, memory_order_release);
}

/* Run the callback of kvec and every one owed meanwhile (uintr.c). */
UIPC_INTERNAL void uipc__uintr_run(struct uipc__uintr_routes *t, unsigned kvec);

/* Change a route of the calling thread. Its own interrupt may come at any
 * point: the route is disabled (pir NULL) while it changes. */
UIPC_INTERNAL void uipc__uintr_route_set(struct uipc__uintr_routes *t, unsigned kvec,
                                         _Atomic uint64_t *pir, uint64_t bit,
                                         uipc__uintr_callback cb, void *arg);

/* Disable a route of another thread (its receiver is being freed there),
 * and return once no interrupt of that thread still uses it. */
UIPC_INTERNAL void uipc__uintr_route_drop(struct uipc__uintr_routes *t, unsigned kvec);

#endif
