/* SPDX-License-Identifier: MIT */
/*
 * Channels: a bounded ring in a sealed memfd, announced on one vector of a
 * receiver with the core protocol (src/desc.c).
 *
 * Data direction. The producer writes slots, publishes each by storing its
 * sequence number (in the slot's last word) and calls uipc_tx_notify(). The
 * core's post is a seq_cst fence and a load of pir: while the vector's bit
 * is still pending (the consumer is draining and has not taken it) it ends
 * there, so a busy channel never writes the descriptor line and never makes
 * a syscall. The consumer loads the head slot's sequence seq_cst after every
 * uipc_rx_wait(), whose take of pir is seq_cst: with the producer's fence
 * this is Dekker's pattern over (sequence, pir), so either the producer
 * sets the bit (and kicks an armed consumer, once per arming) or the
 * consumer sees the message before it sleeps. Waiting on the slot rather
 * than on a tail index makes a message one cache line for the consumer
 * (the slot's), not two (the tail's, then the slot's).
 *
 * Space direction. A producer that must wait for space sleeps on a futex
 * word in the ring (any producer, any process, no extra fds): it reads the
 * word, registers in space_waiters (seq_cst), re-checks the consumer's head
 * and sleeps. The consumer publishes its head seq_cst and then loads
 * space_waiters: the same pattern, so only an armed producer costs a wake.
 * The consumer publishes its head lazily (every quarter ring, and before it
 * blocks), which keeps its line quiet and the fence off the per-message path.
 *
 * Hostile memory. Each side copies the geometry at creation/attach and never
 * reads it again; every index read from the ring is checked against the
 * private copy (the head slot's sequence is head + 1, ready, or what an
 * empty slot says, nothing else; a producer's view of the head is at most
 * a ring behind its tail); a violation makes the
 * end return -EPROTO for good. Loops over peer-controlled values are bounded.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "hooks.h"

#define CHAN_MAGIC     0x4e414843u /* "CHAN" */
#define CHAN_ABI       2u
#define CHAN_CAP_MAGIC 0x50414343u /* "CCAP" */
#define CHAN_LINE      128         /* the adjacent-line prefetcher pairs 64-byte lines */
#define CHAN_FLAGS     (UIPC_CHAN_MPSC | UIPC_CHAN_NUMA)
#define CHAN_SHM_FLAGS UIPC_CHAN_MPSC
#define CHAN_MAX_CAPS  64
#define CHAN_SLICE_NS  20000000u /* a producer blocked on a full ring checks the consumer */
#define CHAN_HOLE_NS   1000000u  /* a claimed, empty head slot: checked each ms */
#define CHAN_CLAIM_NS  1000000u  /* MPSC: lost claim rounds before -EBUSY */

#define CHAN_TX_MAGIC  0x78746863u
#define CHAN_RX_MAGIC  0x78726863u

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

static void kill_point(enum uipc__kp n)
{
	void (*fn)(int point) = atomic_load_explicit(&kill_fn, memory_order_relaxed);

	atomic_fetch_add_explicit(&kill_hits[n], 1, memory_order_relaxed);
	if (fn)
		fn((int)n);
	if (atomic_load_explicit(&kill_at, memory_order_relaxed) == (int)n &&
	    atomic_fetch_sub(&kill_skip, 1) == 0)
		raise(SIGKILL);
}
#define KP(n) kill_point(UIPC_KP_##n)
#else
#define KP(n) ((void)0)
#endif

/* The shared mapping: header lines, then the slots. */
struct chan_shm {
	/* Written once by the consumer before any capability exists. */
	_Alignas(CHAN_LINE) uint32_t magic;
	uint32_t abi;
	uint32_t flags;
	uint32_t msg_size;
	uint32_t capacity;
	uint32_t stride;
	uint64_t size;
	_Atomic uint32_t closed; /* the consumer end was freed */
	/* Written by producers. */
	_Alignas(CHAN_LINE) _Atomic uint64_t tail;
	/* Written by the consumer. */
	_Alignas(CHAN_LINE) _Atomic uint64_t head;
	/* Producers waiting for space. */
	_Alignas(CHAN_LINE) _Atomic uint32_t space_seq; /* futex word */
	_Atomic uint32_t space_waiters; /* a flag: the consumer clears it when it wakes them */
};

_Static_assert(sizeof(struct chan_shm) == 4 * CHAN_LINE, "four line pairs");

/*
 * Attached producers, and whether they still live. A producer holds a
 * write lock on one byte of the ring's memfd, through an open file
 * description of its own (F_OFD_SETLK): SPSC, byte CHAN_LOCK_ROLE, the
 * producer role; MPSC, byte CHAN_LOCK_ENTRY(i), its claim entry i. The
 * kernel drops the lock when the producer detaches, exits or is killed, so
 * a role or an entry with no lock on it has no living owner: the next
 * producer takes the role, and the consumer knows a claim entry's owner
 * died (F_OFD_GETLK). Nothing in the shared memory can fake or hold a lock.
 *
 * MPSC claim entries sit between the header and the slots. A producer
 * stores the positions it is about to claim before the claim's
 * compare-and-swap (release), and clears the count when it loses, so when
 * the consumer finds the head slot claimed (tail past it) but unpublished,
 * the entries covering it include the claimer's. If no entry covering it
 * has a live owner, the claimer died between claiming and publishing: the
 * consumer passes the slot instead of waiting for ever (chan_pass_holes()).
 */
