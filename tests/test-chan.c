/* SPDX-License-Identifier: MIT */
/* Channels in one process: the API contract, full/empty edges, wrap-around,
 * batch and zero-copy paths, kick counting, corrupt rings, and ordered
 * exactly-once delivery under contention. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-common.h"

static int setup(void **state)
{
	*state = test_fx_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	test_fx_free(*state);
	return 0;
}

static uipc_chan *chan_make(struct test_fx *f, size_t msg, size_t cap, unsigned flags)
{
	struct uipc_chan_config cfg = {.msg_size = msg, .capacity = cap, .flags = flags};
	uipc_chan *c = NULL;

	assert_int_equal(uipc_chan_new(f->rx, 3, &cfg, &c), 0);
	return c;
}

/* Arguments ----------------------------------------------------------------- */

static void test_args(void **state)
{
	struct test_fx *f = *state;
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 16};
	uipc_chan *c = (uipc_chan *)0x1;
	uipc_chan_tx *p = (uipc_chan_tx *)0x1;
	uint64_t v = 0;
	int fds0;

	/* The receiver keeps its capability for vector 3 once a channel asked. */
	uipc_chan_free(chan_make(f, 8, 16, 0));
	fds0 = test_count_fds();
	assert_int_equal(uipc_chan_new(NULL, 0, &cfg, &c), -EINVAL);
	assert_int_equal(uipc_chan_new(f->rx, 64, &cfg, &c), -EINVAL);
	assert_int_equal(uipc_chan_new(f->rx, 0, NULL, &c), -EINVAL);
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, NULL), -EINVAL);
	cfg.capacity = 12; /* not a power of two */
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), -EINVAL);
	cfg.capacity = 1;
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), -EINVAL);
	cfg.capacity = (size_t)UIPC_CHAN_MAX_CAPACITY * 2;
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), -EINVAL);
	cfg.capacity = 16;
	cfg.msg_size = 0;
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), -EINVAL);
	cfg.msg_size = UIPC_CHAN_MAX_MSG_SIZE + 1;
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), -EINVAL);
	cfg.msg_size = UIPC_CHAN_MAX_MSG_SIZE; /* 16 x 64 KiB is fine... */
	cfg.capacity = UIPC_CHAN_MAX_CAPACITY; /* ...16 Mi x 64 KiB is not */
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), -EINVAL);
	cfg = (struct uipc_chan_config){.msg_size = 8, .capacity = 16, .flags = 1u << 7};
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), -EINVAL);
	cfg.flags = UIPC_CHAN_NUMA;
	cfg.numa_node = -1;
	assert_int_equal(uipc_chan_new(f->rx, 0, &cfg, &c), -EINVAL);
	assert_ptr_equal(c, (uipc_chan *)0x1);
	assert_int_equal(test_count_fds(), fds0);

	uipc_chan_free(NULL);
	uipc_chan_tx_free(NULL);
	assert_int_equal(uipc_chan_cap(NULL), -EINVAL);
	assert_int_equal(uipc_chan_recv(NULL, &v, 8, 0), -EINVAL);
	assert_int_equal(uipc_chan_send(NULL, &v, 8), -EINVAL);
	assert_int_equal(uipc_chan_tx_open(f->ctx, -1, &p), -EBADF);
	assert_int_equal(uipc_chan_tx_open(NULL, 0, &p), -EINVAL);
	assert_int_equal(uipc_chan_msg_size(NULL), 0);
	assert_int_equal(uipc_chan_tx_msg_size(NULL), 0);

	c = chan_make(f, 8, 16, 0);
	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	assert_int_equal(uipc_chan_msg_size(c), 8);
	assert_int_equal(uipc_chan_tx_msg_size(p), 8);
	assert_int_equal(uipc_chan_send(p, &v, 0), -EINVAL);
	assert_int_equal(uipc_chan_send(p, &v, 9), -EINVAL);
	assert_int_equal(uipc_chan_send(p, NULL, 8), -EINVAL);
	assert_int_equal(uipc_chan_send_n(p, &v, 0), -EINVAL);
	assert_int_equal(uipc_chan_recv(c, &v, 7, 0), -EINVAL);
	assert_int_equal(uipc_chan_recv(c, NULL, 8, 0), -EINVAL);
	assert_int_equal(uipc_chan_recv_n(c, &v, 0, 8, 0), -EINVAL);
	assert_int_equal(uipc_chan_release(c), -EINVAL); /* nothing peeked */
	assert_int_equal(uipc_chan_commit(p), -EINVAL);  /* nothing reserved */
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
	assert_int_equal(test_count_fds(), fds0);
}

static void test_bad_capabilities(void **state)
{
	struct test_fx *f = *state;
	uipc_chan_tx *p = (uipc_chan_tx *)0x1;
	int vec, pipefd[2];

	/* A vector capability is not a channel capability. */
	vec = uipc_rx_cap(f->rx, 9);
	assert_true(vec >= 0);
	assert_int_equal(uipc_chan_tx_open(f->ctx, vec, &p), -EINVAL);
	close(vec);
	assert_int_equal(uipc_chan_tx_open(f->ctx, vec, &p), -EBADF);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(uipc_chan_tx_open(f->ctx, pipefd[0], &p), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_ptr_equal(p, (uipc_chan_tx *)0x1);
}

/* Edges ------------------------------------------------------------------ */

static void edges(struct test_fx *f, unsigned flags)
{
	uipc_chan *c = chan_make(f, 8, 8, flags);
	uipc_chan_tx *p;
	uint64_t v, next = 0, expect = 0;

	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EAGAIN);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 1000000), -ETIMEDOUT);
	/* Many laps of a small ring: wrap-around, full and empty each lap. */
	for (int lap = 0; lap < 100; lap++) {
		for (int i = 0; i < 8; i++, next++)
			assert_int_equal(uipc_chan_send(p, &next, 8), 0);
		assert_int_equal(uipc_chan_send(p, &next, 8), -EAGAIN);
		assert_int_equal(uipc_chan_send_wait(p, &next, 8, 1000000), -ETIMEDOUT);
		for (int i = 0; i < 8; i++, expect++) {
			assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
			assert_int_equal(v, expect);
		}
		assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EAGAIN);
	}
	/* A short message is zero-padded. */
	v = 0xff;
	assert_int_equal(uipc_chan_send(p, &v, 1), 0);
	v = ~UINT64_C(0);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
	assert_int_equal(v, 0xff);
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
}

