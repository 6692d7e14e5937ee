/* SPDX-License-Identifier: MIT */
/*
 * fork() racing capability creation left the receiver's end of the new
 * capability open in the child: it was made before it was recorded where
 * the fork child handler looks, so the child kept it, and after the
 * parent freed the receiver its senders never saw it gone while the idle
 * child lived (1-6 forks in 400). The same for a channel consumer's end of
 * a producer capability. Each round: a thread makes capabilities while the
 * main thread forks an idle child; then the parent frees the object and
 * every capability must have hung up.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "regress.h"

#define ROUNDS    400
#define FORKS     4                          /* idle children per round */
#define BUDGET_NS (8 * UINT64_C(1000000000)) /* a loop bound, not a check */
#define CAPS      60                         /* a channel has 64 at most */

struct maker {
	uipc_rx *rx;
	uipc_chan *chan;
	int caps[CAPS];
	int n;
	_Atomic bool started, stop;
};

static void *make(void *arg)
{
	struct maker *m = arg;

	atomic_store(&m->started, true);
	while (m->n < CAPS && !atomic_load(&m->stop)) {
		int fd = m->chan ? uipc_chan_cap(m->chan) : uipc_rx_cap(m->rx, 1);

		if (fd < 0)
			break;
		m->caps[m->n++] = fd;
	}
	return NULL;
}

static bool hung_up(int fd)
{
	struct pollfd p = {.fd = fd};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

static int round_(uipc_ctx *ctx, bool chan)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	struct maker m = {0};
	int gate, st, bad = 0;
	pid_t pids[FORKS];
	pthread_t t;

	t_check(uipc_rx_new(ctx, 0, &m.rx) == 0);
	if (chan)
		t_check(uipc_chan_new(m.rx, 2, &cfg, &m.chan) == 0);
	t_check(pthread_create(&t, NULL, make, &m) == 0);
	while (!atomic_load(&m.started))
		;
	t_check(t_fork_idle(pids, FORKS, &gate) == 0);
	atomic_store(&m.stop, true);
	pthread_join(t, NULL);
	if (m.chan)
		uipc_chan_free(m.chan);
	uipc_rx_free(m.rx);
	for (int i = 0; i < m.n; i++) {
		bad += !hung_up(m.caps[i]);
		close(m.caps[i]);
	}
	close(gate);
	for (int k = 0; k < FORKS; k++)
		t_check(waitpid(pids[k], &st, 0) == pids[k]);
	if (bad)
		fprintf(stderr, "%s: %d of %d capabilities still alive after the free\n",
		        chan ? "channel" : "receiver", bad, m.n);
	return bad ? T_FAIL : T_PASS;
}

int main(void)
{
	uint64_t end = t_now_ns() + BUDGET_NS;
	uipc_ctx *ctx;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	for (int i = 0; i < ROUNDS && t_now_ns() < end; i++) {
		if (round_(ctx, i & 1) != T_PASS) {
			fprintf(stderr, "round %d\n", i);
			return T_FAIL;
		}
	}
	uipc_ctx_free(ctx);
	return T_PASS;
}
