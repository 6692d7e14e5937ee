/* SPDX-License-Identifier: MIT */
/*
 * uintr backend: Intel user interrupts, over the platform interface
 * (uintr-platform.h), so the same code runs on the hardware (uintr-hw.c,
 * backend "uintr") and on the model (uintr-sim.c, backend "uintr-sim").
 *
 * The hardware runs the notify protocol itself: SENDUIPI posts the vector in
 * the receiver's UPID and notifies only when ON and SN are clear. So this
 * backend overrides notify (one SENDUIPI) and wait; the uipc descriptor only
 * carries CLOSED (checked before each SENDUIPI) and, on the receiver side,
 * the vectors delivered so far: the user-interrupt handler ORs each vector
 * into desc->pir, which is what waits spin on and what polls take.
 *
 * Rules that come from UINTR itself:
 * - a receiver is a thread: one uintr receiver per thread (-EBUSY for a
 *   second one); create it, its vector fds and its handler on that thread,
 *   and free it there (or before that thread exits);
 * - handler mode: the callback runs in the user-interrupt handler with the
 *   FP/SIMD state saved around it; the user's handler follows the rules of
 *   uipc_handler_fn (async-signal-safe calls only, as for the signal
 *   backend). mask/unmask are clui/stui, plus a flag so a mask taken inside
 *   the handler survives UIRET (which sets UIF again).
 */
#include <stdlib.h>
#include <unistd.h>

#include "uintr-platform.h"

struct uintr_rx {
	const struct uipc__uintr_platform *plat;
	int vfd[UIPC_VECTORS]; /* kernel vector fd per vector, -1 until asked */
	bool registered;
	_Atomic bool masked;
	_Atomic bool delivering;
};

static int u_probe(const struct uipc__uintr_platform *p, char *why, size_t len)
{
	return p->probe(why, len);
}

/* Handler mode: runs in the user-interrupt handler on the owner thread. */
static void u_deliver(void *arg)
{
	uipc_rx *rx = arg;
	struct uintr_rx *u = rx->backend;

	atomic_store_explicit(&u->delivering, true, memory_order_relaxed);
	while (!atomic_load_explicit(&u->masked, memory_order_relaxed) &&
	       atomic_load_explicit(&rx->desc->pir, memory_order_relaxed))
		uipc__rx_dispatch(rx);
	atomic_store_explicit(&u->delivering, false, memory_order_relaxed);
}

static int u_rx_init(const struct uipc__uintr_platform *p, uipc_rx *rx)
{
	struct uintr_rx *u;
	int r;

	u = uipc__calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->plat = p;
	for (unsigned i = 0; i < UIPC_VECTORS; i++)
		u->vfd[i] = -1;
	r = p->register_handler(&rx->desc->pir, 0);
	if (r < 0) {
		free(u);
		return r;
	}
	u->registered = true;
	rx->backend = u;
	/* Deliveries record into desc->pir from now on. */
	p->stui();
	return 0;
}

static bool on_owner(const uipc_rx *rx)
{
	return uipc__gettid() == rx->owner_tid;
}

static void u_rx_fini(uipc_rx *rx)
{
	struct uintr_rx *u = rx->backend;

	if (!u)
		return;
	/* The registration is per thread: only the owner can drop it. On any
	 * other thread the kernel drops it when the owner thread exits. */
	if (on_owner(rx) && u->registered) {
		u->plat->clui();
		u->plat->set_callback(NULL, NULL);
		u->plat->unregister_handler(0);
	}
	for (unsigned i = 0; i < UIPC_VECTORS; i++)
		uipc__close(u->vfd[i]);
	free(u);
	rx->backend = NULL;
}

static int u_rx_vector_fd(uipc_rx *rx, unsigned vector, int *ret_fd)
{
	struct uintr_rx *u = rx->backend;
	int fd;

	if (u->vfd[vector] < 0) {
		/* uintr_vector_fd names the calling thread's UPID. */
		if (!on_owner(rx))
			return -EPERM;
		fd = u->plat->vector_fd(vector, 0);
		if (fd < 0)
			return fd;
		u->vfd[vector] = fd;
	}
	*ret_fd = u->vfd[vector];
	return 0;
}

static int u_rx_handler(uipc_rx *rx, bool on)
{
	struct uintr_rx *u = rx->backend;

	if (!on_owner(rx))
		return on ? -EPERM : 0;
	u->plat->set_callback(on ? u_deliver : NULL, on ? rx : NULL);
	if (!on && atomic_load_explicit(&u->masked, memory_order_relaxed)) {
		atomic_store_explicit(&u->masked, false, memory_order_relaxed);
		u->plat->stui();
	}
	return 0;
}

static int u_rx_mask(uipc_rx *rx, bool masked)
{
	struct uintr_rx *u = rx->backend;

	if (!on_owner(rx))
		return -EPERM;
	if (masked) {
		atomic_store_explicit(&u->masked, true, memory_order_relaxed);
		u->plat->clui();
		return 0;
	}
	atomic_store_explicit(&u->masked, false, memory_order_relaxed);
	u->plat->stui();
	/* What arrived while masked was recorded, not dispatched: dispatch it
	 * now, as STUI delivers pending interrupts at once. Inside a delivery
	 * the running loop picks it up. */
	if (rx->handler && !atomic_load_explicit(&u->delivering, memory_order_relaxed))
		u_deliver(rx);
	return 0;
}

static uint64_t spin_until(struct uipc__desc *d, uint64_t end)
{
	for (;;) {
		for (unsigned i = 0; i < 64; i++) {
			if (atomic_load_explicit(&d->pir, memory_order_relaxed))
				return uipc__desc_take(d);
			uipc__cpu_relax();
		}
		if (uipc__now_ns() >= end)
			return 0;
	}
}