static void test_edges_spsc(void **state)
{
	edges(*state, 0);
}

static void test_edges_mpsc(void **state)
{
	edges(*state, UIPC_CHAN_MPSC);
}

static void batch(struct test_fx *f, unsigned flags)
{
	uipc_chan *c = chan_make(f, 8, 16, flags);
	uipc_chan_tx *p;
	uint64_t in[40], out[40], next = 0;

	for (int i = 0; i < 40; i++)
		in[i] = (uint64_t)i;
	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	assert_int_equal(uipc_chan_send_n(p, in, 5), 5);
	assert_int_equal(uipc_chan_send_n(p, in + 5, 40), 11); /* as many as fit */
	assert_int_equal(uipc_chan_send_n(p, in, 1), -EAGAIN);
	assert_int_equal(uipc_chan_recv_n(c, out, 3, sizeof(out), 0), 3);
	assert_int_equal(uipc_chan_recv_n(c, out + 3, 40, sizeof(out) - 3 * 8, 0), 13);
	for (int i = 0; i < 16; i++)
		assert_int_equal(out[i], (uint64_t)i);
	assert_int_equal(uipc_chan_recv_n(c, out, 4, sizeof(out), 0), -EAGAIN);
	/* Odd batch sizes across the wrap point, many laps. */
	for (uint64_t expect = 0, lap = 0; lap < 200; lap++) {
		size_t n = 1 + lap % 13, got = 0;

		for (size_t i = 0; i < n; i++)
			in[i] = next++;
		assert_int_equal(uipc_chan_send_n(p, in, n), (int)n);
		while (got < n) {
			int r = uipc_chan_recv_n(c, out, 1 + lap % 5, sizeof(out), 0);

			assert_true(r > 0);
			for (int i = 0; i < r; i++)
				assert_int_equal(out[i], expect++);
			got += (size_t)r;
		}
	}
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
}

static void test_batch_spsc(void **state)
{
	batch(*state, 0);
}

static void test_batch_mpsc(void **state)
{
	batch(*state, UIPC_CHAN_MPSC);
}

static void zero_copy(struct test_fx *f, unsigned flags)
{
	uipc_chan *c = chan_make(f, 24, 4, flags);
	uipc_chan_tx *p;
	const void *m1, *m2;
	void *slot;
	char buf[24];

	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	for (int lap = 0; lap < 10; lap++) {
		for (int i = 0; i < 4; i++) {
			assert_int_equal(uipc_chan_reserve(p, &slot), 0);
			assert_int_equal((uintptr_t)slot % 8, 0);
			assert_int_equal(uipc_chan_reserve(p, &slot), -EBUSY);
			assert_int_equal(uipc_chan_send(p, "x", 1), -EBUSY);
			/* Not visible before the commit. */
			if (i == 0)
				assert_int_equal(uipc_chan_peek(c, &m1, 0), -EAGAIN);
			snprintf(slot, 24, "lap %d msg %d", lap, i);
			assert_int_equal(uipc_chan_commit(p), 0);
		}
		assert_int_equal(uipc_chan_reserve(p, &slot), -EAGAIN);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(uipc_chan_peek(c, &m1, 0), 0);
			assert_int_equal(uipc_chan_peek(c, &m2, 0), 0);
			assert_ptr_equal(m1, m2); /* same message until released */
			snprintf(buf, sizeof(buf), "lap %d msg %d", lap, i);
			assert_string_equal(m1, buf);
			assert_int_equal(uipc_chan_release(c), 0);
			assert_int_equal(uipc_chan_release(c), -EINVAL);
		}
		assert_int_equal(uipc_chan_peek(c, &m1, 0), -EAGAIN);
	}
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
}

static void test_zero_copy_spsc(void **state)
{
	zero_copy(*state, 0);
}

static void test_zero_copy_mpsc(void **state)
{
	zero_copy(*state, UIPC_CHAN_MPSC);
}

/* Ends and their lifetimes ------------------------------------------------ */

static void test_spsc_one_producer(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 8, 0);
	uipc_chan_tx *p1, *p2;
	uint64_t v = 1;

	assert_int_equal(uipc_chan_tx_new(c, &p1), 0);
	assert_int_equal(uipc_chan_tx_new(c, &p2), -EBUSY);
	assert_int_equal(uipc_chan_send(p1, &v, 8), 0);
	uipc_chan_tx_free(p1);
	/* A successor continues where the first producer stopped. */
	assert_int_equal(uipc_chan_tx_new(c, &p2), 0);
	v = 2;
	assert_int_equal(uipc_chan_send(p2, &v, 8), 0);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
	assert_int_equal(v, 1);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
	assert_int_equal(v, 2);
	uipc_chan_tx_free(p2);
	uipc_chan_free(c);
}

