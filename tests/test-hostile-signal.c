/* SPDX-License-Identifier: MIT */
/*
 * Hostile receivers, signal backend: the receiver writes any shared byte
 * (its descriptor's two lines, and the target page that tells senders where
 * kicks go) before the sender connects and while it notifies. Whatever it
 * writes, the sender never crashes, never waits past its timeout, and never
 * signals anything but the receiver's threads: not itself and not a
 * bystander process (both would die of a real-time signal's default
 * action, which is how this harness sees it).
 *
 *   test-hostile-signal [rounds] [seed]     (default: 200 rounds, seed from time)
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "regress/regress.h"

#define NOTIFIES 200

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A value a hostile receiver would like: someone's pid, a signal, junk. */
static uint32_t pick(pid_t victim, pid_t bystander)
{
	static const int32_t junk[] = {0, -1, 1, INT32_MIN, INT32_MAX};

	switch (rnd() % 8) {
	case 0:
		return (uint32_t)victim;
	case 1:
		return (uint32_t)bystander;
	case 2:
		return (uint32_t)getpid();
	case 3:
		return (uint32_t)(SIGRTMIN + 4);
	case 4:
		return (uint32_t)(SIGRTMIN + rnd() % (unsigned)(SIGRTMAX - SIGRTMIN + 1));
	case 5:
		return (uint32_t)junk[rnd() % 5];
	case 6:
		return (uint32_t)SIGKILL;
	default:
		return rnd();
	}
}

/* Any word, or (half the time) one a sender reads: the status word, pir,
 * ndst, pid, tid, backend_data[0] of the descriptor; the page's two. */
static void scribble(uint32_t *w, unsigned nwords, pid_t victim, pid_t bystander)
{
	static const unsigned hot[] = {0, 1, 2, 3, 19, 20, 21};
	unsigned n = 1 + rnd() % 4, i;

	for (unsigned k = 0; k < n; k++) {
		if (nwords > 4 && rnd() % 2)
			i = hot[rnd() % 7];
		else
			i = rnd() % nwords;
		w[i] = pick(victim, bystander);
	}
}

static int sender(int sock)
{
	uipc_ctx *ctx;
	uipc_tx *tx;
	int cap;

	if (uipc_ctx_new("signal", &ctx) < 0 || uipc_cap_recv(sock, &cap) < 0)
		return 2;
	if (uipc_tx_connect(ctx, cap, &tx) == 0) {
		for (int i = 0; i < NOTIFIES; i++)
			(void)uipc_tx_notify(tx);
		(void)uipc_tx_check(tx);
		uipc_tx_free(tx);
	}
	return 0;
}

/* Reap pid within 10 s (a notify never blocks: 200 of them are quick). */
static int reap(pid_t pid, const char *who)
{
	int status;

	for (int i = 0; i < 10000; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			if (WIFSIGNALED(status)) {
				fprintf(stderr, "%s died of signal %d\n", who, WTERMSIG(status));
				return -1;
			}
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
		}
		t_sleep_ms(1);
	}
	fprintf(stderr, "%s hangs\n", who);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static bool running(pid_t pid)
{
	siginfo_t si = {0};

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

static int round_one(uipc_ctx *ctx, pid_t bystander)
{
	struct uipc__cap_vector cv = {.vector = rnd() % 64, .backend = UIPC_BACKEND_SIGNAL};
	int sv[2], fds[2], peer, cap, fd, r;
	uint32_t *page;
	uipc_rx *rx;
	pid_t pid;

	t_check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	pid = fork();
	t_check(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(sender(sv[1]));
	}
	close(sv[1]);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	/* The receiver's own page, honest at first, sealed as the library
	 * wants; it keeps its writable mapping. */
	fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	t_check(fd >= 0 && ftruncate(fd, 4096) == 0);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_check(page != MAP_FAILED);
	page[0] = (uint32_t)(SIGRTMIN + 4);
	page[1] = (uint32_t)uipc__gettid();
	t_check(fcntl(fd, F_ADD_SEALS,
	              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) == 0);
	scribble((uint32_t *)rx->desc, 32, pid, bystander);
	scribble(page, 4, pid, bystander);
	fds[0] = rx->memfd;
	fds[1] = fd;
	cap = uipc__cap_create(UIPC_CAP_KIND_VECTOR, &cv, sizeof(cv), fds, 2, &peer);
	t_check(cap >= 0);
	t_check(uipc_cap_send(sv[0], cap) == 0);
	/* While it connects and notifies: keep writing, and keep arming. */
	for (int i = 0; i < 200 && running(pid); i++) {
		scribble((uint32_t *)rx->desc, 32, pid, bystander);
		scribble(page, 4, pid, bystander);
		atomic_store(&rx->desc->status, rnd() % 8);
		if (i % 16 == 0)
			t_sleep_ms(1);
	}
	r = reap(pid, "the sender");
	munmap(page, 4096);
	close(fd);
	close(cap);
	close(peer);
	close(sv[0]);
	uipc_rx_free(rx);
	return r == 0 ? T_PASS : T_FAIL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)t_now_ns();
	uipc_ctx *ctx;
	pid_t bystander;
	int rc = T_PASS;

	if (uipc_ctx_new("signal", &ctx) < 0)
		return T_SKIP;
	rng = seed | 1;
	fprintf(stderr, "seed %#llx, %d rounds\n", (unsigned long long)seed, rounds);
	bystander = fork();
	t_check(bystander >= 0);
	if (bystander == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	for (int i = 0; i < rounds && rc == T_PASS; i++)
		rc = round_one(ctx, bystander);
	/* The bystander must still be there, unsignalled. */
	if (waitpid(bystander, NULL, WNOHANG) != 0) {
		fprintf(stderr, "the bystander died\n");
		rc = T_FAIL;
	}
	kill(bystander, SIGKILL);
	waitpid(bystander, NULL, 0);
	uipc_ctx_free(ctx);
	if (rc != T_PASS)
		fprintf(stderr, "failed: seed %#llx\n", (unsigned long long)seed);
	return rc;
}
