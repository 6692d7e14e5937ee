/* SPDX-License-Identifier: MIT */
/*
 * uipc_rx_wait_any(): its errors, polls, timeouts and wakeups on the
 * backend under test (UIPC_BACKEND); sets of more than one receiver on
 * futex and eventfd, sets of one everywhere, -EOPNOTSUPP for larger sets
 * on signal and uintr; futex_waitv() refused by a seccomp filter.
 *
 * With the argument "torture": sender threads notify vectors of several
 * receivers while one thread waits on a changing subset of them (receivers
 * join and leave the set between waits): every notify is seen exactly
 * once, and a long wait that times out while a member had a notify
 * outstanding is a lost wakeup. UIPC_STRESS_SCALE multiplies the count.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

#define NRX     4
#define LONG_NS 30000000000ll /* "forever", bounded: a lost wakeup fails */

struct set {
	uipc_ctx *ctx;
	uipc_rx *rx[UIPC_RX_WAIT_ANY_MAX];
	uipc_tx *tx[UIPC_RX_WAIT_ANY_MAX];
	unsigned n;
};

static void set_new(struct set *s, const char *backend, unsigned flags, unsigned n)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(uipc_ctx_new(backend, &s->ctx), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(uipc_rx_new(s->ctx, flags, &s->rx[i]), 0);
		assert_int_equal(uipc_tx_new(s->rx[i], 3 + i % 7, &s->tx[i]), 0);
	}
	s->n = n;
}

static void set_free(struct set *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		uipc_tx_free(s->tx[i]);
		uipc_rx_free(s->rx[i]);
	}
	uipc_ctx_free(s->ctx);
}

/* Sets of more than one receiver: futex (with futex_waitv) and eventfd. */
static bool multi(const struct set *s)
{
	return s->rx[0]->ops->rx_block_many != NULL;
}

/* futex without futex_waitv() (a kernel before 5.16, or valgrind, which
 * does not know the call): sets of more than one poll, and cannot sleep. */
static bool waitv_missing(const struct set *s)
{
	if (strcmp(uipc_ctx_backend_name(s->ctx), "futex"))
		return false;
	return syscall(449 /* futex_waitv */, NULL, 0, 0, NULL, 0) < 0 && errno == ENOSYS;
}

static void test_args(void **state)
{
	uint64_t m[UIPC_RX_WAIT_ANY_MAX + 1];
	uipc_rx *v[UIPC_RX_WAIT_ANY_MAX + 1];
	struct set s, f, e;
	int fds = test_count_fds();

	(void)state;
	set_new(&s, NULL, 0, NRX);
	for (unsigned i = 0; i < NRX; i++)
		m[i] = 0xabcd;
	assert_int_equal(uipc_rx_wait_any(NULL, 1, 0, m), -EINVAL);
	assert_int_equal(uipc_rx_wait_any(s.rx, 1, 0, NULL), -EINVAL);
	assert_int_equal(uipc_rx_wait_any(s.rx, 0, 0, m), -EINVAL);
	for (unsigned i = 0; i <= UIPC_RX_WAIT_ANY_MAX; i++)
		v[i] = s.rx[i % NRX];
	assert_int_equal(uipc_rx_wait_any(v, UIPC_RX_WAIT_ANY_MAX + 1, 0, m), -EINVAL);
	/* A NULL member, a member twice (the checks come before any wait). */
	v[0] = s.rx[0];
	v[1] = NULL;
	assert_int_equal(uipc_rx_wait_any(v, 2, -1, m), -EINVAL);
	v[1] = s.rx[1];
	v[2] = s.rx[0];
	assert_int_equal(uipc_rx_wait_any(v, 3, -1, m), -EINVAL);
	assert_int_equal(uipc_tx_notify(s.tx[0]), 0);
	assert_int_equal(uipc_rx_wait_any(v, 3, 0, m), -EINVAL);
	/* Nothing was taken, no output written. */
	assert_int_equal(uipc_rx_poll(s.rx[0], &m[NRX]), 0);
	assert_int_equal(m[NRX], 1ull << 3);
	for (unsigned i = 0; i < NRX; i++)
		assert_true(m[i] == 0xabcd);

	/* Receivers of different backends: refused, whatever their order;
	 * of different contexts on one backend: one set. */
	set_new(&f, "futex", 0, 1);
	set_new(&e, "eventfd", 0, 1);
	v[0] = f.rx[0];
	v[1] = e.rx[0];
	assert_int_equal(uipc_rx_wait_any(v, 2, 0, m), -EINVAL);
	v[0] = e.rx[0];
	v[1] = f.rx[0];
	assert_int_equal(uipc_rx_wait_any(v, 2, -1, m), -EINVAL);
	if (multi(&s)) {
		uipc_ctx *c2;
		uipc_rx *other;
		uipc_tx *t;

		assert_int_equal(uipc_ctx_new(NULL, &c2), 0);
		assert_int_equal(uipc_rx_new(c2, 0, &other), 0);
		assert_int_equal(uipc_tx_new(other, 9, &t), 0);
		assert_int_equal(uipc_tx_notify(t), 0);
		v[0] = s.rx[0];
		v[1] = other;
		assert_int_equal(uipc_rx_wait_any(v, 2, 0, m), 1);
		assert_true(m[0] == 0 && m[1] == 1ull << 9);
		uipc_tx_free(t);
		uipc_rx_free(other);
		uipc_ctx_free(c2);
	}
	set_free(&e);
	set_free(&f);
	set_free(&s);
	assert_int_equal(test_count_fds(), fds);
}