static void test_consumer_gone(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 4, UIPC_CHAN_MPSC);
	uipc_chan_tx *p;
	uint64_t v = 0;
	int cap;

	cap = uipc_chan_cap(c);
	assert_true(cap >= 0);
	assert_int_equal(uipc_chan_tx_open(f->ctx, cap, &p), 0);
	assert_int_equal(uipc_chan_tx_check(p), 0);
	assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	uipc_chan_free(c);
	assert_int_equal(uipc_chan_tx_check(p), -EPIPE);
	assert_int_equal(uipc_chan_send(p, &v, 8), -EPIPE);
	assert_int_equal(uipc_chan_send_wait(p, &v, 8, -1), -EPIPE);
	assert_int_equal(uipc_chan_reserve(p, (void **)&cap), -EPIPE);
	uipc_chan_tx_free(p);
	/* A capability of a freed channel opens to -EPIPE. */
	assert_int_equal(uipc_chan_tx_open(f->ctx, cap, &p), -EPIPE);
	close(cap);
}

/* SPSC: one producer, whatever capability it comes through. MPSC: up to
 * 64 at once, through one capability or many. */
static void test_attach_limits(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 4, 0);
	uipc_chan_tx *p[65];
	int cap = uipc_chan_cap(c), cap2 = uipc_chan_cap(c);

	assert_true(cap >= 0 && cap2 >= 0);
	assert_int_equal(uipc_chan_tx_open(f->ctx, cap, &p[0]), 0);
	assert_int_equal(uipc_chan_tx_open(f->ctx, cap, &p[1]), -EBUSY);
	assert_int_equal(uipc_chan_tx_open(f->ctx, cap2, &p[1]), -EBUSY);
	uipc_chan_tx_free(p[0]);
	assert_int_equal(uipc_chan_tx_open(f->ctx, cap2, &p[1]), 0);
	uipc_chan_tx_free(p[1]);
	close(cap);
	close(cap2);
	uipc_chan_free(c);

	c = chan_make(f, 8, 4, UIPC_CHAN_MPSC);
	cap = uipc_chan_cap(c);
	assert_true(cap >= 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(uipc_chan_tx_open(f->ctx, cap, &p[i]), 0);
	assert_int_equal(uipc_chan_tx_open(f->ctx, cap, &p[64]), -EBUSY);
	uipc_chan_tx_free(p[10]);
	assert_int_equal(uipc_chan_tx_open(f->ctx, cap, &p[10]), 0);
	for (int i = 0; i < 64; i++)
		uipc_chan_tx_free(p[i]);
	close(cap);
	uipc_chan_free(c);
}

/*
 * A producer that goes away between claiming a slot and publishing it
 * (here: freed with a reservation outstanding; killed, in test-chan-xproc)
 * leaves it empty. SPSC: the next producer writes that position again.
 * MPSC: other producers' messages are already behind it; the consumer
 * passes it once its producer has let go of its lock, and delivers them.
 */
static void test_abandoned_slot(void **state)
{
	struct test_fx *f = *state;

	for (int mpsc = 0; mpsc < 2; mpsc++) {
		uipc_chan *c = chan_make(f, 8, 8, mpsc ? UIPC_CHAN_MPSC : 0);
		uipc_chan_tx *a, *b;
		void *slot;
		uint64_t v = 1;

		assert_int_equal(uipc_chan_tx_new(c, &a), 0);
		assert_int_equal(uipc_chan_send(a, &v, 8), 0);
		assert_int_equal(uipc_chan_reserve(a, &slot), 0);
		if (mpsc) {
			assert_int_equal(uipc_chan_tx_new(c, &b), 0);
			for (v = 2; v < 4; v++)
				assert_int_equal(uipc_chan_send(b, &v, 8), 0);
		}
		assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
		assert_int_equal(v, 1);
		/* The claimer is alive: a slow producer, not a hole. */
		assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EAGAIN);
		assert_int_equal(uipc_chan_recv(c, &v, 8, 30000000), -ETIMEDOUT);
		uipc_chan_tx_free(a);
		if (!mpsc) {
			assert_int_equal(uipc_chan_tx_new(c, &b), 0);
			for (v = 2; v < 4; v++)
				assert_int_equal(uipc_chan_send(b, &v, 8), 0);
		}
		for (uint64_t want = 2; want < 4; want++) {
			assert_int_equal(uipc_chan_recv(c, &v, 8, 5000000000), 0);
			assert_int_equal(v, want);
		}
		assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EAGAIN);
		/* The ring goes on: a full lap and more over the passed slot. */
		for (uint64_t i = 0; i < 20; i++) {
			assert_int_equal(uipc_chan_send(b, &i, 8), 0);
			assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
			assert_int_equal(v, i);
		}
		uipc_chan_tx_free(b);
		assert_int_equal(uipc_chan_recv(c, &v, 8, 1000000000), -EPIPE);
		uipc_chan_free(c);
	}
}

static void test_producers_gone(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 4, UIPC_CHAN_MPSC);
	uipc_chan_tx *p1, *p2;
	uint64_t v = 7;

	/* No producer yet: a wait times out, it does not report -EPIPE. */
	assert_int_equal(uipc_chan_check(c), 0);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 1000000), -ETIMEDOUT);
	assert_int_equal(uipc_chan_tx_new(c, &p1), 0);
	assert_int_equal(uipc_chan_tx_new(c, &p2), 0);
	assert_int_equal(uipc_chan_send(p1, &v, 8), 0);
	uipc_chan_tx_free(p1);
	assert_int_equal(uipc_chan_check(c), 0);
	uipc_chan_tx_free(p2);
	assert_int_equal(uipc_chan_check(c), -EPIPE);
	/* What was sent is still delivered, then the end is reported. */
	assert_int_equal(uipc_chan_recv(c, &v, 8, -1), 0);
	assert_int_equal(v, 7);
	assert_int_equal(uipc_chan_recv(c, &v, 8, -1), -EPIPE);
	uipc_chan_free(c);
}

