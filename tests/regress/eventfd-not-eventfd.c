/* SPDX-License-Identifier: MIT */
/*
 * A hostile receiver could kill its eventfd senders: a vector capability
 * whose eventfd was another kind of file was accepted, as long as it was
 * non-blocking. A pipe or a stream socket with nobody reading made the
 * sender's kick raise SIGPIPE, whose default action ends the sender's
 * process (a file of a FUSE mount the receiver serves could block the
 * kick, whatever its flags). Found by tests/harness-hostile.c. A sender
 * now connects only to an eventfd (-EINVAL otherwise). The sender runs in
 * a child with SIGPIPE at its default action.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "regress.h"

/* The receiver's capability, with fd where its eventfd goes. */
static int hostile_cap(uipc_rx *rx, int fd, int *ret_peer)
{
	struct uipc__cap_vector cv = {.vector = 3, .backend = UIPC_BACKEND_EVENTFD};
	int fds[2] = {rx->memfd, fd};

	return uipc__cap_create(UIPC_CAP_KIND_VECTOR, &cv, sizeof(cv), fds, 2, ret_peer);
}

static int try_fd(uipc_ctx *ctx, uipc_rx *rx, int fd, const char *what)
{
	uipc_tx *tx;
	pid_t pid;
	int cap, peer, st;

	cap = hostile_cap(rx, fd, &peer);
	t_check(cap >= 0);
	pid = fork();
	t_check(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		alarm(5);
		if (uipc_tx_open(ctx, cap, &tx) < 0)
			_exit(0); /* refused */
		for (int i = 0; i < 4; i++) {
			atomic_store(&tx->desc->status, 0); /* armed: the notify kicks */
			(void)uipc_tx_notify(tx);
		}
		_exit(2); /* accepted a capability that is not an eventfd's */
	}
	t_check(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		fprintf(stderr, "%s: the sender died of signal %d\n", what, WTERMSIG(st));
	else if (WEXITSTATUS(st))
		fprintf(stderr, "%s: the sender connected\n", what);
	close(cap);
	close(peer);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? T_PASS : T_FAIL;
}

int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	int p[2], s[2], rc = T_PASS;

	if (uipc_ctx_new("eventfd", &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	close(p[0]);
	t_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, s) == 0);
	close(s[1]);
	rc |= try_fd(ctx, rx, p[1], "a pipe");
	rc |= try_fd(ctx, rx, s[0], "a socket");
	close(p[1]);
	close(s[0]);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return rc ? T_FAIL : T_PASS;
}
