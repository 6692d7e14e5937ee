/* SPDX-License-Identifier: MIT */
/*
 * The uintr backend on the user-space UINTR model (uintr-sim), and the
 * refusal of the real backend where there is no UINTR.
 *
 * Part one re-expresses the cases of the kernel's UINTR selftests against
 * the platform interface the backend uses (register/unregister handler,
 * vector fds, senders, the UITT, SENDUIPI's faults, uintr_wait). Part two
 * runs the same situations through the public API with the "uintr-sim"
 * backend: self, cross-thread and cross-process notifies, wait and handler
 * mode. Nothing here executes a UINTR instruction.
 */
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"
#include "backends/uintr/uintr-platform.h"

static const struct uipc__uintr_platform *const P = &uipc__uintr_sim;

#define BIT(v) (UINT64_C(1) << (v))

/* Part one: the platform ------------------------------------------------ */

/* A receiver thread with one route: kernel vector k lands in *pending. */
static void become_receiver(_Atomic uint64_t *pending, unsigned k)
{
	struct uipc__uintr_routes *rt;

	assert_int_equal(P->register_handler(0), 0);
	rt = P->routes();
	assert_non_null(rt);
	uipc__uintr_route_set(rt, k, pending, BIT(k), NULL, NULL);
	P->stui();
}

static void test_handler_register_twice(void **state)
{
	_Atomic uint64_t pending = 0;

	(void)state;
	assert_null(P->routes());
	assert_int_equal(P->unregister_handler(0), -EINVAL); /* without a handler */
	assert_int_equal(P->register_handler(1), -EINVAL);   /* non-zero flags */
	assert_int_equal(P->register_handler(0), 0);
	assert_int_equal(P->register_handler(0), -EBUSY);
	assert_false(P->testui()); /* delivery off until stui */
	assert_int_equal(P->unregister_handler(1), -EINVAL);
	assert_int_equal(P->unregister_handler(0), 0);
	assert_int_equal(P->unregister_handler(0), -EINVAL);
	become_receiver(&pending, 0);
	assert_true(P->testui());
	assert_int_equal(P->unregister_handler(0), 0);
}

