/* SPDX-License-Identifier: MIT */
/* Results: a table (default), one JSON document (--json) or CSV (--csv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uipc.h>

#include "bench.h"

/* Where the placement's topology came from (hwloc, sysfs...). */
static const char *topo_source(void)
{
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;
	if (!bench_topo() || uipc_topo_get_info(bench_topo(), &info) < 0)
		return "no topology";
	return uipc_topo_source_name(info.source);
}

static struct result *results;
static unsigned nresults, capresults;

void results_add(const struct result *r)
{
	if (nresults == capresults) {
		unsigned cap = capresults ? 2 * capresults : 64;
		struct result *p = realloc(results, cap * sizeof(*p));
		if (!p)
			return;
		results = p;
		capresults = cap;
	}
	results[nresults++] = *r;
}

/* ------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_kv_str(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "%s\"%s\": ", comma ? ", " : "", k);
	json_str(f, v);
}

static void json_kv_num(FILE *f, const char *k, double v, bool comma)
{
	fprintf(f, "%s\"%s\": %.6g", comma ? ", " : "", k, v);
}

static const char *default_backend(void)
{
	static char name[16];
	uipc_ctx *ctx;
	if (name[0])
		return name;
	if (uipc_ctx_new(NULL, &ctx) < 0)
		return "none";
	snprintf(name, sizeof(name), "%s", uipc_ctx_backend_name(ctx));
	uipc_ctx_free(ctx);
	return name;
}

static void backends_list(char *buf, size_t len)
{
	const struct mech *t;
	unsigned n = mech_table(&t);
	buf[0] = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!(t[i].flags & MECH_UIPC))
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", used ? " " : "", t[i].uipc_name);
	}
}

static void json_machine(FILE *f, const struct machine *m)
{
	char backends[128];
	backends_list(backends, sizeof(backends));
	fprintf(f, "  \"machine\": {");
	json_kv_str(f, "cpu_model", m->cpu_model, false);
	json_kv_str(f, "kernel", m->kernel, true);
	json_kv_str(f, "virtualization", m->virt, true);
	json_kv_str(f, "hostname", m->hostname, true);
	json_kv_num(f, "cpus_online", m->ncpus_online, true);
	json_kv_num(f, "cpus_allowed", m->ncpus_allowed, true);
	json_kv_num(f, "cpu_rx", opts.cpu_a, true);
	json_kv_num(f, "cpu_tx", opts.cpu_b, true);
	json_kv_str(f, "clock", bench_clock.tsc ? "tsc" : "clock_monotonic", true);
	fprintf(f, ", \"tsc_invariant\": %s", bench_clock.tsc_invariant ? "true" : "false");
	json_kv_num(f, "tsc_ghz", bench_clock.tsc_ghz, true);
	json_kv_num(f, "tsc_read_ns", bench_clock.tsc_cost_ns, true);
	json_kv_num(f, "clock_gettime_ns", bench_clock.mono_cost_ns, true);
	json_kv_str(f, "uipc_version", UIPC_VERSION_STRING, true);
	json_kv_str(f, "uipc_backends", backends, true);
	json_kv_str(f, "uipc_default_backend", default_backend(), true);
	json_kv_str(f, "date", m->date, true);
	json_kv_num(f, "repetitions", opts.reps, true);
	json_kv_num(f, "run_ms", opts.run_ms, true);
	fprintf(f, ", \"quick\": %s},\n", opts.quick ? "true" : "false");
}

static void json_print(FILE *f, const struct machine *m)
{
	const char **names, **why;
	unsigned nm = mech_missing(&names, &why);
	fprintf(f, "{\n");
	json_machine(f, m);
	fprintf(f, "  \"missing\": [");
	for (unsigned i = 0; i < nm; i++) {
		fprintf(f, "%s\n    {", i ? "," : "");
		json_kv_str(f, "mechanism", names[i], false);
		json_kv_str(f, "reason", why[i], true);
		fprintf(f, "}");
	}
	fprintf(f, "%s],\n  \"results\": [", nm ? "\n  " : "");
	for (unsigned i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		fprintf(f, "%s\n    {", i ? "," : "");
		json_kv_str(f, "scenario", r->scenario, false);
		json_kv_str(f, "mechanism", r->mechanism, true);
		if (r->backend[0])
			json_kv_str(f, "backend", r->backend, true);
		json_kv_str(f, "measures", r->unit, true);
		json_kv_num(f, "repetitions", r->reps, true);
		json_kv_num(f, "samples", (double)r->samples, true);
		json_kv_num(f, "p50_ns", r->p50, true);
		json_kv_num(f, "p50_min_ns", r->p50_min, true);
		json_kv_num(f, "p50_max_ns", r->p50_max, true);
		json_kv_num(f, "p90_ns", r->p90, true);
		json_kv_num(f, "p99_ns", r->p99, true);
		json_kv_num(f, "p999_ns", r->p999, true);
		json_kv_num(f, "max_ns", r->max, true);
		json_kv_num(f, "mean_ns", r->mean, true);
		json_kv_num(f, "ops_per_s", r->ops_per_s, true);
		if (r->wakeups_per_s > 0)
			json_kv_num(f, "wakeups_per_s", r->wakeups_per_s, true);
		if (r->msg_bytes > 0) {
			json_kv_num(f, "msg_bytes", r->msg_bytes, true);
			json_kv_num(f, "batch", r->batch, true);
		}
		if (r->cpu_rx_ns >= 0) {
			json_kv_num(f, "cpu_rx_ns_per_op", r->cpu_rx_ns, true);
			json_kv_num(f, "cpu_tx_ns_per_op", r->cpu_tx_ns, true);
		}
		if (r->per_sample > 1)
			json_kv_num(f, "ops_per_sample", r->per_sample, true);
		if (r->has_syscalls)
			json_kv_num(f, "syscalls_per_op", r->syscalls_per_op, true);
		json_kv_num(f, "cpu_rx", r->cpu_rx, true);
		json_kv_num(f, "cpu_tx", r->cpu_tx, true);
		if (strcmp(r->scenario, "matrix") == 0) {
			json_kv_num(f, "distance", r->distance, true);
#if __has_include(<uipc/topo.h>)
			const char *dn = r->distance >= 0
			                     ? uipc_topo_dist_name((enum uipc_topo_dist)r->distance)
			                     : NULL;
			json_kv_str(f, "distance_name", dn ? dn : "unknown", true);
#endif
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n}\n");
}

/* ------------------------------------------------------------------------ */

