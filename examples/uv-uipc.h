/* SPDX-License-Identifier: MIT */
/*
 * uipc in a libuv loop: a receiver as a loop source, and a work pool with the
 * shape of uv_queue_work(). Header-only, static functions; copy it into a
 * program or include it (examples/uv-work.c, bench/uvwork.c do).
 *
 * The recipe (struct uv_uipc):
 *   - the receiver is created UIPC_RX_POLLABLE on the loop's thread;
 *   - a uv_poll_t watches uipc_rx_fd() for UV_READABLE;
 *   - a uv_prepare_t, which runs right before the loop blocks, arms the
 *     receiver (uipc_rx_arm()); -EAGAIN means something is pending already:
 *     it is dispatched at once and the arm retried, so the loop never
 *     sleeps on a pending notification;
 *   - the poll callback drains (uipc_rx_drain()) and dispatches;
 *   - a uv_check_t, which runs right after the loop wakes, drains too:
 *     while the loop is awake the receiver is disarmed, and senders'
 *     notifies cost no syscall.
 * The three handles are unreferenced: they do not keep the loop alive by
 * themselves (uv_uipc_ref() does, e.g. while work is outstanding).
 */
#ifndef UV_UIPC_H
#define UV_UIPC_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <uipc.h>
#include <uv.h>

struct uv_uipc;
/* Called on the loop thread with the vectors that were pending. */
typedef void (*uv_uipc_cb)(struct uv_uipc *u, uint64_t mask);

struct uv_uipc {
	uv_poll_t poll;
	uv_prepare_t prepare;
	uv_check_t check;
	uipc_rx *rx;
	uv_uipc_cb cb;
	void *data;
	bool live; /* the handles are initialized */
};

static void uv_uipc__dispatch(struct uv_uipc *u)
{
	uint64_t mask = 0;

	if (uipc_rx_drain(u->rx, &mask) == 0 && mask)
		u->cb(u, mask);
}

static void uv_uipc__on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	uv_uipc__dispatch(p->data);
}

static void uv_uipc__on_check(uv_check_t *c)
{
	uv_uipc__dispatch(c->data);
}

static void uv_uipc__on_prepare(uv_prepare_t *p)
{
	struct uv_uipc *u = p->data;

	/* Arm before the loop sleeps; what is pending runs now instead. */
	while (uipc_rx_arm(u->rx) == -EAGAIN)
		uv_uipc__dispatch(u);
}

/* Put rx (UIPC_RX_POLLABLE, created on this loop's thread) into loop. */
static int uv_uipc_init(uv_loop_t *loop, struct uv_uipc *u, uipc_rx *rx, uv_uipc_cb cb)
{
	int fd = uipc_rx_fd(rx), r;

	if (fd < 0)
		return fd;
	memset(u, 0, sizeof(*u));
	u->rx = rx;
	u->cb = cb;
	if ((r = uv_poll_init(loop, &u->poll, fd)) < 0)
		return r;
	uv_prepare_init(loop, &u->prepare);
	uv_check_init(loop, &u->check);
	u->poll.data = u->prepare.data = u->check.data = u;
	uv_poll_start(&u->poll, UV_READABLE, uv_uipc__on_poll);
	uv_prepare_start(&u->prepare, uv_uipc__on_prepare);
	uv_check_start(&u->check, uv_uipc__on_check);
	uv_unref((uv_handle_t *)&u->poll);
	uv_unref((uv_handle_t *)&u->prepare);
	uv_unref((uv_handle_t *)&u->check);
	u->live = true;
	return 0;
}

/* Keep the loop alive (uv_run() does not return) while referenced. */
static void uv_uipc_ref(struct uv_uipc *u, bool on)
{
	if (on)
		uv_ref((uv_handle_t *)&u->poll);
	else
		uv_unref((uv_handle_t *)&u->poll);
}

/* Close the handles; the receiver stays the caller's. Run the loop after. */
static void uv_uipc_close(struct uv_uipc *u)
{
	uint64_t mask;

	uipc_rx_drain(u->rx, &mask); /* leave it disarmed */
	uv_close((uv_handle_t *)&u->poll, NULL);
	uv_close((uv_handle_t *)&u->prepare, NULL);
	uv_close((uv_handle_t *)&u->check, NULL);
	u->live = false;
}

