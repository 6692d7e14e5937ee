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
 *   backend). mask/unmask is a flag of the receiver (as in the signal
 *   backend), not CLUI/STUI: UIF belongs to the thread and all of its
 *   receivers, only that thread can set it again, and UIRET sets it anyway.
 */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uintr-platform.h"

struct uintr_rx {
	const struct uipc__uintr_platform *plat;
	int vfd[UIPC_VECTORS];         /* kernel vector fd per vector, -1 until asked */
	uint8_t kvec[UIPC_VECTORS];    /* the thread's kernel vector serving it */
	struct uipc__uintr_routes *rt; /* the owner thread's routes */
	_Atomic bool masked;
};

void uipc__uintr_route_set(struct uipc__uintr_routes *t, unsigned kvec, _Atomic uint64_t *pir,
                           uint64_t bit, uipc__uintr_callback cb, void *arg)
{
	struct uipc__uintr_route *r = &t->route[kvec];

	/* Only the callback changes (handler mode on or off, the same
	 * receiver's vector): swap it alone. A delivery sees the old callback
	 * or the new one, and its bit lands in pir either way; disabling the
	 * route meanwhile would drop it (tests/regress/uintr-swap-lost.c). */
	if (pir && atomic_load_explicit(&r->pir, memory_order_relaxed) == pir &&
	    atomic_load_explicit(&r->bit, memory_order_relaxed) == bit &&
	    atomic_load_explicit(&r->arg, memory_order_relaxed) == arg) {
		atomic_store_explicit(&r->cb, cb, memory_order_seq_cst);
		return;
	}
	atomic_store_explicit(&r->pir, NULL, memory_order_seq_cst);
	atomic_store_explicit(&r->cb, NULL, memory_order_seq_cst);
	atomic_store_explicit(&r->bit, bit, memory_order_relaxed);
	atomic_store_explicit(&r->arg, arg, memory_order_relaxed);
	atomic_store_explicit(&r->cb, cb, memory_order_release);
	atomic_store_explicit(&r->pir, pir, memory_order_release);
}

void uipc__uintr_route_drop(struct uipc__uintr_routes *t, unsigned kvec)
{
	struct uipc__uintr_route *r = &t->route[kvec];

	atomic_store_explicit(&r->pir, NULL, memory_order_seq_cst);
	atomic_store_explicit(&r->cb, NULL, memory_order_seq_cst);
	/* Dekker with uipc__uintr_record(): an interrupt that still saw the
	 * route holds busy until it is done with it. */
	while (atomic_load_explicit(&t->busy, memory_order_seq_cst))
		uipc__cpu_relax();
}

/* Owner thread: take back what receivers freed on other threads gave up. */
static void routes_fold(struct uipc__uintr_routes *t)
{
	t->used &= ~atomic_exchange_explicit(&t->released, 0, memory_order_acquire);
	t->nrx -= atomic_exchange_explicit(&t->released_rx, 0, memory_order_acquire);
}

static void run_one(struct uipc__uintr_routes *t, unsigned kvec)
{
	struct uipc__uintr_route *r = &t->route[kvec];
	uipc__uintr_callback cb = atomic_load_explicit(&r->cb, memory_order_acquire);

	if (cb)
		cb(atomic_load_explicit(&r->arg, memory_order_relaxed));
}

void uipc__uintr_run(struct uipc__uintr_routes *t, unsigned kvec)
{
	uint64_t m;

	atomic_store_explicit(&t->depth, 1, memory_order_relaxed);
	run_one(t, kvec);
	for (;;) {
		/* Owed callbacks: deliveries recorded while one ran. Re-check
		 * after dropping depth: a delivery in between runs itself. */
		atomic_store_explicit(&t->depth, 0, memory_order_seq_cst);
		if (!atomic_load_explicit(&t->missed, memory_order_seq_cst))
			return;
		atomic_store_explicit(&t->depth, 1, memory_order_seq_cst);
		m = atomic_exchange_explicit(&t->missed, 0, memory_order_seq_cst);
		while (m) {
			unsigned k = (unsigned)__builtin_ctzll(m);

			m &= m - 1;
			run_one(t, k);
		}
	}
}

