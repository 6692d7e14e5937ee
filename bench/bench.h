/* SPDX-License-Identifier: MIT */
/*
 * uipc-bench internals: histogram, clock, pinning, mechanisms, scenarios,
 * output. Only the public uipc API is used (<uipc.h>).
 */
#ifndef UIPC_BENCH_H
#define UIPC_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define BENCH_CACHELINE   64
#define BENCH_MAX_SENDERS 64
#define BENCH_MAX_CPUS    1024

/* ------------------------------------------------------------------------ */
/* Log-linear histogram (hist.c)                                            */

/*
 * 2^HIST_SUB_BITS linear sub-buckets per power of two: a recorded value is
 * known to within 1/64 (1.6%), about two significant digits, over the whole
 * 64-bit range, in a fixed 30 KiB array.
 */
#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t min, max;
	double sum;
	uint64_t bucket[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
/* Value at quantile q (0..1): the middle of the bucket holding it, clamped to [min, max]. */
double hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

/* ------------------------------------------------------------------------ */
/* Clock (harness.c)                                                        */

struct bench_clock {
	bool tsc;           /* timestamps come from the TSC */
	bool tsc_invariant; /* CPUID.80000007H:EDX[8] */
	double ns_per_tick; /* 1.0 for CLOCK_MONOTONIC */
	double tsc_ghz;
	double tsc_cost_ns;  /* one timestamp read, TSC */
	double mono_cost_ns; /* one clock_gettime(CLOCK_MONOTONIC) */
};

extern struct bench_clock bench_clock;

static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t bench_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (bench_clock.tsc)
		return __builtin_ia32_rdtsc();
#endif
	return mono_ns();
}

static inline uint64_t ticks_to_ns(uint64_t t)
{
	return (uint64_t)((double)t * bench_clock.ns_per_tick + 0.5);
}

static inline uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((double)ns / bench_clock.ns_per_tick);
}

/* A full fence, as the library's notify pays it (src/uipc-private.h,
 * uipc__fence()): on x86-64 a locked OR of 0 into the top of the stack,
 * cheaper than MFENCE; the hand-written peers that need one use this too,
 * so that each is at its best and the rows compare the protocols. */
