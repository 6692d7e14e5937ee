/* SPDX-License-Identifier: MIT */
/*
 * The compared mechanisms behind one interface: a receiver, senders, notify,
 * wait (blocking) and poll (non-blocking drain). Raw peers do the least their
 * mechanism allows: one syscall per notify, no suppression; uipc-<backend>
 * goes through the public API only.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uipc.h>

#ifdef BENCH_HAVE_LIBURING
#include <liburing.h>
#endif
#ifdef BENCH_HAVE_LIBUV
#include <uv.h>
#endif

#include "bench.h"

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

static int full_write(int fd, const void *buf, size_t len)
{
	for (;;) {
		ssize_t n = write(fd, buf, len);
		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? neg_errno() : -EIO;
	}
}

/* Read whatever is there (blocking unless the fd is non-blocking). */
static int read_some(int fd)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0)
			return 1;
		if (n == 0)
			return -EPIPE;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : neg_errno();
	}
}

/* Senders connect after the receiver exists; -1 says its setup failed. */
static int rx_ready_wait(struct link *l)
{
	int r;
	while ((r = atomic_load(&l->rx_ready)) == 0)
		sched_yield();
	return r < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* shm-spin: a shared word and a spinning receiver, the floor.              */

static int word_notify(struct link *l, unsigned i)
{
	atomic_fetch_add_explicit(&l->word, 1, memory_order_release);
	return 0;
}

static int spin_wait(struct link *l)
{
	while (atomic_load_explicit(&l->word, memory_order_acquire) == 0)
		cpu_relax();
	atomic_exchange_explicit(&l->word, 0, memory_order_acquire);
	return 0;
}

static int word_poll(struct link *l)
{
	if (atomic_load_explicit(&l->word, memory_order_relaxed) == 0)
		return 0;
	return atomic_exchange_explicit(&l->word, 0, memory_order_acquire) != 0;
}

/* ------------------------------------------------------------------------ */
/* futex: set the word, FUTEX_WAKE every time.                               */

static long sys_futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)uaddr, op, val, NULL, NULL, 0);
}

static int futex_op(const struct link *l, int op)
{
	return l->process ? op : op | FUTEX_PRIVATE_FLAG;
}

static int futex_notify(struct link *l, unsigned i)
{
	atomic_fetch_add_explicit(&l->word, 1, memory_order_seq_cst);
	if (sys_futex(&l->word, futex_op(l, FUTEX_WAKE), 1) < 0)
		return neg_errno();
	return 0;
}

