/* SPDX-License-Identifier: MIT */
/*
 * uipc-idle: what an idle server costs. Opens N receivers, each with a thread
 * blocked in uipc_rx_wait() forever, and N channels, each with a consumer
 * thread blocked in uipc_chan_recv() forever and one attached producer (in
 * this process, or with --xproc in a child process), lets them settle, and
 * measures over a window what the blocked threads cost while nothing is sent.
 * Every rate is per second of the window, summed per kind of thread:
 *
 *   wakeups/s   voluntary + involuntary context switches of each thread
 *               (/proc/PID/task/TID/status): each time a blocked thread ran
 *               and blocked again. runs/s: the third field of .../schedstat
 *               (times it got a CPU; needs CONFIG_SCHED_INFO, else n/a).
 *   syscalls/s  a per-thread perf counter on the raw_syscalls:sys_enter
 *               tracepoint, counting only (no sampling): allowed for one's own
 *               threads at perf_event_paranoid <= 2, but the tracepoint id
 *               lives in tracefs, usually readable by root only; "n/a" then.
 *               A manual breakdown by call: strace -f -c -p PID during the
 *               window (it perturbs what it measures).
 *   IPIs/s      RES, CAL and TLB lines of /proc/interrupts, summed over CPUs:
 *               machine-wide, so other processes count too; the same window
 *               is measured before setup as a baseline. n/a when unreadable.
 *   CPU         getrusage(RUSAGE_SELF) user + sys, seconds per second.
 *
 * Threads present when the window opens are counted; the main thread (it
 * sleeps through the window and reads the counters around it) has its own
 * row, as does the producer process.
 *
 * Then it wakes every receiver (one notify) and every consumer (one message),
 * joins the threads and checks that each woke once, only after the window,
 * with what was sent, and with nothing more pending. Exit status: 0; 1 when
 * a wakeup was lost, early or wrong; 2 on bad usage or a setup failure.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uipc.h>

#define STACK_SIZE  (64 * 1024)
#define WAKE_WAIT_S 20
#define MAGIC       UINT64_C(0x75697063646c6531)
#define MAX_THREADS 100000

enum role { ROLE_RECEIVER, ROLE_CONSUMER, ROLE_MAIN, ROLE_OTHER, ROLE_CHILD, ROLE__COUNT };

/* Threads of the process, by what they do; the producer process apart. */
static const char *const role_names[ROLE__COUNT] = {"receivers", "consumers", "main", "other",
                                                    "producer-process"};

struct options {
	long receivers, channels;
	double seconds, settle;
	const char *backend;
	bool xproc, json;
};

/* One blocked thread. Written by it before it announces (ready, done) under
 * the lock; read by main after. */
struct worker {
	pthread_t thread;
	enum role role;
	pid_t tid;
	uipc_rx *rx;
	uipc_tx *tx;             /* receivers: the sender that wakes it */
	uipc_chan *chan;         /* consumers */
	uipc_chan_tx *producer;  /* consumers without --xproc */
	const char *failed_call; /* setup */
	int setup_err, wait_ret, eintr;
	bool early, extra;
	uint64_t got; /* mask or message */
};

/* Counters of one thread at one instant. */
struct counts {
	uint64_t switches, runs, syscalls;
	bool have_runs, have_syscalls;
};

struct task {
	pid_t pid, tid;
	enum role role;
	int perf_fd;
	struct counts start, end;
};

/* The IPI lines of /proc/interrupts, summed over CPUs. */
enum ipi { IPI_RES, IPI_CAL, IPI_TLB, IPI__COUNT };
static const char *const ipi_names[IPI__COUNT] = {"RES", "CAL", "TLB"};

struct ipis {
	uint64_t n[IPI__COUNT];
	bool ok;
};

struct role_sum {
	long threads;
	double switches, runs, syscalls, max_switches;
	bool have_runs, have_syscalls;
};

struct report {
	double window, cpu_user, cpu_sys;
	struct role_sum roles[ROLE__COUNT];
	double ipi_rate[IPI__COUNT], ipi_base[IPI__COUNT];
	bool ipi_ok, base_ok;
	const char *syscall_note;
	long woke, expected, early, lost, wrong, eintr;
	long eintr_by[ROLE__COUNT]; /* -EINTR returns, though the tool sends no signal */
};

