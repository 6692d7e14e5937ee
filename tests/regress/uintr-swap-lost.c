/* SPDX-License-Identifier: MIT */
/*
 * A user interrupt that landed while the handler was being switched on or
 * off was lost (uintr). Switching rewrote the vector's route (where a
 * delivery's bit goes, and the callback), and disabled the route while it
 * did: a delivery in that window was counted and its bit dropped, so the
 * notify was never seen by the handler, a wait or a poll. Found by
 * tests/harness-handler.c (cell swap). Here senders notify in lockstep
 * (the next notify only once the last one was seen) while the owner flips
 * the handler on and off as fast as it can; each notify must be seen
 * within a generous bound. A child runs it, so a lost notify is a
 * failure, not a hang.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "regress.h"

#define LANES   2
#define LOST_NS INT64_C(5000000000)

static const unsigned vecs[LANES] = {3, 9};
static _Atomic uint64_t sent[LANES], got[LANES];
static _Atomic bool stop, lost;

static void count(uint64_t mask)
{
	for (unsigned i = 0; i < LANES; i++)
		if (mask & (UINT64_C(1) << vecs[i]))
			atomic_fetch_add(&got[i], 1);
}

static void on_vectors(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx;
	(void)data;
	count(mask);
}

static void *lane(void *arg)
{
	uipc_tx *tx = arg;
	unsigned i = uipc_tx_vector(tx) == vecs[0] ? 0 : 1;

	while (!atomic_load(&stop)) {
		uint64_t t0 = t_now_ns();

		atomic_fetch_add(&sent[i], 1);
		if (uipc_tx_notify(tx) != 0) {
			atomic_store(&lost, true);
			break;
		}
		while (atomic_load(&got[i]) != atomic_load(&sent[i])) {
			if (t_now_ns() - t0 > (uint64_t)LOST_NS) {
				fprintf(stderr, "vector %u: notify %llu never seen\n", vecs[i],
				        (unsigned long long)atomic_load(&sent[i]));
				atomic_store(&lost, true);
				return NULL;
			}
			sched_yield();
		}
	}
	return NULL;
}

static int child(void)
{
	uipc_tx *tx[LANES];
	pthread_t thr[LANES];
	uint64_t m, flips = 0;
	uipc_ctx *ctx;
	uipc_rx *rx;

	if (uipc_ctx_new("uintr-sim", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	for (unsigned i = 0; i < LANES; i++)
		t_check(uipc_tx_new(rx, vecs[i], &tx[i]) == 0);
	t_check(uipc_rx_set_handler(rx, on_vectors, NULL) == 0);
	for (unsigned i = 0; i < LANES; i++)
		t_check(pthread_create(&thr[i], NULL, lane, tx[i]) == 0);
	for (uint64_t end = t_now_ns() + 2000000000u; t_now_ns() < end && !atomic_load(&lost);
	     flips++) {
		t_check(uipc_rx_set_handler(rx, NULL, NULL) == 0);
		if (uipc_rx_poll(rx, &m) == 0)
			count(m);
		t_check(uipc_rx_set_handler(rx, on_vectors, NULL) == 0);
	}
	/* The handler is on: the lanes' last notifies come in by themselves. */
	atomic_store(&stop, true);
	for (unsigned i = 0; i < LANES; i++)
		pthread_join(thr[i], NULL);
	fprintf(stderr, "%llu flips, %llu + %llu notifies\n", (unsigned long long)flips,
	        (unsigned long long)sent[0], (unsigned long long)sent[1]);
	t_check(!atomic_load(&lost));
	t_check(uipc_rx_set_handler(rx, NULL, NULL) == 0);
	for (unsigned i = 0; i < LANES; i++)
		uipc_tx_free(tx[i]);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}

int main(void)
{
	return t_in_child(child, 30000, "the receiver never finished");
}
