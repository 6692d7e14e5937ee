/* SPDX-License-Identifier: MIT */
/*
 * spin-trap: does a ping-pong pair of uipc receivers settle into spinning?
 *
 * Two threads (CPUs 0 and 1) ping-pong through uipc_tx_notify() and
 * uipc_rx_wait(). Phase 1 measures the round trip from a cold start (the
 * receivers' first waits find nobody sending yet and block); then the ping
 * side stalls once for 2 ms, as a preemption would, and phase 2 measures
 * again. Run with the default adaptive spin and with a fixed spin of the
 * same bound. The adaptive budget, once at zero, grows again only after a
 * wait whose gap was at most half the bound (25 us); in a pair where both
 * sides block, each side's gap includes the other side's wake-up, so where
 * a blocked wake costs more than about 12 us (VMs: tens of us) the pair can
 * keep blocking for good while a fixed spin would answer in a cache-line
 * transfer.
 *
 *   spin-trap [round trips per phase]     (default 20000)
 *
 * Prints the p50 of each phase; exits 0 (a measurement, not a test).
 */
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uipc.h>

struct side {
	uipc_rx *rx;
	uipc_tx *to_peer;
	pthread_barrier_t *bar;
	struct side *peer;
};

static int trips = 20000;
static _Atomic int stop;
static enum uipc_spin_mode mode;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t phase(struct side *s, uint64_t *rtt)
{
	uint64_t mask;

	for (int i = 0; i < trips; i++) {
		uint64_t t0 = now_ns();

		uipc_tx_notify(s->to_peer);
		uipc_rx_wait(s->rx, UIPC_TIMEOUT_INFINITE, &mask);
		rtt[i] = now_ns() - t0;
	}
	qsort(rtt, (size_t)trips, sizeof(*rtt), cmp);
	return rtt[trips / 2];
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set); /* best effort */
}

static int open_side(struct side *s, uipc_ctx *ctx)
{
	int r = uipc_rx_new(ctx, 0, &s->rx);

	if (r == 0)
		r = uipc_rx_set_spin(s->rx, mode,
		                     mode == UIPC_SPIN_FIXED ? UIPC_SPIN_DEFAULT_MAX_NS : 0);
	pthread_barrier_wait(s->bar); /* both receivers exist */
	if (r == 0)
		r = uipc_tx_new(s->peer->rx, 0, &s->to_peer);
	pthread_barrier_wait(s->bar); /* both senders exist */
	return r;
}

static void *pong(void *arg)
{
	struct side *s = arg;
	uipc_ctx *ctx;
	uint64_t mask;

	pin(1);
	if (uipc_ctx_new(NULL, &ctx) < 0 || open_side(s, ctx) < 0)
		exit(1);
	for (;;) {
		uipc_rx_wait(s->rx, UIPC_TIMEOUT_INFINITE, &mask);
		if (atomic_load(&stop))
			break;
		uipc_tx_notify(s->to_peer);
	}
	pthread_barrier_wait(s->bar);
	uipc_tx_free(s->to_peer);
	pthread_barrier_wait(s->bar);
	uipc_rx_free(s->rx);
	uipc_ctx_free(ctx);
	return NULL;
}

static void run(const char *name)
{
	pthread_barrier_t bar;
	struct side a = {.bar = &bar}, b = {.bar = &bar};
	uint64_t *rtt = malloc((size_t)trips * sizeof(*rtt)), before, after;
	struct timespec stall = {0, 2000000};
	pthread_t th;
	uipc_ctx *ctx;

	a.peer = &b;
	b.peer = &a;
	atomic_store(&stop, 0);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&th, NULL, pong, &b);
	pin(0);
	if (!rtt || uipc_ctx_new(NULL, &ctx) < 0 || open_side(&a, ctx) < 0)
		exit(1);
	before = phase(&a, rtt);
	nanosleep(&stall, NULL); /* both sides block now */
	after = phase(&a, rtt);
	atomic_store(&stop, 1);
	uipc_tx_notify(a.to_peer);
	pthread_barrier_wait(&bar);
	uipc_tx_free(a.to_peer);
	pthread_barrier_wait(&bar);
	pthread_join(th, NULL);
	uipc_rx_free(a.rx);
	uipc_ctx_free(ctx);
	pthread_barrier_destroy(&bar);
	free(rtt);
	printf("%-28s round trip p50: %8.0f ns before the stall, %8.0f ns after\n", name,
	       (double)before, (double)after);
}

int main(int argc, char **argv)
{
	if (argc > 1 && (trips = atoi(argv[1])) < 100) {
		fprintf(stderr, "usage: spin-trap [round trips per phase, >= 100]\n");
		return 2;
	}
	mode = UIPC_SPIN_ADAPTIVE;
	run("adaptive (default, <= 50 us)");
	mode = UIPC_SPIN_FIXED;
	run("fixed 50 us");
	return 0;
}