static struct {
	struct options opt;
	uipc_ctx *ctx;
	struct worker *workers;
	long started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long ready, done;
	atomic_bool stopping;
	int sock; /* --xproc: to the producer process */
	pthread_mutex_t sock_lock;
	pid_t child;
	struct task *tasks;
	size_t ntasks;
	uint64_t tracepoint;
} g = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .sock_lock = PTHREAD_MUTEX_INITIALIZER,
    .sock = -1,
};

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s,
	                      .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* Workers ----------------------------------------------------------------- */

static void announce(long *counter)
{
	pthread_mutex_lock(&g.lock);
	(*counter)++;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
}

static int receiver_setup(struct worker *w)
{
	int r;

	w->failed_call = "uipc_rx_new";
	r = uipc_rx_new(g.ctx, 0, &w->rx);
	if (r == 0) {
		w->failed_call = "uipc_tx_new";
		r = uipc_tx_new(w->rx, 0, &w->tx);
	}
	return r;
}

static int give_producer(struct worker *w)
{
	int r;

	/* One capability per message on the shared socket, in any order: the
	 * producer process sends the same message to every channel. */
	pthread_mutex_lock(&g.sock_lock);
	r = uipc_chan_cap_send(w->chan, g.sock);
	pthread_mutex_unlock(&g.sock_lock);
	return r;
}

static int consumer_setup(struct worker *w)
{
	const struct uipc_chan_config config = {.msg_size = sizeof(uint64_t), .capacity = 4};
	int r;

	w->failed_call = "uipc_rx_new";
	r = uipc_rx_new(g.ctx, 0, &w->rx);
	if (r == 0) {
		w->failed_call = "uipc_chan_new";
		r = uipc_chan_new(w->rx, 0, &config, &w->chan);
	}
	if (r == 0 && g.opt.xproc) {
		w->failed_call = "uipc_chan_cap_send";
		r = give_producer(w);
	} else if (r == 0) {
		w->failed_call = "uipc_chan_tx_new";
		r = uipc_chan_tx_new(w->chan, &w->producer);
	}
	return r;
}

static void worker_free(struct worker *w)
{
	uipc_chan_tx_free(w->producer);
	uipc_chan_free(w->chan);
	uipc_tx_free(w->tx);
	uipc_rx_free(w->rx);
	w->producer = NULL, w->chan = NULL, w->tx = NULL, w->rx = NULL;
}

static void receiver_block(struct worker *w)
{
	uint64_t mask = 0, more;
	int r;

	while ((r = uipc_rx_wait(w->rx, -1, &mask)) == -EINTR)
		w->eintr++;
	w->early = !atomic_load(&g.stopping);
	w->wait_ret = r;
	w->got = mask;
	if (r == 0)
		w->extra = uipc_rx_poll(w->rx, &more) == 0;
}

static void consumer_block(struct worker *w)
{
	uint64_t msg = 0, more;
	int r;

	while ((r = uipc_chan_recv(w->chan, &msg, sizeof(msg), -1)) == -EINTR)
		w->eintr++;
	w->early = !atomic_load(&g.stopping);
	w->wait_ret = r;
	w->got = msg;
	/* -EAGAIN, or -EPIPE once a producer process has left: nothing more. */
	if (r == 0)
		w->extra = uipc_chan_recv(w->chan, &more, sizeof(more), 0) == 0;
}

/* Each thread makes its own receiver: the receiver belongs to the thread
 * that creates it (the signal backend signals that thread). */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = gettid_();
	w->setup_err = w->role == ROLE_RECEIVER ? receiver_setup(w) : consumer_setup(w);
	if (w->setup_err < 0)
		worker_free(w);
	announce(&g.ready);
	if (w->setup_err < 0)
		return NULL;
	if (w->role == ROLE_RECEIVER)
		receiver_block(w);
	else
		consumer_block(w);
	announce(&g.done);
	return NULL;
}

static int start_workers(void)
{
	long total = g.opt.receivers + g.opt.channels;
	pthread_attr_t attr;
	int r = 0;

	pthread_attr_init(&attr);
	/* 2,000 threads that only block: small stacks keep them cheap. */
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (long i = 0; i < total && r == 0; i++) {
		struct worker *w = &g.workers[i];

		w->role = i < g.opt.receivers ? ROLE_RECEIVER : ROLE_CONSUMER;
		r = -pthread_create(&w->thread, &attr, worker_main, w);
		if (r == 0)
			g.started++;
		else
			fprintf(stderr, "uipc-idle: cannot start thread %ld of %ld: %s\n", i + 1,
			        total, strerror(-r));
	}
	pthread_attr_destroy(&attr);
	return r;
}