static int futex_wait(struct link *l)
{
	while (atomic_exchange_explicit(&l->word, 0, memory_order_acquire) == 0) {
		/* Sleeps only while the word is still 0: no lost wakeup. */
		if (sys_futex(&l->word, futex_op(l, FUTEX_WAIT), 0) < 0 && errno != EAGAIN &&
		    errno != EINTR)
			return neg_errno();
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* futex-ws: waiter suppression, the Baton/EventCount pattern. The word is  */
/* 0 (empty), 1 (posted) or 2 (the receiver sleeps on it): a notify calls    */
/* FUTEX_WAKE only when it replaced a 2.                                      */

enum { WS_EMPTY = 0, WS_POSTED = 1, WS_SLEEPING = 2 };

static int futex_ws_notify(struct link *l, unsigned i)
{
	/* The same guarantee as uipc_tx_notify(): what the caller wrote
	 * before is ordered before the load (a full fence), so a receiver
	 * that takes the pending post sees it. A post still pending then
	 * costs the fence and a load, no write to the shared line. */
	full_fence();
	if (atomic_load_explicit(&l->word, memory_order_relaxed) == WS_POSTED)
		return 0;
	if (atomic_exchange_explicit(&l->word, WS_POSTED, memory_order_seq_cst) != WS_SLEEPING)
		return 0;
	if (sys_futex(&l->word, futex_op(l, FUTEX_WAKE), 1) < 0)
		return neg_errno();
	return 0;
}

static int futex_ws_wait(struct link *l)
{
	for (;;) {
		uint32_t v = WS_EMPTY;

		if (atomic_exchange_explicit(&l->word, WS_EMPTY, memory_order_acquire) == WS_POSTED)
			return 0;
		/* Announce the sleep; a notify that came first makes the CAS fail. */
		if (!atomic_compare_exchange_strong(&l->word, &v, WS_SLEEPING))
			continue;
		if (sys_futex(&l->word, futex_op(l, FUTEX_WAIT), WS_SLEEPING) < 0 &&
		    errno != EAGAIN && errno != EINTR)
			return neg_errno();
	}
}

static int ws_poll(struct link *l)
{
	if (atomic_load_explicit(&l->word, memory_order_relaxed) != WS_POSTED)
		return 0;
	return atomic_exchange_explicit(&l->word, WS_EMPTY, memory_order_acquire) == WS_POSTED;
}

/* eventfd-ws: the same word, and an eventfd written only for a sleeper (the
 * folly AtomicNotificationQueue / Seastar pattern). A pollable receiver. */
static int eventfd_ws_notify(struct link *l, unsigned i)
{
	uint64_t one = 1;

	full_fence(); /* as futex-ws */
	if (atomic_load_explicit(&l->word, memory_order_relaxed) == WS_POSTED)
		return 0;
	if (atomic_exchange_explicit(&l->word, WS_POSTED, memory_order_seq_cst) != WS_SLEEPING)
		return 0;
	return full_write(l->fd[0], &one, sizeof(one));
}

static int eventfd_ws_wait(struct link *l)
{
	for (;;) {
		uint32_t v = WS_EMPTY;
		uint64_t cnt;

		if (atomic_exchange_explicit(&l->word, WS_EMPTY, memory_order_acquire) == WS_POSTED)
			return 0;
		if (!atomic_compare_exchange_strong(&l->word, &v, WS_SLEEPING))
			continue;
		/* Only a notify that found WS_SLEEPING writes: one read per sleep. */
		if (read(l->fd[0], &cnt, sizeof(cnt)) < 0 && errno != EINTR && errno != EAGAIN)
			return neg_errno();
	}
}

static int eventfd_ws_init(struct link *l)
{
	/* Blocking reads: the receiver polls the word, never the fd. */
	int fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	l->fd[0] = fd;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* eventfd, pipe, unix socket: one write per notify, fds made before fork.   */

static void fds_close(struct link *l)
{
	for (int k = 0; k < 2; k++)
		if (l->fd[k] >= 0)
			close(l->fd[k]);
	l->fd[0] = l->fd[1] = -1;
}

static int eventfd_init(struct link *l)
{
	int fd = eventfd(0, EFD_CLOEXEC | (l->nonblock ? EFD_NONBLOCK : 0));
	if (fd < 0)
		return neg_errno();
	l->fd[0] = fd;
	return 0;
}

static int eventfd_notify(struct link *l, unsigned i)
{
	uint64_t one = 1;
	return full_write(l->fd[0], &one, sizeof(one));
}

static int eventfd_wait(struct link *l)
{
	uint64_t v;
	for (;;) {
		ssize_t n = read(l->fd[0], &v, sizeof(v));
		if (n == (ssize_t)sizeof(v))
			return 1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return n < 0 ? neg_errno() : -EIO;
	}
}

static int pipe_init(struct link *l)
{
	if (pipe2(l->fd, O_CLOEXEC) < 0)
		return neg_errno();
	if (l->nonblock && fcntl(l->fd[0], F_SETFL, O_NONBLOCK) < 0) {
		int err = neg_errno();
		fds_close(l);
		return err;
	}
	return 0;
}

static int unix_init(struct link *l)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->fd) < 0)
		return neg_errno();
	if (l->nonblock && fcntl(l->fd[0], F_SETFL, O_NONBLOCK) < 0) {
		int err = neg_errno();
		fds_close(l);
		return err;
	}
	return 0;
}

static int byte_notify(struct link *l, unsigned i)
{
	return full_write(l->fd[1], "x", 1);
}

static int byte_wait(struct link *l)
{
	int r = read_some(l->fd[0]);
	return r < 0 ? r : 0;
}

static int byte_poll(struct link *l)
{
	int got = 0, r;
	while ((r = read_some(l->fd[0])) > 0)
		got = 1;
	return r < 0 ? r : got;
}

/* ------------------------------------------------------------------------ */
/* signal: a real-time signal to the receiver thread, taken synchronously
 * with sigwaitinfo (the signal is blocked in every thread). */

