/* SPDX-License-Identifier: MIT */
/*
 * A uipc receiver in a callback event loop with before/after-sleep hooks,
 * the shape of Redis's ae or libevent: the loop calls a hook before it
 * sleeps in epoll_wait(), then the callbacks of the fds that fired, then a
 * hook after the sleep. Worker threads hand results to the loop through
 * per-worker counters and wake it with uipc instead of an eventfd.
 *
 * The recipe (uipc(7), Event loops):
 *   before sleep: uipc_rx_arm(); on -EAGAIN the loop must not block
 *                 (this loop's "don't wait" flag: epoll_wait with timeout 0)
 *   after sleep:  uipc_rx_drain() and dispatch the mask, whether the fd's
 *                 callback ran or not: a notify while the loop was awake
 *                 left its bit in the descriptor and made no fd readable.
 * So the fd's own callback has nothing to do: the after-sleep hook takes
 * every pending vector. With an in-process pair (uipc_tx_new()), a notify
 * to the awake loop costs no system call, a wake one write, its drain one
 * read, and an iteration with nothing for the receiver none.
 *
 *   hooks-loop [ITEMS]   workers post ITEMS results each; exits 0 when the
 *                        loop took exactly what was posted
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <uipc.h>

#define WORKERS 4

/* A minimal callback loop. ------------------------------------------------ */

struct loop;
typedef void (*fd_cb)(struct loop *l, int fd, void *data);
typedef void (*hook_fn)(struct loop *l);

struct loop {
	int ep;
	bool stop;
	bool dont_wait; /* the before-sleep hook says: poll, do not block */
	int timeout_ms; /* a "timer": the loop wakes at least this often */
	hook_fn before_sleep, after_sleep;
	struct {
		int fd;
		fd_cb cb;
		void *data;
	} fds[8];
	unsigned nfds;
	unsigned long iterations, fired;
};

static int loop_add(struct loop *l, int fd, fd_cb cb, void *data)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = l->nfds};

	if (l->nfds == 8 || epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	l->fds[l->nfds].fd = fd;
	l->fds[l->nfds].cb = cb;
	l->fds[l->nfds].data = data;
	l->nfds++;
	return 0;
}

static void loop_run(struct loop *l)
{
	struct epoll_event ev[8];

	while (!l->stop) {
		int n;

		l->dont_wait = false;
		if (l->before_sleep)
			l->before_sleep(l);
		n = epoll_wait(l->ep, ev, 8, l->dont_wait ? 0 : l->timeout_ms);
		for (int i = 0; i < n; i++) {
			unsigned k = ev[i].data.u32;

			l->fds[k].cb(l, l->fds[k].fd, l->fds[k].data);
		}
		if (l->after_sleep)
			l->after_sleep(l);
		l->iterations++;
	}
}

/* The application. -------------------------------------------------------- */

struct app {
	uipc_rx *rx;
	uipc_tx *tx[WORKERS];
	_Atomic unsigned long posted[WORKERS]; /* written by worker i */
	unsigned long taken[WORKERS];          /* the loop's */
	unsigned long items;
	pthread_t th[WORKERS];
} app;

static void *worker(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	for (unsigned long k = 0; k < app.items; k++) {
		/* The result first, then the notify (release: uipc(7),
		 * MEMORY ORDERING). */
		atomic_fetch_add_explicit(&app.posted[i], 1, memory_order_release);
		if (uipc_tx_notify(app.tx[i]) < 0)
			return (void *)1;
		if (k % 64 == 0)
			usleep(100); /* sometimes the loop goes to sleep */
	}
	return NULL;
}

static void before_sleep(struct loop *l)
{
	/* Bits already pending: the fd may never fire for them. */
	if (uipc_rx_arm(app.rx) == -EAGAIN)
		l->dont_wait = true;
}

static void after_sleep(struct loop *l)
{
	unsigned long all = 0;
	uint64_t mask;

	/* Fired or not: take what is pending (free when nothing is). */
	if (uipc_rx_drain(app.rx, &mask) < 0)
		abort();
	for (unsigned i = 0; i < WORKERS; i++) {
		if (mask & (UINT64_C(1) << i))
			app.taken[i] = atomic_load_explicit(&app.posted[i], memory_order_acquire);
		all += app.taken[i];
	}
	if (all == WORKERS * app.items)
		l->stop = true;
}

/* The receiver's fd fired: the after-sleep hook does the work. */
static void uipc_fired(struct loop *l, int fd, void *data)
{
	(void)fd;
	(void)data;
	l->fired++;
}

int main(int argc, char **argv)
{
	struct loop l = {.timeout_ms = 1, .before_sleep = before_sleep, .after_sleep = after_sleep};
	uipc_ctx *ctx;
	int r, bad = 0;

	app.items = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.ep < 0 || uipc_ctx_new(NULL, &ctx) < 0 ||
	    uipc_rx_new(ctx, UIPC_RX_POLLABLE, &app.rx) < 0) {
		fprintf(stderr, "hooks-loop: set-up failed\n");
		return 1;
	}
	for (unsigned i = 0; i < WORKERS; i++) {
		r = uipc_tx_new(app.rx, i, &app.tx[i]);
		if (r < 0) {
			fprintf(stderr, "hooks-loop: uipc_tx_new: %s\n", strerror(-r));
			return 1;
		}
	}
	if (loop_add(&l, uipc_rx_fd(app.rx), uipc_fired, NULL) < 0)
		return 1;
	for (unsigned i = 0; i < WORKERS; i++)
		pthread_create(&app.th[i], NULL, worker, (void *)(uintptr_t)i);
	loop_run(&l);
	for (unsigned i = 0; i < WORKERS; i++) {
		void *ret;

		pthread_join(app.th[i], &ret);
		bad |= ret != NULL;
		bad |= app.taken[i] != app.items;
	}
	printf("hooks-loop: %u workers x %lu results, %lu loop iterations, the fd fired %lu "
	       "times (backend %s)\n",
	       WORKERS, app.items, l.iterations, l.fired, uipc_rx_backend_name(app.rx));
	for (unsigned i = 0; i < WORKERS; i++)
		uipc_tx_free(app.tx[i]);
	uipc_rx_free(app.rx);
	uipc_ctx_free(ctx);
	close(l.ep);
	return bad;
}
