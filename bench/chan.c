/* SPDX-License-Identifier: MIT */
/*
 * Channel scenarios: SPSC throughput over message and batch sizes, and a
 * ping-pong over two channels. The peers:
 *  - Concurrency Kit's SPSC ck_ring with typed slots (messages copied into
 *    the ring, as in a channel), whose consumer polls: it has no wakeup at
 *    all. ck has no batch call: its "x16" rows are 16 single calls a side,
 *    labelled "16x1";
 *  - mutex-condvar: a ring under a mutex, the consumer sleeping on a
 *    condvar, signalled only when it sleeps;
 *  - mutex-eventfd: the same ring, the consumer sleeping in read() on an
 *    eventfd, written only when it sleeps (a pollable consumer, as an event
 *    loop has). Both mutex queues batch under one lock (x16: one lock per 16);
 *    both consumers spin on the indices for up to uipc's spin bound before
 *    sleeping, as uipc does;
 *  - shm-spin (ping-pong only): a one-message mailbox per direction (the
 *    message, then a counter after it, spun on), the floor for carrying
 *    that many bytes.
 * chan-throughput-process puts the uipc producer in another process (it
 * attaches through uipc_chan_cap_send()/uipc_chan_tx_open_sock() and pays a fence per
 * send; producers in the consumer's process do not).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uipc.h>

#ifdef BENCH_HAVE_LIBCK
#include <ck_ring.h>

/* Typed rings: ck copies each message into its ring slot, as a channel does. */
struct m8 {
	char b[8];
};
struct m64 {
	char b[64];
};
struct m256 {
	char b[256];
};
CK_RING_PROTOTYPE(m8, m8)
CK_RING_PROTOTYPE(m64, m64)
CK_RING_PROTOTYPE(m256, m256)
#endif

#include "bench.h"

#define CHAN_CAPACITY  1024u
#define CHAN_MAX_MSG   256u
#define CHAN_MAX_BATCH 64u
#define STOP_SEQ       UINT64_MAX

#if defined(BENCH_HAVE_CHAN) || defined(BENCH_HAVE_LIBCK)

/* shm-spin mailbox: the message, then a counter (8-byte aligned), and each
 * side's private count on a line of its own. */
struct mbox {
	_Alignas(128) unsigned char line[CHAN_MAX_MSG + 8];
	_Alignas(128) uint64_t sent;
	_Alignas(128) uint64_t seen;
};

enum qkind { Q_UIPC, Q_CK, Q_BOX, Q_MUTEX_COND, Q_MUTEX_EVFD };

/* mutex-condvar / mutex-eventfd: a ring of CHAN_CAPACITY slots under a mutex.
 * head and tail change under the lock; the consumer also reads them without
 * it while it spins. */
struct mq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int efd;
	bool sleeping; /* the consumer sleeps (under lock) */
	_Alignas(BENCH_CACHELINE) _Atomic uint64_t head;
	_Alignas(BENCH_CACHELINE) _Atomic uint64_t tail;
	unsigned char *buf;
};

/* A one-direction queue: uipc channel, ck_ring, a mutex queue or a spin mailbox. */
struct q {
	enum qkind kind;
	bool ck;
	bool process;      /* the uipc producer attaches in another process */
	int sock;          /* process: the consumer gives the capability here */
	struct mq *mq;     /* mutex queues */
	struct mbox *mbox; /* shm-spin */
	size_t msg;
	unsigned batch;
	/* uipc */
	uipc_ctx *ctx;
	uipc_rx *rx;
	void *chan;    /* uipc_chan */
	void *chan_tx; /* uipc_chan_tx */
	_Atomic int ready;
#ifdef BENCH_HAVE_LIBCK
	_Alignas(BENCH_CACHELINE) struct ck_ring ring;
	void *buf; /* capacity slots of msg bytes */
#endif
};

struct chan_mech {
	const char *name;
	const char *backend; /* uipc backend, NULL for the others */
	bool box;            /* shm-spin: ping-pong only */
	enum qkind kind;
};

static _Atomic uint64_t *box_count(const struct q *q)
{
	return (_Atomic uint64_t *)(void *)(q->mbox->line + ((q->msg + 7) & ~(size_t)7));
}

