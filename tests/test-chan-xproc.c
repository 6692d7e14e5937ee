/* SPDX-License-Identifier: MIT */
/* Channels across processes: hand-over on a unix socket, ordered delivery
 * from forked producers, and peers killed with SIGKILL on either side. */
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

#define MSGS 200000u

struct msg {
	uint32_t id;
	uint32_t pad;
	uint64_t seq;
};

static pid_t fork_child(int (*fn)(int, uint32_t), uint32_t arg, int *ret_sock)
{
	pid_t pid = t_fork_sock(ret_sock);

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(*ret_sock, arg));
	return pid;
}

static int child_exit_code(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Producer child: attach what the parent hands over and send MSGS messages,
 * blocking when the ring is full. */
static int child_produce(int sock, uint32_t id)
{
	uipc_ctx *ctx;
	uipc_chan_tx *p;
	struct msg m = {.id = id};

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_chan_tx_open_sock(ctx, sock, &p) < 0)
		return 10;
	for (m.seq = 0; m.seq < MSGS; m.seq++)
		if (uipc_chan_send_wait(p, &m, sizeof(m), 10000000000) < 0)
			return 11;
	uipc_chan_tx_free(p);
	uipc_ctx_free(ctx);
	return 0;
}

static void cross_process(unsigned flags, unsigned nprod)
{
	struct uipc_chan_config cfg = {
	    .msg_size = sizeof(struct msg), .capacity = 1024, .flags = flags};
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_chan *c;
	pid_t pid[2];
	int sock[2];
	uint64_t next[2] = {0};
	struct msg buf[32];
	uint64_t got = 0;
	int r;

	for (unsigned i = 0; i < nprod; i++)
		pid[i] = fork_child(child_produce, i, &sock[i]);
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	assert_int_equal(uipc_rx_new(ctx, 0, &rx), 0);
	assert_int_equal(uipc_chan_new(rx, 0, &cfg, &c), 0);
	for (unsigned i = 0; i < nprod; i++) {
		assert_int_equal(uipc_chan_cap_send(c, sock[i]), 0);
		close(sock[i]);
	}
	while (got < (uint64_t)MSGS * nprod) {
		r = uipc_chan_recv_n(c, buf, 32, sizeof(buf), 10000000000);
		assert_true(r > 0);
		for (int i = 0; i < r; i++) {
			assert_true(buf[i].id < nprod);
			assert_int_equal(buf[i].seq, next[buf[i].id]);
			next[buf[i].id]++;
		}
		got += (uint64_t)r;
	}
	for (unsigned i = 0; i < nprod; i++)
		assert_int_equal(child_exit_code(pid[i]), 0);
	/* Every producer exited: reported once the ring is empty. */
	assert_int_equal(uipc_chan_recv(c, buf, sizeof(buf[0]), -1), -EPIPE);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
}

static void test_spsc_fork(void **state)
{
	(void)state;
	cross_process(0, 1);
}

static void test_mpsc_fork(void **state)
{
	(void)state;
	cross_process(UIPC_CHAN_MPSC, 2);
}

/* Producer killed ------------------------------------------------------------- */

static int child_send_then_hang(int sock, uint32_t n)
{
	uipc_ctx *ctx;
	uipc_chan_tx *p;
	void *slot;

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_chan_tx_open_sock(ctx, sock, &p) < 0)
		return 10;
	for (uint64_t i = 0; i < n; i++)
		if (uipc_chan_send(p, &i, 8) < 0)
			return 11;
	/* Die holding a reservation, mid-message. */
	if (uipc_chan_reserve(p, &slot) < 0)
		return 12;
	if (write(sock, "r", 1) != 1)
		return 13;
	pause();
	return 0;
}

/* shared: the newcomer attaches through the dead producer's capability,
 * which we kept (a supervisor restarting a worker), not a fresh one. */
static void producer_killed(unsigned flags, bool shared)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 64, .flags = flags};
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_chan *c;
	uipc_chan_tx *p;
	uint64_t v;
	char ready;
	int sock, cap;
	pid_t pid;

	pid = fork_child(child_send_then_hang, 10, &sock);
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	assert_int_equal(uipc_rx_new(ctx, 0, &rx), 0);
	assert_int_equal(uipc_chan_new(rx, 1, &cfg, &c), 0);
	cap = uipc_chan_cap(c);
	assert_true(cap >= 0);
	assert_int_equal(uipc_cap_send(sock, cap), 0);
	assert_int_equal(read(sock, &ready, 1), 1);
	kill(pid, SIGKILL);
	assert_int_equal(child_exit_code(pid), 128 + SIGKILL);
	/* A producer that comes after: SPSC, it takes over the dead one's
	 * role; MPSC, its messages queue behind the dead one's claimed,
	 * never published slot, which the consumer passes. */
	if (shared) {
		assert_int_equal(uipc_chan_tx_open(ctx, cap, &p), 0);
	} else {
		close(cap);
		assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	}
	for (uint64_t i = 100; i < 105; i++)
		assert_int_equal(uipc_chan_send(p, &i, 8), 0);
	/* What the dead one sent arrives, then the newcomer's, then -EPIPE
	 * once it is gone too: no hang on the reserved slot. */
	for (uint64_t i = 0; i < 10; i++) {
		assert_int_equal(uipc_chan_recv(c, &v, 8, -1), 0);
		assert_int_equal(v, i);
	}
	for (uint64_t i = 100; i < 105; i++) {
		assert_int_equal(uipc_chan_recv(c, &v, 8, 5000000000), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EAGAIN);
	uipc_chan_tx_free(p);
	if (shared)
		close(cap);
	assert_int_equal(uipc_chan_recv(c, &v, 8, -1), -EPIPE);
	assert_int_equal(uipc_chan_check(c), -EPIPE);
	close(sock);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
}

