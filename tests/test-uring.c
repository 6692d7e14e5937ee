/* SPDX-License-Identifier: MIT */
/*
 * A receiver in an io_uring loop (examples/uring-uipc.h, uipc_rx_futex()):
 * both ways the ring waits, each where the running kernel has it (the
 * reason printed otherwise): IORING_OP_FUTEX_WAIT on a futex receiver's
 * word (6.7 and later), IORING_OP_POLL_ADD on an eventfd receiver's fd.
 *
 *   test-uring futex|poll            the functional cases
 *   test-uring futex|poll torture    senders racing the loop's arm
 *   ... torture baseline            the same senders, the loop in uipc_rx_wait()
 *   test-uring api                   uipc_rx_futex() itself; io_uring refused
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/syscount.h"
#include "test-common.h"
#include "uring-uipc.h"

#define TAG      0x75697063ull
#define LONG_NS  5000000000ll
#define BOUND_NS 1000000000ull /* no wake may take longer (not a timing test) */
#define NSENDERS 4

static const char *path; /* "futex" or "poll" */
static bool baseline;    /* torture: uipc_rx_wait() instead of the ring (a comparison) */

struct loop {
	struct io_uring ring;
	struct uring_uipc u;
	uipc_ctx *ctx;
	uipc_rx *rx;
	unsigned long sleeps;
};

static int loop_new_flags(struct loop *l, unsigned setup_flags)
{
	bool futex = strcmp(path, "futex") == 0;
	int r;

	memset(l, 0, sizeof(*l));
	r = io_uring_queue_init(64, &l->ring, setup_flags);
	if (r < 0)
		return r;
	if ((r = uipc_ctx_new(futex ? "futex" : "eventfd", &l->ctx)) < 0 ||
	    (r = uipc_rx_new(l->ctx, futex ? 0 : UIPC_RX_POLLABLE, &l->rx)) < 0 ||
	    (r = uring_uipc_init(&l->u, &l->ring, l->rx, TAG, futex ? 0 : URING_UIPC_NO_FUTEX)) < 0)
		return r;
	return l->u.how == (futex ? URING_UIPC_FUTEX : URING_UIPC_POLL) ? 0 : -EPROTO;
}

static int loop_new(struct loop *l)
{
	return loop_new_flags(l, 0);
}

static void loop_free(struct loop *l)
{
	io_uring_queue_exit(&l->ring);
	uipc_rx_free(l->rx);
	uipc_ctx_free(l->ctx);
}

/* Reap every completion; -errno on one of ours that is an error. */
static int loop_reap(struct loop *l)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int r = 0;

	io_uring_for_each_cqe(&l->ring, head, cqe)
	{
		n++;
		if (uring_uipc_owns(&l->u, cqe) && uring_uipc_complete(&l->u, cqe) < 0)
			r = cqe->res;
	}
	io_uring_cq_advance(&l->ring, n);
	return r;
}

/* One turn: arm, sleep (at most timeout_ns), reap, drain. 0 or -errno. */
static int loop_turn(struct loop *l, int64_t timeout_ns, uint64_t *ret_mask)
{
	struct __kernel_timespec ts = {.tv_sec = timeout_ns / 1000000000,
	                               .tv_nsec = timeout_ns % 1000000000};
	struct io_uring_cqe *cqe;
	int r = uring_uipc_arm(&l->u);

	if (r == 0) {
		l->sleeps++;
		r = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
		if (r < 0 && r != -ETIME && r != -EINTR)
			return r;
	} else if (r != -EAGAIN) {
		return r;
	}
	r = loop_reap(l);
	if (r < 0)
		return r;
	return uring_uipc_drain(&l->u, ret_mask);
}

/* Where the path is missing here: why, or NULL. */
static const char *path_missing(void)
{
	static char why[160];
	int r = uring_uipc_futex_supported();

	if (r < 0) {
		snprintf(why, sizeof(why), "io_uring unusable here: %s", strerror(-r));
		return why;
	}
	if (strcmp(path, "futex") == 0 && r == 0)
		return "this kernel has no IORING_OP_FUTEX_WAIT (Linux 6.7 and later)";
	return NULL;
}

/* Functional -------------------------------------------------------------- */

struct later {
	uipc_tx *tx;
	uint64_t delay_ns;
};

static void *notify_later(void *arg)
{
	struct later *n = arg;

	t_sleep_ns(n->delay_ns);
	assert_int_equal(uipc_tx_notify(n->tx), 0);
	return NULL;
}

/* Awake: a notify is free and the arm says so; asleep: one kick wakes the
 * ring, whose wait is then no longer queued. */