static void test_vector_fd_limits(void **state)
{
	_Atomic uint64_t pending = 0;
	int fd, fd2;

	(void)state;
	assert_int_equal(P->vector_fd(0, 0), -EINVAL); /* not a receiver */
	become_receiver(&pending, 0);
	assert_int_equal(P->vector_fd((unsigned)-1, 0), -ENOSPC);
	assert_int_equal(P->vector_fd(64, 0), -ENOSPC);
	assert_int_equal(P->vector_fd(100, 0), -ENOSPC);
	assert_int_equal(P->vector_fd(3, 1), -EINVAL);
	fd = P->vector_fd(3, 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(P->vector_fd(3, 0), -EBUSY);
	close(fd);
	/* Closed everywhere: the vector is free again. */
	fd2 = P->vector_fd(3, 0);
	assert_true(fd2 >= 0);
	close(fd2);
	assert_int_equal(P->unregister_handler(0), 0);
}

static void test_sender_bad_fds(void **state)
{
	_Atomic uint64_t pending = 0;
	int efd, fd, idx, before = test_count_fds();

	(void)state;
	become_receiver(&pending, 1);
	fd = P->vector_fd(1, 0);
	assert_true(fd >= 0);
	assert_int_equal(P->register_sender(-1, 0), -EBADF);
	assert_int_equal(P->register_sender(1000000, 0), -EBADF);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(P->register_sender(efd, 0), -EOPNOTSUPP); /* not a uintr fd */
	close(efd);
	assert_int_equal(P->register_sender(fd, 1), -EINVAL);
	idx = P->register_sender(fd, 0);
	assert_true(idx >= 0 && idx < 256);
	assert_int_equal(P->register_sender(fd, 0), -EISCONN);
	assert_int_equal(P->unregister_sender(idx, 1), -EINVAL);
	assert_int_equal(P->unregister_sender(idx, 0), 0);
	assert_int_equal(P->unregister_sender(idx, 0), -EINVAL);
	assert_int_equal(P->unregister_sender(-1, 0), -EINVAL);
	assert_int_equal(P->unregister_sender(256, 0), -EINVAL);
	/* The receiver goes away: its fds no longer register. */
	assert_int_equal(P->unregister_handler(0), 0);
	assert_int_equal(P->register_sender(fd, 0), -ESHUTDOWN);
	close(fd);
	assert_int_equal(test_count_fds(), before);
}

static void test_uitt_full(void **state)
{
	_Atomic uint64_t pending = 0;
	int idx[256], fd, r;
	uint64_t w0;

	(void)state;
	become_receiver(&pending, 2);
	/* 256 entries; each needs its own fd (one registration per fd). */
	for (int i = 0; i < 256; i++) {
		fd = P->vector_fd(2, 0);
		assert_true(fd >= 0);
		idx[i] = P->register_sender(fd, 0);
		assert_true(idx[i] >= 0);
		assert_int_equal(uipc__uintr_sim_uitt((unsigned)idx[i], &w0), 0);
		assert_int_equal(w0, UIPC_UITT_VALID | (UINT64_C(2) << UIPC_UITT_UV_SHIFT));
		close(fd);
	}
	fd = P->vector_fd(2, 0);
	assert_true(fd >= 0);
	assert_int_equal(P->register_sender(fd, 0), -ENOSPC); /* entry 257 */
	assert_int_equal(P->unregister_sender(idx[100], 0), 0);
	r = P->register_sender(fd, 0);
	assert_int_equal(r, idx[100]);
	idx[100] = r;
	close(fd);
	for (int i = 0; i < 256; i++)
		assert_int_equal(P->unregister_sender(idx[i], 0), 0);
	assert_int_equal(P->unregister_handler(0), 0);
}

static void test_flags_must_be_zero(void **state)
{
	_Atomic uint64_t pending = 0;
	int fd, idx;

	(void)state;
	become_receiver(&pending, 4);
	fd = P->vector_fd(4, 0);
	assert_true(fd >= 0);
	idx = P->register_sender(fd, 0);
	assert_true(idx >= 0);
	for (unsigned f = 1; f; f <<= 1) {
		assert_int_equal(P->register_handler(f), -EINVAL);
		assert_int_equal(P->vector_fd(5, f), -EINVAL);
		assert_int_equal(P->register_sender(fd, f), -EINVAL);
		assert_int_equal(P->unregister_sender(idx, f), -EINVAL);
		assert_int_equal(P->wait(0, f), -EINVAL);
		assert_int_equal(P->unregister_handler(f), -EINVAL);
	}
	assert_int_equal(P->unregister_sender(idx, 0), 0);
	close(fd);
	assert_int_equal(P->unregister_handler(0), 0);
}

/* #UD needs a process without a UITT: a fresh fork is one. */
static void test_senduipi_faults(void **state)
{
	_Atomic uint64_t pending = 0;
	int fd, idx;
	uint64_t w0;
	pid_t pid;

	(void)state;
	become_receiver(&pending, 6);
	fd = P->vector_fd(6, 0);
	idx = P->register_sender(fd, 0);
	assert_true(idx >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(P->senduipi(0) == UIPC_UINTR_ERR_UD ? 0 : 1);
	assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the child"), T_PASS);

	assert_int_equal(P->senduipi(256), UIPC_UINTR_ERR_GP); /* beyond UITTSZ */
	assert_int_equal(P->senduipi(UINT64_MAX), UIPC_UINTR_ERR_GP);
	assert_int_equal(P->senduipi((uint64_t)(idx + 1)), UIPC_UINTR_ERR_GP); /* invalid entry */
	/* Reserved bits in the entry fault; so does a vector >= 64. */
	assert_int_equal(uipc__uintr_sim_uitt((unsigned)idx, &w0), 0);
	assert_int_equal(uipc__uintr_sim_uitt_poke((unsigned)idx, w0 | 2), 0);
	assert_int_equal(P->senduipi((uint64_t)idx), UIPC_UINTR_ERR_GP);
	assert_int_equal(uipc__uintr_sim_uitt_poke((unsigned)idx, UIPC_UITT_VALID | (64u << 8)), 0);
	assert_int_equal(P->senduipi((uint64_t)idx), UIPC_UINTR_ERR_GP);
	assert_int_equal(uipc__uintr_sim_uitt_poke((unsigned)idx, w0), 0);
	/* The UPID: 64-byte aligned, reserved bits 15:2 and 31:24 of its
	 * control word clear, else #GP before anything is posted (SDM,
	 * SENDUIPI; Bochs 3.0 checks the same). */
	assert_int_equal(uipc__uintr_sim_uitt_poke_upid((unsigned)idx, 8), 0);
	assert_int_equal(P->senduipi((uint64_t)idx), UIPC_UINTR_ERR_GP);
	assert_int_equal(uipc__uintr_sim_uitt_poke_upid((unsigned)idx, 0), 0);
	{
		static const uint64_t reserved[] = {UINT64_C(1) << 2, UINT64_C(1) << 15,
		                                    UINT64_C(1) << 24, UINT64_C(1) << 31};
		uint64_t ctl, pir;

		assert_int_equal(uipc__uintr_sim_upid(&ctl, &pir), 0);
		for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
			assert_int_equal(uipc__uintr_sim_upid_poke(ctl | reserved[i]), 0);
			assert_int_equal(P->senduipi((uint64_t)idx), UIPC_UINTR_ERR_GP);
		}
		assert_int_equal(uipc__uintr_sim_upid(&(uint64_t){0}, &pir), 0);
		assert_int_equal(pir, 0); /* nothing posted by the faulting sends */
		assert_int_equal(uipc__uintr_sim_upid_poke(ctl), 0);
	}
	assert_int_equal(atomic_load(&pending), 0);
	assert_int_equal(P->senduipi((uint64_t)idx), 0);
	assert_int_equal(atomic_load(&pending), BIT(6));
	/* Notify after unregister: the entry is invalid, #GP. */
	assert_int_equal(P->unregister_sender(idx, 0), 0);
	assert_int_equal(P->senduipi((uint64_t)idx), UIPC_UINTR_ERR_GP);
	close(fd);
	assert_int_equal(P->unregister_handler(0), 0);
}

/* Self-notify: the UPID's bits step by step, as SENDUIPI and delivery set
 * and clear them. */
static void test_self_notify_bits(void **state)
{
	_Atomic uint64_t pending = 0;
	uint64_t ctl, pir;
	sigset_t set;
	int fd, idx;

	(void)state;
	become_receiver(&pending, 7);
	fd = P->vector_fd(7, 0);
	idx = P->register_sender(fd, 0);
	assert_true(idx >= 0);
	assert_int_equal(uipc__uintr_sim_upid(&ctl, &pir), 0);
	assert_int_equal(ctl & (UIPC_UPID_ON | UIPC_UPID_SN), 0);
	assert_int_equal((uint32_t)(ctl >> UIPC_UPID_NDST_SHIFT), (uint32_t)uipc__gettid());

	/* Running, UIF set: delivered at once (the IPI interrupts us). */
	assert_int_equal(P->senduipi((uint64_t)idx), 0);
	assert_int_equal(atomic_exchange(&pending, 0), BIT(7));
	assert_int_equal(uipc__uintr_sim_upid(&ctl, &pir), 0);
	assert_int_equal(ctl & UIPC_UPID_ON, 0);
	assert_int_equal(pir, 0);

	/* UIF clear: recognized (UIRR) but not delivered until stui. */
	P->clui();
	assert_false(P->testui());
	assert_int_equal(P->senduipi((uint64_t)idx), 0);
	assert_int_equal(atomic_load(&pending), 0);
	P->stui();
	assert_int_equal(atomic_exchange(&pending, 0), BIT(7));

	/* The IPI held up: ON stays set and further SENDUIPIs only post. */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMAX - 2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	assert_int_equal(P->senduipi((uint64_t)idx), 0);
	assert_int_equal(uipc__uintr_sim_upid(&ctl, &pir), 0);
	assert_int_equal(ctl & UIPC_UPID_ON, UIPC_UPID_ON);
	assert_int_equal(pir, BIT(7));
	assert_int_equal(P->senduipi((uint64_t)idx), 0);
	assert_int_equal(atomic_load(&pending), 0);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	assert_int_equal(atomic_exchange(&pending, 0), BIT(7));
	assert_int_equal(uipc__uintr_sim_upid(&ctl, &pir), 0);
	assert_int_equal(ctl & UIPC_UPID_ON, 0);

	/* Scheduled out: SN set, SENDUIPI posts without notifying; back in,
	 * the kernel delivers what was posted. */
	assert_int_equal(uipc__uintr_sim_schedule(true), 0);
	assert_int_equal(P->senduipi((uint64_t)idx), 0);
	assert_int_equal(uipc__uintr_sim_upid(&ctl, &pir), 0);
	assert_int_equal(ctl & (UIPC_UPID_ON | UIPC_UPID_SN), UIPC_UPID_SN);
	assert_int_equal(pir, BIT(7));
	assert_int_equal(atomic_load(&pending), 0);
	assert_int_equal(uipc__uintr_sim_schedule(false), 0);
	assert_int_equal(atomic_exchange(&pending, 0), BIT(7));
	assert_int_equal(uipc__uintr_sim_upid(&ctl, &pir), 0);
	assert_int_equal(pir, 0);

	assert_int_equal(P->unregister_sender(idx, 0), 0);
	close(fd);
	assert_int_equal(P->unregister_handler(0), 0);
}

static void test_wait_semantics(void **state)
{
	_Atomic uint64_t pending = 0;
	uint64_t t0;
	int fd, idx;

	(void)state;
	assert_int_equal(P->wait(0, 0), -EOPNOTSUPP); /* not a receiver */
	become_receiver(&pending, 8);
	assert_int_equal(P->wait(UIPC_UINTR_WAIT_MAX_USEC + 1, 0), -EINVAL);
	t0 = t_now_ns();
	assert_int_equal(P->wait(0, 0), -ETIMEDOUT); /* at once */
	assert_int_equal(P->wait(2000, 0), -ETIMEDOUT);
	assert_true(t_now_ns() - t0 >= 2000000u); /* it did wait its 2 ms */
	/* Something already pending (delivery held off): EINTR at once. */
	fd = P->vector_fd(8, 0);
	idx = P->register_sender(fd, 0);
	assert_true(idx >= 0);
	P->clui();
	assert_int_equal(P->senduipi((uint64_t)idx), 0);
	assert_int_equal(P->wait(UIPC_UINTR_WAIT_MAX_USEC, 0), -EINTR);
	assert_int_equal(atomic_load(&pending), 0);
	P->stui();
	assert_int_equal(atomic_exchange(&pending, 0), BIT(8));
	assert_int_equal(P->unregister_sender(idx, 0), 0);
	close(fd);
	assert_int_equal(P->unregister_handler(0), 0);
}

/* A blocked uintr_wait is ended by another thread's SENDUIPI (the UPID's NV
 * was switched to the wait vector, so the notification wakes the sleeper). */
struct waker {
	int fd;
	uint64_t delay_ns;
	int rc;
};

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	int idx = P->register_sender(w->fd, 0);

	if (idx < 0) {
		w->rc = idx;
		return NULL;
	}
	t_sleep_ns(w->delay_ns);
	w->rc = P->senduipi((uint64_t)idx);
	P->unregister_sender(idx, 0);
	return NULL;
}