/* Polls and timeouts on the whole set; a set of one on every backend. */
static void test_poll_timeout(void **state)
{
	uint64_t m[NRX];
	struct set s;

	(void)state;
	set_new(&s, NULL, 0, NRX);
	assert_int_equal(uipc_rx_wait_any(s.rx, 1, 0, m), -EAGAIN);
	assert_int_equal(uipc_tx_notify(s.tx[0]), 0);
	assert_int_equal(uipc_rx_wait_any(s.rx, 1, 0, m), 1);
	assert_true(m[0] == 1ull << 3);
	assert_int_equal(uipc_rx_wait_any(s.rx, 1, 1000000, m), -ETIMEDOUT);
	if (!multi(&s)) {
		/* signal, uintr: no wait on many, not even a poll. */
		assert_int_equal(uipc_tx_notify(s.tx[1]), 0);
		assert_int_equal(uipc_rx_wait_any(s.rx, 2, 0, m), -EOPNOTSUPP);
		assert_int_equal(uipc_rx_wait_any(s.rx, NRX, -1, m), -EOPNOTSUPP);
		assert_int_equal(uipc_rx_wait_any(&s.rx[1], 1, -1, m), 1);
		assert_true(m[0] == 1ull << 4);
		set_free(&s);
		return;
	}
	if (waitv_missing(&s)) {
		assert_int_equal(uipc_rx_wait_any(s.rx, NRX, 1000000, m), -EOPNOTSUPP);
		set_free(&s);
		skip();
	}
	assert_int_equal(uipc_rx_wait_any(s.rx, NRX, 0, m), -EAGAIN);
	assert_int_equal(uipc_rx_wait_any(s.rx, NRX, 1000000, m), -ETIMEDOUT);
	assert_int_equal(uipc_tx_notify(s.tx[1]), 0);
	assert_int_equal(uipc_tx_notify(s.tx[3]), 0);
	assert_int_equal(uipc_tx_notify(s.tx[3]), 0);
	for (unsigned i = 0; i < NRX; i++)
		m[i] = 0xabcd;
	assert_int_equal(uipc_rx_wait_any(s.rx, NRX, 0, m), 2);
	assert_true(m[0] == 0 && m[1] == 1ull << 4 && m[2] == 0 && m[3] == 1ull << 6);
	/* A receiver left out keeps what is pending on it. */
	assert_int_equal(uipc_tx_notify(s.tx[0]), 0);
	assert_int_equal(uipc_rx_wait_any(&s.rx[1], NRX - 1, 1000000, m), -ETIMEDOUT);
	assert_int_equal(uipc_rx_wait_any(s.rx, NRX, -1, m), 1);
	assert_true(m[0] == 1ull << 3);
	set_free(&s);
}