static int u_probe(const struct uipc__uintr_platform *p, char *why, size_t len)
{
	return p->probe(why, len);
}

/* Handler mode: runs in the user-interrupt handler on the owner thread. */
static void u_deliver(void *arg)
{
	uipc_rx *rx = arg;
	struct uintr_rx *u = rx->backend;

	while (!atomic_load_explicit(&u->masked, memory_order_relaxed) &&
	       uipc__desc_peek(rx->desc)) {
		/* An interrupt inside a dispatch of ours (one that unmask ran
		 * directly, interrupts enabled): the dispatcher turns us away
		 * and its own loop takes these bits once the user's handler
		 * returns. Looping here would never let it (the thread stays
		 * in this handler for good). */
		if (atomic_load_explicit(&rx->dispatching, memory_order_relaxed))
			return;
		uipc__rx_dispatch(rx);
	}
}

static bool on_owner(const uipc_rx *rx)
{
	return uipc__gettid() == rx->owner_tid;
}

static int u_rx_init(const struct uipc__uintr_platform *p, uipc_rx *rx)
{
	struct uipc__uintr_routes *rt;
	struct uintr_rx *u;
	int r;

	u = uipc__calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->plat = p;
	for (unsigned i = 0; i < UIPC_VECTORS; i++)
		u->vfd[i] = -1;
	/* The thread stays a UINTR receiver while it has a uipc receiver. */
	rt = p->routes();
	if (!rt) {
		r = p->register_handler(0);
		rt = r < 0 ? NULL : p->routes();
		if (!rt) {
			free(u);
			return r < 0 ? r : -EIO;
		}
		/* Deliveries follow the routes from now on. */
		p->stui();
	}
	routes_fold(rt);
	rt->nrx++;
	u->rt = rt;
	rx->backend = u;
	/* A polled wait wakes up to a period late: the default adaptive spin
	 * may cover that much (uipc_rx_set_spin() still decides). */
	if (p->wait_late_ns && p->wait_late_ns() > rx->w.spin.max_ns) {
		uint64_t late = p->wait_late_ns();

		uipc__spin_set(&rx->w.spin, UIPC_SPIN_ADAPTIVE,
		               late < UIPC_SPIN_MAX_NS ? late : UIPC_SPIN_MAX_NS);
	}
	return 0;
}

static void u_rx_fini(uipc_rx *rx)
{
	struct uintr_rx *u = rx->backend;
	const struct uipc__uintr_platform *p;
	struct uipc__uintr_routes *rt;
	bool forked;

	if (!u)
		return;
	p = u->plat;
	/* Routes and the registration are per thread: only the owner changes
	 * them. On another thread (a handler-mode receiver may be freed from
	 * any thread, as with the signal backend), the routes are disabled
	 * once no interrupt of the owner uses them, and what they held is left
	 * for the owner to take back at its next receiver call; the kernel
	 * drops the rest when the owner thread exits
	 * (tests/regress/uintr-free-masked.c). Inherited through fork, the
	 * receiver is the parent's: the child is no receiver (its copy of the
	 * thread's state is gone), so there is nothing of ours to drop. */
	forked = uipc__forked(&rx->fork);
	rt = on_owner(rx) && !forked ? p->routes() : NULL;
	if (rt) {
		routes_fold(rt);
		for (unsigned i = 0; i < UIPC_VECTORS; i++) {
			if (u->vfd[i] < 0)
				continue;
			uipc__uintr_route_set(rt, u->kvec[i], NULL, 0, NULL, NULL);
			rt->used &= ~(UINT64_C(1) << u->kvec[i]);
		}
		if (--rt->nrx == 0) {
			p->clui();
			p->unregister_handler(0);
		}
	} else if (u->rt && !forked) {
		uint64_t gone = 0;

		for (unsigned i = 0; i < UIPC_VECTORS; i++) {
			if (u->vfd[i] < 0)
				continue;
			uipc__uintr_route_drop(u->rt, u->kvec[i]);
			gone |= UINT64_C(1) << u->kvec[i];
		}
		atomic_fetch_or_explicit(&u->rt->released, gone, memory_order_release);
		atomic_fetch_add_explicit(&u->rt->released_rx, 1, memory_order_release);
	}
	for (unsigned i = 0; i < UIPC_VECTORS; i++)
		uipc__close(u->vfd[i]);
	free(u);
	rx->backend = NULL;
}

