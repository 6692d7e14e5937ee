/* SPDX-License-Identifier: MIT */
/*
 * Channels: creation, attach and what both ends share. The ring, its
 * layout and its protocol are chan-ring.h; the receive path is
 * chan-consumer.c, the send path chan-producer.c. Here: the consumer's
 * creation and free, producer capabilities, a producer's attach and
 * detach, the mapping both ends share in one process, the kill points and
 * the views for tests.
 */
#include <fcntl.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "chan-private.h"
#include "hooks.h"

/* Kill points (src/hooks.h): nothing outside the kill-point test
 * library. */
#ifdef UIPC_KILL_POINTS
#include <signal.h>

static _Atomic int kill_at = -1;
static _Atomic unsigned long kill_skip;
static _Atomic unsigned long kill_hits[UIPC_KP_COUNT];

void uipc__kill_arm(int point, unsigned long skip)
{
	/* Counted from here: a fork child starts with its parent's counts. */
	for (int i = 0; i < UIPC_KP_COUNT; i++)
		atomic_store(&kill_hits[i], 0);
	atomic_store(&kill_skip, skip);
	atomic_store(&kill_at, point);
}

unsigned long uipc__kill_hits(int point)
{
	return point >= 0 && point < UIPC_KP_COUNT ? atomic_load(&kill_hits[point]) : 0;
}

static void (*_Atomic kill_fn)(int point);

void uipc__kill_hook(void (*fn)(int point))
{
	atomic_store(&kill_fn, fn);
}

void uipc__kill_point(enum uipc__kp n)
{
	void (*fn)(int point) = atomic_load_explicit(&kill_fn, memory_order_relaxed);

	atomic_fetch_add_explicit(&kill_hits[n], 1, memory_order_relaxed);
	if (fn)
		fn((int)n);
	if (atomic_load_explicit(&kill_at, memory_order_relaxed) == (int)n &&
	    atomic_fetch_sub(&kill_skip, 1) == 0)
		raise(SIGKILL);
}
#endif

/*
 * Asymmetric fence for producers in the consumer's process, on channels
 * made with UIPC_CHAN_LIGHT (include/uipc/chan.h: it pays only where sends
 * far outnumber the consumer's sleeps). A producer's
 * store of a message and its following load of pir need a full fence for
 * the Dekker pattern; instead, before the receiver sleeps (a channel
 * receive, uipc_rx_wait() or uipc_rx_arm() on it), the waiter runs
 * membarrier() after taking pir and then looks at the ring (src/wait.c,
 * the rx link below): that puts a full barrier into every running thread
 * of the process, so either a producer's load comes after the take (sees
 * the bit clear and runs the full notify, fence included) or its store is
 * visible to that look. A message then costs an in-process producer no
 * locked instruction, and the consumer one membarrier() per sleep, none
 * while it drains. Producers in other processes, or a kernel without the
 * command (or one where it fails: the producers are switched back), keep
 * the fence.
 */
static bool membarrier_ready(void)
{
	static _Atomic int state; /* 0 unknown, 1 registered, -1 unavailable */
	int s = atomic_load_explicit(&state, memory_order_acquire);

	if (s == 0) {
		s = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
		        ? 1
		        : -1;
		atomic_store_explicit(&state, s, memory_order_release);
	}
	return s > 0;
}

static void map_put(struct chan_map *m)
{
	if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
		if (m->addr)
			munmap(m->addr, m->size);
		free(m);
	}
}

/* Consumer: creation ----------------------------------------------------- */

/* Before the first touch: shmem applies the policy to pages it allocates later. */
static int chan_place(void *map, size_t size, const struct uipc_chan_config *cfg)
{
	if (!(cfg->flags & UIPC_CHAN_NUMA))
		return 0;
	return uipc__mem_bind(map, size, cfg->numa_node);
}

