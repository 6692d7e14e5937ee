/* SPDX-License-Identifier: MIT */
/*
 * uipc in an io_uring loop (liburing). Header-only, static functions; copy
 * it into a program or include it (examples/uring-loop.c, bench/, tests/
 * do).
 *
 * Two ways for the ring to wait for a receiver, the first where it works:
 *   - futex: IORING_OP_FUTEX_WAIT (Linux 6.7 and later) on the word of a
 *     futex receiver (uipc_rx_futex()). A notify to an awake loop costs the
 *     sender no syscall, as with any receiver; a sleeping loop is woken by
 *     the sender's one FUTEX_WAKE, which completes the ring's wait. No fd.
 *   - poll: IORING_OP_POLL_ADD on uipc_rx_fd() of a pollable (eventfd)
 *     receiver. Any kernel with io_uring (5.1 and later).
 * Which one a kernel has is probed, never assumed: the opcode in the
 * ring's probe, then one trial wait (a seccomp filter or a kernel that
 * lists the opcode but refuses our flags says so there).
 *
 * The loop (struct uring_uipc):
 *   before the sleep:  r = uring_uipc_arm(u);          (queues our SQE)
 *                      io_uring_submit_and_wait(ring, r == -EAGAIN ? 0 : 1);
 *   each completion:   if (uring_uipc_owns(u, cqe)) uring_uipc_complete(u, cqe);
 *   after the sleep:   uring_uipc_drain(u, &mask); handle(mask);
 * -EAGAIN from the arm means something is pending: do not sleep, drain.
 * Drain after every sleep, whatever completed: a notify while the loop was
 * awake left its bit without waking anything (that is what makes it free).
 * Our SQE stays queued across iterations until it completes: a loop woken
 * by other I/O re-arms the receiver, and the wait in flight still serves.
 *
 * Liburing 2.3 (Debian 12) has no io_uring_prep_futex_wait(): the SQE is
 * filled here from the kernel's ABI.
 */
#ifndef URING_UIPC_H
#define URING_UIPC_H

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <liburing.h>
#include <uipc.h>

/* The kernel ABI of IORING_OP_FUTEX_WAIT (Linux 6.7), for headers before it. */
#define URING_UIPC_OP_FUTEX_WAIT  51          /* enum io_uring_op */
#define URING_UIPC_FUTEX2_U32     0x02u       /* FUTEX2_SIZE_U32; shared: no FUTEX2_PRIVATE */
#define URING_UIPC_FUTEX_ANY_BITS 0xffffffffu /* FUTEX_BITSET_MATCH_ANY */

enum uring_uipc_how {
	URING_UIPC_FUTEX = 1, /* IORING_OP_FUTEX_WAIT on the receiver's word */
	URING_UIPC_POLL = 2,  /* IORING_OP_POLL_ADD on uipc_rx_fd() */
};

/* uring_uipc_init() flags. */
#define URING_UIPC_NO_FUTEX 1u /* take the poll way even where futex waits work */

struct uring_uipc {
	struct io_uring *ring;
	uipc_rx *rx;
	uint64_t tag; /* user_data of our SQEs (the caller's own must differ) */
	enum uring_uipc_how how;
	const uint32_t *word; /* futex */
	uint32_t armed;       /* futex: the word's value while armed */
	int fd;               /* poll */
	bool queued;          /* our wait is in the ring, its CQE not yet seen */
};

/* An IORING_OP_FUTEX_WAIT: sleep while *word == val (a shared u32 futex). */
static inline void uring_uipc_prep_futex_wait(struct io_uring_sqe *sqe, const uint32_t *word,
                                              uint32_t val)
{
	memset(sqe, 0, sizeof(*sqe)); /* len, futex_flags, buf_index, file_index: 0 */
	sqe->opcode = URING_UIPC_OP_FUTEX_WAIT;
	sqe->fd = (int32_t)URING_UIPC_FUTEX2_U32; /* the futex2 flags */
	sqe->addr = (uint64_t)(uintptr_t)word;
	sqe->off = val; /* addr2: the expected value */
	sqe->addr3 = URING_UIPC_FUTEX_ANY_BITS;
}

/*
 * Does this kernel take IORING_OP_FUTEX_WAIT on a shared u32 word? 1 yes,
 * 0 no (the poll way remains), or -errno when io_uring itself is unusable
 * (-ENOSYS, -EPERM: kernel.io_uring_disabled, a seccomp filter; -ENOMEM).
 * Asks once per process, on a ring of its own (no CQE reaches yours).
 */