static int u_rx_vector_fd(uipc_rx *rx, unsigned vector, int *ret_fd)
{
	struct uintr_rx *u = rx->backend;
	struct uipc__uintr_routes *rt;
	int fd = -ENOSPC;

	if (u->vfd[vector] >= 0)
		goto done;
	/* uintr_vector_fd names the calling thread's UPID. */
	if (!on_owner(rx))
		return -EPERM;
	rt = u->plat->routes();
	if (!rt)
		return -EINVAL;
	routes_fold(rt);
	/* A free kernel vector; one the kernel still calls busy (a sender of
	 * a freed receiver still holds its fd) is skipped. */
	for (unsigned k = 0; k < UIPC_VECTORS; k++) {
		if (rt->used & (UINT64_C(1) << k))
			continue;
		uipc__uintr_route_set(rt, k, uipc__desc_mirror(rx->desc), UINT64_C(1) << vector,
		                      rx->handler ? u_deliver : NULL, rx);
		fd = u->plat->vector_fd(k, 0);
		if (fd >= 0) {
			rt->used |= UINT64_C(1) << k;
			u->kvec[vector] = (uint8_t)k;
			u->vfd[vector] = fd;
			goto done;
		}
		uipc__uintr_route_set(rt, k, NULL, 0, NULL, NULL);
		if (fd != -EBUSY)
			return fd;
	}
	return fd;
done:
	*ret_fd = u->vfd[vector];
	return 0;
}

static int u_rx_handler(uipc_rx *rx, bool on)
{
	struct uintr_rx *u = rx->backend;
	struct uipc__uintr_routes *rt;

	if (!on_owner(rx))
		return on ? -EPERM : 0;
	rt = u->plat->routes();
	for (unsigned i = 0; rt && i < UIPC_VECTORS; i++) {
		if (u->vfd[i] >= 0)
			uipc__uintr_route_set(rt, u->kvec[i], uipc__desc_mirror(rx->desc),
			                      UINT64_C(1) << i, on ? u_deliver : NULL, rx);
	}
	if (!on)
		atomic_store_explicit(&u->masked, false, memory_order_relaxed);
	return 0;
}

static int u_rx_mask(uipc_rx *rx, bool masked)
{
	struct uintr_rx *u = rx->backend;
	struct uipc__uintr_routes *rt;

	if (!on_owner(rx))
		return -EPERM;
	/* A flag, read by u_deliver() on this thread: an interrupt that comes
	 * while masked leaves its bit in pir and dispatches nothing. Not
	 * CLUI: UIF is the thread's, shared by every receiver on it, and only
	 * the thread can set it again, so a masked receiver freed from another
	 * thread would leave its owner deaf for good
	 * (tests/regress/uintr-free-masked.c). */
	atomic_store_explicit(&u->masked, masked, memory_order_seq_cst);
	if (masked)
		return 0;
	/* What arrived while masked was recorded, not dispatched: dispatch it
	 * now. Inside a callback the running loop does it. */
	rt = u->plat->routes();
	if (rx->handler && rt && !atomic_load_explicit(&rt->depth, memory_order_relaxed))
		u_deliver(rx);
	return 0;
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
 * The sleep step of the shared waiter (src/wait.c), for uipc_rx_wait() and
 * channel receives alike: the waiter spins on the delivered-vector state
 * (desc->pir, filled by the handler), following and training the
 * receiver's spin policy, arms, looks (at channels with fence-free
 * producers too, after its membarrier()) and calls this. Deliveries are held
 * off (clui) from the last check until the wait, so one that arrives in
 * between stays pending in UIRR and ends the wait at once instead of being
 * handled just before we sleep; stui afterwards records it. With the
 * shim's event-driven wake a blocked wait costs a wakeup, like a futex.
 * With its timed poll, a blocked wake comes up to a poll period late, so
 * the adaptive spin is allowed to cover one period (u_rx_init()). The
 * waiter's arm and disarm of the status word are for observers only here
 * (SENDUIPI has its own descriptor).
 */