static void chan_shm_init(struct chan_geo *g)
{
	struct chan_shm *s = g->shm;

	s->magic = CHAN_MAGIC;
	s->abi = CHAN_ABI;
	s->flags = g->mpsc ? UIPC_CHAN_MPSC : 0;
	s->msg_size = g->msg_size;
	s->capacity = (uint32_t)g->cap;
	s->stride = g->stride;
	s->size = g->size;
	for (uint64_t i = 0; i < g->cap; i++)
		atomic_init(seq_at(g, i), seq_empty(g, i));
}

static void chan_release(uipc_chan *c)
{
	if (c->linked)
		uipc__rx_unlink(c->rx, &c->link);
	if (c->watch)
		uipc__watch_free(c->watch);
	uipc_tx_free(c->wtx);
	uipc__fork_hold(); /* registered until they are closed (chan_drop_peer()) */
	uipc__fork_unregister(&c->fork);
	FP(CHAN_FREE_UNREG);
	for (unsigned i = 0; i < CHAN_MAX_CAPS; i++)
		uipc__close(c->peers[i]);
	uipc__fork_release();
	FP(CHAN_FREED);
	uipc__rx_reap(c->rx); /* the vector capabilities they carried */
	if (c->map)
		map_put(c->map);
	else if (c->g.shm)
		munmap(c->g.shm, c->g.size);
	uipc__close(c->memfd);
	uipc_rx_free(c->rx); /* our reference */
	free(c);
}

/* The receiver's view of us (struct uipc__rx_link). */
static bool link_light(struct uipc__rx_link *l)
{
	uipc_chan *c = (uipc_chan *)((char *)l - offsetof(uipc_chan, link));

	return atomic_load_explicit(&c->map->light, memory_order_acquire) != 0;
}

static void link_heavy(struct uipc__rx_link *l)
{
	uipc_chan *c = (uipc_chan *)((char *)l - offsetof(uipc_chan, link));

	atomic_store_explicit(&c->map->membarrier, false, memory_order_seq_cst);
}

static bool link_ready(struct uipc__rx_link *l)
{
	uipc_chan *c = (uipc_chan *)((char *)l - offsetof(uipc_chan, link));

	return chan_avail(c) == 1;
}

/* In a fork child: our ends of the producer capabilities promise the
 * parent's liveness to the producers; the child's copies go. */
static void chan_fork_child(struct uipc__forkable *f)
{
	uipc_chan *c = (uipc_chan *)((char *)f - offsetof(uipc_chan, fork));

	for (unsigned i = 0; i < CHAN_MAX_CAPS; i++) {
		uipc__close(c->peers[i]);
		c->peers[i] = -1;
	}
}

static int chan_setup(uipc_chan *c, const struct uipc_chan_config *cfg, unsigned vector)
{
	void *map;
	int r, fd;

	c->map = uipc__calloc(1, sizeof(*c->map));
	if (!c->map)
		return -ENOMEM;
	atomic_init(&c->map->refs, 1);
	r = uipc__shm_create("uipc-chan", c->g.size, &c->memfd, &map);
	if (r < 0)
		return r;
	geo_map(&c->g, map);
	c->map->addr = map;
	atomic_init(&c->map->membarrier, (cfg->flags & UIPC_CHAN_LIGHT) && membarrier_ready());
	c->map->size = c->g.size;
	r = chan_place(map, c->g.size, cfg);
	if (r < 0)
		return r;
	chan_shm_init(&c->g);
	/* The vector must be usable (uintr: set up on this, the owner's,
	 * thread); each producer capability gets a fresh one (chan_cap()). */
	if (c->rx->ops->rx_vector_fd) {
		r = c->rx->ops->rx_vector_fd(c->rx, vector, &fd);
		if (r < 0)
			return r;
	}
	if (atomic_load_explicit(&c->map->membarrier, memory_order_relaxed)) {
		c->link = (struct uipc__rx_link){
		    .bit = c->bit, .light = link_light, .heavy = link_heavy, .ready = link_ready};
		uipc__rx_link(c->rx, &c->link);
		c->linked = true;
	}
	FP(CHAN_NEW);
	return uipc__fork_register(&c->fork, chan_fork_child, NULL);
}

