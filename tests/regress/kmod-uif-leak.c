/* SPDX-License-Identifier: MIT */
/*
 * Regression (uipc_uintr.ko): UIF was only ever set at switch-in, never
 * cleared. Any user thread may run STUI once CR4.UINTR is set, so a STUI by
 * an unrelated process reached the next receiver scheduled on that CPU,
 * unmasking its user interrupts inside a CLUI section.
 *
 * On CPU 0, an unrelated process runs STUI and yields, over and over; a
 * receiver that never ran STUI yields too and must never find UIF set. As
 * a control, once the receiver ran STUI it keeps UIF while the other
 * process runs CLUI. Runs against
 * uipc_uintr_fake.ko in the QEMU stage (scripts/kmod-ci.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../kmod/fake-lib.h"

#define SWITCHES 2000

/* Times the receiver found UIF other than @want after a switch. */
static int receiver(int fd, int want)
{
	int i, wrong = 0;

	for (i = 0; i < SWITCHES; i++) {
		sched_yield();
		if (fk_state(fd).uif != (__u32)want)
			wrong++;
	}
	return wrong;
}

/* A process without UINTR state on CPU 0: STUI (or CLUI), yield, forever. */
static pid_t start_other(int fd, int on)
{
	pid_t pid = fork();

	if (pid == 0)
		for (;;) {
			fk_stui(fd, (__u32)on);
			sched_yield();
		}
	return pid;
}

static void stop_other(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

int main(void)
{
	int fd, wrong;
	char what[120];
	pid_t other;

	fk_pin_cpu0();
	fd = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	fk_check(fd >= 0, "open " UINTR_DEVICE_PATH);
	if (fd < 0)
		return fk_done();
	other = start_other(fd, 1);
	fk_check(fk_register(fd) == 0, "register a receiver (UIF clear)");
	wrong = receiver(fd, 0);
	snprintf(
	    what, sizeof(what),
	    "another process's STUI never reaches the receiver (%d of %d switches had UIF set)",
	    wrong, SWITCHES);
	fk_check(wrong == 0, what);
	stop_other(other);
	/* Control: the receiver's own STUI is its state and survives another's CLUI. */
	other = start_other(fd, 0);
	fk_check(fk_stui(fd, 1) == 0, "the receiver runs STUI");
	wrong = receiver(fd, 1);
	snprintf(what, sizeof(what), "the receiver's own UIF survives switches (%d of %d lost it)",
	         wrong, SWITCHES);
	fk_check(wrong == 0, what);
	stop_other(other);
	return fk_done();
}
