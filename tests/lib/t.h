/* SPDX-License-Identifier: MIT */
/*
 * The test helper library: what every test program, harness and regression
 * shares (tests/lib). Header-only and libc-only on purpose: the meson
 * targets use it, and so do the programs that scripts/kmod-ci.sh and
 * scripts/uintr-emu.sh compile one file at a time with gcc -static (they
 * include it by a relative path, "../lib/t.h").
 *
 *   verdicts     T_PASS, T_FAIL, T_SKIP; t_check() returns T_FAIL;
 *                CHECK() records a failure in t_failed and goes on;
 *                t_report() and t_report_done(): "ok:"/"FAIL:" lines
 *   under tools  T_UNDER_ASAN (a macro), t_under_valgrind()
 *   the clock    t_now_ns(), t_sleep_ns/us/ms(), t_rand() (xorshift)
 *   children     t_reap(), t_child_ok() (bounded: a crash or a hang is
 *                a failure), t_in_child(), t_fork_sock(), t_fork_idle()
 *
 * The CMocka layer is tests/test-common.h, the regressions' is
 * tests/regress/regress.h, the syscall counter tests/lib/syscount.h.
 */
#ifndef UIPC_TEST_T_H
#define UIPC_TEST_T_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Verdicts: a program's exit status as meson reads it (77 is a skip). */
#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

/* Return T_FAIL from the calling function when cond is false (said). */
#define t_check(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
			return T_FAIL;                                                             \
		}                                                                                  \
	} while (0)

/* For the programs that run without CMocka and check everything before a
 * verdict: a failed CHECK(cond) is said and remembered in t_failed, and
 * the program goes on. */
static int t_failed __attribute__((unused));

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			t_failed = 1;                                                              \
		}                                                                                  \
	} while (0)

/* For the programs that run in a guest or are built by a script
 * (tests/kmod, tests/uintr-emu, the shim's regressions): one "ok: ..." or
 * "FAIL: ..." line per check, counted from any thread; t_report_done()
 * prints "N passed, N failed" and returns the exit status (T_FAIL when any
 * check failed). */
static atomic_int t_npassed __attribute__((unused)), t_nfailed __attribute__((unused));

__attribute__((format(printf, 2, 3))) static inline void t_report(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	atomic_fetch_add(ok ? &t_npassed : &t_nfailed, 1);
}

static inline int t_report_done(void)
{
	printf("%d passed, %d failed\n", atomic_load(&t_npassed), atomic_load(&t_nfailed));
	return atomic_load(&t_nfailed) ? T_FAIL : T_PASS;
}

/* gcc 12's AddressSanitizer does not keep its allocator lock consistent
 * across fork(): a child forked while another thread is in malloc() can
 * hang in the sanitizer's allocator, whatever the library does (seen in
 * gdb: the child's threads wait in SizeClassAllocator64::GetFromAllocator).
 * Tests that fork many-threaded processes skip that part under it. */
#if defined(__SANITIZE_ADDRESS__)
#define T_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_UNDER_ASAN 1
#endif
#endif

/* Under valgrind (`meson test --setup=valgrind` sets UIPC_UNDER_VALGRIND):
 * tests that count or race shorten or skip what the emulator cannot do. */
static inline int t_under_valgrind(void)
{
	const char *v = getenv("UIPC_UNDER_VALGRIND");

	return v && *v;
}

/* The one clock: CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep the whole of ns, through signals: to a deadline on the clock, so
 * the time spent in signal handlers counts. (A relative sleep restarted
 * with what was left does not count it: a thread that a storm of handler
 * notifies keeps busy never got to the end of a 1 ms sleep.) */
static inline void t_sleep_ns(uint64_t ns)
{
	uint64_t end = t_now_ns() + ns;
	struct timespec ts = {.tv_sec = (time_t)(end / 1000000000u),
	                      .tv_nsec = (long)(end % 1000000000u)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static inline void t_sleep_us(unsigned us)
{
	t_sleep_ns((uint64_t)us * 1000u);
}

static inline void t_sleep_ms(unsigned ms)
{
	t_sleep_ns((uint64_t)ms * 1000000u);
}

/* One row of /proc/interrupts ("LOC", "CAL", "PIW"...): its count on CPU
 * cpu, or summed over the CPUs when cpu < 0; -1 when there is no such row. */
static inline long long t_irq_count(const char *row, int cpu)
{
	char line[4096];
	long long sum = -1;
	size_t n = strlen(row);
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		int i = 0;

		while (*p == ' ')
			p++;
		if (strncmp(p, row, n) || p[n] != ':')
			continue;
		sum = 0;
		for (p += n + 1;; p = end, i++) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			if (cpu < 0 || cpu == i)
				sum += v;
		}
		break;
	}
	fclose(f);
	return sum;
}