static void test_wait_interrupted_by_notify(void **state)
{
	_Atomic uint64_t pending = 0;
	struct waker w = {.delay_ns = 20000000};
	pthread_t t;

	(void)state;
	become_receiver(&pending, 9);
	w.fd = P->vector_fd(9, 0);
	assert_true(w.fd >= 0);
	assert_int_equal(pthread_create(&t, NULL, waker_main, &w), 0);
	P->clui();
	assert_int_equal(P->wait(UIPC_UINTR_WAIT_MAX_USEC, 0), -EINTR);
	P->stui();
	assert_int_equal(atomic_exchange(&pending, 0), BIT(9));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, 0);
	close(w.fd);
	assert_int_equal(P->unregister_handler(0), 0);
}

/* Part two: the backend through the API -------------------------------- */

static int setup(void **state)
{
	struct test_fx *f = test_fx_new("uintr-sim");

	assert_string_equal(uipc_ctx_backend_name(f->ctx), "uintr-sim");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	test_fx_free(*state);
	/* The thread is no longer a UINTR receiver. */
	assert_null(P->routes());
	return 0;
}

static void test_api_self_notify(void **state)
{
	struct test_fx *f = *state;
	uipc_tx *tx, *tx2;
	uint64_t m;

	assert_int_equal(uipc_tx_new(f->rx, 3, &tx), 0);
	assert_int_equal(uipc_tx_new(f->rx, 3, &tx2), 0); /* shares the UITT entry */
	assert_int_equal(uipc_rx_poll(f->rx, &m), -EAGAIN);
	assert_int_equal(uipc_tx_notify(tx), 0);
	assert_int_equal(uipc_tx_notify(tx2), 0);
	assert_int_equal(uipc_rx_wait(f->rx, 0, &m), 0);
	assert_int_equal(m, BIT(3));
	assert_int_equal(uipc_rx_wait(f->rx, 0, &m), -EAGAIN);
	uipc_tx_free(tx2);
	assert_int_equal(uipc_tx_notify(tx), 0); /* the entry outlives tx2 */
	assert_int_equal(uipc_rx_poll(f->rx, &m), 0);
	assert_int_equal(m, BIT(3));
	uipc_tx_free(tx);
}

