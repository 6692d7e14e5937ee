/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uipc-private.h"

#define RX_FLAGS UIPC_RX_POLLABLE

static bool rx_valid(const uipc_rx *rx)
{
	return rx && rx->magic == UIPC_RX_MAGIC;
}

static const struct uipc__backend_ops *rx_pick_ops(uipc_ctx *ctx, unsigned flags)
{
	if (!(flags & UIPC_RX_POLLABLE) || (ctx->ops->caps & UIPC_CAP_POLLABLE))
		return ctx->ops;
	/* A pollable fd was asked for: auto switches to eventfd; a backend
	 * chosen by name is honoured and the request fails. */
	if (ctx->forced)
		return NULL;
	return uipc__backend_get(UIPC_BACKEND_EVENTFD);
}

static void spin_init(struct uipc__spin *sp)
{
	sp->mode = UIPC_SPIN_ADAPTIVE;
	sp->max_ns = UIPC_SPIN_DEFAULT_MAX_NS;
	sp->budget_ns = UIPC_SPIN_DEFAULT_MAX_NS / 4;
}

UIPC_API int uipc_rx_new(uipc_ctx *ctx, unsigned flags, uipc_rx **ret_rx)
{
	const struct uipc__backend_ops *ops;
	struct uipc__desc *d;
	uipc_rx *rx;
	void *map;
	int r;

	uipc_return_if(!ctx || !ret_rx || (flags & ~RX_FLAGS), -EINVAL);
	ops = rx_pick_ops(ctx, flags);
	if (!ops)
		return -EOPNOTSUPP;
	rx = uipc__calloc(1, sizeof(*rx));
	if (!rx)
		return -ENOMEM;
	r = uipc__shm_create("uipc-rx", UIPC_DESC_MAP_SIZE, &rx->memfd, &map);
	if (r < 0) {
		free(rx);
		return r;
	}
	/* Senders write here: keep it on the receiver's NUMA node (best
	 * effort; the pages are not touched yet). */
	(void)uipc__mem_bind_local(map, UIPC_DESC_MAP_SIZE, NULL);
	d = map;
	atomic_init(&d->status, UIPC_DESC_SN);
	atomic_init(&d->pir, 0);
	d->magic = UIPC_DESC_MAGIC;
	d->abi = UIPC_DESC_ABI;
	d->backend = (uint32_t)ops->id;
	d->pid = (int32_t)getpid();
	d->tid = (int32_t)uipc__gettid();
	d->ndst = (uint32_t)d->tid;

	rx->desc = d;
	rx->ops = ops;
	rx->owner_tid = d->tid;
	rx->backend_fd = -1;
	for (unsigned i = 0; i < UIPC_VECTORS; i++)
		rx->caps[i] = rx->cap_peers[i] = -1;
	spin_init(&rx->spin);
	if (ops->rx_init) {
		r = ops->rx_init(rx);
		if (r < 0) {
			munmap(map, UIPC_DESC_MAP_SIZE);
			uipc__close(rx->memfd);
			free(rx);
			return r;
		}
	}
	rx->ctx = uipc__ctx_ref(ctx);
	atomic_init(&rx->refs, 1);
	rx->magic = UIPC_RX_MAGIC;
	*ret_rx = rx;
	return 0;
}

uipc_rx *uipc__rx_ref(uipc_rx *rx)
{
	atomic_fetch_add_explicit(&rx->refs, 1, memory_order_relaxed);
	return rx;
}