UIPC_API int uipc_chan_new(uipc_rx *rx, unsigned vector, const struct uipc_chan_config *config,
                           uipc_chan **ret_chan)
{
	struct chan_geo g = {0};
	uipc_chan *c;
	int r;

	uipc_return_if(!rx || rx->magic != UIPC_RX_MAGIC || !config || !ret_chan, -EINVAL);
	/* The parent's receiver: a channel on it would arm its status word. */
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	r = uipc__struct_size_check(config, config->size, sizeof(*config));
	if (r < 0)
		return r;
	uipc_return_if(vector >= UIPC_VECTORS || (config->flags & ~CHAN_FLAGS), -EINVAL);
	r = geo_init(&g, config->msg_size, config->capacity, config->flags & UIPC_CHAN_MPSC);
	if (r < 0)
		return r;
	uipc_return_if((config->flags & UIPC_CHAN_NUMA) && config->numa_node < 0, -EINVAL);
	c = uipc__calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->g = g;
	c->memfd = -1;
	uipc__spin_init(&c->spin);
	for (unsigned i = 0; i < CHAN_MAX_CAPS; i++)
		c->peers[i] = -1;
	c->rx = uipc__rx_ref(rx);
	c->bit = UINT64_C(1) << vector;
	c->batch = g.cap / 4;
	r = chan_setup(c, config, vector);
	if (r < 0) {
		chan_release(c);
		return r;
	}
	c->magic = CHAN_RX_MAGIC;
	*ret_chan = c;
	return 0;
}

UIPC_API void uipc_chan_free(uipc_chan *c)
{
	if (!chan_valid(c))
		return;
	/* Producers see the flag on their next send; sleepers wake now. (Not
	 * from a fork child's copy: the parent's consumer lives on.) */
	if (!uipc__forked(&c->fork)) {
		atomic_store_explicit(&c->g.shm->closed, 1, memory_order_seq_cst);
		uipc__chan_space_wake(c->g.shm);
	}
	FP(CHAN_FREE_CLOSED);
	c->magic = 0;
	chan_release(c);
}

UIPC_API size_t uipc_chan_msg_size(const uipc_chan *c)
{
	return chan_valid(c) ? c->g.msg_size : 0;
}

/* Consumer: producer capabilities ------------------------------------------ */

/* Our creator ends are closed and forgotten (made and recorded, in
 * chan_cap()) with fork held off: a fork child closes those recorded
 * (chan_fork_child()), and must neither miss one nor close a number that
 * was reused (src/fork.c). */
static void chan_drop_peer(uipc_chan *c, int idx)
{
	uipc__fork_hold();
	uipc__close(c->peers[idx]);
	c->peers[idx] = -1;
	uipc__fork_release();
}

/* Close the creator ends whose capability every holder has closed. */
static void chan_reap(uipc_chan *c)
{
	struct pollfd p;

	for (int i = 0; i < CHAN_MAX_CAPS; i++) {
		if (c->peers[i] < 0)
			continue;
		p = (struct pollfd){.fd = c->peers[i]};
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
			chan_drop_peer(c, i);
	}
}

static int chan_free_peer(uipc_chan *c)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < CHAN_MAX_CAPS; i++)
			if (c->peers[i] < 0)
				return i;
		chan_reap(c);
	}
	return -EMFILE;
}

/* Producers leaving wake a blocked consumer (src/watch.c): set up with
 * the first capability. */
static int chan_watch(uipc_chan *c)
{
	int r;

	if (c->watch)
		return 0;
	if (!c->wtx) {
		r = uipc_tx_new(c->rx, (unsigned)__builtin_ctzll(c->bit), &c->wtx);
		if (r < 0)
			return r;
	}
	return uipc__watch_new(c->wtx, &c->departed, &c->watch);
}

/* The holder's end is returned; tracked in track if not NULL (the
 * library holds it for the caller: a fork child closes its copy). expose:
 * it may leave the library (false only for uipc_chan_tx_new()'s, whose
 * producer then notifies through a sender of its own process). */
