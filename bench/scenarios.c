/* SPDX-License-Identifier: MIT */
/*
 * Scenarios over the mechanism interface: ping-pong (threads or processes),
 * one-way and fan-in latency, the sender's cost per notify, the CPU-pair
 * matrix. Every scenario runs its mechanisms alternately, repetition by
 * repetition, in this one process.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uipc.h>

#include "bench.h"

#define MAX_SAMPLES 4000000u

static void report_error(const char *scenario, const struct mech *m, const char *what, int err)
{
	fprintf(stderr, "uipc-bench: %s/%s: %s: %s\n", scenario, m->name, what, strerror(-err));
}

/* Receiver setup; on failure tell the senders so they do not wait forever. */
static int rx_open_or_cancel(struct link *l)
{
	int err = l->m->rx_open(l);
	if (err < 0) {
		atomic_store(&l->rx_ready, -1);
		if (l->cap_sock[0] >= 0)
			shutdown(l->cap_sock[0], SHUT_WR);
	}
	return err;
}

static void rx_close(struct link *l)
{
	if (l->m->rx_close)
		l->m->rx_close(l);
}

static void tx_close(struct link *l, unsigned i)
{
	if (l->m->tx_close)
		l->m->tx_close(l, i);
}

static int first_err(int a, int b)
{
	return a < 0 ? a : b;
}

/*
 * Wait on a link. Awake (not blocked) links of peers whose poll() is cheap
 * spin on it first with uipc's own bound (UIPC_SPIN_DEFAULT_MAX_NS, the most
 * uipc's adaptive spin does in one wait), then block: every peer that can
 * spin gets at least the budget uipc has.
 */
static int link_wait(struct link *l)
{
	if (!l->blocked && (l->m->flags & MECH_CHEAP_POLL)) {
		uint64_t end = bench_ticks() + ns_to_ticks(UIPC_SPIN_DEFAULT_MAX_NS);

		do {
			int r = l->m->poll(l);

			if (r != 0)
				return r < 0 ? r : 0;
			cpu_relax();
		} while (bench_ticks() < end);
	}
	return l->m->wait(l);
}

/* ------------------------------------------------------------------------ */
/* Ping-pong                                                                */

struct pp {
	struct sbarrier bar;
	_Atomic int stop;
	_Atomic int err_ping, err_pong;
	_Atomic int setup_failed;
	struct link *ab, *ba; /* ping -> pong, pong -> ping */
	uint64_t warm_ticks, run_ticks;
	uint64_t gap_ticks; /* pause between round trips (blocked) */
	uint64_t samples;
	uint64_t trips;              /* every round trip, warm-up included */
	unsigned per_sample;         /* round trips timed together */
	uint64_t cpu_ping, cpu_pong; /* thread CPU ns over all trips; ping's gaps excluded */
	double secs;
	struct hist *h; /* the ping side's (parent's) memory */
};

/* The clock's granularity in ns: the smallest step two reads show. */
static double clock_step_ns(void)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 200; i++) {
		uint64_t a = bench_ticks(), b;

		while ((b = bench_ticks()) == a)
			;
		if (b - a < best)
			best = b - a;
	}
	return (double)ticks_to_ns(best * 1000u) / 1000.0;
}

/* Round trips per sample: enough that one sample spans >= 50 clock steps
 * (a p50 then moves in steps of 2% at most, not of a whole tick). */
static unsigned per_sample_for(uint64_t min_rtt_ns)
{
	double span = 50.0 * clock_step_ns();
	unsigned k;

	if (min_rtt_ns == 0)
		min_rtt_ns = 1;
	k = (unsigned)(span / (double)min_rtt_ns + 0.999);
	return k < 1 ? 1 : k > 64 ? 64 : k;
}

static int pp_trip(struct pp *p)
{
	int err = p->ab->m->notify(p->ab, 0);

	if (err >= 0)
		err = link_wait(p->ba);
	p->trips++;
	return err;
}

