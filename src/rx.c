/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "hooks.h"

#define RX_FLAGS UIPC_RX_POLLABLE

static bool rx_valid(const uipc_rx *rx)
{
	return rx && rx->magic == UIPC_RX_MAGIC;
}

static const struct uipc__backend_ops *rx_pick_ops(uipc_ctx *ctx, unsigned flags)
{
	if (!(flags & UIPC_RX_POLLABLE) || (ctx->ops->caps & UIPC_CAP_POLLABLE))
		return ctx->ops;
	/* A pollable fd was asked for: auto (UIPC_BACKEND included, which
	 * only steers auto) switches to eventfd; a backend the program chose
	 * by name is honoured and the request fails. */
	if (ctx->forced)
		return NULL;
	return uipc__backend_get(UIPC_BACKEND_EVENTFD);
}

/* In a fork child: our ends of the capabilities promise the parent's
 * liveness to their holders; the child's copies go (src/fork.c). */
static void rx_fork_child(struct uipc__forkable *f)
{
	uipc_rx *rx = (uipc_rx *)((char *)f - offsetof(uipc_rx, fork));

	for (unsigned i = 0; i < rx->npeers; i++)
		uipc__close(rx->peers[i]);
	rx->npeers = 0;
}

/* Before fork: the senders uipc_tx_new() made for rx will go on working
 * in the child (src/fork.c), another process from then on. */
static void rx_fork_prepare(struct uipc__forkable *f)
{
	uipc__rx_share((uipc_rx *)((char *)f - offsetof(uipc_rx, fork)));
}

void uipc__rx_share(uipc_rx *rx)
{
	if (rx->ops->rx_share)
		rx->ops->rx_share(rx);
}

/* Usable here: made in this process, not inherited through fork(). */
static int rx_usable(const uipc_rx *rx)
{
	if (!rx_valid(rx))
		return -EINVAL;
	return uipc__forked(&rx->fork) ? -ECHILD : 0;
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
	/* Backends whose uipc_tx_new() senders hold no capability. */
	if (ops->tx_local) {
		rx->life = uipc__life_new();
		if (!rx->life) {
			free(rx);
			return -ENOMEM;
		}
	}
	r = uipc__shm_create("uipc-rx", UIPC_DESC_MAP_SIZE, &rx->memfd, &map);
	if (r < 0) {
		uipc__life_unref(rx->life);
		free(rx);
		return r;
	}
	/* Senders write here: keep it on the receiver's NUMA node (best
	 * effort; the pages are not touched yet). */
	(void)uipc__mem_bind_local(map, UIPC_DESC_MAP_SIZE, NULL);
	d = map;
	uipc__desc_init(d);
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
	uipc__spin_init(&rx->w.spin);
	r = ops->rx_init ? ops->rx_init(rx) : 0;
	if (r == 0) {
		FP(RX_NEW);
		r = uipc__fork_register(&rx->fork, rx_fork_child, rx_fork_prepare);
		if (r < 0 && ops->rx_fini)
			ops->rx_fini(rx);
	}
	if (r < 0) {
		munmap(map, UIPC_DESC_MAP_SIZE);
		uipc__close(rx->memfd);
		uipc__life_unref(rx->life);
		free(rx);
		return r;
	}
	rx->ctx = uipc__ctx_ref(ctx);
	atomic_init(&rx->refs, 1);
	rx->magic = UIPC_RX_MAGIC;
	*ret_rx = rx;
	return 0;
}

struct uipc__life *uipc__life_new(void)
{
	struct uipc__life *life = uipc__calloc(1, sizeof(*life));
	void *page;

	if (!life)
		return NULL;
	page = mmap(NULL, sizeof(*life->closed), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	            -1, 0);
	if (page == MAP_FAILED) {
		free(life);
		return NULL;
	}
	life->closed = page;
	atomic_init(life->closed, 0);
	atomic_init(&life->refs, 1);
	life->pid = getpid();
	return life;
}

void uipc__life_unref(struct uipc__life *life)
{
	if (life && atomic_fetch_sub_explicit(&life->refs, 1, memory_order_acq_rel) == 1) {
		munmap((void *)life->closed, sizeof(*life->closed));
		free(life);
	}
}

uipc_rx *uipc__rx_ref(uipc_rx *rx)
{
	atomic_fetch_add_explicit(&rx->refs, 1, memory_order_relaxed);
	return rx;
}

