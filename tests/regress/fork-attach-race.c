/* SPDX-License-Identifier: MIT */
/*
 * fork() racing a producer's attach or detach left the producer's ring
 * lock in the child: the lock's descriptor was made before the producer
 * was registered for the fork child handler (and closed after it was
 * unregistered), so the child kept it, and every new SPSC producer got
 * -EBUSY until the child exited (for MPSC, the entry's dead claimer looked
 * alive). Each round: a thread attaches and detaches producers while the
 * main thread forks idle children; with the children alive (past their
 * fork handlers) and every producer detached, a new one must attach.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "regress.h"

#define ROUNDS    400
#define FORKS     4                          /* idle children per round */
#define BUDGET_NS (8 * UINT64_C(1000000000)) /* a loop bound, not a check */

struct churn {
	uipc_chan *c;
	_Atomic bool started, stop;
	int err;
};

static void *churn(void *arg)
{
	struct churn *ch = arg;
	uipc_chan_tx *p;

	atomic_store(&ch->started, true);
	while (!atomic_load(&ch->stop)) {
		int r = uipc_chan_tx_new(ch->c, &p);

		/* A child between fork() and its fork handler still holds a
		 * copy of the lock of the producer that was attached then:
		 * busy for that moment, not for the child's life. */
		if (r == -EBUSY)
			continue;
		if (r < 0) {
			ch->err = r;
			break;
		}
		uipc_chan_tx_free(p);
	}
	return NULL;
}

static int round_(uipc_chan *c, int i)
{
	struct churn ch = {.c = c};
	int gate, st, r;
	pid_t pids[FORKS];
	uipc_chan_tx *p;
	pthread_t t;

	t_check(pthread_create(&t, NULL, churn, &ch) == 0);
	while (!atomic_load(&ch.started))
		;
	t_check(t_fork_idle(pids, FORKS, &gate) == 0);
	atomic_store(&ch.stop, true);
	pthread_join(t, NULL);
	/* The children live and hold nothing of ours. */
	r = ch.err ? ch.err : uipc_chan_tx_new(c, &p);
	if (r != 0)
		fprintf(stderr, "round %d: uipc_chan_tx_new() = %d with the children alive\n", i,
		        r);
	else
		uipc_chan_tx_free(p);
	close(gate);
	for (int k = 0; k < FORKS; k++)
		t_check(waitpid(pids[k], &st, 0) == pids[k]);
	return r == 0 ? T_PASS : T_FAIL;
}

int main(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uint64_t end = t_now_ns() + BUDGET_NS;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_chan *c[2];

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 2, &cfg, &c[0]) == 0);
	cfg.flags = UIPC_CHAN_MPSC;
	t_check(uipc_chan_new(rx, 3, &cfg, &c[1]) == 0);
	for (int i = 0; i < ROUNDS && t_now_ns() < end; i++)
		if (round_(c[i & 1], i) != T_PASS)
			return T_FAIL;
	uipc_chan_free(c[0]);
	uipc_chan_free(c[1]);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
