/* SPDX-License-Identifier: MIT */
/*
 * uipc-rtt: round trip between two threads (pinned to CPUs 0 and 1), in
 * wait mode or in handler mode, for one backend. Not installed: it exists to
 * put the handler-mode round trip (signal, uintr) next to the wait-mode one
 * (futex) with the same loop.
 *
 *   uipc-rtt BACKEND wait    awake|blocked [ROUNDS]
 *   uipc-rtt BACKEND handler busy|sleep   [ROUNDS]
 *
 * wait/awake spins (fixed 10 ms budget), wait/blocked never spins; handler
 * mode interrupts a thread that either spins (busy) or sleeps in pause().
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uipc.h>

struct rtt {
	uipc_ctx *ctx;
	uipc_rx *rx_a, *rx_b;
	uipc_tx *to_a, *to_b;
	bool handler, spin, busy;
	int rounds;
	_Atomic int ready, count, done, err;
};

static struct rtt g;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* B answers A; A counts and serves again. Both run in the signal or
 * user-interrupt handler: only uipc_tx_notify() and atomics. */
static void on_b(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx, (void)mask, (void)data;
	uipc_tx_notify(g.to_a);
}

static void on_a(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx, (void)mask, (void)data;
	if (atomic_fetch_add(&g.count, 1) + 1 >= g.rounds)
		atomic_store(&g.done, 1);
	else
		uipc_tx_notify(g.to_b);
}

static int endpoint(uipc_rx **rx, uipc_tx **to_self, unsigned vector)
{
	int r = uipc_rx_new(g.ctx, 0, rx), fd;

	if (r == 0)
		r = uipc_rx_set_spin(*rx, g.spin ? UIPC_SPIN_FIXED : UIPC_SPIN_NONE,
		                     g.spin ? 10000000 : 0);
	/* Vector fds on the receiver's own thread: UINTR requires it. */
	fd = r == 0 ? uipc_rx_vector_fd(*rx, vector) : r;
	if (fd < 0)
		return fd;
	r = uipc_tx_connect(g.ctx, fd, to_self);
	close(fd);
	return r;
}

static void idle_until_done(void)
{
	while (!atomic_load(&g.done)) {
		if (g.busy) {
			for (volatile int i = 0; i < 100; i++)
				;
		} else {
			pause();
		}
	}
}

static void *thread_b(void *arg)
{
	uint64_t m;
	int r;

	(void)arg;
	pin(1);
	r = endpoint(&g.rx_b, &g.to_b, 1);
	if (r == 0 && g.handler)
		r = uipc_rx_set_handler(g.rx_b, on_b, NULL);
	atomic_store(&g.err, r);
	atomic_store(&g.ready, 1);
	if (r < 0)
		return NULL;
	if (g.handler)
		idle_until_done();
	while (!g.handler && !atomic_load(&g.done))
		if (uipc_rx_wait(g.rx_b, 100000000, &m) == 0)
			uipc_tx_notify(g.to_a);
	uipc_rx_set_handler(g.rx_b, NULL, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t t0, t1, m;
	pthread_t t;
	int r;

	if (argc < 4 || (strcmp(argv[2], "wait") && strcmp(argv[2], "handler"))) {
		fprintf(stderr, "usage: uipc-rtt BACKEND wait|handler awake|blocked|busy|sleep "
		                "[ROUNDS]\n");
		return 2;
	}
	g.handler = strcmp(argv[2], "handler") == 0;
	g.spin = strcmp(argv[3], "awake") == 0;
	g.busy = strcmp(argv[3], "busy") == 0;
	g.rounds = argc > 4 ? atoi(argv[4]) : 20000;
	if (g.rounds <= 0)
		return 2;
	r = uipc_ctx_new(argv[1], &g.ctx);
	if (r < 0) {
		fprintf(stderr, "uipc-rtt: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	pin(0);
	r = endpoint(&g.rx_a, &g.to_a, 2);
	if (r == 0)
		r = pthread_create(&t, NULL, thread_b, NULL) ? -EAGAIN : 0;
	while (r == 0 && !atomic_load(&g.ready))
		sched_yield();
	if (r == 0)
		r = atomic_load(&g.err);
	if (r == 0 && g.handler)
		r = uipc_rx_set_handler(g.rx_a, on_a, NULL);
	if (r < 0) {
		fprintf(stderr, "uipc-rtt: setup: %s\n", strerror(-r));
		return 1;
	}
	t0 = now_ns();
	if (g.handler) {
		uipc_tx_notify(g.to_b);
		idle_until_done();
	} else {
		for (int i = 0; i < g.rounds; i++) {
			uipc_tx_notify(g.to_b);
			while (uipc_rx_wait(g.rx_a, -1, &m) != 0)
				;
		}
		atomic_store(&g.done, 1);
	}
	t1 = now_ns();
	printf("%-10s %-7s %-7s %d round trips: %.2f us per round trip\n", argv[1], argv[2],
	       argv[3], g.rounds, (double)(t1 - t0) / 1000.0 / g.rounds);
	uipc_tx_notify(g.to_b); /* wakes B out of pause() or its wait */
	pthread_join(t, NULL);
	uipc_rx_set_handler(g.rx_a, NULL, NULL);
	return 0;
}
