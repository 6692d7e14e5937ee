/* SPDX-License-Identifier: MIT */
/* Shared by uintr-hw.c and the interrupt entry (uintr-hw-entry.c). */
#ifndef UIPC_UINTR_HW_H
#define UIPC_UINTR_HW_H

#include <stdint.h>

#include "uintr-platform.h"

/* Per receiver thread. The entry reads it with general registers only. */
struct uipc__uintr_hw_thread {
	struct uipc__uintr_routes routes;
	void *xsave;    /* 64-byte aligned XSAVE area for callbacks */
	uint64_t xmask; /* components saved around them (XCR0 without AMX tiles) */
};

/* NULL unless the thread is a receiver; the state itself is on the heap
 * (static TLS of a shared library is scarce). */
extern __thread struct uipc__uintr_hw_thread *uipc__uintr_hw_thr
    __attribute__((tls_model("initial-exec"))) UIPC_INTERNAL;

/* The user-interrupt handler whose address the kernel programs. */
struct __uintr_frame;
UIPC_INTERNAL void uipc__uintr_hw_entry(struct __uintr_frame *frame, unsigned long long vector);

#endif
