/* SPDX-License-Identifier: MIT */
/*
 * Soak: the stress patterns, over and over, for as long as asked.
 *
 *   soak [--seconds N]      (default 60; hours are fine)
 *
 * Rounds cycle through three phases until the time is up:
 * - threads: the two phases of test-stress.c (compiled in from there:
 *   several sender threads, a receiver that keeps changing its wait mode;
 *   fire-and-forget, then every notify acknowledged);
 * - processes: sender processes connected through capabilities, each
 *   notify acknowledged by the receiver before the next (a lost wakeup is a
 *   wait that times out with a notify outstanding);
 * - channel: producer processes on one MPSC ring, the consumer checks each
 *   producer's sequence (exactly once, in order) and the total.
 * Progress every 10 s and final counts on stdout; exit 1 at the first lost
 * wakeup or message (with what was lost), 77 if the backend cannot run.
 * The backend is UIPC_BACKEND's, as for the test suite.
 *
 * Not part of `meson test`: run it with `meson test --benchmark --suite soak`
 * (60 s), or directly, e.g. build/tests/soak --seconds 14400.
 */
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* The threaded stress is test-stress.c itself, not a copy of it. */
#define main stress_main
int stress_main(void);
#include "test-stress.c"
#undef main

#define PROCS        2
#define PROC_ROUNDS  5000
#define CHAN_MSGS    100000
#define ACK_LIMIT_NS 10000000000ull
#define PROGRESS_NS  10000000000ull

static struct {
	_Atomic uint64_t rounds, thread_notifies, proc_notifies, chan_msgs;
} counts;

static _Atomic bool stop_monitor;
static uint64_t t_start;

static void report(const char *what)
{
	printf("soak %s: %llus, %llu rounds, %llu notifies across threads, %llu acknowledged "
	       "across processes, %llu channel messages\n",
	       what, (unsigned long long)((t_now_ns() - t_start) / 1000000000u),
	       (unsigned long long)atomic_load(&counts.rounds),
	       (unsigned long long)atomic_load(&counts.thread_notifies),
	       (unsigned long long)atomic_load(&counts.proc_notifies),
	       (unsigned long long)atomic_load(&counts.chan_msgs));
	fflush(stdout);
}

static void *monitor(void *arg)
{
	uint64_t next = t_start + PROGRESS_NS;

	(void)arg;
	while (!atomic_load(&stop_monitor)) {
		t_sleep_ns(100000000);
		if (t_now_ns() >= next) {
			report("progress");
			next += PROGRESS_NS;
		}
	}
	return NULL;
}

__attribute__((format(printf, 1, 2))) _Noreturn static void lost(const char *fmt, ...)
{
	va_list ap;

	printf("soak FAILED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	report("at failure");
	exit(1);
}

/* Phase 1: threads (test-stress.c) ----------------------------------------- */

static void phase_threads(void)
{
	void *state;

	/* test-stress.c's setup/tests/teardown; a failed check exits non-zero. */
	setup(&state);
	test_fire_and_forget(&state);
	atomic_fetch_add(&counts.thread_notifies, ((struct shared *)state)->per_sender * SENDERS);
	teardown(&state);
	setup(&state);
	test_every_notify_seen(&state);
	atomic_fetch_add(&counts.thread_notifies, ((struct shared *)state)->rounds * SENDERS);
	teardown(&state);
}

/* Phase 2: sender processes, every notify acknowledged --------------------- */

struct proc_shm {
	_Atomic uint64_t seq[PROCS], ack[PROCS];
	_Atomic int fail;
};

static struct proc_shm *psh;

static int proc_sender(unsigned id, int cap)
{
	uint64_t rng = t_now_ns() | 1;
	uipc_ctx *ctx;
	uipc_tx *tx;

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_tx_open(ctx, cap, &tx) < 0)
		return 10;
	for (uint64_t k = 1; k <= PROC_ROUNDS; k++) {
		uint64_t end = t_now_ns() + ACK_LIMIT_NS;

		atomic_store(&psh->seq[id], k);
		if (uipc_tx_notify(tx) < 0)
			return 11;
		while (atomic_load(&psh->ack[id]) != k) {
			if (t_now_ns() > end || atomic_load(&psh->fail))
				return 12;
			sched_yield();
		}
		random_pause(&rng);
	}
	uipc_tx_free(tx);
	uipc_ctx_free(ctx);
	return 0;
}

static void reap(pid_t *pids, unsigned n, const char *phase)
{
	for (unsigned i = 0; i < n; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			lost("%s: child %u failed (status 0x%x)", phase, i, (unsigned)st);
	}
}

