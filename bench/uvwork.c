/* SPDX-License-Identifier: MIT */
/*
 * uv-work: libuv's own thread pool (uv_queue_work()) against a uipc work pool
 * in the same uv loop (examples/uv-uipc.h), alternating in one run:
 *  - uv-work-rtt: one empty work item at a time; the time from the submit to
 *    its after-callback on the loop thread (the pool's round trip);
 *  - uv-work-tput: 1024 empty items submitted at once, the loop run until
 *    every after-callback ran; time per item.
 * Both pools have the same number of threads (UV_THREADPOOL_SIZE, set to 2
 * here when unset); the loop thread is pinned, the pool threads float over
 * the allowed CPUs for both. CPU: the loop thread's (rx) and the pool
 * threads' (tx, the process's CPU time less the loop's) per item.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

#ifdef BENCH_HAVE_LIBUV
#include "uv-uipc.h"

#define TPUT_BATCH 1024u

static unsigned pool_threads(void)
{
	const char *e = getenv("UV_THREADPOOL_SIZE");
	int n = e ? atoi(e) : 0;

	return n > 0 && n <= 128 ? (unsigned)n : 4;
}

static uint64_t process_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

struct uvw {
	bool uipc, tput;
	uv_loop_t loop;
	struct uv_uipc_pool pool;
	uint64_t warm_end, end;
	uint64_t t_submit, t_batch;
	unsigned outstanding;
	uint64_t items, all_items;
	uint64_t busy; /* ticks of measured work */
	struct hist *h;
	int err;
	union uvw_req {
		uv_work_t uv; /* first members: a request's address is its slot's */
		struct uv_uipc_work uipc;
	} req[TPUT_BATCH];
};

static void submit(struct uvw *w, unsigned i);

static void empty_work(struct uvw *w)
{
	(void)w;
}

static void w_uv_work(uv_work_t *r)
{
	empty_work(r->data);
}

static void w_uipc_work(struct uv_uipc_work *r)
{
	empty_work(r->data);
}

/* One item came back (on the loop thread). */
static void done(struct uvw *w, unsigned i)
{
	uint64_t now = bench_ticks();

	w->all_items++;
	if (!w->tput) {
		if (w->t_submit >= w->warm_end) {
			hist_record(w->h, ticks_to_ns(now - w->t_submit));
			w->busy += now - w->t_submit;
			w->items++;
		}
		if (now < w->end)
			submit(w, i);
		return;
	}
	if (--w->outstanding)
		return;
	if (w->t_batch >= w->warm_end) {
		hist_record(w->h, ticks_to_ns((now - w->t_batch) * 1000u) / TPUT_BATCH);
		w->busy += now - w->t_batch;
		w->items += TPUT_BATCH;
	}
	if (now >= w->end)
		return;
	w->t_batch = bench_ticks();
	w->outstanding = TPUT_BATCH;
	for (unsigned k = 0; k < TPUT_BATCH; k++)
		submit(w, k);
}

static void w_uv_after(uv_work_t *r, int status)
{
	struct uvw *w = r->data;

	if (status < 0 && !w->err)
		w->err = status;
	done(w, (unsigned)((union uvw_req *)(void *)r - w->req));
}

static void w_uipc_after(struct uv_uipc_work *r)
{
	struct uvw *w = r->data;

	done(w, (unsigned)((union uvw_req *)(void *)r - w->req));
}

static void submit(struct uvw *w, unsigned i)
{
	int r;

	if (!w->tput)
		w->t_submit = bench_ticks();
	if (w->uipc) {
		w->req[i].uipc.data = w;
		r = uv_uipc_queue_work(&w->pool, &w->req[i].uipc, w_uipc_work, w_uipc_after);
	} else {
		w->req[i].uv.data = w;
		r = uv_queue_work(&w->loop, &w->req[i].uv, w_uv_work, w_uv_after);
	}
	if (r < 0 && !w->err)
		w->err = r;
}

struct uvw_cfg {
	bool tput;
	unsigned run_ms;
};

struct uvw_run {
	struct uvw *w;
	double cpu_loop, cpu_all;
};

