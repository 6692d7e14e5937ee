/* SPDX-License-Identifier: MIT */
/*
 * uipc_rx_wait_any(): one thread waits on several receivers.
 *
 * It is the wait of src/wait.c (its spin, its last look at the deadline)
 * with a block step over the whole set: arm every receiver, look at every
 * one again, sleep in the backend until any is kicked, disarm and
 * acknowledge them all.
 *
 * Why the protocol (src/desc.c, doc/uipc.7) is unchanged, and the Promela
 * model (tests/model/notify.pml) needs no new process: each receiver of
 * the set runs exactly the one-receiver protocol on its own descriptor.
 * Its arm (a seq_cst exchange of its status) comes before its re-check (a
 * seq_cst take of its pir) in this thread, so a sender of that receiver
 * either sees it armed and kicks, or its bit is taken by the re-check:
 * Dekker's pattern, descriptor by descriptor, whatever the other receivers
 * do. Senders never look at another receiver's word. The sleep is the
 * union of the single sleeps, and each keeps the property the model
 * assumes of its own: futex_waitv() compares every word with 0 and
 * queues on all of them in one step (a kick between our look and the
 * sleep makes it return at once), and an eventfd kick is a count that
 * ppoll() sees whenever it lands. Every receiver is disarmed after every
 * sleep, its kick counted (owed) and acknowledged as after a single wait.
 * What the model checks for one receiver therefore holds for each.
 */
#include "backend.h"

struct any {
	uipc_rx *const *rxs;
	unsigned n;
	uint64_t m[UIPC_RX_WAIT_ANY_MAX];
};

/* Take what is pending everywhere; > 0: how many receivers had something. */
static int any_look(void *arg, enum uipc__look when)
{
	struct any *a = arg;
	int c = 0;

	(void)when;
	for (unsigned i = 0; i < a->n; i++) {
		a->m[i] |= uipc__desc_take(a->rxs[i]->desc);
		c += a->m[i] != 0;
	}
	return c;
}

static void any_disarm(struct any *a, uint64_t woken)
{
	for (unsigned i = 0; i < a->n; i++)
		uipc__rx_disarm(a->rxs[i], (woken >> i) & 1);
}

/* wait_block() of src/wait.c, over the set. */
static int any_block(void *arg, struct uipc__wait *w, bool *slept)
{
	struct any *a = arg;
	const struct uipc__backend_ops *ops = a->rxs[0]->ops;
	uint64_t deadline, woken = 0;
	struct timespec ts;
	bool bounded = false, more = false;
	int r, b;

	/* Every arm before any re-check, each re-check after its own arm. */
	for (unsigned i = 0; i < a->n; i++)
		uipc__rx_arm_status(a->rxs[i]);
	r = any_look(a, UIPC_LOOK_ARMED);
	for (unsigned i = 0; r == 0 && i < a->n; i++) {
		uipc_rx *rx = a->rxs[i];
		uint64_t m;

		if (!rx->links)
			continue;
		m = uipc__rx_links_ready(rx, &bounded);
		if (m) {
			uipc__desc_repost(rx->desc, m);
			more = true;
		}
	}
	if (r == 0 && more)
		r = any_look(a, UIPC_LOOK_ARMED);
	if (r != 0) {
		any_disarm(a, 0);
		return r;
	}
	*slept = true;
	deadline = w->deadline;
	if (bounded && deadline - uipc__now_ns() > UIPC__MEMBARRIER_FALLBACK_NS)
		deadline = uipc__now_ns() + UIPC__MEMBARRIER_FALLBACK_NS;
	if (deadline != UINT64_MAX)
		ts = uipc__ns_to_ts(deadline);
	b = ops->rx_block_many(a->rxs, a->n, deadline != UINT64_MAX ? &ts : NULL, &woken);
	any_disarm(a, woken);
	if (b == -ETIMEDOUT && deadline != w->deadline)
		b = 0; /* our own short sleep, not the caller's timeout */
	return b > 0 ? 0 : b;
}

static bool any_valid(const uipc_rx *rx)
{
	return rx && rx->magic == UIPC_RX_MAGIC;
}

UIPC_API int uipc_rx_wait_any(uipc_rx *const *rxs, unsigned n, int64_t timeout_ns,
                              uint64_t *ret_masks)
{
	struct any a = {.rxs = rxs, .n = n};
	struct uipc__wait w = {.look = any_look,
	                       .arg = &a,
	                       .deadline = UINT64_MAX,
	                       .timeout_ns = timeout_ns,
	                       .block = any_block};
	uint64_t m;
	int r;

	uipc_return_if(!rxs || !ret_masks || n == 0 || n > UIPC_RX_WAIT_ANY_MAX, -EINVAL);
	/* Bad arguments first, then states, in the order of uipc_rx_wait().
	 * Duplicates: quadratic, but n is small and usually a handful. */
	for (unsigned i = 0; i < n; i++) {
		uipc_return_if(!any_valid(rxs[i]) || rxs[i]->ops != rxs[0]->ops, -EINVAL);
		for (unsigned j = 0; j < i; j++)
			uipc_return_if(rxs[j] == rxs[i], -EINVAL);
	}
	for (unsigned i = 0; i < n; i++)
		uipc_return_if(uipc__forked(&rxs[i]->fork), -ECHILD);
	for (unsigned i = 0; i < n; i++) {
		uipc_return_if(rxs[i]->handler, -EBUSY);
		/* Armed for an event loop: the loop owns the arming. */
		uipc_return_if(rxs[i]->w.armed && timeout_ns != 0, -EBUSY);
	}
	if (n == 1) {
		r = uipc_rx_wait(rxs[0], timeout_ns, &m);
		if (r < 0)
			return r;
		ret_masks[0] = m;
		return 1;
	}
	if (!rxs[0]->ops->rx_block_many)
		return -EOPNOTSUPP;
	r = any_look(&a, UIPC_LOOK_SPIN);
	if (r == 0) {
		if (timeout_ns == 0)
			return -EAGAIN;
		w.spin = &rxs[0]->w.spin;
		r = uipc__wait(rxs[0], &w);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < n; i++)
		ret_masks[i] = a.m[i];
	return r;
}
