/* SPDX-License-Identifier: MIT */
/*
 * An io_uring loop woken from another thread, four ways (issue 26):
 *   uring-uipc-futex  a uipc futex receiver; the ring waits with
 *                     IORING_OP_FUTEX_WAIT on its word (Linux 6.7+);
 *   uring-uipc-poll   a uipc eventfd receiver; IORING_OP_POLL_ADD on its fd;
 *   uring-eventfd     a raw eventfd, written by every notify; POLL_ADD,
 *                     then a read;
 * and uring-msgring (mech.c): IORING_OP_MSG_RING from the sender's ring.
 * The receiver is a ring loop in every case (examples/uring-uipc.h for the
 * uipc ones): wait() arms, sleeps in io_uring_submit_and_wait(), reaps,
 * drains. Between processes: no (the loops are threads here).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <uipc.h>

#include "bench.h"

#ifdef BENCH_HAVE_LIBURING
#include <liburing.h>

#include "uring-uipc.h"

#define TAG 1

struct uring_loop {
	struct io_uring ring;
	struct uring_uipc u;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int efd;     /* uring-eventfd */
	bool queued; /* uring-eventfd: our POLL_ADD is in flight */
};

static bool is_futex(const struct link *l)
{
	return strcmp(l->m->name, "uring-uipc-futex") == 0;
}

/* The ring, the receiver and its context, the eventfd: whatever was made. */
static void loop_free(struct uring_loop *p)
{
	io_uring_queue_exit(&p->ring);
	uipc_rx_free(p->rx);
	uipc_ctx_free(p->ctx);
	if (p->efd >= 0)
		close(p->efd);
	free(p);
}

static int loop_open(struct link *l)
{
	struct uring_loop *p = calloc(1, sizeof(*p));
	bool futex = is_futex(l);
	int r;

	if (!p)
		return -ENOMEM;
	p->efd = -1;
	r = io_uring_queue_init(64, &p->ring, 0);
	if (r < 0) {
		free(p);
		return r;
	}
	if (strcmp(l->m->name, "uring-eventfd") == 0) {
		p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		r = p->efd < 0 ? -errno : 0;
	} else if ((r = uipc_ctx_new(futex ? "futex" : "eventfd", &p->ctx)) == 0 &&
	           (r = uipc_rx_new(p->ctx, futex ? 0 : UIPC_RX_POLLABLE, &p->rx)) == 0) {
		r = uring_uipc_init(&p->u, &p->ring, p->rx, TAG, futex ? 0 : URING_UIPC_NO_FUTEX);
		if (r == 0 && p->u.how != (futex ? URING_UIPC_FUTEX : URING_UIPC_POLL))
			r = -EOPNOTSUPP;
	}
	if (r < 0) {
		loop_free(p);
		return r;
	}
	l->rx = p;
	atomic_store(&l->rx_ready, 1);
	return 0;
}

static void loop_close(struct link *l)
{
	if (!l->rx)
		return;
	loop_free(l->rx);
	l->rx = NULL;
}

static int loop_tx_open(struct link *l, unsigned i)
{
	struct uring_loop *p;
	uipc_tx *tx;
	int r;

	while (!(r = atomic_load(&l->rx_ready)))
		sched_yield();
	if (r < 0)
		return -ECANCELED;
	p = l->rx;
	if (p->efd >= 0)
		return 0;
	r = uipc_tx_new(p->rx, i % UIPC_VECTORS, &tx);
	if (r == 0)
		l->tx[i] = tx;
	return r;
}

static void loop_tx_close(struct link *l, unsigned i)
{
	uipc_tx_free(l->tx[i]);
	l->tx[i] = NULL;
}

static int loop_notify(struct link *l, unsigned i)
{
	struct uring_loop *p = l->rx;
	uint64_t one = 1;

	if (p->efd >= 0)
		return write(p->efd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
	return uipc_tx_notify(l->tx[i]);
}

/* Reap every completion; ours end the wait in flight. */
static int loop_reap(struct uring_loop *p)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int r = 0;

	io_uring_for_each_cqe(&p->ring, head, cqe)
	{
		n++;
		if (p->efd >= 0)
			p->queued = false;
		else if (uring_uipc_owns(&p->u, cqe) && uring_uipc_complete(&p->u, cqe) < 0)
			r = cqe->res;
	}
	io_uring_cq_advance(&p->ring, n);
	return r;
}

static int efd_take(struct uring_loop *p)
{
	uint64_t v;

	if (read(p->efd, &v, sizeof(v)) == sizeof(v))
		return 1;
	return errno == EAGAIN ? 0 : -errno;
}

static int loop_poll(struct link *l)
{
	struct uring_loop *p = l->rx;
	uint64_t mask;
	int r;

	if (p->efd >= 0)
		return efd_take(p);
	r = uipc_rx_poll(p->rx, &mask);
	return r == -EAGAIN ? 0 : r < 0 ? r : 1;
}

/* One turn of the loop until something came: arm, sleep, reap, drain. */
static int loop_wait(struct link *l)
{
	struct uring_loop *p = l->rx;
	uint64_t mask = 0;
	int r;

	for (;;) {
		if (p->efd >= 0) {
			if ((r = efd_take(p)) != 0)
				return r < 0 ? r : 0;
			if (!p->queued) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);

				io_uring_prep_poll_add(sqe, p->efd, POLLIN);
				io_uring_sqe_set_data64(sqe, TAG);
				p->queued = true;
			}
			r = 0;
		} else {
			r = uring_uipc_arm(&p->u);
			if (r < 0 && r != -EAGAIN)
				return r;
		}
		if (r == 0) {
			r = io_uring_submit_and_wait(&p->ring, 1);
			if (r < 0 && r != -EINTR)
				return r;
		}
		if ((r = loop_reap(p)) < 0)
			return r;
		if (p->efd >= 0)
			continue;
		if ((r = uring_uipc_drain(&p->u, &mask)) < 0)
			return r;
		if (mask)
			return 0;
	}
}

void bench_uring_mechs(struct mech *(*add)(const char *name, unsigned flags))
{
	static const char *const names[] = {"uring-uipc-futex", "uring-uipc-poll", "uring-eventfd"};
	int futex = uring_uipc_futex_supported();

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct mech *m;

		if (futex < 0) {
			char why[160];

			snprintf(why, sizeof(why), "io_uring unusable here: %s", strerror(-futex));
			mech_missing_add(names[i], why);
			continue;
		}
		if (i == 0 && futex == 0) {
			mech_missing_add(names[i], "no IORING_OP_FUTEX_WAIT in this kernel (6.7+)");
			continue;
		}
		/* A cheap poll for the uipc ones (a few loads), a read for eventfd. */
		m = add(names[i], i < 2 ? MECH_CHEAP_POLL : 0);
		m->rx_open = loop_open;
		m->rx_close = loop_close;
		m->tx_open = loop_tx_open;
		m->tx_close = i < 2 ? loop_tx_close : NULL;
		m->notify = loop_notify;
		m->wait = loop_wait;
		m->poll = loop_poll;
	}
}
#else
void bench_uring_mechs(struct mech *(*add)(const char *name, unsigned flags))
{
	(void)add;
	mech_missing_add("uring-uipc-futex", "built without liburing (meson -Dliburing=enabled)");
	mech_missing_add("uring-uipc-poll", "built without liburing (meson -Dliburing=enabled)");
	mech_missing_add("uring-eventfd", "built without liburing (meson -Dliburing=enabled)");
}
#endif