static void phase_processes(void)
{
	uint64_t rng = t_now_ns() | 1, m;
	pid_t pids[PROCS];
	uipc_ctx *ctx;
	uipc_rx *rx;
	unsigned finished = 0;

	memset(psh, 0, sizeof(*psh));
	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0)
		lost("processes: no receiver");
	for (unsigned i = 0; i < PROCS; i++) {
		int cap = uipc_rx_cap(rx, i * 11);

		if (cap < 0)
			lost("processes: capability failed: %d", cap);
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(proc_sender(i, cap));
		close(cap);
	}
	while (finished < PROCS) {
		int64_t timeout = random_wait_mode(rx, &rng);
		int r = uipc_rx_wait(rx, timeout, &m);

		if (r == -ETIMEDOUT || r == -EAGAIN) { /* -EAGAIN: a poll */
			if (timeout == LONG_WAIT_NS) {
				atomic_store(&psh->fail, 1);
				lost("processes: lost wakeup: seq %llu/%llu, acked %llu/%llu",
				     (unsigned long long)atomic_load(&psh->seq[0]),
				     (unsigned long long)atomic_load(&psh->seq[1]),
				     (unsigned long long)atomic_load(&psh->ack[0]),
				     (unsigned long long)atomic_load(&psh->ack[1]));
			}
			continue;
		}
		if (r < 0)
			lost("processes: wait failed: %d", r);
		finished = 0;
		for (unsigned i = 0; i < PROCS; i++) {
			if (m & (UINT64_C(1) << (i * 11))) {
				atomic_store(&psh->ack[i], atomic_load(&psh->seq[i]));
				atomic_fetch_add(&counts.proc_notifies, 1);
			}
			finished += atomic_load(&psh->ack[i]) == PROC_ROUNDS;
		}
	}
	reap(pids, PROCS, "processes");
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
}

/* Phase 3: producer processes on one MPSC channel ---------------------------- */

struct soak_msg {
	uint64_t producer, k;
};

static int chan_producer(unsigned id, int cap)
{
	uipc_chan_tx *tx;
	uipc_ctx *ctx;

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_chan_tx_open(ctx, cap, &tx) < 0)
		return 10;
	for (uint64_t k = 1; k <= CHAN_MSGS; k++) {
		struct soak_msg mg = {id, k};

		if (uipc_chan_send_wait(tx, &mg, sizeof(mg), (int64_t)ACK_LIMIT_NS) < 0)
			return 11;
	}
	uipc_chan_tx_free(tx);
	uipc_ctx_free(ctx);
	return 0;
}

static void phase_channel(void)
{
	struct uipc_chan_config cfg = {
	    .msg_size = sizeof(struct soak_msg), .capacity = 64, .flags = UIPC_CHAN_MPSC};
	uint64_t next[PROCS], total = 0;
	struct soak_msg mg;
	pid_t pids[PROCS];
	uipc_chan *chan;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int r;

	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0 ||
	    uipc_chan_new(rx, 3, &cfg, &chan) < 0)
		lost("channel: no consumer");
	for (unsigned i = 0; i < PROCS; i++) {
		int cap = uipc_chan_cap(chan);

		if (cap < 0)
			lost("channel: capability failed: %d", cap);
		next[i] = 1;
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(chan_producer(i, cap));
		close(cap);
	}
	/* Until every producer is gone and the ring is empty (-EPIPE). */
	while ((r = uipc_chan_recv(chan, &mg, sizeof(mg), (int64_t)ACK_LIMIT_NS)) != -EPIPE) {
		if (r < 0)
			lost("channel: recv %d after %llu messages", r, (unsigned long long)total);
		if (mg.producer >= PROCS || mg.k != next[mg.producer])
			lost("channel: got message %llu of producer %llu, expected %llu",
			     (unsigned long long)mg.k, (unsigned long long)mg.producer,
			     (unsigned long long)(mg.producer < PROCS ? next[mg.producer] : 0));
		next[mg.producer]++;
		total++;
		atomic_fetch_add(&counts.chan_msgs, 1);
	}
	if (total != (uint64_t)PROCS * CHAN_MSGS)
		lost("channel: %llu of %llu messages", (unsigned long long)total,
		     (unsigned long long)PROCS * CHAN_MSGS);
	reap(pids, PROCS, "channel");
	uipc_chan_free(chan);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	uint64_t seconds = 60, end;
	pthread_t mon;
	uipc_ctx *probe;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: %s [--seconds N]\n", argv[0]);
			return 2;
		}
	}
	r = uipc_ctx_new(NULL, &probe);
	TEST_SKIP_IF(r < 0, "backend %s is not usable on this machine", test_backend());
	printf("soak: backend %s, %llu s\n", uipc_ctx_backend_name(probe),
	       (unsigned long long)seconds);
	uipc_ctx_free(probe);
	psh = mmap(NULL, sizeof(*psh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (psh == MAP_FAILED)
		return 1;
	t_start = t_now_ns();
	end = t_start + seconds * 1000000000u;
	pthread_create(&mon, NULL, monitor, NULL);
	do {
		phase_threads();
		phase_processes();
		phase_channel();
		atomic_fetch_add(&counts.rounds, 1);
	} while (t_now_ns() < end);
	atomic_store(&stop_monitor, true);
	pthread_join(mon, NULL);
	report("done");
	return 0;
}