static void *pp_ping(void *arg)
{
	struct pp *p = arg;
	struct link *ab = p->ab, *ba = p->ba;
	int err = rx_open_or_cancel(ba);
	int terr = ab->m->tx_open(ab, 0);
	if (err < 0 || terr < 0)
		atomic_store(&p->setup_failed, 1);
	sbarrier_wait(&p->bar);
	if (!atomic_load(&p->setup_failed)) {
		uint64_t start = bench_ticks(), warm_end = start + p->warm_ticks;
		uint64_t end = warm_end + p->run_ticks, busy = 0, gaps = 0, min_rtt = UINT64_MAX;
		uint64_t cpu0 = thread_cpu_ns();
		unsigned k = 1;
		bool measuring = false;
		for (;;) {
			uint64_t t0 = bench_ticks();
			if (t0 >= end || p->samples >= MAX_SAMPLES)
				break;
			if (!measuring && t0 >= warm_end) {
				/* Awake: time k round trips per sample when one
				 * is a few clock steps only. */
				measuring = true;
				k = p->gap_ticks ? 1 : per_sample_for(ticks_to_ns(min_rtt));
				p->per_sample = k;
			}
			for (unsigned j = 0; j < (measuring ? k : 1) && err >= 0; j++)
				err = pp_trip(p);
			if (err < 0)
				break;
			if (atomic_load_explicit(&p->stop, memory_order_relaxed))
				break;
			uint64_t t1 = bench_ticks();
			/* Blocked: let the pong side fall asleep before the next
			 * ping, or the two sides can keep catching each other
			 * awake (each wake syscall returns after the reply came)
			 * and never block at all. */
			while (p->gap_ticks && bench_ticks() - t1 < p->gap_ticks)
				cpu_relax();
			if (p->gap_ticks)
				gaps += bench_ticks() - t1;
			if (!measuring) {
				if (t1 - t0 < min_rtt)
					min_rtt = t1 - t0;
				continue;
			}
			busy += t1 - t0;
			hist_record(p->h, ticks_to_ns(t1 - t0) / k);
			p->samples++;
		}
		p->cpu_ping = thread_cpu_ns() - cpu0;
		p->cpu_ping = p->cpu_ping > ticks_to_ns(gaps) ? p->cpu_ping - ticks_to_ns(gaps) : 0;
		/* Round trips per second of waiting, gaps excluded. */
		p->secs = (double)ticks_to_ns(busy) / 1e9;
		p->samples *= k;
		atomic_store(&p->stop, 1);
		int e2 = ab->m->notify(ab, 0);
		err = first_err(err, e2);
	}
	atomic_store(&p->err_ping, first_err(err, terr));
	sbarrier_wait(&p->bar);
	tx_close(ab, 0);
	rx_close(ba);
	return NULL;
}

static void *pp_pong(void *arg)
{
	struct pp *p = arg;
	struct link *ab = p->ab, *ba = p->ba;
	int err = rx_open_or_cancel(ab);
	int terr = ba->m->tx_open(ba, 0);
	if (err < 0 || terr < 0)
		atomic_store(&p->setup_failed, 1);
	sbarrier_wait(&p->bar);
	if (!atomic_load(&p->setup_failed)) {
		uint64_t cpu0 = thread_cpu_ns();
		for (;;) {
			if ((err = link_wait(ab)) < 0)
				break;
			if (atomic_load_explicit(&p->stop, memory_order_relaxed))
				break;
			if ((err = ba->m->notify(ba, 0)) < 0)
				break;
		}
		p->cpu_pong = thread_cpu_ns() - cpu0;
		if (err < 0) {
			/* Let the ping side out of its wait. */
			atomic_store(&p->stop, 1);
			ba->m->notify(ba, 0);
		}
	}
	atomic_store(&p->err_pong, first_err(err, terr));
	sbarrier_wait(&p->bar);
	tx_close(ba, 0);
	rx_close(ab);
	return NULL;
}

/* Pause between blocked round trips / one-way messages: entering the sleep
 * takes a few us, so after 20 us the receiver is asleep. */
#define BLOCKED_GAP_NS 20000u

