/* SPDX-License-Identifier: MIT */
/*
 * uipc_chan_tx_new(), uipc_chan_cap_send() and uipc_chan_tx_open_sock()
 * hold a producer capability of their own for a moment (made, or
 * received, then opened or sent, then closed). A fork() from another
 * thread in that moment left the child a copy that nothing closed: after
 * every producer was freed the consumer never saw -EPIPE while the idle
 * child lived (found by tests/harness-fork.c). Each round: a thread makes
 * and frees producers both ways while the main thread forks idle
 * children; then every producer is gone and the consumer must say so.
 * (The children close the test's own socket pair, which may hold a
 * capability in flight: once in about 20 runs, that copy kept a producer
 * capability alive, which no library can close for the program.)
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "regress.h"

#define ROUNDS    300
#define FORKS     4                          /* idle children per round */
#define BUDGET_NS (6 * UINT64_C(1000000000)) /* a loop bound, not a check */

struct maker {
	uipc_ctx *ctx;
	uipc_chan *chan;
	int sv[2];
	_Atomic bool started, stop;
	int err; /* why the thread stopped early */
};

/* The test's own socket pair, which may hold a capability in flight
 * (between cap_send and open_sock): a child's copy would keep that
 * capability alive, which is the test's doing, not the library's. The
 * children close it; what the library left them stays. */
static int pair[2] = {-1, -1};

static void child_close_pair(void)
{
	if (pair[0] >= 0)
		close(pair[0]);
	if (pair[1] >= 0)
		close(pair[1]);
}

static void *make(void *arg)
{
	struct maker *m = arg;
	uipc_chan_tx *p;
	unsigned i = 0;
	int r;

	atomic_store(&m->started, true);
	while (!atomic_load(&m->stop)) {
		if (i++ & 1) {
			r = uipc_chan_cap_send(m->chan, m->sv[0]);
			if (r == 0)
				r = uipc_chan_tx_open_sock(m->ctx, m->sv[1], &p);
		} else {
			r = uipc_chan_tx_new(m->chan, &p);
		}
		/* -EBUSY: a child between fork() and its handler holds the
		 * role's lock for a moment (uipc(7) FORK). */
		if (r == 0)
			uipc_chan_tx_free(p);
		else if (r != -EBUSY) {
			m->err = r;
			return NULL;
		}
	}
	return NULL;
}

static int round_(uipc_ctx *ctx)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	struct maker m = {.ctx = ctx};
	int gate, st, r;
	pid_t pids[FORKS];
	uipc_rx *rx;
	pthread_t t;

	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 2, &cfg, &m.chan) == 0);
	t_check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, m.sv) == 0);
	pair[0] = m.sv[0];
	pair[1] = m.sv[1];
	t_check(pthread_create(&t, NULL, make, &m) == 0);
	while (!atomic_load(&m.started))
		;
	t_check(t_fork_idle(pids, FORKS, &gate) == 0);
	atomic_store(&m.stop, true);
	pthread_join(t, NULL);
	/* The capability in flight, if any, goes with the sockets. */
	close(m.sv[0]);
	close(m.sv[1]);
	pair[0] = pair[1] = -1;
	r = uipc_chan_check(m.chan);
	close(gate);
	for (int k = 0; k < FORKS; k++)
		t_check(waitpid(pids[k], &st, 0) == pids[k]);
	uipc_chan_free(m.chan);
	uipc_rx_free(rx);
	if (r != -EPIPE)
		fprintf(stderr, "every producer freed, an idle child alive: check says %d (%d)\n",
		        r, m.err);
	return r == -EPIPE ? T_PASS : T_FAIL;
}

int main(void)
{
	uint64_t end = t_now_ns() + BUDGET_NS;
	uipc_ctx *ctx;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(pthread_atfork(NULL, NULL, child_close_pair) == 0);
	for (int i = 0; i < ROUNDS && t_now_ns() < end; i++) {
		if (round_(ctx) != T_PASS) {
			fprintf(stderr, "round %d\n", i);
			return T_FAIL;
		}
	}
	uipc_ctx_free(ctx);
	return T_PASS;
}
