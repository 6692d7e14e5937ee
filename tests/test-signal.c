/* SPDX-License-Identifier: MIT */
/*
 * Handler mode on the signal backend: the handler runs on the receiver
 * thread from the signal handler, for notifies from the same thread, other
 * threads and other processes; mask/unmask defer and deliver; errors for
 * other threads, dead receiver threads, a taken signal and bad settings.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

#define BIT(v) (UINT64_C(1) << (v))

struct fx {
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
};

static _Atomic uint64_t handled;
static _Atomic int handler_tid;
static _Atomic int handler_calls;

static void on_vectors(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx;
	(void)data;
	atomic_store(&handler_tid, uipc__gettid());
	atomic_fetch_or(&handled, mask);
	atomic_fetch_add(&handler_calls, 1);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uipc_ctx_new("signal", &f->ctx), 0);
	assert_int_equal(uipc_rx_new(f->ctx, 0, &f->rx), 0);
	assert_int_equal(uipc_tx_new(f->rx, 5, &f->tx), 0);
	atomic_store(&handled, 0);
	atomic_store(&handler_calls, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	uipc_tx_free(f->tx);
	uipc_rx_free(f->rx);
	uipc_ctx_free(f->ctx);
	free(f);
	return 0;
}

static void wait_handled(void)
{
	for (uint64_t t0 = t_now_ns(); !atomic_load(&handled);) {
		assert_true(t_now_ns() - t0 < 10000000000u);
		uipc__cpu_relax();
	}
}

static void test_self(void **state)
{
	struct fx *f = *state;

	assert_int_equal(uipc_rx_set_handler(f->rx, on_vectors, NULL), 0);
	/* tgkill to ourselves: delivered before the syscall returns. */
	assert_int_equal(uipc_tx_notify(f->tx), 0);
	assert_int_equal(atomic_exchange(&handled, 0), BIT(5));
	assert_int_equal(atomic_load(&handler_tid), uipc__gettid());
	assert_int_equal(uipc_rx_set_handler(f->rx, NULL, NULL), 0);
}

struct notifier {
	uipc_tx *tx;
	int n, rc;
};

static void *notifier_main(void *arg)
{
	struct notifier *n = arg;

	for (int i = 0; i < n->n && n->rc == 0; i++)
		n->rc = uipc_tx_notify(n->tx);
	return NULL;
}

static void test_cross_thread(void **state)
{
	struct fx *f = *state;
	struct notifier n = {.tx = f->tx, .n = 1000};
	pthread_t t;

	assert_int_equal(uipc_rx_set_handler(f->rx, on_vectors, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, notifier_main, &n), 0);
	wait_handled();
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(n.rc, 0);
	/* Every notify was posted before join: the last one was handled. */
	for (uint64_t t0 = t_now_ns(); atomic_load(&f->rx->desc->pir);)
		assert_true(t_now_ns() - t0 < 10000000000u);
	assert_int_equal(atomic_load(&handled), BIT(5));
	assert_int_equal(atomic_load(&handler_tid), uipc__gettid());
	/* Coalescing: far fewer handler calls than notifies, at least one. */
	assert_true(atomic_load(&handler_calls) >= 1);
	assert_int_equal(uipc_rx_set_handler(f->rx, NULL, NULL), 0);
}

static void test_mask_unmask(void **state)
{
	struct fx *f = *state;
	struct notifier n = {.tx = f->tx, .n = 1};
	pthread_t t;

	assert_int_equal(uipc_rx_set_handler(f->rx, on_vectors, NULL), 0);
	assert_int_equal(uipc_rx_mask(f->rx), 0);
	assert_int_equal(uipc_rx_mask(f->rx), 0); /* idempotent */
	assert_int_equal(pthread_create(&t, NULL, notifier_main, &n), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(n.rc, 0);
	assert_int_equal(uipc_tx_notify(f->tx), 0);
	t_sleep_ns(2000000);
	assert_int_equal(atomic_load(&handled), 0);
	assert_int_equal(atomic_load(&f->rx->desc->pir), BIT(5));
	/* What is pending is delivered as the mask drops. */
	assert_int_equal(uipc_rx_unmask(f->rx), 0);
	assert_int_equal(atomic_exchange(&handled, 0), BIT(5));
	assert_int_equal(uipc_rx_unmask(f->rx), 0);
	assert_int_equal(uipc_rx_set_handler(f->rx, NULL, NULL), 0);
}

/* A handler that notifies another receiver (allowed: uipc_tx_notify is
 * async-signal-safe) and masks/unmasks its own. */
static uipc_tx *relay_tx;

static void on_relay(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)data;
	uipc_rx_mask(rx);
	atomic_fetch_or(&handled, mask);
	uipc_tx_notify(relay_tx);
	uipc_rx_unmask(rx);
}

