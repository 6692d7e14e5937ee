/* SPDX-License-Identifier: MIT */
/*
 * The adaptive spin held a CPU that the thread it waited for needed. With
 * both on one CPU (a process pinned to it, as event-loop users pin their
 * loop and its helper), the waiter spun its whole budget while the peer
 * that would answer sat runnable behind it: every wait cost the budget in
 * CPU and in latency, and the scheduler's tick, not the peer, ended it
 * (issue: a spin that never steals).
 *
 * Now the spin offers the CPU after a short while, and stops once a yield
 * shows another thread ran. Measured here as the waiter's own CPU time per
 * wait, against a budget of 2.5 ms. Before, a wait ran until the scheduler
 * preempted it, anywhere up to the whole budget: the costliest of 21 was
 * 2 to 3 ms in every run. The bound on the costliest is a fifth of the
 * budget, tens of times what a wait that yields costs (10 to 20 us).
 */
#include <pthread.h>
#include <sched.h>

#include "regress.h"

#define TRIALS 21

static _Atomic int go, quit;
static uipc_tx *tx;

static void *peer(void *arg)
{
	int seen = 0;

	(void)arg;
	while (!atomic_load(&quit)) {
		int k = atomic_load(&go);

		if (k == seen) {
			sched_yield(); /* runnable, never blocked: only the CPU is missing */
			continue;
		}
		seen = k;
		uipc_tx_notify(tx);
	}
	return NULL;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	uint64_t cpu[TRIALS], m, budget;
	cpu_set_t one;
	pthread_t th;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int here = sched_getcpu();

	CPU_ZERO(&one);
	CPU_SET(here < 0 ? 0 : here, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		return T_SKIP;
	t_check(uipc_ctx_new("futex", &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_rx_set_spin(rx, UIPC_SPIN_ADAPTIVE, UIPC_SPIN_MAX_NS) == 0);
	budget = rx->w.spin.budget_ns;
	t_check(uipc_tx_new(rx, 0, &tx) == 0);
	t_check(pthread_create(&th, NULL, peer, NULL) == 0);
	for (int k = 0; k < TRIALS; k++) {
		uint64_t t0 = thread_cpu_ns();
		int r;

		atomic_store(&go, k + 1);
		r = uipc_rx_wait(rx, 5000000000, &m);
		cpu[k] = thread_cpu_ns() - t0;
		t_check(r == 0 && m != 0);
	}
	atomic_store(&quit, 1);
	pthread_join(th, NULL);
	qsort(cpu, TRIALS, sizeof(cpu[0]), cmp);
	printf(
	    "waiter CPU per wait on a shared CPU: median %llu ns, max %llu ns (budget %llu ns)\n",
	    (unsigned long long)cpu[TRIALS / 2], (unsigned long long)cpu[TRIALS - 1],
	    (unsigned long long)budget);
	t_check(cpu[TRIALS - 1] < budget / 5);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