static void csv_print(FILE *f, const struct machine *m)
{
	char backends[128];
	backends_list(backends, sizeof(backends));
	fprintf(f, "# cpu_model: %s\n# kernel: %s\n# virtualization: %s\n", m->cpu_model, m->kernel,
	        m->virt);
	fprintf(f, "# clock: %s, tsc %.3f GHz, invariant %d\n# uipc backends: %s (default %s)\n",
	        bench_clock.tsc ? "tsc" : "clock_monotonic", bench_clock.tsc_ghz,
	        bench_clock.tsc_invariant, backends, default_backend());
	fprintf(f, "scenario,mechanism,backend,measures,repetitions,samples,p50_ns,p50_min_ns,"
	           "p50_max_ns,p90_ns,p99_ns,p999_ns,max_ns,mean_ns,ops_per_s,wakeups_per_s,"
	           "msg_bytes,batch,cpu_rx,cpu_tx,distance\n");
	for (unsigned i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		fprintf(f,
		        "%s,%s,%s,%s,%u,%llu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
		        "%.6g,%.6g,%d,%d,%d\n",
		        r->scenario, r->mechanism, r->backend, r->unit, r->reps,
		        (unsigned long long)r->samples, r->p50, r->p50_min, r->p50_max, r->p90,
		        r->p99, r->p999, r->max, r->mean, r->ops_per_s, r->wakeups_per_s,
		        r->msg_bytes, r->batch, r->cpu_rx, r->cpu_tx, r->distance);
	}
}

