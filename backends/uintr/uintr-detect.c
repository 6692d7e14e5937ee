/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "uintr-detect.h"

static struct uipc__uintr_detect det;
static pthread_once_t det_once = PTHREAD_ONCE_INIT;

static bool cpuid_uintr(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;

	/* __get_cpuid_count checks the maximum leaf first: no fault, no
	 * garbage on CPUs without leaf 7. */
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return false;
	return (d >> 5) & 1u;
#else
	return false;
#endif
}

/* Is "uintr" one of the words of a "flags" line of /proc/cpuinfo? */
static bool cpuinfo_has_uintr(void)
{
	char line[4096];
	bool found = false;
	FILE *f;

	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *w;

		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (w = strtok_r(line, " \t\n:", &save); w; w = strtok_r(NULL, " \t\n:", &save))
			if (strcmp(w, "uintr") == 0)
				found = true;
		break; /* the first CPU's flags are enough */
	}
	fclose(f);
	return found;
}

static int shim_open(struct uintr_info *info, int *ret_fd)
{
	int fd = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	if (ioctl(fd, UINTR_IOC_INFO, info) < 0) {
		int r = -errno;

		close(fd);
		return r == -ENOTTY ? -ENODEV : r;
	}
	*ret_fd = fd;
	return 0;
}

static long syscall_base(void)
{
	const char *env = secure_getenv("UIPC_UINTR_SYSCALL_BASE");
	char *end;
	long v;

	if (!env || !*env)
		return UIPC_UINTR_SYSCALL_BASE_DEFAULT;
	errno = 0;
	v = strtol(env, &end, 0);
	if (errno || *end || v <= 0 || v > 4096)
		return -1;
	return v;
}

static void detect(void)
{
	struct uipc__uintr_detect *d = &det;
	char kw[sizeof(d->kernel_why)];
	int fd = -1;

#if defined(__x86_64__)
	d->x86 = true;
#endif
	d->shim_fd = -1;
	d->cpuid = cpuid_uintr();
	d->cpuinfo_flag = cpuinfo_has_uintr();
	d->syscall_base = syscall_base();
	d->shim = shim_open(&d->shim_info, &fd);

	if (d->shim == 0 && d->shim_info.abi_version != UINTR_ABI_VERSION)
		snprintf(kw, sizeof(kw), "/dev/uintr speaks ABI %u, this library %u",
		         d->shim_info.abi_version, UINTR_ABI_VERSION);
	else if (d->shim == 0 && (d->shim_info.flags & UINTR_INFO_WAIT_VECTOR))
		snprintf(kw, sizeof(kw),
		         "shim /dev/uintr (ABI %u, blocked wait woken by the notification (%s, "
		         "vector %#x))",
		         d->shim_info.abi_version,
		         d->shim_info.wake_source == UINTR_WAKE_SRC_OWN   ? "own interrupt"
		         : d->shim_info.wake_source == UINTR_WAKE_SRC_KVM ? "KVM's wakeup vector"
		                                                          : "vector",
		         d->shim_info.wake_vector);
	else if (d->shim == 0 && (d->shim_info.flags & UINTR_INFO_HW))
		snprintf(kw, sizeof(kw), "shim /dev/uintr (ABI %u, polled wait every %u us)",
		         d->shim_info.abi_version,
		         d->shim_info.poll_us ? d->shim_info.poll_us : 50u);
	else if (d->shim == 0)
		snprintf(kw, sizeof(kw), "/dev/uintr is loaded but reports no UINTR hardware");
	else if (d->cpuinfo_flag && d->syscall_base > 0)
		snprintf(kw, sizeof(kw), "UINTR kernel (uintr in /proc/cpuinfo): syscalls from %ld",
		         d->syscall_base);
	else if (d->cpuinfo_flag)
		snprintf(kw, sizeof(kw),
		         "UINTR kernel, but UIPC_UINTR_SYSCALL_BASE is not a syscall number");
	else
		snprintf(kw, sizeof(kw),
		         "no %s (%s) and the kernel does not list uintr in /proc/cpuinfo",
		         UINTR_DEVICE_PATH, strerror(-d->shim));

	memcpy(d->kernel_why, kw, sizeof(kw));
	if (!d->x86) {
		snprintf(d->why, sizeof(d->why), "not an x86-64 build");
	} else if (!d->cpuid) {
		snprintf(d->why, sizeof(d->why),
		         "this CPU has no user interrupts (CPUID.(7,0):EDX[5] = 0)");
	} else if (d->shim == 0 && d->shim_info.abi_version == UINTR_ABI_VERSION &&
	           (d->shim_info.flags & UINTR_INFO_HW)) {
		d->iface = UIPC_UINTR_IFACE_SHIM;
		if (d->shim_info.flags & UINTR_INFO_WAIT_VECTOR) {
			d->wake = UIPC_UINTR_WAKE_VECTOR;
		} else {
			d->wake = UIPC_UINTR_WAKE_POLL;
			d->wake_poll_us = d->shim_info.poll_us ? d->shim_info.poll_us : 50u;
		}
		d->shim_fd = fd;
		fd = -1;
		snprintf(d->why, sizeof(d->why), "available: %s", kw);
	} else if (d->shim != 0 && d->cpuinfo_flag && d->syscall_base > 0) {
		/* Positively identified: CPUID and the kernel's own flag. */
		d->iface = UIPC_UINTR_IFACE_SYSCALL;
		d->wake = UIPC_UINTR_WAKE_KERNEL;
		snprintf(d->why, sizeof(d->why), "available: %s", kw);
	} else {
		snprintf(d->why, sizeof(d->why), "CPU has UINTR but no kernel interface: %s", kw);
	}
	if (fd >= 0)
		close(fd);
}

const struct uipc__uintr_detect *uipc__uintr_detect(void)
{
	pthread_once(&det_once, detect);
	return &det;
}