static int u_rx_block(uipc_rx *rx, uint32_t expect, const struct timespec *deadline)
{
	const struct uipc__uintr_platform *p = ((struct uintr_rx *)rx->backend)->plat;
	struct uipc__uintr_routes *rt;
	uint64_t now, end = UINT64_MAX, seen;
	int r;

	(void)expect;
	if (!on_owner(rx))
		return -EPERM;
	if (deadline)
		end = (uint64_t)deadline->tv_sec * 1000000000u + (uint64_t)deadline->tv_nsec;
	rt = p->routes();
	p->clui();
	if (uipc__desc_pending(rx->desc)) {
		p->stui();
		return 0;
	}
	now = uipc__now_ns();
	seen = rt ? atomic_load(&rt->deliveries) : 0;
	r = now >= end ? -ETIMEDOUT : p->wait(usec_left(now, end), 0);
	p->stui();
	if (r == -EINTR && rt && atomic_load(&rt->deliveries) != seen)
		return 0; /* a user interrupt, not a signal */
	return r == -ETIMEDOUT && uipc__now_ns() < end ? 0 : r;
}

/*
 * UITT entries are per process and per vector fd (uintr_register_sender says
 * -EISCONN to a second registration of one fd), while uipc makes one sender
 * per connect: senders of one process that target the same vector fd share
 * the entry, counted here. Entries of a parent process are void in a forked
 * child (the kernel does not inherit the UITT), hence the pid.
 *
 * "The same vector fd" is the same open file description. Its inode does
 * not tell: the kernel's vector fds (/dev/uintr's and the UINTR syscalls')
 * are anon-inode files that all share one inode. So each entry keeps a
 * duplicate of the first fd, compared with kcmp(KCMP_FILE).
 */
struct uitt_ref {
	const struct uipc__uintr_platform *plat;
	dev_t dev;
	ino_t ino;
	pid_t pid;
	int keep; /* a duplicate of the vector fd, while refs > 0 */
	int index;
	unsigned refs;
};
static struct uitt_ref uitt_refs[256];
static pthread_mutex_t uitt_refs_lock = PTHREAD_MUTEX_INITIALIZER;

/* Held across fork(), so a child never inherits it held by a thread it does
 * not have (tests/regress/fork-locks.c); the parent's entries are void in
 * the child anyway (ref_find()). Registered as the library loads, before
 * any thread can take it. */
static void refs_prepare(void)
{
	pthread_mutex_lock(&uitt_refs_lock);
}

static void refs_parent(void)
{
	pthread_mutex_unlock(&uitt_refs_lock);
}

static void refs_child(void)
{
	pthread_mutex_init(&uitt_refs_lock, NULL);
}

__attribute__((constructor)) static void refs_fork_hooks(void)
{
	(void)pthread_atfork(refs_prepare, refs_parent, refs_child);
}

/* Are @a and @b the same open file description? Unknown counts as no. */
static bool same_file(int a, int b)
{
	pid_t me = getpid();

	return syscall(SYS_kcmp, me, me, KCMP_FILE, a, b) == 0;
}

