/* SPDX-License-Identifier: MIT */
/*
 * The user-interrupt handler (built with -muintr -mgeneral-regs-only).
 *
 * The CPU enters it on the receiver thread with UIF clear, the interrupted
 * RIP/RFLAGS/RSP and the vector on the stack (the kernel skips the 128-byte
 * red zone); the compiler saves the general registers it uses and returns
 * with UIRET. Nothing here may touch FP/SIMD state: recording the vector is
 * one locked OR. The handler-mode callback is ordinary C, so the whole
 * extended state is saved with XSAVE around it and restored with XRSTOR.
 * A nested delivery (the callback unmasked) only records: the running
 * callback's loop picks its vector up.
 */
#include <x86gprintrin.h>

#include "uintr-hw.h"

__thread struct uipc__uintr_hw_thread uipc__uintr_hw_thr __attribute__((tls_model("initial-exec")));

#ifdef __clang__
#pragma clang diagnostic ignored "-Winterrupt-service-routine"
#endif

__attribute__((interrupt)) void uipc__uintr_hw_entry(struct __uintr_frame *frame,
                                                     unsigned long long vector)
{
	struct uipc__uintr_hw_thread *t = &uipc__uintr_hw_thr;
	uint64_t bit = UINT64_C(1) << (vector & 63u);
	uint32_t lo, hi;

	(void)frame;
	if (t->pending)
		__asm__ __volatile__("lock orq %1, %0" : "+m"(*t->pending) : "r"(bit) : "memory");
	if (!t->cb || t->depth || !t->xsave)
		return;
	t->depth = 1;
	lo = (uint32_t)t->xmask;
	hi = (uint32_t)(t->xmask >> 32);
	__asm__ __volatile__("xsave64 (%0)" : : "r"(t->xsave), "a"(lo), "d"(hi) : "memory");
	t->cb(t->arg);
	__asm__ __volatile__("xrstor64 (%0)" : : "r"(t->xsave), "a"(lo), "d"(hi) : "memory");
	t->depth = 0;
}