UIPC_API void uipc_rx_free(uipc_rx *rx)
{
	bool forked;

	if (!rx_valid(rx))
		return;
	/* Channels on it hold references: the last one destroys it. */
	if (atomic_fetch_sub_explicit(&rx->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* A fork child's copy: release it, leave the parent's receiver be. */
	forked = uipc__forked(&rx->fork);
	if (rx->handler && rx->ops->rx_handler && !forked)
		rx->ops->rx_handler(rx, false);
	/* Senders see CLOSED in the status word on their next notify (those
	 * of uipc_tx_new() confirm it here)... */
	if (!forked) {
		if (rx->life)
			atomic_store_explicit(rx->life->closed, 1, memory_order_seq_cst);
		uipc__desc_close(rx->desc);
	}
	FP(RX_FREE_CLOSED);
	/* ...and holders of a capability see its socket hang up. Registered
	 * until they are closed, with fork held off: a child forked meanwhile
	 * closes its copies too (src/fork.c). */
	uipc__fork_hold();
	uipc__fork_unregister(&rx->fork);
	FP(RX_FREE_UNREG);
	for (unsigned i = 0; i < rx->npeers; i++)
		uipc__close(rx->peers[i]);
	rx->npeers = 0;
	uipc__fork_release();
	FP(RX_FREE_DONE);
	free(rx->peers);
	if (rx->ops->rx_fini)
		rx->ops->rx_fini(rx);
	munmap(rx->desc, UIPC_DESC_MAP_SIZE);
	uipc__close(rx->memfd);
	uipc_ctx_free(rx->ctx);
	uipc__life_unref(rx->life);
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
	int r = rx_usable(rx);

	if (r < 0)
		return r;
	return uipc__spin_set(&rx->w.spin, mode, budget_ns);
}

/* Vector capabilities ------------------------------------------------------ */

/* Room for one more creator end, after closing those nobody holds (every
 * time: capabilities are made rarely, and a stale end is an fd). Called
 * with uipc__fork_hold(). */
static int peers_room(uipc_rx *rx)
{
	unsigned size;
	int *p;

	uipc__cap_reap(rx->peers, &rx->npeers);
	if (rx->npeers < rx->peers_size)
		return 0;
	size = rx->peers_size ? rx->peers_size * 2 : 8;
	if (uipc__fault(&uipc__faults.alloc))
		return -ENOMEM;
	p = realloc(rx->peers, size * sizeof(*p));
	if (!p)
		return -ENOMEM;
	rx->peers = p;
	rx->peers_size = size;
	return 0;
}

void uipc__rx_reap(uipc_rx *rx)
{
	uipc__fork_hold(); /* closed and forgotten as one, for fork */
	uipc__cap_reap(rx->peers, &rx->npeers);
	uipc__fork_release();
}

/*
 * Every capability handed out is a socket pair of its own: the holder's
 * end, whose one queued message it peeks at connect, and ours, which tells
 * it when we are gone. A holder that consumes its message (recv() without
 * MSG_PEEK) spoils only its own capability, never another holder's
 * (tests/regress/cap-consumed.c).
 */
int uipc__rx_cap(uipc_rx *rx, unsigned vector, bool expose)
{
	struct uipc__cap_vector cv = {.vector = vector};
	int fds[2], peer, cap, r;

	uipc_return_if(!rx_valid(rx) || vector >= UIPC_VECTORS, -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	if (expose) {
		/* Before the capability exists: nobody can hold it yet. */
		uipc__rx_share(rx);
		if (rx->ops->rx_expose)
			rx->ops->rx_expose(rx);
		atomic_store_explicit(&rx->exposed, true, memory_order_relaxed);
	}
	cv.backend = (uint32_t)rx->ops->id;
	fds[0] = rx->memfd;
	fds[1] = rx->backend_fd;
	if (rx->ops->rx_vector_fd) {
		r = rx->ops->rx_vector_fd(rx, vector, &fds[1]);
		if (r < 0)
			return r;
	}
	/* Our end is made and recorded with fork held off: a child forked in
	 * between would keep it open unseen, and the receiver alive to every
	 * holder after its free (tests/regress/fork-cap-race.c). */
	uipc__fork_hold();
	r = peers_room(rx);
	if (r == 0) {
		cap = uipc__cap_create(UIPC_CAP_KIND_VECTOR, &cv, sizeof(cv), fds,
		                       fds[1] >= 0 ? 2 : 1, &peer);
		FP(RX_CAP_MADE);
		if (cap >= 0)
			rx->peers[rx->npeers++] = peer;
	}
	uipc__fork_release();
	FP(RX_CAP_DONE);
	return r < 0 ? r : cap;
}

UIPC_API int uipc_rx_cap(uipc_rx *rx, unsigned vector)
{
	return uipc__rx_cap(rx, vector, true);
}

/* Waiting ---------------------------------------------------------------- */

struct rx_look {
	struct uipc__desc *d;
	uint64_t mask;
};

static int rx_look(void *arg, enum uipc__look when)
{
	struct rx_look *l = arg;

	(void)when;
	l->mask = uipc__desc_take(l->d);
	return l->mask != 0;
}

/* Nothing was pending: spin and block (src/wait.c). Out of line, so that
 * the path of a notify already landed (an awake ping-pong) sets up no wait. */
static __attribute__((noinline)) int rx_wait_slow(uipc_rx *rx, int64_t timeout_ns,
                                                  uint64_t *ret_mask)
{
	struct rx_look l = {.d = rx->desc};
	struct uipc__wait w = {.look = rx_look,
	                       .arg = &l,
	                       .deadline = UINT64_MAX,
	                       .timeout_ns = timeout_ns,
	                       .spin = &rx->w.spin};
	int r;

	r = uipc__wait(rx, &w);
	if (r < 0)
		return r;
	*ret_mask = l.mask;
	return 0;
}

UIPC_API int uipc_rx_wait(uipc_rx *rx, int64_t timeout_ns, uint64_t *ret_mask)
{
	uint64_t m;

	uipc_return_if(!rx_valid(rx) || !ret_mask, -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	uipc_return_if(rx->handler, -EBUSY);
	/* Armed for an event loop: the loop owns the arming until it drains
	 * (a blocking wait here would disarm it behind the loop's back). */
	uipc_return_if(rx->w.armed && timeout_ns != 0, -EBUSY);
	/* Every backend waits here (src/wait.c): a backend supplies its block
	 * step only. Nothing pending and not asked to wait: -EAGAIN, as every
	 * call (0.1 said -ETIMEDOUT: its version in compat.c still does). */
	m = uipc__desc_take(rx->desc);
	if (!m)
		return timeout_ns == 0 ? -EAGAIN : rx_wait_slow(rx, timeout_ns, ret_mask);
	*ret_mask = m;
	return 0;
}

UIPC_API int uipc_rx_poll(uipc_rx *rx, uint64_t *ret_mask)
{
	uint64_t m;

	uipc_return_if(!rx_valid(rx) || !ret_mask, -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	m = uipc__desc_take(rx->desc);
	if (!m)
		return -EAGAIN;
	*ret_mask = m;
	return 0;
}

/* Event loops -------------------------------------------------------------- */

/* A loop can wait for it: through its fd, or on its status word once the
 * program asked for it (uipc_rx_futex(), src/rx-futex.c; before that a
 * futex receiver's arm says -EOPNOTSUPP, as in 0.2). */
static bool rx_loopable(const uipc_rx *rx)
{
	return rx->ops->rx_fd || rx->w.futex;
}

UIPC_API int uipc_rx_fd(uipc_rx *rx)
{
	uipc_return_if(!rx_valid(rx), -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	if (!rx->ops->rx_fd)
		return -EOPNOTSUPP;
	return rx->ops->rx_fd(rx);
}

UIPC_API int uipc_rx_arm(uipc_rx *rx)
{
	bool bounded = false;
	uint64_t m;

	uipc_return_if(!rx_valid(rx), -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	uipc_return_if(!rx_loopable(rx), -EOPNOTSUPP);
	uipc_return_if(rx->handler, -EBUSY);
	if (rx->w.armed)
		return 0;
	uipc__rx_arm_status(rx);
	/* The re-check: pending bits stay in pir for drain() to hand out. */
	m = uipc__desc_pending(rx->desc);
	if (!m && rx->links) {
		m = uipc__rx_links_ready(rx, &bounded);
		if (m)
			uipc__desc_repost(rx->desc, m);
	}
	if (m || bounded) {
		/* A sender may have won ON and be kicking meanwhile: disarm
		 * counts that kick, so the next drain consumes it. */
		uipc__rx_disarm(rx, false);
		return -EAGAIN;
	}
	rx->w.armed = true;
	return 0;
}

UIPC_API int uipc_rx_drain(uipc_rx *rx, uint64_t *ret_mask)
{
	uint64_t m;

	uipc_return_if(!rx_valid(rx) || !ret_mask, -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	uipc_return_if(!rx_loopable(rx), -EOPNOTSUPP);
	/* The ack: a kick whose ON we see or one still owed is consumed, so
	 * the fd does not stay readable for nothing. A drain with nothing
	 * pending may follow a stray write (one no ON announced): only a
	 * peer can make one, so only a receiver that handed out a capability
	 * reads then. Otherwise a notify-free drain costs no syscall. */
	m = uipc__desc_take(rx->desc);
	uipc__rx_disarm(rx, m == 0 && atomic_load_explicit(&rx->exposed, memory_order_relaxed));
	rx->w.armed = false;
	*ret_mask = m | uipc__desc_take(rx->desc);
	return 0;
}

/* Handler mode ------------------------------------------------------------- */

void uipc__rx_dispatch(uipc_rx *rx)
{
	struct uipc__desc *d = rx->desc;
	unsigned i;
	uint64_t m;

	/* Lock-free atomics only: this runs in a signal or interrupt handler.
	 * Nested in a dispatch of ours (a signal that came while the user's
	 * handler ran outside a signal handler): leave it to the outer loop,
	 * which looks again after the handler returns. */
	do {
		if (atomic_exchange_explicit(&rx->dispatching, true, memory_order_acquire))
			return;
		for (;;) {
			/* ON cleared before pir is taken (src/desc.h). */
			m = uipc__desc_dispatch_take(d);
			if (!m)
				break;
			i = atomic_load_explicit(&rx->hslot, memory_order_acquire);
			if (rx->hs[i].fn)
				rx->hs[i].fn(rx, m, rx->hs[i].data);
		}
		atomic_store_explicit(&rx->dispatching, false, memory_order_seq_cst);
		/* A nested dispatch we turned away may have left bits behind. */
	} while (uipc__desc_pending(d));
}

/* Install fn/data for the dispatcher: the free slot first, then flip. */
static void handler_publish(uipc_rx *rx, uipc_handler_fn fn, void *data)
{
	unsigned j = atomic_load_explicit(&rx->hslot, memory_order_relaxed) ^ 1u;

	rx->hs[j].fn = fn;
	rx->hs[j].data = data;
	atomic_store_explicit(&rx->hslot, j, memory_order_release);
	rx->handler = fn;
}

UIPC_API int uipc_rx_set_handler(uipc_rx *rx, uipc_handler_fn fn, void *userdata)
{
	int r;

	uipc_return_if(!rx_valid(rx), -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	if (!(rx->ops->caps & UIPC_CAP_HANDLER) || !rx->ops->rx_handler)
		return -EOPNOTSUPP;
	if (uipc__gettid() != rx->owner_tid)
		return -EPERM;
	if (!fn) {
		if (!rx->handler)
			return 0;
		uipc__rx_disarm(rx, false);
		r = rx->ops->rx_handler(rx, false);
		handler_publish(rx, NULL, NULL);
		return r;
	}
	if (rx->handler) {
		handler_publish(rx, fn, userdata);
		return 0;
	}
	handler_publish(rx, fn, userdata);
	r = rx->ops->rx_handler(rx, true);
	if (r < 0) {
		handler_publish(rx, NULL, NULL);
		return r;
	}
	/* Handler mode keeps SN clear: every new vector kicks (once per ON). */
	uipc__desc_unsuppress(rx->desc);
	uipc__rx_dispatch(rx);
	return 0;
}

UIPC_API int uipc_rx_mask(uipc_rx *rx)
{
	uipc_return_if(!rx_valid(rx), -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	if (!rx->ops->rx_mask)
		return -EOPNOTSUPP;
	return rx->ops->rx_mask(rx, true);
}

UIPC_API int uipc_rx_unmask(uipc_rx *rx)
{
	uipc_return_if(!rx_valid(rx), -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	if (!rx->ops->rx_mask)
		return -EOPNOTSUPP;
	return rx->ops->rx_mask(rx, false);
}