static void wait_count(long *counter, long target)
{
	pthread_mutex_lock(&g.lock);
	while (*counter < target)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
}

static int setup_errors(void)
{
	int first = 0;

	for (long i = 0; i < g.started; i++) {
		const struct worker *w = &g.workers[i];

		if (w->setup_err < 0 && first == 0) {
			first = w->setup_err;
			fprintf(stderr, "uipc-idle: %s (%s %ld): %s\n", w->failed_call,
			        w->role == ROLE_RECEIVER ? "receiver" : "channel",
			        w->role == ROLE_RECEIVER ? i : i - g.opt.receivers,
			        strerror(-w->setup_err));
		}
	}
	if (first == -EMFILE || first == -ENFILE)
		fprintf(stderr, "uipc-idle: out of file descriptors: lower --receivers/--channels "
		                "or raise the hard RLIMIT_NOFILE (ulimit -Hn)\n");
	return first;
}

/* The producer process (--xproc) ------------------------------------------ */

static int send_status(int sock, int status)
{
	ssize_t n = send(sock, &status, sizeof(status), MSG_NOSIGNAL);

	return n == (ssize_t)sizeof(status) ? 0 : -EPIPE;
}

static int child_send_all(uipc_chan_tx **tx, long n)
{
	int failed = 0;

	for (long i = 0; i < n; i++)
		if (uipc_chan_send(tx[i], &(uint64_t){MAGIC}, sizeof(uint64_t)) < 0)
			failed++;
	return failed;
}

/* Attach n producers from capabilities on sock, report, wait for the word,
 * send one message to each, report how many sends failed. */
static int child_main(int sock, long n, const char *backend)
{
	uipc_chan_tx **tx = calloc((size_t)n + 1, sizeof(*tx));
	uipc_ctx *ctx = NULL;
	int status = tx ? uipc_ctx_new(backend, &ctx) : -ENOMEM;
	long attached = 0;
	char cmd;

	while (status == 0 && attached < n) {
		status = uipc_chan_tx_open_sock(ctx, sock, &tx[attached]);
		attached += status == 0;
	}
	if (send_status(sock, status) == 0 && status == 0 && read(sock, &cmd, 1) == 1) {
		status = child_send_all(tx, n);
		if (send_status(sock, status) < 0)
			status = -EPIPE;
	}
	for (long i = 0; i < attached; i++)
		uipc_chan_tx_free(tx[i]);
	free(tx);
	uipc_ctx_free(ctx);
	return status == 0 ? 0 : 1;
}

static int fork_producers(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	g.child = fork();
	if (g.child < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (g.child == 0) {
		close(sv[0]);
		_exit(child_main(sv[1], g.opt.channels, g.opt.backend));
	}
	close(sv[1]);
	g.sock = sv[0];
	return 0;
}

static int read_status(void)
{
	int status;
	ssize_t n = read(g.sock, &status, sizeof(status));

	if (n == (ssize_t)sizeof(status))
		return status;
	return n < 0 ? -errno : -EPIPE;
}

/* Counters ------------------------------------------------------------------ */

static int read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n > 0 ? 0 : -EIO;
}

static uint64_t field(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p ? strtoull(p + strlen(name), NULL, 10) : 0;
}

static void read_task(struct task *t, struct counts *c)
{
	char path[64], buf[4096];
	uint64_t v;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", t->pid, t->tid);
	if (read_file(path, buf, sizeof(buf)) == 0)
		c->switches = field(buf, "\nvoluntary_ctxt_switches:") +
		              field(buf, "\nnonvoluntary_ctxt_switches:");
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", t->pid, t->tid);
	if (read_file(path, buf, sizeof(buf)) == 0)
		c->have_runs = sscanf(buf, "%*u %*u %" SCNu64, &c->runs) == 1;
	if (t->perf_fd >= 0 && read(t->perf_fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
		c->syscalls = v;
		c->have_syscalls = true;
	}
}

/* raw_syscalls:sys_enter, counted per thread (not sampled): allowed for
 * one's own threads up to perf_event_paranoid 2, once the id is readable. */
static int find_tracepoint(void)
{
	static const char *const paths[] = {
	    "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
	    "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
	};
	char buf[32];
	int r = -ENOENT;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && r < 0; i++)
		r = read_file(paths[i], buf, sizeof(buf));
	if (r == 0)
		g.tracepoint = strtoull(buf, NULL, 10);
	return r;
}