static void test_producer_killed_spsc(void **state)
{
	(void)state;
	producer_killed(0, false);
	producer_killed(0, true);
}

static void test_producer_killed_mpsc(void **state)
{
	(void)state;
	producer_killed(UIPC_CHAN_MPSC, false);
	producer_killed(UIPC_CHAN_MPSC, true);
}

/* Producer killed while the consumer is blocked in recv. */
static void test_producer_killed_while_blocked(void **state)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 64};
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_chan *c;
	uint64_t v;
	char ready;
	int sock;
	pid_t pid;

	(void)state;
	pid = fork_child(child_send_then_hang, 0, &sock);
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	assert_int_equal(uipc_rx_new(ctx, 0, &rx), 0);
	assert_int_equal(uipc_chan_new(rx, 1, &cfg, &c), 0);
	assert_int_equal(uipc_chan_cap_send(c, sock), 0);
	assert_int_equal(read(sock, &ready, 1), 1);
	if (fork() == 0) { /* the killer */
		t_sleep_ns(50000000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	assert_int_equal(uipc_chan_recv(c, &v, 8, -1), -EPIPE);
	assert_int_equal(child_exit_code(pid), 128 + SIGKILL);
	while (wait(NULL) > 0)
		;
	close(sock);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
}

/* Consumer killed ------------------------------------------------------------- */

static int child_consume_never(int sock, uint32_t flags)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 16, .flags = flags};
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_chan *c;

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0 ||
	    uipc_chan_new(rx, 4, &cfg, &c) < 0 || uipc_chan_cap_send(c, sock) < 0)
		return 10;
	pause();
	return 0;
}

struct killer {
	pid_t pid;
	uint64_t delay_ns;
};

static void *kill_later(void *arg)
{
	struct killer *k = arg;

	t_sleep_ns(k->delay_ns);
	kill(k->pid, SIGKILL);
	return NULL;
}

static void consumer_killed(unsigned flags)
{
	uipc_ctx *ctx;
	uipc_chan_tx *p;
	struct killer k;
	pthread_t t;
	uint64_t v = 0;
	int sock, r;

	k.pid = fork_child(child_consume_never, flags, &sock);
	k.delay_ns = 50000000;
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	assert_int_equal(uipc_chan_tx_open_sock(ctx, sock, &p), 0);
	assert_int_equal(uipc_chan_tx_check(p), 0);
	while ((r = uipc_chan_send(p, &v, 8)) == 0)
		v++;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(v, 16);
	/* Blocked on the full ring when the consumer dies: -EPIPE, no hang. */
	assert_int_equal(pthread_create(&t, NULL, kill_later, &k), 0);
	assert_int_equal(uipc_chan_send_wait(p, &v, 8, -1), -EPIPE);
	pthread_join(t, NULL);
	assert_int_equal(child_exit_code(k.pid), 128 + SIGKILL);
	assert_int_equal(uipc_chan_tx_check(p), -EPIPE);
	assert_int_equal(uipc_chan_send(p, &v, 8), -EPIPE);
	close(sock);
	uipc_chan_tx_free(p);
	uipc_ctx_free(ctx);
}

static void test_consumer_killed_spsc(void **state)
{
	(void)state;
	consumer_killed(0);
}

static void test_consumer_killed_mpsc(void **state)
{
	(void)state;
	consumer_killed(UIPC_CHAN_MPSC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spsc_fork),
	    cmocka_unit_test(test_mpsc_fork),
	    cmocka_unit_test(test_producer_killed_spsc),
	    cmocka_unit_test(test_producer_killed_mpsc),
	    cmocka_unit_test(test_producer_killed_while_blocked),
	    cmocka_unit_test(test_consumer_killed_spsc),
	    cmocka_unit_test(test_consumer_killed_mpsc),
	};
	uipc_ctx *probe;
	int r = uipc_ctx_new(NULL, &probe);

	TEST_SKIP_IF(r == -EOPNOTSUPP, "backend %s is not usable on this machine", test_backend());
	uipc_ctx_free(probe);
	/* A dead peer must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name(test_backend(), tests, NULL, NULL);
}