struct chan_claim {
	_Alignas(CHAN_LINE) _Atomic uint64_t pos; /* first position claimed */
	_Atomic uint64_t n;                       /* how many */
};

#define CHAN_LOCK_ROLE     0
#define CHAN_LOCK_ENTRY(i) (1 + (off_t)(i))

#define CHAN_CLAIMS_SIZE   (CHAN_MAX_CAPS * sizeof(struct chan_claim))

/* What a producer capability carries besides the ring memfd and the
 * receiver's vector capability. */
struct chan_cap {
	uint32_t magic;
	uint32_t abi;
	uint32_t flags;
	uint32_t msg_size;
	uint32_t capacity;
	uint32_t vector;
	uint64_t size;
};

/* Geometry, private to each end. */
struct chan_geo {
	bool mpsc;
	uint32_t msg_size;
	uint32_t stride; /* bytes per slot: payload, 8-byte aligned, then seq */
	uint64_t cap, mask;
	size_t size; /* whole mapping */
	struct chan_shm *shm;
	struct chan_claim *claims; /* MPSC */
	unsigned char *slots;
};

/* The consumer's mapping, shared with the producers it attaches in its own
 * process: one mapping of the ring per process keeps the memory accesses of
 * both ends at the same addresses (which is also what lets race detectors
 * see the ring's release/acquire pairs). The last end unmaps it. */
struct chan_map {
	_Atomic unsigned refs;
	void *addr;
	size_t size;
	_Atomic bool membarrier; /* the consumer fences its producers in this process */
	_Atomic unsigned light;  /* producers relying on it */
};

/*
 * Asymmetric fence for producers in the consumer's process. A producer's
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

struct uipc_chan {
	uint32_t magic;
	struct uipc__forkable fork; /* src/fork.c */
	bool broken;                /* a corrupt ring was seen: -EPROTO from now on */
	bool peeked;
	struct chan_geo g;
	struct chan_map *map;
	int memfd;
	uipc_rx *rx;
	struct uipc__rx_link link; /* in rx->links while linked */
	bool linked;
	struct uipc__spin spin; /* the receive path's own adaptive spin */
	uint64_t watch;         /* src/watch.c: producer departures notify wtx */
	uipc_tx *wtx;
	_Atomic unsigned departed; /* ... after setting this */
	uint64_t bit;
	uint64_t head;      /* next position to consume: ours alone */
	uint64_t published; /* head as last stored to the ring */
	uint64_t batch;     /* publish the head at least this often */
	uint64_t held;      /* other vectors our waits took, given back on return */
	uint64_t hole;      /* MPSC: head + 1 when the head slot was seen claimed but empty */
	uint64_t hole_ns;   /* ... since then, or since its producers were last checked */
	uint64_t passed;    /* slots passed that way, in all */
	unsigned ever;      /* producer capabilities created */
	int peers[CHAN_MAX_CAPS];
};

struct uipc_chan_tx {
	uint32_t magic;
	struct uipc__forkable fork; /* src/fork.c */
	int lock_fd;                /* our own description of the ring's memfd, holding our lock */
	bool reserved;
	struct chan_geo g;
	struct chan_map *map; /* the consumer's, when it is in this process; else NULL */
	bool light;           /* no fence per message: the consumer runs membarrier() */
	uipc_tx *tx;
	int cap_fd;               /* our dup of the capability: the consumer's liveness */
	uint64_t tail;            /* SPSC: next position to write: ours alone */
	uint64_t head_cache;      /* SPSC: the consumer's head when last read */
	uint64_t rpos;            /* reserved position */
	struct chan_claim *claim; /* MPSC: our entry ... */
	uint32_t entry;           /* ... its index */
	uint64_t checked_ns;      /* last liveness check from a full ring */
	bool dead;                /* the consumer is gone: -EPIPE from now on */
};

/* Geometry ----------------------------------------------------------------- */

static int geo_init(struct chan_geo *g, uint64_t msg_size, uint64_t cap, bool mpsc)
{
	uint64_t stride, size;

	if (msg_size == 0 || msg_size > UIPC_CHAN_MAX_MSG_SIZE)
		return -EINVAL;
	if (cap < 2 || cap > UIPC_CHAN_MAX_CAPACITY || (cap & (cap - 1)))
		return -EINVAL;
	/* Every slot ends with its sequence number: the consumer waits on
	 * the slot itself, so a message costs it one cache line, not two
	 * (up to 56 bytes; a 64-byte message spills its sequence number
	 * into the next line, where the next slot's message starts). */
	stride = sizeof(uint64_t) + ((msg_size + 7) & ~UINT64_C(7));
	size = sizeof(struct chan_shm) + (mpsc ? CHAN_CLAIMS_SIZE : 0) +
	       cap * stride; /* < 2^24 * (2^16 + 8) + 2^14: no overflow */
	size = (size + 4095) & ~UINT64_C(4095);
	if (size > UIPC_CHAN_MAX_BYTES)
		return -EINVAL;
	g->mpsc = mpsc;
	g->msg_size = (uint32_t)msg_size;
	g->stride = (uint32_t)stride;
	g->cap = cap;
	g->mask = cap - 1;
	g->size = (size_t)size;
	return 0;
}