static void test_api_two_receivers_one_thread(void **state)
{
	struct test_fx *f = *state;
	uipc_rx *rx2;
	uipc_tx *a, *b;
	uint64_t m;

	assert_int_equal(uipc_rx_new(f->ctx, 0, &rx2), 0);
	assert_int_equal(uipc_tx_new(f->rx, 10, &a), 0);
	assert_int_equal(uipc_tx_new(rx2, 10, &b), 0);
	assert_int_equal(uipc_tx_notify(b), 0);
	assert_int_equal(uipc_rx_poll(f->rx, &m), -EAGAIN);
	assert_int_equal(uipc_rx_poll(rx2, &m), 0);
	assert_int_equal(m, BIT(10));
	assert_int_equal(uipc_tx_notify(a), 0);
	assert_int_equal(uipc_rx_poll(rx2, &m), -EAGAIN);
	assert_int_equal(uipc_rx_poll(f->rx, &m), 0);
	assert_int_equal(m, BIT(10));
	uipc_tx_free(b);
	uipc_rx_free(rx2);
	/* The first receiver still works after the second left. */
	assert_int_equal(uipc_tx_notify(a), 0);
	assert_int_equal(uipc_rx_poll(f->rx, &m), 0);
	uipc_tx_free(a);
}

static void test_api_notify_after_free(void **state)
{
	struct test_fx *f = *state;
	uipc_rx *rx2;
	uipc_tx *tx;

	assert_int_equal(uipc_rx_new(f->ctx, 0, &rx2), 0);
	assert_int_equal(uipc_tx_new(rx2, 1, &tx), 0);
	uipc_rx_free(rx2);
	assert_int_equal(uipc_tx_notify(tx), -EPIPE);
	assert_int_equal(uipc_tx_check(tx), -EPIPE);
	uipc_tx_free(tx);
}