static int open_perf(pid_t tid)
{
	struct perf_event_attr attr = {
	    .type = PERF_TYPE_TRACEPOINT,
	    .size = sizeof(attr),
	    .config = g.tracepoint,
	};
	long fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : (int)fd;
}

static int add_task(pid_t pid, pid_t tid, enum role role)
{
	struct task *t;

	if (g.ntasks % 1024 == 0) {
		t = realloc(g.tasks, (g.ntasks + 1024) * sizeof(*t));
		if (!t)
			return -ENOMEM;
		g.tasks = t;
	}
	t = &g.tasks[g.ntasks++];
	*t = (struct task){.pid = pid, .tid = tid, .role = role, .perf_fd = -1};
	return 0;
}

static bool known_tid(pid_t tid)
{
	for (size_t i = 0; i < g.ntasks; i++)
		if (g.tasks[i].tid == tid && g.tasks[i].pid == getpid())
			return true;
	return false;
}

/* Threads of pid not yet in the table get role. */
static int add_tasks_of(pid_t pid, enum role role)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while (r == 0 && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid > 0 && (pid != getpid() || !known_tid(tid)))
			r = add_task(pid, tid, role);
	}
	closedir(d);
	return r;
}

static int build_tasks(void)
{
	int r = add_task(getpid(), gettid_(), ROLE_MAIN);

	for (long i = 0; i < g.started && r == 0; i++)
		r = add_task(getpid(), g.workers[i].tid, g.workers[i].role);
	if (r == 0)
		r = add_tasks_of(getpid(), ROLE_OTHER);
	if (r == 0 && g.child > 0)
		r = add_tasks_of(g.child, ROLE_CHILD);
	return r;
}

/* Per-thread syscall counters; a note says why there are none. */
static const char *open_counters(void)
{
	int r = find_tracepoint();

	if (r < 0)
		return "n/a: tracefs raw_syscalls/sys_enter/id not readable";
	for (size_t i = 0; i < g.ntasks; i++) {
		r = open_perf(g.tasks[i].tid);
		if (r < 0) {
			for (size_t j = 0; j < i; j++)
				close(g.tasks[j].perf_fd), g.tasks[j].perf_fd = -1;
			return r == -EMFILE ? "n/a: out of fds for perf counters"
			                    : "n/a: perf_event_open refused (perf_event_paranoid?)";
		}
		g.tasks[i].perf_fd = r;
	}
	return NULL;
}

static void close_counters(void)
{
	for (size_t i = 0; i < g.ntasks; i++)
		if (g.tasks[i].perf_fd >= 0)
			close(g.tasks[i].perf_fd);
	free(g.tasks);
	g.tasks = NULL;
	g.ntasks = 0;
}

static bool ipi_label(const char *line, enum ipi *ret)
{
	char label[16];

	if (sscanf(line, " %15[^:]:", label) != 1)
		return false;
	for (int i = 0; i < IPI__COUNT; i++)
		if (strcmp(label, ipi_names[i]) == 0)
			return *ret = (enum ipi)i, true;
	return false;
}

/* Sum of the per-CPU columns; the first line names the CPUs. */
static struct ipis read_ipis(void)
{
	struct ipis v = {0};
	char line[4096];
	int ncpu = 0;
	FILE *f = fopen("/proc/interrupts", "re");

	if (!f)
		return v;
	if (fgets(line, sizeof(line), f))
		for (char *p = line; (p = strstr(p, "CPU")); p += 3)
			ncpu++;
	while (fgets(line, sizeof(line), f)) {
		enum ipi k;
		char *p = strchr(line, ':');

		if (!p || !ipi_label(line, &k))
			continue;
		p++;
		for (int c = 0; c < ncpu; c++)
			v.n[k] += strtoull(p, &p, 10);
		v.ok = true;
	}
	fclose(f);
	return v;
}

static double cpu_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Measurement ---------------------------------------------------------------- */