static void test_give_attach(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 4, 0);
	uipc_chan_tx *p = (uipc_chan_tx *)0x1;
	uint64_t v = 42;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(uipc_chan_cap_send(c, -1), -EBADF);
	assert_int_equal(uipc_chan_cap_send(c, sv[0]), 0);
	assert_int_equal(uipc_chan_tx_open_sock(f->ctx, sv[1], &p), 0);
	assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	v = 0;
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
	assert_int_equal(v, 42);
	uipc_chan_tx_free(p);
	/* A failed hand-over does not count as a producer that came and went. */
	close(sv[1]);
	assert_true(uipc_chan_cap_send(c, sv[0]) < 0);
	close(sv[0]);
	uipc_chan_free(c);
}

/* Arm a fault counter for the n-th call (0: the first); disarm it and say
 * whether it fired. The counter counts down and goes to -1 when it fires
 * (src/util.c), so a value still >= 0 means no fault was injected. */
static void fault_arm(_Atomic int *counter, int n)
{
	atomic_store(counter, n);
}

static bool fault_fired(_Atomic int *counter)
{
	return atomic_exchange(counter, -1) == -1;
}

/*
 * Fail the 1st, 2nd, ... use of @counter until make(@arg) gets through:
 * every injected failure must be reported as -@err, leave the output
 * untouched and (when @fds0 >= 0) leak no fd; a failure is only allowed
 * where one was injected; the sweep must have injected at least one before
 * the call succeeded (else it tested nothing). Returns what was made.
 */
static void *fault_sweep(_Atomic int *counter, int err, int (*make)(void *arg, void **ret),
                         void *arg, int fds0)
{
	void *out = (void *)0x1;
	int n, r, failed = 0;
	bool fired;

	for (n = 0; n < 64; n++) {
		fault_arm(counter, n);
		r = make(arg, &out);
		fired = fault_fired(counter);
		if (r == 0)
			break;
		assert_true(fired);
		assert_int_equal(r, -err);
		assert_ptr_equal(out, (void *)0x1);
		if (fds0 >= 0)
			assert_int_equal(test_count_fds(), fds0);
		failed++;
	}
	assert_true(n < 64);
	assert_true(failed >= 1);
	assert_ptr_not_equal(out, (void *)0x1);
	return out;
}

static int make_chan(void *arg, void **ret)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan *c = *ret;
	int r = uipc_chan_new(((struct test_fx *)arg)->rx, 2, &cfg, &c);

	*ret = c;
	return r;
}

static int make_chan_tx(void *arg, void **ret)
{
	uipc_chan_tx *p = *ret;
	int r = uipc_chan_tx_new(arg, &p);

	*ret = p;
	return r;
}

static void test_faults(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = (uipc_chan *)0x1;
	int fds0;

	/* The receiver keeps its capability for vector 2 once asked. */
	assert_int_equal(make_chan(f, (void **)&c), 0);
	uipc_chan_free(c);
	uipc_chan_free(chan_make(f, 8, 8, 0));
	fds0 = test_count_fds();

	/* Allocations, then fd creation. */
	uipc_chan_free(fault_sweep(&uipc__faults.alloc, ENOMEM, make_chan, f, fds0));
	assert_int_equal(test_count_fds(), fds0);
	uipc_chan_free(fault_sweep(&uipc__faults.fd, EMFILE, make_chan, f, fds0));
	assert_int_equal(test_count_fds(), fds0);

	/* A producer end made in this process: the consumer keeps its end of
	 * each capability it made until it finds the holder gone (reaped when
	 * it runs out of slots, src/chan.c chan_reap()), so fds are counted
	 * once the channel is freed. */
	c = chan_make(f, 8, 8, 0);
	uipc_chan_tx_free(fault_sweep(&uipc__faults.fd, EMFILE, make_chan_tx, c, -1));
	uipc_chan_tx_free(fault_sweep(&uipc__faults.alloc, ENOMEM, make_chan_tx, c, -1));
	uipc_chan_free(c);
	assert_int_equal(test_count_fds(), fds0);
}

/* Other vectors of the receiver stay pending across a channel wait. */
static void test_other_vectors_kept(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 4, 0);
	uipc_tx *tx;
	uint64_t v, m = 0;

	assert_int_equal(uipc_tx_new(f->rx, 7, &tx), 0);
	assert_int_equal(uipc_tx_notify(tx), 0);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 2000000), -ETIMEDOUT);
	assert_int_equal(uipc_rx_poll(f->rx, &m), 0);
	assert_int_equal(m, UINT64_C(1) << 7);
	uipc_tx_free(tx);
	uipc_chan_free(c);
}

/* Kicks --------------------------------------------------------------------- */

/* The core counts kicks unless the backend runs the protocol itself. */
static bool core_protocol(uipc_chan_tx *p)
{
	return !uipc__chan_tx_sender(p)->ops->tx_notify;
}

static uint64_t kicks(uipc_chan_tx *p)
{
	return atomic_load(&uipc__chan_tx_sender(p)->kicks);
}