static int chan_cap(uipc_chan *c, int *ret_idx, struct uipc__fork_fd *track, bool expose)
{
	struct chan_cap cc = {
	    .magic = CHAN_CAP_MAGIC,
	    .abi = CHAN_ABI,
	    .flags = c->g.mpsc ? UIPC_CHAN_MPSC : 0,
	    .msg_size = c->g.msg_size,
	    .capacity = (uint32_t)c->g.cap,
	    .vector = (uint32_t)__builtin_ctzll(c->bit),
	    .size = c->g.size,
	};
	int fds[2] = {c->memfd, -1};
	int idx, cap, peer, r;

	idx = chan_free_peer(c);
	if (idx < 0)
		return idx;
	r = chan_watch(c);
	if (r < 0)
		return r;
	/* A vector capability of its own, so that no holder can spoil
	 * another's (src/rx.c). */
	fds[1] = uipc__rx_cap(c->rx, cc.vector, expose);
	if (fds[1] < 0)
		return fds[1];
	uipc__fork_hold(); /* made and recorded as one (chan_drop_peer()) */
	cap = uipc__cap_create(UIPC_CAP_KIND_CHAN, &cc, sizeof(cc), fds, 2, &peer);
	r = cap;
	if (r >= 0 && track)
		r = uipc__fork_fd_track(track, cap);
	if (r >= 0)
		r = uipc__watch_fd(c->watch, peer);
	FP(CHAN_CAP_MADE);
	if (r >= 0)
		c->peers[idx] = peer;
	else if (cap >= 0)
		uipc__close(peer);
	uipc__fork_release();
	FP(CHAN_CAP_DONE);
	uipc__close(fds[1]);
	if (r < 0) {
		if (track && track->fd >= 0)
			uipc__fork_fd_close(track);
		else
			uipc__close(cap);
		return r;
	}
	c->ever++;
	*ret_idx = idx;
	return cap;
}