static void test_wake(void **state)
{
	struct later n = {.delay_ns = 50000000};
	struct loop l;
	pthread_t th;
	uint64_t m = 0;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(uipc_tx_new(l.rx, 7, &n.tx), 0);

	assert_int_equal(uipc_tx_notify(n.tx), 0);
	assert_int_equal(atomic_load(&n.tx->kicks), 0);
	assert_int_equal(uring_uipc_arm(&l.u), -EAGAIN);
	assert_int_equal(uring_uipc_drain(&l.u, &m), 0);
	assert_true(m == 1ull << 7);

	for (int i = 0; i < 3; i++) {
		uint64_t t0 = t_now_ns();

		pthread_create(&th, NULL, notify_later, &n);
		m = 0;
		while (!m)
			assert_int_equal(loop_turn(&l, LONG_NS, &m), 0);
		pthread_join(th, NULL);
		assert_true(m == 1ull << 7);
		assert_true(t_now_ns() - t0 < (uint64_t)LONG_NS);
	}
	assert_true(atomic_load(&n.tx->kicks) >= 1);
	uipc_tx_free(n.tx);
	loop_free(&l);
}

/* A sender in another process wakes the ring (the futex is shared). */
static void test_xproc(void **state)
{
	struct loop l;
	uint64_t m = 0, t0;
	pid_t pid;
	int cap;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	cap = uipc_rx_cap(l.rx, 9);
	assert_true(cap >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uipc_tx *tx;

		if (uipc_tx_open(l.ctx, cap, &tx) < 0)
			_exit(2);
		t_sleep_ns(100000000);
		_exit(uipc_tx_notify(tx) == 0 ? 0 : 3);
	}
	t0 = t_now_ns();
	while (!m && t_now_ns() - t0 < (uint64_t)LONG_NS)
		assert_int_equal(loop_turn(&l, LONG_NS, &m), 0);
	assert_true(m == 1ull << 9);
	assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the sender"), T_PASS);
	close(cap);
	loop_free(&l);
}

/* The ring's wait left queued, the loop drained, then a blocking
 * uipc_rx_wait() on the receiver: the kick must reach the thread, not only
 * the ring's stale wait (futex kicks wake every waiter of the word). Then
 * a cancel: the wait completes, the receiver is left usable. The ring
 * defers its completions' work (DEFER_TASKRUN): otherwise that work
 * interrupts the thread's sleep and hides a kick the thread missed. */
