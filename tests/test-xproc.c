/* SPDX-License-Identifier: MIT */
/* Receivers and senders in different processes: fork, capability passing
 * over a unix socket, and peers that exit or are killed. */
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

#define ROUNDS 2000

/* Child: connect a sender from the capability it receives, then answer each
 * notify of ours with one of its own (ping-pong), ROUNDS times. */
static int child_pingpong(int sock)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;
	int cap, r;

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0)
		return 10;
	cap = uipc_rx_cap(rx, 5);
	if (cap < 0 || uipc_cap_send(sock, cap) < 0)
		return 11;
	close(cap);
	if (uipc_cap_recv(sock, &cap) < 0 || uipc_tx_open(ctx, cap, &tx) < 0)
		return 12;
	close(cap);
	for (int i = 0; i < ROUNDS; i++) {
		r = uipc_rx_wait(rx, 10000000000, &m);
		if (r < 0 || m != (UINT64_C(1) << 5))
			return 13;
		if (uipc_tx_notify(tx) < 0)
			return 14;
	}
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return 0;
}

static pid_t fork_child(int (*fn)(int), int *ret_sock)
{
	pid_t pid = t_fork_sock(ret_sock);

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(*ret_sock));
	return pid;
}

static int child_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void test_pingpong_across_processes(void **state)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;
	int sock, cap, st;
	pid_t pid;

	(void)state;
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	assert_int_equal(uipc_rx_new(ctx, 0, &rx), 0);
	/* Half the rounds spin, half block: both wake paths cross processes. */
	pid = fork_child(child_pingpong, &sock);
	assert_int_equal(uipc_cap_recv(sock, &cap), 0);
	assert_int_equal(uipc_tx_open(ctx, cap, &tx), 0);
	close(cap);
	cap = uipc_rx_cap(rx, 6);
	assert_int_equal(uipc_cap_send(sock, cap), 0);
	close(cap);
	for (int i = 0; i < ROUNDS; i++) {
		if (i == ROUNDS / 2)
			assert_int_equal(uipc_rx_set_spin(rx, UIPC_SPIN_NONE, 0), 0);
		assert_int_equal(uipc_tx_notify(tx), 0);
		assert_int_equal(uipc_rx_wait(rx, 10000000000, &m), 0);
		assert_int_equal(m, UINT64_C(1) << 6);
	}
	st = child_status(pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The child freed its receiver on the way out. */
	assert_int_equal(uipc_tx_notify(tx), -EPIPE);
	assert_int_equal(uipc_tx_check(tx), -EPIPE);
	close(sock);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
}

/* Child: a receiver that hands out a capability and then hangs until killed. */
static int child_receiver_then_hang(int sock)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uint64_t m;
	int cap;

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0)
		return 10;
	cap = uipc_rx_cap(rx, 0);
	if (cap < 0 || uipc_cap_send(sock, cap) < 0)
		return 11;
	for (;;)
		uipc_rx_wait(rx, UIPC_TIMEOUT_INFINITE, &m);
}

static void test_receiver_killed(void **state)
{
	uipc_ctx *ctx;
	uipc_tx *tx, *late;
	int sock, cap, st;
	pid_t pid;

	(void)state;
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	pid = fork_child(child_receiver_then_hang, &sock);
	assert_int_equal(uipc_cap_recv(sock, &cap), 0);
	assert_int_equal(uipc_tx_open(ctx, cap, &tx), 0);
	assert_int_equal(uipc_tx_check(tx), 0);
	assert_int_equal(uipc_tx_notify(tx), 0);
	kill(pid, SIGKILL);
	st = child_status(pid);
	assert_true(WIFSIGNALED(st));
	/* Its descriptor says nothing (it could not close it): the capability
	 * socket's hang-up does. Notifies stay harmless. */
	assert_int_equal(uipc_tx_check(tx), -EPIPE);
	for (int i = 0; i < 10; i++) {
		int r = uipc_tx_notify(tx);

		assert_true(r == 0 || r == -EPIPE || r == -ESRCH);
	}
	assert_int_equal(uipc_tx_open(ctx, cap, &late), -EPIPE);
	close(cap);
	close(sock);
	uipc_tx_free(tx);
	uipc_ctx_free(ctx);
}

/* Child: connects a sender, notifies once, then is killed. */
static int child_sender_then_hang(int sock)
{
	uipc_ctx *ctx;
	uipc_tx *tx;
	int cap;

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_cap_recv(sock, &cap) < 0 ||
	    uipc_tx_open(ctx, cap, &tx) < 0 || uipc_tx_notify(tx) < 0)
		return 10;
	if (write(sock, "k", 1) != 1)
		return 11;
	for (;;)
		pause();
}

static void test_sender_killed(void **state)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uint64_t m = 0;
	int sock, cap;
	char c;
	pid_t pid;

	(void)state;
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	assert_int_equal(uipc_rx_new(ctx, 0, &rx), 0);
	pid = fork_child(child_sender_then_hang, &sock);
	cap = uipc_rx_cap(rx, 8);
	assert_int_equal(uipc_cap_send(sock, cap), 0);
	close(cap);
	assert_int_equal(read(sock, &c, 1), 1);
	kill(pid, SIGKILL);
	child_status(pid);
	/* What it posted before dying is there; then a timed wait returns. */
	assert_int_equal(uipc_rx_wait(rx, 1000000000, &m), 0);
	assert_int_equal(m, UINT64_C(1) << 8);
	assert_int_equal(uipc_rx_set_spin(rx, UIPC_SPIN_NONE, 0), 0);
	assert_int_equal(uipc_rx_wait(rx, 20000000, &m), -ETIMEDOUT);
	close(sock);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pingpong_across_processes),
	    cmocka_unit_test(test_receiver_killed),
	    cmocka_unit_test(test_sender_killed),
	};
	uipc_ctx *probe;
	int r = uipc_ctx_new(NULL, &probe);

	TEST_SKIP_IF(r == -EOPNOTSUPP, "backend %s is not usable on this machine", test_backend());
	uipc_ctx_free(probe);
	return cmocka_run_group_tests_name(test_backend(), tests, NULL, NULL);
}