/* Put the receiver in the state it has right before it blocks (armed) and
 * take it out again, as uipc_rx_wait() does around the backend's block. */
static void consumer_sleeps(uipc_rx *rx)
{
	uipc__rx_arm_status(rx);
	assert_int_equal(atomic_load(&rx->desc->pir), 0);
}

static void consumer_wakes(uipc_rx *rx)
{
	uipc__rx_disarm(rx, false);
}

static void kick_count(struct test_fx *f, unsigned flags)
{
	uipc_chan *c = chan_make(f, 8, 256, flags);
	uipc_chan_tx *p;
	uint64_t v, buf[64], k0, a0;

	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	if (!core_protocol(p)) {
		uipc_chan_tx_free(p);
		uipc_chan_free(c);
		skip();
	}
	/* Consumer awake: no kick however many messages. */
	k0 = kicks(p);
	for (v = 0; v < 100; v++)
		assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	assert_int_equal(kicks(p), k0);
	assert_int_equal(uipc_chan_recv_n(c, buf, 64, sizeof(buf), 0), 64);
	assert_int_equal(uipc_chan_recv_n(c, buf, 64, sizeof(buf), 0), 36);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EAGAIN);
	uipc_rx_poll(f->rx, &v); /* the vector bit the sends left pending */

	/* Consumer asleep: the first send kicks, the rest of the burst does not.
	 * Nothing else arms this receiver or takes its ON (one thread), so the
	 * count is exact. */
	a0 = f->rx->w.arms;
	consumer_sleeps(f->rx);
	assert_int_equal(f->rx->w.arms, a0 + 1);
	k0 = kicks(p);
	v = 0;
	assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	assert_int_equal(kicks(p), k0 + 1);
	k0++;
	for (v = 1; v < 100; v++)
		assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	assert_int_equal(kicks(p), k0);
	consumer_wakes(f->rx);
	for (v = 0; v < 100; v++) {
		assert_int_equal(uipc_chan_recv(c, buf, 8, 0), 0);
		assert_int_equal(buf[0], v);
	}

	/* Asleep again: one batch, one kick. */
	uipc_rx_poll(f->rx, &v);
	consumer_sleeps(f->rx);
	assert_int_equal(uipc_chan_send_n(p, buf, 64), 64);
	assert_int_equal(kicks(p), k0 + 1);
	consumer_wakes(f->rx);
	assert_int_equal(uipc_chan_recv_n(c, buf, 64, sizeof(buf), 0), 64);
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
}

static void test_kicks_spsc(void **state)
{
	kick_count(*state, 0);
}

static void test_kicks_mpsc(void **state)
{
	kick_count(*state, UIPC_CHAN_MPSC);
}

/* Fence-free producers (UIPC_CHAN_LIGHT): the same counts. */
static void test_kicks_light(void **state)
{
	kick_count(*state, UIPC_CHAN_LIGHT);
	kick_count(*state, UIPC_CHAN_LIGHT | UIPC_CHAN_MPSC);
}

/*
 * A consumer blocked in uipc_chan_recv(): one send (or one batch) costs
 * exactly one kick. The sender waits until the receiver is armed (status 0:
 * no SN), then sends. The consumer counts its own arms across the receive
 * (rx->w.arms, read on its own thread). Each arm allows at most one kick,
 * so kicks <= arms always holds. A round where the consumer armed exactly
 * once was armed across the whole send: it must cost exactly one kick. A
 * round where the consumer woke in between and armed again (a stray wake)
 * proves less and is run again, a bounded number of times.
 */
struct kick_round {
	uipc_chan_tx *p;
	uipc_rx *rx;
	unsigned batch; /* 1: uipc_chan_send(), else uipc_chan_send_n() */
	int rc;
	uint64_t kicks;
};

#define HANG_NS UINT64_C(20000000000) /* hang detector, not a timing bound */

static void *kick_round_send(void *arg)
{
	struct kick_round *k = arg;
	uint64_t v[32], t0 = t_now_ns(), k0;

	for (unsigned i = 0; i < 32; i++)
		v[i] = i + 1;
	while (atomic_load(&k->rx->desc->status) != 0) {
		if (t_now_ns() - t0 > HANG_NS) {
			k->rc = -ETIMEDOUT;
			return NULL;
		}
		t_sleep_ns(100000);
	}
	k0 = kicks(k->p);
	if (k->batch == 1)
		k->rc = uipc_chan_send(k->p, v, 8);
	else
		k->rc = uipc_chan_send_n(k->p, v, k->batch) == (int)k->batch ? 0 : -1;
	k->kicks = kicks(k->p) - k0;
	return NULL;
}

/* One round; returns the consumer's arms during it, *ret_kicks the kicks. */
static uint64_t kick_round(uipc_chan *c, struct kick_round *k, uint64_t *ret_kicks)
{
	uint64_t buf[32], a0;
	unsigned got = 0;
	pthread_t t;
	int r;

	k->rc = 0;
	k->kicks = 0;
	/* Disarmed before the round: the sender's "armed" is this receive's. */
	assert_true(atomic_load(&k->rx->desc->status) & UIPC_DESC_SN);
	a0 = k->rx->w.arms;
	assert_int_equal(pthread_create(&t, NULL, kick_round_send, k), 0);
	while (got < k->batch) {
		r = uipc_chan_recv_n(c, buf + got, k->batch - got, sizeof(buf) - got * 8,
		                     (int64_t)HANG_NS);
		assert_true(r > 0);
		got += (unsigned)r;
	}
	a0 = k->rx->w.arms - a0;
	pthread_join(t, NULL);
	assert_int_equal(k->rc, 0);
	for (unsigned i = 0; i < k->batch; i++)
		assert_int_equal(buf[i], i + 1);
	*ret_kicks = k->kicks;
	return a0;
}