static void sum_roles(struct report *rep)
{
	for (size_t i = 0; i < g.ntasks; i++) {
		const struct task *t = &g.tasks[i];
		struct role_sum *s = &rep->roles[t->role];
		double sw = (double)(t->end.switches - t->start.switches) / rep->window;

		s->threads++;
		s->switches += sw;
		if (sw > s->max_switches)
			s->max_switches = sw;
		s->have_runs |= t->start.have_runs && t->end.have_runs;
		if (t->start.have_runs && t->end.have_runs)
			s->runs += (double)(t->end.runs - t->start.runs) / rep->window;
		s->have_syscalls |= t->start.have_syscalls && t->end.have_syscalls;
		if (t->start.have_syscalls && t->end.have_syscalls)
			s->syscalls += (double)(t->end.syscalls - t->start.syscalls) / rep->window;
	}
}

static void ipi_rates(const struct ipis *a, const struct ipis *b, double window, double *out)
{
	for (int i = 0; i < IPI__COUNT; i++)
		out[i] = (double)(b->n[i] - a->n[i]) / window;
}

static void measure_baseline(struct report *rep)
{
	struct ipis a = read_ipis(), b;
	double t0 = now_s();

	sleep_s(g.opt.seconds);
	b = read_ipis();
	rep->base_ok = a.ok && b.ok;
	if (rep->base_ok)
		ipi_rates(&a, &b, now_s() - t0, rep->ipi_base);
}

static void measure(struct report *rep)
{
	struct rusage ru0, ru1;
	struct ipis i0, i1;
	double t0, t1;

	/* Main (task 0) is read last here and first at the end: its count
	 * holds the window's sleep, not the reading of the others. */
	for (size_t i = g.ntasks; i-- > 0;)
		read_task(&g.tasks[i], &g.tasks[i].start);
	i0 = read_ipis();
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_s();
	sleep_s(g.opt.seconds);
	t1 = now_s();
	getrusage(RUSAGE_SELF, &ru1);
	i1 = read_ipis();
	for (size_t i = 0; i < g.ntasks; i++)
		read_task(&g.tasks[i], &g.tasks[i].end);
	rep->window = t1 - t0;
	rep->cpu_user = (cpu_s(&ru1.ru_utime) - cpu_s(&ru0.ru_utime)) / rep->window;
	rep->cpu_sys = (cpu_s(&ru1.ru_stime) - cpu_s(&ru0.ru_stime)) / rep->window;
	rep->ipi_ok = i0.ok && i1.ok;
	if (rep->ipi_ok)
		ipi_rates(&i0, &i1, rep->window, rep->ipi_rate);
	sum_roles(rep);
}

/* Wake and check ------------------------------------------------------------- */

static int kick(struct worker *w)
{
	if (w->setup_err < 0)
		return 0;
	if (w->role == ROLE_RECEIVER)
		return uipc_tx_notify(w->tx);
	if (w->producer)
		return uipc_chan_send(w->producer, &(uint64_t){MAGIC}, sizeof(uint64_t));
	return 0;
}

static long expected_wakeups(void)
{
	long n = 0;

	for (long i = 0; i < g.started; i++)
		n += g.workers[i].setup_err == 0;
	return n;
}

/* Send the one wakeup each thread waits for; the producer process sends the
 * messages of --xproc channels. Returns how many sends failed. After a setup
 * failure (!verbose) some are expected to fail: only the first error counts. */
static long wake_all(bool verbose)
{
	long failed = 0;
	char cmd = 'w';
	int r;

	atomic_store(&g.stopping, true);
	for (long i = 0; i < g.started; i++)
		if ((r = kick(&g.workers[i])) < 0 && failed++ == 0 && verbose)
			fprintf(stderr, "uipc-idle: wake thread %ld: %s\n", i, strerror(-r));
	if (g.sock >= 0 && send(g.sock, &cmd, 1, MSG_NOSIGNAL) == 1) {
		r = read_status();
		if (r != 0 && verbose)
			fprintf(stderr, "uipc-idle: producer process: %s\n",
			        r < 0 ? strerror(-r) : "sends failed");
		failed += r != 0;
	}
	return failed;
}

/* Wait for every woken thread, at most WAKE_WAIT_S. Returns how many did not
 * come back. */
static long wait_woken(long expected)
{
	struct timespec deadline;
	int r = 0;
	long missing;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += WAKE_WAIT_S;
	pthread_mutex_lock(&g.lock);
	while (g.done < expected && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&g.cond, &g.lock, &deadline);
	missing = expected - g.done;
	pthread_mutex_unlock(&g.lock);
	return missing;
}