static void *relay_receiver(void *arg)
{
	uipc_rx *rx = arg;
	uint64_t m = 0;

	if (uipc_rx_wait(rx, 10000000000, &m) < 0)
		m = 0;
	return (void *)(uintptr_t)m;
}

static void test_handler_notifies(void **state)
{
	struct fx *f = *state;
	uipc_rx *rx2;
	pthread_t t;
	void *ret;

	assert_int_equal(uipc_rx_new(f->ctx, 0, &rx2), 0);
	assert_int_equal(uipc_tx_new(rx2, 9, &relay_tx), 0);
	assert_int_equal(pthread_create(&t, NULL, relay_receiver, rx2), 0);
	assert_int_equal(uipc_rx_set_handler(f->rx, on_relay, NULL), 0);
	assert_int_equal(uipc_tx_notify(f->tx), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((uintptr_t)ret, BIT(9));
	assert_int_equal(atomic_load(&handled), BIT(5));
	assert_int_equal(uipc_rx_set_handler(f->rx, NULL, NULL), 0);
	uipc_tx_free(relay_tx);
	uipc_rx_free(rx2);
}

static void *set_handler_elsewhere(void *arg)
{
	return (void *)(intptr_t)uipc_rx_set_handler(arg, on_vectors, NULL);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	uipc_ctx *fctx;
	uipc_rx *frx;
	char num[16];
	uipc_tx *tx;
	pthread_t t;
	void *ret;
	uint64_t m;

	assert_int_equal(pthread_create(&t, NULL, set_handler_elsewhere, f->rx), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((intptr_t)ret, -EPERM);
	assert_int_equal(uipc_rx_set_handler(f->rx, on_vectors, NULL), 0);
	assert_int_equal(uipc_rx_wait(f->rx, 0, &m), -EBUSY);
	assert_int_equal(uipc_rx_set_handler(f->rx, NULL, NULL), 0);
	assert_int_equal(uipc_rx_wait(f->rx, 0, &m), -EAGAIN);
	/* futex has no handler mode. */
	if (uipc_ctx_new("futex", &fctx) == 0) {
		assert_int_equal(uipc_rx_new(fctx, 0, &frx), 0);
		assert_int_equal(uipc_rx_set_handler(frx, on_vectors, NULL), -EOPNOTSUPP);
		assert_int_equal(uipc_rx_mask(frx), -EOPNOTSUPP);
		uipc_rx_free(frx);
		uipc_ctx_free(fctx);
	}
	/* A descriptor claiming another process than the capability's
	 * creator (a peer rewrote it): refused, no signal goes there. */
	f->rx->desc->pid = (int32_t)getppid();
	assert_int_equal(uipc_tx_new(f->rx, 6, &tx), -EINVAL);
	f->rx->desc->pid = (int32_t)getpid();
	/* The signal number senders use is not the descriptor's (any peer
	 * writes that) but the receiver's sealed page's: a peer's SIGKILL
	 * there changes nothing. */
	f->rx->desc->backend_data[0] = SIGKILL;
	assert_int_equal(uipc_tx_new(f->rx, 6, &tx), 0);
	assert_int_equal(((int *)tx->backend)[0], SIGRTMIN + 4);
	uipc_tx_free(tx);
	f->rx->desc->backend_data[0] = (uint32_t)(SIGRTMIN + 4);
	/* UIPC_SIGNAL must name a real-time signal, SIGURG or SIGWINCH. */
	setenv("UIPC_SIGNAL", "9", 1);
	assert_int_equal(uipc_rx_new(f->ctx, 0, &frx), -EINVAL);
	snprintf(num, sizeof(num), "%d", SIGUSR1);
	setenv("UIPC_SIGNAL", num, 1);
	assert_int_equal(uipc_rx_new(f->ctx, 0, &frx), -EINVAL);
	setenv("UIPC_SIGNAL", "x", 1);
	assert_int_equal(uipc_rx_new(f->ctx, 0, &frx), -EINVAL);
	unsetenv("UIPC_SIGNAL");
}

/* The receiver thread is gone (it exited without freeing): -ESRCH. */
static void *owner_then_exit(void *arg)
{
	struct fx *f = arg;
	uipc_rx *rx;

	if (uipc_rx_new(f->ctx, 0, &rx) < 0 || uipc_rx_set_handler(rx, on_vectors, NULL) < 0)
		return NULL;
	return rx;
}

static void test_dead_thread(void **state)
{
	struct fx *f = *state;
	uipc_rx *rx;
	uipc_tx *tx;
	pthread_t t;
	void *ret;

	assert_int_equal(pthread_create(&t, NULL, owner_then_exit, f), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	rx = ret;
	assert_non_null(rx);
	assert_int_equal(uipc_tx_new(rx, 2, &tx), 0);
	assert_int_equal(uipc_tx_notify(tx), -ESRCH);
	/* Freed from another thread than its owner: safe. */
	uipc_tx_free(tx);
	uipc_rx_free(rx);
}

/* Someone else's handler on the signal: the backend does not take it. */
static void user_handler(int sig)
{
	(void)sig;
}

static void test_signal_taken(void **state)
{
	struct fx *f = *state;
	char num[16];
	pid_t pid;

	(void)f;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uipc_rx *rx;

		signal(SIGRTMIN + 6, user_handler);
		snprintf(num, sizeof(num), "%d", SIGRTMIN + 6);
		setenv("UIPC_SIGNAL", num, 1);
		_exit(uipc_rx_new(f->ctx, 0, &rx) == -EBUSY ? 0 : 1);
	}
	assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the child"), T_PASS);
}

/* UIPC_SIGNAL=SIGURG (default action: ignore, so a late kick cannot kill
 * an exec'd image, uipc(7) EXEC): handler and wait mode work on it, and a
 * sender on the default signal refuses such a receiver. In a child: the
 * backend's handler stays installed for the process's life. */
static int urg_child(uipc_ctx *ctx)
{
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;
	char num[16];

	snprintf(num, sizeof(num), "%d", SIGURG);
	setenv("UIPC_SIGNAL", num, 1);
	if (uipc_rx_new(ctx, 0, &rx) < 0 || uipc_tx_new(rx, 3, &tx) < 0)
		return 10;
	if (uipc_tx_notify(tx) < 0 || uipc_rx_wait(rx, 5000000000, &m) < 0 || m != BIT(3))
		return 11;
	if (uipc_rx_set_handler(rx, on_vectors, NULL) < 0 || uipc_tx_notify(tx) < 0)
		return 12;
	for (int i = 0; i < 5000 && !atomic_load(&handled); i++)
		usleep(1000);
	if (atomic_load(&handled) != BIT(3))
		return 13;
	uipc_tx_free(tx);
	unsetenv("UIPC_SIGNAL");
	if (uipc_tx_new(rx, 4, &tx) != -EINVAL)
		return 14;
	if (uipc_rx_set_handler(rx, NULL, NULL) < 0)
		return 15;
	uipc_rx_free(rx);
	return 0;
}

static void test_signal_urg(void **state)
{
	struct fx *f = *state;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(urg_child(f->ctx));
	assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the child"), T_PASS);
}

/* Cross-process: the child is the sender (rt_tgsigqueueinfo). */
static int child_notify(int sock)
{
	uipc_ctx *ctx;
	uipc_tx *tx;
	char c;
	int cap;

	if (uipc_ctx_new("signal", &ctx) < 0 || uipc_cap_recv(sock, &cap) < 0 ||
	    uipc_tx_open(ctx, cap, &tx) < 0)
		return 10;
	close(cap);
	if (read(sock, &c, 1) != 1 || uipc_tx_notify(tx) < 0)
		return 11;
	uipc_tx_free(tx);
	uipc_ctx_free(ctx);
	return 0;
}

static void test_cross_process(void **state)
{
	struct fx *f = *state;
	int sock, cap;
	pid_t pid;

	pid = t_fork_sock(&sock);
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_notify(sock));
	cap = uipc_rx_cap(f->rx, 40);
	assert_true(cap >= 0);
	assert_int_equal(uipc_cap_send(sock, cap), 0);
	close(cap);
	assert_int_equal(uipc_rx_set_handler(f->rx, on_vectors, NULL), 0);
	assert_int_equal(write(sock, "n", 1), 1);
	wait_handled();
	assert_int_equal(atomic_load(&handled), BIT(40));
	assert_int_equal(atomic_load(&handler_tid), uipc__gettid());
	assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the child"), T_PASS);
	assert_int_equal(uipc_rx_set_handler(f->rx, NULL, NULL), 0);
	close(sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_self, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cross_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mask_unmask, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handler_notifies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dead_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signal_taken, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signal_urg, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cross_process, setup, teardown),
	};

	unsetenv("UIPC_SIGNAL");
	return cmocka_run_group_tests_name("signal", tests, NULL, NULL);
}
