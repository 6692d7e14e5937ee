/* SPDX-License-Identifier: MIT */
/*
 * Channel scenarios: SPSC throughput over message and batch sizes, and a
 * ping-pong over two channels. The comparison is Concurrency Kit's SPSC
 * ck_ring with typed slots (messages copied into the ring, as in a channel),
 * whose consumer polls: it has no wakeup at all. The ping-pong also runs
 * shm-spin: a one-message mailbox per direction (the message, then a
 * counter after it, spun on), the floor for carrying that many bytes.
 */
#include <errno.h>
#include <sched.h>
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

/* A one-direction queue: uipc channel, ck_ring or a spin mailbox. */
struct q {
	bool ck;
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
	const char *backend; /* uipc backend, NULL for ck-ring and shm-spin */
	bool box;            /* shm-spin: ping-pong only */
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
	if (cm->box) {
		if (posix_memalign((void **)&q->mbox, _Alignof(struct mbox), sizeof(struct mbox)))
			return -ENOMEM;
		memset(q->mbox, 0, sizeof(struct mbox));
		return 0;
	}
	q->ck = cm->backend == NULL;
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
	free(q->mbox);
#ifdef BENCH_HAVE_LIBCK
	free(q->buf);
#endif
	uipc_ctx_free(q->ctx);
}

/* Consumer side, on the consumer's thread. */
static int q_rx_open(struct q *q)
{
	int err = 0;
#ifdef BENCH_HAVE_CHAN
	if (!q->ck && !q->mbox) {
		struct uipc_chan_config cfg = {.msg_size = q->msg, .capacity = CHAN_CAPACITY};
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

static void q_rx_close(struct q *q)
{
#ifdef BENCH_HAVE_CHAN
	uipc_chan_free(q->chan);
	uipc_rx_free(q->rx);
	q->chan = NULL;
	q->rx = NULL;
#endif
}

static int q_tx_open(struct q *q)
{
	int r;
	while ((r = atomic_load(&q->ready)) == 0)
		sched_yield();
	if (r < 0)
		return -ECANCELED;
#ifdef BENCH_HAVE_CHAN
	if (!q->ck && !q->mbox) {
		uipc_chan_tx *tx;
		int err = uipc_chan_tx_new(q->chan, &tx);
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

/* Send n (<= batch) messages from msgs, all of them: spins while full. */
static int q_send(struct q *q, const char *msgs, unsigned n)
{
	if (q->mbox)
		return box_send(q, msgs);
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
	int r = q->batch == 1 ? uipc_chan_recv(q->chan, buf, q->msg, timeout)
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
	int err = q_tx_open(&t->q);
	if (err < 0)
		atomic_store(&t->failed, 1);
	sbarrier_wait(&t->bar);
	memset(msgs, 0xa5, sizeof(msgs));
	if (!atomic_load(&t->failed)) {
		uint64_t end = bench_ticks() + t->warm_ticks + t->run_ticks;
		while (bench_ticks() < end) {
			for (unsigned k = 0; k < t->q.batch; k++, seq++)
				memcpy(msgs + k * t->q.msg, &seq, sizeof(seq));
			if ((err = q_send(&t->q, msgs, t->q.batch)) < 0)
				break;
		}
		uint64_t stop = STOP_SEQ;
		memcpy(msgs, &stop, sizeof(stop));
		int e2 = q_send(&t->q, msgs, 1);
		err = err < 0 ? err : e2;
		if (err < 0)
			atomic_store(&t->failed, 1);
	}
	set_err(&t->err, err);
	sbarrier_wait(&t->bar);
	q_tx_close(&t->q);
	return NULL;
}

static int tput_run(const struct chan_mech *cm, size_t msg, unsigned batch, struct hist *h,
                    double *ret_ops)
{
	struct tput *t = calloc(1, sizeof(*t));
	int err;
	if (!t)
		return -ENOMEM;
	sbarrier_init(&t->bar, 2);
	t->h = h;
	t->warm_ticks = ns_to_ticks((uint64_t)opts.run_ms * 1000000u / 10 + 1000000u);
	t->run_ticks = ns_to_ticks((uint64_t)opts.run_ms * 1000000u);
	err = q_init(&t->q, cm, msg, batch);
	if (err < 0) {
		free(t);
		return err;
	}
	void *args[2] = {t, t};
	thread_fn fns[2] = {tput_consumer, tput_producer};
	int cpus[2] = {opts.cpu_a, opts.cpu_b};
	err = run_pinned(2, fns, args, cpus);
	if (!err)
		err = atomic_load(&t->err);
	if (!err && t->secs > 0)
		*ret_ops = (double)t->msgs / t->secs;
	q_fini(&t->q);
	free(t);
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
			if (t0 < warm_end)
				continue;
			if (!first)
				first = t0;
			last = t1;
			hist_record(p->h, ticks_to_ns(t1 - t0));
			p->samples++;
		}
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
	q_fini(&p->ab);
	q_fini(&p->ba);
	free(p);
	return err;
}

/* ------------------------------------------------------------------------ */

#define MAX_CM 10

static unsigned chan_mechs(struct chan_mech *cm)
{
	const struct mech *t;
	unsigned n = mech_table(&t), k = 0;
	memset(cm, 0, MAX_CM * sizeof(*cm));
#ifdef BENCH_HAVE_CHAN
	for (unsigned i = 0; i < n && k < MAX_CM - 2; i++) {
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
		k++;
	}
#endif
	static const struct mech spin = {.name = "shm-spin"};
	if (mech_selected(&spin)) {
		cm[k].name = "shm-spin";
		cm[k].backend = NULL;
		cm[k].box = true;
		k++;
	}
	return k;
}

/* One scenario point: every mechanism, opts.reps times, alternating. */
static void chan_point(const char *scenario, const struct chan_mech *cm, unsigned n, size_t msg,
                       unsigned batch, bool pingpong)
{
	struct repstat st[MAX_CM];
	bool failed[MAX_CM] = {false};
	struct hist *h = malloc(sizeof(*h));
	if (!h)
		return;
	for (unsigned i = 0; i < n; i++)
		repstat_init(&st[i]);
	for (unsigned rep = 0; rep < opts.reps; rep++) {
		for (unsigned k = 0; k < n; k++) {
			unsigned i = (k + rep) % n;
			double ops = 0;
			if (failed[i] || (cm[i].box && !pingpong))
				continue;
			hist_reset(h);
			uint64_t t0 = mono_ns();
			int err = pingpong ? cpp_run(&cm[i], msg, h, &ops)
			                   : tput_run(&cm[i], msg, batch, h, &ops);
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
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct result r;
		memset(&r, 0, sizeof(r));
		if (!failed[i] && st[i].n) {
			snprintf(r.scenario, sizeof(r.scenario), "%s", scenario);
			snprintf(r.mechanism, sizeof(r.mechanism), "%s", cm[i].name);
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
				chan_point("chan-throughput", cm, n, sizes[s], batches[b], false);
	/* 8 bytes: the channel's own cost next to pingpong-awake's bare word;
	 * 64: a cache line of payload, which with the slot's sequence number
	 * takes two. */
	if (scenario_selected("chan-pingpong"))
		for (unsigned s = 0; s < 2; s++)
			chan_point("chan-pingpong", cm, n, sizes_quick[s], 1, true);
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