static void test_blocked_consumer_kicks(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 64, 0);
	struct kick_round k = {.rx = f->rx};
	uint64_t arms, n;
	unsigned batches[] = {1, 32}, tries;

	assert_int_equal(uipc_chan_tx_new(c, &k.p), 0);
	assert_int_equal(uipc_rx_set_spin(f->rx, UIPC_SPIN_NONE, 0), 0);
	for (unsigned b = 0; b < 2; b++) {
		k.batch = batches[b];
		for (tries = 0; tries < 20; tries++) {
			arms = kick_round(c, &k, &n);
			assert_true(arms >= 1); /* it did sleep: the sender saw it armed */
			if (!core_protocol(k.p))
				break;
			assert_true(n <= arms);
			if (arms == 1 && n == 1)
				break;
			/* arms == 1 and no kick: it woke before the send and
			 * found the message without sleeping again; or it
			 * armed twice. Either way, not a clean round. */
		}
		assert_true(tries < 20);
	}
	uipc_chan_tx_free(k.p);
	uipc_chan_free(c);
}

/* A producer blocked on a full ring sleeps until the consumer frees space. */
struct blocked_producer {
	uipc_chan_tx *p;
	int rc;
	uint64_t n;
	_Atomic int tid;
	long vcsw[2]; /* the producer's voluntary context switches: before, after */
};

/* A field of /proc/self/task/TID/status ("voluntary_ctxt_switches:"), or of
 * the calling thread's (tid 0); -1 when it cannot be read. */
static long task_status_field(int tid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *fp;

	if (tid)
		snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	else
		snprintf(path, sizeof(path), "/proc/thread-self/status");
	fp = fopen(path, "re");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	fclose(fp);
	return v;
}

/* The scheduler state of a thread of this process ('R', 'S', ...). */
static char task_state(int tid)
{
	char path[64], line[512], *p;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fp = fopen(path, "re");
	if (!fp)
		return '?';
	p = fgets(line, sizeof(line), fp);
	fclose(fp);
	p = p ? strrchr(line, ')') : NULL;
	return p && p[1] == ' ' ? p[2] : '?';
}

static void *send_many(void *arg)
{
	struct blocked_producer *b = arg;

	atomic_store(&b->tid, uipc__gettid());
	b->vcsw[0] = task_status_field(0, "voluntary_ctxt_switches");
	for (uint64_t i = 0; i < b->n && b->rc == 0; i++)
		b->rc = uipc_chan_send_wait(b->p, &i, 8, -1);
	b->vcsw[1] = task_status_field(0, "voluntary_ctxt_switches");
	return NULL;
}

/* The space_waiters flag and the space_seq futex word sit on the header
 * line after the head's (src/chan.c, struct chan_shm). */
static _Atomic uint32_t *space_word(uipc_chan *c, unsigned which)
{
	struct uipc__chan_layout l;

	uipc__chan_layout(c, &l);
	assert_true(l.head_off > l.tail_off);
	return (_Atomic uint32_t *)((char *)l.map + l.head_off + (l.head_off - l.tail_off) +
	                            which * sizeof(uint32_t));
}

static void test_send_wait_sleeps(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 4, 0);
	struct blocked_producer b = {.n = 2000};
	_Atomic uint32_t *seq = space_word(c, 0), *waiters = space_word(c, 1);
	uint64_t v, t0;
	unsigned rounds = 0;
	uint32_t seq0 = atomic_load(seq);
	pthread_t t;
	int tid;

	assert_int_equal(uipc_chan_tx_new(c, &b.p), 0);
	assert_int_equal(pthread_create(&t, NULL, send_many, &b), 0);
	for (uint64_t i = 0; i < b.n; i++) {
		if (i % 500 == 0) {
			/* Take nothing until the producer has found the ring
			 * full, said so (the flag) and gone to sleep (state S):
			 * then it cannot have found space in its re-check. The
			 * bound only catches a hang or a producer that spins. */
			t0 = t_now_ns();
			while (!(tid = atomic_load(&b.tid)) || !atomic_load(waiters) ||
			       task_state(tid) != 'S') {
				assert_true(t_now_ns() - t0 < UINT64_C(20000000000));
				t_sleep_ns(200000);
			}
			rounds++;
		}
		assert_int_equal(uipc_chan_recv(c, &v, 8, 10000000000), 0);
		assert_int_equal(v, i);
	}
	pthread_join(t, NULL);
	assert_int_equal(b.rc, 0);
	assert_int_equal(rounds, 4);
	/* It slept: the kernel counted its voluntary switches out (a producer
	 * that spun or polled instead would have none to show), and the
	 * consumer saw the flag and woke it at least once per round. */
	assert_true(b.vcsw[0] >= 0);
	assert_true(b.vcsw[1] - b.vcsw[0] >= (long)rounds);
	assert_true(atomic_load(seq) - seq0 >= rounds);
	uipc_chan_tx_free(b.p);
	uipc_chan_free(c);
}

/* Corrupt rings ------------------------------------------------------------ */

static _Atomic uint64_t *shm_u64(uipc_chan *c, size_t off)
{
	struct uipc__chan_layout l;

	uipc__chan_layout(c, &l);
	assert_true(off + 8 <= l.size);
	return (_Atomic uint64_t *)(void *)((char *)l.map + off);
}

