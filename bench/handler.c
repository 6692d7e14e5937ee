/* SPDX-License-Identifier: MIT */
/*
 * Handler mode: the receiver thread is interrupted and a handler runs on it
 * (uipc_rx_set_handler()), against a raw real-time signal handler, the peer
 * a C program would write without uipc (tgkill() and sigaction()).
 *
 *  handler-pingpong  A notifies B; B's handler notifies A; A's handler
 *                    ends the round trip. Both threads run in user space
 *                    (A spins on its handler's count; B sleeps): the cost
 *                    of interrupting a thread both ways.
 *  handler-oneway    A notifies B, which sleeps; B's handler takes the
 *                    time since A's stamp. A waits for the handler's count
 *                    (spinning) before the next one.
 *
 * Mechanisms: uipc-<backend>-handler for every backend with handler mode
 * that is usable here (signal; uintr on hardware), and signal-handler (the
 * raw peer, SIGRTMIN+8). CPU columns: per operation, each thread's own,
 * the spinning side's spin included (rx: B, tx: A).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <uipc.h>

#include "bench.h"

#define RAW_SIG (SIGRTMIN + 8)

struct hp {
	struct sbarrier bar;
	bool raw, oneway;
	uipc_ctx *ctx;
	uipc_rx *rx_a, *rx_b;
	uipc_tx *to_a, *to_b; /* made by the receiver's own thread */
	_Atomic int tid_a, tid_b;
	_Atomic int stop, err;
	_Atomic uint64_t got_a, got_b;
	_Atomic uint64_t stamp; /* oneway: A's ticks at its notify */
	struct hist *h;
	uint64_t warm_ticks, run_ticks;
	uint64_t samples, trips, cpu_a, cpu_b;
	double secs;
};

/* The handlers are process-wide (raw) or take no per-call argument we
 * control beyond userdata: one run at a time. */
static struct hp *cur;

static void note_err(struct hp *p, int err)
{
	int zero = 0;

	if (err < 0)
		atomic_compare_exchange_strong(&p->err, &zero, err);
}

static void b_got(struct hp *p)
{
	if (p->oneway) {
		uint64_t t = bench_ticks(), s = atomic_load(&p->stamp);

		if (s && t > s)
			hist_record(p->h, ticks_to_ns(t - s));
	}
	atomic_fetch_add(&p->got_b, 1);
}

static void on_a(uipc_rx *rx, uint64_t mask, void *data)
{
	struct hp *p = data;

	(void)rx;
	(void)mask;
	atomic_fetch_add(&p->got_a, 1);
}

static void on_b(uipc_rx *rx, uint64_t mask, void *data)
{
	struct hp *p = data;

	(void)rx;
	(void)mask;
	b_got(p);
	if (!p->oneway && !atomic_load(&p->stop))
		note_err(p, uipc_tx_notify(p->to_a));
}

static void on_raw(int signo, siginfo_t *si, void *uc)
{
	struct hp *p = cur;
	int saved = errno;

	(void)signo;
	(void)si;
	(void)uc;
	if ((int)syscall(SYS_gettid) == atomic_load(&p->tid_b)) {
		b_got(p);
		if (!p->oneway && !atomic_load(&p->stop))
			syscall(SYS_tgkill, getpid(), atomic_load(&p->tid_a), RAW_SIG);
	} else {
		atomic_fetch_add(&p->got_a, 1);
	}
	errno = saved;
}

/* This thread's receiver, in handler mode, and a sender to it. */
static int hp_open(struct hp *p, uipc_rx **rx, uipc_tx **to, uipc_handler_fn fn)
{
	int r;

	if (p->raw)
		return 0;
	if ((r = uipc_rx_new(p->ctx, 0, rx)) < 0)
		return r;
	if ((r = uipc_tx_new(*rx, 1, to)) < 0 || (r = uipc_rx_set_handler(*rx, fn, p)) < 0)
		return r;
	return 0;
}

static void hp_close(struct hp *p, uipc_rx *rx, uipc_tx *to)
{
	if (p->raw)
		return;
	if (rx)
		uipc_rx_set_handler(rx, NULL, NULL);
	uipc_tx_free(to);
	uipc_rx_free(rx);
}

static int hp_notify_b(struct hp *p)
{
	if (p->raw)
		return syscall(SYS_tgkill, getpid(), atomic_load(&p->tid_b), RAW_SIG) < 0 ? -errno
		                                                                          : 0;
	return uipc_tx_notify(p->to_b);
}

static void *hp_b(void *arg)
{
	struct hp *p = arg;
	int r;

	atomic_store(&p->tid_b, (int)syscall(SYS_gettid));
	r = hp_open(p, &p->rx_b, &p->to_b, on_b);
	note_err(p, r);
	sbarrier_wait(&p->bar);
	if (r == 0) {
		uint64_t cpu0 = thread_cpu_ns();

		/* Asleep between interrupts: a signal ends the sleep early. */
		while (!atomic_load(&p->stop)) {
			struct timespec ts = {0, 1000000};

			nanosleep(&ts, NULL);
		}
		p->cpu_b = thread_cpu_ns() - cpu0;
	}
	sbarrier_wait(&p->bar);
	hp_close(p, p->rx_b, p->to_b);
	return NULL;
}