struct notifier {
	uipc_tx *tx;
	uint64_t delay_ns;
	int n, rc;
};

static void *notifier_main(void *arg)
{
	struct notifier *n = arg;

	t_sleep_ns(n->delay_ns);
	for (int i = 0; i < n->n && n->rc == 0; i++)
		n->rc = uipc_tx_notify(n->tx);
	return NULL;
}

/* Cross-thread notify, and a blocking wait ended by it. */
static void test_api_cross_thread_blocking(void **state)
{
	struct test_fx *f = *state;
	struct notifier n = {.delay_ns = 20000000, .n = 1};
	pthread_t t;
	uint64_t m;

	assert_int_equal(uipc_tx_new(f->rx, 12, &n.tx), 0);
	assert_int_equal(uipc_rx_set_spin(f->rx, UIPC_SPIN_NONE, 0), 0);
	assert_int_equal(pthread_create(&t, NULL, notifier_main, &n), 0);
	assert_int_equal(uipc_rx_wait(f->rx, UIPC_TIMEOUT_INFINITE, &m), 0);
	assert_int_equal(m, BIT(12));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(n.rc, 0);
	assert_int_equal(uipc_rx_wait(f->rx, 1000000, &m), -ETIMEDOUT);
	uipc_tx_free(n.tx);
}

