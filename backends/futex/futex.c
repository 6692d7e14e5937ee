/* SPDX-License-Identifier: MIT */
/*
 * futex backend: a blocked receiver sleeps on the descriptor's status word;
 * the sender that set ON wakes it.
 *
 * Private, then shared. The descriptor is a memfd mapping that other
 * processes may map, and a waiter on it is only woken by a wake of its own
 * kind: the kernel keys a private futex by (mm, address), a shared one by
 * the page. A shared futex costs more per call (the key's page lookup,
 * about 0.1 us here), so while every sender is in the receiver's process
 * (uipc_tx_new(), sharing the receiver's life) the word is a private futex,
 * and it turns shared for good at uipc__rx_share(): before a capability
 * leaves the library, when uipc_rx_futex() gives the word to a loop, and
 * before every fork (a child keeps working senders). A sender from a
 * capability, or one in a fork child, always wakes shared.
 *
 * The switch loses no wakeup (tests/model/futex-share.pml). The receiver
 * reads the flag after it armed; an in-process sender after it won ON.
 * A waiter can disagree with the waker only if the switch came between
 * the two reads, and the switch then marks an armed word (MOVED, so a wait
 * not yet queued finds it changed) and wakes both kinds.
 */
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"

/* Does a waiter on rx's word use a private futex? After the arm: seq_cst. */
static bool rx_private(const uipc_rx *rx)
{
	return !atomic_load_explicit(&rx->life->shared, memory_order_seq_cst);
}

static int futex_block(uipc_rx *rx, uint32_t expect, const struct timespec *deadline)
{
	/* WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline: no drift
	 * when a wait is retried after a stray wakeup. */
	int op = FUTEX_WAIT_BITSET | (rx_private(rx) ? FUTEX_PRIVATE_FLAG : 0);
	long r = syscall(SYS_futex, uipc__desc_futex_word(rx->desc), op, expect, deadline, NULL,
	                 FUTEX_BITSET_MATCH_ANY);

	if (r == 0 || errno == EAGAIN)
		return 0;
	return errno == ETIMEDOUT ? -ETIMEDOUT : -errno;
}

/*
 * Several receivers (uipc_rx_wait_any()): futex_waitv(), Linux 5.16 and
 * later, queues us on every status word, each compared with 0 (the value
 * all were armed with) in the same step, so a kick of any one wakes us and
 * a word a sender changed first makes it return at once (EAGAIN): the
 * one-word protocol, word by word. Older kernels (or a seccomp filter)
 * answer ENOSYS: remembered, and such sets are refused with -EOPNOTSUPP
 * before they arm again. Our own struct and number: headers before 5.16
 * have neither.
 */
#ifndef __NR_futex_waitv
#define __NR_futex_waitv 449 /* the same on every architecture */
#endif