static void *hp_a(void *arg)
{
	struct hp *p = arg;
	int r;

	atomic_store(&p->tid_a, (int)syscall(SYS_gettid));
	r = hp_open(p, &p->rx_a, &p->to_a, on_a);
	note_err(p, r);
	sbarrier_wait(&p->bar);
	if (r == 0 && !atomic_load(&p->err)) {
		uint64_t start = bench_ticks(), warm_end = start + p->warm_ticks;
		uint64_t end = warm_end + p->run_ticks, busy = 0, cpu0 = thread_cpu_ns();
		_Atomic uint64_t *got = p->oneway ? &p->got_b : &p->got_a;

		for (;;) {
			uint64_t t0 = bench_ticks(), n = atomic_load(got), t1;

			if (t0 >= end || atomic_load(&p->err))
				break;
			if (p->oneway)
				atomic_store(&p->stamp, t0 >= warm_end ? t0 : 0);
			if ((r = hp_notify_b(p)) < 0) {
				note_err(p, r);
				break;
			}
			/* Bounded: a lost interrupt fails the run, never hangs it. */
			while (atomic_load(got) == n) {
				cpu_relax();
				if (bench_ticks() - t0 > ns_to_ticks(1000000000u)) {
					note_err(p, -ETIMEDOUT);
					break;
				}
			}
			t1 = bench_ticks();
			p->trips++;
			if (t0 < warm_end)
				continue;
			busy += t1 - t0;
			if (!p->oneway)
				hist_record(p->h, ticks_to_ns(t1 - t0));
			p->samples++;
		}
		p->cpu_a = thread_cpu_ns() - cpu0;
		p->secs = (double)ticks_to_ns(busy) / 1e9;
	}
	atomic_store(&p->stop, 1);
	sbarrier_wait(&p->bar);
	hp_close(p, p->rx_a, p->to_a);
	return NULL;
}

struct hp_cfg {
	bool oneway;
};

static int hp_run(const struct mech *m, const void *cfg, struct hist *h, double *ret_ops,
                  double *ret_wakeups)
{
	const struct hp_cfg *c = cfg;
	struct sigaction sa, old;
	struct hp *p = calloc(1, sizeof(*p));
	int err;

	(void)ret_wakeups;
	if (!p)
		return -ENOMEM;
	sbarrier_init(&p->bar, 2);
	p->raw = !(m->flags & MECH_UIPC);
	p->oneway = c->oneway;
	p->h = h;
	p->warm_ticks = ns_to_ticks((uint64_t)opts.run_ms * 1000000u / 10 + 1000000u);
	p->run_ticks = ns_to_ticks((uint64_t)opts.run_ms * 1000000u);
	cur = p;
	if (p->raw) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_raw;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(RAW_SIG, &sa, &old) < 0) {
			free(p);
			return -errno;
		}
	} else if ((err = uipc_ctx_new(m->uipc_name, &p->ctx)) < 0) {
		free(p);
		return err;
	}
	{
		void *args[2] = {p, p};
		int cpus[2] = {opts.cpu_b, opts.cpu_a};
		thread_fn fns[2] = {hp_a, hp_b};

		err = run_pinned(2, fns, args, cpus);
	}
	if (!err)
		err = atomic_load(&p->err);
	if (!err && p->secs > 0 && p->samples) {
		*ret_ops = (double)p->samples / p->secs;
		run_extra.cpu_tx_ns = (double)p->cpu_a / (double)p->trips;
		run_extra.cpu_rx_ns = (double)p->cpu_b / (double)p->trips;
	}
	if (p->raw)
		sigaction(RAW_SIG, &old, NULL);
	else
		uipc_ctx_free(p->ctx);
	cur = NULL;
	free(p);
	return err;
}

void run_handler(void)
{
	static struct mech mechs[3];
	static const char *const backends[] = {"signal", "uintr"};
	const struct mech *sel[3];
	unsigned k = 0;

	for (unsigned i = 0; i < 2; i++) {
		uipc_ctx *ctx;
		struct mech *m = &mechs[k];

		if (uipc_ctx_new(backends[i], &ctx) < 0)
			continue;
		uipc_ctx_free(ctx);
		snprintf(m->uipc_name, sizeof(m->uipc_name), "%s", backends[i]);
		m->name = i == 0 ? "uipc-signal-handler" : "uipc-uintr-handler";
		m->flags = MECH_UIPC;
		m->uipc_backend = -1;
		if (mech_selected(m))
			sel[k++] = m;
	}
	mechs[2].name = "signal-handler";
	mechs[2].uipc_backend = -1;
	if (mech_selected(&mechs[2]))
		sel[k++] = &mechs[2];
	if (!k)
		return;
	for (int oneway = 0; oneway < 2; oneway++) {
		struct hp_cfg c = {oneway != 0};
		const char *name = oneway ? "handler-oneway" : "handler-pingpong";
		struct round_cfg rc = {
		    name, oneway ? "one way" : "round trip", 1, opts.cpu_a, opts.cpu_b, -1};

		if (scenario_selected(name))
			rounds(&rc, sel, k, hp_run, &c);
	}
}