static _Atomic uint64_t handled;
static _Atomic int handler_tid;

static void on_vectors(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx;
	(void)data;
	atomic_store(&handler_tid, uipc__gettid());
	atomic_fetch_or(&handled, mask);
}

static void test_api_handler_mode(void **state)
{
	struct test_fx *f = *state;
	struct notifier n = {.n = 1};
	pthread_t t;
	uint64_t m;

	atomic_store(&handled, 0);
	assert_int_equal(uipc_tx_new(f->rx, 20, &n.tx), 0);
	assert_int_equal(uipc_rx_set_handler(f->rx, on_vectors, NULL), 0);
	assert_int_equal(uipc_rx_wait(f->rx, 0, &m), -EBUSY);
	/* Self: the handler runs before notify returns (the IPI hits us). */
	assert_int_equal(uipc_tx_notify(n.tx), 0);
	assert_int_equal(atomic_exchange(&handled, 0), BIT(20));
	assert_int_equal(atomic_load(&handler_tid), uipc__gettid());
	/* Another thread: the handler interrupts this one. */
	assert_int_equal(pthread_create(&t, NULL, notifier_main, &n), 0);
	while (!atomic_load(&handled))
		uipc__cpu_relax();
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(atomic_exchange(&handled, 0), BIT(20));
	assert_int_equal(atomic_load(&handler_tid), uipc__gettid());
	/* Masked (a flag of the receiver, not CLUI: UIF is the thread's and
	 * stays set): recorded, not run; unmask runs it. */
	assert_int_equal(uipc_rx_mask(f->rx), 0);
	assert_true(P->testui());
	assert_int_equal(uipc_tx_notify(n.tx), 0);
	t_sleep_ns(1000000);
	assert_int_equal(atomic_load(&handled), 0);
	assert_int_equal(uipc_rx_unmask(f->rx), 0);
	assert_true(P->testui());
	assert_int_equal(atomic_exchange(&handled, 0), BIT(20));
	/* Back to wait mode. */
	assert_int_equal(uipc_rx_set_handler(f->rx, NULL, NULL), 0);
	assert_int_equal(uipc_tx_notify(n.tx), 0);
	assert_int_equal(uipc_rx_wait(f->rx, 0, &m), 0);
	assert_int_equal(m, BIT(20));
	assert_int_equal(atomic_load(&handled), 0);
	uipc_tx_free(n.tx);
}

/* Cross-process: a forked child connects with the capability and notifies;
 * the parent receives in wait mode, then in handler mode. */
static int child_notify(int sock, const char *backend)
{
	uipc_ctx *ctx;
	uipc_tx *tx;
	char c;
	int cap;

	if (uipc_ctx_new(backend, &ctx) < 0 || uipc_cap_recv(sock, &cap) < 0 ||
	    uipc_tx_open(ctx, cap, &tx) < 0)
		return 10;
	close(cap);
	for (int round = 0; round < 2; round++) {
		if (read(sock, &c, 1) != 1)
			return 11;
		if (uipc_tx_notify(tx) < 0)
			return 12;
	}
	uipc_tx_free(tx);
	uipc_ctx_free(ctx);
	return 0;
}

