/* SPDX-License-Identifier: MIT */
/*
 * The futex backend's word is a private futex while every sender is in the
 * receiver's process, and a shared one from uipc__rx_share() on
 * (backends/futex/futex.c; tests/model/futex-share.pml). Each test puts a
 * receiver to sleep, reads how it sleeps from /proc (the futex op of the
 * call it is blocked in), switches while it sleeps, and checks that the
 * sender that can only wake the other kind still wakes it: a wakeup lost
 * to the switch shows as a receive that times out.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uipc/chan.h>

#include "test-common.h"

#define WAIT_MS 10000 /* a lost wakeup: far longer than any wake here */

struct sleeper {
	uipc_rx *rx[2];
	unsigned n; /* 1: uipc_rx_wait(), 2: uipc_rx_wait_any() */
	_Atomic int tid;
	_Atomic unsigned round; /* bumped by the main thread: wait again */
	_Atomic unsigned done;  /* rounds finished */
	_Atomic bool stop;
	_Atomic int err;
	uint64_t mask;
	pthread_t thread;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	unsigned r = 0;

	atomic_store(&s->tid, (int)syscall(SYS_gettid));
	for (;;) {
		int err = 0;
		uint64_t m = 0;

		while (atomic_load(&s->round) == r && !atomic_load(&s->stop))
			usleep(100);
		if (atomic_load(&s->stop))
			break;
		r++;
		if (s->n == 1) {
			err = uipc_rx_wait(s->rx[0], (int64_t)WAIT_MS * 1000000, &m);
		} else {
			uint64_t ms[2] = {0, 0};

			err = uipc_rx_wait_any(s->rx, 2, (int64_t)WAIT_MS * 1000000, ms);
			m = ms[0] | ms[1] << 32;
			err = err == 1 ? 0 : err < 0 ? err : -EPROTO; /* one ready */
		}
		s->mask = m;
		atomic_store(&s->err, err);
		atomic_store(&s->done, r);
	}
	return NULL;
}

static void sleeper_start(struct sleeper *s)
{
	assert_int_equal(pthread_create(&s->thread, NULL, sleeper_main, s), 0);
	while (!atomic_load(&s->tid))
		usleep(100);
}

static void sleeper_stop(struct sleeper *s)
{
	atomic_store(&s->stop, true);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
}

/* The sleeper's current syscall and its second argument (the futex op),
 * from /proc; -1 while it runs. */
static long sleeper_syscall(struct sleeper *s, unsigned long *ret_arg1)
{
	char path[64], buf[256];
	long nr = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", atomic_load(&s->tid));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		if (sscanf(buf, "%ld %*x %lx", &nr, ret_arg1) != 2)
			nr = -1;
	}
	return nr;
}

/* Start a round and return once the sleeper blocks in syscall nr (and,
 * for futex, with the private flag as asked). */
static void sleeper_asleep(struct sleeper *s, long nr, bool private)
{
	unsigned long op = 0;

	atomic_store(&s->round, atomic_load(&s->done) + 1);
	for (unsigned i = 0; i < WAIT_MS; i++) {
		if (sleeper_syscall(s, &op) == nr &&
		    (nr != SYS_futex || !(op & FUTEX_PRIVATE_FLAG) == !private))
			return;
		usleep(1000);
	}
	fail_msg("the receiver did not block in syscall %ld (%s)", nr,
	         private ? "private" : "shared");
}

/* The round ends with the vectors of mask, long before the wait's own
 * deadline (a lost wakeup is only found there: the wait then returns what
 * is pending, as it must). */
static void sleeper_woken(struct sleeper *s, uint64_t mask)
{
	unsigned want = atomic_load(&s->round);
	unsigned ms = 0;

	while (atomic_load(&s->done) != want && ms < WAIT_MS / 2) {
		usleep(1000);
		ms++;
	}
	if (atomic_load(&s->done) != want)
		fail_msg("the receiver slept through the notify (lost wakeup)");
	assert_int_equal(atomic_load(&s->err), 0);
	assert_true(s->mask == mask);
}

struct fx {
	uipc_ctx *ctx;
	uipc_rx *rx;
	struct sleeper s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uipc_ctx_new("futex", &f->ctx), 0);
	assert_int_equal(uipc_rx_new(f->ctx, 0, &f->rx), 0);
	assert_int_equal(uipc_rx_set_spin(f->rx, UIPC_SPIN_NONE, 0), 0);
	f->s.rx[0] = f->rx;
	f->s.n = 1;
	sleeper_start(&f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sleeper_stop(&f->s);
	uipc_rx_free(f->rx);
	uipc_ctx_free(f->ctx);
	free(f);
	return 0;
}

/* In-process senders only: a private sleep, a private wake. Once a
 * capability left: shared, and the same in-process sender wakes it. */
static void test_private_then_shared(void **state)
{
	struct fx *f = *state;
	uipc_tx *tx;
	int cap;

	assert_int_equal(uipc_tx_new(f->rx, 1, &tx), 0);
	for (int i = 0; i < 3; i++) {
		sleeper_asleep(&f->s, SYS_futex, true);
		assert_int_equal(uipc_tx_notify(tx), 0);
		sleeper_woken(&f->s, 1u << 1);
	}
	cap = uipc_rx_cap(f->rx, 2);
	assert_true(cap >= 0);
	close(cap);
	for (int i = 0; i < 3; i++) {
		sleeper_asleep(&f->s, SYS_futex, false);
		assert_int_equal(uipc_tx_notify(tx), 0);
		sleeper_woken(&f->s, 1u << 1);
	}
	uipc_tx_free(tx);
}

/* A channel's producer in this process (uipc_chan_tx_new()) is one of the
 * receiver's own: the word stays private, and its send wakes it. A
 * producer capability handed out makes it shared. */