struct futex_waitv_arg {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

struct futex_waitv_ts {
	int64_t tv_sec;
	int64_t tv_nsec;
};

#define FUTEX_WAITV_SIZE_U32 0x02 /* FUTEX2_SIZE_U32 */
#define FUTEX_WAITV_PRIVATE  0x80 /* FUTEX2_PRIVATE */

static _Atomic bool waitv_missing;

static int futex_block_many(uipc_rx *const *rxs, unsigned n, const struct timespec *deadline,
                            uint64_t *ret_woken)
{
	struct futex_waitv_arg v[UIPC_RX_WAIT_ANY_MAX];
	struct futex_waitv_ts kts;
	long r;

	if (n > UIPC_RX_WAIT_ANY_MAX)
		return -EINVAL;
	if (atomic_load_explicit(&waitv_missing, memory_order_relaxed))
		return -EOPNOTSUPP;
	for (unsigned i = 0; i < n; i++)
		v[i] = (struct futex_waitv_arg){
		    .uaddr = (uint64_t)(uintptr_t)uipc__desc_futex_word(rxs[i]->desc),
		    .flags = FUTEX_WAITV_SIZE_U32 | (rx_private(rxs[i]) ? FUTEX_WAITV_PRIVATE : 0)};
	/* The deadline is absolute, on the clock named last, and a 64-bit
	 * __kernel_timespec whatever the size of time_t. */
	if (deadline)
		kts = (struct futex_waitv_ts){deadline->tv_sec, deadline->tv_nsec};
	r = syscall(__NR_futex_waitv, v, n, 0, deadline ? &kts : NULL, CLOCK_MONOTONIC);
	if (r >= 0) {
		if ((unsigned long)r < n)
			*ret_woken |= 1ull << r;
		return 0;
	}
	switch (errno) {
	case EAGAIN:
		return 0; /* a word was no longer 0: a sender's ON (or a peer's store) */
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case EINTR:
		return -EINTR;
	case ENOSYS:
	case EPERM: /* a seccomp filter's answer to a call it does not know */
		atomic_store_explicit(&waitv_missing, true, memory_order_relaxed);
		return -EOPNOTSUPP;
	default:
		return -errno;
	}
}

/*
 * Wake every waiter on the word, not one: a receiver has one, but an event
 * loop may have left an io_uring FUTEX_WAIT queued on it (uipc_rx_futex())
 * and then blocked in uipc_rx_wait() as well. Woken one at a time in queue
 * order, the ring's stale wait would take the kick and the thread sleep on.
 * The syscall costs the same.
 */
static int futex_wake(_Atomic uint32_t *word, bool private)
{
	if (syscall(SYS_futex, word, FUTEX_WAKE | (private ? FUTEX_PRIVATE_FLAG : 0), INT_MAX, NULL,
	            NULL, 0) < 0)
		return -errno;
	return 0;
}

/*
 * Private only for a sender of uipc_tx_new() in the receiver's own process
 * (not a fork child's copy), before the switch; read after the post won ON
 * (seq_cst). A private futex is keyed by its address, so that wake goes to
 * the word in the receiver's mapping (tx->backend, futex_tx_local()), not
 * in ours. Only a live receiver's word can be won armed (a freed one's says
 * SN for good and no other process maps it yet); if the receiver returns
 * and is freed between our win and the wake, the wake finds nobody there.
 */
static int futex_kick(uipc_tx *tx)
{
	if (tx->life && tx->gen == atomic_load_explicit(&uipc__fork_gen, memory_order_relaxed) &&
	    !atomic_load_explicit(&tx->life->shared, memory_order_seq_cst))
		return futex_wake(tx->backend, true);
	return futex_wake(uipc__desc_futex_word(tx->desc), false);
}

/*
 * The switch to a shared futex (uipc__rx_share()). A receiver that read the
 * flag before it may be queued as a private waiter, or about to queue, and
 * a sender that won ON may have read it either side of the store: so an
 * armed word is marked (MOVED: a wait not yet queued finds the word changed
 * and returns), and both kinds are woken. The woken receiver re-arms, which
 * clears the mark, and reads the flag again. A receiver awake (SN) reads it
 * at its next arm; the mark goes with that arm's store, like a peer's
 * stray bit. Not ON, which a sender whose kick failed takes back: with it
 * the mark, and the receiver would sleep private (the model's failing kick).
 */
static void futex_rx_share(uipc_rx *rx)
{
	_Atomic uint32_t *word = uipc__desc_futex_word(rx->desc);

	if (atomic_exchange_explicit(&rx->life->shared, true, memory_order_seq_cst))
		return;
	if (uipc__desc_moved(rx->desc) & UIPC_DESC_SN)
		return;
	(void)futex_wake(word, true);
	(void)futex_wake(word, false);
}

/* A sender of uipc_tx_new(): the address of the receiver's word, the key
 * of its private futex (only ever passed to FUTEX_WAKE, never read). */
static int futex_tx_local(uipc_tx *tx, uipc_rx *rx)
{
	tx->backend = uipc__desc_futex_word(rx->desc);
	return 0;
}

const struct uipc__backend_ops uipc__backend_futex = {
    .name = "futex",
    .id = UIPC_BACKEND_FUTEX,
    .caps = UIPC_CAP_FUTEX_WORD,
    .rx_block = futex_block,
    .rx_block_many = futex_block_many,
    .rx_share = futex_rx_share,
    .tx_local = futex_tx_local,
    .tx_kick = futex_kick,
};