static int q_init(struct q *q, const struct chan_mech *cm, size_t msg, unsigned batch)
{
	memset(q, 0, sizeof(*q));
	q->msg = msg;
	q->batch = batch;
	q->kind = cm->kind;
	q->sock = -1;
	if (cm->kind == Q_MUTEX_COND || cm->kind == Q_MUTEX_EVFD) {
		q->mq = calloc(1, sizeof(*q->mq));
		if (!q->mq || !(q->mq->buf = malloc(CHAN_CAPACITY * msg))) {
			free(q->mq);
			q->mq = NULL;
			return -ENOMEM;
		}
		pthread_mutex_init(&q->mq->lock, NULL);
		pthread_cond_init(&q->mq->cond, NULL);
		q->mq->efd = cm->kind == Q_MUTEX_EVFD ? eventfd(0, EFD_CLOEXEC) : -1;
		return cm->kind == Q_MUTEX_EVFD && q->mq->efd < 0 ? -errno : 0;
	}
	if (cm->box) {
		if (posix_memalign((void **)&q->mbox, _Alignof(struct mbox), sizeof(struct mbox)))
			return -ENOMEM;
		memset(q->mbox, 0, sizeof(struct mbox));
		return 0;
	}
	q->ck = cm->kind == Q_CK;
#ifdef BENCH_HAVE_LIBCK
	if (q->ck) {
		if (msg != 8 && msg != 64 && msg != 256)
			return -EINVAL;
		if (posix_memalign(&q->buf, BENCH_CACHELINE, CHAN_CAPACITY * msg))
			return -ENOMEM;
		ck_ring_init(&q->ring, CHAN_CAPACITY);
		return 0;
	}
#endif
#ifdef BENCH_HAVE_CHAN
	return uipc_ctx_new(cm->backend, &q->ctx);
#else
	return -EOPNOTSUPP;
#endif
}

static void q_fini(struct q *q)
{
	if (q->mq) {
		if (q->mq->efd >= 0)
			close(q->mq->efd);
		pthread_mutex_destroy(&q->mq->lock);
		pthread_cond_destroy(&q->mq->cond);
		free(q->mq->buf);
		free(q->mq);
		q->mq = NULL;
	}
	free(q->mbox);
#ifdef BENCH_HAVE_LIBCK
	free(q->buf);
#endif
	uipc_ctx_free(q->ctx);
}

static void q_rx_close(struct q *q)
{
#ifdef BENCH_HAVE_CHAN
	uipc_chan_free(q->chan);
	uipc_rx_free(q->rx);
	q->chan = NULL;
	q->rx = NULL;
#endif
}

/* Consumer side, on the consumer's thread. */
static int q_rx_open(struct q *q)
{
	int err = 0;
#ifdef BENCH_HAVE_CHAN
	if (q->kind == Q_UIPC) {
		/* In one process, fence-free producers: these rows stream or
		 * spin, where the consumer rarely sleeps (include/uipc/chan.h). */
		struct uipc_chan_config cfg = {.msg_size = q->msg,
		                               .capacity = CHAN_CAPACITY,
		                               .flags = q->process ? 0 : UIPC_CHAN_LIGHT};
		uipc_chan *chan;
		err = uipc_rx_new(q->ctx, 0, &q->rx);
		if (err < 0)
			goto out;
		err = uipc_chan_new(q->rx, 0, &cfg, &chan);
		if (err < 0) {
			uipc_rx_free(q->rx);
			q->rx = NULL;
			goto out;
		}
		q->chan = chan;
		if (q->process && (err = uipc_chan_cap_send(chan, q->sock)) < 0) {
			q_rx_close(q);
			goto out;
		}
	}
out:
#endif
	atomic_store(&q->ready, err < 0 ? -1 : 1);
	return err;
}

/* shm-spin mailbox: one message in flight, as in a ping-pong. */
static int box_send(struct q *q, const char *msg)
{
	memcpy(q->mbox->line, msg, q->msg);
	atomic_store_explicit(box_count(q), ++q->mbox->sent, memory_order_release);
	return 0;
}

static int box_recv(struct q *q, char *buf)
{
	if (atomic_load_explicit(box_count(q), memory_order_acquire) == q->mbox->seen) {
		cpu_relax();
		return 0;
	}
	memcpy(buf, q->mbox->line, q->msg);
	q->mbox->seen++;
	return 1;
}

