/* SPDX-License-Identifier: MIT */
/*
 * Freeing a handler-mode receiver from another thread (uintr), two defects:
 *  - masked, it left its owner thread deaf for good: masking was CLUI, UIF
 *    is the thread's, and only that thread can set it again, so the
 *    thread's next handler receiver never ran its handler (the uintr twin
 *    of signal-free-masked);
 *  - unmasked, the owner thread's route still pointed at the freed
 *    receiver, so the next user interrupt (a sender that still had the
 *    vector) wrote into its unmapped descriptor and called its handler:
 *    the process died.
 * Masking is now a flag of the receiver, and a free on another thread
 * disables the owner's routes once no interrupt uses them. Found by
 * tests/harness-handler.c (cell free). A child runs it, so a crash is a
 * failure.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "regress.h"

static _Atomic bool hammer_stop;

static void *hammer(void *arg)
{
	while (!atomic_load(&hammer_stop) && uipc_tx_notify(arg) == 0)
		sched_yield();
	return NULL;
}

/* A pause that a storm of interrupts cannot stretch. */
static void pause_ms(unsigned ms)
{
	for (uint64_t end = t_now_ns() + ms * UINT64_C(1000000); t_now_ns() < end;)
		sched_yield();
}

static int free_elsewhere(uipc_rx *rx)
{
	pthread_t t;

	t_check(pthread_create(&t, NULL, t_rx_free_thread, rx) == 0);
	t_check(pthread_join(t, NULL) == 0);
	return 0;
}

static int child(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx, *stale;
	int r;

	if (uipc_ctx_new("uintr-sim", &ctx) < 0)
		return T_SKIP;

	/* Unmasked, with a sender notifying as the free happens. */
	for (int round = 0; round < 20; round++) {
		pthread_t h;

		t_check(uipc_rx_new(ctx, 0, &rx) == 0);
		t_check(uipc_tx_new(rx, 4, &stale) == 0);
		t_check(uipc_rx_set_handler(rx, t_count_call, NULL) == 0);
		atomic_store(&hammer_stop, false);
		t_check(pthread_create(&h, NULL, hammer, stale) == 0);
		pause_ms(2);
		if (free_elsewhere(rx))
			return T_FAIL;
		pause_ms(2); /* deliveries still in flight land after the free */
		atomic_store(&hammer_stop, true);
		t_check(pthread_join(h, NULL) == 0);
		r = uipc_tx_notify(stale);
		t_check(r == 0 || r == -EPIPE);
		uipc_tx_free(stale);
	}
	atomic_store(&t_calls, 1);

	/* Masked: the thread's next handler receiver must still hear. */
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_rx_set_handler(rx, t_count_call, NULL) == 0);
	t_check(uipc_rx_mask(rx) == 0);
	if (free_elsewhere(rx))
		return T_FAIL;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_tx_new(rx, 1, &tx) == 0);
	t_check(uipc_rx_set_handler(rx, t_count_call, NULL) == 0);
	t_check(uipc_tx_notify(tx) == 0);
	for (int i = 0; i < 2000 && atomic_load(&t_calls) < 2; i++)
		t_sleep_ms(1);
	if (atomic_load(&t_calls) < 2) {
		fprintf(stderr, "the thread stayed masked: no handler ran\n");
		return T_FAIL;
	}
	t_check(uipc_rx_set_handler(rx, NULL, NULL) == 0);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}

int main(void)
{
	return t_in_child(child, 60000, "the receiver never finished");
}
