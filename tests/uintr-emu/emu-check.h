/* SPDX-License-Identifier: MIT */
/*
 * What the guest's test programs share (tests/uintr-emu/), besides the
 * test library (tests/lib/t.h: the "ok:"/"FAIL:" report, the clock): CPU 1
 * on and off line, and the one gate before any UINTR instruction runs.
 */
#ifndef UIPC_EMU_CHECK_H
#define UIPC_EMU_CHECK_H

#include <cpuid.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../lib/t.h"
#include "uintr-abi.h"

/* Take CPU 1 offline (0) or online (1); 1 when the kernel took it. */
static inline int cpu1_set_online(int on)
{
	int fd = open("/sys/devices/system/cpu/cpu1/online", O_WRONLY);
	int ok;

	if (fd < 0)
		return 0;
	ok = write(fd, on ? "1" : "0", 1) == 1;
	close(fd);
	return ok;
}

/* /dev/uintr open, only when CPUID.(7,0):EDX[5] is set and the module
 * reports the hardware; else -1 (and no UINTR instruction may run). */
static inline int uintr_dev_open(void)
{
	unsigned a, b, c, d;
	struct uintr_info info;
	int fd;

	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 5) & 1))
		return -1;
	fd = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, UINTR_IOC_INFO, &info) < 0 || !(info.flags & UINTR_INFO_HW)) {
		close(fd);
		return -1;
	}
	return fd;
}

#endif