static void test_api_cross_process(void **state)
{
	struct test_fx *f = *state;
	int sock, cap;
	uint64_t m;
	pid_t pid;

	pid = t_fork_sock(&sock);
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_notify(sock, "uintr-sim"));
	cap = uipc_rx_cap(f->rx, 30);
	assert_true(cap >= 0);
	assert_int_equal(uipc_cap_send(sock, cap), 0);
	close(cap);
	assert_int_equal(uipc_rx_set_spin(f->rx, UIPC_SPIN_NONE, 0), 0);
	assert_int_equal(write(sock, "w", 1), 1);
	assert_int_equal(uipc_rx_wait(f->rx, 10000000000, &m), 0);
	assert_int_equal(m, BIT(30));
	atomic_store(&handled, 0);
	assert_int_equal(uipc_rx_set_handler(f->rx, on_vectors, NULL), 0);
	assert_int_equal(write(sock, "h", 1), 1);
	for (uint64_t t0 = t_now_ns(); !atomic_load(&handled);) {
		assert_true(t_now_ns() - t0 < 10000000000u);
		t_sleep_ns(100000);
	}
	assert_int_equal(atomic_load(&handled), BIT(30));
	assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the child"), T_PASS);
	assert_int_equal(uipc_rx_set_handler(f->rx, NULL, NULL), 0);
	close(sock);
}

/* Vector 63 of a second receiver: the highest user vector, routed through
 * another kernel vector of the same thread. */
static void test_api_vector_63(void **state)
{
	struct test_fx *f = *state;
	uipc_rx *rx2;
	uipc_tx *tx;
	uint64_t m;

	assert_int_equal(uipc_rx_new(f->ctx, 0, &rx2), 0);
	assert_int_equal(uipc_tx_new(rx2, 63, &tx), 0);
	assert_int_equal(uipc_tx_notify(tx), 0);
	assert_int_equal(uipc_rx_poll(f->rx, &m), -EAGAIN);
	assert_int_equal(uipc_rx_poll(rx2, &m), 0);
	assert_int_equal(m, BIT(63));
	uipc_tx_free(tx);
	uipc_rx_free(rx2);
}

/* Part three: the real backend ------------------------------------------ */

/* Forcing "uintr" where the machine has no UINTR fails cleanly with
 * -EOPNOTSUPP and a reason; it never executes a UINTR instruction (this
 * process would die of SIGILL). */
static void test_forced_uintr(void **state)
{
	char why[256] = "";
	uipc_ctx *ctx = NULL;
	int r;

	(void)state;
	r = uipc_backend_probe(UIPC_BACKEND_UINTR, why, sizeof(why));
	if (r == 0) {
		print_message("this machine has UINTR (%s): nothing to refuse\n", why);
		skip();
	}
	assert_int_equal(r, -EOPNOTSUPP);
	assert_true(strlen(why) > 10);
	assert_int_equal(uipc_ctx_new("uintr", &ctx), -EOPNOTSUPP);
	assert_null(ctx);
	/* Forced through the environment: the same error, and a message. */
	{
		char msg[512] = "";
		int pfd[2];
		ssize_t n;
		pid_t pid;

		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			dup2(pfd[1], 2);
			setenv("UIPC_BACKEND", "uintr", 1);
			setenv("UIPC_DEBUG", "1", 1); /* the message, on stderr (uipc_set_log()) */
			_exit(uipc_ctx_new(NULL, &ctx) == -EOPNOTSUPP ? 0 : 1);
		}
		close(pfd[1]);
		n = read(pfd[0], msg, sizeof(msg) - 1);
		close(pfd[0]);
		assert_int_equal(t_child_ok(pid, T_CHILD_MS, "the child"), T_PASS);
		assert_true(n > 0);
		assert_non_null(strstr(msg, "uintr"));
		assert_non_null(strstr(msg, why));
	}
	/* auto never picks uintr here, nor ever the model. */
	assert_int_equal(uipc_ctx_new("auto", &ctx), 0);
	assert_string_not_equal(uipc_ctx_backend_name(ctx), "uintr");
	assert_string_not_equal(uipc_ctx_backend_name(ctx), "uintr-sim");
	uipc_ctx_free(ctx);
}

