/* SPDX-License-Identifier: MIT */
/*
 * Locks held across fork(): the signal backend's install lock, the log
 * lock and the uintr backend's sender-table lock were not reset in a fork
 * child. Forked while another thread held one, the child's first signal
 * receiver (or log setting, or uintr sender) waited for ever on a lock
 * whose holder does not exist there. Each is now taken across fork and
 * reset in the child.
 *
 * The install lock is held only around the first install's sigaction()
 * calls, too briefly for a fork to hit by chance: this program's own
 * sigaction() (the library's calls resolve to it) holds the installing
 * thread there while the main thread forks.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "regress.h"

#define FORKS 200

static _Atomic bool stop;
static uipc_ctx *sig_ctx, *sim_ctx;
static uipc_rx *sim_rx;
static _Atomic bool in_install, slow_install;

int sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
	static int (*real)(int, const struct sigaction *, struct sigaction *);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "sigaction");
	if (atomic_load(&slow_install) && !act) {
		atomic_store(&in_install, true);
		while (atomic_load(&slow_install))
			t_sleep_ms(1);
	}
	return real(signo, act, old);
}

static void *first_receiver(void *arg)
{
	uipc_rx *rx;

	(void)arg;
	if (uipc_rx_new(sig_ctx, 0, &rx) == 0)
		uipc_rx_free(rx);
	return NULL;
}

static void log_nothing(int level, const char *msg, void *data)
{
	(void)level;
	(void)msg;
	(void)data;
}

static void *churn_signal(void *arg)
{
	uipc_rx *rx;

	(void)arg;
	while (!atomic_load(&stop))
		if (uipc_rx_new(sig_ctx, 0, &rx) == 0)
			uipc_rx_free(rx);
	return NULL;
}

static void *churn_log(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		uipc_set_log(log_nothing, NULL);
	return NULL;
}

static void *churn_uintr(void *arg)
{
	uipc_tx *tx;

	(void)arg;
	while (!atomic_load(&stop))
		if (uipc_tx_new(sim_rx, 1, &tx) == 0)
			uipc_tx_free(tx);
	return NULL;
}

static int child(void)
{
	uipc_rx *rx;
	uipc_tx *tx;

	uipc_set_log(NULL, NULL);
	if (uipc_rx_new(sig_ctx, 0, &rx) < 0)
		return 2;
	uipc_rx_free(rx);
	if (sim_ctx) {
		if (uipc_rx_new(sim_ctx, 0, &rx) < 0 || uipc_tx_new(rx, 1, &tx) < 0)
			return 3;
		uipc_tx_free(tx);
		uipc_rx_free(rx);
	}
	return 0;
}

/* Reap pid: 0 when it exited 0, 1 when still running after 10 s (it
 * hangs), -1 otherwise. */
static int reap(pid_t pid)
{
	int r = t_reap(pid, 10000, NULL);

	return r == 0 ? 0 : r == T_HUNG ? 1 : -1;
}

/* Fork while another thread holds the install lock (its first receiver). */
static void *release_later(void *arg)
{
	(void)arg;
	t_sleep_ms(20);
	atomic_store(&slow_install, false);
	return NULL;
}

static int fork_in_install(void)
{
	pthread_t t, rel;
	pid_t pid;
	int r;

	atomic_store(&slow_install, true);
	if (pthread_create(&t, NULL, first_receiver, NULL) != 0)
		return -1;
	while (!atomic_load(&in_install))
		t_sleep_ms(1);
	/* Fixed, fork waits in its preparation until the lock is free. */
	if (pthread_create(&rel, NULL, release_later, NULL) != 0)
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(child());
	pthread_join(rel, NULL);
	pthread_join(t, NULL);
	r = pid < 0 ? -1 : reap(pid);
	if (r)
		fprintf(stderr, "forked during the first install: the child %s\n",
		        r > 0 ? "hung" : "failed");
	return r;
}

int main(void)
{
	pthread_t t[3];
	unsigned nt = 0;
	int hung = 0, bad = 0;

#ifdef T_UNDER_ASAN
	fprintf(
	    stderr,
	    "SKIP: under AddressSanitizer, whose allocator lock a fork child can inherit held\n");
	return T_SKIP;
#endif

	if (uipc_ctx_new("signal", &sig_ctx) < 0)
		return T_SKIP;
	if (fork_in_install() != 0)
		return T_FAIL;
	if (uipc_ctx_new("uintr-sim", &sim_ctx) == 0 && uipc_rx_new(sim_ctx, 0, &sim_rx) < 0) {
		uipc_ctx_free(sim_ctx);
		sim_ctx = NULL;
	}
	fprintf(stderr, "uintr-sim sender table: %s\n", sim_ctx ? "checked" : "not built");
	t_check(pthread_create(&t[nt++], NULL, churn_signal, NULL) == 0);
	t_check(pthread_create(&t[nt++], NULL, churn_log, NULL) == 0);
	if (sim_ctx)
		t_check(pthread_create(&t[nt++], NULL, churn_uintr, NULL) == 0);
	for (int i = 0; i < FORKS && !hung; i++) {
		pid_t pid = fork();
		int r;

		t_check(pid >= 0);
		if (pid == 0)
			_exit(child());
		r = reap(pid);
		hung += r > 0;
		bad += r < 0;
	}
	atomic_store(&stop, true);
	for (unsigned i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	if (hung || bad) {
		fprintf(stderr, "%d child hung on a lock, %d failed\n", hung, bad);
		return T_FAIL;
	}
	if (sim_ctx) {
		uipc_rx_free(sim_rx);
		uipc_ctx_free(sim_ctx);
	}
	uipc_ctx_free(sig_ctx);
	return T_PASS;
}