static void test_stale_wait(void **state)
{
	struct later n = {.delay_ns = 50000000};
	struct loop l;
	pthread_t th;
	uint64_t m = 0, t0;
	int r;

	(void)state;
	r = loop_new_flags(&l, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (r == -EINVAL) /* the ring's own flags, before 6.1 */
		r = loop_new(&l);
	assert_int_equal(r, 0);
	assert_int_equal(uipc_tx_new(l.rx, 3, &n.tx), 0);
	assert_int_equal(uring_uipc_arm(&l.u), 0);
	assert_true(io_uring_submit(&l.ring) >= 0);
	assert_int_equal(uring_uipc_drain(&l.u, &m), 0);
	assert_true(l.u.queued);

	pthread_create(&th, NULL, notify_later, &n);
	t0 = t_now_ns();
	assert_int_equal(uipc_rx_wait(l.rx, LONG_NS, &m), 0);
	pthread_join(th, NULL);
	assert_true(m == 1ull << 3);
	/* Not a timing check: a missed kick sleeps the whole 5 s. */
	assert_true(t_now_ns() - t0 < (uint64_t)LONG_NS / 2);

	/* Cancel whatever is still queued and reap it. */
	assert_int_equal(uring_uipc_cancel(&l.u, &m), 0);
	while (l.u.queued) {
		struct io_uring_cqe *cqe;

		assert_true(io_uring_submit_and_wait(&l.ring, 1) >= 0 || errno == EINTR);
		(void)cqe;
		assert_int_equal(loop_reap(&l), 0);
	}
	assert_int_equal(uipc_tx_notify(n.tx), 0);
	assert_int_equal(uipc_rx_wait(l.rx, LONG_NS, &m), 0);
	assert_true(m == 1ull << 3);
	uipc_tx_free(n.tx);
	loop_free(&l);
}

/* Idle: an armed loop sleeps; it neither spins nor wakes for nothing. */
struct idle {
	struct loop *l;
	uint64_t cpu_ns, turns;
	uint64_t mask;
};

static uint64_t thread_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

static void *idle_loop(void *arg)
{
	struct idle *s = arg;
	uint64_t c0 = thread_cpu_ns();

	while (!s->mask && s->turns < 1000) {
		s->turns++;
		if (loop_turn(s->l, LONG_NS, &s->mask) < 0)
			break;
	}
	s->cpu_ns = thread_cpu_ns() - c0;
	return NULL;
}

static void test_idle(void **state)
{
	struct loop l;
	struct idle s = {.l = &l};
	pthread_t th;
	uipc_tx *tx;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(uipc_tx_new(l.rx, 1, &tx), 0);
	pthread_create(&th, NULL, idle_loop, &s);
	t_sleep_ns(500000000);
	assert_int_equal(uipc_tx_notify(tx), 0);
	pthread_join(th, NULL);
	printf("# idle %s loop: %llu turns, %.3f ms CPU over 0.5 s\n", path,
	       (unsigned long long)s.turns, (double)s.cpu_ns / 1e6);
	assert_true(s.mask == 2);
	/* Generous: a spinning loop burns the whole 500 ms and 1000 turns. */
	assert_true(s.turns <= 10);
	assert_true(s.cpu_ns < 100000000);
	uipc_tx_free(tx);
	loop_free(&l);
}

/* Torture ------------------------------------------------------------------ */

struct torture {
	struct loop l;
	uipc_tx *tx[NSENDERS];
	_Atomic uint64_t sent[NSENDERS], acked[NSENDERS], t_sent[NSENDERS];
	_Atomic bool failed;
	_Atomic unsigned done; /* senders finished */
	uint64_t lat[1 << 20];
	_Atomic unsigned nlat;
	uint64_t end_ns;
};

struct sender {
	struct torture *t;
	unsigned i;
	uint64_t seed;
};

static void *torture_sender(void *arg)
{
	struct sender *s = arg;
	struct torture *t = s->t;

	for (uint64_t n = 1; t_now_ns() < t->end_ns && !atomic_load(&t->failed); n++) {
		uint64_t t0;
		/* A short busy pause: many notifies land while the loop arms. */
		unsigned spin = (unsigned)(t_rand(&s->seed) % 4000);

		for (unsigned k = 0; k < spin; k++)
			uipc__cpu_relax();
		atomic_store(&t->t_sent[s->i], t_now_ns());
		atomic_store(&t->sent[s->i], n);
		if (uipc_tx_notify(t->tx[s->i]) < 0) {
			atomic_store(&t->failed, true);
			break;
		}
		/* The ack: yield a while, then sleep in short steps (four
		 * senders spinning on two CPUs would starve the loop). */
		t0 = t_now_ns();
		for (unsigned k = 0; atomic_load(&t->acked[s->i]) < n; k++) {
			if (t_now_ns() - t0 > 10 * BOUND_NS) {
				printf("# sender %u: notify %llu never seen: a lost wakeup\n", s->i,
				       (unsigned long long)n);
				atomic_store(&t->failed, true);
				return NULL;
			}
			if (k < 20)
				sched_yield();
			else
				t_sleep_ns(50000);
		}
	}
	/* Wake the loop to see it (it sleeps without a deadline of ours). */
	atomic_fetch_add(&t->done, 1);
	(void)uipc_tx_notify(t->tx[s->i]);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int torture(void)
{
	struct torture *t = calloc(1, sizeof(*t));
	struct sender s[NSENDERS];
	pthread_t th[NSENDERS];
	uint64_t seen = 0, over5 = 0, over10 = 0, max, seconds = 4;
	const char *e = getenv("UIPC_TEST_SECONDS");
	unsigned n;
	int r;

	if (!t)
		return 1;
	if (e && atoi(e) > 0)
		seconds = (uint64_t)atoi(e);
	r = loop_new(&t->l);
	if (r < 0) {
		printf("loop: %s\n", strerror(-r));
		return 1;
	}
	t->end_ns = t_now_ns() + seconds * 1000000000u;
	for (unsigned i = 0; i < NSENDERS; i++) {
		if (uipc_tx_new(t->l.rx, i, &t->tx[i]) < 0)
			return 1;
		s[i] = (struct sender){t, i, 17u * i + 1};
		pthread_create(&th[i], NULL, torture_sender, &s[i]);
	}
	while (!atomic_load(&t->failed)) {
		uint64_t m = 0, now;

		if (baseline) {
			r = uipc_rx_wait(t->l.rx, (int64_t)BOUND_NS * 10, &m);
			r = r == -ETIMEDOUT ? 0 : r;
		} else {
			r = loop_turn(&t->l, (int64_t)BOUND_NS * 10, &m);
		}
		if (r < 0) {
			printf("loop turn: %s\n", strerror(-r));
			atomic_store(&t->failed, true);
			break;
		}
		now = t_now_ns();
		for (unsigned i = 0; i < NSENDERS; i++) {
			uint64_t v;

			if (!(m & (1ull << i)))
				continue;
			v = atomic_load(&t->sent[i]);
			if (v > atomic_load(&t->acked[i])) {
				n = atomic_fetch_add(&t->nlat, 1);
				if (n < (1u << 20))
					t->lat[n] = now - atomic_load(&t->t_sent[i]);
				seen++;
			}
			atomic_store(&t->acked[i], v);
		}
		if (atomic_load(&t->done) == NSENDERS)
			break;
	}
	for (unsigned i = 0; i < NSENDERS; i++)
		pthread_join(th[i], NULL);
	n = atomic_load(&t->nlat);
	if (n > (1u << 20))
		n = 1u << 20;
	qsort(t->lat, n, sizeof(t->lat[0]), cmp_u64);
	for (unsigned i = 0; i < n; i++) {
		over5 += t->lat[i] > 5000000;
		over10 += t->lat[i] > 10000000;
	}
	max = n ? t->lat[n - 1] : 0;
	printf("# %s%s torture: %llu notifies seen, %lu loop sleeps, kicks %llu\n", path,
	       baseline ? " (baseline: uipc_rx_wait(), no ring)" : "", (unsigned long long)seen,
	       t->l.sleeps,
	       (unsigned long long)(atomic_load(&t->tx[0]->kicks) + atomic_load(&t->tx[1]->kicks) +
	                            atomic_load(&t->tx[2]->kicks) + atomic_load(&t->tx[3]->kicks)));
	if (n)
		printf("# notify-to-loop latency: p50 %.1f us, p99 %.1f us, p99.9 %.1f us, "
		       "max %.1f us; over 5 ms: %llu, over 10 ms: %llu\n",
		       (double)t->lat[n / 2] / 1e3, (double)t->lat[(uint64_t)n * 99 / 100] / 1e3,
		       (double)t->lat[(uint64_t)n * 999 / 1000] / 1e3, (double)max / 1e3,
		       (unsigned long long)over5, (unsigned long long)over10);
	r = atomic_load(&t->failed) || seen == 0 || max > BOUND_NS;
	if (max > BOUND_NS)
		printf("# a wake took %.3f s (bound 1 s)\n", (double)max / 1e9);
	for (unsigned i = 0; i < NSENDERS; i++)
		uipc_tx_free(t->tx[i]);
	loop_free(&t->l);
	free(t);
	return r;
}

/* API ---------------------------------------------------------------------- */

static void test_api(void **state)
{
	const uint32_t *word;
	uint32_t armed = 7;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;

	(void)state;
	assert_int_equal(uipc_rx_futex(NULL, &word, &armed), -EINVAL);
	assert_int_equal(uipc_ctx_new("futex", &ctx), 0);
	assert_int_equal(uipc_rx_new(ctx, 0, &rx), 0);
	assert_int_equal(uipc_rx_futex(rx, NULL, &armed), -EINVAL);
	assert_int_equal(uipc_rx_futex(rx, &word, NULL), -EINVAL);
	/* Before the call a futex receiver is not armable, as in 0.2. */
	assert_int_equal(uipc_rx_arm(rx), -EOPNOTSUPP);
	assert_int_equal(uipc_rx_drain(rx, &m), -EOPNOTSUPP);
	assert_int_equal(uipc_rx_futex(rx, &word, &armed), 0);
	assert_int_equal(uipc_tx_new(rx, 2, &tx), 0);
	assert_int_equal(uipc_rx_arm(rx), 0);
	assert_int_equal(uipc_rx_arm(rx), 0); /* a no-op */
	assert_int_equal(*(const volatile uint32_t *)word, armed);
	assert_int_equal(uipc_rx_wait(rx, 1000, &m), -EBUSY);
	assert_int_equal(uipc_tx_notify(tx), 0);
	assert_int_not_equal(*(const volatile uint32_t *)word, armed); /* a waiter returns */
	assert_int_equal(uipc_rx_drain(rx, &m), 0);
	assert_true(m == 4);
	assert_int_not_equal(*(const volatile uint32_t *)word, armed); /* awake: waits return */
	assert_int_equal(uipc_rx_wait(rx, 0, &m), -EAGAIN);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);

	if (uipc_ctx_new("eventfd", &ctx) == 0) {
		assert_int_equal(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx), 0);
		assert_int_equal(uipc_rx_futex(rx, &word, &armed), -EOPNOTSUPP);
		uipc_rx_free(rx);
		uipc_ctx_free(ctx);
	}
}