static void ref_void(struct uitt_ref *e)
{
	e->refs = 0;
	uipc__close(e->keep);
	e->keep = -1;
}

static struct uitt_ref *ref_find(const struct uipc__uintr_platform *p, const struct stat *st,
                                 int fd, pid_t pid)
{
	struct uitt_ref *free_slot = NULL;

	for (unsigned i = 0; i < 256; i++) {
		struct uitt_ref *e = &uitt_refs[i];

		if (e->refs && e->pid != pid)
			ref_void(e); /* inherited from the parent: void here */
		if (e->refs && e->plat == p && e->dev == st->st_dev && e->ino == st->st_ino &&
		    same_file(e->keep, fd))
			return e;
		if (!e->refs && !free_slot)
			free_slot = e;
	}
	if (free_slot) {
		free_slot->plat = p;
		free_slot->dev = st->st_dev;
		free_slot->ino = st->st_ino;
		free_slot->pid = pid;
		free_slot->keep = -1;
		free_slot->index = -1;
	}
	return free_slot;
}

static int u_tx_init(const struct uipc__uintr_platform *p, uipc_tx *tx)
{
	struct uipc__uintr_tx *t;
	struct uitt_ref *e;
	struct stat st;
	int idx;

	if (tx->backend_fd < 0 || fstat(tx->backend_fd, &st) < 0)
		return -EINVAL;
	t = uipc__calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_lock(&uitt_refs_lock);
	e = ref_find(p, &st, tx->backend_fd, getpid());
	idx = e ? e->index : -ENOSPC;
	if (e && !e->refs) {
		e->keep = fcntl(tx->backend_fd, F_DUPFD_CLOEXEC, 0);
		idx = e->keep < 0 ? -errno : p->register_sender(tx->backend_fd, 0);
		if (idx < 0)
			ref_void(e);
	}
	if (idx >= 0) {
		e->index = idx;
		e->refs++;
	}
	pthread_mutex_unlock(&uitt_refs_lock);
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
	t->ref = e;
	tx->backend = t;
	return 0;
}

static void u_tx_fini(uipc_tx *tx)
{
	struct uipc__uintr_tx *t = tx->backend;
	struct uitt_ref *e;

	if (!t)
		return;
	e = t->ref;
	pthread_mutex_lock(&uitt_refs_lock);
	if (e->refs && e->pid == getpid() && --e->refs == 0) {
		t->plat->unregister_sender(e->index, 0);
		ref_void(e);
	}
	pthread_mutex_unlock(&uitt_refs_lock);
	free(t);
	tx->backend = NULL;
}

/* The model's notify; the hardware has its inline one in uintr-hw.c. */
__attribute__((unused)) static int u_tx_notify(uipc_tx *tx)
{
	struct uipc__uintr_tx *t = tx->backend;

	/* CLOSED keeps SENDUIPI away from a freed receiver's UITT entry, but
	 * any capability holder can store it: only the capability's hang-up
	 * says the receiver is gone (doc/threat-model.md). */
	if (uipc__desc_closed_hint(tx->desc) && uipc__cap_alive(tx->cap_fd) < 0)
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
	    .rx_block = u_rx_block,                                                                \
	}

#if UIPC_HAVE_BACKEND_UINTR
UINTR_OPS(uipc__backend_uintr, "uintr", UIPC_BACKEND_UINTR, UIPC_CAP_HANDLER, uipc__uintr_hw,
          uipc__uintr_hw_tx_notify);
#endif

#if UIPC_HAVE_BACKEND_UINTR_SIM
UINTR_OPS(uipc__backend_uintr_sim, "uintr-sim", UIPC_BACKEND_UINTR_SIM, UIPC_CAP_HANDLER,
          uipc__uintr_sim, u_tx_notify);
#endif
