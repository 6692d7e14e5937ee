/* SPDX-License-Identifier: MIT */
/*
 * Scenarios "syscalls-*": what one event-loop step costs a pollable uipc
 * receiver against the raw eventfd it replaces, in system calls (counted
 * with ptrace in a traced child, tests/lib/syscount.h), time and CPU (timed in
 * this process, untraced). One thread plays the sender and the loop, so the
 * numbers are the calls' own cost, without a wakeup's scheduling:
 *
 *   syscalls-wake   the loop sleeps (armed), a sender notifies, the loop
 *                   takes it: uipc_rx_arm + uipc_tx_notify + uipc_rx_drain;
 *                   eventfd: write + read
 *   syscalls-awake  a sender notifies while the loop is awake, the loop takes
 *                   it after its next sleep: notify + drain; eventfd: write +
 *                   read (the loop reads what the fd says)
 *   syscalls-idle   a loop iteration with nothing for this receiver (woken
 *                   by another fd, or a timer): arm + drain; eventfd: nothing
 *                   (the fd did not fire)
 *
 * Mechanisms: eventfd (raw), uipc-eventfd (a pair made by uipc_tx_new(), as
 * an event loop and its threads use it) and uipc-eventfd-shared (the sender
 * opened from a capability, as another process's: uipc(7), SYSCALLS PER
 * OPERATION).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <uipc.h>

#include "bench.h"
#include "lib/syscount.h"

enum sc_pattern { SC_WAKE, SC_AWAKE, SC_IDLE, SC_PATTERNS };
enum sc_mech { SC_RAW, SC_UIPC, SC_SHARED, SC_MECHS };

static const char *const pattern_names[SC_PATTERNS] = {"syscalls-wake", "syscalls-awake",
                                                       "syscalls-idle"};
static const char *const pattern_units[SC_PATTERNS] = {
    "arm+notify+drain of a sleeping loop, one thread", "notify to an awake loop + its drain",
    "arm+drain with nothing pending"};
static const char *const mech_names[SC_MECHS] = {"eventfd", "uipc-eventfd", "uipc-eventfd-shared"};

struct sc_pair {
	int efd;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
};

static int pair_open(struct sc_pair *p, enum sc_mech m)
{
	int cap, r;

	memset(p, 0, sizeof(*p));
	p->efd = -1;
	if (m == SC_RAW) {
		p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		return p->efd < 0 ? -errno : 0;
	}
	r = uipc_ctx_new("eventfd", &p->ctx);
	if (r < 0)
		return r;
	r = uipc_rx_new(p->ctx, UIPC_RX_POLLABLE, &p->rx);
	if (r == 0 && m == SC_UIPC)
		r = uipc_tx_new(p->rx, 0, &p->tx);
	if (r == 0 && m == SC_SHARED) {
		cap = uipc_rx_cap(p->rx, 0);
		r = cap < 0 ? cap : uipc_tx_open(p->ctx, cap, &p->tx);
		if (cap >= 0)
			close(cap);
	}
	return r;
}

static void pair_close(struct sc_pair *p)
{
	if (p->efd >= 0)
		close(p->efd);
	uipc_tx_free(p->tx);
	uipc_rx_free(p->rx);
	uipc_ctx_free(p->ctx);
}

/* One step of the pattern. */
static int step(struct sc_pair *p, enum sc_pattern pat)
{
	uint64_t v = 1, m;

	if (p->efd >= 0) {
		if (pat == SC_IDLE)
			return 0;
		if (write(p->efd, &v, sizeof(v)) != (ssize_t)sizeof(v) ||
		    read(p->efd, &v, sizeof(v)) != (ssize_t)sizeof(v))
			return -errno;
		return 0;
	}
	if (pat != SC_AWAKE && uipc_rx_arm(p->rx) != 0)
		return -EPROTO;
	if (pat != SC_IDLE && uipc_tx_notify(p->tx) < 0)
		return -EPIPE;
	if (uipc_rx_drain(p->rx, &m) < 0 || m != (pat == SC_IDLE ? 0 : 1))
		return -EPROTO;
	return 0;
}