/* The loop's side of the futex way in system calls (ptrace, in a child):
 * arm, an awake notify, the drain that takes it, an empty arm and drain:
 * none (the ring's wait is the sleep, not counted, as in uipc(7)). */
enum { SC_ARM, SC_NOTIFY_AWAKE, SC_DRAIN, SC_IDLE, SC_KICK, SC_N };

static void syscalls_child(void *arg)
{
	const uint32_t *word;
	uint32_t armed;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;

	(void)arg;
	if (uipc_ctx_new("futex", &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0 ||
	    uipc_rx_futex(rx, &word, &armed) < 0 || uipc_tx_new(rx, 1, &tx) < 0)
		_exit(10);
	sc_begin(SC_NOTIFY_AWAKE);
	(void)uipc_tx_notify(tx);
	sc_end();
	sc_begin(SC_ARM);
	if (uipc_rx_arm(rx) != -EAGAIN)
		_exit(11);
	sc_end();
	sc_begin(SC_DRAIN);
	if (uipc_rx_drain(rx, &m) < 0 || m != 2)
		_exit(12);
	sc_end();
	sc_begin(SC_IDLE);
	if (uipc_rx_arm(rx) != 0 || uipc_rx_drain(rx, &m) < 0 || m != 0)
		_exit(13);
	sc_end();
	(void)uipc_rx_arm(rx);
	sc_begin(SC_KICK);
	(void)uipc_tx_notify(tx);
	sc_end();
	_exit(0);
}

static void test_syscalls(void **state)
{
	long c[SC_N] = {0};
	int r;

	(void)state;
	r = sc_run(syscalls_child, NULL, c, SC_N);
	if (r < 0) {
		printf("# no ptrace here: %s\n", strerror(-r));
		skip();
	}
	assert_int_equal(r, 0);
	assert_int_equal(c[SC_NOTIFY_AWAKE], 0);
	assert_int_equal(c[SC_ARM], 0);
	assert_int_equal(c[SC_DRAIN], 0);
	assert_int_equal(c[SC_IDLE], 0);
	assert_int_equal(c[SC_KICK], 1); /* the FUTEX_WAKE */
}

/* io_uring refused (kernel.io_uring_disabled, a seccomp filter): clean
 * negative errnos, no crash. In a child: the filter stays with it. */
static int refused_child(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 425 /* io_uring_setup */, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	struct io_uring ring;
	struct uring_uipc u;
	uipc_ctx *ctx;
	uipc_rx *rx;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return T_SKIP;
	if (io_uring_queue_init(8, &ring, 0) != -EPERM)
		return 10;
	if (uring_uipc_futex_supported() != -EPERM)
		return 11;
	if (uipc_ctx_new("futex", &ctx) < 0)
		return 12;
	if (uring_uipc_rx_new(ctx, &rx) != -EPERM)
		return 13;
	if (uipc_rx_new(ctx, 0, &rx) < 0 || uring_uipc_init(&u, &ring, rx, 1, 0) != -EPERM)
		return 14;
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return 0;
}

static void test_refused(void **state)
{
	int r;

	(void)state;
	r = t_in_child(refused_child, T_CHILD_MS, "io_uring refused: a call hangs");
	if (r == T_SKIP)
		skip();
	assert_int_equal(r, T_PASS);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest api[] = {
	    cmocka_unit_test(test_api),
	    cmocka_unit_test(test_syscalls),
	    cmocka_unit_test(test_refused),
	};
	const struct CMUnitTest futex[] = {
	    cmocka_unit_test(test_wake),
	    cmocka_unit_test(test_xproc),
	    cmocka_unit_test(test_idle),
	    cmocka_unit_test(test_stale_wait),
	};
	const struct CMUnitTest poll[] = {
	    cmocka_unit_test(test_wake),
	    cmocka_unit_test(test_xproc),
	    cmocka_unit_test(test_idle),
	};
	const char *why;

	path = argc > 1 ? argv[1] : "api";
	if (strcmp(path, "api") == 0)
		return cmocka_run_group_tests_name("uring-api", api, NULL, NULL);
	if (strcmp(path, "futex") != 0 && strcmp(path, "poll") != 0)
		return 2;
	why = path_missing();
	TEST_SKIP_IF(why, "%s", why);
	if (argc > 2 && strcmp(argv[2], "torture") == 0) {
		baseline = argc > 3 && strcmp(argv[3], "baseline") == 0;
		return torture();
	}
	if (strcmp(path, "futex") == 0)
		return cmocka_run_group_tests_name("uring-futex", futex, NULL, NULL);
	return cmocka_run_group_tests_name("uring-poll", poll, NULL, NULL);
}