static int q_tx_open(struct q *q)
{
	int r;
	while ((r = atomic_load(&q->ready)) == 0)
		sched_yield();
	if (r < 0)
		return -ECANCELED;
#ifdef BENCH_HAVE_CHAN
	if (q->kind == Q_UIPC) {
		uipc_chan_tx *tx;
		int err = q->process ? uipc_chan_tx_open_sock(q->ctx, q->sock, &tx)
		                     : uipc_chan_tx_new(q->chan, &tx);
		if (err < 0)
			return err;
		q->chan_tx = tx;
	}
#endif
	return 0;
}

static void q_tx_close(struct q *q)
{
#ifdef BENCH_HAVE_CHAN
	uipc_chan_tx_free(q->chan_tx);
	q->chan_tx = NULL;
#endif
}

#ifdef BENCH_HAVE_LIBCK
static bool ck_enqueue(struct q *q, const char *msg)
{
	switch (q->msg) {
	case 8:
		return ck_ring_enqueue_spsc_m8(&q->ring, q->buf, (struct m8 *)(uintptr_t)msg);
	case 64:
		return ck_ring_enqueue_spsc_m64(&q->ring, q->buf, (struct m64 *)(uintptr_t)msg);
	default:
		return ck_ring_enqueue_spsc_m256(&q->ring, q->buf, (struct m256 *)(uintptr_t)msg);
	}
}

static bool ck_dequeue(struct q *q, char *msg)
{
	switch (q->msg) {
	case 8:
		return ck_ring_dequeue_spsc_m8(&q->ring, q->buf, (struct m8 *)(void *)msg);
	case 64:
		return ck_ring_dequeue_spsc_m64(&q->ring, q->buf, (struct m64 *)(void *)msg);
	default:
		return ck_ring_dequeue_spsc_m256(&q->ring, q->buf, (struct m256 *)(void *)msg);
	}
}
#endif

/* Mutex queues ------------------------------------------------------------ */

static void mq_wake(struct q *q, bool *write_efd)
{
	struct mq *m = q->mq;

	if (!m->sleeping)
		return; /* waiter suppression: only a sleeping consumer is woken */
	m->sleeping = false;
	if (q->kind == Q_MUTEX_COND)
		pthread_cond_signal(&m->cond);
	else
		*write_efd = true;
}

/* Put up to n messages under one lock; how many fit. */
static unsigned mq_send(struct q *q, const char *msgs, unsigned n)
{
	struct mq *m = q->mq;
	bool write_efd = false;
	unsigned k;

	pthread_mutex_lock(&m->lock);
	uint64_t t = atomic_load_explicit(&m->tail, memory_order_relaxed);
	uint64_t h = atomic_load_explicit(&m->head, memory_order_relaxed);
	for (k = 0; k < n && t - h < CHAN_CAPACITY; k++, t++)
		memcpy(m->buf + (t % CHAN_CAPACITY) * q->msg, msgs + (size_t)k * q->msg, q->msg);
	atomic_store_explicit(&m->tail, t, memory_order_relaxed);
	if (k)
		mq_wake(q, &write_efd);
	pthread_mutex_unlock(&m->lock);
	if (write_efd) {
		uint64_t one = 1;

		if (write(m->efd, &one, sizeof(one)) < 0)
			return 0;
	}
	return k;
}

/* Sleep until the ring may be non-empty (lock held on entry and exit);
 * false after the 200 ms bound. */
static bool mq_sleep(struct q *q)
{
	struct mq *m = q->mq;

	m->sleeping = true;
	if (q->kind == Q_MUTEX_COND) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		return pthread_cond_timedwait(&m->cond, &m->lock, &ts) == 0;
	}
	pthread_mutex_unlock(&m->lock);
	struct pollfd pfd = {.fd = m->efd, .events = POLLIN};
	uint64_t v;
	bool woke = poll(&pfd, 1, 200) == 1 && read(m->efd, &v, sizeof(v)) == sizeof(v);
	pthread_mutex_lock(&m->lock);
	return woke;
}

/* Take up to batch messages under one lock: spin on the indices (uipc's
 * bound), then sleep. */
