/* SPDX-License-Identifier: MIT */
/* Clock calibration, pinning, barriers, machine description. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "bench.h"

struct bench_clock bench_clock = {.ns_per_tick = 1.0};

static bool cpuid_tsc_invariant(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return false;
	__cpuid(0x80000007u, a, b, c, d);
	return (d >> 8) & 1u;
#else
	return false;
#endif
}

/* Cost of one read of each clock, from a tight loop. */
static void clock_costs(void)
{
	enum { N = 200000 };
	uint64_t t0 = mono_ns();
	for (unsigned i = 0; i < N; i++)
		(void)mono_ns();
	bench_clock.mono_cost_ns = (double)(mono_ns() - t0) / N;
#if defined(__x86_64__) || defined(__i386__)
	volatile uint64_t sink = 0;
	t0 = mono_ns();
	for (unsigned i = 0; i < N; i++)
		sink += __builtin_ia32_rdtsc();
	(void)sink;
	bench_clock.tsc_cost_ns = (double)(mono_ns() - t0) / N;
#endif
}

void clock_init(bool use_tsc, unsigned calib_ms)
{
	bench_clock.tsc_invariant = cpuid_tsc_invariant();
	bench_clock.tsc = false;
	bench_clock.ns_per_tick = 1.0;
#if defined(__x86_64__) || defined(__i386__)
	/* A TSC that is not invariant may change rate or stop: use it only when
	 * the CPU says it is invariant. Calibrate over calib_ms, best of three. */
	if (use_tsc && bench_clock.tsc_invariant) {
		double best = 0;
		for (int k = 0; k < 3; k++) {
			uint64_t n0 = mono_ns(), c0 = __builtin_ia32_rdtsc();
			while (mono_ns() - n0 < (uint64_t)calib_ms * 1000000u / 3)
				cpu_relax();
			uint64_t n1 = mono_ns(), c1 = __builtin_ia32_rdtsc();
			double ghz = (double)(c1 - c0) / (double)(n1 - n0);
			if (k == 0 || ghz < best)
				best = ghz;
		}
		if (best > 0.05) {
			bench_clock.tsc = true;
			bench_clock.tsc_ghz = best;
			bench_clock.ns_per_tick = 1.0 / best;
		}
	}
#endif
	clock_costs();
}

int pin_self(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

unsigned cpus_allowed(int *cpus, unsigned max)
{
	cpu_set_t set;
	unsigned n = 0;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

void sbarrier_init(struct sbarrier *b, unsigned parties)
{
	atomic_store(&b->arrived, 0);
	atomic_store(&b->generation, 0);
	b->parties = parties;
}

void sbarrier_wait(struct sbarrier *b)
{
	unsigned gen = atomic_load(&b->generation);
	if (atomic_fetch_add(&b->arrived, 1) + 1 == b->parties) {
		atomic_store(&b->arrived, 0);
		atomic_fetch_add(&b->generation, 1);
		return;
	}
	/* Yield while waiting: parties may share a CPU. */
	for (unsigned spins = 0; atomic_load(&b->generation) == gen; spins++) {
		if (spins < 1000)
			cpu_relax();
		else
			sched_yield();
	}
}

int run_pinned(unsigned n, const thread_fn *fns, void **args, const int *cpus)
{
	pthread_t th[BENCH_MAX_SENDERS + 2];
	unsigned started = 0;
	int err = 0;
	if (n > BENCH_MAX_SENDERS + 2)
		return -EINVAL;
	for (; started < n; started++) {
		pthread_attr_t attr;
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpus[started], &set);
		pthread_attr_init(&attr);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		err = pthread_create(&th[started], &attr, fns[started], args[started]);
		pthread_attr_destroy(&attr);
		if (err) {
			fprintf(stderr, "uipc-bench: pthread_create: %s\n", strerror(err));
			err = -err;
			break;
		}
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return err;
}

void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void shared_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = 0;
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

/* Hypervisor: CPUID.1:ECX[31] and the vendor leaf, /sys/hypervisor, then
 * systemd-detect-virt (containers) when it is installed. */
static void virt_probe(char *buf, size_t len)
{
	char hv[16] = "", sys[32] = "", sd[32] = "";
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	if (__get_cpuid(1, &a, &b, &c, &d) && (c >> 31) & 1u) {
		__cpuid(0x40000000u, a, b, c, d);
		memcpy(hv, &b, 4);
		memcpy(hv + 4, &c, 4);
		memcpy(hv + 8, &d, 4);
		hv[12] = 0;
		for (char *p = hv; *p; p++)
			if (*p < ' ' || *p > '~')
				*p = '?';
	}
#endif
	FILE *f = fopen("/sys/hypervisor/type", "r");
	if (f) {
		if (fgets(sys, sizeof(sys), f))
			sys[strcspn(sys, "\n")] = 0;
		fclose(f);
	}
	f = popen("systemd-detect-virt 2>/dev/null", "r");
	if (f) {
		if (fgets(sd, sizeof(sd), f))
			sd[strcspn(sd, "\n")] = 0;
		pclose(f);
	}
	snprintf(buf, len, "%s%s%s%s%s%s", hv[0] ? "hypervisor " : "bare metal?", hv,
	         sys[0] ? ", /sys/hypervisor " : "", sys, sd[0] ? ", systemd-detect-virt " : "",
	         sd);
}

void machine_probe(struct machine *m)
{
	struct utsname u;
	int cpus[BENCH_MAX_CPUS];
	memset(m, 0, sizeof(*m));
	cpu_model(m->cpu_model, sizeof(m->cpu_model));
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
	virt_probe(m->virt, sizeof(m->virt));
	gethostname(m->hostname, sizeof(m->hostname) - 1);
	long on = sysconf(_SC_NPROCESSORS_ONLN);
	m->ncpus_online = on > 0 ? (unsigned)on : 0;
	m->ncpus_allowed = cpus_allowed(cpus, BENCH_MAX_CPUS);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------------------ */

void repstat_init(struct repstat *s)
{
	memset(s, 0, sizeof(*s));
	s->all = malloc(sizeof(*s->all));
	if (s->all)
		hist_reset(s->all);
}

void repstat_add(struct repstat *s, const struct hist *h, double ops, double wakeups)
{
	if (s->n >= 64 || !h->count)
		return;
	s->p50[s->n] = hist_quantile(h, 0.5);
	s->ops[s->n] = ops;
	s->wakeups[s->n] = wakeups;
	s->n++;
	s->samples += h->count;
	if (s->all)
		hist_merge(s->all, h);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void repstat_result(struct repstat *s, struct result *r)
{
	r->reps = s->n;
	r->samples = s->samples;
	if (!s->n || !s->all)
		return;
	r->p50 = median(s->p50, s->n);
	r->p50_min = s->p50[0];
	r->p50_max = s->p50[s->n - 1];
	r->p90 = hist_quantile(s->all, 0.90);
	r->p99 = hist_quantile(s->all, 0.99);
	r->p999 = hist_quantile(s->all, 0.999);
	r->max = (double)s->all->max;
	r->mean = hist_mean(s->all);
	r->ops_per_s = median(s->ops, s->n);
	r->wakeups_per_s = median(s->wakeups, s->n);
}

void repstat_fini(struct repstat *s)
{
	free(s->all);
	s->all = NULL;
}

struct run_extra run_extra;

uint64_t thread_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) < 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}
