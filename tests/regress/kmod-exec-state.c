/* SPDX-License-Identifier: MIT */
/*
 * Regression (uipc_uintr.ko): exec kept the thread's UINTR state. The shim
 * noticed an exec only at the next context switch, by comparing a raw mm
 * pointer, so the new image ran with the old image's handler, stack adjust,
 * UIF, pending vectors and sender table; after exec; exec the new mm often
 * sat where the old one had been, and the state was adopted for good.
 *
 * A receiver and sender (UIF set, a vector pending) execs, once or twice,
 * with the device fd O_CLOEXEC or inherited, and the new image looks at
 * once or after sleeping (a context switch in between). The new image must
 * find every MSR clear and UIF clear, no receiver, no table, and a
 * registration that succeeds. Runs against uipc_uintr_fake.ko in the QEMU
 * stage (scripts/kmod-ci.sh); the exec'd images are this program again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../kmod/fake-lib.h"

#define ROUNDS 5

/* The new image: exit 0 if it starts clean, else a code naming what it found. */
static int new_image(int sleep_first)
{
	struct uintr_fake_state s;
	__u64 pending = 0;
	int fd, i;

	fd = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 20;
	if (sleep_first)
		t_sleep_ms(5);
	s = fk_state(fd); /* pinned: the CPU the old image ran on */
	for (i = 0; i < 6; i++)
		if (s.msr[i])
			return 21 +
			       i; /* 21 UIRR, 22 HANDLER, 23 STACKADJUST, 24 MISC, 25 PD, 26 TT */
	if (s.uif)
		return 27;
	if (fk_io(fd, UINTR_IOC_FAKE_TAKE, &pending) != -EINVAL)
		return 28; /* still a receiver */
	if (fk_send(fd, 0) != -ENXIO)
		return 29; /* still has a sender table */
	if (fk_register(fd) != 0)
		return 30; /* -EBUSY: the old receiver was adopted */
	s = fk_state(fd);
	if (s.msr[1] != (__u64)(unsigned long)fk_handler)
		return 31;
	return 0;
}

/* The old image: everything set, then exec (via an intermediate image when @twice). */
static int old_image(int cloexec, int twice, int sleep_first)
{
	char arg[8];
	int fd, vfd;
	long idx;

	fd = open(UINTR_DEVICE_PATH, O_RDWR | (cloexec ? O_CLOEXEC : 0));
	if (fd < 0 || fk_register(fd) != 0)
		return 10;
	vfd = (int)fk_vector_fd(fd, 9);
	idx = vfd >= 0 ? fk_sender(fd, vfd) : -1;
	if (idx < 0 || fk_send(fd, (__u32)idx) != 0 || fk_stui(fd, 1) != 0)
		return 11;
	snprintf(arg, sizeof(arg), "%d", sleep_first);
	if (twice)
		execl("/proc/self/exe", "kmod-exec-state", "--exec-again", arg, (char *)NULL);
	else
		execl("/proc/self/exe", "kmod-exec-state", "--new-image", arg, (char *)NULL);
	return 12;
}

int main(int argc, char **argv)
{
	int cloexec, twice, sleep_first, round, status, bad;
	char what[160];
	pid_t pid;

	fk_pin_cpu0();
	if (argc == 3 && !strcmp(argv[1], "--new-image"))
		return new_image(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "--exec-again")) {
		execl("/proc/self/exe", "kmod-exec-state", "--new-image", argv[2], (char *)NULL);
		return 13;
	}
	for (cloexec = 0; cloexec < 2; cloexec++)
		for (twice = 0; twice < 2; twice++)
			for (sleep_first = 0; sleep_first < 2; sleep_first++) {
				bad = 0;
				for (round = 0; round < ROUNDS; round++) {
					pid = fork();
					if (pid == 0)
						_exit(old_image(cloexec, twice, sleep_first));
					if (pid < 0 || waitpid(pid, &status, 0) != pid ||
					    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
						bad = pid > 0 && WIFEXITED(status)
						          ? WEXITSTATUS(status)
						          : -1;
				}
				snprintf(what, sizeof(what),
				         "exec%s, fd %s, new image looks %s: clean state (last bad "
				         "code %d)",
				         twice ? "; exec" : "", cloexec ? "O_CLOEXEC" : "inherited",
				         sleep_first ? "after a sleep" : "at once", bad);
				fk_check(bad == 0, what);
			}
	return fk_done();
}