static int mq_recv(struct q *q, char *buf)
{
	struct mq *m = q->mq;
	uint64_t end = bench_ticks() + ns_to_ticks(UIPC_SPIN_DEFAULT_MAX_NS);
	unsigned k = 0;

	while (atomic_load_explicit(&m->tail, memory_order_relaxed) ==
	           atomic_load_explicit(&m->head, memory_order_relaxed) &&
	       bench_ticks() < end)
		cpu_relax();
	pthread_mutex_lock(&m->lock);
	uint64_t h = atomic_load_explicit(&m->head, memory_order_relaxed);
	if (atomic_load_explicit(&m->tail, memory_order_relaxed) == h && !mq_sleep(q)) {
		m->sleeping = false;
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	uint64_t t = atomic_load_explicit(&m->tail, memory_order_relaxed);
	for (; k < q->batch && h + k < t; k++)
		memcpy(buf + (size_t)k * q->msg, m->buf + ((h + k) % CHAN_CAPACITY) * q->msg,
		       q->msg);
	atomic_store_explicit(&m->head, h + k, memory_order_relaxed);
	pthread_mutex_unlock(&m->lock);
	return (int)k;
}

/* Send n (<= batch) messages from msgs, all of them: spins while full. */
static int q_send(struct q *q, const char *msgs, unsigned n)
{
	if (q->mbox)
		return box_send(q, msgs);
	if (q->mq) {
		while (n) {
			unsigned k = mq_send(q, msgs, n);

			if (!k)
				cpu_relax();
			n -= k;
			msgs += (size_t)k * q->msg;
		}
		return 0;
	}
#ifdef BENCH_HAVE_LIBCK
	if (q->ck) {
		for (unsigned k = 0; k < n; k++)
			while (!ck_enqueue(q, msgs + k * q->msg))
				cpu_relax();
		return 0;
	}
#endif
#ifdef BENCH_HAVE_CHAN
	while (n) {
		int r = n == 1 ? uipc_chan_send(q->chan_tx, msgs, q->msg)
		               : uipc_chan_send_n(q->chan_tx, msgs, n);
		if (r == -EAGAIN) {
			cpu_relax();
			continue;
		}
		if (r < 0)
			return r;
		r = n == 1 ? 1 : r;
		n -= (unsigned)r;
		msgs += (size_t)r * q->msg;
	}
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

/* Receive 1..batch messages into buf, waiting (ck: spinning) while empty. */
static int q_recv(struct q *q, char *buf)
{
	if (q->mbox)
		return box_recv(q, buf);
	if (q->mq)
		return mq_recv(q, buf);
#ifdef BENCH_HAVE_LIBCK
	if (q->ck) {
		unsigned got = 0;
		while (got < q->batch && ck_dequeue(q, buf + got * q->msg))
			got++;
		if (!got)
			cpu_relax();
		return (int)got;
	}
#endif
#ifdef BENCH_HAVE_CHAN
	/* A bounded wait, so that a failed producer cannot leave us here. */
	int64_t timeout = 200000000;
	int r = q->batch == 1
	            ? uipc_chan_recv(q->chan, buf, q->msg, timeout)
	            : uipc_chan_recv_n(q->chan, buf, q->batch, q->batch * q->msg, timeout);
	if (r == -EINTR || r == -ETIMEDOUT)
		return 0;
	if (r < 0)
		return r;
	return q->batch == 1 ? 1 : r;
#else
	return -EOPNOTSUPP;
#endif
}

/* ------------------------------------------------------------------------ */
/* Throughput                                                               */

struct tput {
	struct sbarrier bar;
	_Atomic int failed;
	_Atomic int err;
	struct q q;
	struct q *pq; /* the producer's view: &q, or its own copy in another process */
	uint64_t warm_ticks, run_ticks;
	struct hist *h;
	/* Written by the consumer at the end only: no line shared with the ring. */
	_Alignas(BENCH_CACHELINE) uint64_t msgs;
	double secs;
};

static void set_err(_Atomic int *e, int err)
{
	int zero = 0;
	if (err < 0)
		atomic_compare_exchange_strong(e, &zero, err);
}

static void *tput_consumer(void *arg)
{
	struct tput *t = arg;
	char buf[CHAN_MAX_MSG * CHAN_MAX_BATCH];
	uint64_t expect = 0, first = 0, last = 0, since = 0, chunk_t0 = 0, msgs = 0;
	int err = q_rx_open(&t->q);
	if (err < 0)
		atomic_store(&t->failed, 1);
	sbarrier_wait(&t->bar);
	uint64_t warm_end = bench_ticks() + t->warm_ticks;
	while (!atomic_load(&t->failed)) {
		int n = q_recv(&t->q, buf);
		if (n < 0) {
			err = n;
			break;
		}
		bool stop = false;
		for (int k = 0; k < n; k++) {
			uint64_t seq;
			memcpy(&seq, buf + (size_t)k * t->q.msg, sizeof(seq));
			if (seq == STOP_SEQ) {
				stop = true;
				break;
			}
			/* Delivered exactly once, in order: anything else is a bug. */
			if (seq != expect++) {
				err = -EPROTO;
				stop = true;
				break;
			}
		}
		if (stop)
			break;
		if (!n)
			continue;
		uint64_t now = bench_ticks();
		if (now < warm_end)
			continue;
		if (!first) {
			first = chunk_t0 = now;
			since = 0;
			continue;
		}
		msgs += (uint64_t)n;
		since += (uint64_t)n;
		last = now;
		/* Cost per message over chunks of >= 1024 messages. */
		if (since >= 1024) {
			hist_record(t->h, ticks_to_ns((now - chunk_t0) * 1000u) / since);
			chunk_t0 = now;
			since = 0;
		}
	}
	t->msgs = msgs;
	t->secs = last > first ? (double)ticks_to_ns(last - first) / 1e9 : 0;
	set_err(&t->err, err);
	sbarrier_wait(&t->bar);
	q_rx_close(&t->q);
	return NULL;
}

static void *tput_producer(void *arg)
{
	struct tput *t = arg;
	char msgs[CHAN_MAX_MSG * CHAN_MAX_BATCH];
	uint64_t seq = 0;
	int err = q_tx_open(t->pq);
	if (err < 0)
		atomic_store(&t->failed, 1);
	sbarrier_wait(&t->bar);
	memset(msgs, 0xa5, sizeof(msgs));
	if (!atomic_load(&t->failed)) {
		uint64_t end = bench_ticks() + t->warm_ticks + t->run_ticks;
		while (bench_ticks() < end) {
			for (unsigned k = 0; k < t->pq->batch; k++, seq++)
				memcpy(msgs + k * t->pq->msg, &seq, sizeof(seq));
			if ((err = q_send(t->pq, msgs, t->pq->batch)) < 0)
				break;
		}
		uint64_t stop = STOP_SEQ;
		memcpy(msgs, &stop, sizeof(stop));
		int e2 = q_send(t->pq, msgs, 1);
		err = err < 0 ? err : e2;
		if (err < 0)
			atomic_store(&t->failed, 1);
	}
	set_err(&t->err, err);
	sbarrier_wait(&t->bar);
	q_tx_close(t->pq);
	return NULL;
}

/* The producer in a child process: its own context, attached through the
 * socket the consumer gives the capability on. */
static void tput_child(struct tput *t, const struct chan_mech *cm, int sock)
{
	struct q mine;
	int r;

	pin_self(opts.cpu_b);
	while ((r = atomic_load(&t->q.ready)) == 0)
		sched_yield();
	mine = t->q;
	mine.sock = sock;
	if (r < 0 || uipc_ctx_new(cm->backend, &mine.ctx) < 0)
		atomic_store(&t->failed, 1);
	t->pq = &mine;
	tput_producer(t);
	uipc_ctx_free(mine.ctx);
	_exit(0);
}

static int tput_run(const struct chan_mech *cm, size_t msg, unsigned batch, bool process,
                    struct hist *h, double *ret_ops)
{
	struct tput *t = shared_alloc(sizeof(*t));
	int err, sv[2] = {-1, -1};
	pid_t pid = -1;
	if (!t)
		return -ENOMEM;
	sbarrier_init(&t->bar, 2);
	t->h = h;
	t->pq = &t->q;
	t->warm_ticks = ns_to_ticks((uint64_t)opts.run_ms * 1000000u / 10 + 1000000u);
	t->run_ticks = ns_to_ticks((uint64_t)opts.run_ms * 1000000u);
	err = q_init(&t->q, cm, msg, batch);
	if (err < 0) {
		shared_free(t, sizeof(*t));
		return err;
	}
	if (process) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			err = -errno;
			goto out;
		}
		t->q.process = true;
		t->q.sock = sv[0];
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			err = -errno;
			goto out;
		}
		if (pid == 0)
			tput_child(t, cm, sv[1]);
		void *arg = t;
		thread_fn fn = tput_consumer;
		err = run_pinned(1, &fn, &arg, &opts.cpu_a);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!err && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			err = -ECHILD;
	} else {
		void *args[2] = {t, t};
		thread_fn fns[2] = {tput_consumer, tput_producer};
		int cpus[2] = {opts.cpu_a, opts.cpu_b};
		err = run_pinned(2, fns, args, cpus);
	}
	if (!err)
		err = atomic_load(&t->err);
	if (!err && t->secs > 0)
		*ret_ops = (double)t->msgs / t->secs;