static void geo_map(struct chan_geo *g, void *map)
{
	g->shm = map;
	g->claims = g->mpsc ? (struct chan_claim *)(g->shm + 1) : NULL;
	g->slots =
	    (unsigned char *)map + sizeof(struct chan_shm) + (g->mpsc ? CHAN_CLAIMS_SIZE : 0);
}

/* A slot is the message (8-byte aligned) and then its sequence number. */
static inline unsigned char *msg_at(const struct chan_geo *g, uint64_t pos)
{
	return g->slots + (size_t)(pos & g->mask) * g->stride;
}

static inline _Atomic uint64_t *seq_at(const struct chan_geo *g, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(msg_at(g, pos) + g->stride - sizeof(uint64_t));
}

/*
 * Sequence numbers. A slot holding the message for position pos says
 * pos + 1. An empty one says what its last lap left: MPSC, pos (the
 * consumer frees each slot for the producers' next claim, Vyukov's bounded
 * queue); SPSC, pos + 1 - capacity (the previous lap's message: the single
 * producer learns of free space from the head index, so the consumer never
 * writes the slot lines back).
 */
static inline uint64_t seq_empty(const struct chan_geo *g, uint64_t pos)
{
	return g->mpsc ? pos : pos + 1 - g->cap;
}

/* memcpy() with the common message sizes inlined: a call into the C
 * library's size dispatch is a visible share of a ping-pong round trip. */