/* One ping-pong run: ping on cpu_ping, pong on cpu_pong; RTTs into h. */
static int pingpong_once(const struct mech *m, bool blocked, bool process, int cpu_ping,
                         int cpu_pong, unsigned run_ms, struct hist *h, double *ret_ops)
{
	struct pp *p = shared_alloc(sizeof(*p));
	int err = 0;
	if (!p)
		return -ENOMEM;
	sbarrier_init(&p->bar, 2);
	p->h = h;
	p->warm_ticks = ns_to_ticks((uint64_t)run_ms * 1000000u / 10 + 1000000u);
	p->run_ticks = ns_to_ticks((uint64_t)run_ms * 1000000u);
	p->gap_ticks = blocked ? ns_to_ticks(BLOCKED_GAP_NS) : 0;
	p->ab = link_new(m, 1, blocked, false, process);
	p->ba = link_new(m, 1, blocked, false, process);
	if (!p->ab || !p->ba) {
		err = -EIO;
		goto out;
	}
	if (process) {
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			err = -errno;
			goto out;
		}
		if (pid == 0) {
			pin_self(cpu_pong);
			pp_pong(p);
			_exit(0);
		}
		void *arg = p;
		thread_fn fn = pp_ping;
		err = run_pinned(1, &fn, &arg, &cpu_ping);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			err = -ECHILD;
	} else {
		void *args[2] = {p, p};
		int cpus[2] = {cpu_ping, cpu_pong};
		thread_fn fns[2] = {pp_ping, pp_pong};
		err = run_pinned(2, fns, args, cpus);
	}
	err = first_err(err, first_err(atomic_load(&p->err_ping), atomic_load(&p->err_pong)));
	if (!err && p->secs > 0)
		*ret_ops = (double)p->samples / p->secs;
	if (!err && p->trips) {
		run_extra.cpu_tx_ns = (double)p->cpu_ping / (double)p->trips;
		run_extra.cpu_rx_ns = (double)p->cpu_pong / (double)p->trips;
		run_extra.per_sample = p->per_sample;
	}
out:
	link_free(p->ab);
	link_free(p->ba);
	shared_free(p, sizeof(*p));
	return err;
}

/* ------------------------------------------------------------------------ */
/* Rounds: every repetition runs every mechanism once, in rotating order.   */