static int allow_all_cpus(void)
{
	cpu_set_t set;
	int cpus[BENCH_MAX_CPUS];
	unsigned n = cpus_allowed(cpus, BENCH_MAX_CPUS);

	CPU_ZERO(&set);
	for (unsigned i = 0; i < n; i++)
		CPU_SET(cpus[i], &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *uvw_loop_thread(void *arg)
{
	struct uvw_run *run = arg;
	struct uvw *w = run->w;
	int r = uv_loop_init(&w->loop);

	if (r < 0) {
		w->err = r;
		return NULL;
	}
	if (w->uipc) {
		/* Workers inherit our affinity: float them as libuv's do. */
		allow_all_cpus();
		r = uv_uipc_pool_init(&w->loop, &w->pool, pool_threads());
		pin_self(opts.cpu_a);
		if (r < 0) {
			w->err = r;
			uv_loop_close(&w->loop);
			return NULL;
		}
	}
	uint64_t c0 = thread_cpu_ns(), p0 = process_cpu_ns();
	uint64_t start = bench_ticks();

	w->warm_end = start + ns_to_ticks(10000000u);
	w->end = w->warm_end + ns_to_ticks((uint64_t)opts.run_ms * 1000000u);
	if (w->tput) {
		w->t_batch = start;
		w->outstanding = TPUT_BATCH;
		for (unsigned k = 0; k < TPUT_BATCH; k++)
			submit(w, k);
	} else {
		submit(w, 0);
	}
	uv_run(&w->loop, UV_RUN_DEFAULT);
	run->cpu_loop = (double)(thread_cpu_ns() - c0);
	run->cpu_all = (double)(process_cpu_ns() - p0);
	if (w->uipc)
		uv_uipc_pool_stop(&w->pool);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if ((r = uv_loop_close(&w->loop)) < 0 && !w->err)
		w->err = r;
	return NULL;
}

static int uvw_run(const struct mech *m, const void *cfg, struct hist *h, double *ret_ops,
                   double *ret_wakeups)
{
	const struct uvw_cfg *c = cfg;
	struct uvw *w = calloc(1, sizeof(*w));
	struct uvw_run run = {w, 0, 0};
	void *arg = &run;
	thread_fn fn = uvw_loop_thread;
	int err;

	(void)ret_wakeups;
	if (!w)
		return -ENOMEM;
	w->uipc = strcmp(m->name, "uv-queue-work") != 0;
	w->tput = c->tput;
	w->h = h;
	err = run_pinned(1, &fn, &arg, &opts.cpu_a);
	if (!err)
		err = w->err;
	if (!err && w->busy)
		*ret_ops = (double)w->items / ((double)ticks_to_ns(w->busy) / 1e9);
	if (!err && w->all_items) {
		run_extra.cpu_rx_ns = run.cpu_loop / (double)w->all_items;
		run_extra.cpu_tx_ns = (run.cpu_all - run.cpu_loop) / (double)w->all_items;
	}
	free(w);
	return err;
}

static void warm_uv_pool_cb(uv_work_t *r)
{
	(void)r;
}

static void warm_uv_pool_after(uv_work_t *r, int status)
{
	(void)r;
	(void)status;
}

void run_uvwork(void)
{
	static const struct mech uvq = {.name = "uv-queue-work"}, up = {.name = "uipc-pool"};
	const struct mech *mechs[2];
	unsigned n = 0;
	bool rtt = scenario_selected("uv-work-rtt") || scenario_selected("uv-work");
	bool tput = scenario_selected("uv-work-tput") || scenario_selected("uv-work");

	if (!rtt && !tput)
		return;
	if (mech_selected(&uvq))
		mechs[n++] = &uvq;
	if (mech_selected(&up))
		mechs[n++] = &up;
	if (!n)
		return;
	/* Both pools the same size; libuv reads it once, at its first use,
	 * which is here, on this unpinned thread (its threads inherit that). */
	setenv("UV_THREADPOOL_SIZE", "2", 0);
	{
		uv_loop_t l;
		uv_work_t r;

		if (uv_loop_init(&l) == 0) {
			uv_queue_work(&l, &r, warm_uv_pool_cb, warm_uv_pool_after);
			uv_run(&l, UV_RUN_DEFAULT);
			uv_loop_close(&l);
		}
	}
	if (rtt) {
		struct uvw_cfg c = {false, opts.run_ms};
		struct round_cfg rc = {
		    "uv-work-rtt", "submit to after-callback", 1, opts.cpu_a, -1, -1};
		rounds(&rc, mechs, n, uvw_run, &c);
	}
	if (tput) {
		struct uvw_cfg c = {true, opts.run_ms};
		struct round_cfg rc = {
		    "uv-work-tput", "time per item, 1024 in flight", 1000, opts.cpu_a, -1, -1};
		rounds(&rc, mechs, n, uvw_run, &c);
	}
}

#else

void run_uvwork(void)
{
	mech_missing_add("uv-work", "built without libuv (meson -Dlibuv=enabled)");
}

#endif