static inline void msg_copy(void *dst, const void *src, size_t n)
{
	switch (n) {
	case 8:
		memcpy(dst, src, 8);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	case 32:
		memcpy(dst, src, 32);
		break;
	case 64:
		memcpy(dst, src, 64);
		break;
	default:
		memcpy(dst, src, n);
	}
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	/* Shared (not PRIVATE): the word lives in a memfd other processes map. */
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

/* Consumer: creation ----------------------------------------------------- */

static bool chan_valid(const uipc_chan *c)
{
	return c && c->magic == CHAN_RX_MAGIC;
}

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

static int chan_avail(uipc_chan *c);

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
	atomic_init(&c->map->membarrier, membarrier_ready());
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
	return uipc__fork_register(&c->fork, chan_fork_child);
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

static void space_wake(struct chan_shm *s)
{
	/* The flag goes with the wake: a waiter that died (or left) cannot
	 * make every later publish pay a syscall; one that lives sets it
	 * again before it sleeps again (ptx_space_wait()). */
	atomic_store_explicit(&s->space_waiters, 0, memory_order_relaxed);
	KP(WAKE_CLEAR);
	atomic_fetch_add_explicit(&s->space_seq, 1, memory_order_seq_cst);
	KP(WAKE_SEQ);
	futex(&s->space_seq, FUTEX_WAKE, INT_MAX, NULL);
}

UIPC_API void uipc_chan_free(uipc_chan *c)
{
	if (!chan_valid(c))
		return;
	/* Producers see the flag on their next send; sleepers wake now. (Not
	 * from a fork child's copy: the parent's consumer lives on.) */
	if (!uipc__forked(&c->fork)) {
		atomic_store_explicit(&c->g.shm->closed, 1, memory_order_seq_cst);
		space_wake(c->g.shm);
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
 * library holds it for the caller: a fork child closes its copy). */
static int chan_cap(uipc_chan *c, int *ret_idx, struct uipc__fork_fd *track)
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
	fds[1] = uipc_rx_cap(c->rx, cc.vector);
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
	return chan_cap(c, &idx, NULL);
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
	fd = chan_cap(c, &idx, &held);
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

/* -EPIPE when capabilities were created and every one is closed everywhere. */
static int chan_producers(uipc_chan *c)
{
	struct pollfd p[CHAN_MAX_CAPS];
	nfds_t n = 0;

	if (!c->ever)
		return 0;
	for (unsigned i = 0; i < CHAN_MAX_CAPS; i++)
		if (c->peers[i] >= 0)
			p[n++] = (struct pollfd){.fd = c->peers[i]};
	if (n && poll(p, n, 0) < 0)
		return 0;
	for (nfds_t i = 0; i < n; i++)
		if (!(p[i].revents & POLLHUP))
			return 0;
	return -EPIPE;
}

UIPC_API int uipc_chan_check(uipc_chan *c)
{
	uipc_return_if(!chan_valid(c), -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	return chan_producers(c);
}

/* Consumer: the ring ---------------------------------------------------------- */

static int chan_broken(uipc_chan *c)
{
	c->broken = true;
	return -EPROTO;
}

/*
 * Is a message ready at head? 1 or 0 from the head slot's sequence number;
 * -EPROTO for anything a correct peer cannot write. The load is seq_cst:
 * after a wait it is the consumer's half of the Dekker pattern with the
 * producer's post.
 */
static inline int chan_avail(uipc_chan *c)
{
	uint64_t s;

	if (c->broken)
		return -EPROTO;
	s = atomic_load_explicit(seq_at(&c->g, c->head), memory_order_seq_cst);
	if (s == c->head + 1)
		return 1;
	return s == seq_empty(&c->g, c->head) ? 0 : chan_broken(c);
}

static void chan_publish(uipc_chan *c)
{
	struct chan_shm *s = c->g.shm;

	atomic_store_explicit(&s->head, c->head, memory_order_seq_cst);
	KP(HEAD);
	c->published = c->head;
	if (atomic_load_explicit(&s->space_waiters, memory_order_seq_cst))
		space_wake(s);
}

/*
 * Account n taken messages. The head is published every quarter ring and
 * before the consumer blocks, not per message: a publish is a seq_cst store
 * (the Dekker half against producers waiting for space). Progress holds: a
 * producer only waits when the ring is full as published, and then at least
 * three quarters of it are messages the consumer will take, publishing as it
 * goes; fewer than a quarter of the slots are ever hidden from producers.
 */
static void chan_consumed(uipc_chan *c, uint64_t n)
{
	c->head += n;
	if (c->head - c->published >= c->batch)
		chan_publish(c);
}

/* MPSC: free the head slot for the producers' next lap. */
static void chan_free_slot(uipc_chan *c)
{
	if (c->g.mpsc) {
		atomic_store_explicit(seq_at(&c->g, c->head), c->head + c->g.cap,
		                      memory_order_release);
		KP(FREE_SLOT);
	}
}

/* Does a producer hold the lock on byte off of the ring? (The consumer's
 * own description holds none.) When the kernel cannot say: yes. */
static bool chan_lock_held(int memfd, off_t off)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};

	if (fcntl(memfd, F_OFD_GETLK, &fl) < 0)
		return true;
	return fl.l_type != F_UNLCK;
}

/* MPSC: is the claimer of position pos certainly dead? No entry covering
 * pos may have a live owner, and there must be one (the claimer's entry
 * covers pos until it has published pos). */
static bool chan_claimer_dead(uipc_chan *c, uint64_t pos)
{
	bool covered = false;

	for (unsigned i = 0; i < CHAN_MAX_CAPS; i++) {
		const struct chan_claim *e = &c->g.claims[i];
		uint64_t first = atomic_load_explicit(&e->pos, memory_order_relaxed);
		uint64_t n = atomic_load_explicit(&e->n, memory_order_relaxed);

		if (pos - first >= n)
			continue;
		if (chan_lock_held(c->memfd, CHAN_LOCK_ENTRY(i)))
			return false;
		covered = true;
	}
	return covered;
}

/*
 * MPSC: pass the slots at head that a producer claimed and died before
 * publishing. A slot claimed (the tail is past it) and still empty is
 * normally a producer between its claim and its publish: it is looked into
 * once it has stayed so for a millisecond (now, when every producer is gone
 * already), then at most once a millisecond (a blocked consumer wakes each
 * millisecond for it, only while such a slot is there). Passing is a
 * compare-and-swap of the slot's sequence from "empty" to "free for the
 * next lap", so a publish that lands first wins. The tail and the claim
 * entries are the peers' to write: one call passes at most a ring's worth
 * of slots and stops at the caller's deadline, whatever they say. Returns
 * how many slots were passed.
 */
static unsigned chan_pass_holes(uipc_chan *c, bool force, uint64_t deadline)
{
	unsigned passed = 0;
	uint64_t t, h, now, e;

	if (!c->g.mpsc || c->broken)
		return 0;
	while (passed < c->g.cap) {
		h = c->head;
		t = atomic_load_explicit(&c->g.shm->tail, memory_order_acquire);
		if (t - h - 1 >= c->g.cap) /* nothing claimed at head (or a lying tail) */
			break;
		now = uipc__now_ns();
		if (passed && now >= deadline)
			break;
		if (!force) {
			if (c->hole != h + 1) {
				c->hole = h + 1;
				c->hole_ns = now;
				break;
			}
			if (now - c->hole_ns < CHAN_HOLE_NS)
				break;
			c->hole_ns = now;
		}
		e = h;
		if (!chan_claimer_dead(c, h) || !atomic_compare_exchange_strong_explicit(
		                                    seq_at(&c->g, h), &e, h + c->g.cap,
		                                    memory_order_acq_rel, memory_order_acquire))
			break;
		KP(PASS_HOLE);
		chan_consumed(c, 1);
		c->passed++;
		c->hole = 0;
		force = true; /* the rest of a dead producer's batch, right away */
		passed++;
	}
	return passed;
}

/* chan_avail(), after passing a dead producer's slots at head. */
static int chan_ready(uipc_chan *c, uint64_t deadline)
{
	int a = chan_avail(c);

	return a == 0 && chan_pass_holes(c, false, deadline) ? chan_avail(c) : a;
}

/* Copy up to n ready messages, the first known ready; returns how many. */
static int chan_take(uipc_chan *c, unsigned char *buf, size_t n)
{
	size_t k = 0;

	while (k < n && (k == 0 || chan_avail(c) == 1)) {
		msg_copy(buf + k * c->g.msg_size, msg_at(&c->g, c->head), c->g.msg_size);
		chan_free_slot(c);
		c->head++;
		k++;
	}
	c->head -= k;
	chan_consumed(c, k);
	return (int)k;
}

/* Give back the notifications of other vectors our waits took. */
static void chan_give_back(uipc_chan *c)
{
	if (c->held) {
		uipc__desc_give_back(c->rx->desc, c->held);
		c->held = 0;
	}
}

/*
 * Every producer is gone: what they published before they went is still to
 * be taken (the hang-up comes after their last publish, so it is visible
 * now), then what the last ones published behind a dead one's claims.
 * -EPIPE only with nothing left.
 */
static int chan_last_look(uipc_chan *c, uint64_t deadline)
{
	int r = chan_avail(c);

	if (r == 0 && chan_pass_holes(c, true, deadline))
		r = chan_avail(c);
	return r != 0 ? r : -EPIPE;
}

struct chan_look {
	uipc_chan *c;
	uint64_t deadline;    /* the caller's (0 until the waiter's clock read) */
	struct uipc__wait *w; /* ours: brought forward while a hole is at head */
};

/*
 * What a blocked receive waits for (src/wait.c): a message at the head,
 * or every producer gone. Spinning looks at the ring only: a message costs
 * the consumer the slot's line, and a pir bit left pending by an earlier
 * notify keeps producers from writing the descriptor at all. Armed and
 * woken, it takes pir first (ours, so the next post kicks; other vectors'
 * are held and given back), then looks (seq_cst: the Dekker load half).
 */
static int chan_look(void *arg, enum uipc__look when)
{
	struct chan_look *l = arg;
	uipc_chan *c = l->c;
	uint64_t m;
	int r;

	if (when == UIPC_LOOK_SPIN)
		return chan_avail(c);
	if (!l->deadline) /* the waiter's first clock read made it */
		l->deadline = l->w->deadline;
	/* Producers may wait for the slots we took: they must see them before
	 * we sleep. */
	if (when == UIPC_LOOK_ARMED && c->head != c->published)
		chan_publish(c);
	m = uipc__desc_take(c->rx->desc);
	c->held |= m & ~c->bit;
	r = chan_ready(c, l->deadline);
	if (r == 0 && c->hole == c->head + 1 && c->hole_ns + CHAN_HOLE_NS < l->w->deadline)
		l->w->deadline = c->hole_ns + CHAN_HOLE_NS; /* look again then, not never */
	if (r != 0)
		return r;
	if (!atomic_exchange(&c->departed, 0) && when != UIPC_LOOK_WOKEN)
		return 0;
	/* Woken for nothing, or a producer left (src/watch.c): are they all
	 * gone? What the last ones published behind a dead one's hole comes
	 * out first. */
	KP(GONE_CHECK);
	if (chan_producers(c) < 0)
		return chan_last_look(c, l->deadline);
	return 0;
}

/* The receiver's spin policy, as last set, trained here on the channel's
 * own gaps (a receive's pattern is not its receiver's). */
static struct uipc__spin *chan_spin_policy(uipc_chan *c)
{
	const struct uipc__spin *sp = &c->rx->w.spin;

	if (c->spin.mode != sp->mode || c->spin.max_ns != sp->max_ns)
		c->spin = *sp;
	return &c->spin;
}

/* Wait until a message is ready: > 0 as chan_avail(), or -errno. */
static int chan_wait(uipc_chan *c, int64_t timeout_ns)
{
	struct uipc__spin none = {.mode = UIPC_SPIN_NONE};
	struct uipc__wait w = {.look = chan_look, .timeout_ns = timeout_ns};
	struct chan_look l = {.c = c, .w = &w};
	uint64_t now;
	int r;

	r = chan_avail(c);
	if (r != 0)
		return r;
	if (timeout_ns == 0) {
		r = chan_ready(c, 0);
		return r != 0 ? r : -EAGAIN;
	}
	/* The event loop owns an armed receiver until it drains. */
	if (c->rx->w.armed)
		return -EBUSY;
	if (c->rx->handler)
		return -EBUSY;
	w.arg = &l;
	w.spin = chan_spin_policy(c);
	w.deadline = UINT64_MAX;
	for (;;) {
		r = uipc__wait(c->rx, &w);
		now = uipc__now_ns();
		if (r == -ETIMEDOUT && now >= l.deadline) {
			KP(GONE_CHECK);
			if (chan_producers(c) < 0)
				r = chan_last_look(c, now);
			break;
		}
		if (r != -ETIMEDOUT)
			break;
		r = chan_ready(c, l.deadline);
		if (r != 0)
			break;
		w.spin = &none;
		w.deadline = l.deadline;
		w.timeout_ns = -1;
	}
	chan_give_back(c);
	return r;
}

UIPC_API int uipc_chan_recv_n(uipc_chan *c, void *buf, size_t n, size_t size, int64_t timeout_ns)
{
	int r;

	uipc_return_if(!chan_valid(c) || !buf || n == 0, -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	uipc_return_if(size < c->g.msg_size, -EINVAL);
	/* size is the whole buffer: never more messages than fit. */
	if (n > size / c->g.msg_size)
		n = size / c->g.msg_size;
	r = chan_wait(c, timeout_ns);
	if (r < 0)
		return r;
	c->peeked = false;
	return chan_take(c, buf, n);
}

UIPC_API int uipc_chan_recv(uipc_chan *c, void *buf, size_t size, int64_t timeout_ns)
{
	int r = uipc_chan_recv_n(c, buf, 1, size, timeout_ns);

	return r < 0 ? r : 0;
}

UIPC_API int uipc_chan_peek(uipc_chan *c, const void **ret_msg, int64_t timeout_ns)
{
	int r;

	uipc_return_if(!chan_valid(c) || !ret_msg, -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	r = chan_wait(c, timeout_ns);
	if (r < 0)
		return r;
	c->peeked = true;
	*ret_msg = msg_at(&c->g, c->head);
	return 0;
}

UIPC_API int uipc_chan_release(uipc_chan *c)
{
	uipc_return_if(!chan_valid(c) || !c->peeked, -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	if (c->broken)
		return -EPROTO;
	c->peeked = false;
	chan_free_slot(c);
	chan_consumed(c, 1);
	return 0;
}

/* Producer: attach ------------------------------------------------------------ */

static bool ptx_valid(const uipc_chan_tx *p)
{
	return p && p->magic == CHAN_TX_MAGIC;
}

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
	return r < 0 ? r : uipc__fork_register(&p->fork, ptx_fork_child);
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

UIPC_API int uipc_chan_tx_new(uipc_chan *c, uipc_chan_tx **ret_tx)
{
	struct uipc__fork_fd held = {.fd = -1};
	uipc_chan_tx *p;
	int fd, r, idx;

	uipc_return_if(!chan_valid(c) || !ret_tx, -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	/* Ours until the producer has its own copy: a fork child must not
	 * keep it, or the consumer never sees every producer gone while the
	 * child lives (tests/regress/fork-held-cap.c). */
	fd = chan_cap(c, &idx, &held);
	if (fd < 0)
		return fd;
	FP(TX_NEW_CAP);
	r = uipc_chan_tx_open(c->rx->ctx, fd, ret_tx);
	uipc__fork_fd_close(&held);
	if (r < 0) {
		/* Never attached: it must not count as a producer that left
		 * (tests/regress/tx-new-failed.c). */
		chan_drop_peer(c, idx);
		c->ever--;
		return r;
	}
	/* Same process: use the consumer's mapping instead of a second one. */
	p = *ret_tx;
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

/* Consumer gone: its capability hung up (freed, exited, killed). Sticky.
 * Not the ring's closed flag: any producer can store that. */
static int ptx_alive(uipc_chan_tx *p)
{
	if (!p->dead && uipc__cap_alive(p->cap_fd) < 0)
		p->dead = true;
	return p->dead ? -EPIPE : 0;
}

UIPC_API int uipc_chan_tx_check(uipc_chan_tx *p)
{
	uipc_return_if(!ptx_valid(p), -EINVAL);
	uipc_return_if(uipc__forked(&p->fork), -ECHILD);
	return ptx_alive(p);
}

/* Producer: claiming slots ------------------------------------------------- */

/* The closed flag (the consumer's farewell) is a hint to look now. */
static inline bool ptx_closed(uipc_chan_tx *p)
{
	if (p->dead)
		return true;
	return atomic_load_explicit(&p->g.shm->closed, memory_order_relaxed) && ptx_alive(p) < 0;
}

/* A full ring: -EAGAIN, or -EPIPE when the consumer is gone. Its liveness
 * costs a syscall, so a producer spinning on a full ring checks it at most
 * once a millisecond (the clock is a vDSO read). */
static int ptx_full(uipc_chan_tx *p)
{
	uint64_t now = uipc__now_ns();

	if (now - p->checked_ns >= 1000000) {
		p->checked_ns = now;
		return ptx_alive(p) < 0 ? -EPIPE : -EAGAIN;
	}
	return -EAGAIN;
}

/* SPSC: free slots, at least want if there are (the cached head first). */
static inline int64_t spsc_space(uipc_chan_tx *p, uint64_t want)
{
	uint64_t h;

	if (p->g.cap - (p->tail - p->head_cache) >= want)
		return (int64_t)(p->g.cap - (p->tail - p->head_cache));
	h = atomic_load_explicit(&p->g.shm->head, memory_order_acquire);
	if (p->tail - h > p->g.cap)
		return -EPROTO;
	p->head_cache = h;
	return (int64_t)(p->g.cap - (p->tail - h));
}

/* MPSC: how many slots from pos on are free for this lap (at least 1, the
 * caller checked pos). The consumer frees in order, so they form a prefix:
 * binary search on the sequence numbers. */
static uint64_t mpsc_run(const struct chan_geo *g, uint64_t pos, uint64_t n)
{
	uint64_t lo = 1, hi = n, mid;

	if (n <= 1 ||
	    atomic_load_explicit(seq_at(g, pos + n - 1), memory_order_acquire) == pos + n - 1)
		return n ? n : 1;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (atomic_load_explicit(seq_at(g, pos + mid - 1), memory_order_acquire) ==
		    pos + mid - 1)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* MPSC: claim up to n consecutive positions (Vyukov). Returns how many (0:
 * full), *ret_pos the first; -EPROTO when the ring cannot be right. Losing
 * a round means another producer claimed, so the loop makes progress; it
 * says "full" only when the slot at the tail holds the previous lap, and
 * gives up (-EBUSY) only after losing for CHAN_CLAIM_NS (a peer moving the
 * tail for ever cannot keep us here). */
static __attribute__((noinline)) int64_t mpsc_claim(uipc_chan_tx *p, uint64_t n, uint64_t *ret_pos)
{
	struct chan_shm *s = p->g.shm;
	uint64_t pos = atomic_load_explicit(&s->tail, memory_order_relaxed), seq, np, k;
	uint64_t since = 0;

	for (unsigned i = 1;; i++) {
		if ((i & 1023) == 0) {
			uint64_t now = uipc__now_ns();

			if (!since)
				since = now;
			else if (now - since >= CHAN_CLAIM_NS)
				return -EBUSY;
		}
		seq = atomic_load_explicit(seq_at(&p->g, pos), memory_order_acquire);
		if ((int64_t)(seq - pos) < 0)
			return 0; /* the slot still holds the previous lap */
		if (seq != pos) {
			/* Claimed by someone else: the tail moved past pos (the
			 * acquire above makes that store visible), or the ring lies. */
			np = atomic_load_explicit(&s->tail, memory_order_relaxed);
			if (np == pos)
				return -EPROTO;
			pos = np;
			continue;
		}
		k = mpsc_run(&p->g, pos, n);
		/* What we claim, before we do (chan_pass_holes()). */
		atomic_store_explicit(&p->claim->n, k, memory_order_relaxed);
		KP(CLAIM_N);
		atomic_store_explicit(&p->claim->pos, pos, memory_order_relaxed);
		KP(CLAIM_POS);
		if (atomic_compare_exchange_weak_explicit(
		        &s->tail, &pos, pos + k, memory_order_release, memory_order_relaxed)) {
			KP(CLAIM_TAIL);
			*ret_pos = pos;
			return (int64_t)k;
		}
		/* Lost: claim nothing. Left covering a position another
		 * producer won, the entry of a live producer that then waits
		 * for space would keep the consumer from passing that slot if
		 * its winner died (tests/model/mpsc.pml, BROKEN 2). */
		atomic_store_explicit(&p->claim->n, 0, memory_order_relaxed);
		KP(CLAIM_LOST);
	}
}

/* Claim up to n slots; *ret_pos is the first. 0 when full, or -errno. */
static inline int64_t ptx_claim(uipc_chan_tx *p, uint64_t n, uint64_t *ret_pos)
{
	int64_t k;

	if (ptx_closed(p))
		return -EPIPE;
	if (p->g.mpsc) {
		k = mpsc_claim(p, n, ret_pos);
	} else {
		k = spsc_space(p, n);
		if (k > (int64_t)n)
			k = (int64_t)n;
		*ret_pos = p->tail;
	}
	return k;
}

/* Publish k written slots from pos and announce them (one notify). */
static inline int ptx_publish(uipc_chan_tx *p, uint64_t pos, uint64_t k)
{
	int r;

	for (uint64_t i = 0; i < k; i++) {
		atomic_store_explicit(seq_at(&p->g, pos + i), pos + i + 1, memory_order_release);
		KP(PUBLISH_SEQ);
	}
	if (!p->g.mpsc) {
		/* For the next producer to attach only: the consumer never
		 * reads it, so the line stays in our cache. After the slots:
		 * a producer killed in between leaves a tail behind, maybe
		 * behind the consumer's head too, which the next one walks
		 * forward from the later of the two (ptx_attach_spsc()). */
		p->tail = pos + k;
		atomic_store_explicit(&p->g.shm->tail, p->tail, memory_order_release);
		KP(PUBLISH_TAIL);
	}
	if (p->light && atomic_load_explicit(&p->map->membarrier, memory_order_relaxed)) {
		/* The consumer's membarrier() stands in for our fence (above). */
		atomic_signal_fence(memory_order_seq_cst);
		if (uipc__desc_peek(p->tx->desc) & p->tx->bit) {
			KP(NOTIFIED);
			return 0;
		}
	}
	/* The core's post fences (seq_cst) before it looks at pir. */
	r = uipc_tx_notify(p->tx);
	KP(NOTIFIED);
	return r;
}

static int ptx_send(uipc_chan_tx *p, const void *msg, size_t size)
{
	unsigned char *dst;
	uint64_t pos;
	int64_t k;

	k = ptx_claim(p, 1, &pos);
	if (k <= 0)
		return k < 0 ? (int)k : ptx_full(p);
	dst = msg_at(&p->g, pos);
	msg_copy(dst, msg, size);
	if (size < p->g.msg_size)
		memset(dst + size, 0, p->g.msg_size - size);
	KP(SEND_WRITTEN);
	return ptx_publish(p, pos, 1);
}

UIPC_API int uipc_chan_send(uipc_chan_tx *p, const void *msg, size_t size)
{
	uipc_return_if(!ptx_valid(p) || !msg || size == 0 || size > p->g.msg_size, -EINVAL);
	uipc_return_if(uipc__forked(&p->fork), -ECHILD);
	uipc_return_if(p->reserved, -EBUSY);
	return ptx_send(p, msg, size);
}

UIPC_API int uipc_chan_send_n(uipc_chan_tx *p, const void *msgs, size_t n)
{
	const unsigned char *src = msgs;
	uint64_t pos;
	int64_t k;
	int r;

	uipc_return_if(!ptx_valid(p) || !msgs || n == 0, -EINVAL);
	uipc_return_if(uipc__forked(&p->fork), -ECHILD);
	uipc_return_if(p->reserved, -EBUSY);
	if (n > p->g.cap)
		n = (size_t)p->g.cap;
	k = ptx_claim(p, n, &pos);
	if (k <= 0)
		return k < 0 ? (int)k : ptx_full(p);
	for (int64_t i = 0; i < k; i++) {
		msg_copy(msg_at(&p->g, pos + (uint64_t)i), src + (size_t)i * p->g.msg_size,
		         p->g.msg_size);
		KP(SEND_N_WRITTEN);
	}
	r = ptx_publish(p, pos, (uint64_t)k);
	return r < 0 ? r : (int)k;
}

UIPC_API int uipc_chan_reserve(uipc_chan_tx *p, void **ret_slot)
{
	uint64_t pos;
	int64_t k;

	uipc_return_if(!ptx_valid(p) || !ret_slot, -EINVAL);
	uipc_return_if(uipc__forked(&p->fork), -ECHILD);
	uipc_return_if(p->reserved, -EBUSY);
	k = ptx_claim(p, 1, &pos);
	if (k <= 0)
		return k < 0 ? (int)k : ptx_full(p);
	p->reserved = true;
	p->rpos = pos;
	KP(RESERVED);
	*ret_slot = msg_at(&p->g, pos);
	return 0;
}

UIPC_API int uipc_chan_commit(uipc_chan_tx *p)
{
	uipc_return_if(!ptx_valid(p) || !p->reserved, -EINVAL);
	uipc_return_if(uipc__forked(&p->fork), -ECHILD);
	p->reserved = false;
	KP(COMMIT);
	return ptx_publish(p, p->rpos, 1);
}

/* Producer: waiting for space --------------------------------------------- */

/* Is there space, as the consumer's published head says? (The fast paths
 * may see it earlier; a sleeper only needs what the consumer publishes.) */
static bool ptx_has_space(uipc_chan_tx *p)
{
	struct chan_shm *s = p->g.shm;
	uint64_t t, h;

	h = atomic_load_explicit(&s->head, memory_order_seq_cst);
	t = p->g.mpsc ? atomic_load_explicit(&s->tail, memory_order_seq_cst) : p->tail;
	/* A corrupt head says "space": the send that follows reports it. */
	return t - h < p->g.cap || t - h > p->g.cap;
}

/*
 * Before a producer sleeps on a full ring, it notifies the consumer. A
 * sleeping consumer is woken by notifies and by a producer's departure,
 * and a producer killed between its publish (or its claim, MPSC) and its
 * notify gives neither when it shares its capability's description with a
 * live producer (both inherited it through fork): no hang-up shows. The
 * consumer would sleep beside a full ring, the live producer beside it.
 * The notify makes it look (take the messages, pass a dead claimer's
 * slots). Once a slice; a consumer that is awake pays nothing for it.
 */
static void ptx_kick_consumer(uipc_chan_tx *p)
{
	(void)uipc_tx_notify(p->tx);
}

/* Sleep until the consumer frees space, closes, or the slice ends. */
static int ptx_space_wait(uipc_chan_tx *p, uint64_t deadline)
{
	struct chan_shm *s = p->g.shm;
	uint64_t now = uipc__now_ns(), slice;
	struct timespec ts;
	uint32_t seq;
	long r = 0;

	if (now >= deadline)
		return ptx_alive(p) < 0 ? -EPIPE : -ETIMEDOUT;
	slice = deadline - now < CHAN_SLICE_NS ? deadline - now : CHAN_SLICE_NS;
	ts = uipc__ns_to_ts(slice);
	ptx_kick_consumer(p);
	seq = atomic_load_explicit(&s->space_seq, memory_order_seq_cst);
	/* A flag, not a count: the consumer clears it when it wakes us, so a
	 * waiter killed here leaves at most one wake syscall behind. */
	atomic_store_explicit(&s->space_waiters, 1, memory_order_seq_cst);
	KP(SPACE_WAITER);
	if (!ptx_has_space(p) && !ptx_closed(p))
		r = futex(&s->space_seq, FUTEX_WAIT, seq, &ts);
	if (r < 0 && errno == EINTR)
		return -EINTR;
	if (r < 0 && errno == ETIMEDOUT)
		return ptx_alive(p) < 0 ? -EPIPE : 0;
	return 0;
}

UIPC_API int uipc_chan_send_wait(uipc_chan_tx *p, const void *msg, size_t size, int64_t timeout_ns)
{
	uint64_t deadline;
	int r;

	uipc_return_if(!ptx_valid(p) || !msg || size == 0 || size > p->g.msg_size, -EINVAL);
	uipc_return_if(uipc__forked(&p->fork), -ECHILD);
	uipc_return_if(p->reserved, -EBUSY);
	r = ptx_send(p, msg, size);
	if (r != -EAGAIN || timeout_ns == 0)
		return r;
	deadline = timeout_ns < 0 ? UINT64_MAX : uipc__now_ns() + (uint64_t)timeout_ns;
	for (;;) {
		r = ptx_space_wait(p, deadline);
		if (r < 0)
			return r;
		r = ptx_send(p, msg, size);
		if (r != -EAGAIN)
			return r;
	}
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