out:
	for (int k = 0; k < 2; k++)
		if (sv[k] >= 0)
			close(sv[k]);
	q_fini(&t->q);
	shared_free(t, sizeof(*t));
	return err;
}

/* ------------------------------------------------------------------------ */
/* Ping-pong over two channels                                              */

struct cpp {
	struct sbarrier bar;
	_Atomic int failed;
	_Atomic int err;
	struct q ab, ba;
	uint64_t warm_ticks, run_ticks;
	struct hist *h;
	_Alignas(BENCH_CACHELINE) uint64_t samples;
	uint64_t trips;              /* every round trip, warm-up included */
	uint64_t cpu_ping, cpu_pong; /* thread CPU ns */
	double secs;
};

static void *cpp_ping(void *arg)
{
	struct cpp *p = arg;
	char buf[CHAN_MAX_MSG];
	int err = q_rx_open(&p->ba);
	if (err < 0 || (err = q_tx_open(&p->ab)) < 0)
		atomic_store(&p->failed, 1);
	sbarrier_wait(&p->bar);
	memset(buf, 0, sizeof(buf));
	if (!atomic_load(&p->failed)) {
		uint64_t start = bench_ticks(), warm_end = start + p->warm_ticks;
		uint64_t end = warm_end + p->run_ticks, first = 0, last = 0, seq = 0;
		uint64_t cpu0 = thread_cpu_ns();
		for (;;) {
			uint64_t t0 = bench_ticks();
			if (t0 >= end)
				break;
			memcpy(buf, &seq, sizeof(seq));
			if ((err = q_send(&p->ab, buf, 1)) < 0)
				break;
			int n;
			while ((n = q_recv(&p->ba, buf)) == 0)
				;
			if (n < 0) {
				err = n;
				break;
			}
			uint64_t t1 = bench_ticks();
			seq++;
			p->trips++;
			if (t0 < warm_end)
				continue;
			if (!first)
				first = t0;
			last = t1;
			hist_record(p->h, ticks_to_ns(t1 - t0));
			p->samples++;
		}
		p->cpu_ping = thread_cpu_ns() - cpu0;
		p->secs = (double)ticks_to_ns(last - first) / 1e9;
		uint64_t stop = STOP_SEQ;
		memcpy(buf, &stop, sizeof(stop));
		int e2 = q_send(&p->ab, buf, 1);
		err = err < 0 ? err : e2;
	}
	set_err(&p->err, err);
	sbarrier_wait(&p->bar);
	q_tx_close(&p->ab);
	q_rx_close(&p->ba);
	return NULL;
}

