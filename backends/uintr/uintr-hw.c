/* SPDX-License-Identifier: MIT */
/*
 * The UINTR platform on real hardware (built with -muintr, this file only).
 *
 * Nothing here runs unless uipc__uintr_detect() found the CPUID bit and a
 * kernel interface: the backend's probe gates receiver and sender creation,
 * so on a machine without UINTR no UINTR instruction and no UINTR syscall
 * number is ever executed. Kernel calls go to /dev/uintr (the project's
 * shim; its ioctls mirror the syscalls) or, on a kernel that advertises
 * uintr itself, to the Intel-tree syscalls at UIPC_UINTR_SYSCALL_BASE.
 *
 * Verified only by compiling: no UINTR hardware was available.
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86gprintrin.h>

#include "uintr-detect.h"
#include "uintr-hw.h"

/* Offsets from the syscall base, in the order of the Intel tree. */
enum k_call {
	K_REGISTER_HANDLER = 0,
	K_UNREGISTER_HANDLER = 1,
	K_VECTOR_FD = 2,
	K_REGISTER_SENDER = 3,
	K_UNREGISTER_SENDER = 4,
	K_WAIT = 5,
};

static const struct uipc__uintr_detect *usable(void)
{
	const struct uipc__uintr_detect *d = uipc__uintr_detect();

	return d->iface == UIPC_UINTR_IFACE_NONE ? NULL : d;
}

static long k_syscall(const struct uipc__uintr_detect *d, enum k_call nr, unsigned long a,
                      unsigned long b)
{
	long r = syscall(d->syscall_base + (long)nr, a, b);

	return r < 0 ? -errno : r;
}

static long k_ioctl(const struct uipc__uintr_detect *d, unsigned long req, void *arg)
{
	int r = ioctl(d->shim_fd, req, arg);

	return r < 0 ? -errno : r;
}

static long k_call(enum k_call nr, unsigned long a, unsigned long b)
{
	const struct uipc__uintr_detect *d = usable();

	if (!d)
		return -EOPNOTSUPP; /* never reached through the backend */
	if (d->iface == UIPC_UINTR_IFACE_SYSCALL)
		return k_syscall(d, nr, a, b);
	switch (nr) {
	case K_REGISTER_HANDLER: {
		struct uintr_handler_args h = {.handler = a, .flags = (__u32)b};
		return k_ioctl(d, UINTR_IOC_REGISTER_HANDLER, &h);
	}
	case K_UNREGISTER_HANDLER: {
		__u32 flags = (__u32)a;
		return k_ioctl(d, UINTR_IOC_UNREGISTER_HANDLER, &flags);
	}
	case K_VECTOR_FD: {
		struct uintr_vector_args v = {.vector = (__u32)a, .flags = (__u32)b};
		return k_ioctl(d, UINTR_IOC_VECTOR_FD, &v);
	}
	case K_REGISTER_SENDER: {
		struct uintr_sender_args s = {.fd = (__s32)a, .flags = (__u32)b};
		return k_ioctl(d, UINTR_IOC_REGISTER_SENDER, &s);
	}
	case K_UNREGISTER_SENDER: {
		struct uintr_unsender_args s = {.index = (__u32)a, .flags = (__u32)b};
		return k_ioctl(d, UINTR_IOC_UNREGISTER_SENDER, &s);
	}
	case K_WAIT: {
		struct uintr_wait_args w = {.usec = a, .flags = (__u32)b};
		return k_ioctl(d, UINTR_IOC_WAIT, &w);
	}
	}
	return -EINVAL;
}

static int hw_probe(char *why, size_t len)
{
	const struct uipc__uintr_detect *d = uipc__uintr_detect();

	snprintf(why, len, "%s", d->why);
	return d->iface == UIPC_UINTR_IFACE_NONE ? -EOPNOTSUPP : 0;
}

/* The XSAVE area for the handler-mode callback: the size CPUID reports for
 * the features XCR0 enables, AMX tile data left out (the handler must not
 * use AMX; restoring it would fault while the kernel keeps it disarmed). */
static int xsave_alloc(struct uipc__uintr_hw_thread *t)
{
	unsigned a, b, c, d;
	uint32_t lo, hi;
	void *p;

	if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d) || b == 0)
		return -EOPNOTSUPP;
	if (posix_memalign(&p, 64, b) != 0)
		return -ENOMEM;
	memset(p, 0, b); /* XRSTOR wants a clean header */
	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	t->xmask = (((uint64_t)hi << 32) | lo) & ~(UINT64_C(1) << 18);
	t->xsave = p;
	return 0;
}

/*
 * fork(): the kernel gives the child no UINTR state (no handler, no sender
 * table), but the child's only thread inherits the forking thread's
 * thread-locals. Drop them there, or the child would take the copy for a
 * registration the kernel never made for it.
 */