UIPC_API int uipc_chan_cap(uipc_chan *c)
{
	int idx;

	uipc_return_if(!chan_valid(c), -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	return chan_cap(c, &idx, NULL, true);
}

UIPC_API int uipc_chan_cap_send(uipc_chan *c, int sock)
{
	struct uipc__fork_fd held = {.fd = -1};
	int idx, fd, r;

	uipc_return_if(!chan_valid(c), -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	uipc_return_if(sock < 0, -EBADF);
	/* Ours until it is sent: a fork child must not keep it (a producer
	 * that may still come, to the consumer), src/fork.c. */
	fd = chan_cap(c, &idx, &held, true);
	if (fd < 0)
		return fd;
	FP(CAP_SEND);
	r = uipc_cap_send(sock, fd);
	uipc__fork_fd_close(&held);
	if (r < 0) {
		/* Never handed out: it must not count as a producer that left. */
		chan_drop_peer(c, idx);
		c->ever--;
	}
	return r;
}

/* Producer: attach ------------------------------------------------------------ */

/* The ring's header must say what the capability said. */
static int ptx_check_shm(const struct chan_geo *g)
{
	const struct chan_shm *s = g->shm;

	if (s->magic == CHAN_MAGIC && s->abi != CHAN_ABI)
		return -EPROTONOSUPPORT; /* a consumer of another uipc release */
	if (s->magic != CHAN_MAGIC || s->abi != CHAN_ABI ||
	    s->flags != (g->mpsc ? UIPC_CHAN_MPSC : 0u) || s->msg_size != g->msg_size ||
	    s->capacity != g->cap || s->stride != g->stride || s->size != g->size)
		return -EINVAL;
	/* Not the closed flag (any producer can store it): the capability was
	 * alive when we opened it. */
	return 0;
}

/* Our own open file description of the ring, for our lock: one received
 * with SCM_RIGHTS is shared with its sender, and a lock with it. */
static int ptx_reopen(int memfd)
{
	char path[32];
	int fd;

	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EOPNOTSUPP : -errno; /* no /proc */
	return fd;
}

static int ptx_lock(uipc_chan_tx *p, off_t off, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};

	if (fcntl(p->lock_fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
}

static int ptx_attach_spsc(uipc_chan_tx *p)
{
	struct chan_shm *s = p->g.shm;
	int r;

	r = ptx_lock(p, CHAN_LOCK_ROLE, F_WRLCK);
	if (r < 0)
		return r;
	KP(SPSC_LOCKED);
	/*
	 * Continue where an earlier producer left off: its tail, plus the
	 * slots it published without getting to store the tail (killed
	 * between the two, ptx_publish()). The consumer may have taken those
	 * already and published its head past that tail: by at most a ring
	 * (a publish is at most a ring of slots), and the slots between the
	 * two are all taken, so the walk starts at the head then. Either way
	 * it stops at the first slot that does not hold its position's
	 * message, and after a ring at most, whatever the slots say: what a
	 * peer wrote there can make us start at a wrong position (the
	 * consumer then sees a ring it must reject), never loop longer.
	 */
	p->tail = atomic_load_explicit(&s->tail, memory_order_acquire);
	p->head_cache = atomic_load_explicit(&s->head, memory_order_acquire);
	if (p->tail - p->head_cache > p->g.cap) {
		if (p->head_cache - p->tail > p->g.cap)
			return -EPROTO;
		p->tail = p->head_cache;
	}
	while (p->tail - p->head_cache < p->g.cap &&
	       atomic_load_explicit(seq_at(&p->g, p->tail), memory_order_acquire) == p->tail + 1)
		p->tail++;
	return 0;
}

/* MPSC: a claim entry of our own: one nobody holds, whose last owner (if
 * it died) has no claim the consumer has not passed yet, as far as the
 * published head tells. */
static int ptx_attach_mpsc(uipc_chan_tx *p)
{
	uint64_t head = atomic_load_explicit(&p->g.shm->head, memory_order_acquire), pos, n;
	struct chan_claim *e;
	int r;

	for (uint32_t i = 0; i < CHAN_MAX_CAPS; i++) {
		r = ptx_lock(p, CHAN_LOCK_ENTRY(i), F_WRLCK);
		if (r == -EBUSY)
			continue;
		if (r < 0)
			return r;
		KP(MPSC_LOCKED);
		e = &p->g.claims[i];
		pos = atomic_load_explicit(&e->pos, memory_order_relaxed);
		n = atomic_load_explicit(&e->n, memory_order_relaxed);
		if (n == 0 || (int64_t)(head - (pos + n)) >= 0) {
			atomic_store_explicit(&e->n, 0, memory_order_relaxed);
			KP(MPSC_ENTRY);
			p->entry = i;
			p->claim = e;
			return 0;
		}
		ptx_lock(p, CHAN_LOCK_ENTRY(i), F_UNLCK);
	}
	return -EBUSY;
}

/* In a fork child: our lock and our copy of the capability say the
 * parent's producer lives (the lock to the next producer and the
 * consumer's claim checks, the capability to the consumer's "every producer
 * gone"); the child's copies go, else a freed or dead parent would keep
 * the role and the consumer would never see -EPIPE. */
static void ptx_fork_child(struct uipc__forkable *f)
{
	uipc_chan_tx *p = (uipc_chan_tx *)((char *)f - offsetof(uipc_chan_tx, fork));

	uipc__close(p->lock_fd);
	p->lock_fd = -1;
	uipc__close(p->cap_fd);
	p->cap_fd = -1;
}

/* With uipc__fork_hold(). */
static int ptx_attach_fds(uipc_chan_tx *p, int cap_fd, int memfd)
{
	int r;

	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	p->cap_fd = fcntl(cap_fd, F_DUPFD_CLOEXEC, 0);
	if (p->cap_fd < 0)
		return -errno;
	FP(TX_DUP);
	p->lock_fd = ptx_reopen(memfd);
	if (p->lock_fd < 0)
		return p->lock_fd;
	r = p->g.mpsc ? ptx_attach_mpsc(p) : ptx_attach_spsc(p);
	FP(TX_LOCKED);
	return r < 0 ? r : uipc__fork_register(&p->fork, ptx_fork_child, NULL);
}

static int ptx_setup(uipc_chan_tx *p, uipc_ctx *ctx, int cap_fd, const struct chan_cap *cc,
                     const int *fds)
{
	void *map;
	int r;

	if (cc->magic == CHAN_CAP_MAGIC && cc->abi != CHAN_ABI)
		return -EPROTONOSUPPORT; /* a capability of another uipc release */
	if (cc->magic != CHAN_CAP_MAGIC || cc->abi != CHAN_ABI || (cc->flags & ~CHAN_SHM_FLAGS))
		return -EINVAL;
	r = geo_init(&p->g, cc->msg_size, cc->capacity, cc->flags & UIPC_CHAN_MPSC);
	if (r < 0 || p->g.size != cc->size)
		return -EINVAL;
	r = uipc__shm_map(fds[0], p->g.size, &map);
	if (r < 0)
		return r;
	geo_map(&p->g, map);
	r = ptx_check_shm(&p->g);
	if (r < 0)
		return r;
	r = uipc_tx_open(ctx, fds[1], &p->tx);
	if (r < 0)
		return r;
	if (uipc_tx_vector(p->tx) != cc->vector)
		return -EINVAL;
	/* The descriptors that a fork child closes (ptx_fork_child()) are made
	 * and registered with fork held off (src/fork.c). */
	uipc__fork_hold();
	r = ptx_attach_fds(p, cap_fd, fds[0]);
	uipc__fork_release();
	FP(TX_ATTACHED);
	return r;
}

static void ptx_release(uipc_chan_tx *p)
{
	KP(DETACH);
	FP(TX_DETACH);
	/* Unregistered only as they close, with fork held off: a child forked
	 * in between would keep our lock (tests/regress/fork-attach-race.c). */
	uipc__fork_hold();
	uipc__fork_unregister(&p->fork);
	FP(TX_DETACH_UNREG);
	uipc__close(p->lock_fd); /* and with it, our lock */
	uipc__close(p->cap_fd);
	p->lock_fd = p->cap_fd = -1;
	uipc__fork_release();
	FP(TX_DETACHED);
	uipc_tx_free(p->tx);
	if (p->light)
		atomic_fetch_sub_explicit(&p->map->light, 1, memory_order_release);
	if (p->map)
		map_put(p->map);
	else if (p->g.shm)
		munmap(p->g.shm, p->g.size);
	free(p);
}

UIPC_API int uipc_chan_tx_open(uipc_ctx *ctx, int cap_fd, uipc_chan_tx **ret_tx)
{
	struct chan_cap cc;
	int fds[2] = {-1, -1};
	unsigned nfds;
	uipc_chan_tx *p;
	int r;

	uipc_return_if(!ctx || !ret_tx, -EINVAL);
	uipc_return_if(cap_fd < 0, -EBADF);
	if (fcntl(cap_fd, F_GETFD) < 0)
		return -EBADF;
	p = uipc__calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cap_fd = p->lock_fd = -1;
	r = uipc__cap_open(cap_fd, UIPC_CAP_KIND_CHAN, &cc, sizeof(cc), fds, 2, 2, &nfds);
	if (r == 0) {
		r = ptx_setup(p, ctx, cap_fd, &cc, fds);
		uipc__close(fds[0]); /* the mapping keeps the memory */
		uipc__close(fds[1]);
	}
	if (r < 0) {
		ptx_release(p);
		return r;
	}
	p->magic = CHAN_TX_MAGIC;
	*ret_tx = p;
	return 0;
}

/*
 * A producer in the consumer's process: attached through a capability like
 * any other (its liveness is the capability's, its claim entry or role the
 * lock's), but it notifies through a sender of uipc_tx_new(), sharing the
 * receiver's state where the backend can (tx_local): the receiver is not
 * exposed for it, so it keeps the costs of a receiver whose senders are
 * all here (a private futex word; an eventfd written without an fcntl()
 * first, drained without an empty read; uipc(7) SYSCALLS PER OPERATION).
 */
UIPC_API int uipc_chan_tx_new(uipc_chan *c, uipc_chan_tx **ret_tx)
{
	struct uipc__fork_fd held = {.fd = -1};
	uipc_tx *tx = NULL;
	uipc_chan_tx *p;
	int fd, r, idx;
	bool local;

	uipc_return_if(!chan_valid(c) || !ret_tx, -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	local = c->rx->ops->tx_local != NULL;
	if (local) {
		r = uipc_tx_new(c->rx, (unsigned)__builtin_ctzll(c->bit), &tx);
		if (r < 0)
			return r;
	}
	/* Ours until the producer has its own copy: a fork child must not
	 * keep it, or the consumer never sees every producer gone while the
	 * child lives (tests/regress/fork-held-cap.c). Its vector capability
	 * is exposed where the producer notifies through it. */
	fd = chan_cap(c, &idx, &held, !local);
	if (fd < 0) {
		uipc_tx_free(tx);
		return fd;
	}
	FP(TX_NEW_CAP);
	r = uipc_chan_tx_open(c->rx->ctx, fd, ret_tx);
	uipc__fork_fd_close(&held);
	if (r < 0) {
		uipc_tx_free(tx);
		/* Never attached: it must not count as a producer that left
		 * (tests/regress/tx-new-failed.c). */
		chan_drop_peer(c, idx);
		c->ever--;
		return r;
	}
	/* Same process: use the consumer's mapping instead of a second one,
	 * and the receiver's own sender. The capability's sender was never
	 * used: nothing was published yet. */
	p = *ret_tx;
	if (tx) {
		uipc_tx_free(p->tx);
		p->tx = tx;
	}
	munmap(p->g.shm, p->g.size);
	geo_map(&p->g, c->map->addr);
	if (p->g.mpsc)
		p->claim = &p->g.claims[p->entry];
	atomic_fetch_add_explicit(&c->map->refs, 1, memory_order_relaxed);
	p->map = c->map;
	if (c->map->membarrier) {
		atomic_fetch_add_explicit(&c->map->light, 1, memory_order_release);
		p->light = true;
	}
	return 0;
}

UIPC_API int uipc_chan_tx_open_sock(uipc_ctx *ctx, int sock, uipc_chan_tx **ret_tx)
{
	struct uipc__fork_fd held = {.fd = -1};
	int fd, r;

	uipc_return_if(!ctx || !ret_tx, -EINVAL);
	uipc_return_if(sock < 0, -EBADF);
	/* Ours until the producer has its own copy (src/fork.c). */
	r = uipc__fd_recv(sock, &fd, &held);
	if (r < 0)
		return r;
	FP(ATTACH_RECVD);
	r = uipc_chan_tx_open(ctx, fd, ret_tx);
	uipc__fork_fd_close(&held);
	return r;
}

UIPC_API void uipc_chan_tx_free(uipc_chan_tx *p)
{
	if (!ptx_valid(p))
		return;
	p->magic = 0;
	ptx_release(p);
}

UIPC_API size_t uipc_chan_tx_msg_size(const uipc_chan_tx *p)
{
	return ptx_valid(p) ? p->g.msg_size : 0;
}

/* Tests and the fuzzer ---------------------------------------------------- */

void uipc__chan_layout(uipc_chan *c, struct uipc__chan_layout *ret)
{
	ret->map = c->g.shm;
	ret->size = c->g.size;
	ret->tail_off = offsetof(struct chan_shm, tail);
	ret->head_off = offsetof(struct chan_shm, head);
	ret->slots_off = (size_t)(c->g.slots - (unsigned char *)c->g.shm);
	ret->claims_off = sizeof(struct chan_shm);
	ret->claim_size = sizeof(struct chan_claim);
	ret->claims = c->g.mpsc ? CHAN_MAX_CAPS : 0;
	ret->stride = c->g.stride;
	ret->seq_off = c->g.stride - sizeof(uint64_t);
	ret->capacity = c->g.cap;
	ret->mpsc = c->g.mpsc;
}

uint64_t uipc__chan_passed(uipc_chan *c)
{
	return c->passed;
}

uipc_tx *uipc__chan_tx_sender(uipc_chan_tx *p)
{
	return p->tx;
}
