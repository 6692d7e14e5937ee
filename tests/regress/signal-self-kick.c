/* SPDX-License-Identifier: MIT */
/*
 * A hostile receiver made its sender signal itself (signal backend). The
 * sender took "is the receiver in my process?" from the descriptor's pid,
 * which the receiver writes: with the sender's own pid there, the sender
 * skipped the SO_PEERCRED check and tgkill()ed the tid and signal of the
 * receiver's page, here its own main thread and SIGRTMAX (whose default
 * action ends the process). Now the process comes from the capability
 * socket's credentials, the signal is the backend's own, and a kick only
 * reaches threads of that process.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "regress.h"

enum { LIE_PID, LIE_SIGNAL, LIE_TID, LIES };

/* What a hostile receiver hands out: its descriptor, and a target page of
 * its own making (sealed as the library wants it). */
static int hostile_cap(uipc_rx *rx, pid_t victim, int lie)
{
	struct uipc__cap_vector cv = {.vector = 3, .backend = UIPC_BACKEND_SIGNAL};
	uint32_t *page;
	int fds[2], peer, cap, fd;

	fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return -1;
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED)
		return -1;
	page[0] = lie == LIE_TID ? (uint32_t)(SIGRTMIN + 4) : (uint32_t)SIGRTMAX;
	page[1] = (uint32_t)victim; /* the sender's main thread */
	if (fcntl(fd, F_ADD_SEALS,
	          F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		return -1;
	if (lie == LIE_PID)
		rx->desc->pid = victim;
	/* Armed: the sender's notify wins ON and kicks. */
	atomic_store(&rx->desc->status, 0);
	fds[0] = rx->memfd;
	fds[1] = fd;
	cap = uipc__cap_create(UIPC_CAP_KIND_VECTOR, &cv, sizeof(cv), fds, 2, &peer);
	uipc__close(fd);
	return cap; /* peer stays open: the receiver looks alive */
}

static int sender(int sock)
{
	uipc_ctx *ctx;
	uipc_tx *tx;
	int cap, r;

	if (uipc_ctx_new("signal", &ctx) < 0 || uipc_cap_recv(sock, &cap) < 0)
		return 2;
	r = uipc_tx_open(ctx, cap, &tx);
	if (r == 0) {
		r = uipc_tx_notify(tx);
		uipc_tx_free(tx);
	}
	fprintf(stderr, "sender: %d\n", r);
	return 0; /* alive: whatever the result, it did not signal itself */
}

static int one_case(uipc_ctx *ctx, int lie)
{
	int sock, cap;
	uipc_rx *rx;
	pid_t pid;

	pid = t_fork_sock(&sock);
	t_check(pid >= 0);
	if (pid == 0)
		_exit(sender(sock));
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	cap = hostile_cap(rx, pid, lie);
	t_check(cap >= 0);
	t_check(uipc_cap_send(sock, cap) == 0);
	if (t_child_ok(pid, T_CHILD_MS, "the sender") != T_PASS) {
		fprintf(stderr, "case %d: the sender failed\n", lie);
		return T_FAIL;
	}
	close(cap);
	close(sock);
	uipc_rx_free(rx);
	return T_PASS;
}

int main(void)
{
	uipc_ctx *ctx;
	int rc = T_PASS;

	if (uipc_ctx_new("signal", &ctx) < 0)
		return T_SKIP;
	for (int lie = 0; lie < LIES; lie++)
		if (one_case(ctx, lie) != T_PASS)
			rc = T_FAIL;
	uipc_ctx_free(ctx);
	return rc;
}
