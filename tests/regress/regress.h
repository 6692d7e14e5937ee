/* SPDX-License-Identifier: MIT */
/*
 * Regression programs, one per fixed defect (liburing's test/ style): each
 * main() returns 0 when the defect is absent, 1 when it is back, 77 when it
 * cannot be checked here. They reach into the library's internals only to
 * do what a hostile or unlucky peer does to shared memory.
 */
#ifndef UIPC_REGRESS_H
#define UIPC_REGRESS_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

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

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

#define t_check(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
			return T_FAIL;                                                             \
		}                                                                                  \
	} while (0)

static inline uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void t_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Is fd readable right now? */
static inline int t_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Run fn in a child process and return its verdict: T_FAIL when it dies of
 * a signal (said on stderr) or is still running after bound_ms (killed;
 * `hang` says what that means), so a crash or a hang is a failure, not the
 * test's own death or hang. */
static inline int t_in_child(int (*fn)(void), unsigned bound_ms, const char *hang)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return T_FAIL;
	if (pid == 0)
		_exit(fn());
	for (unsigned i = 0; i < bound_ms; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (WIFSIGNALED(status)) {
				fprintf(stderr, "the child died of signal %d\n", WTERMSIG(status));
				return T_FAIL;
			}
			return WIFEXITED(status) ? WEXITSTATUS(status) : T_FAIL;
		}
		t_sleep_ms(1);
	}
	fprintf(stderr, "%s\n", hang);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return T_FAIL;
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
