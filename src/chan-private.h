/* SPDX-License-Identifier: MIT */
/*
 * The two ends of a channel, private to their process, and what chan.c,
 * chan-consumer.c and chan-producer.c share about them. The ring they map
 * is chan-ring.h.
 */
#ifndef UIPC_CHAN_PRIVATE_H
#define UIPC_CHAN_PRIVATE_H

#include "chan-ring.h"
#include "hooks.h"

#define CHAN_FLAGS    (UIPC_CHAN_MPSC | UIPC_CHAN_NUMA | UIPC_CHAN_LIGHT)
#define CHAN_TX_MAGIC 0x78746863u
#define CHAN_RX_MAGIC 0x78726863u

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

/* The consumer end. */
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

/* A producer end. */
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

static inline bool chan_valid(const uipc_chan *c)
{
	return c && c->magic == CHAN_RX_MAGIC;
}

static inline bool ptx_valid(const uipc_chan_tx *p)
{
	return p && p->magic == CHAN_TX_MAGIC;
}

static inline int chan_broken(uipc_chan *c)
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

/* Wake the producers waiting for space (chan-consumer.c). */
UIPC_INTERNAL void uipc__chan_space_wake(struct chan_shm *s);

#endif
