/* SPDX-License-Identifier: MIT */
/*
 * A libevent (2.1) loop woken by uipc instead of an eventfd.
 *
 * The recipe, for any callback loop that owns its sleep (libevent, ae, ...):
 *
 *  1. Register uipc_rx_fd() once, as a persistent read event.
 *  2. Keep the receiver armed whenever the loop may sleep. In the read
 *     callback: drain (take the vectors), handle them, arm again; if the
 *     arm says -EAGAIN, a notify came in meanwhile (it made no fd readable:
 *     the receiver was not armed), so drain and handle again, in the same
 *     callback, until an arm succeeds. Arm once before the first dispatch
 *     the same way.
 *  3. Nothing else. A receiver whose fd did not fire stays armed across
 *     other callbacks and sleeps: no drain, no syscall for it on those
 *     loop iterations. While armed, a notify costs the sender one kick;
 *     between drain and arm (inside the callback, the loop awake) it costs
 *     nothing and the arm's -EAGAIN finds it.
 *
 * Producer threads hand results to the loop through per-producer
 * mailboxes and notify it on their own vector.
 *
 *   libevent-loop [notifies]   (default 2000 a producer)
 *
 * It checks what the recipe promises and exits non-zero otherwise: every
 * notify handled (lockstep producers, each waits until its last one was
 * handled before the next), and an idle loop that stays asleep (no read
 * callback while nobody notifies).
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uipc.h>

#define PRODUCERS 3
#define LOST_NS   INT64_C(10000000000) /* a notify unhandled this long is lost */

struct producer {
	pthread_t thread;
	uipc_tx *tx;
	unsigned vector;
	long count;
	_Atomic long sent, handled;
	_Atomic bool failed;
};

static struct producer producers[PRODUCERS];
static uipc_rx *loop_rx;
static long callbacks, empty_callbacks;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (long i = 0; i < p->count; i++) {
		int64_t t0 = now_ns();

		atomic_fetch_add(&p->sent, 1);
		if (uipc_tx_notify(p->tx) < 0) {
			atomic_store(&p->failed, true);
			return NULL;
		}
		/* Lockstep: the next notify only once this one was handled. */
		while (atomic_load(&p->handled) < atomic_load(&p->sent)) {
			if (now_ns() - t0 > LOST_NS) {
				fprintf(stderr,
				        "libevent-loop: vector %u: notify %ld never handled\n",
				        p->vector, i);
				atomic_store(&p->failed, true);
				return NULL;
			}
			sched_yield();
		}
	}
	return NULL;
}

/* What a server would do with the vectors: here, count them. */
static void handle(uint64_t mask)
{
	for (unsigned i = 0; i < PRODUCERS; i++)
		if (mask & (UINT64_C(1) << producers[i].vector))
			atomic_store(&producers[i].handled, atomic_load(&producers[i].sent));
}

/* Drain, handle, arm; again while the arm says something came meanwhile. */
static int drain_and_arm(void)
{
	uint64_t mask;
	int r;

	do {
		r = uipc_rx_drain(loop_rx, &mask);
		if (r < 0)
			return r;
		handle(mask);
		r = uipc_rx_arm(loop_rx);
	} while (r == -EAGAIN);
	return r;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	uint64_t before = 0;

	(void)fd;
	(void)what;
	callbacks++;
	for (unsigned i = 0; i < PRODUCERS; i++)
		before += (uint64_t)atomic_load(&producers[i].handled);
	if (drain_and_arm() < 0) {
		fprintf(stderr, "libevent-loop: drain/arm failed\n");
		event_base_loopbreak(base);
	}
	for (unsigned i = 0; i < PRODUCERS; i++)
		before -= (uint64_t)atomic_load(&producers[i].handled);
	if (!before)
		empty_callbacks++;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	bool done = true;

	(void)fd;
	(void)what;
	for (unsigned i = 0; i < PRODUCERS; i++)
		done &= atomic_load(&producers[i].failed) ||
		        atomic_load(&producers[i].handled) == producers[i].count;
	if (done)
		event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 2000;
	struct timeval tick = {0, 10000}, idle = {0, 300000};
	struct event *rev, *tev;
	struct event_base *base;
	long total = 0, idle_callbacks;
	uipc_ctx *ctx;
	bool ok = true;
	int r;

	if (count <= 0) {
		fprintf(stderr, "usage: libevent-loop [notifies]\n");
		return 2;
	}
	if ((r = uipc_ctx_new(NULL, &ctx)) < 0 ||
	    (r = uipc_rx_new(ctx, UIPC_RX_POLLABLE, &loop_rx)) < 0) {
		fprintf(stderr, "libevent-loop: %s\n", strerror(-r));
		return 1;
	}
	base = event_base_new();
	if (!base) {
		fprintf(stderr, "libevent-loop: event_base_new failed\n");
		return 1;
	}
	/* 1. One persistent read event on the receiver's fd. */
	rev = event_new(base, uipc_rx_fd(loop_rx), EV_READ | EV_PERSIST, on_readable, base);
	tev = event_new(base, -1, EV_PERSIST, on_tick, base);
	if (!rev || !tev || event_add(rev, NULL) < 0 || event_add(tev, &tick) < 0) {
		fprintf(stderr, "libevent-loop: event_new/event_add failed\n");
		return 1;
	}
	/* 2. Armed before the loop first sleeps. */
	if ((r = drain_and_arm()) < 0) {
		fprintf(stderr, "libevent-loop: arm: %s\n", strerror(-r));
		return 1;
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		struct producer *p = &producers[i];

		p->vector = 5 * i + 1;
		p->count = count;
		if ((r = uipc_tx_new(loop_rx, p->vector, &p->tx)) < 0) {
			fprintf(stderr, "libevent-loop: sender: %s\n", strerror(-r));
			return 1;
		}
		pthread_create(&p->thread, NULL, producer_main, p);
	}
	event_base_dispatch(base);
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pthread_join(producers[i].thread, NULL);
		ok &= !atomic_load(&producers[i].failed) &&
		      atomic_load(&producers[i].handled) == count;
		total += atomic_load(&producers[i].handled);
	}
	printf("libevent-loop (%s backend): %ld of %ld notifies handled in %ld read callbacks "
	       "(%ld found nothing new)\n",
	       uipc_rx_backend_name(loop_rx), total, count * PRODUCERS, callbacks, empty_callbacks);

	/* 3. Idle: nobody notifies; the loop sleeps through without a read
	 * callback (a receiver left readable would run it again and again). */
	event_del(tev);
	idle_callbacks = callbacks;
	event_base_loopexit(base, &idle);
	event_base_dispatch(base);
	idle_callbacks = callbacks - idle_callbacks;
	printf("libevent-loop: %ld read callbacks in 300 ms of idle\n", idle_callbacks);
	ok &= idle_callbacks == 0;

	for (unsigned i = 0; i < PRODUCERS; i++)
		uipc_tx_free(producers[i].tx);
	event_free(rev);
	event_free(tev);
	event_base_free(base);
	uipc_rx_free(loop_rx);
	uipc_ctx_free(ctx);
	return ok ? 0 : 1;
}
