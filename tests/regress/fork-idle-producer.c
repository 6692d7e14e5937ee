/* SPDX-License-Identifier: MIT */
/*
 * A fork child kept its copy of an inherited producer's channel
 * capability, so while an idle child lived, a producer freed by the
 * parent (or a dead parent) still looked attached: the consumer never saw
 * -EPIPE, against uipc(7) FORK. Both a producer in the consumer's process
 * and one in another process that forks.
 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "regress.h"

/* Fork a child that idles until its pipe closes; returns its pid once the
 * child runs (the library's fork handlers have run in it by then). */
static pid_t idle_child(int *ret_wfd)
{
	int pfd[2], rfd[2];
	pid_t pid;
	char b;

	if (pipe(pfd) < 0 || pipe(rfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		close(rfd[0]);
		if (write(rfd[1], "r", 1) != 1)
			_exit(1);
		close(rfd[1]);
		while (read(pfd[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pfd[0]);
	close(rfd[1]);
	while (read(rfd[0], &b, 1) < 0 && errno == EINTR)
		;
	close(rfd[0]);
	*ret_wfd = pfd[1];
	return pid;
}

static int reap(pid_t pid, int wfd)
{
	close(wfd);
	return t_child_ok(pid, T_CHILD_MS, "the child") == T_PASS;
}

int main(void)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg), .msg_size = 8, .capacity = 8};
	int sv[2], wfd;
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uint64_t v = 7;
	pid_t pid, prod;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);

	/* 1. The producer in the consumer's process; an idle child. */
	t_check(uipc_chan_new(rx, 3, &cfg, &c) == 0);
	t_check(uipc_chan_tx_new(c, &p) == 0);
	pid = idle_child(&wfd);
	t_check(pid > 0);
	uipc_chan_tx_free(p);
	t_check(uipc_chan_check(c) == -EPIPE);
	t_check(uipc_chan_recv(c, &v, 8, 2000000000) == -EPIPE);
	/* And the role is free again (SPSC). */
	t_check(uipc_chan_tx_new(c, &p) == 0);
	uipc_chan_tx_free(p);
	t_check(reap(pid, wfd));
	uipc_chan_free(c);

	/* 2. The producer in another process, which forks an idle child,
	 * then frees its producer and exits. */
	t_check(uipc_chan_new(rx, 4, &cfg, &c) == 0);
	t_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	t_check(uipc_chan_cap_send(c, sv[0]) == 0);
	prod = fork();
	t_check(prod >= 0);
	if (prod == 0) {
		uipc_ctx *cctx;
		int w;

		if (uipc_ctx_new(NULL, &cctx) < 0 || uipc_chan_tx_open_sock(cctx, sv[1], &p) < 0)
			_exit(2);
		if (uipc_chan_send(p, &v, 8) < 0)
			_exit(3);
		/* The grandchild idles until the test ends (its pipe closes
		 * when every holder of the write end has exited). */
		if (idle_child(&w) < 0)
			_exit(4);
		uipc_chan_tx_free(p);
		uipc_ctx_free(cctx);
		_exit(0);
	}
	close(sv[1]);
	t_check(t_child_ok(prod, T_CHILD_MS, "the producer") == T_PASS);
	t_check(uipc_chan_recv(c, &v, 8, 2000000000) == 0 && v == 7);
	t_check(uipc_chan_recv(c, &v, 8, 2000000000) == -EPIPE);
	close(sv[0]);
	uipc_chan_free(c);

	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