static bool woke_right(const struct worker *w)
{
	if (w->role == ROLE_RECEIVER)
		return w->wait_ret == 0 && w->got == 1;
	return w->wait_ret == 0 && w->got == MAGIC;
}

static void print_wrong(long i, const struct worker *w)
{
	fprintf(stderr, "uipc-idle: thread %ld woke with %d (%s), got %#" PRIx64 "%s\n", i,
	        w->wait_ret, strerror(w->wait_ret < 0 ? -w->wait_ret : 0), w->got,
	        w->extra ? ", and more was pending" : "");
}

static void check_workers(struct report *rep, bool verbose)
{
	for (long i = 0; i < g.started; i++) {
		struct worker *w = &g.workers[i];

		pthread_join(w->thread, NULL);
		if (w->setup_err < 0)
			continue;
		rep->early += w->early;
		rep->eintr += w->eintr;
		rep->eintr_by[w->role] += w->eintr;
		if (!woke_right(w) || w->extra) {
			if (rep->wrong++ == 0 && verbose)
				print_wrong(i, w);
		} else if (!w->early) {
			rep->woke++;
		}
		worker_free(w);
	}
}

/* Returns false when a thread is stuck: it cannot be joined, nothing is freed. */
static bool finish(struct report *rep, bool verbose)
{
	long failed = wake_all(verbose);

	/* The producer process has sent (or gave up): let it go, so that
	 * consumers whose producers never attached see them gone. */
	if (g.sock >= 0)
		close(g.sock), g.sock = -1;
	if (g.child > 0)
		waitpid(g.child, NULL, 0), g.child = 0;
	rep->expected = expected_wakeups();
	rep->lost = wait_woken(rep->expected);
	if (rep->lost > 0) {
		fprintf(stderr, "uipc-idle: %ld of %ld threads did not wake within %d s%s\n",
		        rep->lost, rep->expected, WAKE_WAIT_S,
		        failed ? " (some wakeups could not be sent)" : ": lost wakeups");
		return false;
	}
	check_workers(rep, verbose);
	return true;
}

/* Output ------------------------------------------------------------------------ */

static void print_rate(FILE *f, bool have, double v)
{
	if (have)
		fprintf(f, " %12.1f", v);
	else
		fprintf(f, " %12s", "n/a");
}

static struct role_sum process_sum(const struct report *rep)
{
	struct role_sum p = {.have_runs = true, .have_syscalls = true};

	for (int i = 0; i < ROLE__COUNT; i++) {
		const struct role_sum *s = &rep->roles[i];

		if (i == ROLE_CHILD || s->threads == 0)
			continue;
		p.threads += s->threads;
		p.switches += s->switches;
		p.runs += s->runs;
		p.syscalls += s->syscalls;
		p.have_runs &= s->have_runs;
		p.have_syscalls &= s->have_syscalls;
		if (s->max_switches > p.max_switches)
			p.max_switches = s->max_switches;
	}
	return p;
}

static void table_row(const char *name, const struct role_sum *s)
{
	printf("%-18s %8ld %12.1f %12.1f", name, s->threads, s->switches, s->max_switches);
	print_rate(stdout, s->have_runs, s->runs);
	print_rate(stdout, s->have_syscalls, s->syscalls);
	printf("\n");
}

static void print_ipis(const char *what, bool ok, const double *rate)
{
	printf("%-28s", what);
	if (!ok) {
		printf(" n/a (/proc/interrupts not readable)\n");
		return;
	}
	for (int i = 0; i < IPI__COUNT; i++)
		printf(" %s %.1f", ipi_names[i], rate[i]);
	printf("  total %.1f\n", rate[IPI_RES] + rate[IPI_CAL] + rate[IPI_TLB]);
}

