/* SPDX-License-Identifier: MIT */
/*
 * The signal backend took each kick's target thread from the descriptor,
 * which every sender can write: one sender could send every other sender's
 * kicks to another thread of the receiver's process, and the receiver slept
 * on. The target now lives in a page senders can only map read-only.
 */
#include <pthread.h>
#include <signal.h>

#include "regress.h"

struct shared {
	uipc_ctx *ctx;
	uipc_rx *rx;
	_Atomic int ready;
	_Atomic int decoy_tid;
	_Atomic int done;
	int rc;
	uint64_t mask;
};

static void *receiver(void *arg)
{
	struct shared *sh = arg;

	if (uipc_rx_new(sh->ctx, 0, &sh->rx) < 0) {
		sh->rc = -1;
		atomic_store(&sh->ready, -1);
		return NULL;
	}
	uipc_rx_set_spin(sh->rx, UIPC_SPIN_NONE, 0);
	atomic_store(&sh->ready, 1);
	sh->rc = uipc_rx_wait(sh->rx, -1, &sh->mask);
	atomic_store(&sh->done, 1);
	return NULL;
}

static void *decoy(void *arg)
{
	struct shared *sh = arg;

	atomic_store(&sh->decoy_tid, uipc__gettid());
	while (atomic_load(&sh->decoy_tid) > 0)
		t_sleep_ms(1);
	return NULL;
}

int main(void)
{
	struct shared sh = {0};
	pthread_t r, d;
	uipc_tx *tx;

	if (uipc_ctx_new("signal", &sh.ctx) < 0)
		return T_SKIP;
	t_check(pthread_create(&d, NULL, decoy, &sh) == 0);
	t_check(pthread_create(&r, NULL, receiver, &sh) == 0);
	while (!atomic_load(&sh.ready) || !atomic_load(&sh.decoy_tid))
		t_sleep_ms(1);
	t_check(atomic_load(&sh.ready) == 1);
	t_check(uipc_tx_new(sh.rx, 1, &tx) == 0);
	/* The receiver is asleep (armed), then let it get into its wait. */
	while (atomic_load(&sh.rx->desc->status) & UIPC_DESC_SN)
		t_sleep_ms(1);
	t_sleep_ms(50);
	/* A peer points kicks at the decoy thread. */
	sh.rx->desc->ndst = (uint32_t)atomic_load(&sh.decoy_tid);
	t_check(uipc_tx_notify(tx) == 0);
	/* Woken by that kick, or never (a hang detector, not a benchmark). */
	for (int i = 0; i < 5000 && !atomic_load(&sh.done); i++)
		t_sleep_ms(1);
	if (!atomic_load(&sh.done)) {
		fprintf(stderr, "the receiver slept through the kick\n");
		return T_FAIL;
	}
	pthread_join(r, NULL);
	atomic_store(&sh.decoy_tid, -1);
	pthread_join(d, NULL);
	t_check(sh.rc == 0);
	t_check(sh.mask == UINT64_C(1) << 1);

	uipc_tx_free(tx);
	uipc_rx_free(sh.rx);
	uipc_ctx_free(sh.ctx);
	return T_PASS;
}