static void *cpp_pong(void *arg)
{
	struct cpp *p = arg;
	char buf[CHAN_MAX_MSG];
	int err = q_rx_open(&p->ab);
	if (err < 0 || (err = q_tx_open(&p->ba)) < 0)
		atomic_store(&p->failed, 1);
	sbarrier_wait(&p->bar);
	uint64_t cpu0 = thread_cpu_ns();
	while (!atomic_load(&p->failed)) {
		int n = q_recv(&p->ab, buf);
		if (n == 0)
			continue;
		if (n < 0) {
			err = n;
			break;
		}
		uint64_t seq;
		memcpy(&seq, buf, sizeof(seq));
		if (seq == STOP_SEQ)
			break;
		if ((err = q_send(&p->ba, buf, 1)) < 0)
			break;
	}
	p->cpu_pong = thread_cpu_ns() - cpu0;
	set_err(&p->err, err);
	sbarrier_wait(&p->bar);
	q_tx_close(&p->ba);
	q_rx_close(&p->ab);
	return NULL;
}

static int cpp_run(const struct chan_mech *cm, size_t msg, struct hist *h, double *ret_ops)
{
	struct cpp *p = calloc(1, sizeof(*p));
	int err;
	if (!p)
		return -ENOMEM;
	sbarrier_init(&p->bar, 2);
	p->h = h;
	p->warm_ticks = ns_to_ticks((uint64_t)opts.run_ms * 1000000u / 10 + 1000000u);
	p->run_ticks = ns_to_ticks((uint64_t)opts.run_ms * 1000000u);
	err = q_init(&p->ab, cm, msg, 1);
	if (!err) {
		err = q_init(&p->ba, cm, msg, 1);
		if (err < 0)
			q_fini(&p->ab);
	}
	if (err < 0) {
		free(p);
		return err;
	}
	void *args[2] = {p, p};
	thread_fn fns[2] = {cpp_ping, cpp_pong};
	int cpus[2] = {opts.cpu_b, opts.cpu_a};
	err = run_pinned(2, fns, args, cpus);
	if (!err)
		err = atomic_load(&p->err);
	if (!err && p->secs > 0)
		*ret_ops = (double)p->samples / p->secs;
	if (!err && p->trips) {
		run_extra.cpu_tx_ns = (double)p->cpu_ping / (double)p->trips;
		run_extra.cpu_rx_ns = (double)p->cpu_pong / (double)p->trips;
	}
	q_fini(&p->ab);
	q_fini(&p->ba);
	free(p);
	return err;
}

