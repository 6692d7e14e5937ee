/* SPDX-License-Identifier: MIT */
/*
 * uipc inside a libuv loop (examples/uv-uipc.h):
 *  1. a receiver as a loop source: a thread notifies it, the loop's callback
 *     runs (uv_poll_t on uipc_rx_fd(), armed in a uv_prepare_t, drained in
 *     the poll callback and a uv_check_t);
 *  2. a work pool with uv_queue_work()'s shape: work on pool threads, the
 *     after-callback on the loop thread, next to a libuv timer.
 *
 *   uv-work [items]       default 10000; exits 0 when every result is right
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "uv-uipc.h"

/* 1. A receiver in the loop -------------------------------------------------- */

struct ticker {
	uipc_tx *tx;
	int n;
};

static _Atomic int ticks_seen;

/* Notify until the loop saw 5 callbacks: however slow the machine, no
 * timing decides the outcome. */
static void *ticker_main(void *arg)
{
	struct ticker *t = arg;

	for (t->n = 0; atomic_load(&ticks_seen) < 5 && t->n < 1000000; t->n++) {
		uipc_tx_notify(t->tx); /* no syscall unless the loop sleeps */
		usleep(200);
	}
	return NULL;
}

static void on_tick(struct uv_uipc *u, uint64_t mask)
{
	/* Notifications coalesce: one callback may stand for several. */
	ticks_seen++;
	if (mask & 1)
		uv_uipc_ref(u, ticks_seen < 5); /* keep the loop until 5 callbacks */
}

static int receiver_demo(void)
{
	uv_loop_t *loop = uv_default_loop();
	struct ticker t = {0};
	struct uv_uipc src;
	pthread_t th;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int r;

	if ((r = uipc_ctx_new(NULL, &ctx)) < 0 ||
	    (r = uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx)) < 0 ||
	    (r = uipc_tx_new(rx, 0, &t.tx)) < 0 ||
	    (r = uv_uipc_init(loop, &src, rx, on_tick)) < 0) {
		fprintf(stderr, "uv-work: %s\n", strerror(-r));
		return 1;
	}
	uv_uipc_ref(&src, true);
	pthread_create(&th, NULL, ticker_main, &t);
	uv_run(loop, UV_RUN_DEFAULT); /* returns once on_tick unrefs */
	pthread_join(th, NULL);
	uv_uipc_close(&src);
	uv_run(loop, UV_RUN_DEFAULT);
	uipc_tx_free(t.tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	printf("uv-work: receiver: %d callbacks for %d notifies (coalesced while pending)\n",
	       atomic_load(&ticks_seen), t.n);
	return ticks_seen >= 5 ? 0 : 1;
}

/* 2. A work pool --------------------------------------------------------- */

struct item {
	struct uv_uipc_work req;
	uint64_t in, out;
	pthread_t ran_on;
};

static int done, wrong, on_loop_thread;
static pthread_t loop_thread;
static uint64_t timer_fired;

static void work(struct uv_uipc_work *req)
{
	struct item *it = (struct item *)req;
	uint64_t x = it->in;

	for (int i = 0; i < 100; i++) /* a little CPU work: xorshift */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	it->out = x;
	it->ran_on = pthread_self();
}

static void after(struct uv_uipc_work *req)
{
	struct item *it = (struct item *)req;
	uint64_t x = it->in;

	for (int i = 0; i < 100; i++)
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	wrong += it->out != x || pthread_equal(it->ran_on, loop_thread);
	on_loop_thread += pthread_equal(pthread_self(), loop_thread);
	done++;
}

static void on_timer(uv_timer_t *t)
{
	timer_fired++;
	(void)t;
}

static int pool_demo(int n)
{
	uv_loop_t *loop = uv_default_loop();
	struct uv_uipc_pool pool;
	struct item *items = calloc((size_t)n, sizeof(*items));
	uv_timer_t timer;
	int r;

	loop_thread = pthread_self();
	if (!items || (r = uv_uipc_pool_init(loop, &pool, 2)) < 0) {
		fprintf(stderr, "uv-work: pool: %s\n", items ? strerror(-r) : "no memory");
		return 1;
	}
	uv_timer_init(loop, &timer);
	uv_timer_start(&timer, on_timer, 1, 1);
	uv_unref((uv_handle_t *)&timer); /* the pool's work keeps the loop alive */
	for (int i = 0; i < n; i++) {
		items[i].in = (uint64_t)i * 2654435761u + 1;
		if ((r = uv_uipc_queue_work(&pool, &items[i].req, work, after)) < 0) {
			fprintf(stderr, "uv-work: queue: %s\n", strerror(-r));
			return 1;
		}
	}
	uv_run(loop, UV_RUN_DEFAULT); /* until every after() ran */
	uv_uipc_pool_stop(&pool);
	uv_close((uv_handle_t *)&timer, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	free(items);
	printf("uv-work: pool: %d/%d items done, %d wrong, %d after-callbacks on the loop thread, "
	       "timer fired %llu times meanwhile\n",
	       done, n, wrong, on_loop_thread, (unsigned long long)timer_fired);
	return done == n && wrong == 0 && on_loop_thread == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;

	if (n <= 0) {
		fprintf(stderr, "usage: uv-work [items]\n");
		return 2;
	}
	if (receiver_demo() != 0)
		return 1;
	return pool_demo(n) == 0 && uv_loop_close(uv_default_loop()) == 0 ? 0 : 1;
}