/* Tiny xorshift PRNG: deterministic per seed (not 0), no shared state. */
static inline uint64_t t_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Is fd readable right now? */
static inline int t_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

#define T_DIED (-1) /* t_reap(): killed by a signal (or not our child) */
#define T_HUNG (-2) /* t_reap(): still running at the bound, killed */

/*
 * Reap the child pid, waiting bound_ms at most (counted in 1 ms naps, so a
 * loaded machine only stretches it; ten times that under valgrind): its exit status (0..255), T_DIED when
 * it died of a signal, T_HUNG when it was still running (then it is
 * SIGKILLed and reaped). A crash or a hang is said on stderr, as `who`
 * ("the sender died of signal 11"), unless who is NULL.
 */
static inline int t_reap(pid_t pid, unsigned bound_ms, const char *who)
{
	int status;

	if (t_under_valgrind())
		bound_ms *= 10; /* as meson's timeouts are (--setup=valgrind) */
	for (unsigned i = 0; i < bound_ms; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			if (who && WIFSIGNALED(status))
				fprintf(stderr, "%s died of signal %d\n", who, WTERMSIG(status));
			return T_DIED;
		}
		if (r < 0 && errno != EINTR)
			return T_DIED;
		t_sleep_ms(1);
	}
	if (who)
		fprintf(stderr, "%s hangs (still running after %u ms)\n", who, bound_ms);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return T_HUNG;
}

/* A child's bound where a test has no reason for another: generous under
 * load, and below the 60 s that meson gives a regression. */
#define T_CHILD_MS 30000

/* Wait for the child pid as t_reap() does: T_PASS when it exited 0, else
 * T_FAIL (and an exit status other than 0 is said as well). */
static inline int t_child_ok(pid_t pid, unsigned bound_ms, const char *who)
{
	int r = t_reap(pid, bound_ms, who);

	if (r > 0)
		fprintf(stderr, "%s failed (exit %d)\n", who, r);
	return r == 0 ? T_PASS : T_FAIL;
}

/* Run fn in a child process and return its verdict: T_FAIL when it dies of
 * a signal or is still running after bound_ms (killed; `hang` says what
 * that means), so a crash or a hang is a failure, not the test's own death
 * or hang. */
static inline int t_in_child(int (*fn)(void), unsigned bound_ms, const char *hang)
{
	pid_t pid;
	int r;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return T_FAIL;
	if (pid == 0)
		_exit(fn());
	r = t_reap(pid, bound_ms, "the child");
	if (r == T_HUNG)
		fprintf(stderr, "%s\n", hang);
	return r < 0 ? T_FAIL : r;
}

/*
 * fork() with a connected socket (SOCK_SEQPACKET, close-on-exec) between
 * parent and child, as most cross-process tests start: the pid (0 in the
 * child), *ret_sock the caller's end; -1 (and *ret_sock -1) when either
 * fails.
 */
static inline pid_t t_fork_sock(int *ret_sock)
{
	int sv[2];
	pid_t pid;

	*ret_sock = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[pid == 0 ? 0 : 1]);
	*ret_sock = sv[pid == 0 ? 1 : 0];
	return pid;
}

/*
 * Fork n children while other threads go on, each idle (past the
 * library's fork handlers, so it holds only what they left it) until the
 * parent closes *ret_gate. 0, or -1 with the children made so far left
 * idle.
 */
static inline int t_fork_idle(pid_t *pids, int n, int *ret_gate)
{
	int gate[2], ready[2];
	char c;

	if (pipe(gate) != 0 || pipe(ready) != 0)
		return -1;
	for (int k = 0; k < n; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			return -1;
		if (pids[k] == 0) {
			close(gate[1]);
			(void)!write(ready[1], "", 1);
			(void)!read(gate[0], &c, 1);
			_exit(0);
		}
		if (read(ready[0], &c, 1) != 1)
			return -1;
	}
	close(gate[0]);
	close(ready[0]);
	close(ready[1]);
	*ret_gate = gate[1];
	return 0;
}

#endif