static void print_table(const struct report *rep)
{
	struct role_sum p = process_sum(rep);

	printf("uipc-idle: backend %s, %ld receivers + %ld channels (producers %s), "
	       "%.2f s window after %.2f s settle\n",
	       uipc_ctx_backend_name(g.ctx), g.opt.receivers, g.opt.channels,
	       g.opt.xproc ? "in a child process" : "in-process", rep->window, g.opt.settle);
	printf("%-18s %8s %12s %12s %12s %12s\n", "threads", "count", "wakeups/s", "max/thread",
	       "runs/s", "syscalls/s");
	for (int i = 0; i < ROLE__COUNT; i++)
		if (rep->roles[i].threads > 0)
			table_row(role_names[i], &rep->roles[i]);
	table_row("process", &p);
	if (rep->syscall_note)
		printf("syscalls: %s\n", rep->syscall_note);
	printf("%-28s %.4f (user %.4f, sys %.4f)\n", "CPU s/s (process)",
	       rep->cpu_user + rep->cpu_sys, rep->cpu_user, rep->cpu_sys);
	print_ipis("IPIs/s (machine-wide)", rep->ipi_ok, rep->ipi_rate);
	print_ipis("IPIs/s before setup", rep->base_ok, rep->ipi_base);
	printf("wakeup check: %ld of %ld woke once, as sent (%ld early, %ld lost, %ld wrong, "
	       "%ld EINTR)\n",
	       rep->woke, rep->expected, rep->early, rep->lost, rep->wrong, rep->eintr);
	if (rep->eintr > 0)
		printf("EINTR returns: receivers %ld, consumers %ld (no signal was sent)\n",
		       rep->eintr_by[ROLE_RECEIVER], rep->eintr_by[ROLE_CONSUMER]);
}

static void json_rate(const char *key, bool have, double v, const char *sep)
{
	if (have)
		printf("\"%s\": %.3f%s", key, v, sep);
	else
		printf("\"%s\": null%s", key, sep);
}

static void json_role(const char *name, const struct role_sum *s, const char *sep)
{
	printf("    {\"role\": \"%s\", \"threads\": %ld, ", name, s->threads);
	json_rate("wakeups_per_s", true, s->switches, ", ");
	json_rate("max_thread_wakeups_per_s", true, s->max_switches, ", ");
	json_rate("runs_per_s", s->have_runs, s->runs, ", ");
	json_rate("syscalls_per_s", s->have_syscalls, s->syscalls, "}");
	printf("%s\n", sep);
}

static void json_ipis(const char *key, bool ok, const double *rate)
{
	printf("  \"%s\": ", key);
	if (!ok) {
		printf("null,\n");
		return;
	}
	printf("{");
	for (int i = 0; i < IPI__COUNT; i++)
		printf("\"%s\": %.3f, ", ipi_names[i], rate[i]);
	printf("\"total\": %.3f},\n", rate[IPI_RES] + rate[IPI_CAL] + rate[IPI_TLB]);
}

static void print_json(const struct report *rep)
{
	struct role_sum p = process_sum(rep);

	printf("{\n  \"tool\": \"uipc-idle\",\n  \"backend\": \"%s\",\n",
	       uipc_ctx_backend_name(g.ctx));
	printf("  \"receivers\": %ld,\n  \"channels\": %ld,\n  \"xproc\": %s,\n", g.opt.receivers,
	       g.opt.channels, g.opt.xproc ? "true" : "false");
	printf("  \"window_s\": %.3f,\n  \"settle_s\": %.3f,\n", rep->window, g.opt.settle);
	printf("  \"roles\": [\n");
	for (int i = 0; i < ROLE__COUNT; i++)
		json_role(role_names[i], &rep->roles[i], ",");
	json_role("process", &p, "");
	printf("  ],\n  \"syscall_counter\": ");
	if (rep->syscall_note)
		printf("null,\n");
	else
		printf("\"perf raw_syscalls:sys_enter per thread\",\n");
	printf("  \"cpu_s_per_s\": {\"user\": %.6f, \"sys\": %.6f, \"total\": %.6f},\n",
	       rep->cpu_user, rep->cpu_sys, rep->cpu_user + rep->cpu_sys);
	json_ipis("ipis_per_s", rep->ipi_ok, rep->ipi_rate);
	json_ipis("ipis_per_s_before_setup", rep->base_ok, rep->ipi_base);
	printf("  \"expected_wakeups\": %ld,\n  \"woke\": %ld,\n  \"early\": %ld,\n", rep->expected,
	       rep->woke, rep->early);
	printf("  \"lost\": %ld,\n  \"wrong\": %ld,\n", rep->lost, rep->wrong);
	printf("  \"eintr\": {\"receivers\": %ld, \"consumers\": %ld},\n",
	       rep->eintr_by[ROLE_RECEIVER], rep->eintr_by[ROLE_CONSUMER]);
	printf("  \"verified\": %s\n}\n", rep->woke == rep->expected ? "true" : "false");
}