int mech_signo(void)
{
	return SIGRTMIN + 6;
}

static int signal_rx_open(struct link *l)
{
	l->rx_pid = getpid();
	l->rx_tid = (pid_t)syscall(SYS_gettid);
	atomic_store(&l->rx_ready, 1);
	return 0;
}

static int signal_tx_open(struct link *l, unsigned i)
{
	if (rx_ready_wait(l) < 0)
		return -ECANCELED;
	return 0;
}

static int signal_notify(struct link *l, unsigned i)
{
	if (syscall(SYS_tgkill, l->rx_pid, l->rx_tid, mech_signo()) == 0)
		return 0;
	/* A full real-time queue means the receiver has thousands pending. */
	return errno == EAGAIN ? 0 : neg_errno();
}

static int signal_wait(struct link *l)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, mech_signo());
	while (sigwaitinfo(&set, NULL) < 0)
		if (errno != EINTR)
			return neg_errno();
	return 0;
}

static int signal_poll(struct link *l)
{
	sigset_t set;
	struct timespec zero = {0, 0};
	int got = 0;
	sigemptyset(&set);
	sigaddset(&set, mech_signo());
	while (sigtimedwait(&set, NULL, &zero) >= 0)
		got = 1;
	return got;
}

/* ------------------------------------------------------------------------ */
/* io_uring MSG_RING: each sender submits a message to the receiver's ring.  */

#ifdef BENCH_HAVE_LIBURING
static int uring_ring_new(struct io_uring **ret)
{
	struct io_uring_params p;
	struct io_uring *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 4096;
	int err = io_uring_queue_init_params(64, r, &p);
	if (err < 0) {
		free(r);
		return err;
	}
	*ret = r;
	return 0;
}

static void uring_ring_free(struct io_uring *r)
{
	if (!r)
		return;
	io_uring_queue_exit(r);
	free(r);
}

static int uring_rx_open(struct link *l)
{
	struct io_uring *r;
	int err = uring_ring_new(&r);
	if (err < 0)
		return err;
	l->rx = r;
	l->ring_fd = r->ring_fd;
	atomic_store(&l->rx_ready, 1);
	return 0;
}

static void uring_rx_close(struct link *l)
{
	uring_ring_free(l->rx);
	l->rx = NULL;
}

static int uring_tx_open(struct link *l, unsigned i)
{
	struct io_uring *r;
	if (rx_ready_wait(l) < 0)
		return -ECANCELED;
	int err = uring_ring_new(&r);
	if (err < 0)
		return err;
	l->tx[i] = r;
	return 0;
}

static void uring_tx_close(struct link *l, unsigned i)
{
	uring_ring_free(l->tx[i]);
	l->tx[i] = NULL;
}

/* Successful sends post no completion to the sender (CQE_SKIP_SUCCESS);
 * failures do, and are reported by the next notify. */