static void test_channel_here(void **state)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg), .msg_size = 8, .capacity = 16};
	struct fx *f = *state;
	uint64_t msg = 7;
	uipc_chan_tx *p;
	uipc_chan *ch;
	int cap = -1;

	assert_int_equal(uipc_chan_new(f->rx, 9, &cfg, &ch), 0);
	assert_int_equal(uipc_chan_tx_new(ch, &p), 0);
	for (int i = 0; i < 2; i++) {
		if (i == 1) {
			/* Kept open: its close is a producer leaving, which the
			 * consumer's receiver is notified of. */
			cap = uipc_chan_cap(ch);
			assert_true(cap >= 0);
		}
		sleeper_asleep(&f->s, SYS_futex, i == 0);
		assert_int_equal(uipc_chan_send(p, &msg, sizeof(msg)), 0);
		sleeper_woken(&f->s, 1u << 9);
		assert_int_equal(uipc_chan_recv(ch, &msg, sizeof(msg), 0), 0);
	}
	close(cap);
	uipc_chan_tx_free(p);
	uipc_chan_free(ch);
}

/* Asleep on the private word when a capability leaves: its holder's wake
 * (shared) must reach it. */
static void test_share_while_asleep(void **state)
{
	struct fx *f = *state;
	uipc_tx *tx;
	int cap;

	sleeper_asleep(&f->s, SYS_futex, true);
	cap = uipc_rx_cap(f->rx, 4);
	assert_true(cap >= 0);
	assert_int_equal(uipc_tx_open(f->ctx, cap, &tx), 0);
	close(cap);
	assert_int_equal(uipc_tx_notify(tx), 0);
	sleeper_woken(&f->s, 1u << 4);
	uipc_tx_free(tx);
}

/* Asleep on the private word when the process forks: the child's copy of
 * an in-process sender (another process now) must wake it. */
static void test_fork_while_asleep(void **state)
{
	struct fx *f = *state;
	uipc_tx *tx;
	pid_t pid;
	int st;

	assert_int_equal(uipc_tx_new(f->rx, 5, &tx), 0);
	sleeper_asleep(&f->s, SYS_futex, true);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(uipc_tx_notify(tx) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sleeper_woken(&f->s, 1u << 5);
	/* From now on shared, for the parent's senders too. */
	sleeper_asleep(&f->s, SYS_futex, false);
	assert_int_equal(uipc_tx_notify(tx), 0);
	sleeper_woken(&f->s, 1u << 5);
	uipc_tx_free(tx);
}

/* uipc_rx_futex() gives the word to a loop that waits on it shared: a
 * receiver asleep on the private word is moved to the shared one. */
static void test_rx_futex_while_asleep(void **state)
{
	struct fx *f = *state;
	const uint32_t *word;
	uint32_t armed;
	uipc_tx *tx;

	assert_int_equal(uipc_tx_new(f->rx, 6, &tx), 0);
	sleeper_asleep(&f->s, SYS_futex, true);
	assert_int_equal(uipc_rx_futex(f->rx, &word, &armed), 0);
	/* The same wait, woken by the switch, goes back to sleep, shared. */
	for (unsigned i = 0;; i++) {
		unsigned long op = 0;

		if (sleeper_syscall(&f->s, &op) == SYS_futex && !(op & FUTEX_PRIVATE_FLAG))
			break;
		if (i == WAIT_MS / 2)
			fail_msg("the receiver stayed asleep on the private word");
		usleep(1000);
	}
	assert_int_equal(atomic_load(&f->s.done), atomic_load(&f->s.round) - 1);
	assert_int_equal(uipc_tx_notify(tx), 0);
	sleeper_woken(&f->s, 1u << 6);
	uipc_tx_free(tx);
}

static bool waitv_works(void)
{
	/* An empty set: EINVAL where futex_waitv() exists, ENOSYS where not. */
	return syscall(449, NULL, 0, 0, NULL, 0) < 0 && errno == EINVAL;
}

/* uipc_rx_wait_any() over a private and a shared word: futex_waitv()
 * with a flag per word; each one's sender wakes it. */
static void test_wait_any_mixed(void **state)
{
	struct fx *f = *state;
	uipc_rx *shared_rx;
	uipc_tx *tx[2];
	int cap;

	if (!waitv_works())
		skip();
	assert_int_equal(uipc_rx_new(f->ctx, 0, &shared_rx), 0);
	assert_int_equal(uipc_rx_set_spin(shared_rx, UIPC_SPIN_NONE, 0), 0);
	cap = uipc_rx_cap(shared_rx, 0);
	assert_true(cap >= 0);
	assert_int_equal(uipc_tx_open(f->ctx, cap, &tx[1]), 0);
	close(cap);
	assert_int_equal(uipc_tx_new(f->rx, 7, &tx[0]), 0);
	f->s.rx[1] = shared_rx;
	f->s.n = 2;
	for (int i = 0; i < 2; i++) {
		sleeper_asleep(&f->s, 449 /* futex_waitv */, false);
		assert_int_equal(uipc_tx_notify(tx[i]), 0);
		sleeper_woken(&f->s, i ? 1ull << 32 : 1u << 7);
	}
	f->s.n = 1;
	uipc_tx_free(tx[0]);
	uipc_tx_free(tx[1]);
	uipc_rx_free(shared_rx);
}

int main(void)
{
	uipc_ctx *ctx;

	TEST_SKIP_IF(uipc_ctx_new("futex", &ctx) < 0, "no futex backend");
	uipc_ctx_free(ctx);
	TEST_SKIP_IF(access("/proc/self/task", R_OK) != 0, "no /proc");

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_private_then_shared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_channel_here, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_share_while_asleep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_while_asleep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_futex_while_asleep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wait_any_mixed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