static uint64_t usec_left(uint64_t now, uint64_t deadline)
{
	uint64_t us;

	if (deadline == UINT64_MAX)
		return UIPC_UINTR_WAIT_MAX_USEC;
	us = (deadline - now + 999) / 1000;
	return us > UIPC_UINTR_WAIT_MAX_USEC ? UIPC_UINTR_WAIT_MAX_USEC : us;
}

/*
 * Wait mode: spin on the delivered-vector state (desc->pir, filled by the
 * handler), then sleep in uintr_wait. Deliveries are held off (clui) from
 * the last check until the wait, so one that arrives in between stays
 * pending in UIRR and ends the wait at once instead of being handled just
 * before we sleep; stui afterwards records it.
 */
static int u_rx_wait(uipc_rx *rx, int64_t timeout_ns, uint64_t *ret_mask)
{
	const struct uipc__uintr_platform *p = ((struct uintr_rx *)rx->backend)->plat;
	struct uipc__desc *d = rx->desc;
	uint64_t start, now, deadline = UINT64_MAX, budget, m;
	int r;

	m = uipc__desc_take(d);
	if (m)
		goto done;
	if (timeout_ns == 0)
		return -ETIMEDOUT;
	if (!on_owner(rx))
		return -EPERM;
	start = uipc__now_ns();
	if (timeout_ns > 0)
		deadline = start + (uint64_t)timeout_ns;
	budget = rx->spin.budget_ns;
	if (budget > deadline - start)
		budget = deadline - start;
	if (budget) {
		m = spin_until(d, start + budget);
		if (m)
			goto done;
	}
	for (;;) {
		p->clui();
		m = uipc__desc_take(d);
		if (m) {
			p->stui();
			goto done;
		}
		now = uipc__now_ns();
		r = now >= deadline ? -ETIMEDOUT : p->wait(usec_left(now, deadline), 0);
		p->stui();
		m = uipc__desc_take(d);
		if (m)
			goto done;
		if (r == -EINTR)
			return -EINTR; /* a signal, not a user interrupt */
		if (r < 0 && r != -ETIMEDOUT)
			return r;
		if (uipc__now_ns() >= deadline)
			return -ETIMEDOUT;
	}
done:
	*ret_mask = m;
	return 0;
}

static int u_tx_init(const struct uipc__uintr_platform *p, uipc_tx *tx)
{
	struct uipc__uintr_tx *t;
	int idx;

	if (tx->backend_fd < 0)
		return -EINVAL;
	t = uipc__calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	idx = p->register_sender(tx->backend_fd, 0);
	if (idx < 0) {
		free(t);
		/* The receiver left between connect and registration. */
		if (idx == -ESHUTDOWN)
			return -EPIPE;
		/* Not a vector fd of this platform: a bad capability. */
		return idx == -EOPNOTSUPP ? -EINVAL : idx;
	}
	t->plat = p;
	t->index = (uint64_t)idx;
	tx->backend = t;
	return 0;
}

static void u_tx_fini(uipc_tx *tx)
{
	struct uipc__uintr_tx *t = tx->backend;

	if (!t)
		return;
	t->plat->unregister_sender((int)t->index, 0);
	free(t);
	tx->backend = NULL;
}

/* The model's notify; the hardware has its inline one in uintr-hw.c. */
__attribute__((unused)) static int u_tx_notify(uipc_tx *tx)
{
	struct uipc__uintr_tx *t = tx->backend;

	if (atomic_load_explicit(&tx->desc->status, memory_order_relaxed) & UIPC_DESC_CLOSED)
		return -EPIPE;
	return t->plat->senduipi(t->index);
}

/* One ops object per platform; the wrappers only bind the platform. */
#define UINTR_OPS(var, backend_name, backend_id, caps_, plat, notify)                              \
	static int var##_probe(char *why, size_t len)                                              \
	{                                                                                          \
		return u_probe(&plat, why, len);                                                   \
	}                                                                                          \
	static int var##_rx_init(uipc_rx *rx)                                                      \
	{                                                                                          \
		return u_rx_init(&plat, rx);                                                       \
	}                                                                                          \
	static int var##_tx_init(uipc_tx *tx)                                                      \
	{                                                                                          \
		return u_tx_init(&plat, tx);                                                       \
	}                                                                                          \
	const struct uipc__backend_ops var = {                                                     \
	    .name = backend_name,                                                                  \
	    .id = backend_id,                                                                      \
	    .caps = caps_,                                                                         \
	    .probe = var##_probe,                                                                  \
	    .rx_init = var##_rx_init,                                                              \
	    .rx_fini = u_rx_fini,                                                                  \
	    .rx_vector_fd = u_rx_vector_fd,                                                        \
	    .rx_handler = u_rx_handler,                                                            \
	    .rx_mask = u_rx_mask,                                                                  \
	    .tx_init = var##_tx_init,                                                              \
	    .tx_fini = u_tx_fini,                                                                  \
	    .tx_notify = notify,                                                                   \
	    .rx_wait = u_rx_wait,                                                                  \
	}

#if UIPC_HAVE_BACKEND_UINTR
UINTR_OPS(uipc__backend_uintr, "uintr", UIPC_BACKEND_UINTR,
          UIPC_CAP_HANDLER | UIPC_CAP_CROSS_PROCESS, uipc__uintr_hw, uipc__uintr_hw_tx_notify);
#endif

#if UIPC_HAVE_BACKEND_UINTR_SIM
UINTR_OPS(uipc__backend_uintr_sim, "uintr-sim", UIPC_BACKEND_UINTR_SIM,
          UIPC_CAP_HANDLER | UIPC_CAP_CROSS_PROCESS | UIPC_CAP_TEST_ONLY, uipc__uintr_sim,
          u_tx_notify);
#endif