static int uring_notify(struct link *l, unsigned i)
{
	struct io_uring *r = l->tx[i];
	struct io_uring_cqe *cqe;
	if (io_uring_peek_cqe(r, &cqe) == 0) {
		int res = cqe->res;
		io_uring_cqe_seen(r, cqe);
		if (res < 0)
			return res;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_msg_ring(sqe, l->ring_fd, 0, 1, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	int n = io_uring_submit(r);
	return n < 0 ? n : 0;
}

static unsigned uring_drain(struct io_uring *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(r, head, cqe) n++;
	io_uring_cq_advance(r, n);
	return n;
}

static int uring_wait(struct link *l)
{
	struct io_uring_cqe *cqe;
	int err;
	while ((err = io_uring_wait_cqe(l->rx, &cqe)) == -EINTR)
		;
	if (err < 0)
		return err;
	uring_drain(l->rx);
	return 0;
}

static int uring_poll(struct link *l)
{
	return uring_drain(l->rx) > 0;
}

/* MSG_RING needs Linux 5.18 and may be filtered (seccomp): try it once. */
static int uring_probe(char *why, size_t len)
{
	struct io_uring *a = NULL, *b = NULL;
	struct io_uring_cqe *cqe;
	int err = uring_ring_new(&a);
	if (!err)
		err = uring_ring_new(&b);
	if (!err) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(a);
		io_uring_prep_msg_ring(sqe, b->ring_fd, 0, 7, 0);
		err = io_uring_submit_and_wait(a, 1);
		if (err >= 0 && io_uring_peek_cqe(a, &cqe) == 0) {
			err = cqe->res;
			io_uring_cqe_seen(a, cqe);
		}
		if (err >= 0 && io_uring_peek_cqe(b, &cqe) != 0)
			err = -EIO;
	}
	if (err < 0)
		snprintf(why, len, "io_uring MSG_RING unusable here: %s", strerror(-err));
	uring_ring_free(a);
	uring_ring_free(b);
	return err < 0 ? err : 0;
}
#endif

/* ------------------------------------------------------------------------ */
/* libuv uv_async_send: the receiver runs a loop with one async handle.      */

#ifdef BENCH_HAVE_LIBUV
struct uv_rx {
	uv_loop_t loop;
	uv_async_t async;
	uint64_t fired;
};

static void uv_on_async(uv_async_t *a)
{
	((struct uv_rx *)a->data)->fired++;
}

static int uv_rx_open(struct link *l)
{
	struct uv_rx *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	int err = uv_loop_init(&u->loop);
	if (!err) {
		err = uv_async_init(&u->loop, &u->async, uv_on_async);
		if (err)
			uv_loop_close(&u->loop);
	}
	if (err) {
		free(u);
		return err;
	}
	u->async.data = u;
	l->rx = u;
	atomic_store(&l->rx_ready, 1);
	return 0;
}

static void uv_rx_close(struct link *l)
{
	struct uv_rx *u = l->rx;
	if (!u)
		return;
	uv_close((uv_handle_t *)&u->async, NULL);
	uv_run(&u->loop, UV_RUN_DEFAULT);
	uv_loop_close(&u->loop);
	free(u);
	l->rx = NULL;
}

static int uv_tx_open(struct link *l, unsigned i)
{
	if (rx_ready_wait(l) < 0)
		return -ECANCELED;
	return 0;
}

static int uv_notify(struct link *l, unsigned i)
{
	return uv_async_send(&((struct uv_rx *)l->rx)->async);
}

static int uv_wait(struct link *l)
{
	struct uv_rx *u = l->rx;
	uint64_t seen = u->fired;
	while (u->fired == seen)
		uv_run(&u->loop, UV_RUN_ONCE);
	return 0;
}

static int uv_poll(struct link *l)
{
	struct uv_rx *u = l->rx;
	uint64_t seen = u->fired;
	uv_run(&u->loop, UV_RUN_NOWAIT);
	return u->fired != seen;
}
#endif

/* ------------------------------------------------------------------------ */
/* uipc-<backend>: the public API.                                           */

static int uipc_m_init(struct link *l)
{
	uipc_ctx *ctx;
	int err = uipc_ctx_new(l->m->uipc_name, &ctx);
	if (err < 0)
		return err;
	l->ctx = ctx;
	if (l->process && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->cap_sock) < 0) {
		err = neg_errno();
		uipc_ctx_free(ctx);
		l->ctx = NULL;
		return err;
	}
	return 0;
}

static void uipc_m_fini(struct link *l)
{
	uipc_ctx_free(l->ctx);
	l->ctx = NULL;
}

static int uipc_m_rx_open(struct link *l)
{
	uipc_rx *rx;
	int err = uipc_rx_new(l->ctx, 0, &rx);
	if (err < 0)
		return err;
	if (l->blocked)
		err = uipc_rx_set_spin(rx, UIPC_SPIN_NONE, 0);
	/* Every sender's vector registered here, on the receiver's thread
	 * (uintr requires it of the first one); handed over to processes.
	 * In-process senders of the other backends use uipc_tx_new() alone,
	 * as a program would: a capability made here would tell the receiver
	 * that senders in other processes may come (a shared futex word, an
	 * eventfd whose flags a sender checks before each write). */
	bool caps = l->process || !strcmp(uipc_rx_backend_name(rx), "uintr");
	for (unsigned i = 0; caps && err >= 0 && i < l->nsenders; i++) {
		int cap = uipc_rx_cap(rx, i % UIPC_VECTORS);
		if (cap < 0) {
			err = cap;
			break;
		}
		if (l->process)
			err = uipc_cap_send(l->cap_sock[0], cap);
		close(cap);
	}
	if (err < 0) {
		uipc_rx_free(rx);
		return err;
	}
	l->rx = rx;
	atomic_store(&l->rx_ready, 1);
	return 0;
}