/* ------------------------------------------------------------------------ */
/*
 * A work pool for one uv loop, with uv_queue_work()'s shape: work_cb runs on
 * a pool thread, after_cb on the loop thread. Each worker owns a receiver and
 * an SPSC channel fed by the loop (dealt round robin); the workers answer on
 * one MPSC channel whose receiver is in the loop (struct uv_uipc). A message
 * is the request's address.
 */

struct uv_uipc_pool;
struct uv_uipc_work;
typedef void (*uv_uipc_work_cb)(struct uv_uipc_work *req);
typedef void (*uv_uipc_after_cb)(struct uv_uipc_work *req);

struct uv_uipc_work {
	uv_uipc_work_cb work_cb;
	uv_uipc_after_cb after_cb;
	void *data;
	struct uv_uipc_work *next; /* in the pool's backlog */
};

struct uv_uipc_worker {
	pthread_t thread;
	struct uv_uipc_pool *pool;
	uipc_rx *rx;
	uipc_chan *jobs;    /* consumer: this worker */
	uipc_chan_tx *feed; /* producer: the loop */
	uipc_chan_tx *done; /* producer: this worker, to the loop */
	int err;
	pthread_barrier_t *ready;
};

struct uv_uipc_pool {
	uipc_ctx *ctx;
	uipc_rx *rx; /* the loop's */
	uipc_chan *done;
	struct uv_uipc src;
	struct uv_uipc_worker *w;
	unsigned n, next;
	uint64_t pending;
	/* Requests no worker ring had room for: the loop never blocks on a
	 * full ring (a worker may be blocked on the full answer ring, which
	 * only the loop empties), and the queue is unbounded, as libuv's. */
	struct uv_uipc_work *backlog, *backlog_tail;
};

#define UV_UIPC_POOL_SLOTS 4096u /* per worker; submitting more waits */

static void *uv_uipc__worker(void *arg)
{
	struct uv_uipc_worker *w = arg;
	struct uipc_chan_config cfg = {.msg_size = sizeof(void *), .capacity = UV_UIPC_POOL_SLOTS};
	struct uv_uipc_work *req;
	int r;

	/* The receiver belongs to the thread that waits on it. */
	w->err = uipc_rx_new(w->pool->ctx, 0, &w->rx);
	if (w->err == 0 && (w->err = uipc_chan_new(w->rx, 0, &cfg, &w->jobs)) < 0) {
		uipc_rx_free(w->rx);
		w->rx = NULL;
	}
	if (w->err == 0)
		w->err = uipc_chan_tx_new(w->pool->done, &w->done);
	pthread_barrier_wait(w->ready);
	while (w->err == 0) {
		r = uipc_chan_recv(w->jobs, &req, sizeof(req), UIPC_TIMEOUT_INFINITE);
		if (r == -EINTR)
			continue;
		if (r < 0 || req == NULL) /* NULL: stop */
			break;
		req->work_cb(req);
		r = uipc_chan_send_wait(w->done, &req, sizeof(req), UIPC_TIMEOUT_INFINITE);
		if (r < 0)
			break;
	}
	uipc_chan_tx_free(w->done);
	return NULL;
}

/* Hand req to a worker whose ring has room, round robin; false: all full. */
static bool uv_uipc__submit(struct uv_uipc_pool *p, struct uv_uipc_work *req)
{
	for (unsigned k = 0; k < p->n; k++) {
		struct uv_uipc_worker *w = &p->w[p->next++ % p->n];

		if (uipc_chan_send(w->feed, &req, sizeof(req)) == 0)
			return true;
	}
	return false;
}

static void uv_uipc__flush(struct uv_uipc_pool *p)
{
	while (p->backlog && uv_uipc__submit(p, p->backlog)) {
		p->backlog = p->backlog->next;
		if (!p->backlog)
			p->backlog_tail = NULL;
	}
}

