/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The /dev/uintr ioctl ABI between libuipc and the uipc kernel shim
 * (backends/uintr/kmod/). Each ioctl mirrors one syscall of the UINTR RFC /
 * Intel tree and acts on the calling thread, like the syscall would.
 *
 * Without UINTR hardware the device still exists and every ioctl except
 * UINTR_IOC_INFO returns -EOPNOTSUPP, so user space can tell "module loaded,
 * no hardware" from "no module".
 *
 * All flags fields must be 0 (else -EINVAL); reserved fields must be 0.
 * Included by the kernel module and by user space: fixed-width types only.
 */
#ifndef UIPC_UINTR_ABI_H
#define UIPC_UINTR_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <linux/types.h>
#include <sys/ioctl.h>
#endif

#define UINTR_DEVICE_PATH "/dev/uintr"
#define UINTR_ABI_VERSION 1u
#define UINTR_MAX_VECTORS 64u  /* user vectors 0..63 */
#define UINTR_UITT_SIZE   256u /* UITT entries per process */

/* uintr_info.flags */
#define UINTR_INFO_HW          (1u << 0) /* CPUID.(7,0):EDX[5] set and enabled */
#define UINTR_INFO_WAIT_POLLED (1u << 1) /* wait is a timed PIR poll, every poll_us */
#define UINTR_INFO_WAIT_VECTOR                                                                     \
	(1u << 2) /* a blocked wait is woken by the notification
                                          * itself, through wake_vector (ABI 1, added) */

/* HW comes with exactly one of WAIT_POLLED and WAIT_VECTOR. A module from
 * before WAIT_VECTOR existed reports WAIT_POLLED and 0 in wake_vector and
 * poll_us (it polled every 50 us by default). */
struct uintr_info {
	__u32 abi_version; /* UINTR_ABI_VERSION */
	__u32 flags;       /* UINTR_INFO_* */
	__u32 uinv;        /* notification vector used (0 if none) */
	__u32 uitt_size;   /* UITT entries */
	__u32 wake_vector; /* WAIT_VECTOR: the kernel vector a blocked waiter's UPID names */
	__u32 poll_us;     /* WAIT_POLLED: the poll period in microseconds */
	__u32 wake_source; /* UINTR_WAKE_SRC_*: what wakes a blocked wait (0: older module) */
	__u32 wake_why;    /* UINTR_WAKE_WHY_*: why not the module's own interrupt (0: it is) */
};

/*
 * uintr_info.wake_source, with HW (added in ABI 1 where "reserved" was: a
 * module from before reports 0).
 */
#define UINTR_WAKE_SRC_UNKNOWN 0u /* a module older than this field */
#define UINTR_WAKE_SRC_OWN     1u /* the module's own interrupt, one per CPU (WAIT_VECTOR) */
#define UINTR_WAKE_SRC_KVM     2u /* KVM's posted-interrupt wakeup vector, borrowed (WAIT_VECTOR) */
#define UINTR_WAKE_SRC_POLL    3u /* the timed poll (WAIT_POLLED) */

/* uintr_info.wake_why: why the module's own interrupt is not the wake. */
#define UINTR_WAKE_WHY_NONE   0u /* it is (or no hardware) */
#define UINTR_WAKE_WHY_PARAM  1u /* the wake= module parameter chose another */
#define UINTR_WAKE_WHY_KERNEL 2u /* the kernel lacks an interface it needs (built without it) */
#define UINTR_WAKE_WHY_ALLOC  3u /* the kernel refused the interrupts (no vector, no memory) */

/* uintr_register_handler(handler, flags), with an optional alternate stack
 * (stack == 0: run on the interrupted stack, skipping 128 bytes of red zone). */
struct uintr_handler_args {
	__u64 handler;    /* user address of the interrupt trampoline */
	__u64 stack;      /* alternate stack base, or 0 */
	__u64 stack_size; /* its size, or 0 */
	__u32 flags;
	__u32 reserved;
};

/* uintr_vector_fd(vector, flags): returns an O_CLOEXEC anon-inode fd. */
struct uintr_vector_args {
	__u32 vector; /* 0..63; >= 64: -ENOSPC, in use: -EBUSY, not a receiver: -EINVAL */
	__u32 flags;
};

/* uintr_register_sender(fd, flags): returns the UITT index. The sender table
 * belongs to the calling process and the open file of /dev/uintr the ioctl is
 * issued on (a forked child sharing the file has a table of its own); the
 * calling thread gets it loaded. -EBUSY: the thread has another table. */
struct uintr_sender_args {
	__s32 fd; /* -EBADF, -EOPNOTSUPP (not a uintr fd), -EISCONN, -ESHUTDOWN, -ENOSPC */
	__u32 flags;
};

/* uintr_unregister_sender(index, flags) */
struct uintr_unsender_args {
	__u32 index;
	__u32 flags;
};

/* uintr_wait(usec, flags): -EINTR when a user interrupt (or signal) arrives,
 * -ETIMEDOUT after usec; usec 0 returns at once; usec > 1e9: -EINVAL. */
struct uintr_wait_args {
	__u64 usec;
	__u32 flags;
	__u32 reserved;
};

#define UINTR_IOC_MAGIC              0xB9

#define UINTR_IOC_INFO               _IOR(UINTR_IOC_MAGIC, 0x00, struct uintr_info)
#define UINTR_IOC_REGISTER_HANDLER   _IOW(UINTR_IOC_MAGIC, 0x01, struct uintr_handler_args)
#define UINTR_IOC_UNREGISTER_HANDLER _IOW(UINTR_IOC_MAGIC, 0x02, __u32)
#define UINTR_IOC_VECTOR_FD          _IOW(UINTR_IOC_MAGIC, 0x03, struct uintr_vector_args)
#define UINTR_IOC_REGISTER_SENDER    _IOW(UINTR_IOC_MAGIC, 0x04, struct uintr_sender_args)
#define UINTR_IOC_UNREGISTER_SENDER  _IOW(UINTR_IOC_MAGIC, 0x05, struct uintr_unsender_args)
#define UINTR_IOC_WAIT               _IOW(UINTR_IOC_MAGIC, 0x06, struct uintr_wait_args)

/* Added in ABI 1 (additive): load this file's sender table into the calling
 * thread, so it can SENDUIPI with indices another thread registered. Arg:
 * __u32 flags (must be 0). 0; -EBUSY if the thread has another file's table.
 * SENDUIPI in a thread that has no table loaded raises #UD (SIGILL). */
#define UINTR_IOC_ATTACH_SENDER _IOW(UINTR_IOC_MAGIC, 0x07, __u32)

#endif
