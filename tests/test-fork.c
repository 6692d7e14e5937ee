/* SPDX-License-Identifier: MIT */
/*
 * fork() without exec (uipc(7), FORK): a child must not keep its parent's
 * receivers, consumers or producers "alive", inherited receivers and
 * channel ends are inert in the child (-ECHILD, but free works and leaves
 * the parent's alone), and inherited senders go on working.
 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

/* An idle child; returns once the child runs (its fork handlers, which
 * close what it must not keep, ran before fork() returned there). */
static pid_t fork_idle_child(void)
{
	int p[2];
	pid_t pid;
	char c = 0;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* Receiver process: a receiver, its capability to the parent, then an idle
 * fork child of its own; then it waits to be killed. */
static void receiver_process(int sock)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	char c = 'r';
	pid_t child;
	int cap;

	if (uipc_ctx_new(test_backend(), &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0)
		_exit(10);
	cap = uipc_rx_cap(rx, 3);
	if (cap < 0 || uipc_cap_send(sock, cap) < 0)
		_exit(11);
	close(cap);
	child = fork();
	if (child == 0) { /* the grandchild lives on, idle */
		pause();
		_exit(0);
	}
	(void)c;
	if (child < 0 || write(sock, &child, sizeof(child)) != (ssize_t)sizeof(child))
		_exit(12);
	pause();
	_exit(0);
}

/* The receiver's process dies while its fork child lives: senders still
 * learn it is gone. */
static void test_receiver_dies_child_lives(void **state)
{
	uipc_ctx *ctx;
	uipc_tx *tx;
	int sv[2], cap, r = 0;
	pid_t pid, grandchild;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		receiver_process(sv[1]);
	}
	close(sv[1]);
	assert_int_equal(uipc_ctx_new(test_backend(), &ctx), 0);
	assert_int_equal(uipc_cap_recv(sv[0], &cap), 0);
	assert_int_equal(uipc_tx_open(ctx, cap, &tx), 0);
	close(cap);
	assert_int_equal(read(sv[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
	assert_int_equal(uipc_tx_check(tx), 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	/* The hang-up is the kernel's, right at the exit; give it a moment. */
	for (int i = 0; i < 1000 && (r = uipc_tx_check(tx)) == 0; i++)
		t_sleep_ns(1000000);
	assert_int_equal(r, -EPIPE);
	kill(grandchild, SIGKILL); /* reparented to init, which reaps it */
	uipc_tx_free(tx);
	uipc_ctx_free(ctx);
	close(sv[0]);
}

/* An SPSC producer freed by the parent while a fork child lives: the role
 * is free for the next producer. */
static void test_producer_role_after_fork(void **state)
{
	struct test_fx *f = *state;
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan_tx *p, *p2;
	uipc_chan *c;
	uint64_t v = 5;
	pid_t child;

	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), 0);
	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	assert_int_equal(uipc_chan_tx_new(c, &p2), -EBUSY); /* one producer role */
	child = fork_idle_child();
	uipc_chan_tx_free(p);
	assert_int_equal(uipc_chan_tx_new(c, &p2), 0);
	assert_int_equal(uipc_chan_send(p2, &v, 8), 0);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
	assert_int_equal(v, 5);
	reap(child);
	uipc_chan_tx_free(p2);
	uipc_chan_free(c);
}

/* What the child may do with what it inherited. */
static void test_child_inherits(void **state)
{
	struct test_fx *f = *state;
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_tx *tx;
	uint64_t m, v = 1;
	bool uintr;
	pid_t pid;

	assert_int_equal(uipc_tx_new(f->rx, 6, &tx), 0);
	uintr = tx->ops->tx_notify != NULL;
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), 0);
	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		/* Inert: the parent's receiver and channel ends. */
		bad |= uipc_rx_wait(f->rx, 0, &m) != -ECHILD;
		bad |= uipc_rx_cap(f->rx, 1) != -ECHILD;
		bad |= uipc_chan_send(p, &v, 8) != -ECHILD;
		bad |= uipc_chan_recv(c, &v, 8, 0) != -ECHILD;
		bad |= uipc_chan_cap(c) != -ECHILD;
		/* A sender works: the parent sees this notify. (uintr: the
		 * kernel's sender table is not inherited; uipc(7), FORK.) */
		if (!uintr)
			bad |= uipc_tx_notify(tx) != 0;
		/* Freeing the copies leaves the parent's objects alone. */
		uipc_chan_tx_free(p);
		uipc_chan_free(c);
		uipc_tx_free(tx);
		uipc_rx_free(f->rx);
		_exit(bad ? 1 : 0);
	}
	assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the child"), T_PASS);
	if (!uintr) {
		assert_int_equal(uipc_rx_wait(f->rx, 0, &m), 0);
		assert_int_equal(m, UINT64_C(1) << 6);
	}
	/* The channel and its producer are untouched. */
	assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
	assert_int_equal(uipc_chan_tx_check(p), 0);
	assert_int_equal(uipc_tx_notify(tx), 0);
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
	uipc_tx_free(tx);
}

static int setup(void **state)
{
	*state = test_fx_new(test_backend());
	return 0;
}

static int teardown(void **state)
{
	test_fx_free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_receiver_dies_child_lives),
	    cmocka_unit_test_setup_teardown(test_producer_role_after_fork, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_inherits, setup, teardown),
	};
	uipc_ctx *ctx;

	TEST_SKIP_IF(uipc_ctx_new(test_backend(), &ctx) < 0, "backend %s not usable here",
	             test_backend());
	uipc_ctx_free(ctx);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
