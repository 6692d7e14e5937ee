/* SPDX-License-Identifier: MIT */
/*
 * Minimal two-process ping-pong: each process owns a receiver, hands the
 * other a capability for one vector over a unix socket, and they bounce a
 * notification back and forth.
 *
 *   pingpong [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uipc.h>

static int die(const char *what, int err)
{
	fprintf(stderr, "pingpong: %s: %s\n", what, strerror(-err));
	return 1;
}

/* Set up one side: a receiver, our capability sent, the peer's received. */
static int side_init(int sock, uipc_ctx **ctx, uipc_rx **rx, uipc_tx **tx)
{
	int r, cap;

	if ((r = uipc_ctx_new(NULL, ctx)) < 0 || (r = uipc_rx_new(*ctx, 0, rx)) < 0)
		return r;
	cap = uipc_rx_cap(*rx, 0);
	if (cap < 0)
		return cap;
	r = uipc_cap_send(sock, cap);
	close(cap);
	if (r < 0 || (r = uipc_cap_recv(sock, &cap)) < 0)
		return r;
	r = uipc_tx_open(*ctx, cap, tx);
	close(cap);
	return r;
}

static void side_fini(uipc_ctx *ctx, uipc_rx *rx, uipc_tx *tx)
{
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
}

static int run(int sock, long rounds, int serve)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	struct timespec a, b;
	uint64_t m;
	int r;

	if ((r = side_init(sock, &ctx, &rx, &tx)) < 0)
		return die("setup", r);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < rounds; i++) {
		if (!serve && (r = uipc_tx_notify(tx)) < 0)
			return die("notify", r);
		if ((r = uipc_rx_wait(rx, 5000000000, &m)) < 0)
			return die("wait", r);
		if (serve && (r = uipc_tx_notify(tx)) < 0)
			return die("notify", r);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!serve) {
		double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
		printf("%ld round trips between two processes over %s: %.0f ns each\n", rounds,
		       uipc_rx_backend_name(rx), ns / (double)rounds);
	}
	side_fini(ctx, rx, tx);
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 100000;
	int sv[2], st, rc;
	pid_t pid;

	if (rounds <= 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fprintf(stderr, "usage: pingpong [rounds > 0]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0)
		return die("fork", -1);
	if (pid == 0) {
		close(sv[0]);
		_exit(run(sv[1], rounds, 1));
	}
	close(sv[1]);
	rc = run(sv[0], rounds, 0);
	close(sv[0]);
	if (waitpid(pid, &st, 0) < 0)
		return 1;
	return rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
