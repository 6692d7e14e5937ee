/* SPDX-License-Identifier: MIT */
/*
 * Channels, the producer's side: claiming slots (SPSC: the one producer's
 * own tail; MPSC: a compare-and-swap on the shared tail, Vyukov's bounded
 * queue), writing, publishing and announcing them, and waiting for space.
 * The ring: chan-ring.h; attach and detach: chan.c.
 */
#include <linux/futex.h>

#include "chan-private.h"
#include "desc.h"
#include "hooks.h"

#define CHAN_SLICE_NS 20000000u /* a producer blocked on a full ring checks the consumer */
#define CHAN_CLAIM_NS 1000000u  /* MPSC: lost claim rounds before -EBUSY */

/* Producer: the consumer's liveness --------------------------------------- */

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

/* After the sequence numbers: the tail (SPSC) and one notify for slots up
 * to end. mpsc is p->g.mpsc, as the caller read it (or knows it). */
static inline int ptx_announce(uipc_chan_tx *p, uint64_t end, bool mpsc)
{
	int r;

	if (!mpsc) {
		/* For the next producer to attach only: the consumer never
		 * reads it, so the line stays in our cache. After the slots:
		 * a producer killed in between leaves a tail behind, maybe
		 * behind the consumer's head too, which the next one walks
		 * forward from the later of the two (ptx_attach_spsc()). */
		p->tail = end;
		atomic_store_explicit(&p->g.shm->tail, end, memory_order_release);
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

/* Publish k written slots from pos and announce them (one notify). */
static inline int ptx_publish(uipc_chan_tx *p, uint64_t pos, uint64_t k)
{
	for (uint64_t i = 0; i < k; i++) {
		atomic_store_explicit(seq_at(&p->g, pos + i), pos + i + 1, memory_order_release);
		KP(PUBLISH_SEQ);
	}
	return ptx_announce(p, pos + k, p->g.mpsc);
}

/* Publish the message written at dst, position pos, and announce it. */
static inline int ptx_publish_at(uipc_chan_tx *p, unsigned char *dst, uint64_t pos, bool mpsc)
{
	atomic_store_explicit(seq_in(&p->g, dst), pos + 1, memory_order_release);
	KP(PUBLISH_SEQ);
	return ptx_announce(p, pos + 1, mpsc);
}

/* ptx_send_at() for any size: the C library's memcpy(), a shorter message
 * padded with zeros (no stale bytes). Out of line: the inlined copies need
 * no call, so the common path saves no registers. */
static __attribute__((noinline)) int ptx_send_any(uipc_chan_tx *p, unsigned char *dst, uint64_t pos,
                                                  const void *msg, size_t size)
{
	memcpy(dst, msg, size);
	if (size < p->g.msg_size)
		memset(dst + size, 0, p->g.msg_size - size);
	KP(SEND_WRITTEN);
	return ptx_publish_at(p, dst, pos, p->g.mpsc);
}

/* Write one message into the slot at dst, publish it (pos) and announce it. */
static inline int ptx_send_at(uipc_chan_tx *p, unsigned char *dst, uint64_t pos, const void *msg,
                              size_t size, bool mpsc)
{
	if (size != p->g.msg_size || !msg_copy_fixed(dst, msg, size))
		return ptx_send_any(p, dst, pos, msg, size);
	KP(SEND_WRITTEN);
	return ptx_publish_at(p, dst, pos, mpsc);
}

/* Every send that is not an open SPSC ring's with space as last seen. */
static __attribute__((noinline)) int ptx_send(uipc_chan_tx *p, const void *msg, size_t size)
{
	uint64_t pos;
	int64_t k;

	k = ptx_claim(p, 1, &pos);
	if (k <= 0)
		return k < 0 ? (int)k : ptx_full(p);
	return ptx_send_at(p, msg_at(&p->g, pos), pos, msg, size, p->g.mpsc);
}

UIPC_API int uipc_chan_send(uipc_chan_tx *p, const void *msg, size_t size)
{
	uint64_t pos;

	uipc_return_if(!ptx_valid(p) || !msg || size == 0 || size > p->g.msg_size, -EINVAL);
	uipc_return_if(uipc__forked(&p->fork), -ECHILD);
	uipc_return_if(p->reserved, -EBUSY);
	/* SPSC, the consumer's end open and space as last seen: what
	 * ptx_claim() would do, straight-line. Anything else takes it. */
	pos = p->tail;
	if (__builtin_expect(p->g.mpsc || p->dead || p->g.cap - (pos - p->head_cache) < 1, 0) ||
	    atomic_load_explicit(&p->g.shm->closed, memory_order_relaxed))
		return ptx_send(p, msg, size);
	return ptx_send_at(p, msg_at(&p->g, pos), pos, msg, size, false);
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
