/* SPDX-License-Identifier: MIT */
/*
 * Channels, the consumer's side: whether a message is ready, taking it,
 * waiting for one (src/wait.c), passing the slots of a producer that died
 * holding them (MPSC), publishing the head and waking the producers that
 * wait for space. The ring: chan-ring.h; creation: chan.c.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>

#include "backend.h"
#include "chan-private.h"
#include "desc.h"
#include "hooks.h"

#define CHAN_HOLE_NS 1000000u /* a claimed, empty head slot: checked each ms */

/* Consumer: producers waiting, producers gone ------------------------------ */

void uipc__chan_space_wake(struct chan_shm *s)
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

static __attribute__((noinline)) void chan_publish(uipc_chan *c)
{
	struct chan_shm *s = c->g.shm;

	atomic_store_explicit(&s->head, c->head, memory_order_seq_cst);
	KP(HEAD);
	c->published = c->head;
	if (atomic_load_explicit(&s->space_waiters, memory_order_seq_cst))
		uipc__chan_space_wake(s);
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

/* chan_wait() when nothing is ready: out of line, so that the path of a
 * message already there (an awake ping-pong) sets up no wait. */
static __attribute__((noinline)) int chan_wait_slow(uipc_chan *c, int64_t timeout_ns)
{
	struct uipc__spin none = {.mode = UIPC_SPIN_NONE};
	struct uipc__wait w = {.look = chan_look, .timeout_ns = timeout_ns};
	struct chan_look l = {.c = c, .w = &w};
	uint64_t now;
	int r;

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

/* Wait until a message is ready: > 0 as chan_avail(), or -errno. */
static inline int chan_wait(uipc_chan *c, int64_t timeout_ns)
{
	int r = chan_avail(c);

	return r != 0 ? r : chan_wait_slow(c, timeout_ns);
}

UIPC_API int uipc_chan_recv_n(uipc_chan *c, void *buf, size_t n, size_t size, int64_t timeout_ns)
{
	int r;

	uipc_return_if(!chan_valid(c) || !buf || n == 0, -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	uipc_return_if(size < c->g.msg_size, -EINVAL);
	/* size is the whole buffer: never more messages than fit (one does:
	 * checked above, without a division). */
	if (n > 1 && n > size / c->g.msg_size)
		n = size / c->g.msg_size;
	r = chan_wait(c, timeout_ns);
	if (r < 0)
		return r;
	c->peeked = false;
	return chan_take(c, buf, n);
}

/* The message at head is copied out: chan_take()'s accounting of one. */
static inline void chan_take_one(uipc_chan *c)
{
	chan_free_slot(c);
	chan_consumed(c, 1);
}

/* uipc_chan_recv()'s take of a size the C library copies: out of line, so
 * that the inlined copies need no call and save no registers. */
static __attribute__((noinline)) int chan_recv_any(uipc_chan *c, void *buf,
                                                   const unsigned char *slot)
{
	memcpy(buf, slot, c->g.msg_size);
	chan_take_one(c);
	return 0;
}

UIPC_API int uipc_chan_recv(uipc_chan *c, void *buf, size_t size, int64_t timeout_ns)
{
	unsigned char *slot;
	uint64_t head, s;
	uint32_t msg_size;
	int r;

	uipc_return_if(!chan_valid(c) || !buf, -EINVAL);
	uipc_return_if(uipc__forked(&c->fork), -ECHILD);
	msg_size = c->g.msg_size;
	uipc_return_if(size < msg_size, -EINVAL);
	/* The message already there, straight-line: chan_avail() and
	 * chan_take() of one, the slot addressed once. Anything else (not
	 * ready, a broken or lying ring) is uipc_chan_recv_n()'s. */
	head = c->head;
	slot = msg_at(&c->g, head);
	if (__builtin_expect(!c->broken, 1)) {
		s = atomic_load_explicit(seq_in(&c->g, slot), memory_order_seq_cst);
		if (__builtin_expect(s == head + 1, 1)) {
			c->peeked = false;
			if (!msg_copy_fixed(buf, slot, msg_size))
				return chan_recv_any(c, buf, slot);
			chan_take_one(c);
			return 0;
		}
	}
	r = uipc_chan_recv_n(c, buf, 1, size, timeout_ns);
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