/*
 * "Never call those numbers": in a child where the UINTR syscall numbers of
 * both trees (449-454, 471-479) kill the process (seccomp), with the
 * environment pointing the library at them, every way into the real backend
 * (probe, forced context, a capability that names it) fails cleanly. A UINTR
 * instruction would die of SIGILL, a UINTR syscall of SIGSYS.
 */
static int install_syscall_trap(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 449, 0, 4),
	    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 479, 3, 0),
	    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 471, 1, 0),
	    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 454, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

static int child_never_calls_uintr(void)
{
	struct uipc__cap_vector cv = {.vector = 0, .backend = UIPC_BACKEND_UINTR};
	uipc_ctx *ctx, *fctx;
	uipc_rx *rx;
	uipc_tx *tx;
	int fds[2], cap, peer;

	setenv("UIPC_UINTR_SYSCALL_BASE", "449", 1);
	if (install_syscall_trap() < 0)
		return 20;
	if (uipc_backend_probe(UIPC_BACKEND_UINTR, NULL, 0) != -EOPNOTSUPP)
		return 21;
	if (uipc_ctx_new("uintr", &ctx) != -EOPNOTSUPP)
		return 22;
	/* A peer hands us a capability that claims the uintr backend. */
	if (uipc_ctx_new("futex", &fctx) < 0 || uipc_rx_new(fctx, 0, &rx) < 0)
		return 23;
	rx->desc->backend = UIPC_BACKEND_UINTR;
	fds[0] = rx->memfd;
	fds[1] = rx->memfd;
	cap = uipc__cap_create(UIPC_CAP_KIND_VECTOR, &cv, sizeof(cv), fds, 2, &peer);
	if (cap < 0)
		return 24;
	if (uipc_tx_open(fctx, cap, &tx) != -EINVAL)
		return 25;
	close(cap);
	close(peer);
	rx->desc->backend = UIPC_BACKEND_FUTEX;
	uipc_rx_free(rx);
	uipc_ctx_free(fctx);
	return 0;
}

static void test_never_calls_uintr_syscalls(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	if (uipc_backend_probe(UIPC_BACKEND_UINTR, NULL, 0) == 0 ||
	    !uipc__backend_get(UIPC_BACKEND_UINTR)) {
		print_message("uintr usable or not built: nothing to refuse\n");
		skip();
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_never_calls_uintr());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("child killed by signal %d (SIGSYS: a UINTR syscall number was "
		         "called; SIGILL: a UINTR instruction)",
		         WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handler_register_twice),
	    cmocka_unit_test(test_vector_fd_limits),
	    cmocka_unit_test(test_sender_bad_fds),
	    cmocka_unit_test(test_uitt_full),
	    cmocka_unit_test(test_flags_must_be_zero),
	    cmocka_unit_test(test_senduipi_faults),
	    cmocka_unit_test(test_self_notify_bits),
	    cmocka_unit_test(test_wait_semantics),
	    cmocka_unit_test(test_wait_interrupted_by_notify),
	    cmocka_unit_test_setup_teardown(test_api_self_notify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_two_receivers_one_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_notify_after_free, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_cross_thread_blocking, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_handler_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_cross_process, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_vector_63, setup, teardown),
	    cmocka_unit_test(test_forced_uintr),
	    cmocka_unit_test(test_never_calls_uintr_syscalls),
	};

	/* The environment must not pick the backend of the API tests. */
	unsetenv("UIPC_BACKEND");
	return cmocka_run_group_tests_name("uintr", tests, NULL, NULL);
}