#define SC_COUNTED 1000

struct sc_child {
	enum sc_pattern pat;
	enum sc_mech mech;
};

static void sc_child_run(void *arg)
{
	struct sc_child *c = arg;
	struct sc_pair p;

	if (pair_open(&p, c->mech) < 0)
		_exit(3);
	for (int i = 0; i < 16; i++) /* warm: first-use costs out of the count */
		if (step(&p, c->pat) < 0)
			_exit(4);
	sc_begin(0);
	for (int i = 0; i < SC_COUNTED; i++)
		if (step(&p, c->pat) < 0)
			_exit(4);
	sc_end();
	pair_close(&p);
	_exit(0);
}

static int measure(enum sc_pattern pat, enum sc_mech mech, struct result *r)
{
	struct sc_child c = {pat, mech};
	unsigned ops = opts.quick ? 20000 : 200000, batch = 100;
	struct sc_pair p;
	struct repstat st;
	long counted;
	double cpu = 0;
	int err;

	err = sc_run(sc_child_run, &c, &counted, 1);
	if (err != 0)
		return err < 0 ? err : -EPROTO;
	err = pair_open(&p, mech);
	if (err < 0) {
		pair_close(&p);
		return err;
	}
	repstat_init(&st);
	for (unsigned rep = 0; rep < opts.reps && !err; rep++) {
		struct hist *h = malloc(sizeof(*h));
		uint64_t c0, t0, t1;

		if (!h) {
			err = -ENOMEM;
			break;
		}
		hist_reset(h);
		c0 = thread_cpu_ns();
		t0 = mono_ns();
		for (unsigned i = 0; i < ops && !err; i += batch) {
			uint64_t b0 = mono_ns();

			for (unsigned k = 0; k < batch && !err; k++)
				err = step(&p, pat);
			/* ps per op: the batch's mean */
			hist_record(h, (mono_ns() - b0) * 1000u / batch);
		}
		t1 = mono_ns();
		cpu += (double)(thread_cpu_ns() - c0) / ops;
		repstat_add(&st, h, ops * 1e9 / (double)(t1 - t0 ? t1 - t0 : 1), 0);
		free(h);
	}
	pair_close(&p);
	if (!err) {
		double *v[] = {&r->p50, &r->p50_min, &r->p50_max, &r->p90,
		               &r->p99, &r->p999,    &r->max,     &r->mean};

		repstat_result(&st, r);
		for (unsigned k = 0; k < sizeof(v) / sizeof(v[0]); k++)
			*v[k] /= 1000;
		r->cpu_rx_ns = cpu / opts.reps;
		r->cpu_tx_ns = 0;
		r->per_sample = batch;
		r->has_syscalls = true;
		r->syscalls_per_op = (double)counted / SC_COUNTED;
	}
	repstat_fini(&st);
	return err;
}

void run_syscalls(void)
{
	for (int pat = 0; pat < SC_PATTERNS; pat++) {
		if (!scenario_selected(pattern_names[pat]) && !scenario_selected("syscalls"))
			continue;
		for (int m = 0; m < SC_MECHS; m++) {
			struct result r;
			char what[80];
			int err;

			memset(&r, 0, sizeof(r));
			snprintf(r.scenario, sizeof(r.scenario), "%s", pattern_names[pat]);
			snprintf(r.mechanism, sizeof(r.mechanism), "%s", mech_names[m]);
			snprintf(r.backend, sizeof(r.backend), "%s", m == SC_RAW ? "" : "eventfd");
			r.unit = pattern_units[pat];
			r.cpu_rx = r.cpu_tx = -1;
			r.distance = -1;
			err = measure((enum sc_pattern)pat, (enum sc_mech)m, &r);
			if (err < 0) {
				snprintf(what, sizeof(what), "%s %s", pattern_names[pat],
				         mech_names[m]);
				mech_missing_add(what, strerror(-err));
				continue;
			}
			results_add(&r);
		}
	}
}
