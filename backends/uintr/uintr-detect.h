/* SPDX-License-Identifier: MIT */
/*
 * Is there UINTR here, and through which kernel interface? Used by the
 * hardware platform (uintr-hw.c) and by uipc-info. Never faults: CPUID only
 * (no UINTR instruction, no MSR), an ioctl on the project's own device, and
 * /proc/cpuinfo. The RFC/Intel-tree syscall numbers are never called here:
 * mainline Linux reuses them.
 */
#ifndef UIPC_UINTR_DETECT_H
#define UIPC_UINTR_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#include "uintr-abi.h"
#include "uipc-private.h"

enum uipc__uintr_iface {
	UIPC_UINTR_IFACE_NONE = 0,
	UIPC_UINTR_IFACE_SHIM,    /* /dev/uintr ioctls */
	UIPC_UINTR_IFACE_SYSCALL, /* RFC / Intel-tree syscalls */
};

/* Default first syscall number: Intel's later tree (uintr_register_handler
 * = 471 ... uintr_wait(usec) = 476). UIPC_UINTR_SYSCALL_BASE overrides it;
 * only the later tree's semantics are supported. */
#define UIPC_UINTR_SYSCALL_BASE_DEFAULT 471

/* How a receiver blocked in uintr_wait is woken. */
enum uipc__uintr_wake {
	UIPC_UINTR_WAKE_NONE,   /* no usable interface */
	UIPC_UINTR_WAKE_VECTOR, /* the shim: the notification's own interrupt */
	UIPC_UINTR_WAKE_POLL,   /* the shim: a timed poll (wake=poll, kvm_intel, old module) */
	UIPC_UINTR_WAKE_KERNEL, /* a UINTR kernel's own uintr_wait */
};

struct uipc__uintr_detect {
	bool x86;          /* built for x86-64 */
	bool cpuid;        /* CPUID.(7,0):EDX[5] */
	bool cpuinfo_flag; /* the kernel lists "uintr" in /proc/cpuinfo flags */
	int shim;          /* 0: /dev/uintr answered INFO; -errno otherwise */
	struct uintr_info shim_info;
	long syscall_base;
	enum uipc__uintr_iface iface; /* usable interface (NONE: not usable) */
	enum uipc__uintr_wake wake;   /* with iface: how blocked waits are woken */
	unsigned wake_poll_us;        /* WAKE_POLL: the period (50 if the module predates it) */
	int shim_fd;                  /* open while iface is SHIM, else -1 */
	char kernel_why[160];         /* which kernel interface, or why none */
	char why[256];                /* usable, or why not (one line) */
};

/* Computed once per process. */
UIPC_INTERNAL const struct uipc__uintr_detect *uipc__uintr_detect(void);

#endif
