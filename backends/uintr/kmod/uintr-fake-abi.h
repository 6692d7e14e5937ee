/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Test-only ioctls of uipc_uintr_fake.ko, the shim built with
 * UIPC_UINTR_FAKE_HW for CI: the UINTR MSRs, CR4 bit and UIF are per-CPU
 * variables instead of hardware, so the module's bookkeeping (registration,
 * tables, switching, teardown, lifetimes) runs on any x86-64 CPU. Never in
 * uintr-abi.h, never answered by the real module (-ENOTTY there).
 */
#ifndef UIPC_UINTR_FAKE_ABI_H
#define UIPC_UINTR_FAKE_ABI_H

#include "uintr-abi.h"

/* What SENDUIPI(index) does, on the calling thread's loaded table: -ENXIO
 * where the CPU raises #UD (no table), -EINVAL where it raises #GP. */
#define UINTR_IOC_FAKE_SEND _IOW(UINTR_IOC_MAGIC, 0x3e, __u32)
/* Take and clear the calling receiver's pending vectors (UIRR | PIR), as
 * delivery of the user interrupts would; -EINVAL if not a receiver. */
#define UINTR_IOC_FAKE_TAKE _IOR(UINTR_IOC_MAGIC, 0x3f, __u64)

/* What the calling thread sees of the UINTR state right now, on the CPU it
 * runs on: the six MSRs (UIRR, HANDLER, STACKADJUST, MISC, PD, TT) and UIF.
 * Any thread may ask, with or without state of its own. */
struct uintr_fake_state {
	__u64 msr[6]; /* MSR 0x985 .. 0x98a */
	__u32 uif;
	__u32 reserved;
};
#define UINTR_IOC_FAKE_STATE _IOR(UINTR_IOC_MAGIC, 0x3d, struct uintr_fake_state)
/* STUI (arg 1) or CLUI (arg 0) on the calling thread's CPU, as the
 * instruction does for any user thread once CR4.UINTR is set. */
#define UINTR_IOC_FAKE_STUI _IOW(UINTR_IOC_MAGIC, 0x3c, __u32)
/* The wait queues of blocked waiters right now: the longest one, and all. */
struct uintr_fake_waitq {
	__u32 longest;
	__u32 total;
};
#define UINTR_IOC_FAKE_WAITQ _IOR(UINTR_IOC_MAGIC, 0x3b, struct uintr_fake_waitq)

#endif