static inline void full_fence(void)
{
#if defined(__x86_64__)
	__asm__ __volatile__("lock; orl $0, (%%rsp)" ::: "memory", "cc");
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Calibrate against CLOCK_MONOTONIC; use_tsc=false forces clock_gettime. */
void clock_init(bool use_tsc, unsigned calib_ms);

/* ------------------------------------------------------------------------ */
/* Threads, processes, machine (harness.c)                                  */

int pin_self(int cpu);
/* Allowed CPUs of this process, ascending; returns how many. */
unsigned cpus_allowed(int *cpus, unsigned max);

/* A barrier that works between threads and, in MAP_SHARED memory, processes. */
struct sbarrier {
	_Atomic unsigned arrived;
	_Atomic unsigned generation;
	unsigned parties;
};
void sbarrier_init(struct sbarrier *b, unsigned parties);
void sbarrier_wait(struct sbarrier *b);

typedef void *(*thread_fn)(void *);
/* Run fns[i](args[i]) on n threads pinned to cpus[i]; joins them. 0 or -errno. */
int run_pinned(unsigned n, const thread_fn *fns, void **args, const int *cpus);

/* Zeroed MAP_SHARED|MAP_ANONYMOUS memory (survives fork); NULL on failure. */
void *shared_alloc(size_t size);
void shared_free(void *p, size_t size);

struct machine {
	char cpu_model[128];
	char kernel[256];
	char virt[192];
	char hostname[64];
	unsigned ncpus_online;
	unsigned ncpus_allowed;
	char date[32];
};
void machine_probe(struct machine *m);

/* ------------------------------------------------------------------------ */
/* Mechanisms (mech.c)                                                      */

struct link;

enum mech_flags {
	MECH_PROCESS = 1u << 0, /* works between processes (pingpong --process) */
	MECH_UIPC = 1u << 1,
	MECH_SPIN = 1u << 2, /* never blocks: the floor */
	/* poll() is a few loads, no syscall: the receiver may spin on it
	 * before wait() (awake scenarios, the same budget as uipc's). */
	MECH_CHEAP_POLL = 1u << 3,
};

struct mech {
	const char *name;
	unsigned flags;
	int uipc_backend;   /* enum uipc_backend for uipc-*; else -1 */
	char uipc_name[16]; /* uipc backend name */
	char missing[160];  /* non-empty: not available, and why */
	int (*init)(struct link *l);
	void (*fini)(struct link *l);
	int (*rx_open)(struct link *l); /* on the receiver thread, before tx_open */
	void (*rx_close)(struct link *l);
	int (*tx_open)(struct link *l, unsigned i);
	void (*tx_close)(struct link *l, unsigned i);
	int (*notify)(struct link *l, unsigned i);
	/* Block (or spin) until notified; consumes what is pending. 0 or -errno. */
	int (*wait)(struct link *l);
	/* Non-blocking: 1 if something was consumed, 0 if nothing, -errno. */
	int (*poll)(struct link *l);
};

/*
 * One receiver and up to BENCH_MAX_SENDERS senders of one mechanism. Lives in
 * MAP_SHARED memory so that the same object serves threads and processes;
 * pointer fields are meaningful only in the process that set them.
 */
struct link {
	_Alignas(BENCH_CACHELINE) _Atomic uint32_t word; /* shm-spin, futex */
	_Alignas(BENCH_CACHELINE) const struct mech *m;
	unsigned nsenders;
	bool blocked;    /* receiver does not spin (uipc: UIPC_SPIN_NONE) */
	bool nonblock;   /* poll() will be used: fds made non-blocking */
	bool process;    /* senders are in another process */
	int fd[2];       /* eventfd, pipe, socketpair */
	int cap_sock[2]; /* uipc capabilities between processes */
	pid_t rx_pid, rx_tid;
	_Atomic int rx_ready;
	int ring_fd;
	void *ctx; /* uipc_ctx */
	void *rx;  /* receiver-side object */
	void *tx[BENCH_MAX_SENDERS];
	uint64_t consumed; /* receiver-side counter (uv-async) */
};

/* The io_uring loops (uring.c): uring-uipc-futex, uring-uipc-poll, uring-eventfd. */
void bench_uring_mechs(struct mech *(*add)(const char *name, unsigned flags));

/* Fill the table of mechanisms (probing the optional ones); returns how many. */
unsigned mech_table(const struct mech **ret);
const struct mech *mech_find(const char *name);
/* Listed as missing: peers not compiled in, backends not usable. */
void mech_missing_add(const char *name, const char *why);
unsigned mech_missing(const char ***ret_names, const char ***ret_why);
/* Signal used by the "signal" peer; blocked in every thread from the start. */
int mech_signo(void);

struct link *link_new(const struct mech *m, unsigned nsenders, bool blocked, bool nonblock,
                      bool process);
void link_free(struct link *l);

/* ------------------------------------------------------------------------ */
/* Results (output.c)                                                       */

struct result {
	char scenario[32];
	char mechanism[32];
	char backend[16]; /* uipc backend or "" */
	unsigned reps;
	uint64_t samples;
	double p50, p50_min, p50_max;     /* median of repetition p50s and their spread */
	double p90, p99, p999, max, mean; /* over all repetitions */
	double ops_per_s;
	double wakeups_per_s; /* fanin: receiver wakeups */
	double msg_bytes;     /* chan */
	double batch;         /* chan */
	int cpu_rx, cpu_tx;   /* where the receiver / first sender ran */
	int distance;         /* matrix: topology class, -1 unknown */
	const char *unit;     /* what the latencies measure */
	/* Thread CPU time per operation (getrusage(RUSAGE_THREAD)), mean over
	 * repetitions; < 0: not measured. rx: the receiver (pong, the fan-in
	 * receiver); tx: the sender (ping, the fan-in senders together), its
	 * own pauses (gaps, waits for its slot) excluded. */
	double cpu_rx_ns, cpu_tx_ns;
	/* Round trips timed together per latency sample (1: each on its own). */
	unsigned per_sample;
	/* syscalls-* scenarios: system calls per operation, counted with
	 * ptrace in a traced child (tests/lib/syscount.h). */
	bool has_syscalls;
	double syscalls_per_op;
};

/* Thread CPU time of the calling thread, ns (getrusage(RUSAGE_THREAD)). */
uint64_t thread_cpu_ns(void);
/* What the last scenario run measured besides its histogram (rounds()). */
struct run_extra {
	double cpu_rx_ns, cpu_tx_ns; /* per operation; < 0: not measured */
	unsigned per_sample;
};
extern struct run_extra run_extra;

struct opts {
	bool quick, json, csv, process, verbose;
	unsigned reps;
	unsigned run_ms;
	const char *only;  /* comma list of scenarios, NULL: all */
	const char *mechs; /* comma list of mechanisms, NULL: all */
	const char *save;  /* also write the JSON document here */
	int cpu_a, cpu_b;
	int place; /* enum uipc_topo_policy for sender placement */
	bool use_tsc;
};

/* This machine's topology (uipc/topo.h), or NULL when it cannot be read:
 * placement then falls back to the allowed CPUs in order. */
typedef struct uipc_topo uipc_topo; /* uipc/topo.h */
uipc_topo *bench_topo(void);

extern struct opts opts;

void results_add(const struct result *r);
void output_print(const struct machine *mach);

/* ------------------------------------------------------------------------ */
/* Scenarios (scenarios.c, chan.c)                                          */

bool scenario_selected(const char *name);

/* Every repetition runs every mechanism once, in rotating order. */
typedef int (*run_fn)(const struct mech *m, const void *cfg, struct hist *h, double *ret_ops,
                      double *ret_wakeups);
struct round_cfg {
	const char *scenario;
	const char *unit;
	double div; /* recorded values per reported unit (1000: ps recorded, ns reported) */
	int cpu_rx, cpu_tx;
	int distance;
};
void rounds(const struct round_cfg *rc, const struct mech *const *mechs, unsigned n, run_fn run,
            const void *cfg);
/* uv_queue_work() against a uipc work pool in a uv loop (uvwork.c). */
void run_uvwork(void);
bool mech_selected(const struct mech *m);
void run_pingpong(const struct mech *const *mechs, unsigned n, bool blocked, bool process);
void run_oneway(const struct mech *const *mechs, unsigned n);
void run_notify_cost(const struct mech *const *mechs, unsigned n, bool eager);
void run_fanin(const struct mech *const *mechs, unsigned n, unsigned nsenders);
void run_matrix(const struct mech *const *mechs, unsigned n);
void run_chan(void);
/* Syscalls per event-loop step, pollable uipc against a raw eventfd (syscalls.c). */
void run_syscalls(void);
/* Handler mode, uipc against a raw signal handler (handler.c). */
void run_handler(void);
/* The name the chan scenarios report as missing, or NULL when built. */
const char *chan_missing(void);

/* Repetition bookkeeping shared by the scenarios. */
struct repstat {
	struct hist *all; /* merged over repetitions */
	double p50[64];
	double ops[64];
	double wakeups[64];
	unsigned n;
	uint64_t samples;
};
void repstat_init(struct repstat *s);
void repstat_add(struct repstat *s, const struct hist *h, double ops, double wakeups);
void repstat_result(struct repstat *s, struct result *r);
void repstat_fini(struct repstat *s);

#endif