UIPC_API void uipc_rx_free(uipc_rx *rx)
{
	if (!rx_valid(rx))
		return;
	/* Channels on it hold references: the last one destroys it. */
	if (atomic_fetch_sub_explicit(&rx->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (rx->handler && rx->ops->rx_handler)
		rx->ops->rx_handler(rx, false);
	/* Senders see CLOSED in the status word on their next notify... */
	atomic_fetch_or_explicit(&rx->desc->status, UIPC_DESC_CLOSED | UIPC_DESC_SN,
	                         memory_order_seq_cst);
	/* ...and holders of a capability see its socket hang up. */
	for (unsigned i = 0; i < UIPC_VECTORS; i++) {
		uipc__close(rx->caps[i]);
		uipc__close(rx->cap_peers[i]);
	}
	if (rx->ops->rx_fini)
		rx->ops->rx_fini(rx);
	munmap(rx->desc, UIPC_DESC_MAP_SIZE);
	uipc__close(rx->memfd);
	uipc_ctx_free(rx->ctx);
	rx->magic = 0;
	free(rx);
}

UIPC_API const char *uipc_rx_backend_name(const uipc_rx *rx)
{
	if (!rx_valid(rx))
		return NULL;
	return rx->ops->name;
}

UIPC_API int uipc_rx_set_spin(uipc_rx *rx, enum uipc_spin_mode mode, uint64_t budget_ns)
{
	uipc_return_if(!rx_valid(rx), -EINVAL);
	uipc_return_if(budget_ns > UIPC_SPIN_MAX_NS, -EINVAL);
	switch (mode) {
	case UIPC_SPIN_ADAPTIVE:
		rx->spin.max_ns = budget_ns ? budget_ns : UIPC_SPIN_DEFAULT_MAX_NS;
		rx->spin.budget_ns = rx->spin.max_ns / 4;
		break;
	case UIPC_SPIN_NONE:
		rx->spin.max_ns = rx->spin.budget_ns = 0;
		break;
	case UIPC_SPIN_FIXED:
		rx->spin.max_ns = rx->spin.budget_ns = budget_ns;
		break;
	default:
		return -EINVAL;
	}
	rx->spin.mode = mode;
	return 0;
}

/* Vector capabilities ------------------------------------------------------ */

static int cap_make(uipc_rx *rx, unsigned vector)
{
	struct uipc__cap_vector cv = {.vector = vector, .backend = (uint32_t)rx->ops->id};
	int fds[2] = {rx->memfd, rx->backend_fd};
	int peer, cap, r;

	if (rx->ops->rx_vector_fd) {
		r = rx->ops->rx_vector_fd(rx, vector, &fds[1]);
		if (r < 0)
			return r;
	}
	cap = uipc__cap_create(UIPC_CAP_KIND_VECTOR, &cv, sizeof(cv), fds, fds[1] >= 0 ? 2 : 1,
	                       &peer);
	if (cap < 0)
		return cap;
	rx->caps[vector] = cap;
	rx->cap_peers[vector] = peer;
	return 0;
}

UIPC_API int uipc_rx_vector_fd(uipc_rx *rx, unsigned vector)
{
	int fd, r;

	uipc_return_if(!rx_valid(rx) || vector >= UIPC_VECTORS, -EINVAL);
	if (rx->caps[vector] < 0) {
		r = cap_make(rx, vector);
		if (r < 0)
			return r;
	}
	/* Every fd for one vector is the same socket: one peer end per vector
	 * is enough to signal our death to all of them. */
	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	fd = fcntl(rx->caps[vector], F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* Waiting ---------------------------------------------------------------- */

/* Spin on pir until it is non-zero or until `end`; the clock is read only
 * every few dozen loads so the loop stays a pure cache-line watch. *now is
 * the last clock reading: the spin policy's estimate of when the bit came,
 * without a clock read on the path between the hit and the caller. */
static uint64_t spin_wait(struct uipc__desc *d, uint64_t end, uint64_t *now)
{
	for (;;) {
		for (unsigned i = 0; i < 64; i++) {
			if (atomic_load_explicit(&d->pir, memory_order_relaxed))
				return uipc__desc_take(d);
			uipc__cpu_relax();
		}
		*now = uipc__now_ns();
		if (*now >= end)
			return 0;
	}
}

/*
 * Adaptive policy. A wait that ends during the spin keeps the budget at
 * least twice that gap (room for jitter). A wait that had to block halves
 * the budget: on an oversubscribed CPU the spin only steals time from the
 * thread we wait for, and an idle receiver stops burning CPU within a few
 * waits. Every 8th block re-probes: if that wait's gap was short enough
 * that spinning could have covered it, the budget jumps back to twice the
 * gap. One wait never spins longer than max_ns.
 */
static void spin_learn(struct uipc__spin *sp, bool spun_ok, uint64_t gap_ns)
{
	uint64_t want = gap_ns < sp->max_ns ? gap_ns * 2 : sp->max_ns;

	if (sp->mode != UIPC_SPIN_ADAPTIVE)
		return;
	if (want > sp->max_ns)
		want = sp->max_ns;
	if (spun_ok) {
		if (want > sp->budget_ns)
			sp->budget_ns = want;
		sp->blocks = 0;
		return;
	}
	sp->budget_ns /= 2;
	if ((++sp->blocks & 7) == 0 && gap_ns <= sp->max_ns / 2)
		sp->budget_ns = want;
}

static int rx_wait_protocol(uipc_rx *rx, int64_t timeout_ns, uint64_t *ret_mask)
{
	struct uipc__desc *d = rx->desc;
	uint64_t start, deadline = UINT64_MAX, budget, m;
	struct timespec ts;
	uint32_t expect;
	int r;

	m = uipc__desc_take(d);
	if (m)
		goto out;
	if (timeout_ns == 0)
		return -ETIMEDOUT;
	start = uipc__now_ns();
	if (timeout_ns > 0) {
		deadline = start + (uint64_t)timeout_ns;
		ts = uipc__ns_to_ts(deadline);
	}

	budget = rx->spin.budget_ns;
	if (budget > deadline - start)
		budget = deadline - start;
	if (budget) {
		uint64_t seen = start;

		m = spin_wait(d, start + budget, &seen);
		if (m) {
			spin_learn(&rx->spin, true, seen - start);
			goto out;
		}
	}

	for (;;) {
		r = uipc__desc_arm(d, &expect, &m);
		rx->arms++;
		if (r == -EAGAIN) { /* arrived before we blocked */
			spin_learn(&rx->spin, true, uipc__now_ns() - start);
			goto out;
		}
		r = rx->ops->rx_block(rx, expect, timeout_ns > 0 ? &ts : NULL);
		if ((uipc__desc_disarm(d) & UIPC_DESC_ON) && r != 0 && rx->ops->rx_ack)
			rx->ops->rx_ack(rx); /* a kick landed after we stopped waiting */
		m = uipc__desc_take(d);
		if (m)
			goto done;
		if (r < 0 && r != -ETIMEDOUT && r != -EINTR)
			return r;
		if (r == -EINTR)
			return -EINTR;
		if (r == -ETIMEDOUT || uipc__now_ns() >= deadline) {
			spin_learn(&rx->spin, false, UINT64_MAX);
			return -ETIMEDOUT;
		}
		/* Woken with nothing pending (a peer's stray kick): block again. */
	}
done:
	spin_learn(&rx->spin, false, uipc__now_ns() - start);
out:
	*ret_mask = m;
	return 0;
}

UIPC_API int uipc_rx_wait(uipc_rx *rx, int64_t timeout_ns, uint64_t *ret_mask)
{
	int r;

	uipc_return_if(!rx_valid(rx) || !ret_mask, -EINVAL);
	uipc_return_if(rx->handler, -EBUSY);
	if (rx->ops->rx_wait)
		r = rx->ops->rx_wait(rx, timeout_ns, ret_mask);
	else
		r = rx_wait_protocol(rx, timeout_ns, ret_mask);
	/* Nothing pending and not asked to wait: -EAGAIN, as every call
	 * (0.1 said -ETIMEDOUT: its version in compat.c still does). */
	return r == -ETIMEDOUT && timeout_ns == 0 ? -EAGAIN : r;
}

UIPC_API int uipc_rx_poll(uipc_rx *rx, uint64_t *ret_mask)
{
	uint64_t m;

	uipc_return_if(!rx_valid(rx) || !ret_mask, -EINVAL);
	if (rx->ops->rx_wait) {
		int r = rx->ops->rx_wait(rx, 0, ret_mask);
		return r == -ETIMEDOUT ? -EAGAIN : r;
	}
	m = uipc__desc_take(rx->desc);
	if (!m)
		return -EAGAIN;
	*ret_mask = m;
	return 0;
}

/* Event loops -------------------------------------------------------------- */

UIPC_API int uipc_rx_fd(uipc_rx *rx)
{
	uipc_return_if(!rx_valid(rx), -EINVAL);
	if (!rx->ops->rx_fd)
		return -EOPNOTSUPP;
	return rx->ops->rx_fd(rx);
}

UIPC_API int uipc_rx_arm(uipc_rx *rx)
{
	uint32_t expect;
	uint64_t m;

	uipc_return_if(!rx_valid(rx), -EINVAL);
	uipc_return_if(!rx->ops->rx_fd, -EOPNOTSUPP);
	uipc_return_if(rx->handler, -EBUSY);
	rx->arms++;
	if (uipc__desc_arm(rx->desc, &expect, &m) == -EAGAIN) {
		/* Put back what arm took: drain() hands it out. No sender can
		 * have kicked for it (SN was set again before we return). */
		atomic_fetch_or_explicit(&rx->desc->pir, m, memory_order_relaxed);
		return -EAGAIN;
	}
	rx->armed = true;
	return 0;
}

UIPC_API int uipc_rx_drain(uipc_rx *rx, uint64_t *ret_mask)
{
	uipc_return_if(!rx_valid(rx) || !ret_mask, -EINVAL);
	uipc_return_if(!rx->ops->rx_fd, -EOPNOTSUPP);
	/* Consume the readiness only when a kick was actually sent (ON): a
	 * notify-free wake costs no extra syscall. */
	if ((uipc__desc_disarm(rx->desc) & UIPC_DESC_ON) && rx->ops->rx_ack)
		rx->ops->rx_ack(rx);
	rx->armed = false;
	*ret_mask = uipc__desc_take(rx->desc);
	return 0;
}

/* Handler mode ------------------------------------------------------------- */

void uipc__rx_dispatch(uipc_rx *rx)
{
	struct uipc__desc *d = rx->desc;
	uint64_t m;

	/* Clear ON before taking pir: a sender that posts after the take finds
	 * ON clear and kicks again, so nothing posted after this point is
	 * left undelivered. Lock-free atomics only: this runs in a handler. */
	atomic_fetch_and_explicit(&d->status, ~UIPC_DESC_ON, memory_order_seq_cst);
	m = uipc__desc_take(d);
	if (m && rx->handler)
		rx->handler(rx, m, rx->handler_data);
}

UIPC_API int uipc_rx_set_handler(uipc_rx *rx, uipc_handler_fn fn, void *userdata)
{
	int r;

	uipc_return_if(!rx_valid(rx), -EINVAL);
	if (!(rx->ops->caps & UIPC_CAP_HANDLER) || !rx->ops->rx_handler)
		return -EOPNOTSUPP;
	if (uipc__gettid() != rx->owner_tid)
		return -EPERM;
	if (!fn) {
		if (!rx->handler)
			return 0;
		uipc__desc_disarm(rx->desc);
		r = rx->ops->rx_handler(rx, false);
		rx->handler = NULL;
		rx->handler_data = NULL;
		return r;
	}
	if (rx->handler) {
		rx->handler = fn;
		rx->handler_data = userdata;
		return 0;
	}
	rx->handler = fn;
	rx->handler_data = userdata;
	r = rx->ops->rx_handler(rx, true);
	if (r < 0) {
		rx->handler = NULL;
		rx->handler_data = NULL;
		return r;
	}
	/* Handler mode keeps SN clear: every new vector kicks (once per ON). */
	atomic_fetch_and_explicit(&rx->desc->status, ~UIPC_DESC_SN, memory_order_seq_cst);
	uipc__rx_dispatch(rx);
	return 0;
}

UIPC_API int uipc_rx_mask(uipc_rx *rx)
{
	uipc_return_if(!rx_valid(rx), -EINVAL);
	if (!rx->ops->rx_mask)
		return -EOPNOTSUPP;
	return rx->ops->rx_mask(rx, true);
}

UIPC_API int uipc_rx_unmask(uipc_rx *rx)
{
	uipc_return_if(!rx_valid(rx), -EINVAL);
	if (!rx->ops->rx_mask)
		return -EOPNOTSUPP;
	return rx->ops->rx_mask(rx, false);
}
