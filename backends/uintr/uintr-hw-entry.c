/* SPDX-License-Identifier: MIT */
/*
 * The user-interrupt handler (built with -muintr -mgeneral-regs-only).
 *
 * The CPU enters it on the receiver thread with UIF clear, the interrupted
 * RIP/RFLAGS/RSP and the vector on the stack (the kernel skips the 128-byte
 * red zone); the compiler saves the general registers it uses and returns
 * with UIRET. Nothing here may touch FP/SIMD state: recording the vector
 * (uipc__uintr_record) is a few loads and locked ORs. Callbacks (handler
 * mode) are ordinary C, so the whole extended state is saved with XSAVE
 * around them and restored with XRSTOR. A nested delivery (a callback
 * unmasked) only records; the running callback's loop runs it.
 */
#include <x86gprintrin.h>

#include "uintr-hw.h"

__thread struct uipc__uintr_hw_thread *uipc__uintr_hw_thr
    __attribute__((tls_model("initial-exec")));

#ifdef __clang__
#pragma clang diagnostic ignored "-Winterrupt-service-routine"
#endif

__attribute__((interrupt)) void uipc__uintr_hw_entry(struct __uintr_frame *frame,
                                                     unsigned long long vector)
{
	struct uipc__uintr_hw_thread *t = uipc__uintr_hw_thr;
	uint32_t lo, hi;

	(void)frame;
	if (!t)
		return;
	if (uipc__uintr_record(&t->routes, (unsigned)vector) && t->xsave) {
		lo = (uint32_t)t->xmask;
		hi = (uint32_t)(t->xmask >> 32);
		__asm__ __volatile__("xsave64 (%0)" : : "r"(t->xsave), "a"(lo), "d"(hi) : "memory");
		uipc__uintr_run(&t->routes, (unsigned)vector);
		__asm__ __volatile__("xrstor64 (%0)"
		                     :
		                     : "r"(t->xsave), "a"(lo), "d"(hi)
		                     : "memory");
	}
	uipc__uintr_done(&t->routes);
}