static void uv_uipc__on_done(struct uv_uipc *u, uint64_t mask)
{
	struct uv_uipc_pool *p = u->data;
	struct uv_uipc_work *req[64];
	int n;

	(void)mask;
	while ((n = uipc_chan_recv_n(p->done, req, 64, sizeof(req), 0)) > 0) {
		for (int i = 0; i < n; i++) {
			if (--p->pending == 0)
				uv_uipc_ref(&p->src, false);
			req[i]->after_cb(req[i]);
		}
		uv_uipc__flush(p);
	}
}

static void uv_uipc_pool_stop(struct uv_uipc_pool *p);

/* On the loop's thread. nworkers threads; ctx NULL: the default context. */
static int uv_uipc_pool_init(uv_loop_t *loop, struct uv_uipc_pool *p, unsigned nworkers)
{
	struct uipc_chan_config cfg = {
	    .msg_size = sizeof(void *), .capacity = UV_UIPC_POOL_SLOTS, .flags = UIPC_CHAN_MPSC};
	pthread_barrier_t ready;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = uipc_ctx_new(NULL, &p->ctx)) < 0)
		return r;
	if ((r = uipc_rx_new(p->ctx, UIPC_RX_POLLABLE, &p->rx)) < 0 ||
	    (r = uipc_chan_new(p->rx, 0, &cfg, &p->done)) < 0 ||
	    (r = uv_uipc_init(loop, &p->src, p->rx, uv_uipc__on_done)) < 0 ||
	    !(p->w = calloc(nworkers, sizeof(*p->w)))) {
		uv_uipc_pool_stop(p);
		return r < 0 ? r : -ENOMEM;
	}
	p->src.data = p;
	pthread_barrier_init(&ready, NULL, nworkers + 1);
	for (unsigned i = 0; i < nworkers; i++) {
		p->w[i].pool = p;
		p->w[i].ready = &ready;
		if (pthread_create(&p->w[i].thread, NULL, uv_uipc__worker, &p->w[i]) != 0)
			abort(); /* the barrier counts on every worker */
		p->n++;
	}
	pthread_barrier_wait(&ready);
	pthread_barrier_destroy(&ready);
	for (unsigned i = 0; i < p->n && r == 0; i++)
		r = p->w[i].err < 0 ? p->w[i].err : uipc_chan_tx_new(p->w[i].jobs, &p->w[i].feed);
	if (r < 0)
		uv_uipc_pool_stop(p);
	return r;
}

/* As uv_queue_work(): on the loop's thread; never blocks. */
static int uv_uipc_queue_work(struct uv_uipc_pool *p, struct uv_uipc_work *req,
                              uv_uipc_work_cb work_cb, uv_uipc_after_cb after_cb)
{
	if (!p->n || !work_cb || !after_cb)
		return -EINVAL;
	req->work_cb = work_cb;
	req->after_cb = after_cb;
	req->next = NULL;
	if (p->backlog || !uv_uipc__submit(p, req)) {
		if (p->backlog_tail)
			p->backlog_tail->next = req;
		else
			p->backlog = req;
		p->backlog_tail = req;
	}
	if (p->pending++ == 0)
		uv_uipc_ref(&p->src, true);
	return 0;
}

/* Stop the workers (after what they were given) and free the pool; on the
 * loop's thread, with nothing outstanding. p must live until the loop ran
 * once more (its handles close then). */
static void uv_uipc_pool_stop(struct uv_uipc_pool *p)
{
	void *stop = NULL;

	for (unsigned i = 0; i < p->n; i++) {
		struct uv_uipc_worker *w = &p->w[i];

		/* After a failed init a worker may have a ring but no feed. */
		if (!w->feed && w->jobs)
			uipc_chan_tx_new(w->jobs, &w->feed);
		if (w->feed)
			uipc_chan_send_wait(w->feed, &stop, sizeof(stop), UIPC_TIMEOUT_INFINITE);
		pthread_join(w->thread, NULL);
		uipc_chan_tx_free(w->feed);
		uipc_chan_free(w->jobs);
		uipc_rx_free(w->rx);
	}
	if (p->src.live)
		uv_uipc_close(&p->src);
	uipc_chan_free(p->done);
	uipc_rx_free(p->rx);
	uipc_ctx_free(p->ctx);
	free(p->w);
	p->w = NULL;
	p->n = 0;
	p->done = NULL;
	p->rx = NULL;
	p->ctx = NULL;
}

#endif