struct kicker {
	uipc_tx *tx;
	uint64_t delay_ns;
};

static void *kick_later(void *arg)
{
	struct kicker *k = arg;

	t_sleep_ns(k->delay_ns);
	assert_int_equal(uipc_tx_notify(k->tx), 0);
	return NULL;
}

/* A blocked wait is woken by any member, and the eventfds are not left
 * readable afterwards (the acknowledgement of every member). */
static void test_blocked_wakeup(void **state)
{
	uint64_t m[UIPC_RX_WAIT_ANY_MAX];
	struct set s;
	pthread_t th;

	(void)state;
	set_new(&s, NULL, 0, UIPC_RX_WAIT_ANY_MAX);
	if (!multi(&s) || waitv_missing(&s)) {
		set_free(&s);
		skip();
	}
	for (unsigned round = 0; round < 2 * NRX; round++) {
		unsigned n = round % 2 ? UIPC_RX_WAIT_ANY_MAX : NRX;
		unsigned k = (round * 5) % n;
		struct kicker kk = {.tx = s.tx[k], .delay_ns = 2000000};

		uipc_rx_set_spin(s.rx[0], round % 3 ? UIPC_SPIN_NONE : UIPC_SPIN_ADAPTIVE, 0);
		assert_int_equal(pthread_create(&th, NULL, kick_later, &kk), 0);
		assert_int_equal(uipc_rx_wait_any(s.rx, n, round % 4 ? -1 : LONG_NS, m), 1);
		assert_true(m[k] == 1ull << (3 + k % 7));
		for (unsigned i = 0; i < n; i++)
			assert_true(i == k || m[i] == 0);
		pthread_join(th, NULL);
	}
	if (s.rx[0]->ops->id == UIPC_BACKEND_EVENTFD) {
		/* Every kick was acknowledged: an idle set leaves no fd readable
		 * (a late kick is consumed by the next wait that sleeps). */
		for (unsigned i = 0; i < 4; i++) {
			assert_int_equal(uipc_tx_notify(s.tx[i]), 0);
			assert_int_equal(uipc_rx_wait_any(s.rx, NRX, -1, m), 1);
		}
		assert_int_equal(uipc_rx_wait_any(s.rx, NRX, 1000000, m), -ETIMEDOUT);
		for (unsigned i = 0; i < UIPC_RX_WAIT_ANY_MAX; i++) {
			struct pollfd p = {.fd = uipc_rx_fd(s.rx[i]), .events = POLLIN};

			assert_int_equal(poll(&p, 1, 0), 0);
		}
	}
	set_free(&s);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal ends a blocked wait with -EINTR, and the set is disarmed. */
static void test_eintr(void **state)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	struct itimerspec it = {.it_value = {.tv_nsec = 20000000}};
	uint64_t m[NRX];
	struct set s;
	timer_t t;
	int r;

	(void)state;
	set_new(&s, NULL, 0, NRX);
	if (!multi(&s) || waitv_missing(&s)) {
		set_free(&s);
		skip();
	}
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(timer_create(CLOCK_MONOTONIC, NULL, &t), 0);
	assert_int_equal(timer_settime(t, 0, &it, NULL), 0);
	r = uipc_rx_wait_any(s.rx, NRX, LONG_NS, m);
	timer_delete(t);
	sigaction(SIGALRM, &old, NULL);
	assert_int_equal(r, -EINTR);
	for (unsigned i = 0; i < NRX; i++)
		assert_true(atomic_load(&s.rx[i]->desc->status) & UIPC_DESC_SN);
	assert_int_equal(uipc_tx_notify(s.tx[2]), 0);
	assert_int_equal(uipc_rx_wait_any(s.rx, NRX, -1, m), 1);
	assert_true(m[2] == 1ull << 5);
	set_free(&s);
}