/* ------------------------------------------------------------------------ */

#define MAX_CM 14

static unsigned chan_mechs(struct chan_mech *cm)
{
	const struct mech *t;
	unsigned n = mech_table(&t), k = 0;
	memset(cm, 0, MAX_CM * sizeof(*cm));
#ifdef BENCH_HAVE_CHAN
	for (unsigned i = 0; i < n && k < MAX_CM - 4; i++) {
		if (!(t[i].flags & MECH_UIPC) || !mech_selected(&t[i]))
			continue;
		cm[k].name = t[i].name;
		cm[k].backend = t[i].uipc_name;
		k++;
	}
#else
	(void)t;
	(void)n;
#endif
#ifdef BENCH_HAVE_LIBCK
	static const struct mech ck = {.name = "ck-ring"};
	if (mech_selected(&ck)) {
		cm[k].name = "ck-ring";
		cm[k].backend = NULL;
		cm[k].kind = Q_CK;
		k++;
	}
#endif
	static const struct mech mc = {.name = "mutex-condvar"}, me = {.name = "mutex-eventfd"};
	if (mech_selected(&mc)) {
		cm[k].name = "mutex-condvar";
		cm[k].kind = Q_MUTEX_COND;
		k++;
	}
	if (mech_selected(&me)) {
		cm[k].name = "mutex-eventfd";
		cm[k].kind = Q_MUTEX_EVFD;
		k++;
	}
	static const struct mech spin = {.name = "shm-spin"};
	if (mech_selected(&spin)) {
		cm[k].name = "shm-spin";
		cm[k].backend = NULL;
		cm[k].box = true;
		cm[k].kind = Q_BOX;
		k++;
	}
	return k;
}

