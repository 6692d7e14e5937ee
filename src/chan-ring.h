/* SPDX-License-Identifier: MIT */
/*
 * The channel ring, SPSC and MPSC together: the layout that the consumer,
 * its producers and any peer process map (a sealed memfd), the producer
 * capability's payload, the geometry each end derives from them, and the
 * slots' sequence numbers. Like layout.h, this is what peers see: a change
 * is an ABI change (CHAN_ABI). Who does what with it: chan.c (creation,
 * attach), chan-consumer.c (taking, waiting), chan-producer.c (claiming,
 * publishing, waiting for space). A channel is announced on one vector of
 * a receiver with the core protocol (src/desc.h).
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
#ifndef UIPC_CHAN_RING_H
#define UIPC_CHAN_RING_H

#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "uipc-private.h"

#define CHAN_MAGIC     0x4e414843u /* "CHAN" */
#define CHAN_ABI       2u
#define CHAN_CAP_MAGIC 0x50414343u /* "CCAP" */
#define CHAN_LINE      128         /* the adjacent-line prefetcher pairs 64-byte lines */
#define CHAN_SHM_FLAGS UIPC_CHAN_MPSC
#define CHAN_MAX_CAPS  64

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

/* Geometry ----------------------------------------------------------------- */

static inline int geo_init(struct chan_geo *g, uint64_t msg_size, uint64_t cap, bool mpsc)
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

static inline void geo_map(struct chan_geo *g, void *map)
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

/* The sequence number of the slot at slot (msg_at()'s address). */
static inline _Atomic uint64_t *seq_in(const struct chan_geo *g, unsigned char *slot)
{
	return (_Atomic uint64_t *)(void *)(slot + g->stride - sizeof(uint64_t));
}

static inline _Atomic uint64_t *seq_at(const struct chan_geo *g, uint64_t pos)
{
	return seq_in(g, msg_at(g, pos));
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

/* The common message sizes copied inline (8 bytes first, a ping-pong's);
 * false, nothing copied, for any other size. A call into the C library's
 * size dispatch is a visible share of a ping-pong round trip, and a fast
 * path that makes no call saves no registers. */
static inline bool msg_copy_fixed(void *dst, const void *src, size_t n)
{
	if (n == 8) {
		memcpy(dst, src, 8);
		return true;
	}
	switch (n) {
	case 16:
		memcpy(dst, src, 16);
		return true;
	case 32:
		memcpy(dst, src, 32);
		return true;
	case 64:
		memcpy(dst, src, 64);
		return true;
	default:
		return false;
	}
}

/* memcpy() with the common message sizes inlined. */
static inline void msg_copy(void *dst, const void *src, size_t n)
{
	if (!msg_copy_fixed(dst, src, n))
		memcpy(dst, src, n);
}

static inline long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	/* Shared (not PRIVATE): the word lives in a memfd other processes map. */
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

#endif