/* ------------------------------------------------------------------------ */

static const char *fmt_ns(char *buf, size_t len, double v)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.2fms", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.1fus", v / 1e3);
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f", v);
	return buf;
}

static const char *fmt_rate(char *buf, size_t len, double v)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

/* What a reader of the rows must know, printed once under the tables. */
static void notes_print(FILE *f)
{
	bool uv = false, ck = false, k = false, cpu = false, ws = false, sc = false;

	for (unsigned i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		uv |= strcmp(r->mechanism, "uv-async") == 0;
		ck |= strstr(r->mechanism, " 1by1") != NULL;
		k |= r->per_sample > 1;
		cpu |= r->cpu_rx_ns >= 0;
		ws |= strstr(r->mechanism, "-ws") != NULL;
		sc |= r->has_syscalls;
	}
	fprintf(f, "\nnotes:\n");
	if (sc)
		fprintf(
		    f,
		    "  syscalls-*: one thread plays the loop and its sender (its CPU under rx); "
		    "syscalls/op counted with ptrace in a traced child, times untraced; "
		    "uipc-eventfd: a uipc_tx_new() pair, -shared: the sender from a capability\n");
	if (cpu)
		fprintf(
		    f,
		    "  cpu rx+tx/op: thread CPU time (getrusage(RUSAGE_THREAD)) per operation of "
		    "the receiver (pong) and the sender (ping), warm-up included; a sender's "
		    "pauses are not counted\n");
	if (k)
		fprintf(f,
		        "  xK/sample: each latency sample times K back-to-back round trips (one is "
		        "within 50 clock steps); percentiles are of K-trip means\n");
	if (ws)
		fprintf(f,
		        "  futex-ws, eventfd-ws: waiter suppression (a sleeping flag; the syscall "
		        "only for a sleeper), the full fence uipc_tx_notify() has\n");
	fprintf(f,
	        "  awake scenarios: every peer with a cheap poll spins up to %u ns before "
	        "blocking, the bound of uipc's adaptive spin\n",
	        UIPC_SPIN_DEFAULT_MAX_NS);
	if (uv)
		fprintf(
		    f, "  uv-async: uv_async_send() returns after a plain load while the handle is "
		       "pending, without a fence, so stores made before it are not ordered "
		       "before that load; uipc_tx_notify() fences (a receiver that takes the "
		       "notification sees what was written before it), which is the gap in "
		       "notify-cost\n");
	if (ck)
		fprintf(f, "  ck-ring 1by1: Concurrency Kit has no batch call; its x16 rows are 16 "
		           "single enqueues/dequeues (compare with the uipc x1 row for unbatched "
		           "uipc)\n");
}

