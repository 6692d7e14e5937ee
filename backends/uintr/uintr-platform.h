/* SPDX-License-Identifier: MIT */
/*
 * The UINTR platform: the kernel calls and the instructions the uintr backend
 * (uintr.c) is written against. Two implementations:
 *
 *   uintr-hw.c   the real thing: SENDUIPI/STUI/CLUI/TESTUI (built with -muintr
 *                in that file only) and the kernel through /dev/uintr (the
 *                project's shim) or the RFC/Intel-tree syscalls;
 *   uintr-sim.c  a user-space model of the hardware and kernel, for tests.
 *
 * The calls mirror the Intel-tree syscalls (UINTR.md), with their errors:
 * every flags argument must be 0 (-EINVAL).
 *
 * Delivery contract (what the user-interrupt handler does): a user interrupt
 * for kernel vector k on a receiver thread follows that thread's route k
 * (uintr-route.h): one bit ORed into a receiver's pending word, then, in
 * handler mode, its callback, with UIF clear as in a real handler; the
 * return (UIRET) sets UIF again. The hardware entry saves the extended
 * (FP/SIMD) state around the callback, so callbacks are ordinary C.
 */
#ifndef UIPC_UINTR_PLATFORM_H
#define UIPC_UINTR_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uipc-config.h"
#include "backend.h"
#include "uintr-route.h"

/* The model turns SENDUIPI's faults into errors: #GP (index beyond the
 * table, invalid or reserved entry) is -EINVAL, #UD (no UITT: the process
 * never registered a sender) is -EPERM. The hardware raises them as SIGSEGV
 * and SIGILL instead; the backend never issues SENDUIPI on an index it did
 * not get from register_sender. */
#define UIPC_UINTR_ERR_GP (-EINVAL)
#define UIPC_UINTR_ERR_UD (-EPERM)

/* uintr_wait's upper bound, in microseconds (Intel tree). */
#define UIPC_UINTR_WAIT_MAX_USEC 1000000000u

struct uipc__uintr_platform {
	const char *name;

	/* Usable here? Never faults: CPUID first, then the kernel interface.
	 * 0, or -EOPNOTSUPP with a one-line reason in why. */
	int (*probe)(char *why, size_t len);

	/* The calling thread becomes a receiver (uintr_register_handler).
	 * -EBUSY if it is one already. UIF is 0 afterwards: stui() enables
	 * delivery. */
	int (*register_handler)(unsigned flags);
	/* -EINVAL when the thread is not a receiver. */
	int (*unregister_handler)(unsigned flags);
	/* The calling receiver thread's routes (NULL when not a receiver). */
	struct uipc__uintr_routes *(*routes)(void);

	/* uintr_vector_fd: an O_CLOEXEC fd naming (this thread, vector).
	 * -ENOSPC for vector >= 64, -EBUSY when in use, -EINVAL when the
	 * thread is not a receiver. */
	int (*vector_fd)(unsigned vector, unsigned flags);

	/* uintr_register_sender: the UITT index for fd. -EBADF, -EOPNOTSUPP
	 * (not a uintr fd), -EISCONN (registered already), -ESHUTDOWN (the
	 * receiver is gone), -ENOSPC (table full). */
	int (*register_sender)(int fd, unsigned flags);
	/* uintr_unregister_sender(index): -EINVAL for an unused index. */
	int (*unregister_sender)(int index, unsigned flags);

	/* uintr_wait(usec): -EINTR when a user interrupt (or a signal) arrived,
	 * -ETIMEDOUT after usec (0: at once), -EINVAL for usec > 1e9. */
	int (*wait)(uint64_t usec, unsigned flags);
	/* How late a blocked wait may wake after a post, beyond the kernel's
	 * own wakeup: a timed poll's period, 0 when the post itself wakes it.
	 * NULL: 0. */
	uint64_t (*wait_late_ns)(void);

	/* The instructions. senduipi returns 0, or the model's fault errors. */
	int (*senduipi)(uint64_t index);
	void (*stui)(void);
	void (*clui)(void);
	bool (*testui)(void);
};

/* Sender state, shared with the hardware's inline notify (uintr-hw.c). */
struct uipc__uintr_tx {
	const struct uipc__uintr_platform *plat;
	uint64_t index;
	struct uitt_ref *ref; /* the process's shared UITT entry (uintr.c) */
};

#if UIPC_HAVE_BACKEND_UINTR
extern UIPC_INTERNAL const struct uipc__uintr_platform uipc__uintr_hw;
/* Notify as one inline SENDUIPI (after the CLOSED check). */
UIPC_INTERNAL int uipc__uintr_hw_tx_notify(uipc_tx *tx);
#endif

#if UIPC_HAVE_BACKEND_UINTR_SIM
extern UIPC_INTERNAL const struct uipc__uintr_platform uipc__uintr_sim;

/* Model-only controls, for tests. */
/* The calling receiver thread is "scheduled out" (SN set: senders post to
 * PIR without notifying) or back in (SN clear; what was posted meanwhile is
 * delivered, as the kernel does on the way back to user mode). */
UIPC_INTERNAL int uipc__uintr_sim_schedule(bool out);
/* A copy of the calling receiver's UPID words (control word, PIR). */
UIPC_INTERNAL int uipc__uintr_sim_upid(uint64_t *ret_ctl, uint64_t *ret_pir);
/* UITT entry words as SENDUIPI reads them (valid bit 0, vector 15:8). */
UIPC_INTERNAL int uipc__uintr_sim_uitt(unsigned index, uint64_t *ret_word0);
/* For tests that check the fault paths: write a raw UITT entry word. */
UIPC_INTERNAL int uipc__uintr_sim_uitt_poke(unsigned index, uint64_t word0);
/* ... move an entry's UPID address by @offset bytes (0 restores it). */
UIPC_INTERNAL int uipc__uintr_sim_uitt_poke_upid(unsigned index, unsigned offset);
/* ... write the calling receiver's UPID control word. */
UIPC_INTERNAL int uipc__uintr_sim_upid_poke(uint64_t ctl);

/* UPID control word layout (the hardware's first 8 bytes). */
#define UIPC_UPID_ON         (UINT64_C(1) << 0)
#define UIPC_UPID_SN         (UINT64_C(1) << 1)
#define UIPC_UPID_NV_SHIFT   16
#define UIPC_UPID_NV_MASK    (UINT64_C(0xff) << UIPC_UPID_NV_SHIFT)
#define UIPC_UPID_NDST_SHIFT 32
/* Bits 15:2 and 31:24: SENDUIPI raises #GP if any is set. */
#define UIPC_UPID_RESERVED UINT64_C(0xff00fffc)
#define UIPC_UITT_VALID    (UINT64_C(1) << 0)
#define UIPC_UITT_UV_SHIFT 8
#define UIPC_UITT_UV_MASK  (UINT64_C(0xff) << UIPC_UITT_UV_SHIFT)
#endif

#endif
