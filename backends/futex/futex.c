/* SPDX-License-Identifier: MIT */
/*
 * futex backend: a blocked receiver sleeps on the descriptor's status word;
 * the sender that set ON wakes it. The futex is shared (not PRIVATE) because
 * the descriptor is a memfd mapping that other processes may map too.
 */
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"

static int futex_block(uipc_rx *rx, uint32_t expect, const struct timespec *deadline)
{
	/* WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline: no drift
	 * when a wait is retried after a stray wakeup. */
	long r = syscall(SYS_futex, uipc__desc_futex_word(rx->desc), FUTEX_WAIT_BITSET, expect,
	                 deadline, NULL, FUTEX_BITSET_MATCH_ANY);

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

#define FUTEX_WAITV_SIZE_U32 0x02 /* FUTEX2_SIZE_U32, shared (no FUTEX2_PRIVATE) */

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
		    .flags = FUTEX_WAITV_SIZE_U32};
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
static int futex_kick(uipc_tx *tx)
{
	if (syscall(SYS_futex, uipc__desc_futex_word(tx->desc), FUTEX_WAKE, INT_MAX, NULL, NULL,
	            0) < 0)
		return -errno;
	return 0;
}

/* A sender of uipc_tx_new() needs nothing but the descriptor. */
static int futex_tx_local(uipc_tx *tx, uipc_rx *rx)
{
	(void)tx;
	(void)rx;
	return 0;
}

const struct uipc__backend_ops uipc__backend_futex = {
    .name = "futex",
    .id = UIPC_BACKEND_FUTEX,
    .caps = UIPC_CAP_FUTEX_WORD,
    .rx_block = futex_block,
    .rx_block_many = futex_block_many,
    .tx_local = futex_tx_local,
    .tx_kick = futex_kick,
};
