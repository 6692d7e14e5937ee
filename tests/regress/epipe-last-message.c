/* SPDX-License-Identifier: MIT */
/*
 * Regression: a receive that found every producer gone said -EPIPE without
 * looking at the ring again, so the last producer's last message, published
 * just before it exited, was lost whenever it landed between the
 * consumer's look at the ring and its look at the producers. Found by
 * tests/harness-kill.c (its long run: the survivor's 32nd message).
 *
 * Built against the kill-point library, whose hook runs at the consumer's
 * "every producer gone?" check: there the producer sends its message and
 * exits. The receive must return that message, and -EPIPE only after it.
 */
#include <sys/wait.h>

#include "regress.h"

static int go[2] = {-1, -1};
static pid_t child = -1;

/* At the consumer's gone-check, once: the producer sends and dies. */
static void at_point(int point)
{
	int st;

	if (point != UIPC_KP_GONE_CHECK || child < 0)
		return;
	if (write(go[1], "g", 1) == 1)
		waitpid(child, &st, 0);
	child = -1;
}

int main(void)
{
	struct uipc_chan_config cfg = {
	    .size = sizeof(cfg), .msg_size = sizeof(uint64_t), .capacity = 8};
	uint64_t m = 0;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int cap, r;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 1, &cfg, &c) == 0);
	cap = uipc_chan_cap(c);
	t_check(cap >= 0 && pipe(go) == 0);
	child = fork();
	t_check(child >= 0);
	if (child == 0) {
		uipc_chan_tx *p;
		uint64_t last = 7;
		char g;

		if (uipc_chan_tx_open(ctx, cap, &p) < 0 || read(go[0], &g, 1) != 1)
			_exit(2);
		_exit(uipc_chan_send(p, &last, sizeof(last)) == 0 ? 0
		                                                  : 3); /* and the exit hangs up */
	}
	close(cap);
	usleep(50000); /* the producer has attached */
	uipc__kill_hook(at_point);
	/* Nothing comes in 50 ms; at the deadline the receive asks whether the
	 * producers are gone, and the hook sends the last message right then. */
	r = uipc_chan_recv(c, &m, sizeof(m), 50000000);
	uipc__kill_hook(NULL);
	if (r != 0)
		fprintf(stderr,
		        "the receive: %s, the producer's last message was left in the ring\n",
		        strerror(-r));
	t_check(r == 0 && m == 7);
	t_check(uipc_chan_recv(c, &m, sizeof(m), 50000000) == -EPIPE);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