/* Setup ----------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: uipc-idle [--receivers N] [--channels N] [--backend NAME] [--xproc]\n"
	           "                 [--seconds S] [--settle S] [--json]\n"
	           "  N idle receivers and N idle channel consumers (default 1000 each),\n"
	           "  measured for S seconds (default 3) after a settle time (default 1).\n");
}

static bool parse_count(const char *s, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > MAX_THREADS / 2)
		return false;
	*ret = v;
	return true;
}

static bool parse_seconds(const char *s, double min, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min) || v > 3600)
		return false;
	*ret = v;
	return true;
}

static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"receivers", required_argument, NULL, 'r'},
	    {"channels", required_argument, NULL, 'c'},
	    {"backend", required_argument, NULL, 'b'},
	    {"seconds", required_argument, NULL, 's'},
	    {"settle", required_argument, NULL, 'S'},
	    {"xproc", no_argument, NULL, 'x'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct options *o = &g.opt;
	bool ok = true;
	int c, index = 0;

	*o = (struct options){.receivers = 1000, .channels = 1000, .seconds = 3, .settle = 1};
	while (ok && (c = getopt_long(argc, argv, "", longopts, &index)) != -1) {
		switch (c) {
		case 'r':
			ok = parse_count(optarg, &o->receivers);
			break;
		case 'c':
			ok = parse_count(optarg, &o->channels);
			break;
		case 'b':
			o->backend = optarg;
			break;
		case 's':
			ok = parse_seconds(optarg, 0.001, &o->seconds);
			break;
		case 'S':
			ok = parse_seconds(optarg, 0, &o->settle);
			break;
		case 'x':
			o->xproc = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			ok = false;
			break;
		}
	}
	if (!ok && c != '?')
		fprintf(stderr, "uipc-idle: bad value for --%s: '%s'\n", longopts[index].name,
		        optarg);
	else if (ok && optind != argc)
		fprintf(stderr, "uipc-idle: unexpected argument '%s'\n", argv[optind]);
	if (!ok || optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Each receiver and channel holds a few fds (memfds, eventfds, capability
 * sockets, per-thread perf counters): take all the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int setup(void)
{
	long total = g.opt.receivers + g.opt.channels;
	pthread_condattr_t attr;
	int r;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&g.cond, &attr);
	pthread_condattr_destroy(&attr);
	g.workers = calloc((size_t)total + 1, sizeof(*g.workers));
	if (!g.workers)
		return -ENOMEM;
	/* Before any thread or library state exists: the child starts clean. */
	if (g.opt.xproc && g.opt.channels > 0 && (r = fork_producers()) < 0) {
		fprintf(stderr, "uipc-idle: producer process: %s\n", strerror(-r));
		return r;
	}
	r = uipc_ctx_new(g.opt.backend, &g.ctx);
	if (r < 0) {
		fprintf(stderr, "uipc-idle: backend %s: %s\n",
		        g.opt.backend ? g.opt.backend : "auto", strerror(-r));
		return r;
	}
	return 0;
}

static int start(void)
{
	int r = start_workers();

	wait_count(&g.ready, g.started);
	if (r == 0)
		r = setup_errors();
	if (r == 0 && g.sock >= 0 && (r = read_status()) != 0)
		fprintf(stderr, "uipc-idle: producer process could not attach: %s\n",
		        strerror(r < 0 ? -r : EPROTO));
	return r;
}

int main(int argc, char **argv)
{
	struct report rep = {0};
	bool verified;
	int r;

	if (parse_options(argc, argv) < 0)
		return 2;
	raise_nofile();
	measure_baseline(&rep);
	r = setup();
	if (r == 0)
		r = start();
	if (r == 0) {
		r = build_tasks();
		if (r < 0)
			fprintf(stderr, "uipc-idle: listing threads: %s\n", strerror(-r));
	}
	if (r == 0) {
		rep.syscall_note = open_counters();
		sleep_s(g.opt.settle);
		measure(&rep);
	}
	close_counters();
	verified = finish(&rep, r == 0);
	if (r == 0 && g.opt.json)
		print_json(&rep);
	else if (r == 0)
		print_table(&rep);
	if (!verified)
		return 1; /* threads still blocked: nothing may be freed */
	uipc_ctx_free(g.ctx);
	free(g.workers);
	if (r < 0)
		return 2;
	return rep.woke == rep.expected ? 0 : 1;
}
