/* SPDX-License-Identifier: MIT */
/*
 * Counting the system calls an operation makes, honestly: the operation runs
 * in a child process that the caller traces with ptrace(), and every
 * syscall-entry stop of any of the child's threads between two markers is
 * counted. Nothing in the library is instrumented, so a syscall made by libc
 * on the library's behalf counts as well; vDSO calls (clock_gettime) are not
 * system calls and do not count. Used by tests/test-syscalls.c (which asserts
 * the counts) and uipc-bench's "syscalls" scenario (which reports them).
 *
 * The child marks a segment with sc_begin(id) ... sc_end(); the markers are
 * prctl() calls with an option no kernel knows, which fail with EINVAL and
 * are not counted. Linux only (PTRACE_GET_SYSCALL_INFO, 5.3 or later).
 */
#ifndef UIPC_SYSCOUNT_H
#define UIPC_SYSCOUNT_H

#include <errno.h>
#include <linux/ptrace.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* glibc's <sys/ptrace.h> clashes with <linux/ptrace.h>: the call itself. */
static inline long sc_ptrace(long req, pid_t pid, void *addr, void *data)
{
	return syscall(SYS_ptrace, req, pid, addr, data);
}

#define SC_MAGIC    0x55534353L /* "USCS": no prctl option has this number */
#define SC_SEGMENTS 32

static inline void sc_begin(long id)
{
	(void)syscall(SYS_prctl, SC_MAGIC, id, 0L, 0L, 0L);
}

static inline void sc_end(void)
{
	(void)syscall(SYS_prctl, SC_MAGIC, -1L, 0L, 0L, 0L);
}

/*
 * Run fn(arg) in a traced child. counts[id] gets the syscalls made inside
 * segment id (0 <= id < n <= SC_SEGMENTS). Returns the child's exit status
 * (0..255), or -errno when tracing is not possible here (a seccomp or LSM
 * that forbids ptrace, a kernel before 5.3): the caller skips.
 */
static inline int sc_run(void (*fn)(void *), void *arg, long *counts, unsigned n)
{
	int seg = -1, status, exit_code = -ECHILD;
	pid_t child, t;

	memset(counts, 0, n * sizeof(*counts));
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		if (sc_ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(126);
		raise(SIGSTOP);
		fn(arg);
		_exit(0);
	}
	if (waitpid(child, &status, 0) != child)
		return -ECHILD;
	if (WIFEXITED(status)) /* PTRACE_TRACEME refused */
		return -EPERM;
	if (sc_ptrace(PTRACE_SETOPTIONS, child, NULL,
	              (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE |
	                             PTRACE_O_EXITKILL)) < 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		return -errno;
	}
	sc_ptrace(PTRACE_SYSCALL, child, NULL, NULL);
	while ((t = waitpid(-1, &status, __WALL)) > 0) {
		long sig = 0;

		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (t == child)
				exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
				                              : 128 + WTERMSIG(status);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			struct ptrace_syscall_info si;

			if (sc_ptrace(PTRACE_GET_SYSCALL_INFO, t, (void *)sizeof(si), &si) <= 0) {
				kill(child, SIGKILL);
				exit_code = -ENOSYS;
			} else if (si.op == PTRACE_SYSCALL_INFO_ENTRY) {
				if (si.entry.nr == SYS_prctl && (long)si.entry.args[0] == SC_MAGIC)
					seg = (long)si.entry.args[1] >= 0 &&
					              (long)si.entry.args[1] < (long)n
					          ? (int)si.entry.args[1]
					          : -1;
				else if (seg >= 0)
					counts[seg]++;
			}
		} else if (!(WSTOPSIG(status) == SIGTRAP && (status >> 16) != 0) &&
		           WSTOPSIG(status) != SIGSTOP) {
			/* Signal delivery: pass it on (not a clone event, not a
			 * new thread's first SIGSTOP). */
			sig = WSTOPSIG(status);
		}
		sc_ptrace(PTRACE_SYSCALL, t, NULL, (void *)sig);
	}
	return exit_code == -ENOSYS ? -ENOSYS : exit_code;
}

#endif