static _Thread_local bool tt_attached;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void hw_at_fork_child(void)
{
	struct uipc__uintr_hw_thread *t = uipc__uintr_hw_thr;

	uipc__uintr_hw_thr = NULL;
	tt_attached = false;
	if (t) {
		free(t->xsave);
		free(t);
	}
}

static void fork_install(void)
{
	pthread_atfork(NULL, NULL, hw_at_fork_child);
}

static int hw_register_handler(unsigned flags)
{
	struct uipc__uintr_hw_thread *t;
	long r;

	if (flags)
		return -EINVAL;
	if (uipc__uintr_hw_thr)
		return -EBUSY;
	pthread_once(&fork_once, fork_install);
	t = uipc__calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = xsave_alloc(t);
	if (r == 0) {
		/* Published first: an interrupt may come as soon as the kernel
		 * has the handler (UIF is still clear until stui, though). */
		uipc__uintr_hw_thr = t;
		r = k_call(K_REGISTER_HANDLER, (unsigned long)(uintptr_t)uipc__uintr_hw_entry, 0);
	}
	if (r < 0) {
		uipc__uintr_hw_thr = NULL;
		free(t->xsave);
		free(t);
		return (int)r;
	}
	return 0;
}

static int hw_unregister_handler(unsigned flags)
{
	struct uipc__uintr_hw_thread *t = uipc__uintr_hw_thr;
	long r;

	if (flags)
		return -EINVAL;
	if (!t)
		return -EINVAL;
	r = k_call(K_UNREGISTER_HANDLER, 0, 0);
	if (r == 0) {
		uipc__uintr_hw_thr = NULL;
		free(t->xsave);
		free(t);
	}
	return (int)r;
}

static struct uipc__uintr_routes *hw_routes(void)
{
	struct uipc__uintr_hw_thread *t = uipc__uintr_hw_thr;

	return t ? &t->routes : NULL;
}

static int hw_vector_fd(unsigned vector, unsigned flags)
{
	return (int)k_call(K_VECTOR_FD, vector, flags);
}

static int hw_register_sender(int fd, unsigned flags)
{
	return (int)k_call(K_REGISTER_SENDER, (unsigned long)(long)fd, flags);
}

static int hw_unregister_sender(int index, unsigned flags)
{
	return (int)k_call(K_UNREGISTER_SENDER, (unsigned long)(long)index, flags);
}

static int hw_wait(uint64_t usec, unsigned flags)
{
	if (flags || usec > UIPC_UINTR_WAIT_MAX_USEC)
		return -EINVAL;
	return (int)k_call(K_WAIT, usec, flags);
}

/*
 * With the shim, the sender table (UITT) belongs to the process's /dev/uintr
 * file but is loaded per thread: a thread that never registered a sender
 * itself must attach the table once, or its first SENDUIPI raises #UD. The
 * syscall kernels load it for every thread of the process.
 */
static int attach_table(void)
{
	const struct uipc__uintr_detect *d;
	__u32 flags = 0;
	long r;

	if (__builtin_expect(tt_attached, 1))
		return 0;
	d = usable();
	if (!d)
		return -EOPNOTSUPP;
	pthread_once(&fork_once, fork_install);
	if (d->iface == UIPC_UINTR_IFACE_SHIM) {
		r = k_ioctl(d, UINTR_IOC_ATTACH_SENDER, &flags);
		if (r < 0)
			return (int)r;
	}
	tt_attached = true;
	return 0;
}

static int hw_senduipi(uint64_t index)
{
	int r = attach_table();

	if (r < 0)
		return r;
	_senduipi(index);
	return 0;
}

static void hw_stui(void)
{
	_stui();
}

static void hw_clui(void)
{
	_clui();
}

static bool hw_testui(void)
{
	return _testui() != 0;
}

int uipc__uintr_hw_tx_notify(uipc_tx *tx)
{
	const struct uipc__uintr_tx *t = tx->backend;

	/* As the model's notify: CLOSED is a hint any capability holder can
	 * store; only the capability's hang-up says the receiver is gone. */
	if (uipc__desc_closed_hint(tx->desc) && uipc__cap_alive(tx->cap_fd) < 0)
		return -EPIPE;
	return hw_senduipi(t->index);
}

static uint64_t hw_wait_late_ns(void)
{
	const struct uipc__uintr_detect *d = uipc__uintr_detect();

	return d->wake == UIPC_UINTR_WAKE_POLL ? (uint64_t)d->wake_poll_us * 1000u : 0;
}

const struct uipc__uintr_platform uipc__uintr_hw = {
    .name = "uintr",
    .probe = hw_probe,
    .register_handler = hw_register_handler,
    .unregister_handler = hw_unregister_handler,
    .routes = hw_routes,
    .vector_fd = hw_vector_fd,
    .register_sender = hw_register_sender,
    .unregister_sender = hw_unregister_sender,
    .wait = hw_wait,
    .wait_late_ns = hw_wait_late_ns,
    .senduipi = hw_senduipi,
    .stui = hw_stui,
    .clui = hw_clui,
    .testui = hw_testui,
};