void rounds(const struct round_cfg *rc, const struct mech *const *mechs, unsigned n, run_fn run,
            const void *cfg)
{
	struct repstat *st = calloc(n, sizeof(*st));
	bool *failed = calloc(n, sizeof(*failed));
	struct {
		double rx, tx;
		unsigned n, per_sample;
	} *cpu = calloc(n, sizeof(*cpu));
	struct hist *h = malloc(sizeof(*h));
	if (!st || !failed || !h || !cpu) {
		fprintf(stderr, "uipc-bench: out of memory\n");
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		repstat_init(&st[i]);
	for (unsigned rep = 0; rep < opts.reps; rep++) {
		for (unsigned k = 0; k < n; k++) {
			unsigned i = (k + rep) % n;
			double ops = 0, wk = 0;
			if (failed[i])
				continue;
			hist_reset(h);
			run_extra = (struct run_extra){-1, -1, 1};
			uint64_t t0 = mono_ns();
			int err = run(mechs[i], cfg, h, &ops, &wk);
			if (opts.verbose)
				fprintf(stderr, "uipc-bench: %s %s rep %u: %.1f ms, %llu samples\n",
				        rc->scenario, mechs[i]->name, rep,
				        (double)(mono_ns() - t0) / 1e6,
				        (unsigned long long)h->count);
			if (err < 0) {
				char what[96];
				report_error(rc->scenario, mechs[i], "run failed", err);
				snprintf(what, sizeof(what), "%s in %s", mechs[i]->name,
				         rc->scenario);
				mech_missing_add(what, strerror(-err));
				failed[i] = true;
				continue;
			}
			repstat_add(&st[i], h, ops, wk);
			if (run_extra.cpu_rx_ns >= 0) {
				cpu[i].rx += run_extra.cpu_rx_ns;
				cpu[i].tx += run_extra.cpu_tx_ns;
				cpu[i].n++;
			}
			if (run_extra.per_sample > cpu[i].per_sample)
				cpu[i].per_sample = run_extra.per_sample;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct result r;
		memset(&r, 0, sizeof(r));
		if (failed[i] || !st[i].n)
			continue;
		snprintf(r.scenario, sizeof(r.scenario), "%s", rc->scenario);
		snprintf(r.mechanism, sizeof(r.mechanism), "%s", mechs[i]->name);
		snprintf(r.backend, sizeof(r.backend), "%s", mechs[i]->uipc_name);
		repstat_result(&st[i], &r);
		if (rc->div > 1) {
			double *v[] = {&r.p50, &r.p50_min, &r.p50_max, &r.p90,
			               &r.p99, &r.p999,    &r.max,     &r.mean};
			for (unsigned k = 0; k < sizeof(v) / sizeof(v[0]); k++)
				*v[k] /= rc->div;
		}
		r.unit = rc->unit;
		r.cpu_rx_ns = cpu[i].n ? cpu[i].rx / cpu[i].n : -1;
		r.cpu_tx_ns = cpu[i].n ? cpu[i].tx / cpu[i].n : -1;
		r.per_sample = cpu[i].per_sample ? cpu[i].per_sample : 1;
		r.cpu_rx = rc->cpu_rx;
		r.cpu_tx = rc->cpu_tx;
		r.distance = rc->distance;
		results_add(&r);
	}
out:
	for (unsigned i = 0; st && i < n; i++)
		repstat_fini(&st[i]);
	free(st);
	free(failed);
	free(h);
	free(cpu);
}

/* ------------------------------------------------------------------------ */
/* Ping-pong scenarios                                                      */

struct pp_cfg {
	bool blocked, process;
	int cpu_ping, cpu_pong;
	unsigned run_ms;
};

static int pp_run(const struct mech *m, const void *cfg, struct hist *h, double *ret_ops,
                  double *ret_wakeups)
{
	const struct pp_cfg *c = cfg;
	return pingpong_once(m, c->blocked, c->process, c->cpu_ping, c->cpu_pong, c->run_ms, h,
	                     ret_ops);
}

void run_pingpong(const struct mech *const *mechs, unsigned n, bool blocked, bool process)
{
	struct pp_cfg c = {blocked, process, opts.cpu_b, opts.cpu_a, opts.run_ms};
	char name[32];
	const struct mech *sel[64];
	unsigned k = 0;
	snprintf(name, sizeof(name), "pingpong-%s%s", blocked ? "blocked" : "awake",
	         process ? "-process" : "");
	if (!scenario_selected(name))
		return;
	for (unsigned i = 0; i < n && k < 64; i++) {
		if (!process || (mechs[i]->flags & MECH_PROCESS))
			sel[k++] = mechs[i];
		else if (!blocked)
			mech_missing_add(mechs[i]->name,
			                 "measured between threads only (pingpong-*-process)");
	}
	struct round_cfg rc = {name, "round trip", 1, opts.cpu_a, opts.cpu_b, -1};
	rounds(&rc, sel, k, pp_run, &c);
}

/* ------------------------------------------------------------------------ */
/* One-way and fan-in: senders stamp a slot and notify; the receiver takes
 * every stamped slot when it wakes. Each sender waits for its slot to be
 * taken before it stamps it again (a closed loop per sender). */

struct fan {
	struct sbarrier bar;
	_Atomic int done;
	_Atomic int setup_failed;
	_Atomic int err;
	struct link *l;
	unsigned nsenders;
	uint64_t warm_ticks, run_ticks;
	uint64_t gap_ticks; /* sender pause after its slot was taken */
	struct hist *h;
	_Alignas(BENCH_CACHELINE) uint64_t msgs, wakeups; /* receiver's */
	uint64_t taken;                                   /* every message, warm-up too */
	uint64_t cpu_rx;                                  /* receiver thread CPU ns */
	_Atomic uint64_t cpu_tx;                          /* senders', their pauses excluded */
	double secs;
	struct {
		_Alignas(BENCH_CACHELINE) _Atomic uint64_t ts;
	} slot[BENCH_MAX_SENDERS];
};

struct fan_arg {
	struct fan *f;
	unsigned idx;
};

static void note_err(_Atomic int *slot, int err)
{
	int zero = 0;
	if (err < 0)
		atomic_compare_exchange_strong(slot, &zero, err);
}

static void *fan_sender(void *arg)
{
	struct fan_arg *a = arg;
	struct fan *f = a->f;
	struct link *l = f->l;
	unsigned i = a->idx;
	int err = l->m->tx_open(l, i);
	if (err < 0)
		atomic_store(&f->setup_failed, 1);
	sbarrier_wait(&f->bar);
	if (!atomic_load(&f->setup_failed)) {
		uint64_t end = bench_ticks() + f->warm_ticks + f->run_ticks, idle = 0;
		uint64_t cpu0 = thread_cpu_ns();
		while (bench_ticks() < end && err >= 0) {
			uint64_t w0 = bench_ticks();
			/* Yield now and then: fan-in may put several senders on one CPU. */
			for (unsigned spins = 0;
			     atomic_load_explicit(&f->slot[i].ts, memory_order_acquire); spins++) {
				if (spins < 2000)
					cpu_relax();
				else
					sched_yield();
			}
			uint64_t ts = bench_ticks();
			/* Give the receiver time to go to sleep (oneway-blocked). */
			if (f->gap_ticks) {
				uint64_t until = ts + f->gap_ticks;
				while ((ts = bench_ticks()) < until)
					cpu_relax();
			}
			idle += ts - w0;
			atomic_store_explicit(&f->slot[i].ts, ts ? ts : 1, memory_order_release);
			err = l->m->notify(l, i);
		}
		uint64_t cpu = thread_cpu_ns() - cpu0;
		/* Its waits and pauses are wall time spent spinning (or
		 * yielded): not the cost of notifying. */
		atomic_fetch_add(&f->cpu_tx, cpu > ticks_to_ns(idle) ? cpu - ticks_to_ns(idle) : 0);
		atomic_fetch_add(&f->done, 1);
		int e2 = l->m->notify(l, i);
		err = first_err(err, e2);
	}
	note_err(&f->err, err);
	sbarrier_wait(&f->bar);
	tx_close(l, i);
	return NULL;
}

/* Take every stamped slot; -1 before the warm-up ended, else how many. */
static int fan_scan(struct fan *f, uint64_t warm_end, uint64_t *last)
{
	uint64_t now = bench_ticks();
	int n = 0;
	for (unsigned i = 0; i < f->nsenders; i++) {
		uint64_t ts = atomic_load_explicit(&f->slot[i].ts, memory_order_acquire);
		if (!ts)
			continue;
		atomic_store_explicit(&f->slot[i].ts, 0, memory_order_release);
		f->taken++;
		if (ts < warm_end)
			continue;
		hist_record(f->h, now > ts ? ticks_to_ns(now - ts) : 0);
		f->msgs++;
		n++;
		*last = now;
	}
	return now < warm_end ? -1 : n;
}

static void *fan_receiver(void *arg)
{
	struct fan_arg *a = arg;
	struct fan *f = a->f;
	struct link *l = f->l;
	int err = rx_open_or_cancel(l);
	if (err < 0)
		atomic_store(&f->setup_failed, 1);
	sbarrier_wait(&f->bar);
	if (!atomic_load(&f->setup_failed)) {
		uint64_t start = bench_ticks(), warm_end = start + f->warm_ticks, last = warm_end;
		uint64_t cpu0 = thread_cpu_ns();
		for (;;) {
			if ((err = link_wait(l)) < 0)
				break;
			f->wakeups += fan_scan(f, warm_end, &last) >= 0;
			/* A sender counts itself done after its last stamp and
			 * notifies once more: once done == n, one more scan
			 * takes everything there is. */
			if (atomic_load(&f->done) == (int)f->nsenders) {
				fan_scan(f, warm_end, &last);
				break;
			}
		}
		f->cpu_rx = thread_cpu_ns() - cpu0;
		f->secs = (double)ticks_to_ns(last - warm_end) / 1e9;
	}
	note_err(&f->err, err);
	sbarrier_wait(&f->bar);
	rx_close(l);
	return NULL;
}

struct fan_cfg {
	unsigned nsenders;
	bool blocked;
	unsigned gap_ns;
	int cpu_rx;
	const int *cpu_tx;
	unsigned run_ms;
};

static int fan_run(const struct mech *m, const void *cfg, struct hist *h, double *ret_ops,
                   double *ret_wakeups)
{
	const struct fan_cfg *c = cfg;
	struct fan *f = shared_alloc(sizeof(*f));
	struct fan_arg args[BENCH_MAX_SENDERS + 1];
	void *argp[BENCH_MAX_SENDERS + 1];
	thread_fn fns[BENCH_MAX_SENDERS + 1];
	int cpus[BENCH_MAX_SENDERS + 1];
	unsigned n = c->nsenders;
	int err;
	if (!f)
		return -ENOMEM;
	sbarrier_init(&f->bar, n + 1);
	f->nsenders = n;
	f->h = h;
	f->warm_ticks = ns_to_ticks((uint64_t)c->run_ms * 1000000u / 10 + 1000000u);
	f->run_ticks = ns_to_ticks((uint64_t)c->run_ms * 1000000u);
	f->gap_ticks = ns_to_ticks(c->gap_ns);
	f->l = link_new(m, n, c->blocked, false, false);
	if (!f->l) {
		shared_free(f, sizeof(*f));
		return -EIO;
	}
	for (unsigned i = 0; i <= n; i++) {
		args[i].f = f;
		args[i].idx = i;
		argp[i] = &args[i];
		fns[i] = i < n ? fan_sender : fan_receiver;
		cpus[i] = i < n ? c->cpu_tx[i] : c->cpu_rx;
	}
	/* The receiver first: senders connect once it exists. */
	err = run_pinned(n + 1, fns, argp, cpus);
	err = first_err(err, atomic_load(&f->err));
	if (!err && f->secs > 0) {
		*ret_ops = (double)f->msgs / f->secs;
		*ret_wakeups = (double)f->wakeups / f->secs;
	}
	if (!err && f->taken) {
		run_extra.cpu_rx_ns = (double)f->cpu_rx / (double)f->taken;
		run_extra.cpu_tx_ns = (double)atomic_load(&f->cpu_tx) / (double)f->taken;
	}
	link_free(f->l);
	shared_free(f, sizeof(*f));
	return err;
}

/* Sender CPUs: ranked for the receiver by the placement API (closest first
 * under the default policy, never the receiver's core when another exists),
 * round robin over the ranking; without a topology, every allowed CPU but
 * the receiver's. The chosen sender CPU goes first, so one sender runs
 * where ping-pong's did. */
static void sender_cpus(int *out, unsigned n, int cpu_rx)
{
	int other[BENCH_MAX_CPUS];
	uipc_topo *topo = bench_topo();
	unsigned no = 0;
	int r = -1;
	if (topo) {
		r = uipc_topo_rank(topo, cpu_rx, (enum uipc_topo_policy)opts.place, 0, other,
		                   BENCH_MAX_CPUS);
		if (r <= 0)
			r = uipc_topo_rank(topo, cpu_rx, (enum uipc_topo_policy)opts.place,
			                   UIPC_TOPO_RANK_OWN_CORE, other, BENCH_MAX_CPUS);
	}
	if (r > 0) {
		no = (unsigned)r < BENCH_MAX_CPUS ? (unsigned)r : BENCH_MAX_CPUS;
	} else {
		int all[BENCH_MAX_CPUS];
		unsigned na = cpus_allowed(all, BENCH_MAX_CPUS);
		for (unsigned i = 0; i < na; i++)
			if (all[i] != cpu_rx)
				other[no++] = all[i];
		if (!no)
			other[no++] = cpu_rx;
	}
	for (unsigned i = 0; i < no; i++)
		if (other[i] == opts.cpu_b) {
			other[i] = other[0];
			other[0] = opts.cpu_b;
		}
	for (unsigned i = 0; i < n; i++)
		out[i] = other[i % no];
}

void run_oneway(const struct mech *const *mechs, unsigned n)
{
	static const char *names[2] = {"oneway-awake", "oneway-blocked"};
	int tx = opts.cpu_b;
	for (int b = 0; b < 2; b++) {
		if (!scenario_selected(names[b]))
			continue;
		/* Blocked: 20 us between messages, so the receiver is asleep when
		 * the next one comes (entering the sleep takes a few us). */
		struct fan_cfg c = {1,          b == 1, b == 1 ? BLOCKED_GAP_NS : 0,
		                    opts.cpu_a, &tx,    opts.run_ms};
		struct round_cfg rc = {names[b], "one way", 1, opts.cpu_a, opts.cpu_b, -1};
		rounds(&rc, mechs, n, fan_run, &c);
	}
}

void run_fanin(const struct mech *const *mechs, unsigned n, unsigned nsenders)
{
	char name[32];
	int tx[BENCH_MAX_SENDERS];
	snprintf(name, sizeof(name), "fanin-%u", nsenders);
	if (!scenario_selected(name) && !scenario_selected("fanin"))
		return;
	if (nsenders > BENCH_MAX_SENDERS)
		nsenders = BENCH_MAX_SENDERS;
	sender_cpus(tx, nsenders, opts.cpu_a);
	struct fan_cfg c = {nsenders, false, 0, opts.cpu_a, tx, opts.run_ms};
	struct round_cfg rc = {name, "one way", 1, opts.cpu_a, tx[0], -1};
	rounds(&rc, mechs, n, fan_run, &c);
}

/* ------------------------------------------------------------------------ */
/* Notify cost: the sender notifies back to back and times batches; the
 * receiver is awake and busy, draining every ~5 us (or, eager, all the time). */

#define COST_BATCH    32
#define COST_DRAIN_NS 5000

struct cost {
	struct sbarrier bar;
	_Atomic int stop;
	_Atomic int setup_failed;
	_Atomic int err;
	struct link *l;
	bool eager;
	uint64_t warm_ticks, run_ticks;
	struct hist *h;
	uint64_t ops;
	double secs;
};

static void *cost_receiver(void *arg)
{
	struct cost *c = arg;
	struct link *l = c->l;
	int err = rx_open_or_cancel(l);
	if (err < 0)
		atomic_store(&c->setup_failed, 1);
	sbarrier_wait(&c->bar);
	uint64_t period = ns_to_ticks(COST_DRAIN_NS);
	while (!atomic_load(&c->setup_failed) &&
	       !atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		if (!c->eager) {
			/* Busy with something else for 5 us. */
			uint64_t until = bench_ticks() + period;
			while (bench_ticks() < until)
				cpu_relax();
		}
		if ((err = l->m->poll(l)) < 0)
			break;
	}
	note_err(&c->err, err);
	sbarrier_wait(&c->bar);
	rx_close(l);
	return NULL;
}

static void *cost_sender(void *arg)
{
	struct cost *c = arg;
	struct link *l = c->l;
	int err = l->m->tx_open(l, 0);
	if (err < 0)
		atomic_store(&c->setup_failed, 1);
	sbarrier_wait(&c->bar);
	if (!atomic_load(&c->setup_failed)) {
		uint64_t start = bench_ticks(), warm_end = start + c->warm_ticks;
		uint64_t end = warm_end + c->run_ticks, first = 0, last = 0;
		for (;;) {
			uint64_t t0 = bench_ticks();
			if (t0 >= end || c->ops >= (uint64_t)MAX_SAMPLES * COST_BATCH)
				break;
			for (unsigned k = 0; k < COST_BATCH && err >= 0; k++)
				err = l->m->notify(l, 0);
			uint64_t t1 = bench_ticks();
			if (err < 0)
				break;
			if (t0 < warm_end)
				continue;
			if (!first)
				first = t0;
			last = t1;
			/* Picoseconds per notify: cheap notifies are a few ns. */
			hist_record(c->h, ticks_to_ns((t1 - t0) * 1000u) / COST_BATCH);
			c->ops += COST_BATCH;
		}
		c->secs = (double)ticks_to_ns(last - first) / 1e9;
	}
	atomic_store(&c->stop, 1);
	note_err(&c->err, err);
	sbarrier_wait(&c->bar);
	tx_close(l, 0);
	return NULL;
}

struct cost_cfg {
	bool eager;
	unsigned run_ms;
};

static int cost_run(const struct mech *m, const void *cfg, struct hist *h, double *ret_ops,
                    double *ret_wakeups)
{
	const struct cost_cfg *cc = cfg;
	struct cost *c = shared_alloc(sizeof(*c));
	int err;
	if (!c)
		return -ENOMEM;
	sbarrier_init(&c->bar, 2);
	c->eager = cc->eager;
	c->h = h;
	c->warm_ticks = ns_to_ticks((uint64_t)cc->run_ms * 1000000u / 10 + 1000000u);
	c->run_ticks = ns_to_ticks((uint64_t)cc->run_ms * 1000000u);
	c->l = link_new(m, 1, false, true, false);
	if (!c->l) {
		shared_free(c, sizeof(*c));
		return -EIO;
	}
	void *args[2] = {c, c};
	thread_fn fns[2] = {cost_receiver, cost_sender};
	int cpus[2] = {opts.cpu_a, opts.cpu_b};
	err = run_pinned(2, fns, args, cpus);
	err = first_err(err, atomic_load(&c->err));
	if (!err && c->secs > 0)
		*ret_ops = (double)c->ops / c->secs;
	link_free(c->l);
	shared_free(c, sizeof(*c));
	return err;
}

void run_notify_cost(const struct mech *const *mechs, unsigned n, bool eager)
{
	const char *name = eager ? "notify-cost-eager" : "notify-cost";
	if (!scenario_selected(name))
		return;
	struct cost_cfg c = {eager, opts.run_ms};
	struct round_cfg rc = {name, "sender cost per notify", 1000, opts.cpu_a, opts.cpu_b, -1};
	rounds(&rc, mechs, n, cost_run, &c);
}

/* ------------------------------------------------------------------------ */
/* Matrix: ping-pong round trip for every ordered pair of allowed CPUs.     */

uipc_topo *bench_topo(void)
{
	static uipc_topo *topo;
	static bool tried;
	if (!tried) {
		tried = true;
		if (uipc_topo_new(&topo) < 0)
			topo = NULL;
	}
	return topo;
}

static int cpu_distance(int a, int b)
{
	uipc_topo *topo = bench_topo();
	return topo ? uipc_topo_distance(topo, a, b) : -1;
}

void run_matrix(const struct mech *const *mechs, unsigned n)
{
	int cpus[BENCH_MAX_CPUS];
	unsigned nc = cpus_allowed(cpus, BENCH_MAX_CPUS);
	if (!scenario_selected("matrix") || nc < 2)
		return;
	/* Many pairs on big machines: fewer, shorter runs per pair. */
	unsigned pairs = nc * (nc - 1);
	unsigned run_ms = opts.run_ms / 2;
	if (pairs > 16)
		run_ms = run_ms * 16 / pairs;
	if (run_ms < 5)
		run_ms = 5;
	for (unsigned a = 0; a < nc; a++) {
		for (unsigned b = 0; b < nc; b++) {
			if (a == b)
				continue;
			struct pp_cfg c = {false, false, cpus[b], cpus[a], run_ms};
			struct round_cfg rc = {"matrix", "round trip",
			                       1,        cpus[a],
			                       cpus[b],  cpu_distance(cpus[a], cpus[b])};
			rounds(&rc, mechs, n, pp_run, &c);
		}
	}
}
