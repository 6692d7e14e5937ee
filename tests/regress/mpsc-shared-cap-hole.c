/* SPDX-License-Identifier: MIT */
/*
 * Regression: an MPSC producer killed after claiming the whole ring and
 * before publishing any of it left the channel stuck when the other
 * producer shared its capability's description (both inherited it through
 * fork). The death showed no hang-up, the ring full of unpublished claims
 * gave the other producer nothing to publish, so nobody woke the consumer
 * to pass the dead producer's slots: the consumer and the other producer
 * both waited until their timeouts. Found by tests/harness-kill.c (MPSC,
 * send-n-written), about once in 150 trials of that point.
 *
 * The same when it dies after publishing the whole ring and before its
 * notify (found by the harness at publish-seq): the consumer sleeps beside
 * a full ring. Now a producer about to wait for space notifies the
 * consumer. Built against the kill-point library: the dying producer stops
 * at its first send_n write, or after its last publish store.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "regress.h"

#define CAP 8

static uipc_chan *chan;
static int got = -1;
static int kill_point = UIPC_KP_SEND_N_WRITTEN;
static unsigned long kill_skip;

static void *consumer(void *unused)
{
	uint64_t m = 0;

	(void)unused;
	got = uipc_chan_recv(chan, &m, sizeof(m), 5000000000);
	if (got == 0 && m != 42)
		got = -EBADMSG;
	return NULL;
}

/* A producer from the inherited capability; waits for a byte on @go first. */
static void producer(uipc_ctx *ctx, int cap, int go, bool dies)
{
	uint64_t m[CAP] = {42, 42, 42, 42, 42, 42, 42, 42};
	uipc_chan_tx *p;
	char c;

	if (uipc_chan_tx_open(ctx, cap, &p) < 0)
		_exit(2);
	close(cap);
	if (read(go, &c, 1) != 1)
		_exit(3);
	if (dies) {
		uipc__kill_arm(kill_point,
		               kill_skip); /* all claimed: one written, or all published */
		uipc_chan_send_n(p, m, CAP);
		_exit(4);
	}
	_exit(uipc_chan_send_wait(p, &m[0], sizeof(m[0]), 10000000000) == 0 ? 0 : 5);
}

static int one_case(void);

int main(void)
{
	int r = one_case();

	if (r != T_PASS)
		return r;
	kill_point = UIPC_KP_PUBLISH_SEQ;
	kill_skip = CAP - 1;
	return one_case();
}

static int one_case(void)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg),
	                               .msg_size = sizeof(uint64_t),
	                               .capacity = CAP,
	                               .flags = UIPC_CHAN_MPSC};
	int cap, go[2][2], st[2] = {0, 0};
	pid_t pid[2];
	uipc_ctx *ctx;
	pthread_t t;
	uipc_rx *rx;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 1, &cfg, &chan) == 0);
	cap = uipc_chan_cap(chan);
	t_check(cap >= 0);
	for (int i = 0; i < 2; i++) {
		t_check(pipe(go[i]) == 0);
		pid[i] = fork();
		t_check(pid[i] >= 0);
		if (pid[i] == 0)
			producer(ctx, cap, go[i][0], i == 0);
	}
	close(cap); /* the two producers share its description now */
	pthread_create(&t, NULL, consumer, NULL);
	usleep(100000); /* the consumer sleeps before anything is claimed */
	t_check(write(go[0][1], "g", 1) == 1);
	t_check(waitpid(pid[0], &st[0], 0) == pid[0] && WIFSIGNALED(st[0]) &&
	        WTERMSIG(st[0]) == SIGKILL);
	t_check(write(go[1][1], "g", 1) == 1);
	pthread_join(t, NULL);
	t_check(waitpid(pid[1], &st[1], 0) == pid[1]);
	if (got != 0)
		fprintf(stderr, "the consumer's receive: %s (the other producer %s)\n",
		        strerror(-got),
		        WIFEXITED(st[1]) && WEXITSTATUS(st[1]) == 0 ? "sent" : "timed out");
	t_check(got == 0);
	t_check(WIFEXITED(st[1]) && WEXITSTATUS(st[1]) == 0);
	uipc_chan_free(chan);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