static size_t off_tail(uipc_chan *c)
{
	struct uipc__chan_layout l;

	uipc__chan_layout(c, &l);
	return l.tail_off;
}

static size_t off_head(uipc_chan *c)
{
	struct uipc__chan_layout l;

	uipc__chan_layout(c, &l);
	return l.head_off;
}

static size_t off_seq(uipc_chan *c, uint64_t pos)
{
	struct uipc__chan_layout l;

	uipc__chan_layout(c, &l);
	return l.slots_off + (size_t)(pos & (l.capacity - 1)) * l.stride + l.seq_off;
}

static void test_corrupt_spsc(void **state)
{
	struct test_fx *f = *state;
	/* head is 1: its slot may say 2 (ready) or 1 + 1 - 8 (empty, from the
	 * previous lap), nothing else: not MPSC's "empty" (1), not a lap
	 * ahead, not garbage. */
	uint64_t bad[] = {1, 2 + 8, UINT64_MAX, UINT64_C(1) << 63};
	uint64_t v = 5;
	const void *m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uipc_chan *c = chan_make(f, 8, 8, 0);
		uipc_chan_tx *p;

		assert_int_equal(uipc_chan_tx_new(c, &p), 0);
		assert_int_equal(uipc_chan_send(p, &v, 8), 0);
		assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
		atomic_store(shm_u64(c, off_seq(c, 1)), bad[i]);
		assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EPROTO);
		assert_int_equal(uipc_chan_recv(c, &v, 8, -1), -EPROTO); /* stays broken */
		assert_int_equal(uipc_chan_peek(c, &m, 0), -EPROTO);
		uipc_chan_tx_free(p);
		uipc_chan_free(c);
	}
}

/* The consumer never reads the tail: a corrupt one is the next producer's
 * business (it refuses to attach), and a producer killed between publishing
 * its slots and storing its tail loses nothing (the next one walks on). */
static void test_spsc_tail(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 8, 0);
	uipc_chan_tx *p;
	uint64_t v;

	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	for (v = 0; v < 3; v++)
		assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	uipc_chan_tx_free(p);

	atomic_store(shm_u64(c, off_tail(c)), 1000);
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
	assert_int_equal(v, 0);
	assert_int_equal(uipc_chan_tx_new(c, &p), -EPROTO);

	atomic_store(shm_u64(c, off_tail(c)), 1); /* two published slots behind it */
	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	v = 3;
	assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	for (uint64_t want = 1; want < 4; want++) {
		assert_int_equal(uipc_chan_recv(c, &v, 8, 0), 0);
		assert_int_equal(v, want);
	}
	assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EAGAIN);
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
}

static void test_corrupt_spsc_producer(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 8, 0);
	uipc_chan_tx *p;
	uint64_t v = 0;

	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(uipc_chan_send(p, &v, 8), 0);
	atomic_store(shm_u64(c, off_head(c)), 100); /* ahead of the tail */
	assert_int_equal(uipc_chan_send(p, &v, 8), -EPROTO);
	assert_int_equal(uipc_chan_send_n(p, &v, 1), -EPROTO);
	/* A head that says "full forever" is a timeout, not a hang. */
	atomic_store(shm_u64(c, off_head(c)), 0);
	assert_int_equal(uipc_chan_send_wait(p, &v, 8, 2000000), -ETIMEDOUT);
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
}

static void test_corrupt_mpsc(void **state)
{
	struct test_fx *f = *state;
	uint64_t v = 1;

	for (int i = 0; i < 3; i++) {
		uipc_chan *c = chan_make(f, 8, 8, UIPC_CHAN_MPSC);
		uipc_chan_tx *p;
		uint64_t bad = i == 0 ? 2 : i == 1 ? UINT64_MAX : 8;

		assert_int_equal(uipc_chan_tx_new(c, &p), 0);
		/* The consumer's head slot (position 0) may say 0 or 1, nothing else. */
		atomic_store(shm_u64(c, off_seq(c, 0)), bad);
		assert_int_equal(uipc_chan_recv(c, &v, 8, 0), -EPROTO);
		assert_int_equal(uipc_chan_recv_n(c, &v, 1, 8, 1000000), -EPROTO);
		uipc_chan_tx_free(p);
		uipc_chan_free(c);
	}
}

static void test_corrupt_mpsc_producer(void **state)
{
	struct test_fx *f = *state;
	uipc_chan *c = chan_make(f, 8, 8, UIPC_CHAN_MPSC);
	uipc_chan_tx *p;
	uint64_t v = 1;

	assert_int_equal(uipc_chan_tx_new(c, &p), 0);
	/* A slot claiming to be ahead of the tail that never moves. */
	atomic_store(shm_u64(c, off_seq(c, 0)), 5);
	assert_int_equal(uipc_chan_send(p, &v, 8), -EPROTO);
	/* A tail far ahead of every slot: the ring looks full, never loops. */
	atomic_store(shm_u64(c, off_seq(c, 0)), 0);
	atomic_store(shm_u64(c, off_tail(c)), 1000);
	assert_int_equal(uipc_chan_send(p, &v, 8), -EAGAIN);
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
}

/* Contention ----------------------------------------------------------------- */

struct msg {
	uint32_t id;
	uint32_t check;
	uint64_t seq;
};

static uint32_t msg_check(uint32_t id, uint64_t seq)
{
	return (uint32_t)((seq * 0x9e3779b97f4a7c15u) >> 32) ^ id;
}

struct producer {
	uipc_chan_tx *p;
	uint32_t id;
	uint64_t n;
	uint64_t seed;
	int rc;
};