static inline int uring_uipc_futex_supported(void)
{
	static _Atomic int known; /* 0: not asked; 1: yes; 2: no; < 0: -errno */
	struct io_uring_probe *probe;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	uint32_t word = 1;
	int r = known;

	if (r)
		return r == 2 ? 0 : r;
	r = io_uring_queue_init(2, &ring, 0);
	if (r < 0) {
		known = r;
		return r;
	}
	probe = io_uring_get_probe_ring(&ring);
	sqe = io_uring_get_sqe(&ring);
	if (probe && sqe && io_uring_opcode_supported(probe, URING_UIPC_OP_FUTEX_WAIT)) {
		/* Expecting 0 where the word holds 1: -EAGAIN at once, if the
		 * kernel takes the SQE as we fill it. */
		uring_uipc_prep_futex_wait(sqe, &word, 0);
		r = io_uring_submit_and_wait(&ring, 1);
		if (r >= 0 && io_uring_peek_cqe(&ring, &cqe) == 0) {
			r = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
		r = r == -EAGAIN ? 1 : 2;
	} else {
		r = 2;
	}
	if (probe)
		io_uring_free_probe(probe);
	io_uring_queue_exit(&ring);
	known = r;
	return r == 2 ? 0 : r;
}

/*
 * A receiver for a ring loop: a futex receiver where the ring can wait on
 * its word, a pollable one (eventfd) otherwise. 0 or -errno.
 */
static inline int uring_uipc_rx_new(uipc_ctx *ctx, uipc_rx **ret_rx)
{
	const uint32_t *word;
	uint32_t armed;
	uipc_rx *rx;
	int r = uring_uipc_futex_supported();

	if (r < 0)
		return r;
	if (r == 1 && uipc_rx_new(ctx, 0, &rx) == 0) {
		if (uipc_rx_futex(rx, &word, &armed) == 0) {
			*ret_rx = rx;
			return 0;
		}
		uipc_rx_free(rx); /* a backend without the word (uintr...) */
	}
	return uipc_rx_new(ctx, UIPC_RX_POLLABLE, ret_rx);
}

/* Put rx into ring's loop, its completions tagged tag. 0 or -errno:
 * -EOPNOTSUPP (neither a futex word the ring can wait on nor an fd),
 * io_uring's own errors (-ENOSYS, -EPERM: io_uring disabled). */
static inline int uring_uipc_init(struct uring_uipc *u, struct io_uring *ring, uipc_rx *rx,
                                  uint64_t tag, unsigned flags)
{
	int r = uring_uipc_futex_supported();

	if (r < 0)
		return r;
	memset(u, 0, sizeof(*u));
	u->ring = ring;
	u->rx = rx;
	u->tag = tag;
	u->fd = -1;
	if (r == 1 && !(flags & URING_UIPC_NO_FUTEX) &&
	    uipc_rx_futex(rx, &u->word, &u->armed) == 0) {
		u->how = URING_UIPC_FUTEX;
		return 0;
	}
	r = uipc_rx_fd(rx);
	if (r < 0)
		return r;
	u->fd = r;
	u->how = URING_UIPC_POLL;
	return 0;
}

static inline const char *uring_uipc_how_name(const struct uring_uipc *u)
{
	return u->how == URING_UIPC_FUTEX ? "futex-wait" : "poll-add";
}

/*
 * Before the ring sleeps: arm the receiver and queue our wait unless one
 * is in flight (the caller submits it with its own SQEs). 0; -EAGAIN when
 * something is pending (do not sleep: drain); -EBUSY (the SQ is full:
 * submit, then arm again); the receiver's errors (uipc_rx_arm()).
 */
static inline int uring_uipc_arm(struct uring_uipc *u)
{
	struct io_uring_sqe *sqe;
	int r = uipc_rx_arm(u->rx);

	if (r < 0 || u->queued)
		return r;
	sqe = io_uring_get_sqe(u->ring);
	if (!sqe)
		return -EBUSY; /* armed: a drain or the next arm is fine */
	/* Queued after the arm: a notify between the two changed the word,
	 * and the wait completes at once (-EAGAIN) instead of sleeping. */
	if (u->how == URING_UIPC_FUTEX)
		uring_uipc_prep_futex_wait(sqe, u->word, u->armed);
	else
		io_uring_prep_poll_add(sqe, u->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, u->tag);
	u->queued = true;
	return 0;
}

static inline bool uring_uipc_owns(const struct uring_uipc *u, const struct io_uring_cqe *cqe)
{
	return cqe->user_data == u->tag;
}

/*
 * One of our completions (the caller marks it seen). 0, or the wait's
 * unexpected error (-EINVAL: a kernel that refuses the futex SQE...).
 * A futex wait ends with 0 (woken), -EAGAIN (the word had changed: a
 * notify, or the loop drained first) or -ECANCELED; none is an error.
 */
static inline int uring_uipc_complete(struct uring_uipc *u, const struct io_uring_cqe *cqe)
{
	int res = cqe->res;

	/* The CQE of a cancel of ours that did not find the wait (its
	 * success posts none): no wait ends so, and the wait's own CQE comes
	 * (or came) separately. */
	if (res == -ENOENT || res == -EALREADY)
		return 0;
	u->queued = false;
	if (res >= 0 || res == -EAGAIN || res == -ECANCELED || res == -EINTR)
		return 0;
	return res;
}

/* After every sleep: disarm and take what is pending (mask may be 0). */
static inline int uring_uipc_drain(struct uring_uipc *u, uint64_t *ret_mask)
{
	return uipc_rx_drain(u->rx, ret_mask);
}

/*
 * Stop: drain the receiver (what was pending goes to *ret_mask, so that
 * nothing is lost) and cancel our wait in flight. Its completion
 * (-ECANCELED, or its own if it had one on the way) still comes through
 * the ring: the caller submits, and reaps until !u->queued before the ring
 * or the receiver goes. Then uipc_rx_wait() may block on the receiver.
 * 0, -EBUSY (SQ full: submit, then again) or -errno.
 */
static inline int uring_uipc_cancel(struct uring_uipc *u, uint64_t *ret_mask)
{
	struct io_uring_sqe *sqe;
	int r = uipc_rx_drain(u->rx, ret_mask);

	if (r < 0 || !u->queued)
		return r;
	sqe = io_uring_get_sqe(u->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, u->tag, 0);
	io_uring_sqe_set_data64(sqe, u->tag);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	return 0;
}

#endif