static void nop_handler(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx;
	(void)mask;
	(void)data;
}

/* -EBUSY: a member in handler mode; a member armed for an event loop (a
 * poll is fine then). -ECHILD: a member inherited through fork(). */
static void test_states(void **state)
{
	uint64_t m[NRX];
	struct set s, p;
	pid_t pid;

	(void)state;
	set_new(&s, NULL, 0, NRX);
	if (uipc_rx_set_handler(s.rx[1], nop_handler, NULL) == 0) {
		assert_int_equal(uipc_rx_wait_any(s.rx, NRX, -1, m), -EBUSY);
		assert_int_equal(uipc_rx_wait_any(&s.rx[1], 1, 0, m), -EBUSY);
		assert_int_equal(uipc_rx_set_handler(s.rx[1], NULL, NULL), 0);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(uipc_rx_wait_any(s.rx, NRX, -1, m) == -ECHILD &&
		              uipc_rx_wait_any(&s.rx[3], 1, 0, m) == -ECHILD
		          ? 0
		          : 1);
	assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the child"), T_PASS);
	set_free(&s);

	if (uipc_ctx_new("eventfd", &p.ctx) < 0)
		return;
	uipc_ctx_free(p.ctx);
	set_new(&p, "eventfd", UIPC_RX_POLLABLE, NRX);
	assert_int_equal(uipc_rx_arm(p.rx[2]), 0);
	assert_int_equal(uipc_rx_wait_any(p.rx, NRX, -1, m), -EBUSY);
	assert_int_equal(uipc_rx_wait_any(p.rx, NRX, 1000, m), -EBUSY);
	assert_int_equal(uipc_rx_wait_any(p.rx, NRX, 0, m), -EAGAIN);
	assert_int_equal(uipc_tx_notify(p.tx[2]), 0);
	assert_int_equal(uipc_rx_drain(p.rx[2], &m[0]), 0);
	assert_true(m[0] == 1ull << 5);
	assert_int_equal(uipc_tx_notify(p.tx[2]), 0);
	assert_int_equal(uipc_rx_wait_any(p.rx, NRX, -1, m), 1);
	assert_true(m[2] == 1ull << 5);
	set_free(&p);
}

/* futex_waitv() answered ENOSYS (a kernel before 5.16; here a seccomp
 * filter): sets of futex receivers return what is pending and poll, and
 * -EOPNOTSUPP instead of a sleep; a set of one sleeps as uipc_rx_wait();
 * the receivers are left disarmed and usable. In a child: the filter
 * stays with the process. */
static int waitv_refused_child(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 449 /* futex_waitv */, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	uint64_t m[NRX];
	uipc_ctx *ctx;
	uipc_rx *rx[NRX];
	uipc_tx *tx[NRX];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return 77;
	if (uipc_ctx_new("futex", &ctx) < 0)
		return 10;
	for (unsigned i = 0; i < NRX; i++)
		if (uipc_rx_new(ctx, 0, &rx[i]) < 0 || uipc_tx_new(rx[i], i, &tx[i]) < 0)
			return 11;
	if (uipc_rx_wait_any(rx, NRX, 0, m) != -EAGAIN)
		return 12;
	if (uipc_rx_wait_any(rx, NRX, LONG_NS, m) != -EOPNOTSUPP)
		return 13;
	if (uipc_rx_wait_any(rx, NRX, -1, m) != -EOPNOTSUPP) /* remembered */
		return 14;
	for (unsigned i = 0; i < NRX; i++)
		if (atomic_load(&rx[i]->desc->status) != UIPC_DESC_SN)
			return 15;
	if (uipc_tx_notify(tx[2]) < 0 || uipc_rx_wait_any(rx, NRX, -1, m) != 1 || m[2] != 4)
		return 16;
	if (uipc_rx_wait_any(rx, 1, 1000000, m) != -ETIMEDOUT)
		return 17;
	if (uipc_tx_notify(tx[0]) < 0 || uipc_rx_wait_any(rx, 1, -1, m) != 1 || m[0] != 1)
		return 18;
	return 0;
}

static void test_waitv_refused(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (strcmp(test_backend(), "futex") != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(waitv_refused_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Torture --------------------------------------------------------------------- */

#define T_RX      8
#define T_SENDERS 4

struct torture {
	uipc_rx *rx[T_RX];
	uipc_tx *tx[T_RX][T_SENDERS];
	/* 1 from the sender's store before its notify to the waiter's take
	 * of the bit: one notify outstanding per receiver and sender. */
	_Atomic unsigned out[T_RX][T_SENDERS];
	_Atomic uint64_t sent;
	_Atomic bool failed;
	uint64_t per_sender;
	unsigned id[T_SENDERS];
};

static struct torture T;

static void *t_sender(void *arg)
{
	unsigned s = *(unsigned *)arg;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (s + 1);

	for (uint64_t k = 0; k < T.per_sender && !atomic_load(&T.failed);) {
		uint64_t r = t_rand(&rng);
		unsigned i = (unsigned)(r % T_RX);

		if (atomic_load(&T.out[i][s])) {
			sched_yield();
			continue;
		}
		atomic_store(&T.out[i][s], 1);
		atomic_fetch_add(&T.sent, 1);
		if (uipc_tx_notify(T.tx[i][s]) < 0) {
			fprintf(stderr, "sender %u: notify failed\n", s);
			atomic_store(&T.failed, true);
		}
		k++;
		if ((r >> 32) % 16 == 0)
			t_sleep_ns((r >> 40) % 200000); /* let the waiter sleep */
	}
	return NULL;
}

/* Phase B: one notify at a time, each to a random receiver, after a random
 * pause (the waiter is asleep by then, or about to be). */
static void *t_pinger(void *arg)
{
	uint64_t rng = 77, rounds = *(uint64_t *)arg;

	for (uint64_t k = 0; k < rounds && !atomic_load(&T.failed); k++) {
		uint64_t r = t_rand(&rng);
		unsigned i = (unsigned)(r % T_RX);

		/* Mostly short pauses: the notify lands about when the waiter
		 * (which does not spin in this phase) arms. */
		if ((r >> 8) % 4 == 0)
			t_sleep_ns((r >> 16) % 300000);
		else
			for (unsigned j = (unsigned)((r >> 16) % 2000); j; j--)
				uipc__cpu_relax();
		atomic_store(&T.out[i][0], 1);
		if (uipc_tx_notify(T.tx[i][0]) < 0)
			atomic_store(&T.failed, true);
		while (atomic_load(&T.out[i][0]) && !atomic_load(&T.failed))
			sched_yield();
	}
	return NULL;
}

/* A wait that reached its deadline while something it waits for was
 * outstanding from before it began lost a wakeup, whatever it returns
 * (the last look at the deadline returns the late bit). */
static void t_check_deadline(int r, int64_t timeout, uint64_t t0, bool outstanding)
{
	if (timeout != LONG_NS || !outstanding)
		return;
	if (r == -ETIMEDOUT || t_now_ns() - t0 >= (uint64_t)LONG_NS) {
		fprintf(stderr, "lost wakeup: a %lld s wait ran to its deadline (%d)\n",
		        LONG_NS / 1000000000ll, r);
		atomic_store(&T.failed, true);
	}
}

/* Take the masks of one wait; false on a duplicate or stray bit. */
static void t_take(uipc_rx *const *set, unsigned n, const uint64_t *m, uint64_t *seen)
{
	for (unsigned j = 0; j < n; j++) {
		unsigned i = 0;

		while (T.rx[i] != set[j])
			i++;
		if (m[j] >> T_SENDERS) {
			fprintf(stderr, "rx %u: stray bits %#llx\n", i, (unsigned long long)m[j]);
			atomic_store(&T.failed, true);
		}
		for (unsigned s = 0; s < T_SENDERS; s++) {
			if (!(m[j] & (1ull << s)))
				continue;
			if (atomic_exchange(&T.out[i][s], 0) != 1) {
				fprintf(stderr, "rx %u vector %u: seen twice\n", i, s);
				atomic_store(&T.failed, true);
			}
			(*seen)++;
		}
	}
}

static bool t_outstanding(uipc_rx *const *set, unsigned n)
{
	bool o = false;

	for (unsigned j = 0; j < n; j++) {
		unsigned i = 0;

		while (T.rx[i] != set[j])
			i++;
		for (unsigned s = 0; s < T_SENDERS; s++)
			o |= atomic_load(&T.out[i][s]) != 0;
	}
	return o;
}

static int torture(void)
{
	uint64_t total, rounds, seen = 0, waits = 0, rng = 42;
	pthread_t th[T_SENDERS];
	uipc_ctx *ctx;
	const char *sc = getenv("UIPC_STRESS_SCALE");
	double scale = sc ? strtod(sc, NULL) : 1.0;
	int r;

	TEST_SKIP_IF(uipc_ctx_new(NULL, &ctx) < 0, "backend %s is not usable", test_backend());
	T.per_sender = (uint64_t)(20000 * (scale > 0 ? scale : 1.0));
	if (T.per_sender == 0)
		T.per_sender = 1;
	total = T.per_sender * T_SENDERS;
	rounds = T.per_sender / 10 + 1;
	for (unsigned i = 0; i < T_RX; i++) {
		if (uipc_rx_new(ctx, 0, &T.rx[i]) < 0)
			return 1;
		for (unsigned s = 0; s < T_SENDERS; s++)
			if (uipc_tx_new(T.rx[i], s, &T.tx[i][s]) < 0)
				return 1;
	}
	if (!T.rx[0]->ops->rx_block_many) {
		printf("SKIP: backend %s has no wait on many\n", test_backend());
		return T_SKIP;
	}
	{
		uint64_t m[2];

		TEST_SKIP_IF(uipc_rx_wait_any(T.rx, 2, 1000, m) == -EOPNOTSUPP,
		             "the kernel has no futex_waitv()");
	}
	for (unsigned s = 0; s < T_SENDERS; s++) {
		T.id[s] = s;
		if (pthread_create(&th[s], NULL, t_sender, &T.id[s]) != 0)
			return 1;
	}
	while (seen < total && !atomic_load(&T.failed)) {
		uipc_rx *set[T_RX];
		uint64_t m[T_RX], r64 = t_rand(&rng), pick;
		bool outstanding, all = atomic_load(&T.sent) == total;
		unsigned n = 0;
		int64_t timeout;
		uint64_t t0;

		/* A random non-empty subset in a random order; the whole set
		 * once every notify was sent (then something is outstanding). */
		pick = all ? (1u << T_RX) - 1 : r64 % ((1u << T_RX) - 1) + 1;
		for (unsigned j = 0, o = (unsigned)(r64 >> 16); j < T_RX; j++) {
			unsigned i = (j + o) % T_RX;

			if (pick & (1u << i))
				set[n++] = T.rx[i];
		}
		switch ((r64 >> 24) % 8) {
		case 0:
			timeout = 0;
			break;
		case 1:
			timeout = (int64_t)((r64 >> 32) % 100000);
			break;
		case 2:
			timeout = -1;
			break;
		default:
			timeout = LONG_NS;
			break;
		}
		if ((r64 >> 40) % 16 == 0)
			uipc_rx_set_spin(set[0],
			                 (r64 >> 44) % 2 ? UIPC_SPIN_NONE : UIPC_SPIN_ADAPTIVE, 0);
		/* A long or endless wait only when something is outstanding in
		 * the set (the senders may be done with it): then it must end
		 * long before its deadline. */
		outstanding = t_outstanding(set, n);
		if (!outstanding && (timeout < 0 || timeout == LONG_NS))
			timeout = 1000000;
		t0 = t_now_ns();
		r = uipc_rx_wait_any(set, n, timeout, m);
		waits++;
		t_check_deadline(r, timeout, t0, outstanding);
		if (r == -EAGAIN || r == -ETIMEDOUT)
			continue;
		if (r <= 0 || (unsigned)r > n) {
			fprintf(stderr, "wait_any: %d\n", r);
			atomic_store(&T.failed, true);
			break;
		}
		t_take(set, n, m, &seen);
	}
	for (unsigned s = 0; s < T_SENDERS; s++)
		pthread_join(th[s], NULL);
	/* Phase B: one notify outstanding at a time, the whole set in a
	 * random order (any member may be the one that is kicked). */
	for (unsigned i = 0; i < T_RX; i++)
		uipc_rx_set_spin(T.rx[i], UIPC_SPIN_NONE, 0);
	if (atomic_load(&T.failed))
		rounds = 0;
	else if (pthread_create(&th[0], NULL, t_pinger, &rounds) != 0)
		return 1;
	while (rounds && seen < total + rounds && !atomic_load(&T.failed)) {
		uipc_rx *set[T_RX];
		uint64_t m[T_RX], r64 = t_rand(&rng), t0;
		int64_t timeout = (r64 >> 8) % 4 ? LONG_NS : (int64_t)((r64 >> 16) % 100000);
		bool outstanding;

		for (unsigned j = 0; j < T_RX; j++)
			set[j] = T.rx[(j + r64) % T_RX];
		/* The pinger is never idle for long while rounds are left: a
		 * long wait that runs to its deadline here lost a wakeup,
		 * whether its notify came before the wait or during it. */
		outstanding = true;
		t0 = t_now_ns();
		r = uipc_rx_wait_any(set, T_RX, timeout, m);
		waits++;
		t_check_deadline(r, timeout, t0, outstanding);
		if (r > 0)
			t_take(set, T_RX, m, &seen);
		else if (r != -ETIMEDOUT && r != -EAGAIN)
			atomic_store(&T.failed, true);
	}
	if (rounds)
		pthread_join(th[0], NULL);
	printf("%s: %llu notifies, %llu seen, %llu waits\n", test_backend(),
	       (unsigned long long)(total + rounds), (unsigned long long)seen,
	       (unsigned long long)waits);
	for (unsigned i = 0; i < T_RX; i++) {
		uint64_t m;

		if (uipc_rx_poll(T.rx[i], &m) == 0) {
			fprintf(stderr, "rx %u: %#llx left over\n", i, (unsigned long long)m);
			atomic_store(&T.failed, true);
		}
		for (unsigned s = 0; s < T_SENDERS; s++)
			uipc_tx_free(T.tx[i][s]);
		uipc_rx_free(T.rx[i]);
	}
	uipc_ctx_free(ctx);
	return atomic_load(&T.failed) || seen != total + rounds;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args),           cmocka_unit_test(test_poll_timeout),
	    cmocka_unit_test(test_blocked_wakeup), cmocka_unit_test(test_eintr),
	    cmocka_unit_test(test_states),         cmocka_unit_test(test_waitv_refused),
	};
	uipc_ctx *probe;
	int r;

	if (argc > 1 && strcmp(argv[1], "torture") == 0)
		return torture();
	r = uipc_ctx_new(NULL, &probe);
	TEST_SKIP_IF(r == -EOPNOTSUPP, "backend %s is not usable on this machine", test_backend());
	uipc_ctx_free(probe);
	return cmocka_run_group_tests_name(test_backend(), tests, NULL, NULL);
}