static int put_one(struct producer *pr, uint64_t seq, unsigned mode)
{
	struct msg m = {.id = pr->id, .check = msg_check(pr->id, seq), .seq = seq};
	void *slot;
	int r;

	for (;;) {
		switch (mode) {
		case 0:
			return uipc_chan_send_wait(pr->p, &m, sizeof(m), 10000000000);
		case 1:
			r = uipc_chan_send(pr->p, &m, sizeof(m));
			break;
		default:
			r = uipc_chan_reserve(pr->p, &slot);
			if (r == 0) {
				memcpy(slot, &m, sizeof(m));
				r = uipc_chan_commit(pr->p);
			}
			break;
		}
		if (r != -EAGAIN)
			return r;
		sched_yield();
	}
}

static int put_batch(struct producer *pr, uint64_t *seq, uint64_t n)
{
	struct msg m[8];
	uint64_t done = 0;
	int r;

	for (uint64_t i = 0; i < n; i++)
		m[i] = (struct msg){
		    .id = pr->id, .check = msg_check(pr->id, *seq + i), .seq = *seq + i};
	while (done < n) {
		r = uipc_chan_send_n(pr->p, m + done, n - done);
		if (r == -EAGAIN) {
			sched_yield();
			continue;
		}
		if (r < 0)
			return r;
		done += (uint64_t)r;
	}
	*seq += n;
	return 0;
}

static void *produce(void *arg)
{
	struct producer *pr = arg;
	uint64_t seq = 0, x;

	while (seq < pr->n && pr->rc == 0) {
		x = t_rand(&pr->seed);
		if ((x & 1023) == 0)
			t_sleep_ns((x >> 10) % 200000); /* let the consumer fall asleep */
		if (((x >> 20) & 3) == 3) {
			uint64_t n = 1 + ((x >> 24) & 7);

			pr->rc = put_batch(pr, &seq, n < pr->n - seq ? n : pr->n - seq);
		} else {
			pr->rc = put_one(pr, seq++, (unsigned)((x >> 20) & 3));
		}
	}
	return NULL;
}

static uint64_t stress_total(void)
{
	const char *e = getenv("UIPC_CHAN_STRESS_MSGS");

	return e && *e ? strtoull(e, NULL, 0) : 1000000;
}

static void stress(struct test_fx *f, unsigned flags, unsigned nprod)
{
	uipc_chan *c = chan_make(f, sizeof(struct msg), 256, flags);
	struct producer pr[4];
	pthread_t t[4];
	uint64_t next[4] = {0}, total = stress_total(), got = 0, seed = 0x1234567;
	struct msg buf[16];
	int r;

	assert_true(nprod <= 4);
	for (unsigned i = 0; i < nprod; i++) {
		pr[i] =
		    (struct producer){.id = i, .n = total / nprod, .seed = 0x9e3779b9u * (i + 1)};
		assert_int_equal(uipc_chan_tx_new(c, &pr[i].p), 0);
		assert_int_equal(pthread_create(&t[i], NULL, produce, &pr[i]), 0);
	}
	total = (total / nprod) * nprod;
	while (got < total) {
		uint64_t x = t_rand(&seed);

		if ((got & 4095) == 0) /* vary how the consumer waits: block, spin, adapt */
			assert_int_equal(
			    uipc_rx_set_spin(f->rx, (enum uipc_spin_mode)(x % 3), (x >> 8) % 20000),
			    0);
		r = uipc_chan_recv_n(c, buf, 1 + (x >> 32) % 16, sizeof(buf), 10000000000);
		assert_true(r > 0);
		for (int i = 0; i < r; i++) {
			assert_true(buf[i].id < nprod);
			assert_int_equal(buf[i].check, msg_check(buf[i].id, buf[i].seq));
			assert_int_equal(buf[i].seq, next[buf[i].id]); /* in order, once */
			next[buf[i].id]++;
		}
		got += (uint64_t)r;
	}
	for (unsigned i = 0; i < nprod; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(pr[i].rc, 0);
		assert_int_equal(next[i], pr[i].n);
		uipc_chan_tx_free(pr[i].p);
	}
	assert_int_equal(uipc_chan_recv(c, buf, sizeof(buf[0]), 0), -EAGAIN);
	assert_int_equal(uipc_chan_recv(c, buf, sizeof(buf[0]), -1), -EPIPE);
	uipc_chan_free(c);
}

static void test_stress_spsc(void **state)
{
	stress(*state, 0, 1);
}

static void test_stress_mpsc(void **state)
{
	stress(*state, UIPC_CHAN_MPSC, 3);
}

static void test_stress_light(void **state)
{
	stress(*state, UIPC_CHAN_LIGHT, 1);
	stress(*state, UIPC_CHAN_LIGHT | UIPC_CHAN_MPSC, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_args, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_capabilities, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edges_spsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edges_mpsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_spsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_mpsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zero_copy_spsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zero_copy_mpsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spsc_one_producer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_consumer_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attach_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abandoned_slot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_producers_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_give_attach, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_vectors_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kicks_spsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kicks_mpsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kicks_light, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blocked_consumer_kicks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_wait_sleeps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_spsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spsc_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_spsc_producer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_mpsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_mpsc_producer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stress_spsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stress_mpsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stress_light, setup, teardown),
	};
	uipc_ctx *probe;
	int r = uipc_ctx_new(NULL, &probe);

	TEST_SKIP_IF(r == -EOPNOTSUPP, "backend %s is not usable on this machine", test_backend());
	uipc_ctx_free(probe);
	return cmocka_run_group_tests_name(test_backend(), tests, NULL, NULL);
}