static void uipc_m_rx_close(struct link *l)
{
	uipc_rx_free(l->rx);
	l->rx = NULL;
}

static int uipc_m_tx_open(struct link *l, unsigned i)
{
	uipc_tx *tx;
	int err;
	if (l->process) {
		int cap;
		err = uipc_cap_recv(l->cap_sock[1], &cap);
		if (err < 0)
			return err;
		err = uipc_tx_open(l->ctx, cap, &tx);
		close(cap);
	} else {
		while (!atomic_load(&l->rx_ready))
			sched_yield();
		err = uipc_tx_new(l->rx, i % UIPC_VECTORS, &tx);
	}
	if (err < 0)
		return err;
	l->tx[i] = tx;
	return 0;
}

static void uipc_m_tx_close(struct link *l, unsigned i)
{
	uipc_tx_free(l->tx[i]);
	l->tx[i] = NULL;
}

static int uipc_m_notify(struct link *l, unsigned i)
{
	return uipc_tx_notify(l->tx[i]);
}

static int uipc_m_wait(struct link *l)
{
	uint64_t mask;
	int err;
	while ((err = uipc_rx_wait(l->rx, UIPC_TIMEOUT_INFINITE, &mask)) == -EINTR)
		;
	return err;
}

static int uipc_m_poll(struct link *l)
{
	uint64_t mask;
	int err = uipc_rx_poll(l->rx, &mask);
	if (err == -EAGAIN)
		return 0;
	return err < 0 ? err : 1;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                */

static int nop_open(struct link *l)
{
	atomic_store(&l->rx_ready, 1);
	return 0;
}

static int nop_tx_open(struct link *l, unsigned i)
{
	return 0;
}

#define MAX_MECHS 32
static struct mech table[MAX_MECHS];
static unsigned ntable;
static const char *missing_name[MAX_MECHS], *missing_why[MAX_MECHS];
static unsigned nmissing;

void mech_missing_add(const char *name, const char *why)
{
	if (nmissing >= MAX_MECHS)
		return;
	missing_name[nmissing] = strdup(name);
	missing_why[nmissing] = strdup(why);
	nmissing++;
}

unsigned mech_missing(const char ***ret_names, const char ***ret_why)
{
	*ret_names = missing_name;
	*ret_why = missing_why;
	return nmissing;
}

static struct mech *add(const char *name, unsigned flags)
{
	struct mech *m = &table[ntable++];
	memset(m, 0, sizeof(*m));
	m->name = name;
	m->flags = flags;
	m->uipc_backend = -1;
	m->rx_open = nop_open;
	m->tx_open = nop_tx_open;
	return m;
}

static void add_uipc(void)
{
	/* Every backend the installed library names (it never contains the
	 * test-only model of UINTR). */
	for (int id = UIPC_BACKEND_FUTEX; uipc_backend_name((enum uipc_backend)id); id++) {
		char why[160] = "", name[48];
		const char *bn = uipc_backend_name((enum uipc_backend)id);
		snprintf(name, sizeof(name), "uipc-%s", bn);
		int err = uipc_backend_probe((enum uipc_backend)id, why, sizeof(why));
		if (err < 0) {
			mech_missing_add(name, why[0] ? why : strerror(-err));
			continue;
		}
		struct mech *m = add(strdup(name), MECH_UIPC | MECH_PROCESS);
		m->uipc_backend = id;
		snprintf(m->uipc_name, sizeof(m->uipc_name), "%s", bn);
		m->init = uipc_m_init;
		m->fini = uipc_m_fini;
		m->rx_open = uipc_m_rx_open;
		m->rx_close = uipc_m_rx_close;
		m->tx_open = uipc_m_tx_open;
		m->tx_close = uipc_m_tx_close;
		m->notify = uipc_m_notify;
		m->wait = uipc_m_wait;
		m->poll = uipc_m_poll;
	}
}

unsigned mech_table(const struct mech **ret)
{
	struct mech *m;
	if (ntable) {
		*ret = table;
		return ntable;
	}
	m = add("shm-spin", MECH_PROCESS | MECH_SPIN);
	m->notify = word_notify;
	m->wait = spin_wait;
	m->poll = word_poll;

	m = add("futex", MECH_PROCESS | MECH_CHEAP_POLL);
	m->notify = futex_notify;
	m->wait = futex_wait;
	m->poll = word_poll;

	m = add("futex-ws", MECH_PROCESS | MECH_CHEAP_POLL);
	m->notify = futex_ws_notify;
	m->wait = futex_ws_wait;
	m->poll = ws_poll;

	m = add("eventfd-ws", MECH_PROCESS | MECH_CHEAP_POLL);
	m->init = eventfd_ws_init;
	m->fini = fds_close;
	m->notify = eventfd_ws_notify;
	m->wait = eventfd_ws_wait;
	m->poll = ws_poll;

	m = add("eventfd", MECH_PROCESS);
	m->init = eventfd_init;
	m->fini = fds_close;
	m->notify = eventfd_notify;
	m->wait = eventfd_wait;
	m->poll = eventfd_wait;

	m = add("pipe", MECH_PROCESS);
	m->init = pipe_init;
	m->fini = fds_close;
	m->notify = byte_notify;
	m->wait = byte_wait;
	m->poll = byte_poll;

	m = add("unix-socket", MECH_PROCESS);
	m->init = unix_init;
	m->fini = fds_close;
	m->notify = byte_notify;
	m->wait = byte_wait;
	m->poll = byte_poll;

	m = add("signal", MECH_PROCESS);
	m->rx_open = signal_rx_open;
	m->tx_open = signal_tx_open;
	m->notify = signal_notify;
	m->wait = signal_wait;
	m->poll = signal_poll;

#ifdef BENCH_HAVE_LIBURING
	char why[160];
	if (uring_probe(why, sizeof(why)) == 0) {
		m = add("uring-msgring", 0);
		m->rx_open = uring_rx_open;
		m->rx_close = uring_rx_close;
		m->tx_open = uring_tx_open;
		m->tx_close = uring_tx_close;
		m->notify = uring_notify;
		m->wait = uring_wait;
		m->poll = uring_poll;
	} else {
		mech_missing_add("uring-msgring", why);
	}
#else
	mech_missing_add("uring-msgring", "built without liburing (meson -Dliburing=enabled)");
#endif
	bench_uring_mechs(add);

#ifdef BENCH_HAVE_LIBUV
	m = add("uv-async", MECH_CHEAP_POLL);
	m->rx_open = uv_rx_open;
	m->rx_close = uv_rx_close;
	m->tx_open = uv_tx_open;
	m->notify = uv_notify;
	m->wait = uv_wait;
	m->poll = uv_poll;
#else
	mech_missing_add("uv-async", "built without libuv (meson -Dlibuv=enabled)");
#endif
	add_uipc();
	*ret = table;
	return ntable;
}

const struct mech *mech_find(const char *name)
{
	const struct mech *t;
	unsigned n = mech_table(&t);
	for (unsigned i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

struct link *link_new(const struct mech *m, unsigned nsenders, bool blocked, bool nonblock,
                      bool process)
{
	struct link *l = shared_alloc(sizeof(*l));
	if (!l)
		return NULL;
	l->m = m;
	l->nsenders = nsenders;
	l->blocked = blocked;
	l->nonblock = nonblock;
	l->process = process;
	l->fd[0] = l->fd[1] = -1;
	l->cap_sock[0] = l->cap_sock[1] = -1;
	l->ring_fd = -1;
	if (m->init) {
		int err = m->init(l);
		if (err < 0) {
			fprintf(stderr, "uipc-bench: %s: setup failed: %s\n", m->name,
			        strerror(-err));
			shared_free(l, sizeof(*l));
			return NULL;
		}
	}
	return l;
}

void link_free(struct link *l)
{
	if (!l)
		return;
	if (l->m->fini)
		l->m->fini(l);
	for (int k = 0; k < 2; k++)
		if (l->cap_sock[k] >= 0)
			close(l->cap_sock[k]);
	shared_free(l, sizeof(*l));
}