static void table_print(FILE *f, const struct machine *m)
{
	char backends[128], a[32], b[32], c[32], d[32], e[32], g[32], h[32], k[32], l[32];
	const char **names, **why;
	unsigned nm = mech_missing(&names, &why);
	backends_list(backends, sizeof(backends));
	fprintf(f,
	        "uipc-bench %s%s: %u repetitions x %u ms per mechanism and scenario, "
	        "mechanisms alternating\n",
	        UIPC_VERSION_STRING, opts.quick ? " --quick" : "", opts.reps, opts.run_ms);
	fprintf(f, "cpu:     %s (%u online, %u allowed)\nkernel:  %s\nvirt:    %s\n", m->cpu_model,
	        m->ncpus_online, m->ncpus_allowed, m->kernel, m->virt);
	if (bench_clock.tsc)
		fprintf(f,
		        "clock:   TSC %.3f GHz (invariant), read %.1f ns; "
		        "clock_gettime %.1f ns\n",
		        bench_clock.tsc_ghz, bench_clock.tsc_cost_ns, bench_clock.mono_cost_ns);
	else
		fprintf(f, "clock:   CLOCK_MONOTONIC, read %.1f ns (TSC %s)\n",
		        bench_clock.mono_cost_ns,
		        bench_clock.tsc_invariant ? "not used" : "not invariant");
	fprintf(f, "pinning: receiver/pong on CPU %d, sender/ping on CPU %d (placement %s, %s)\n",
	        opts.cpu_a, opts.cpu_b, uipc_topo_policy_name((enum uipc_topo_policy)opts.place),
	        topo_source());
	fprintf(f, "uipc:    backends %s; default %s\n", backends, default_backend());
	for (unsigned i = 0; i < nm; i++)
		fprintf(f, "missing: %s: %s\n", names[i], why[i]);
	fprintf(f, "times in ns unless marked; p50 = median of the repetitions' p50 "
	           "[min..max]; other percentiles over all samples\n");
	const char *cur = "";
	for (unsigned i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		bool matrix = strcmp(r->scenario, "matrix") == 0;
		if (strcmp(cur, r->scenario) != 0) {
			cur = r->scenario;
			fprintf(f, "\n%s (%s)\n", r->scenario, r->unit);
			fprintf(f, "%-22s %s%8s %-17s %8s %8s %8s %8s %8s %9s %8s %13s\n",
			        "mechanism", matrix ? "rx-tx  " : "", "p50", " [min..max]", "p90",
			        "p99", "p99.9", "max", "mean", "ops/s", "samples", "cpu rx+tx/op");
		}
		char pair[16] = "";
		if (matrix)
			snprintf(pair, sizeof(pair), "%3d-%-3d", r->cpu_rx, r->cpu_tx);
		char spread[80];
		snprintf(spread, sizeof(spread), " [%s..%s]", fmt_ns(a, sizeof(a), r->p50_min),
		         fmt_ns(b, sizeof(b), r->p50_max));
		char label[64];
		if (r->msg_bytes > 0)
			snprintf(label, sizeof(label), "%s %gB x%g", r->mechanism, r->msg_bytes,
			         r->batch);
		else
			snprintf(label, sizeof(label), "%s", r->mechanism);
		fprintf(f, "%-22s %s%8s %-17s %8s %8s %8s %8s %8s %9s %8llu", label, pair,
		        fmt_ns(c, sizeof(c), r->p50), spread, fmt_ns(d, sizeof(d), r->p90),
		        fmt_ns(e, sizeof(e), r->p99), fmt_ns(g, sizeof(g), r->p999),
		        fmt_ns(h, sizeof(h), r->max), fmt_ns(k, sizeof(k), r->mean),
		        fmt_rate(l, sizeof(l), r->ops_per_s), (unsigned long long)r->samples);
		if (r->cpu_rx_ns >= 0) {
			char both[40];

			snprintf(both, sizeof(both), "%s+%s", fmt_ns(a, sizeof(a), r->cpu_rx_ns),
			         fmt_ns(b, sizeof(b), r->cpu_tx_ns));
			fprintf(f, " %13s", both);
		} else if (!matrix) {
			fprintf(f, " %13s", "-");
		}
		if (r->per_sample > 1)
			fprintf(f, "  x%u/sample", r->per_sample);
		if (r->has_syscalls)
			fprintf(f, "  syscalls/op %.2f", r->syscalls_per_op);
		if (r->wakeups_per_s > 0)
			fprintf(f, "  wakeups/s %s", fmt_rate(a, sizeof(a), r->wakeups_per_s));
#if __has_include(<uipc/topo.h>)
		if (matrix && r->distance >= 0) {
			const char *dn = uipc_topo_dist_name((enum uipc_topo_dist)r->distance);
			fprintf(f, "  %s", dn ? dn : "?");
		}
#endif
		fputc('\n', f);
	}
	notes_print(f);
}

void output_print(const struct machine *m)
{
	if (opts.save) {
		FILE *f = fopen(opts.save, "w");
		if (!f || (json_print(f, m), fclose(f)) != 0)
			fprintf(stderr, "uipc-bench: cannot write %s\n", opts.save);
	}
	if (opts.json)
		json_print(stdout, m);
	else if (opts.csv)
		csv_print(stdout, m);
	else
		table_print(stdout, m);
	fflush(stdout);
}