/* One scenario point: every mechanism, opts.reps times, alternating. */
static void chan_point(const char *scenario, const struct chan_mech *cm, unsigned n, size_t msg,
                       unsigned batch, bool pingpong, bool process)
{
	struct repstat st[MAX_CM];
	bool failed[MAX_CM] = {false};
	double cpu_rx[MAX_CM] = {0}, cpu_tx[MAX_CM] = {0};
	unsigned cpu_n[MAX_CM] = {0};
	struct hist *h = malloc(sizeof(*h));
	if (!h)
		return;
	for (unsigned i = 0; i < n; i++)
		repstat_init(&st[i]);
	for (unsigned rep = 0; rep < opts.reps; rep++) {
		for (unsigned k = 0; k < n; k++) {
			unsigned i = (k + rep) % n;
			double ops = 0;
			if (failed[i] || (cm[i].box && !pingpong) ||
			    (process && cm[i].kind != Q_UIPC))
				continue;
			hist_reset(h);
			run_extra = (struct run_extra){-1, -1, 1};
			uint64_t t0 = mono_ns();
			int err = pingpong ? cpp_run(&cm[i], msg, h, &ops)
			                   : tput_run(&cm[i], msg, batch, process, h, &ops);
			if (opts.verbose)
				fprintf(stderr, "uipc-bench: %s %s %zuB x%u rep %u: %.1f ms\n",
				        scenario, cm[i].name, msg, batch, rep,
				        (double)(mono_ns() - t0) / 1e6);
			if (err < 0) {
				char what[96];
				fprintf(stderr, "uipc-bench: %s/%s: %s\n", scenario, cm[i].name,
				        strerror(-err));
				snprintf(what, sizeof(what), "%s in %s", cm[i].name, scenario);
				mech_missing_add(what, strerror(-err));
				failed[i] = true;
				continue;
			}
			repstat_add(&st[i], h, ops, 0);
			if (run_extra.cpu_rx_ns >= 0) {
				cpu_rx[i] += run_extra.cpu_rx_ns;
				cpu_tx[i] += run_extra.cpu_tx_ns;
				cpu_n[i]++;
			}
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct result r;
		memset(&r, 0, sizeof(r));
		r.cpu_rx_ns = r.cpu_tx_ns = -1;
		r.per_sample = 1;
		if (!failed[i] && st[i].n) {
			snprintf(r.scenario, sizeof(r.scenario), "%s", scenario);
			/* ck has no batch call: say that its batch is single calls. */
			snprintf(r.mechanism, sizeof(r.mechanism), "%s%s", cm[i].name,
			         cm[i].kind == Q_CK && batch > 1 ? " 1by1" : "");
			snprintf(r.backend, sizeof(r.backend), "%s",
			         cm[i].backend ? cm[i].backend : "");
			repstat_result(&st[i], &r);
			if (!pingpong) {
				double *v[] = {&r.p50, &r.p50_min, &r.p50_max, &r.p90,
				               &r.p99, &r.p999,    &r.max,     &r.mean};
				for (unsigned k = 0; k < sizeof(v) / sizeof(v[0]); k++)
					*v[k] /= 1000;
			}
			r.unit = pingpong ? "round trip" : "consumer time per message";
			r.msg_bytes = (double)msg;
			r.batch = batch;
			if (cpu_n[i]) {
				r.cpu_rx_ns = cpu_rx[i] / cpu_n[i];
				r.cpu_tx_ns = cpu_tx[i] / cpu_n[i];
			}
			r.cpu_rx = opts.cpu_a;
			r.cpu_tx = opts.cpu_b;
			r.distance = -1;
			results_add(&r);
		}
		repstat_fini(&st[i]);
	}
	free(h);
}

const char *chan_missing(void)
{
#ifdef BENCH_HAVE_CHAN
	return NULL;
#else
	return "uipc channels are not in this build";
#endif
}

void run_chan(void)
{
	static const size_t sizes_full[] = {8, 64, 256}, sizes_quick[] = {8, 64};
	static const unsigned batches[] = {1, 16};
	struct chan_mech cm[MAX_CM];
	unsigned n = chan_mechs(cm);
	const size_t *sizes = opts.quick ? sizes_quick : sizes_full;
	unsigned nsizes = opts.quick ? 2 : 3;
	if (!n)
		return;
	if (scenario_selected("chan-throughput"))
		for (unsigned s = 0; s < nsizes; s++)
			for (unsigned b = 0; b < 2; b++)
				chan_point("chan-throughput", cm, n, sizes[s], batches[b], false,
				           false);
	/* The producer in another process: it pays the fence per send that
	 * producers in the consumer's process leave to the consumer. */
	if (scenario_selected("chan-throughput-process"))
		for (unsigned s = 0; s < nsizes; s++)
			for (unsigned b = 0; b < 2; b++)
				chan_point("chan-throughput-process", cm, n, sizes[s], batches[b],
				           false, true);
	/* 8 bytes: the channel's own cost next to pingpong-awake's bare word;
	 * 64: a cache line of payload, which with the slot's sequence number
	 * takes two. */
	if (scenario_selected("chan-pingpong"))
		for (unsigned s = 0; s < 2; s++)
			chan_point("chan-pingpong", cm, n, sizes_quick[s], 1, true, false);
}

#else

const char *chan_missing(void)
{
	return "uipc channels are not in this build";
}

void run_chan(void)
{
}

#endif
